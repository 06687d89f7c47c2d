"""What is due when: every reminder the rules call for at an instant, read from the stages' own data.

Each rule yields Due items for an instant. A deadline has reminder points before it (14, 3 and 1 days before a
closing; 5 business days before and on the day of an information request's deadline) or one after it (a missed
deadline). Of a rule's points for one subject only the latest that has passed counts, and only while its
deadline is ahead (or, after it, for LATE_GRACE): after an outage the sweep sends the reminder that is right
now, not every one it missed. The same rules answer whether a decided reminder is still due right before it is
sent (still_due): a draft submitted, a report arrived or a closing moved makes it disappear from their answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Min, Model, Q
from django.urls import NoReverseMatch, reverse

from accounts.models import AGENCY_ROLES, Role, User
from allocation.models import GRANTED_OUTCOMES, AllocationRun, Decision, Objection, RunStatus
from allocation.services import add_months
from applications.models import EDITABLE_STATUSES, Application, InformationRequest, Status
from grants.models import AmendmentStatus, Tranche, TrancheAmendment
from realisation.models import AccountabilityReport, AccountabilityStatus, SettlementStatus
from realisation.selectors import NEEDS_ATTENTION, accountability_due_on, with_progress

from .deadlines import at_local, business_days_before, days_before, end_of_day, local_date, monday_of, start_of_day
from .models import DEFAULT_CLOSING_DAYS, Reminder, ReminderKind

# Reminders after a deadline (missed, overdue) are sent within this time after they fell due, and not later: a
# first run on old data does not remind of what was missed years ago.
LATE_GRACE = timedelta(days=30)
INFORMATION_BUSINESS_DAYS = 5
OBJECTION_BUSINESS_DAYS = 10
PROGRESS_NOTICE_DAYS = 14
CONSTRUCTION_NOTICE_MONTHS = 3
ACCOUNTABILITY_NOTICE_DAYS = 28
DIGEST_CLOCK = time(8, 0)
# A digest that could not go out on Monday morning still goes until Thursday morning; later the week's is skipped.
DIGEST_GRACE = timedelta(days=3)
DIGEST_ITEMS = 10
DIGEST_COUNTS = (
    "to_assess",
    "previews",
    "amendments",
    "late_objections",
    "late_information_requests",
    "grants_needing_attention",
)
# Where an application waits on the agency's assessment.
TO_ASSESS = (Status.SUBMITTED, Status.IN_REVIEW, Status.RESUBMITTED)


@dataclass(frozen=True)
class Due:
    """A reminder the rules call for: to a municipality (municipality_id) or to one user (user_id)."""

    kind: str
    subject: Model
    deadline: datetime
    due_at: datetime
    municipality_id: int | None = None
    user_id: int | None = None
    context: dict = field(default_factory=dict, compare=False)
    link: str = field(default="", compare=False)

    @property
    def key(self) -> tuple:
        content_type = ContentType.objects.get_for_model(self.subject)
        return (
            self.kind,
            content_type.pk,
            self.subject.pk,
            self.deadline,
            self.due_at,
            self.municipality_id,
            self.user_id,
        )


def reminder_key(reminder: Reminder) -> tuple:
    return (
        reminder.kind,
        reminder.subject_type_id,
        reminder.subject_id,
        reminder.deadline,
        reminder.due_at,
        reminder.municipality_id,
        reminder.user_id,
    )


def latest_passed(points: Iterable[datetime], *, now: datetime, until: datetime) -> datetime | None:
    """The latest point at or before `now`, while `now` is before `until`."""
    if now >= until:
        return None
    return max((point for point in points if point <= now), default=None)


def _after(day: date, *, now: datetime) -> datetime | None:
    """The reminder of a day that has passed: the next morning, within LATE_GRACE."""
    point = at_local(day + timedelta(days=1))
    return latest_passed([point], now=now, until=point + LATE_GRACE)


def _link(name: str, *args) -> str:
    # The back-office pages of newer models may not be registered in every set-up; the message then has no link.
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _application_context(application: Application) -> dict:
    return {"title": application.project_name, "reference": application.reference or ""}


def _agency_users() -> list[User]:
    return list(User.objects.filter(is_active=True, role__in=AGENCY_ROLES).order_by("pk"))


# --- the rules --------------------------------------------------------------------------------------------


def closing_days(tranche: Tranche) -> list[int]:
    """The tranche's own reminder days before its closing, or the defaults."""
    settings = getattr(tranche, "reminder_settings", None)
    return (settings.closing_days_before if settings is not None else None) or DEFAULT_CLOSING_DAYS


