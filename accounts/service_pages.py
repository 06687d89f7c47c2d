"""The pages every government service has, open to everyone: privacy statement, accessibility statement, contact.

They live in accounts, the lowest stage, because every page links to them; the privacy statement reads its
retention periods from the same settings and registry (accounts.retention) that the nightly job applies, so the
page and the job cannot disagree. docs/portal.md, "Service pages".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from .retention import retention_rules

# When the accessibility statement was last checked: the date it states, as digitoegankelijk.nl asks.
ACCESSIBILITY_TESTED_ON = date(2026, 12, 2)


def _years(kind: str) -> str:
    years = settings.RETENTION_YEARS[kind]
    return ngettext("%(count)s year", "%(count)s years", years) % {"count": years}


def _minutes(seconds: int) -> str:
    minutes = seconds // 60
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}


@dataclass(frozen=True)
class RetentionRow:
    what: str
    period: Callable[[], str]
    then: str


# What each retention rule keeps and for how long, in the statement's words; a rule without a row here fails
# tests/accounts/test_service_pages.py.
RETENTION_ROWS: dict[str, tuple[RetentionRow, ...]] = {
    "audit_log": (
        RetentionRow(
            _("Log entries of logging in, failed logins, lockouts and password changes"),
            lambda: _("%(period)s after the entry") % {"period": _years("login_audit_log")},
            _("deleted"),
        ),
        RetentionRow(
            _("Log entries of what was done to a grant and its money: exports, downloads, confirmations, changes"),
            lambda: _("%(period)s after the entry") % {"period": _years("audit_log")},
            _("deleted"),
        ),
    ),
    "sessions": (
        RetentionRow(
            _("Your session on this site"),
            lambda: (
                _("until it ends, after %(period)s without use") % {"period": _minutes(settings.SESSION_COOKIE_AGE)}
            ),
            _("deleted"),
        ),
    ),
    "lockout_records": (
        RetentionRow(
            _("Failed login attempts (username, address, browser)"),
            lambda: (
                _("%(period)s after the attempt")
                % {"period": _minutes(int(settings.AXES_COOLOFF_TIME.total_seconds()))}
            ),
            _("deleted"),
        ),
    ),
    "idle_accounts": (
        RetentionRow(
            _("Accounts"),
            lambda: _("until %(period)s without a login") % {"period": _years("idle_account")},
            _("deactivated"),
        ),
    ),
    "contact_persons": (
        RetentionRow(
            _("Name and e-mail address of municipal contact persons"),
            lambda: (
                _("%(period)s after the settlement of the last grant they could have worked on")
                % {"period": _years("contact_person")}
            ),
            _("anonymised"),
        ),
    ),
    "drafts": (
        RetentionRow(
            _("Applications never submitted, with their attachments"),
            lambda: _("%(period)s after their tranche closed") % {"period": _years("draft")},
            _("deleted"),
        ),
    ),
    "emails": (
        RetentionRow(
            _("E-mail addresses reminders were sent to, and failed attempts"),
            lambda: _("%(period)s after the reminder") % {"period": _years("email")},
            _("deleted"),
        ),
    ),
}


def retention_table() -> list[dict[str, str]]:
    """One row per kind of personal data, in the order the retention job applies its rules."""
    return [
        {"what": row.what, "period": row.period(), "then": row.then}
        for rule in retention_rules()
        for row in RETENTION_ROWS[rule.name]
    ]


def _contact() -> dict[str, str]:
    return {"phone": settings.CONTACT_PHONE, "email": settings.CONTACT_EMAIL}


@require_GET
def privacy(request):
    return render(request, "service/privacy.html", {"retention": retention_table(), "contact": _contact()})


@require_GET
def accessibility(request):
    return render(request, "service/accessibility.html", {"tested_on": ACCESSIBILITY_TESTED_ON, "contact": _contact()})


@require_GET
def contact(request):
    return render(request, "service/contact.html", {"contact": _contact()})


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says; the icon is a static file."""
    return redirect(static("img/favicon.svg"), permanent=True)
