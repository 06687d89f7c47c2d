"""Back office of reminders: what was decided and sent, the e-mails that failed, and each tranche's closing days.

Reminders and e-mails are read-only; sending a failed e-mail again is an admin action that calls the service.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from grants.admin import ReadOnlyAdmin, ReadOnlyInline
from grants.admin import instant_or_dash as amsterdam_time

from . import services
from .messages import title
from .models import (
    DEFAULT_CLOSING_DAYS,
    Delivery,
    DeliveryAttempt,
    Reminder,
    TrancheReminderSettings,
    validate_days_before,
)


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ("recipient", "email", "status", "attempts", "sent_at", "last_error")
    readonly_fields = fields


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("heading", "kind", "addressee", "deadline_shown", "due", "decided", "obsolete_at")
    list_filter = ("kind", ("obsolete_at", admin.EmptyFieldListFilter))
    search_fields = ("context__title", "context__reference", "municipality__name", "user__username")
    date_hierarchy = "due_at"
    fields = (
        "kind",
        "heading",
        "addressee",
        "subject_type",
        "subject_id",
        "deadline_shown",
        "due",
        "decided",
        "obsolete_at",
        "link",
        "context",
    )
    readonly_fields = ("heading", "addressee", "deadline_shown", "due", "decided")
    inlines = (DeliveryInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("municipality", "user")

    @admin.display(description=gettext_lazy("reminder"))
    def heading(self, reminder: Reminder) -> str:
        return title(reminder)

    @admin.display(description=gettext_lazy("to"))
    def addressee(self, reminder: Reminder) -> str:
        return str(reminder.municipality or reminder.user)

    @admin.display(description=gettext_lazy("deadline"), ordering="deadline")
    def deadline_shown(self, reminder: Reminder) -> str:
        return amsterdam_time(reminder.deadline)

    @admin.display(description=gettext_lazy("due at"), ordering="due_at")
    def due(self, reminder: Reminder) -> str:
        return amsterdam_time(reminder.due_at)

    @admin.display(description=gettext_lazy("decided at"), ordering="created_at")
    def decided(self, reminder: Reminder) -> str:
        return amsterdam_time(reminder.created_at)


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ("at", "succeeded", "error")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("reminder", "recipient", "email", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "reminder__kind")
    search_fields = ("email", "recipient__username")
    fields = ("reminder", "recipient", "email", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    readonly_fields = fields
    inlines = (DeliveryAttemptInline,)
    actions = ("send_again",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reminder", "recipient")

    @admin.action(description=gettext_lazy("Send again (failed or interrupted e-mails; it may arrive twice)"))
    def send_again(self, request, queryset):
        for delivery in queryset:
            try:
                services.send_again(delivery=delivery, user=request.user)
            except PermissionDenied as refusal:
                self.message_user(request, f"{delivery}: {refusal}", messages.ERROR)
            else:
                self.message_user(request, _("%(delivery)s will be sent again.") % {"delivery": delivery})


class DaysField(forms.CharField):
    """Whole numbers of days separated by commas, e.g. "14, 3, 1"."""

    def prepare_value(self, value):
        return ", ".join(str(day) for day in value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        try:
            days = [int(part) for part in text.replace(" ", "").split(",") if part]
        except ValueError:
            raise forms.ValidationError(_("Give whole numbers of days separated by commas, e.g. 14, 3, 1.")) from None
        validate_days_before(days)
        return sorted(days, reverse=True)


class TrancheReminderSettingsForm(forms.ModelForm):
    closing_days_before = DaysField(
        label=gettext_lazy("reminders before the closing (days)"),
        help_text=gettext_lazy("Calendar days before the closing in force, e.g. 14, 3, 1 (the default)."),
    )

    class Meta:
        model = TrancheReminderSettings
        fields = ("tranche", "closing_days_before")


@admin.register(TrancheReminderSettings)
class TrancheReminderSettingsAdmin(SimpleHistoryAdmin):
    form = TrancheReminderSettingsForm
    list_display = ("tranche", "days")

    def get_changeform_initial_data(self, request):
        return {"closing_days_before": DEFAULT_CLOSING_DAYS, **super().get_changeform_initial_data(request)}

    @admin.display(description=gettext_lazy("days before the closing"))
    def days(self, settings: TrancheReminderSettings) -> str:
        return ", ".join(str(day) for day in settings.closing_days_before)
