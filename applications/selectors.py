"""Reads of applications. Every view and endpoint starts here, so isolation lives in one place."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    DecimalField,
    F,
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
from django.utils.translation import gettext_lazy, ngettext

from accounts.spreadsheets import safe_cell
from grants.models import RankingInstant, RentLimit, Tranche, UnitKind, decimal_text
from grants.templatetags.instants import format_instant

from .models import (
    ALLOWED_TRANSITIONS,
    Application,
    Attachment,
    AttachmentKind,
    InformationRequest,
    Status,
    StatusChange,
    UnitLine,
)


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


# --- the agency's work ----------------------------------------------------------------------------------

# Received and not yet found eligible or ineligible, nor waiting on the municipality: an assessor's turn.
TO_ASSESS = (Status.SUBMITTED, Status.IN_REVIEW, Status.RESUBMITTED)


def awaiting_assessment() -> QuerySet[Application]:
    """The applications an assessor has to take up or finish, the earliest ranking instant first: the order in
    which the allocation will rank them."""
    return (
        Application.objects.filter(status__in=TO_ASSESS)
        .select_related("municipality", "tranche")
        .order_by(F("ranks_at").asc(nulls_last=True), "received_at", "pk")
    )


def information_requests_past_deadline(*, today: date) -> QuerySet[InformationRequest]:
    """Open information requests whose last day (a day in Europe/Amsterdam) lies before `today`, oldest first."""
    return (
        InformationRequest.objects.filter(
            answered_at__isnull=True, deadline__lt=today, application__status=Status.INFORMATION_REQUESTED
        )
        .select_related("application__municipality", "application__tranche")
        .order_by("deadline", "pk")
    )


# --- the application page ---------------------------------------------------------------------------------


def application_for_back_office(*, user, pk) -> Application:
    """One received application with all the application page reads; Application.DoesNotExist when not visible."""
    return (
        applications_for_back_office(user=user)
        .select_related("window")
        .prefetch_related(
            Prefetch("unit_lines", queryset=UnitLine.objects.select_related("target_group", "housing_type")),
            "window__eligible_target_groups",
            Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by")),
            Prefetch(
                "information_requests",
                queryset=InformationRequest.objects.select_related("requested_by", "answered_by"),
            ),
            Prefetch("status_changes", queryset=StatusChange.objects.select_related("actor__municipality")),
        )
        .get(pk=pk)
    )


@dataclass(frozen=True)
class RuleCheck:
    """One rule of the tranche, said as a sentence with the application's value, and whether the value complies."""

    sentence: str
    complies: bool


def _euro(amount: Decimal) -> str:
    return "€ " + formats.number_format(amount, 2, use_l10n=True, force_grouping=True)


def _checked(rule: str, value: str, complies: bool) -> RuleCheck:
    verdict = _("complies") if complies else _("does not comply")
    return RuleCheck(
        _("%(rule)s: %(value)s — %(verdict)s") % {"rule": rule, "value": value, "verdict": verdict}, complies
    )


UNIT_KINDS = {"permanent": UnitKind.PERMANENT, "flexible": UnitKind.FLEXIBLE}


def unit_line_checks(line: UnitLine, *, application: Application, rent_limit: RentLimit | None) -> list[RuleCheck]:
    """The rules of applications.checks for one unit line, each with the line's value."""
    tranche, window = application.tranche, application.window
    eligible = any(group.pk == line.target_group_id for group in window.eligible_target_groups.all())
    checks = [
        _checked(
            _("Target group eligible in %(window)s") % {"window": window.name},
            str(line.target_group),
            eligible,
        )
    ]
    maximum = tranche.max_per_unit(permanence=line.permanence, housing_type=line.housing_type)
    kind = UnitKind.SHORT_STAY if line.housing_type.is_short_stay else UNIT_KINDS[line.permanence]
    per_unit = line.requested_amount / line.units
    if maximum is None:
        checks.append(RuleCheck(_("A %(kind)s is not eligible in this tranche.") % {"kind": kind.label}, False))
    else:
        checks.append(
            _checked(
                _("At most %(max)s per %(kind)s") % {"max": _euro(maximum), "kind": kind.label},
                _euro(per_unit),
                per_unit <= maximum,
            )
        )
    if line.planned_monthly_rent is not None and rent_limit is not None:
        checks.append(
            _checked(
                _("Initial rent at most %(limit)s a month (aftoppingsgrens %(year)s)")
                % {"limit": _euro(rent_limit.aftoppingsgrens), "year": rent_limit.year},
                _euro(line.planned_monthly_rent),
                line.planned_monthly_rent <= rent_limit.aftoppingsgrens,
            )
        )
    return checks


