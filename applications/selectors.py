"""Reads of applications. Every view and endpoint starts here, so isolation lives in one place."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from django.db.models import (
    DecimalField,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from grants.models import Tranche, decimal_text

from .models import Application, Attachment, Status, UnitLine


def applications_visible_to(*, user) -> QuerySet[Application]:
    qs = Application.objects.select_related("municipality", "tranche", "window")
    if user.is_agency or user.is_ministry:
        return qs
    if user.is_municipal:
        return qs.filter(municipality_id=user.municipality_id)
    return qs.none()


def applications_with_totals(*, user) -> QuerySet[Application]:
    """The applications the user may see with units_total and amount_requested, newest first."""
    # Grouped queries ignore Meta.ordering, so the order is given again.
    return applications_visible_to(user=user).with_totals().order_by("-created_at", "-pk")


def _line_total(field: str, output_field):
    lines = UnitLine.objects.filter(application=OuterRef("pk")).order_by().values("application")
    return Subquery(lines.annotate(total=Sum(field)).values("total"), output_field=output_field)


def applications_for_back_office(*, user) -> QuerySet[Application]:
    """Received applications with units_total and amount_requested, for the agency's lists.

    Drafts are the municipality's own and stay out. The totals are subqueries, not joins, so that filtering
    on unit lines (e.g. by target group) cannot multiply them.
    """
    return (
        applications_visible_to(user=user)
        .submitted()
        .annotate(
            units_total=Coalesce(_line_total("units", IntegerField()), Value(0)),
            amount_requested=Coalesce(
                _line_total("requested_amount", DecimalField(max_digits=14, decimal_places=2)),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
    )


def application_for_detail(*, user, public_id) -> Application:
    """The application with its lines and attachments; Application.DoesNotExist when not visible."""
    return (
        applications_visible_to(user=user)
        .prefetch_related(
            Prefetch(
                "unit_lines",
                queryset=UnitLine.objects.select_related("target_group", "housing_type"),
            ),
            "attachments",
            "status_changes__actor",
        )
        .get(public_id=public_id)
    )


def attachment_visible_to(*, user, public_id, attachment_id: int) -> Attachment:
    """One attachment of an application the user may see; Attachment.DoesNotExist otherwise."""
    return Attachment.objects.select_related("application").get(
        pk=attachment_id,
        application__public_id=public_id,
        application__in=applications_visible_to(user=user),
    )


# --- the exchange format --------------------------------------------------------------------------------

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
        row["requested_amount"] = decimal_text(row["requested_amount"])
        yield row