def tranche_closing(now: datetime, only: set[int] | None = None) -> Iterator[Due]:
    """Municipalities with a draft in a tranche, some days before the closing in force, so an extension moves it."""
    drafts = Application.objects.filter(status=Status.DRAFT)
    if only is not None:
        drafts = drafts.filter(tranche_id__in=only)
    municipalities: dict[int, set[int]] = defaultdict(set)
    for tranche_id, municipality_id in drafts.values_list("tranche_id", "municipality_id").distinct():
        municipalities[tranche_id].add(municipality_id)
    tranches = Tranche.objects.filter(pk__in=municipalities).select_related("reminder_settings")
    for tranche in tranches.prefetch_related("amendments"):
        closing = tranche.closes_at_in_force(now)
        points = {days_before(closing, days): days for days in closing_days(tranche)}
        due_at = latest_passed(points, now=now, until=closing)
        if due_at is None:
            continue
        for municipality_id in sorted(municipalities[tranche.pk]):
            yield Due(
                ReminderKind.TRANCHE_CLOSING,
                tranche,
                closing,
                due_at,
                municipality_id=municipality_id,
                context={"title": tranche.title, "days": points[due_at]},
                link=reverse("portal:application_list"),
            )


def information_request(now: datetime, only: set[int] | None = None) -> Iterator[Due]:
    """An open information request, 5 business days before its deadline and on the day itself."""
    today = local_date(now)
    requests = InformationRequest.objects.filter(
        answered_at__isnull=True,
        application__status=Status.INFORMATION_REQUESTED,
        deadline__gte=today,
        deadline__lte=today + timedelta(days=31),
    ).select_related("application")
    if only is not None:
        requests = requests.filter(pk__in=only)
    for request in requests:
        points = [
            at_local(business_days_before(request.deadline, INFORMATION_BUSINESS_DAYS)),
            at_local(request.deadline),
        ]
        due_at = latest_passed(points, now=now, until=end_of_day(request.deadline))
        if due_at is not None:
            yield Due(
                ReminderKind.INFORMATION_REQUEST,
                request,
                start_of_day(request.deadline),
                due_at,
                municipality_id=request.application.municipality_id,
                context=_application_context(request.application),
                link=reverse("portal:application_detail", args=[request.application.public_id]),
            )


def unsettled_grants(*, today: date):
    """Granted applications with with_progress() annotations whose grant is not settled."""
    return with_progress(Application.objects.all(), today=today).filter(
        Q(settlement_status__isnull=True) | ~Q(settlement_status=SettlementStatus.CONFIRMED)
    )


def _grant_points(grant: Application, now: datetime) -> Iterator[tuple[str, date, datetime | None]]:
    """(kind, deadline, due instant or None) of each progress and construction reminder of one grant."""
    due = grant.next_report_due
    if due is not None:
        notice = at_local(due - timedelta(days=PROGRESS_NOTICE_DAYS))
        yield ReminderKind.PROGRESS_REPORT_DUE, due, latest_passed([notice], now=now, until=end_of_day(due))
        if grant.report_overdue:
            yield ReminderKind.PROGRESS_REPORT_OVERDUE, due, _after(due, now=now)
    for deadline, done_on, missed, approaching_kind, missed_kind in (
        (
            grant.start_construction_by,
            grant.started_on,
            grant.start_missed,
            ReminderKind.START_APPROACHING,
            ReminderKind.START_MISSED,
        ),
        (
            grant.complete_by,
            grant.completed_on,
            grant.completion_missed,
            ReminderKind.COMPLETION_APPROACHING,
            ReminderKind.COMPLETION_MISSED,
        ),
    ):
        if done_on is None:
            notice = at_local(add_months(deadline, -CONSTRUCTION_NOTICE_MONTHS))
            yield approaching_kind, deadline, latest_passed([notice], now=now, until=end_of_day(deadline))
        if missed:
            yield missed_kind, deadline, _after(deadline, now=now)


def grant_progress(now: datetime, only: set[int] | None = None) -> Iterator[Due]:
    """Granted, unsettled grants: reports due and overdue, construction deadlines approaching and missed."""
    grants = unsettled_grants(today=local_date(now))
    if only is not None:
        grants = grants.filter(pk__in=only)
    for grant in grants.order_by("pk"):
        for kind, deadline, due_at in _grant_points(grant, now):
            if due_at is not None:
                yield Due(
                    kind,
                    grant,
                    start_of_day(deadline),
                    due_at,
                    municipality_id=grant.municipality_id,
                    context=_application_context(grant),
                    link=reverse("progress:detail", args=[grant.public_id]),
                )


