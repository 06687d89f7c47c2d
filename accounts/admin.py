from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .forms import AuditPeriodForm
from .models import MUNICIPAL_ROLES, AuditAction, AuditEntry, User
from .selectors import audit_entries_between, audit_table
from .services import record_audit
from .spreadsheets import csv_response, export_filename

admin.site.site_header = _("Thuisfonds – back office")
admin.site.site_title = _("Thuisfonds back office")
admin.site.index_title = _("Regeling huisvesting aandachtsgroepen")


class RoleFormMixin:
    """Friendly messages for the rules the database enforces on role and municipality."""

    def clean(self):
        cleaned = super().clean()
        role, municipality = cleaned.get("role"), cleaned.get("municipality")
        is_municipal = role in MUNICIPAL_ROLES
        if is_municipal and municipality is None:
            self.add_error("municipality", _("A municipal user needs the municipality they act for."))
        if not is_municipal and municipality is not None:
            self.add_error("municipality", _("Only municipal users belong to a municipality."))
        if is_municipal and cleaned.get("is_staff"):
            self.add_error("is_staff", _("Municipal users work in the portal, not in the back office."))
        return cleaned


class UserAdminChangeForm(RoleFormMixin, UserChangeForm):
    pass


class UserAdminCreationForm(RoleFormMixin, AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:2],
        (_("Role"), {"fields": ("role", "municipality")}),
        *DjangoUserAdmin.fieldsets[2:],
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Role"), {"fields": ("role", "municipality")}),
    )
    list_display = ("username", "first_name", "last_name", "email", "role", "municipality", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active", "groups")
    list_select_related = ("municipality",)
    search_fields = ("username", "first_name", "last_name", "email", "municipality__name", "municipality__code")
    autocomplete_fields = ("municipality",)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only; whoever may view it may export a period of it as CSV."""

    change_list_template = "admin/accounts/auditentry/change_list.html"
    list_display = ("when", "actor_name", "action", "outcome", "object_type", "object_repr", "ip_address")
    list_filter = ("action", "outcome")
    search_fields = ("actor_name", "object_repr", "object_id", "ip_address", "detail")
    date_hierarchy = "at"
    fields = (
        "at",
        "actor",
        "actor_name",
        "action",
        "outcome",
        "object_type",
        "object_id",
        "object_repr",
        "ip_address",
        "detail",
    )
    readonly_fields = fields
    list_select_related = ("actor",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("time"), ordering="at")
    def when(self, entry: AuditEntry) -> str:
        return timezone.localtime(entry.at).strftime("%d-%m-%Y %H:%M:%S")

    def get_urls(self):
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="accounts_auditentry_export"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = AuditPeriodForm(request.GET or None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Export the audit log"),
                "form": form,
            }
            return TemplateResponse(request, "admin/accounts/auditentry/export.html", context)
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        record_audit(action=AuditAction.EXPORT, request=request, detail=f"audit log {start} to {end}")
        header, rows = audit_table(audit_entries_between(start=start, end=end))
        # E.g. auditlog-20260401-20260430.csv: the period's first and last day.
        filename = export_filename(_("audit-log"), f"{start:%Y%m%d}", on=end)
        return csv_response(header=header, rows=rows, filename=filename)
