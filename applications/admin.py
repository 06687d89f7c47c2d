"""Back office for received applications: read-only content, status changes through the services."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AuditAction
from accounts.services import record_audit
from grants.admin import HistoryWithoutRevertAdmin, TranchePage, add_tranche_page, amsterdam_time, euro
from grants.models import Tranche, Window

from . import permissions, selectors, services
from .importing import import_applications
from .models import Application, Attachment, InformationRequest, Status


class WindowListFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        # A window's name includes its tranche's title: fetch both in one query.
        return [(window.pk, str(window)) for window in Window.objects.select_related("tranche")]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=gettext_lazy("Recorded with the status change, for the municipality and the audit trail."),
    )


class ConfirmStepForm(forms.Form):
    """A step that asks nothing more than the button."""


class InformationForm(ReasonForm):
    reason = forms.CharField(
        label=gettext_lazy("What is asked"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text=gettext_lazy("The municipality reads this. Say which document or detail is missing."),
    )


class OptionalReasonForm(ReasonForm):
    reason = forms.CharField(
        label=gettext_lazy("Remark (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=gettext_lazy("Recorded with the status change, for the municipality and the audit trail."),
    )


@dataclass(frozen=True)
class Step:
    """A step of the assessment as the application page offers it: its form and the service that takes it."""

    label: Promise
    form: type[forms.Form]
    service: Callable[..., Application]


STEPS = {
    "start_review": Step(gettext_lazy("Start review"), ConfirmStepForm, services.start_review),
    "request_information": Step(gettext_lazy("Request information"), InformationForm, services.request_information),
    "mark_eligible": Step(gettext_lazy("Mark eligible"), OptionalReasonForm, services.mark_eligible),
    "mark_ineligible": Step(gettext_lazy("Mark ineligible"), ReasonForm, services.mark_ineligible),
}


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
        (gettext_lazy("Receipt"), {"fields": ("received", "completed", "created_by", "is_demo")}),
    )
    readonly_fields = ("units", "requested", "received", "completed")
    change_form_template = "admin/applications/application/change_form.html"
    actions = ("start_review", "request_information", "mark_eligible", "mark_ineligible")

    def get_queryset(self, request):
        return selectors.applications_for_back_office(user=request.user)

    def get_object(self, request, object_id, from_field=None):
        try:
            return selectors.application_for_back_office(user=request.user, pk=object_id)
        except (Application.DoesNotExist, ValueError, ValidationError):
            return None

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
            path(
                "<path:object_id>/steps/<slug:step>/",
                self.admin_site.admin_view(self.step_view),
                name="applications_application_step",
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

    @admin.display(description=gettext_lazy("units"), ordering="units_total")
    def units(self, application: Application) -> int:
        return application.units_total

    @admin.display(description=gettext_lazy("requested"), ordering="amount_requested")
    def requested(self, application: Application) -> str:
        return euro(application.amount_requested)

    # --- the application page --------------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            rent_limit = selectors.rent_limit_for(obj)
            context.update(
                steps=self._steps(request, obj),
                lines=[
                    (line, selectors.unit_line_checks(line, application=obj, rent_limit=rent_limit))
                    for line in obj.unit_lines.all()
                ],
                checks=selectors.application_checks(obj),
                attachments=obj.attachments.all(),
                information_request_opts=InformationRequest._meta,
                information_requests=[
                    (
                        request,
                        "–" if request.answered_at is None else selectors.describe_duration(request.municipality_time),
                    )
                    for request in obj.information_requests.all()
                ],
                history=selectors.history(obj),
                derivation=selectors.ranking_derivation(obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _steps(self, request, application: Application) -> dict | None:
        """The steps to show as buttons: each that can be taken now, and each still to come with what first."""
        if not self.has_handle_permission(request):
            return None
        firsts = {name: selectors.what_first(application, name) for name in STEPS}
        if all(firsts.values()) and application.status not in selectors.TO_ASSESS + (Status.INFORMATION_REQUESTED,):
            # The assessment is over: no step is coming any more, only why.
            return {"buttons": [], "done": firsts["start_review"], "common": ""}
        buttons = [
            {
                "name": name,
                "label": step.label,
                "url": reverse("admin:applications_application_step", args=[application.pk, name]),
                "first": firsts[name],
                "direct": step.form is ConfirmStepForm,
            }
            for name, step in STEPS.items()
            # A review that has started is not started again.
            if not (name == "start_review" and application.status == Status.IN_REVIEW)
        ]
        reasons = {button["first"] for button in buttons}
        # One reason for every step is said once, under the buttons.
        return {"buttons": buttons, "done": "", "common": reasons.pop() if len(reasons) == 1 else ""}

    def step_view(self, request, object_id: str, step: str):
        """One step of the assessment: its small form, then its service; a refusal says what must happen first."""
        application = self.get_object(request, object_id)
        if application is None or step not in STEPS:
            raise Http404
        if not self.has_handle_permission(request):
            raise PermissionDenied
        page = reverse("admin:applications_application_change", args=[application.pk])
        definition = STEPS[step]
        if first := selectors.what_first(application, step):
            self._report_error(request, application, self._not_now(definition, first))
            return HttpResponseRedirect(page)
        form = definition.form(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                changed = definition.service(application=application, user=request.user, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as error:
                form.add_error(None, self._refusal(request, application, step, error))
            else:
                self.message_user(request, self._done(changed, step), messages.SUCCESS)
                return HttpResponseRedirect(page)
        deadline = None
        if step == "request_information":
            deadline = services.information_deadline(requested_at=timezone.now(), tranche=application.tranche)
        context = {
            **self.admin_site.each_context(request),
            "title": definition.label,
            "opts": self.model._meta,
            "original": application,
            "form": form,
            "page": page,
            "deadline": deadline,
            "term_days": application.tranche.information_term_days,
        }
        return TemplateResponse(request, "admin/applications/application/step_form.html", context)

    @staticmethod
    def _not_now(step: Step, first: str) -> str:
        return _("%(step)s is not possible now. %(first)s") % {"step": step.label, "first": first}

    def _refusal(self, request, application: Application, step: str, error) -> str:
        """Why the service refused, as what must happen first when the application moved on meanwhile."""
        if isinstance(error, PermissionDenied):
            return str(error) or _("You may not do this.")
        if hasattr(error, "error_dict"):
            return " ".join(error.messages)
        current = self.get_object(request, str(application.pk))
        first = selectors.what_first(current, step) if current is not None else ""
        return self._not_now(STEPS[step], first) if first else " ".join(error.messages)

    @staticmethod
    def _done(application: Application, step: str) -> str:
        if step == "request_information":
            request = selectors.open_information_request(application)
            return _("%(reference)s: information requested; the municipality answers by %(deadline)s.") % {
                "reference": application.reference,
                "deadline": formats.date_format(request.deadline, "j F Y"),
            }
        return _("%(reference)s is now %(status)s.") % {
            "reference": application.reference,
            "status": application.get_status_display(),
        }

    # --- the same steps as list actions, on several applications at once -------------------------------

    def _apply(self, request, queryset, step: str, **arguments) -> None:
        """Take the step on each application and report each outcome; one refusal stops nothing else."""
        for application in queryset.prefetch_related("information_requests"):
            if first := selectors.what_first(application, step):
                self._report_error(request, application, self._not_now(STEPS[step], first))
                continue
            try:
                changed = STEPS[step].service(application=application, user=request.user, **arguments)
            except (ValidationError, PermissionDenied) as error:
                self._report_error(request, application, self._refusal(request, application, step, error))
            else:
                self.message_user(request, self._done(changed, step), messages.SUCCESS)

    def _report_error(self, request, application: Application, message: str) -> None:
        self.message_user(
            request,
            _("%(reference)s: %(error)s") % {"reference": application.reference, "error": message},
            messages.ERROR,
        )

    def _apply_with_reason(self, request, queryset, step: str):
        """Ask for the reason on an intermediate page, then apply; the page posts back to the changelist."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._apply(request, queryset, step, reason=form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": STEPS[step].label,
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": step,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/applications/application/reason_form.html", context)

    @admin.action(description=gettext_lazy("Start review"), permissions=["handle"])
    def start_review(self, request, queryset):
        self._apply(request, queryset, "start_review")

    @admin.action(description=gettext_lazy("Request information…"), permissions=["handle"])
    def request_information(self, request, queryset):
        return self._apply_with_reason(request, queryset, "request_information")

    @admin.action(description=gettext_lazy("Mark eligible"), permissions=["handle"])
    def mark_eligible(self, request, queryset):
        self._apply(request, queryset, "mark_eligible")

    @admin.action(description=gettext_lazy("Mark ineligible…"), permissions=["handle"])
    def mark_ineligible(self, request, queryset):
        return self._apply_with_reason(request, queryset, "mark_ineligible")


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
