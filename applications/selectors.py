"""Reads of applications. Every view and endpoint starts here, so isolation lives in one place."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.spreadsheets import safe_cell
from grants.models import RankingInstant, Tranche, decimal_text
from grants.templatetags.instants import format_instant

from .models import Application, Attachment, InformationRequest, Status, UnitLine


def applications_visible_to(*, user) -> QuerySet[Application]:
    """The portal's applications: those of the user's own municipality, drafts included, and nobody else's.

    Agency staff see applications from submission on, in the back office (applications_for_back_office); the
    ministry sees totals, never an application or its documents.
    """
    qs = Application.objects.select_related("municipality", "tranche", "window")
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

    Only agency staff see them. Drafts are the municipality's own and stay out. The totals are subqueries, not
    joins, so that filtering on unit lines (e.g. by target group) cannot multiply them.
    """
    if not user.is_agency:
        return Application.objects.none()
    return (
        Application.objects.select_related("municipality", "tranche", "window")
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
            "information_requests",
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


# --- the ranking instant ---------------------------------------------------------------------------------


def own_completion_time(requests: Iterable[InformationRequest]) -> timedelta:
    """The municipality's own time completing its application: request to answer, summed over the answered ones.

    The agency's review time between an answer and a next request is not in it.
    """
    return sum((request.municipality_time for request in requests if request.answered_at), timedelta(0))


def describe_duration(duration: timedelta) -> str:
    """Elapsed time in days and hours, and minutes when there are any: "8 dagen 0 uur"."""
    minutes = int(duration.total_seconds()) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        ngettext("%(count)d day", "%(count)d days", days) % {"count": days},
        ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours},
    ]
    if minutes:
        parts.append(ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes})
    return " ".join(parts)


@dataclass(frozen=True)
class RankingDerivation:
    """How an application's ranking instant follows from its receipt and its information requests."""

    received_at: datetime
    requests: tuple[InformationRequest, ...]
    by_completion: bool

    @property
    def own_time(self) -> timedelta:
        return own_completion_time(self.requests)

    @property
    def ranks_at(self) -> datetime:
        return self.received_at + self.own_time if self.by_completion else self.received_at

    @property
    def sentence(self) -> str:
        if not self.by_completion:
            return _("Ranks by its first receipt: %(received)s.") % {"received": format_instant(self.received_at)}
        return _("Received %(received)s + %(own)s own completion time = %(ranks)s.") % {
            "received": format_instant(self.received_at),
            "own": describe_duration(self.own_time),
            "ranks": format_instant(self.ranks_at),
        }

    @property
    def request_lines(self) -> list[str]:
        """One line per information request: when asked, when answered, and the municipality's time."""
        lines = []
        for request in self.requests:
            if request.answered_at is None:
                lines.append(
                    _("Information requested %(requested)s, to be answered by %(deadline)s: not answered yet.")
                    % {
                        "requested": format_instant(request.requested_at),
                        "deadline": formats.date_format(request.deadline, "j F Y"),
                    }
                )
            else:
                lines.append(
                    _("Information requested %(requested)s, answered %(answered)s: %(own)s.")
                    % {
                        "requested": format_instant(request.requested_at),
                        "answered": format_instant(request.answered_at),
                        "own": describe_duration(request.municipality_time),
                    }
                )
        return lines


def ranking_derivation(application: Application) -> RankingDerivation | None:
    """How the application ranks under its tranche's ranking instant; None before it is received."""
    if application.received_at is None:
        return None
    return RankingDerivation(
        received_at=application.received_at,
        requests=tuple(application.information_requests.all()),
        by_completion=application.tranche.ranking_instant == RankingInstant.COMPLETION,
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


# Optional: an application's answered information requests, so that a migrated record ranks by its receipt plus
# the municipality's own completion time. Several requests of one application: their instants in order,
# separated by INSTANT_SEPARATOR.
INFORMATION_COLUMNS = ("information_requested_at", "information_received_at")
INSTANT_SEPARATOR = ";"


def _answered_information_requests(*, tranche: Tranche) -> QuerySet[InformationRequest]:
    return InformationRequest.objects.filter(application__tranche=tranche, answered_at__isnull=False)


def exchange_columns(*, tranche: Tranche) -> tuple[str, ...]:
    """The export's columns: with the information columns only when the tranche has answered requests.

    So a file without them exports unchanged.
    """
    if _answered_information_requests(tranche=tranche).exists():
        return EXCHANGE_COLUMNS + INFORMATION_COLUMNS
    return EXCHANGE_COLUMNS


def _instants_text(instants: list[datetime]) -> str:
    return INSTANT_SEPARATOR.join(timezone.localtime(instant).isoformat() for instant in instants)


def application_rows(*, tranche: Tranche) -> Iterator[dict[str, str]]:
    """The tranche's submitted applications in the exchange format, one row per unit line, in receipt order.

    The rows have the columns of exchange_columns: the information columns carry only answered requests,
    the ones that count for the ranking. Text a spreadsheet would take for a formula is quoted (safe_cell).
    """
    requests: dict[int, list[InformationRequest]] = {}
    for request in _answered_information_requests(tranche=tranche).order_by("application_id", "requested_at", "id"):
        requests.setdefault(request.application_id, []).append(request)
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
            "application_id",
        )
    )
    for *values, application_id in lines.iterator(chunk_size=2000):
        row = dict(zip(EXCHANGE_COLUMNS, values, strict=True))
        row["received_at"] = timezone.localtime(row["received_at"]).isoformat()
        row["self_contained"] = "yes" if row["self_contained"] else "no"
        row["common_room"] = "yes" if row["common_room"] else "no"
        row["units"] = str(row["units"])
        row["requested_amount"] = decimal_text(row["requested_amount"])
        if requests:
            answered = requests.get(application_id, [])
            row["information_requested_at"] = _instants_text([request.requested_at for request in answered])
            row["information_received_at"] = _instants_text([request.answered_at for request in answered])
        yield {column: safe_cell(value) for column, value in row.items()}