def objection_deadline(now: datetime, only: set[int] | None = None) -> Iterator[Due]:
    """Open objections, 10 business days before the decision is due (as extended) and on the day, to the handler
    or, while nobody handles it, to every agency user."""
    objections = Objection.objects.filter(outcome="").select_related("contested__application", "handler")
    if only is not None:
        objections = objections.filter(pk__in=only)
    agency = None
    for objection in objections:
        deadline = objection.extended_to or objection.decide_by
        points = [at_local(business_days_before(deadline, OBJECTION_BUSINESS_DAYS)), at_local(deadline)]
        due_at = latest_passed(points, now=now, until=end_of_day(deadline))
        if due_at is None:
            continue
        if objection.handler is not None and objection.handler.is_active:
            users = [objection.handler]
        else:
            agency = _agency_users() if agency is None else agency
            users = agency
        for user in users:
            yield Due(
                ReminderKind.OBJECTION_DEADLINE,
                objection,
                start_of_day(deadline),
                due_at,
                user_id=user.pk,
                context={
                    **_application_context(objection.contested.application),
                    "extended": bool(objection.extended_to),
                },
                link=_link("admin:allocation_objection_change", objection.pk),
            )


def accountability(now: datetime, only: set[int] | None = None) -> Iterator[Due]:
    """A current, unsettled grant's yearly accountability report on last year: before 1 March and when overdue.

    A year counts from the year of the application's first grant; a certified report for the year ends it.
    """
    today = local_date(now)
    year = today.year - 1
    due_on = accountability_due_on(year)
    due_at = latest_passed(
        [at_local(due_on - timedelta(days=ACCOUNTABILITY_NOTICE_DAYS))], now=now, until=end_of_day(due_on)
    )
    overdue_at = _after(due_on, now=now)
    if due_at is None and overdue_at is None:
        return
    grants = unsettled_grants(today=today)
    if only is not None:
        grants = grants.filter(pk__in=only)
    reported = set(
        AccountabilityReport.objects.filter(year=year, status=AccountabilityStatus.CERTIFIED).values_list(
            "application_id", flat=True
        )
    )
    first_grant = dict(
        Decision.objects.filter(outcome__in=GRANTED_OUTCOMES)
        .values("application_id")
        .annotate(first=Min("decision_date"))
        .values_list("application_id", "first")
    )
    kind, instant = (
        (ReminderKind.ACCOUNTABILITY_DUE, due_at) if due_at else (ReminderKind.ACCOUNTABILITY_OVERDUE, overdue_at)
    )
    for grant in grants.order_by("pk"):
        if grant.pk in reported or first_grant.get(grant.pk, due_on).year > year:
            continue
        yield Due(
            kind,
            grant,
            start_of_day(due_on),
            instant,
            municipality_id=grant.municipality_id,
            context={**_application_context(grant), "year": year},
            link=reverse("progress:detail", args=[grant.public_id]),
        )


# --- the agency's weekly digest ---------------------------------------------------------------------------


def digest_due_at(now: datetime) -> datetime | None:
    """The Monday morning of the digest week `now` is in, while that week's digest may still go out."""
    monday = monday_of(local_date(now))
    due_at = at_local(monday, DIGEST_CLOCK)
    if due_at > now:
        due_at = at_local(monday - timedelta(days=7), DIGEST_CLOCK)
    return due_at if now < due_at + DIGEST_GRACE else None


def _references(queryset, limit: int = DIGEST_ITEMS) -> list[str]:
    return [str(item) for item in queryset[:limit]]


def waiting_on_agency(now: datetime) -> dict:
    """What waits on the agency as a whole: applications to assess and overdue cases."""
    today = local_date(now)
    to_assess = Application.objects.filter(status__in=TO_ASSESS).order_by("received_at", "pk")
    late_objections = Objection.objects.filter(outcome="").filter(
        Q(extended_to__lt=today) | Q(extended_to__isnull=True, decide_by__lt=today)
    )
    late_requests = InformationRequest.objects.filter(
        answered_at__isnull=True, deadline__lt=today, application__status=Status.INFORMATION_REQUESTED
    )
    grants = unsettled_grants(today=today).filter(NEEDS_ATTENTION)
    return {
        "to_assess": to_assess.count(),
        "to_assess_items": _references(to_assess.select_related("municipality")),
        "late_objections": late_objections.count(),
        "late_information_requests": late_requests.count(),
        "grants_needing_attention": grants.count(),
    }


