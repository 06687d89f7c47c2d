"""Downloads of decision letters and the other letters on a case: the municipality its own, agency staff all.

And the portal page on which a municipality's signatory waives (part of) a grant.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from applications.forms import EuroField, NldsForm, add_service_errors
from applications.selectors import applications_visible_to
from applications.validators import validate_multiline_text

from . import permissions
from .budget import is_settled
from .case_file import letters_visible_to
from .decision_letters import generate_decision_letter
from .selectors import current_decision, decisions_visible_to
from .waivers import waive_grant as waive

LETTER_FORMATS = {"pdf": ("letter_pdf", "application/pdf"), "html": ("letter_html", "text/html; charset=utf-8")}


@login_required
def decision_letter(request, public_id, file_format: str):
    decision = get_object_or_404(decisions_visible_to(user=request.user), public_id=public_id)
    field_name, content_type = LETTER_FORMATS[file_format]
    if not decision.letter_pdf:
        generate_decision_letter(decision_id=decision.pk)
        decision.refresh_from_db(fields=["letter_html", "letter_pdf"])
    letter = getattr(decision, field_name)
    detail = f"decision letter ({file_format})"
    record_audit(action=AuditAction.DOWNLOAD, request=request, target=decision, detail=detail)
    return FileResponse(
        letter.open("rb"),
        content_type=content_type,
        as_attachment=file_format == "pdf",
        filename=f"beschikking-{decision.application.reference}.{file_format}",
    )


@login_required
def case_letter(request, public_id, file_format: str):
    """A letter on the case besides the decision letters; one kept without a PDF has only its HTML."""
    letters = letters_visible_to(user=request.user)
    if file_format == "pdf":
        letters = letters.exclude(pdf="")
    letter = get_object_or_404(letters, public_id=public_id)
    stored = getattr(letter, file_format)
    record_audit(action=AuditAction.DOWNLOAD, request=request, target=letter, detail=f"letter ({file_format})")
    response = FileResponse(
        stored.open("rb"),
        content_type=LETTER_FORMATS[file_format][1],
        as_attachment=file_format == "pdf",
        filename=stored.name.rpartition("/")[2],
    )
    # A municipality's letters stay out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


class WaiverForm(NldsForm):
    amount_after = EuroField(
        label=gettext_lazy("New amount of the grant, in euros"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy("Enter 0 to give up the whole grant."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why does the municipality give up (part of) the grant?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[validate_multiline_text],
    )


@login_required
def waive_grant(request, public_id):
    """A signatory waives (part of) the grant in force: it is lowered at once, by a new decision."""
    application = get_object_or_404(applications_visible_to(user=request.user), public_id=public_id)
    enforce(permissions.can_waive_grant(request.user, application))
    in_force = current_decision(application=application)
    if in_force is None or not in_force.is_grant:
        raise PermissionDenied(_("This application has no grant in force."))
    if is_settled(application=application):
        raise PermissionDenied(_("This grant has been settled and can no longer be lowered."))
    form = WaiverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            waive(application=application, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form=form)
        else:
            messages.success(request, _("The grant has been lowered. You will receive the decision by letter."))
            return redirect("portal:application_detail", public_id=application.public_id)
    return render(
        request, "portal/decisions/waiver.html", {"application": application, "grant": in_force, "form": form}
    )
