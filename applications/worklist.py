"""The tasks on a municipal user's portal home: what waits on the municipality, most urgent first.

Three kinds: an open information request with its deadline, a draft a signatory confirmed as ready and that waits
to be submitted, and an application an editor asked a signatory to send. Read in two queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Application, InformationRequest, Status
from .selectors import applications_visible_to

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class TaskKind:
    INFORMATION_REQUEST = "information_request"
    SIGNATORY_ASKED = "signatory_asked"
    READY = "ready"


@dataclass(frozen=True)
class Task:
    kind: str
    application: Application
    title: str
    detail: str = ""
    deadline: date | None = None
    deadline_text: str = ""
    overdue: bool = False
    at: datetime | None = None


def business_days_after(today: date, deadline: date) -> int:
    """Working days after today up to and including the deadline: no weekends, no Dutch public holidays."""
    calendar = holidays.country_holidays("NL", years=range(today.year, deadline.year + 1))
    days = (deadline - today).days
    return sum(
        1
        for offset in range(1, days + 1)
        if (day := today + timedelta(days=offset)).weekday() < 5 and day not in calendar
    )


def time_left(deadline: date, *, today: date) -> str:
    """What the task list says of a deadline: "nog 3 werkdagen", "vandaag de laatste dag" or "verlopen"."""
    if deadline < today:
        return _("expired")
    if deadline == today:
        return _("today is the last day")
    left = business_days_after(today, deadline)
    return ngettext("%(count)s working day left", "%(count)s working days left", left) % {"count": left}


def tasks_for(*, user, now: datetime | None = None) -> list[Task]:
    if not user.is_municipal:
        return []
    today = timezone.localdate(now or timezone.now(), AMSTERDAM)
    applications = (
        applications_visible_to(user=user)
        .filter(
            Q(status=Status.INFORMATION_REQUESTED)
            | Q(status=Status.DRAFT, signatory_asked_at__isnull=False)
            | (Q(status=Status.DRAFT) & ~Q(ready_hash=""))
        )
        .select_related("signatory_asked_by")
        .prefetch_related(
            Prefetch(
                "information_requests",
                queryset=InformationRequest.objects.filter(answered_at__isnull=True),
                to_attr="open_requests",
            )
        )
        .order_by("created_at", "pk")
    )
    tasks = []
    for application in applications:
        for request in application.open_requests:
            tasks.append(
                Task(
                    TaskKind.INFORMATION_REQUEST,
                    application,
                    _("Answer the information request"),
                    detail=request.reason,
                    deadline=request.deadline,
                    deadline_text=time_left(request.deadline, today=today) if request.deadline else "",
                    overdue=request.deadline is not None and request.deadline < today,
                    at=request.requested_at,
                )
            )
        if application.signatory_asked:
            asker = application.signatory_asked_by
            tasks.append(
                Task(
                    TaskKind.SIGNATORY_ASKED,
                    application,
                    _("Asked to submit"),
                    detail=_("%(name)s asks a signatory to check and send this application.")
                    % {"name": asker.get_full_name() or asker.username},
                    at=application.signatory_asked_at,
                )
            )
        if application.is_ready:
            tasks.append(Task(TaskKind.READY, application, _("Ready to submit"), at=application.ready_at))
    # Deadlines first, the nearest on top; then the rest as they came.
    return sorted(tasks, key=lambda task: (task.deadline is None, task.deadline or today, task.at))
