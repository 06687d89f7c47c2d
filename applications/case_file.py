"""The case file (dossier) of an application: every document and step of its life, in time order.

The portal's application page belongs to this stage, which may not import the later ones. So each later stage
registers a source here in its AppConfig.ready(): a callable `(application, user) -> iterable of CaseFileEntry`
that reads its own models in a fixed number of queries. case_file() merges the application's own steps with
what the sources give and sorts the whole by time. The application passed in is one the user may see, found
through a selector; a source shows only what the municipality sent or was sent, never the agency's drafts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Application, Status


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class CaseFileEntry:
    """One document or step in the case file.

    `at` places the entry among the others. `day` is set when only the day counts, as for a decision, which
    takes effect on its date: the page then shows that day instead of the instant.
    """

    at: datetime
    title: str
    text: str = ""
    downloads: tuple[Link, ...] = ()
    link: Link | None = None
    day: date | None = None

    def __post_init__(self) -> None:
        # Naive and aware instants cannot be compared, so one naive entry would break the sorting of all.
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("A case file entry needs an aware datetime.")


CaseFileSource = Callable[[Application, object], Iterable[CaseFileEntry]]

_sources: list[CaseFileSource] = []


def register_case_file_source(source: CaseFileSource) -> CaseFileSource:
    """Add a later stage's source; registering the same one again changes nothing."""
    if source not in _sources:
        _sources.append(source)
    return source


# The application's own steps and what they are called in the case file. Creating the draft is the
# municipality's own work, and the moves into a decided status are told by the decision itself.
STEP_TITLES = {
    Status.SUBMITTED: gettext_lazy("Application submitted"),
    Status.IN_REVIEW: gettext_lazy("Assessment started"),
    Status.RESUBMITTED: gettext_lazy("Requested information sent"),
    Status.ELIGIBLE: gettext_lazy("Application found eligible"),
    Status.INELIGIBLE: gettext_lazy("Application found ineligible"),
    Status.WITHDRAWN: gettext_lazy("Application withdrawn"),
}


def _step_text(application: Application, to_status: str, reason: str) -> str:
    if to_status == Status.SUBMITTED and application.reference:
        return _("Receipt number %(reference)s.") % {"reference": application.reference}
    return reason


def _information_request_text(request) -> str:
    lines = [request.reason] if request.reason else []
    if request.answered_at:
        lines.append(_("Answered."))
    elif request.deadline:
        lines.append(_("Answer by %(day)s.") % {"day": formats.date_format(request.deadline, "j F Y")})
    return "\n".join(lines)


def application_entries(application: Application) -> list[CaseFileEntry]:
    """Submission, assessment steps and information requests, from what the detail selector prefetched."""
    entries = [
        CaseFileEntry(
            at=change.at,
            title=str(STEP_TITLES[change.to_status]),
            text=_step_text(application, change.to_status, change.reason),
        )
        for change in application.status_changes.all()
        if change.to_status in STEP_TITLES
    ]
    entries += [
        CaseFileEntry(
            at=request.requested_at, title=_("Information requested"), text=_information_request_text(request)
        )
        for request in application.information_requests.all()
    ]
    return entries


def case_file(application: Application, user) -> list[CaseFileEntry]:
    """Every entry of the application's case file, oldest first; entries at the same instant keep source order."""
    entries = application_entries(application)
    for source in _sources:
        entries.extend(source(application, user))
    return sorted(entries, key=lambda entry: entry.at)
