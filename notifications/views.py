"""The notification list: every user's reminders and when they were e-mailed, and the language of the e-mails."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import LanguageForm
from .messages import message_context

PAGE_SIZE = 25


@login_required
def notification_list(request):
    # Taken before the list is read: a reminder decided while this page is made stays unread.
    seen_at = timezone.now()
    page = Paginator(selectors.notification_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    # Read before marking everything seen, so that this page can still show what is new.
    preference = selectors.preference_of(user=request.user)
    last_seen = preference.last_seen_at if preference else None
    services.mark_seen(user=request.user, at=seen_at)
    items = [
        {
            **message_context(reminder),
            "sent_to_me": reminder.sent_to_me,
            "is_new": last_seen is None or reminder.created_at > last_seen,
        }
        for reminder in page
    ]
    form = LanguageForm(initial={"language": preference.language if preference else request.LANGUAGE_CODE})
    # The header counts what was unread before this page; now nothing is.
    return render(
        request, "notifications/list.html", {"page": page, "items": items, "form": form, "unread_notifications": 0}
    )


@login_required
@require_POST
def set_language(request):
    form = LanguageForm(request.POST)
    if form.is_valid():
        services.set_language(user=request.user, language=form.cleaned_data["language"])
        messages.success(request, _("Your e-mails will be in the language you chose."))
    else:
        messages.error(request, _("Choose one of the languages offered."))
    return redirect("notifications:list")