def application_checks(application: Application) -> list[RuleCheck]:
    """The rules on the whole application: its units, its total against the maximum per municipality, and the
    attachments the tranche requires. Reads the lines and attachments application_for_back_office prefetched."""
    tranche = application.tranche
    lines = list(application.unit_lines.all())
    units = sum(line.units for line in lines)
    total = sum((line.requested_amount for line in lines), Decimal("0"))
    checks = [
        _checked(
            _("At least %(min)s units per application") % {"min": tranche.min_units_per_application},
            str(units),
            units >= tranche.min_units_per_application,
        )
    ]
    if tranche.max_per_municipality is not None:
        checks.append(
            _checked(
                _("At most %(max)s per municipality in this tranche") % {"max": _euro(tranche.max_per_municipality)},
                _euro(total),
                total <= tranche.max_per_municipality,
            )
        )
    present = {attachment.kind for attachment in application.attachments.all()}
    for kind in tranche.required_attachments:
        attached = kind in present
        checks.append(
            _checked(
                _("Attachment required: %(kind)s") % {"kind": AttachmentKind(kind).label},
                _("attached") if attached else _("missing"),
                attached,
            )
        )
    return checks


def rent_limit_for(application: Application) -> RentLimit | None:
    return RentLimit.objects.filter(year=application.tranche.year).first()


# What each status change is called in the history, by the status it led to.
EVENTS = {
    Status.DRAFT: gettext_lazy("Created"),
    Status.SUBMITTED: gettext_lazy("Submitted"),
    Status.IN_REVIEW: gettext_lazy("Review started"),
    Status.INFORMATION_REQUESTED: gettext_lazy("Information requested"),
    Status.RESUBMITTED: gettext_lazy("Completed with the requested information"),
    Status.ELIGIBLE: gettext_lazy("Found eligible"),
    Status.INELIGIBLE: gettext_lazy("Found ineligible"),
    Status.GRANTED: gettext_lazy("Granted"),
    Status.PARTIALLY_GRANTED: gettext_lazy("Partially granted"),
    Status.REFUSED: gettext_lazy("Refused"),
    Status.WITHDRAWN: gettext_lazy("Withdrawn"),
    Status.GRANT_WITHDRAWN: gettext_lazy("Grant withdrawn"),
}


@dataclass(frozen=True)
class HistoryEntry:
    sentence: str
    reason: str


def _actor_name(actor) -> str:
    name = actor.get_full_name() or actor.username
    return f"{name} ({actor.municipality.name})" if actor.municipality_id else name


def history(application: Application) -> list[HistoryEntry]:
    """The application's status changes as sentences, oldest first: "Submitted by Jan Jansen (Utrecht) on …".

    An information request adds its last day to answer. Reads what application_for_back_office prefetched.
    """
    deadlines = {request.requested_at: request.deadline for request in application.information_requests.all()}
    entries = []
    for change in application.status_changes.all():
        values = {"event": EVENTS[change.to_status], "at": format_instant(change.at)}
        if change.actor is None:
            sentence = _("%(event)s on %(at)s") % values
        else:
            sentence = _("%(event)s by %(actor)s on %(at)s") % {**values, "actor": _actor_name(change.actor)}
        deadline = deadlines.get(change.at) if change.to_status == Status.INFORMATION_REQUESTED else None
        if deadline is not None:
            sentence += _(", to be answered by %(deadline)s") % {"deadline": formats.date_format(deadline, "j F Y")}
        entries.append(HistoryEntry(sentence=sentence + ".", reason=change.reason))
    return entries


# --- the agency's steps on an application -------------------------------------------------------------------

# Each step of the assessment and the status it leads to; applications.services makes the change.
STEPS = {
    "start_review": Status.IN_REVIEW,
    "request_information": Status.INFORMATION_REQUESTED,
    "mark_eligible": Status.ELIGIBLE,
    "mark_ineligible": Status.INELIGIBLE,
}
ASSESSED = {Status.ELIGIBLE, Status.INELIGIBLE}


def open_information_request(application: Application) -> InformationRequest | None:
    return next((request for request in application.information_requests.all() if request.answered_at is None), None)


def what_first(application: Application, step: str) -> str:
    """What must happen before `step` can be taken on the application now; empty when it can be taken.

    Says what to do or wait for, not only that the step is impossible.
    """
    status = application.status
    if STEPS[step] in ALLOWED_TRANSITIONS.get(status, set()):
        return ""
    if status in (Status.SUBMITTED, Status.RESUBMITTED):
        return _("Start the review first.")
    if status == Status.IN_REVIEW:
        return _("The review has started already: request information or give the outcome of the assessment.")
    if status == Status.INFORMATION_REQUESTED:
        request = open_information_request(application)
        if request is not None and request.deadline is not None:
            return _(
                "Wait until the municipality sends the requested information (it has until %(deadline)s); then "
                "start the review again."
            ) % {"deadline": formats.date_format(request.deadline, "j F Y")}
        return _("Wait until the municipality sends the requested information; then start the review again.")
    if status in ASSESSED:
        return _("The assessment is done: the application is %(status)s. The allocation decides on it next.") % {
            "status": application.get_status_display()
        }
    return _("The application is %(status)s: it is no longer assessed.") % {"status": application.get_status_display()}
