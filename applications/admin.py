"""Back office for received applications: read-only content, status changes through the services."""

from __future__ import annotations

import io
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AuditAction
from accounts.services import record_audit
from grants.admin import HistoryWithoutRevertAdmin, TranchePage, add_tranche_page, amsterdam_time, euro
from grants.models import Tranche, Window

from . import permissions, selectors, services
from .importing import import_applications
from .models import Application, Attachment, InformationRequest, StatusChange, UnitLine


class WindowListFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        # A window's name includes its tranche's title: fetch both in one query.
        return [(window.pk, str(window)) for window in Window.objects.select_related("tranche")]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class UnitLineInline(ReadOnlyInline):
    model = UnitLine
    fields = (
        "target_group",
        "housing_type",
        "permanence",
        "self_contained",
        "common_room",
        "construction",
        "units",
        "requested",
        "planned_monthly_rent",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target_group", "housing_type")

    @admin.display(description=gettext_lazy("requested amount"))
    def requested(self, line: UnitLine) -> str:
        return euro(line.requested_amount)


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("kind", "download", "size", "content_type", "uploaded_by", "uploaded")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description=gettext_lazy("file"))
    def download(self, attachment: Attachment) -> str:
        url = reverse("admin:applications_application_attachment", args=[attachment.application_id, attachment.pk])
        return format_html('<a href="{}" download>{}</a>', url, attachment.original_name)

    @admin.display(description=gettext_lazy("uploaded at"))
    def uploaded(self, attachment: Attachment) -> str:
        return amsterdam_time(attachment.uploaded_at, seconds=True)


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    verbose_name_plural = gettext_lazy("audit trail")
    fields = ("when", "actor", "from_status", "to_status", "reason")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=gettext_lazy("at"))
    def when(self, change: StatusChange) -> str:
        return amsterdam_time(change.at, seconds=True)


class InformationRequestInline(ReadOnlyInline):
    model = InformationRequest
    fields = ("requested", "requested_by", "reason", "deadline", "answered", "answered_by", "own_time")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by", "answered_by")

    def has_view_permission(self, request, obj=None):
        # Part of the application's file, like its ranking instant: whoever may see the application sees them.
        return request.user.has_perm("applications.view_application")

    @admin.display(description=gettext_lazy("requested at"))
    def requested(self, information_request: InformationRequest) -> str:
        return amsterdam_time(information_request.requested_at, seconds=True)

    @admin.display(description=gettext_lazy("answered at"))
    def answered(self, information_request: InformationRequest) -> str:
        return amsterdam_time(information_request.answered_at, seconds=True)

    @admin.display(description=gettext_lazy("the municipality's own time"))
    def own_time(self, information_request: InformationRequest) -> str:
        duration = information_request.municipality_time
        return "–" if duration is None else selectors.describe_duration(duration)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=gettext_lazy("Recorded with the status change, for the municipality and the audit trail."),
    )


