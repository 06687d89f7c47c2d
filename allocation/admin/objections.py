"""Back office for objections (bezwaar) and the letters about them.

Objections and letters are read-only here. Registering, recording a dispatch date and every later step are
small forms that call one service of allocation.objections each, which checks the permissions again; the model
permissions of the Agency group only open the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AGENCY_ROLES, AuditAction, User
from accounts.security import reauthentication_required
from accounts.services import record_audit
from applications.models import Application
from grants.admin import ReadOnlyAdmin, ReadOnlyInline
from grants.admin import instant_or_dash as amsterdam_time

from .. import objections, permissions
from ..models import Letter, Objection, ObjectionOutcome
from ..selectors import current_decision


def _refusal_reasons(error: PermissionDenied | ValidationError) -> list[str]:
    return error.messages if isinstance(error, ValidationError) else [str(error)]


def _show_error(form: forms.Form, error: PermissionDenied | ValidationError) -> None:
    """A refusal next to its field where the form has one, else above the form."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        for reason in _refusal_reasons(error):
            form.add_error(None, reason)


class AgencyUserField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(queryset=User.objects.filter(role__in=AGENCY_ROLES, is_active=True), **kwargs)


def _decision_in_force(reference: str):
    application = Application.objects.filter(reference=reference.strip()).first()
    decision = current_decision(application=application) if application is not None else None
    if decision is None:
        raise ValidationError({"reference": _("No decision was issued on an application with this receipt number.")})
    return decision


# --- forms ----------------------------------------------------------------------------------------------

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DispatchForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("Receipt number"), max_length=30)
    dispatched_on = forms.DateField(
        label=gettext_lazy("Sent on"),
        widget=DATE,
        help_text=gettext_lazy("The day the letter of the decision in force was sent."),
    )


class RegisterForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Receipt number"),
        max_length=30,
        help_text=gettext_lazy("The objection is registered against the decision in force on this application."),
    )
    received_on = forms.DateField(label=gettext_lazy("Received on"), widget=DATE)
    grounds = forms.CharField(label=gettext_lazy("Grounds"), widget=forms.Textarea(attrs={"rows": 4}))
    handler = AgencyUserField(label=gettext_lazy("Handler"), required=False)
    lateness_excused = forms.BooleanField(
        label=gettext_lazy("Lateness excused (Awb 6:11)"),
        required=False,
        help_text=gettext_lazy("Only for an objection received after its term."),
    )


class HandlerForm(forms.Form):
    handler = AgencyUserField(
        label=gettext_lazy("Handler"),
        help_text=gettext_lazy("Someone who did not prepare or take the decision objected to (Awb 7:5)."),
    )


class ConfirmForm(forms.Form):
    """No input: the page explains the step and the button takes it."""


