"""Reminders, their e-mails, and what each user and tranche chose.

A Reminder is the decision that something is due: its kind, its subject, the deadline it is about, the instant it
fell due and its addressee (a municipality, whose users all see it, or one user). Each e-mail it causes is a
Delivery to one user. Both are unique, so that a reminder is decided and sent at most once however many sweeps
and workers run (docs/notifications.md).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

DEFAULT_CLOSING_DAYS = [14, 3, 1]


class ReminderKind(models.TextChoices):
    TRANCHE_CLOSING = "tranche_closing", _("tranche closing")
    INFORMATION_REQUEST = "information_request", _("information request deadline")
    PROGRESS_REPORT_DUE = "progress_report_due", _("progress report due")
    PROGRESS_REPORT_OVERDUE = "progress_report_overdue", _("progress report overdue")
    START_APPROACHING = "start_approaching", _("start of construction approaching")
    START_MISSED = "start_missed", _("start of construction missed")
    COMPLETION_APPROACHING = "completion_approaching", _("completion approaching")
    COMPLETION_MISSED = "completion_missed", _("completion missed")
    OBJECTION_DEADLINE = "objection_deadline", _("decision on objection due")
    ACCOUNTABILITY_DUE = "accountability_due", _("accountability report due")
    ACCOUNTABILITY_OVERDUE = "accountability_overdue", _("accountability report overdue")
    AGENCY_DIGEST = "agency_digest", _("weekly digest")
    SIGNATORY_ASKED = "signatory_asked", _("signatory asked to submit")


class Reminder(models.Model):
    """One reminder, decided once: shown in the app to its addressee and e-mailed through its deliveries."""

    kind = models.CharField(_("kind"), max_length=30, choices=ReminderKind.choices)
    subject_type = models.ForeignKey(ContentType, models.PROTECT, related_name="+", verbose_name=_("type of subject"))
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    subject = GenericForeignKey("subject_type", "subject_id")
    deadline = models.DateTimeField(
        _("deadline"), help_text=_("The deadline it is about; a deadline that is a day starts at its midnight.")
    )
    due_at = models.DateTimeField(_("due at"), help_text=_("The instant the reminder fell due."))
    municipality = models.ForeignKey(
        "grants.Municipality",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("municipality"),
        help_text=_("Every user of this municipality sees the reminder."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("user"),
        help_text=_("For a reminder to one person, such as an agency user's digest."),
    )
    context = models.JSONField(_("details"), default=dict, blank=True, help_text=_("What the message names."))
    link = models.CharField(_("link"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("decided at"), default=timezone.now)
    obsolete_at = models.DateTimeField(
        _("no longer due at"),
        null=True,
        blank=True,
        help_text=_("Its reason went before it was sent, e.g. the draft was submitted; it is then not sent."),
    )

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-due_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(municipality__isnull=False, user__isnull=True)
                | Q(municipality__isnull=True, user__isnull=False),
                name="reminder_one_addressee",
            ),
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id", "deadline", "due_at", "municipality"],
                condition=Q(municipality__isnull=False),
                name="reminder_once_per_municipality",
            ),
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id", "deadline", "due_at", "user"],
                condition=Q(user__isnull=False),
                name="reminder_once_per_user",
            ),
        ]
        indexes = [models.Index(fields=["municipality", "created_at"]), models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.context.get('title', self.subject_id)}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    OBSOLETE = "obsolete", _("not sent: no longer due")


class Delivery(models.Model):
    """The e-mail of a reminder to one user, written as pending in the transaction that decided the reminder.

    A worker claims it by moving it from pending to sending, sends, and marks it sent; a failure puts it back to
    pending with a later attempt, or marks it failed after the last attempt. Nothing marks it sent but a send
    that succeeded.
    """

    reminder = models.ForeignKey(Reminder, models.CASCADE, related_name="deliveries", verbose_name=_("reminder"))
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="deliveries", verbose_name=_("recipient")
    )
    email = models.EmailField(_("e-mail address"))
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["reminder", "recipient"], name="delivery_once_per_recipient"),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False) | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="delivery_sent_iff_sent_at",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.reminder} → {self.email} ({self.get_status_display()})"


class DeliveryAttempt(models.Model):
    """One try to send a delivery, kept whether it succeeded or not."""

    delivery = models.ForeignKey(Delivery, models.CASCADE, related_name="attempt_log", verbose_name=_("e-mail"))
    at = models.DateTimeField(_("at"))
    succeeded = models.BooleanField(_("succeeded"))
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["delivery", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.at:%Y-%m-%d %H:%M} {'ok' if self.succeeded else self.error[:40]}"


class NotificationPreference(models.Model):
    """A user's choices: the language of their e-mails, and when they last looked at their notifications."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="notification_preference", verbose_name=_("user")
    )
    language = models.CharField(
        _("language of e-mails"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    last_seen_at = models.DateTimeField(
        _("notifications last seen at"),
        null=True,
        blank=True,
        help_text=_("Notifications decided later count as unread."),
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"


def validate_days_before(value) -> None:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 365 for day in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError(_("Give one or more different whole numbers of days from 1 to 365."))


class TrancheReminderSettings(models.Model):
    """When municipalities with a draft are reminded of a tranche's closing, instead of the defaults."""

    tranche = models.OneToOneField(
        "grants.Tranche", models.CASCADE, related_name="reminder_settings", verbose_name=_("tranche")
    )
    closing_days_before = models.JSONField(
        _("reminders before the closing (days)"),
        default=list,
        validators=[validate_days_before],
        help_text=_("Calendar days before the closing in force, e.g. [14, 3, 1]."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("closing reminders of a tranche")
        verbose_name_plural = _("closing reminders of tranches")

    def __str__(self) -> str:
        return f"{self.tranche}: {', '.join(str(day) for day in self.closing_days_before)}"
