"""The unread count in the header of every page."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from . import selectors


def notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: a page that does not show the header does not pay for the count.
    return {"unread_notifications": SimpleLazyObject(lambda: selectors.unread_count(user=user))}
