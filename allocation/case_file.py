"""This stage's part of an application's case file (applications.case_file): its decisions, objections and letters."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from applications.case_file import CaseFileEntry, Link
from applications.models import DECIDED_STATUSES, Application
from grants.templatetags.instants import format_instant
from grants.templatetags.money import format_euro

from .models import Decision, DecisionOutcome, Letter, Objection
from .selectors import decisions_visible_to


def letters_visible_to(*, user) -> QuerySet[Letter]:
    """Letters on a case: the municipality its own, agency staff all of them, the ministry none."""
    qs = Letter.objects.select_related("application")
    if user.is_agency:
        return qs
    if user.is_municipal:
        return qs.filter(application__municipality_id=user.municipality_id)
    return qs.none()


def _day(value: date) -> str:
    return formats.date_format(value, "j F Y")


def _end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max), timezone.get_default_timezone())


def _decided_at(decision: Decision) -> datetime:
    """Where the decision stands among the other entries: the instant that issued it when one is stored.

    Otherwise the end of its day, after whatever led to it that day.
    """
    instant = None
    if decision.run_id:
        instant = decision.run.confirmed_at
    elif hasattr(decision, "waiver"):
        instant = decision.waiver.submitted_at
    elif hasattr(decision, "withdrawal"):
        instant = decision.withdrawal.confirmed_at
    return instant or _end_of(decision.decision_date)


def _outcome_text(decision: Decision) -> str:
    if decision.outcome == DecisionOutcome.GRANTED:
        return _("Granted: %(amount)s.") % {"amount": format_euro(decision.amount)}
    if decision.outcome == DecisionOutcome.PARTIALLY_GRANTED:
        return _("Partially granted: %(amount)s of the %(requested)s requested.") % {
            "amount": format_euro(decision.amount),
            "requested": format_euro(decision.requested),
        }
    if decision.outcome == DecisionOutcome.WITHDRAWN:
        return _("The grant has been withdrawn.")
    return _("Refused.")


def _decision_text(decision: Decision) -> str:
    lines = [_outcome_text(decision)]
    if hasattr(decision, "waiver"):
        lines.append(
            _("After your waiver the grant went from %(before)s to %(after)s.")
            % {"before": format_euro(decision.waiver.amount_before), "after": format_euro(decision.waiver.amount_after)}
        )
    if hasattr(decision, "withdrawal"):
        lines.append(decision.withdrawal.get_ground_display())
    if decision.explanation:
        lines.append(decision.explanation)
    lines.append(_("In force.") if decision.is_current else _("Replaced by a later decision."))
    return "\n".join(lines)


def _decision_letter_links(decision: Decision) -> tuple[Link, ...]:
    # A run's letters are made on their first download; a decision on one case gets its letter when issued.
    if not (decision.letter_pdf or decision.run_id):
        return ()
    return (
        Link(_("Letter (PDF)"), reverse("decisions:letter_pdf", args=[decision.public_id])),
        Link(_("Letter (HTML)"), reverse("decisions:letter_html", args=[decision.public_id])),
    )


def _decision_entry(decision: Decision) -> CaseFileEntry:
    return CaseFileEntry(
        at=_decided_at(decision),
        day=decision.decision_date,
        title=capfirst(decision.get_kind_display()),
        text=_decision_text(decision),
        downloads=_decision_letter_links(decision),
    )


def _objection_text(objection: Objection) -> str:
    if not objection.is_open:
        return _("Decided on %(day)s: %(outcome)s.") % {
            "day": _day(objection.decided_on),
            "outcome": objection.get_outcome_display(),
        }
    lines = [_("Being handled; the decision on it follows by %(day)s.") % {"day": _day(objection.deadline)}]
    if objection.hearing_at:
        lines.append(_("Hearing: %(at)s.") % {"at": format_instant(objection.hearing_at)})
    return "\n".join(lines)


def _objection_entry(objection: Objection, contested: Decision) -> CaseFileEntry:
    return CaseFileEntry(
        at=objection.registered_at,
        day=objection.received_on,
        title=_("Objection to the decision of %(day)s") % {"day": _day(contested.decision_date)},
        text=_objection_text(objection),
    )


def _letter_entry(letter: Letter) -> CaseFileEntry:
    downloads = [Link(_("Letter (HTML)"), reverse("decisions:case_letter_html", args=[letter.public_id]))]
    if letter.pdf:
        downloads.insert(0, Link(_("Letter (PDF)"), reverse("decisions:case_letter_pdf", args=[letter.public_id])))
    return CaseFileEntry(at=letter.issued_at, title=capfirst(letter.get_kind_display()), downloads=tuple(downloads))


def allocation_entries(application: Application, user) -> list[CaseFileEntry]:
    """The decisions of the chain, the objections to them and the other letters: three queries, or none."""
    # Only a decided application has decisions, and objections and letters all follow a decision.
    if application.status not in DECIDED_STATUSES:
        return []
    decisions = {
        decision.pk: decision
        for decision in decisions_visible_to(user=user)
        .filter(application=application)
        .select_related("waiver", "withdrawal")
        .order_by("decision_date", "pk")
    }
    if not decisions:
        return []
    objections = Objection.objects.filter(contested__in=list(decisions)).order_by("registered_at", "pk")
    letters = letters_visible_to(user=user).filter(application=application).order_by("issued_at", "pk")
    return [
        *(_decision_entry(decision) for decision in decisions.values()),
        *(_objection_entry(objection, decisions[objection.contested_id]) for objection in objections),
        *(_letter_entry(letter) for letter in letters),
    ]
