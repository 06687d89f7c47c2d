"""What every stage's permission checks share: a verdict (allowed, reason), and raising it when it forbids."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

# (allowed, reason): the reason says why not, so that every caller can tell the user.
Verdict = tuple[bool, str]


def enforce(verdict: Verdict) -> None:
    """Raise PermissionDenied with the verdict's reason when it does not allow."""
    allowed, reason = verdict
    if not allowed:
        raise PermissionDenied(reason)
