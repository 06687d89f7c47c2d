"""Who may read the scheme's totals. Each check answers (allowed, reason)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.permissions import Verdict


def can_view_totals(user) -> Verdict:
    """The scheme's totals, dashboard and exports: for the ministry and the agency, not for municipalities."""
    if not (user.is_ministry or user.is_agency):
        return False, _("Only the ministry and the agency can see the totals of the scheme.")
    return True, ""