@admin.register(Application)
class ApplicationAdmin(HistoryWithoutRevertAdmin):
    list_display = ("reference", "municipality", "project_name", "status", "received", "units", "requested")
    list_filter = (
        "tranche",
        ("window", WindowListFilter),
        "status",
        "municipality__province",
        "unit_lines__target_group__national_group",
    )
    search_fields = ("reference", "municipality__name", "municipality__code", "project_name")
    ordering = ("-received_at",)
    fieldsets = (
        (None, {"fields": ("reference", "status", "municipality", "tranche", "window")}),
        (
            gettext_lazy("Project"),
            {"fields": ("project_name", "location", "description", ("planned_start", "planned_completion"))},
        ),
        (gettext_lazy("Totals"), {"fields": ("units", "requested")}),
        (gettext_lazy("Receipt"), {"fields": ("received", "completed", "ranking", "created_by", "is_demo")}),
    )
    readonly_fields = ("units", "requested", "received", "completed", "ranking")
    inlines = (UnitLineInline, AttachmentInline, InformationRequestInline, StatusChangeInline)
    actions = ("start_review", "request_information", "mark_eligible", "mark_ineligible")

    def get_queryset(self, request):
        return selectors.applications_for_back_office(user=request.user)

    # Content belongs to the municipality: nobody edits, adds or deletes applications here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_handle_permission(self, request) -> bool:
        return request.user.is_staff and request.user.is_agency

    def get_urls(self):
        return [
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.download_attachment),
                name="applications_application_attachment",
            ),
            *super().get_urls(),
        ]

    def download_attachment(self, request, object_id: str, attachment_id: int) -> FileResponse:
        application = self.get_object(request, object_id)
        if application is None or not self.has_view_permission(request, application):
            raise Http404
        try:
            attachment = application.attachments.get(pk=attachment_id)
        except Attachment.DoesNotExist as error:
            raise Http404 from error
        record_audit(action=AuditAction.DOWNLOAD, request=request, target=attachment, detail=attachment.original_name)
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )

    @admin.display(description=gettext_lazy("received at"), ordering="received_at")
    def received(self, application: Application) -> str:
        return amsterdam_time(application.received_at, seconds=True)

    @admin.display(description=gettext_lazy("complete at"), ordering="completed_at")
    def completed(self, application: Application) -> str:
        return amsterdam_time(application.completed_at, seconds=True)

    @admin.display(description=gettext_lazy("ranks at"))
    def ranking(self, application: Application) -> str:
        derivation = selectors.ranking_derivation(application)
        if derivation is None:
            return "–"
        lines = format_html_join("", "<br>{}", ((line,) for line in derivation.request_lines))
        return format_html("{}{}", derivation.sentence, lines)

    @admin.display(description=gettext_lazy("units"), ordering="units_total")
    def units(self, application: Application) -> int:
        return application.units_total

    @admin.display(description=gettext_lazy("requested"), ordering="amount_requested")
    def requested(self, application: Application) -> str:
        return euro(application.amount_requested)

    # --- status changes ---------------------------------------------------------------------------------

    def _apply(self, request, queryset, service: Callable[..., Application], **arguments) -> None:
        """Call the service once per application and report each outcome; one failure stops nothing else."""
        for application in queryset:
            try:
                changed = service(application=application, user=request.user, **arguments)
            except ValidationError as error:
                self._report_error(request, application, " ".join(error.messages))
            except PermissionDenied as error:
                self._report_error(request, application, str(error) or _("You may not do this."))
            else:
                self.message_user(
                    request,
                    _("%(reference)s is now %(status)s.")
                    % {"reference": changed.reference, "status": changed.get_status_display()},
                    messages.SUCCESS,
                )

    def _report_error(self, request, application: Application, message: str) -> None:
        self.message_user(
            request,
            _("%(reference)s: %(error)s") % {"reference": application.reference, "error": message},
            messages.ERROR,
        )

    def _apply_with_reason(self, request, queryset, service, *, action: str, title: str):
        """Ask for the reason on an intermediate page, then apply; the page posts back to the changelist."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._apply(request, queryset, service, reason=form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/applications/application/reason_form.html", context)

    @admin.action(description=gettext_lazy("Start review"), permissions=["handle"])
    def start_review(self, request, queryset):
        self._apply(request, queryset, services.start_review)

    @admin.action(description=gettext_lazy("Request information…"), permissions=["handle"])
    def request_information(self, request, queryset):
        return self._apply_with_reason(
            request,
            queryset,
            services.request_information,
            action="request_information",
            title=_("Request information"),
        )

    @admin.action(description=gettext_lazy("Mark eligible"), permissions=["handle"])
    def mark_eligible(self, request, queryset):
        self._apply(request, queryset, services.mark_eligible)

    @admin.action(description=gettext_lazy("Mark ineligible…"), permissions=["handle"])
    def mark_ineligible(self, request, queryset):
        return self._apply_with_reason(
            request,
            queryset,
            services.mark_ineligible,
            action="mark_ineligible",
            title=_("Mark ineligible"),
        )


# --- on the tranche: importing applications -------------------------------------------------------------


class ImportApplicationsForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, one row per unit line, with the columns reference, municipality_code, window, project_name, "
            "received_at, target_group, housing_type, permanence, self_contained, common_room, units, "
            "requested_amount, and optionally information_requested_at and information_received_at. One bad row "
            "rejects the whole file."
        ),
    )


def import_applications_page(model_admin, request, tranche: Tranche):
    """Import a tranche's submitted applications from CSV: all rows, or none."""
    if not request.user.has_perm("applications.add_application"):
        raise PermissionDenied
    allowed, refusal = permissions.can_import_applications(request.user)
    form = ImportApplicationsForm(request.POST or None, request.FILES or None)
    row_errors: list[str] = []
    if allowed and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            count = import_applications(
                tranche=tranche,
                stream=io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline=""),
                source=upload.name,
                user=request.user,
            )
        except ValidationError as error:
            row_errors = error.messages
        except UnicodeDecodeError:
            row_errors = [_("The file is not UTF-8 text.")]
        else:
            model_admin.message_user(
                request,
                _("%(count)s applications imported from %(file)s.") % {"count": count, "file": upload.name},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:grants_tranche_change", args=[tranche.pk]))
    return model_admin.render_tranche_page(
        request,
        tranche,
        "admin/applications/import_applications.html",
        title=_("Import applications (CSV)"),
        form=form,
        refusal="" if allowed else refusal,
        row_errors=row_errors,
    )


add_tranche_page(
    TranchePage(
        name="import_applications",
        route="import-applications",
        label=gettext_lazy("Import applications (CSV)"),
        permission="applications.add_application",
        view=import_applications_page,
    )
)