class ExtendForm(forms.Form):
    until = forms.DateField(
        label=gettext_lazy("Postpone to"),
        required=False,
        widget=DATE,
        help_text=gettext_lazy("At most six weeks after the deadline; empty for the full six weeks."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class HearingForm(forms.Form):
    at = forms.DateTimeField(
        label=gettext_lazy("Hearing at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=ObjectionOutcome.choices)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount of the new decision"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy("Only for a (partly) founded objection; at most the amount requested."),
    )
    reason = forms.CharField(label=gettext_lazy("Reasons"), widget=forms.Textarea(attrs={"rows": 5}))


def _assign(objection: Objection, user, data: dict) -> str:
    objections.assign_handler(objection=objection, user=user, handler=data["handler"])
    return _("Handler assigned.")


def _excuse(objection: Objection, user, data: dict) -> str:
    objections.excuse_lateness(objection=objection, user=user)
    return _("Lateness excused.")


def _extend(objection: Objection, user, data: dict) -> str:
    objection = objections.extend_objection_deadline(
        objection=objection, user=user, reason=data["reason"], until=data["until"]
    )
    return _("Decision postponed to %(day)s.") % {"day": f"{objection.extended_to:%d-%m-%Y}"}


def _plan_hearing(objection: Objection, user, data: dict) -> str:
    objections.schedule_hearing(objection=objection, user=user, at=data["at"])
    return _("Hearing planned; the invitation has been issued.")


def _waive(objection: Objection, user, data: dict) -> str:
    objections.waive_hearing(objection=objection, user=user)
    return _("The hearing is recorded as waived.")


def _decide(objection: Objection, user, data: dict) -> str:
    objection = objections.decide_objection(
        objection=objection, user=user, outcome=data["outcome"], reason=data["reason"], amount=data["amount"]
    )
    return _("Decided: %(outcome)s.") % {"outcome": objection.get_outcome_display()}


@dataclass(frozen=True)
class Step:
    """One step on an open objection: its form and the service call that takes it, returning what to report."""

    title: Promise
    explanation: Promise
    form: type[forms.Form]
    take: Callable[[Objection, User, dict], str]
    # Deciding can grant money: like every confirmation that moves money, it asks for the password again first.
    reauthenticate: bool = False


STEPS: dict[str, Step] = {
    "handler": Step(
        gettext_lazy("Assign a handler"),
        gettext_lazy("The handler hears the objector and prepares the decision on objection."),
        HandlerForm,
        _assign,
    ),
    "excuse": Step(
        gettext_lazy("Excuse the lateness"),
        gettext_lazy(
            "The objection was received after its term. Excuse it when the objector cannot reasonably be blamed "
            "(Awb 6:11); the objection is then handled as if it were in time."
        ),
        ConfirmForm,
        _excuse,
    ),
    "extend": Step(
        gettext_lazy("Postpone the decision"),
        gettext_lazy("Once, by at most six weeks, before the deadline has passed (Awb 7:10 lid 3)."),
        ExtendForm,
        _extend,
    ),
    "hearing": Step(
        gettext_lazy("Plan the hearing"),
        gettext_lazy("The objector is invited by letter (Awb 7:2); planning again sends a new invitation."),
        HearingForm,
        _plan_hearing,
    ),
    "waive": Step(
        gettext_lazy("Record that the hearing is waived"),
        gettext_lazy(
            "For example because the objector waived being heard (Awb 7:3). State why in the reasons of the "
            "decision on objection."
        ),
        ConfirmForm,
        _waive,
    ),
    "decide": Step(
        gettext_lazy("Decide on the objection"),
        gettext_lazy(
            "A (partly) founded objection replaces the decision in force by a decision on objection with the "
            "amount given; granting more than the decision in force needs an approver. What the ceiling cannot "
            "cover is recorded as over-commitment. Every outcome but a withdrawal is sent by letter."
        ),
        DecideForm,
        _decide,
        reauthenticate=True,
    ),
}


# --- objections -----------------------------------------------------------------------------------------


class StateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("open")), ("overdue", _("overdue")), ("decided", _("decided"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(objections.OPEN)
        if self.value() == "overdue":
            return queryset.filter(objections.overdue(today=timezone.localdate()))
        if self.value() == "decided":
            return queryset.exclude(objections.OPEN)
        return queryset


def letter_links(letter: Letter) -> str:
    return format_html(
        '<a href="{}">PDF</a> · <a href="{}">HTML</a>',
        reverse("admin:allocation_letter_download", args=[letter.pk, "pdf"]),
        reverse("admin:allocation_letter_download", args=[letter.pk, "html"]),
    )


class LetterInline(ReadOnlyInline):
    model = Letter
    fields = ("kind", "issued", "issued_by", "files")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issued_by")

    @admin.display(description=gettext_lazy("issued at"))
    def issued(self, letter: Letter) -> str:
        return amsterdam_time(letter.issued_at)

    @admin.display(description=gettext_lazy("letter"))
    def files(self, letter: Letter) -> str:
        return letter_links(letter)


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ("reference", "municipality", "received_on", "in_time", "handler", "deadline", "outcome")
    list_filter = (StateFilter, "outcome", "contested__application__tranche")
    search_fields = ("contested__application__reference", "contested__application__municipality__name")
    fields = (
        "reference",
        "municipality",
        "contested",
        "received_on",
        "term_ends_on",
        "in_time",
        "lateness_excused",
        "grounds",
        "handler",
        "decide_by",
        "extended_to",
        "extension_reason",
        "hearing",
        "hearing_waived",
        "outcome",
        "outcome_reason",
        "decided_on",
        "decided_by",
        "revised_decision",
        "registered_by",
        "registered",
    )
    readonly_fields = fields
    inlines = (LetterInline,)
    change_form_template = "admin/allocation/objection/change_form.html"
    change_list_template = "admin/allocation/objection/change_list.html"

    def get_queryset(self, request):
        return objections.objections_visible_to(user=request.user).select_related("decided_by", "registered_by")

    def has_handle_permission(self, request) -> bool:
        return request.user.is_staff and permissions.can_handle_objections(request.user)[0]

    def get_urls(self):
        steps = [
            path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(
                    reauthentication_required(self.step_view) if step.reauthenticate else self.step_view
                ),
                {"step": name},
                name=f"allocation_objection_{name}",
            )
            for name, step in STEPS.items()
        ]
        register = path(
            "register/", self.admin_site.admin_view(self.register_view), name="allocation_objection_register"
        )
        return [register, *steps, *super().get_urls()]

    def _context(self, request, **extra) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "media": self.media, **extra}

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.is_open and self.has_handle_permission(request):
            late = not (obj.filed_in_time or obj.lateness_excused)
            context["steps"] = [(name, step.title) for name, step in STEPS.items() if name != "excuse" or late]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request, extra_context=None):
        extra = {"may_register": self.has_handle_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def register_view(self, request):
        """Record the dispatch date of a decision, or register an objection against the decision in force."""
        if not (self.has_view_permission(request) and self.has_handle_permission(request)):
            raise PermissionDenied
        action = request.POST.get("action") if request.method == "POST" else None
        forms_by_action = {
            "dispatch": DispatchForm(request.POST if action == "dispatch" else None, prefix="dispatch"),
            "register": RegisterForm(request.POST if action == "register" else None, prefix="register"),
        }
        form = forms_by_action.get(action)
        if form is not None and form.is_valid():
            data = form.cleaned_data
            try:
                decision = _decision_in_force(data["reference"])
                if action == "dispatch":
                    objections.record_dispatch(
                        decision=decision, user=request.user, dispatched_on=data["dispatched_on"]
                    )
                    self.message_user(request, _("Dispatch date recorded."), messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
                objection = objections.register_objection(
                    decision=decision,
                    user=request.user,
                    received_on=data["received_on"],
                    grounds=data["grounds"],
                    handler=data["handler"],
                    lateness_excused=data["lateness_excused"],
                )
            except (PermissionDenied, ValidationError) as error:
                _show_error(form, error)
            else:
                self.message_user(
                    request, _("Objection registered; the acknowledgement has been issued."), messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:allocation_objection_change", args=[objection.pk]))
        context = self._context(
            request,
            title=_("Register an objection"),
            dispatch_form=forms_by_action["dispatch"],
            register_form=forms_by_action["register"],
        )
        return TemplateResponse(request, "admin/allocation/objection/register.html", context)

    def step_view(self, request, object_id: str, step: str):
        objection = self.get_object(request, unquote(object_id))
        if objection is None:
            raise Http404
        if not self.has_handle_permission(request):
            raise PermissionDenied
        taken = STEPS[step]
        form = taken.form(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                done = taken.take(objection, request.user, form.cleaned_data)
            except (PermissionDenied, ValidationError) as error:
                _show_error(form, error)
            else:
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:allocation_objection_change", args=[objection.pk]))
        context = self._context(
            request, title=taken.title, explanation=taken.explanation, form=form, original=objection
        )
        return TemplateResponse(request, "admin/allocation/objection/step.html", context)

    @admin.display(description=gettext_lazy("receipt number"), ordering="contested__application__reference")
    def reference(self, objection: Objection) -> str:
        return objection.contested.application.reference

    @admin.display(description=gettext_lazy("municipality"), ordering="contested__application__municipality__name")
    def municipality(self, objection: Objection) -> str:
        return objection.contested.application.municipality.name

    @admin.display(description=gettext_lazy("filed in time"), boolean=True, ordering="filed_in_time")
    def in_time(self, objection: Objection) -> bool:
        return objection.filed_in_time

    @admin.display(description=gettext_lazy("decide by"), ordering="deadline_on")
    def deadline(self, objection: Objection):
        return objection.deadline

    @admin.display(description=gettext_lazy("hearing at"))
    def hearing(self, objection: Objection) -> str:
        return amsterdam_time(objection.hearing_at)

    @admin.display(description=gettext_lazy("registered at"))
    def registered(self, objection: Objection) -> str:
        return amsterdam_time(objection.registered_at)


# --- letters --------------------------------------------------------------------------------------------

LETTER_FORMATS = {"pdf": ("pdf", "application/pdf"), "html": ("html", "text/html; charset=utf-8")}


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdmin):
    list_display = ("application", "kind", "issued", "issued_by", "files")
    list_filter = ("kind",)
    search_fields = ("application__reference", "application__municipality__name")
    fields = ("application", "kind", "objection", "issued", "issued_by", "files")
    readonly_fields = fields

    def get_queryset(self, request):
        return objections.letters_visible_to(user=request.user)

    def get_urls(self):
        download = path(
            "<path:object_id>/<str:file_format>/download/",
            self.admin_site.admin_view(self.download_view),
            name="allocation_letter_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request, object_id: str, file_format: str):
        letter = self.get_object(request, unquote(object_id))
        if letter is None or file_format not in LETTER_FORMATS or not self.has_view_permission(request, letter):
            raise Http404
        if not letter.pdf:
            objections.generate_letter_pdf(letter_id=letter.pk)
            letter.refresh_from_db(fields=["pdf"])
        field_name, content_type = LETTER_FORMATS[file_format]
        record_audit(action=AuditAction.DOWNLOAD, request=request, target=letter, detail=f"letter ({file_format})")
        return FileResponse(
            getattr(letter, field_name).open("rb"),
            content_type=content_type,
            as_attachment=file_format == "pdf",
            filename=objections.letter_file_name(letter, file_format),
        )

    @admin.display(description=gettext_lazy("issued at"), ordering="issued_at")
    def issued(self, letter: Letter) -> str:
        return amsterdam_time(letter.issued_at)

    @admin.display(description=gettext_lazy("letter"))
    def files(self, letter: Letter) -> str:
        return letter_links(letter)
