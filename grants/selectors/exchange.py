"""Reads of applications in the exchange format, the CSV columns that import_applications reads."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from django.utils import timezone

from applications.models import Status, UnitLine

from ..models import Tranche


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


EXCHANGE_COLUMNS = (
    "reference",
    "municipality_code",
    "window",
    "project_name",
    "received_at",
    "target_group",
    "housing_type",
    "permanence",
    "self_contained",
    "common_room",
    "units",
    "requested_amount",
)


def application_rows(*, tranche: Tranche) -> Iterator[dict[str, str]]:
    """The tranche's submitted applications in the exchange format, one row per unit line, in receipt order."""
    lines = (
        UnitLine.objects.filter(application__tranche=tranche)
        .exclude(application__status=Status.DRAFT)
        .order_by("application__receipt_sequence", "id")
        .values_list(
            "application__reference",
            "application__municipality__code",
            "application__window__code",
            "application__project_name",
            "application__received_at",
            "target_group__code",
            "housing_type__code",
            "permanence",
            "self_contained",
            "common_room",
            "units",
            "requested_amount",
        )
    )
    for values in lines.iterator(chunk_size=2000):
        row = dict(zip(EXCHANGE_COLUMNS, values, strict=True))
        row["received_at"] = timezone.localtime(row["received_at"]).isoformat()
        row["self_contained"] = "yes" if row["self_contained"] else "no"
        row["common_room"] = "yes" if row["common_room"] else "no"
        row["units"] = str(row["units"])
        row["requested_amount"] = _money(row["requested_amount"])
        yield row