def agency_digest(now: datetime, only: set[int] | None = None) -> Iterator[Due]:
    """Every agency user's digest of the week: what waits on the agency, and on them as approver (four eyes: not
    what they prepared themselves). Nobody gets a digest of nothing."""
    due_at = digest_due_at(now)
    users = [user for user in _agency_users() if only is None or user.pk in only]
    if due_at is None or not users:
        return
    shared = waiting_on_agency(now)
    previews = list(AllocationRun.objects.filter(status=RunStatus.PREVIEW).select_related("tranche"))
    amendments = list(TrancheAmendment.all_objects.filter(status=AmendmentStatus.PREPARED).select_related("tranche"))
    for user in users:
        approver = user.role == Role.AGENCY_APPROVER
        own = {
            "previews": [str(run) for run in previews if approver and run.prepared_by_id != user.pk],
            "amendments": [str(item) for item in amendments if approver and item.prepared_by_id != user.pk],
        }
        content = {**shared}
        for name, items in own.items():
            content[name], content[f"{name}_items"] = len(items), items[:DIGEST_ITEMS]
        if not any(content[name] for name in DIGEST_COUNTS):
            continue
        yield Due(
            ReminderKind.AGENCY_DIGEST,
            user,
            due_at,
            due_at,
            user_id=user.pk,
            context=content,
            link=reverse("admin:index"),
        )


# --- a request to submit ---------------------------------------------------------------------------------


def signatory_asked(now: datetime, only: set[int] | None = None) -> Iterator[Due]:
    """An editor asked the signatories to submit or send back an application: each active signatory of the
    municipality is told once, at the instant of the request, while the application still waits to be sent and,
    for a draft, the tranche is open to it. The request has no deadline of its own; its instant stands in."""
    applications = Application.objects.filter(
        status__in=EDITABLE_STATUSES, signatory_asked_at__isnull=False
    ).select_related("tranche", "signatory_asked_by")
    if only is not None:
        applications = applications.filter(pk__in=only)
    applications = list(applications.prefetch_related("tranche__amendments"))
    signatories: dict[int, list[int]] = defaultdict(list)
    for user_id, municipality_id in User.objects.filter(
        is_active=True,
        role=Role.MUNICIPAL_SIGNATORY,
        municipality_id__in={application.municipality_id for application in applications},
    ).values_list("pk", "municipality_id"):
        signatories[municipality_id].append(user_id)
    for application in applications:
        if application.signatory_asked_at > now:
            continue
        if application.status == Status.DRAFT and now >= application.tranche.closes_at_in_force(now):
            continue
        asker = application.signatory_asked_by
        for user_id in sorted(signatories[application.municipality_id]):
            yield Due(
                ReminderKind.SIGNATORY_ASKED,
                application,
                application.signatory_asked_at,
                application.signatory_asked_at,
                user_id=user_id,
                context={
                    **_application_context(application),
                    "name": asker.get_full_name() or asker.username,
                    "resubmission": application.status == Status.INFORMATION_REQUESTED,
                },
                link=reverse("portal:application_submit", args=[application.public_id]),
            )


# --- all rules together -------------------------------------------------------------------------------------

Rule = Callable[[datetime, set[int] | None], Iterator[Due]]
RULES: dict[str, Rule] = {
    ReminderKind.TRANCHE_CLOSING: tranche_closing,
    ReminderKind.INFORMATION_REQUEST: information_request,
    ReminderKind.PROGRESS_REPORT_DUE: grant_progress,
    ReminderKind.PROGRESS_REPORT_OVERDUE: grant_progress,
    ReminderKind.START_APPROACHING: grant_progress,
    ReminderKind.START_MISSED: grant_progress,
    ReminderKind.COMPLETION_APPROACHING: grant_progress,
    ReminderKind.COMPLETION_MISSED: grant_progress,
    ReminderKind.OBJECTION_DEADLINE: objection_deadline,
    ReminderKind.ACCOUNTABILITY_DUE: accountability,
    ReminderKind.ACCOUNTABILITY_OVERDUE: accountability,
    ReminderKind.AGENCY_DIGEST: agency_digest,
    ReminderKind.SIGNATORY_ASKED: signatory_asked,
}


def due_reminders(now: datetime) -> list[Due]:
    """Every reminder the rules call for at `now`, decided before or not."""
    return [due for rule in dict.fromkeys(RULES.values()) for due in rule(now, None)]


def still_due(reminder: Reminder, now: datetime) -> bool:
    """Whether the rules would still call for this reminder now: its reason is still there, its deadline the same
    and no later reminder point has taken its place."""
    key = reminder_key(reminder)
    return any(due.key == key for due in RULES[reminder.kind](now, {reminder.subject_id}))
