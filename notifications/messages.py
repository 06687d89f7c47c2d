"""The words of a reminder, in the language active when they are rendered: its title and its message.

The title is the e-mail's subject and the heading in the notification list; the message is a template per kind,
notifications/messages/<kind>.txt, shared by the e-mail and the list.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from .models import Delivery, NotificationPreference, Reminder, ReminderKind

TITLES = {
    ReminderKind.TRANCHE_CLOSING: _("%(title)s closes on %(deadline)s"),
    ReminderKind.INFORMATION_REQUEST: _("Answer the information request on %(reference)s by %(deadline)s"),
    ReminderKind.PROGRESS_REPORT_DUE: _("Progress report on %(reference)s due by %(deadline)s"),
    ReminderKind.PROGRESS_REPORT_OVERDUE: _("Progress report on %(reference)s is overdue"),
    ReminderKind.START_APPROACHING: _("Construction of %(reference)s must start by %(deadline)s"),
    ReminderKind.START_MISSED: _("Start deadline of %(reference)s missed"),
    ReminderKind.COMPLETION_APPROACHING: _("%(reference)s must be completed by %(deadline)s"),
    ReminderKind.COMPLETION_MISSED: _("Completion deadline of %(reference)s missed"),
    ReminderKind.OBJECTION_DEADLINE: _("Decide on the objection on %(reference)s by %(deadline)s"),
    ReminderKind.ACCOUNTABILITY_DUE: _("Accountability report %(year)s on %(reference)s due by %(deadline)s"),
    ReminderKind.ACCOUNTABILITY_OVERDUE: _("Accountability report %(year)s on %(reference)s is overdue"),
    ReminderKind.AGENCY_DIGEST: _("Weekly digest of %(deadline)s: what waits on you"),
    ReminderKind.SIGNATORY_ASKED: _("%(name)s asks you to submit %(title)s"),
}
# The kinds whose deadline is an instant rather than a day.
INSTANT_DEADLINES = {ReminderKind.TRANCHE_CLOSING, ReminderKind.SIGNATORY_ASKED}


def deadline_text(reminder: Reminder) -> str:
    local = timezone.localtime(reminder.deadline)
    if reminder.kind in INSTANT_DEADLINES:
        return formats.date_format(local, "j F Y, H:i")
    return formats.date_format(local, "j F Y")


def title(reminder: Reminder) -> str:
    return str(TITLES[reminder.kind]) % {**reminder.context, "deadline": deadline_text(reminder)}


def message_context(reminder: Reminder) -> dict:
    return {
        "reminder": reminder,
        "details": reminder.context,
        "deadline": deadline_text(reminder),
        "title": title(reminder),
        "message_template": f"notifications/messages/{reminder.kind}.txt",
    }


def language_of(user) -> str:
    try:
        return user.notification_preference.language
    except NotificationPreference.DoesNotExist:
        return settings.LANGUAGE_CODE


def email_for(delivery: Delivery) -> EmailMessage:
    """The e-mail of a delivery in its recipient's language, with a link to the page it is about."""
    reminder = delivery.reminder
    with translation.override(language_of(delivery.recipient)):
        context = message_context(reminder)
        body = render_to_string(
            "notifications/email/reminder.txt",
            {
                **context,
                "recipient": delivery.recipient,
                "link": f"{settings.SITE_URL.rstrip('/')}{reminder.link}" if reminder.link else "",
                "list_link": f"{settings.SITE_URL.rstrip('/')}{reverse('notifications:list')}",
            },
        )
        subject = context["title"]
    return EmailMessage(subject=subject, body=body, to=[delivery.email])
