"""The municipal portal. Each view parses the request, calls a selector or a service and renders.

Every application is found through applications.selectors, so another municipality's application is a 404;
what a user may do is asked of applications.permissions, and the services check it again.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AuditAction
from accounts.services import record_audit
from grants.models import HousingType, Tranche
from grants.selectors import open_tranches

from . import permissions, receipt_document, selectors, services, submission, worklist
from .case_file import case_file
from .forms import (
    ApplicationForm,
    AttachmentForm,
    DeclarationForm,
    InformationReplyForm,
    UnitLineFormSet,
    WithdrawForm,
    add_service_errors,
    initial_unit_lines,
)
from .middleware import arrival_instant
from .models import DECIDED_STATUSES, Application, Attachment, Permanence, Status
from .uploads import SizeLimitUploadHandler, too_large_message

HOME_APPLICATIONS = 10
LIST_PAGE_SIZE = 25
UNIT_LINES_PREFIX = "lines"


def _require(verdict: permissions.Verdict) -> None:
    allowed, reason = verdict
    if not allowed:
        raise PermissionDenied(reason)


def _visible_application(user, public_id) -> Application:
    try:
        return selectors.application_for_detail(user=user, public_id=public_id)
    except Application.DoesNotExist:
        raise Http404(_("No application found.")) from None


def _visible_attachment(user, public_id, attachment_id: int) -> Attachment:
    try:
        return selectors.attachment_visible_to(user=user, public_id=public_id, attachment_id=attachment_id)
    except Attachment.DoesNotExist:
        raise Http404(_("No attachment found.")) from None


def _detail_url(application: Application, anchor: str = "") -> str:
    url = reverse("portal:application_detail", args=[application.public_id])
    return f"{url}#{anchor}" if anchor else url


@login_required
def home(request):
    """The portal's home, for municipalities; staff land on their own pages after logging in."""
    user = request.user
    if user.is_ministry:
        return redirect("ministry:dashboard")
    if user.is_agency:
        return redirect("admin:index")
    now = timezone.now()
    applications = selectors.applications_with_totals(user=user)[:HOME_APPLICATIONS] if user.is_municipal else []
    return render(
        request,
        "portal/home.html",
        {
            "now": now,
            "tranches": [
                {"tranche": tranche, "closes_at": tranche.closes_at_in_force(now), "ceiling": tranche.ceiling_at(now)}
                for tranche in open_tranches(now)
            ],
            "upcoming": Tranche.objects.filter(opens_at__gt=now).order_by("opens_at"),
            "applications": applications,
            "may_apply": permissions.can_apply(user)[0],
            "tasks": worklist.tasks_for(user=user, now=now),
        },
    )


@login_required
def application_list(request):
    applications = selectors.applications_with_totals(user=request.user)
    page = Paginator(applications, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/application_list.html", {"page": page, "applications": page.object_list})


@login_required
def application_create(request, slug: str):
    _require(permissions.can_apply(request.user))
    # Drafts are made from the announcement on, so that they can be confirmed as ready before the opening.
    tranche = Tranche.objects.filter(slug=slug, opens_at__gt=timezone.now()).first() or next(
        (tranche for tranche in open_tranches() if tranche.slug == slug), None
    )
    if tranche is None:
        raise Http404(_("This tranche does not take applications now."))
    form = ApplicationForm(request.POST or None, windows=tranche.windows.all())
    if request.method == "POST" and form.is_valid():
        try:
            application = services.create_application(user=request.user, tranche=tranche, **form.changes())
        except ValidationError as error:
            add_service_errors(error, form=form)
        else:
            messages.success(request, _("Your draft has been saved. Now add the unit lines."))
            return redirect("portal:application_edit", public_id=application.public_id)
    return render(request, "portal/application_create.html", {"tranche": tranche, "form": form})


def _unit_line_rules(tranche: Tranche, windows) -> dict:
    """What the live totals on the edit page need: the maximum per unit by housing type and permanence."""
    return {
        "maxima": {
            str(housing_type.pk): {
                permanence: tranche.max_per_unit(permanence=permanence, housing_type=housing_type)
                for permanence in Permanence.values
            }
            for housing_type in HousingType.objects.all()
        },
        "windows": {
            str(window.pk): [[group.pk, group.name] for group in window.eligible_target_groups.all()]
            for window in windows
        },
    }


@login_required
def application_edit(request, public_id):
    application = _visible_application(request.user, public_id)
    _require(permissions.can_edit(request.user, application))
    windows = application.tranche.windows.prefetch_related("eligible_target_groups")
    if request.method == "POST":
        form = ApplicationForm(request.POST, windows=windows)
        form_is_valid = form.is_valid()
        window = form.selected_window() or application.window
        formset = UnitLineFormSet(
            request.POST,
            prefix=UNIT_LINES_PREFIX,
            form_kwargs={"target_groups": window.eligible_target_groups.all()},
        )
        if form_is_valid and formset.is_valid():
            try:
                services.save_draft(
                    application=application, user=request.user, lines=formset.unit_lines(), **form.changes()
                )
            except ValidationError as error:
                add_service_errors(error, form=form, line_forms=formset.filled_forms())
            else:
                messages.success(request, _("Your changes have been saved."))
                return redirect(_detail_url(application))
    else:
        form = ApplicationForm(
            windows=windows,
            initial={
                "window": application.window_id,
                "project_name": application.project_name,
                "location": application.location,
                "description": application.description,
                "planned_start": application.planned_start,
                "planned_completion": application.planned_completion,
            },
        )
        formset = UnitLineFormSet(
            prefix=UNIT_LINES_PREFIX,
            initial=initial_unit_lines(application),
            form_kwargs={"target_groups": application.window.eligible_target_groups.all()},
        )
    return render(
        request,
        "portal/application_edit.html",
        {
            "application": application,
            "form": form,
            "formset": formset,
            "unit_line_rules": _unit_line_rules(application.tranche, windows),
        },
    )


def _decision_in_force(application: Application, entries) -> object | None:
    """The latest decision with its letter, for the top of a decided application's page.

    Of the case file's entries only decisions have both a day and downloads (an objection has a day and no
    download, a letter and the later stages' entries no day), so the last of them is the decision that stands.
    """
    if application.status not in DECIDED_STATUSES:
        return None
    return next((entry for entry in reversed(entries) if entry.day and entry.downloads), None)


def _detail_context(
    request,
    application: Application,
    *,
    attachment_form: AttachmentForm | None = None,
    reply_form: InformationReplyForm | None = None,
) -> dict:
    user = request.user
    lines = list(application.unit_lines.all())
    status_changes = list(application.status_changes.all())
    may_edit = permissions.can_edit(user, application)[0]
    may_send = may_edit and permissions.can_submit(user, application)[0]
    information_request = None
    if application.status == Status.INFORMATION_REQUESTED:
        information_request = next(
            (request for request in application.information_requests.all() if request.answered_at is None), None
        )
    entries = case_file(application, user)
    return {
        "application": application,
        "lines": lines,
        "units_total": sum(line.units for line in lines),
        "amount_total": sum((line.requested_amount for line in lines), Decimal("0")),
        "attachments": application.attachments.all(),
        "status_changes": status_changes,
        "information_request": information_request,
        "ranking": selectors.ranking_derivation(application),
        "may_edit": may_edit,
        "may_withdraw": application.is_withdrawable and permissions.can_withdraw(user, application)[0],
        "attachment_form": attachment_form or (AttachmentForm() if may_edit else None),
        "may_send": may_send,
        "may_ask_signatory": permissions.can_ask_signatory(user, application)[0],
        "reply_form": reply_form or (InformationReplyForm() if information_request and may_send else None),
        "case_file": entries,
        "decision": _decision_in_force(application, entries),
    }


@login_required
def application_detail(request, public_id):
    application = _visible_application(request.user, public_id)
    return render(request, "portal/application_detail.html", _detail_context(request, application))


@csrf_exempt
@login_required
@require_POST
def attachment_upload(request, public_id):
    # The size limit must be in place before anything reads the body, and the CSRF check reads it: that check
    # follows in _attachment_upload, with the limit installed.
    limit = SizeLimitUploadHandler(request, limit=settings.ATTACHMENT_MAX_BYTES)
    request.upload_handlers.insert(0, limit)
    return _attachment_upload(request, public_id, limit)


@csrf_protect
def _attachment_upload(request, public_id, limit: SizeLimitUploadHandler):
    application = _visible_application(request.user, public_id)
    _require(permissions.can_edit(request.user, application))
    form = AttachmentForm(request.POST, request.FILES, refusal=too_large_message() if limit.exceeded else "")
    if form.is_valid():
        try:
            attachment = services.add_attachment(
                application=application,
                user=request.user,
                kind=form.cleaned_data["kind"],
                uploaded_file=form.cleaned_data["file"],
            )
        except ValidationError as error:
            add_service_errors(error, form=form)
        else:
            messages.success(request, _("%(name)s has been added.") % {"name": attachment.original_name})
            return redirect(_detail_url(application, "attachments"))
    context = _detail_context(request, application, attachment_form=form)
    return render(request, "portal/application_detail.html", context)


@login_required
def attachment_download(request, public_id, attachment_id: int):
    attachment = _visible_attachment(request.user, public_id, attachment_id)
    record_audit(action=AuditAction.DOWNLOAD, request=request, target=attachment, detail=attachment.original_name)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    # A municipality's documents stay out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def attachment_delete(request, public_id, attachment_id: int):
    """Removing a document asks first: a GET, or a POST without the confirmation, shows what would go."""
    attachment = _visible_attachment(request.user, public_id, attachment_id)
    _require(permissions.can_edit(request.user, attachment.application))
    if request.method != "POST" or "confirm" not in request.POST:
        return render(request, "portal/attachment_delete.html", {"attachment": attachment})
    services.delete_attachment(attachment=attachment, user=request.user)
    messages.success(request, _("%(name)s has been removed.") % {"name": attachment.original_name})
    return redirect(_detail_url(attachment.application, "attachments"))


def _countdown(seconds: float) -> str:
    """Hours, minutes and seconds until a moment, as static/js/opening.js writes them too: 26:04:09."""
    hours, rest = divmod(max(0, math.ceil(seconds)), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _opening(tranche: Tranche, now) -> dict:
    return {
        "now": now,
        "opens_at": tranche.opens_at,
        "has_opened": tranche.has_opened(now),
        "countdown": _countdown((tranche.opens_at - now).total_seconds()),
    }


def _declaration_form(request, application: Application) -> DeclarationForm:
    return DeclarationForm(
        request.POST if request.method == "POST" else None, municipality=application.municipality.name
    )


def _submit_page(
    request,
    application: Application,
    *,
    problems: list[str],
    status: int = 200,
    declaration_form: DeclarationForm | None = None,
    reply_form: InformationReplyForm | None = None,
):
    """The check-your-answers page: every answer with a link to change it, what stands in the way, and the
    signatory's declaration; once confirmed as ready, the submit button at the opening."""
    now = timezone.now()
    may_submit, reason = permissions.can_submit(request.user, application)
    lines = list(application.unit_lines.all())
    resubmission = application.status == Status.INFORMATION_REQUESTED
    context = {
        "application": application,
        "lines": lines,
        "units_total": sum(line.units for line in lines),
        "amount_total": sum((line.requested_amount for line in lines), Decimal("0")),
        "attachments": application.attachments.all(),
        "resubmission": resubmission,
        "problems": problems,
        "may_submit": may_submit,
        "refusal_reason": reason,
        "can_be_sent": application.is_editable and not problems,
        # A ready state confirmed without the declaration (through the API) is declared on this page first.
        "ready": application.is_ready and application.declared_at is not None,
        "declaration_form": declaration_form or _declaration_form(request, application),
        "reply_form": reply_form or (InformationReplyForm() if resubmission else None),
        "may_ask_signatory": permissions.can_ask_signatory(request.user, application)[0],
        **_opening(application.tranche, now),
    }
    return render(request, "portal/application_submit.html", context, status=status)


def _received_url(application: Application) -> str:
    return reverse("portal:application_received", args=[application.public_id])


@login_required
def application_submit(request, public_id):
    """Check the answers and submit a draft, or send back an application for which information was requested.

    A POST with the key of a ready state is the submission at the opening (submission.submit_ready); without it,
    the signatory declares, and the draft is checked in full as it is submitted.
    """
    if request.method == "POST" and request.POST.get("key"):
        return _submit_ready(request, public_id)
    application = _visible_application(request.user, public_id)
    resubmission = application.status == Status.INFORMATION_REQUESTED
    if request.method == "POST":
        return _send(request, application, resubmission=resubmission)
    if resubmission:
        problems = services.content_errors(application)
    elif application.status != Status.DRAFT:
        problems = submission.already_submitted(application).messages
    elif application.ready_hash:
        # Checked in full when it was confirmed, and any edit since would have cleared it.
        problems = submission.closing_errors(application.tranche, now=timezone.now())
    else:
        problems = submission.readiness_errors(application, now=timezone.now())
    return _submit_page(request, application, problems=problems)


def _send(request, application: Application, *, resubmission: bool):
    if resubmission:
        reply_form = InformationReplyForm(request.POST)
        if not reply_form.is_valid():
            return _submit_page(request, application, problems=[], reply_form=reply_form)
        try:
            services.resubmit_application(
                application=application, user=request.user, reply=reply_form.cleaned_data["reply"]
            )
        except submission.Refusal as refusal:
            return _submit_page(request, application, problems=refusal.messages, status=refusal.http_status)
        except ValidationError as error:
            return _submit_page(request, application, problems=error.messages, reply_form=reply_form)
        messages.success(request, _("The requested information has been sent."))
        return redirect(_detail_url(application))
    arrived_at = arrival_instant(request)
    declaration_form = _declaration_form(request, application)
    if application.status == Status.DRAFT and not declaration_form.is_valid():
        _require(permissions.can_submit(request.user, application))
        return _submit_page(request, application, problems=[], declaration_form=declaration_form)
    try:
        application = services.submit_application(
            application=application, user=request.user, now=arrived_at, declaration=declaration_form.declared_text()
        )
    except submission.Refusal as refusal:
        return _submit_page(request, application, problems=refusal.messages, status=refusal.http_status)
    except ValidationError as error:
        return _submit_page(request, application, problems=error.messages)
    messages.success(request, submission.receipt_message(application))
    return redirect(_received_url(application))


def _submit_ready(request, public_id):
    try:
        receipt = submission.submit_ready(
            user=request.user, public_id=public_id, key=request.POST["key"], arrived_at=arrival_instant(request)
        )
    except Application.DoesNotExist:
        raise Http404(_("No application found.")) from None
    except submission.Refusal as refusal:
        application = _visible_application(request.user, public_id)
        return _submit_page(request, application, problems=refusal.messages, status=refusal.http_status)
    messages.success(request, submission.receipt_message(receipt.application))
    return redirect("portal:application_received", public_id=public_id)


@login_required
@require_POST
def application_ready(request, public_id):
    """The signatory checks the answers, declares, and confirms the content as ready to submit at the opening."""
    application = _visible_application(request.user, public_id)
    _require(permissions.can_submit(request.user, application))
    declaration_form = _declaration_form(request, application)
    if not declaration_form.is_valid():
        problems = submission.readiness_errors(application, now=timezone.now()) if application.is_editable else []
        return _submit_page(request, application, problems=problems, declaration_form=declaration_form)
    try:
        submission.confirm_ready(
            application=application, user=request.user, declaration=declaration_form.declared_text()
        )
    except submission.Refusal as refusal:
        return _submit_page(request, application, problems=refusal.messages, status=refusal.http_status)
    messages.success(request, _("The content has been confirmed as ready to submit."))
    return redirect("portal:application_submit", public_id=public_id)


def _received_application(user, public_id) -> Application:
    application = _visible_application(user, public_id)
    if application.received_at is None:
        raise Http404(_("This application has not been received yet."))
    return application


@login_required
def application_received(request, public_id):
    """After submitting: the receipt, the content hash, the receipt as PDF, and what happens next."""
    application = _received_application(request.user, public_id)
    return render(request, "portal/application_received.html", receipt_document.receipt_context(application))


@login_required
def application_receipt_pdf(request, public_id):
    application = _received_application(request.user, public_id)
    record_audit(action=AuditAction.DOWNLOAD, request=request, target=application, detail="receipt")
    response = HttpResponse(receipt_document.receipt_pdf(application), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="ontvangstbevestiging-{application.reference}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def application_ask_signatory(request, public_id):
    """An editor asks the municipality's signatories to submit, or send back, the application."""
    application = _visible_application(request.user, public_id)
    _require(permissions.can_ask_signatory(request.user, application))
    if services.ask_signatory(application=application, user=request.user):
        messages.success(request, _("The signatories of your municipality have been asked to submit."))
    else:
        messages.info(request, _("The signatories have already been asked; they see it as a task."))
    return redirect(_detail_url(application))


@login_required
def tranche_detail(request, slug: str):
    """A tranche as a municipality prepares for it: its moments, the countdown, and its own applications."""
    tranche = get_object_or_404(Tranche.objects.prefetch_related("amendments"), slug=slug)
    now = timezone.now()
    user = request.user
    applications = (
        selectors.applications_with_totals(user=user).filter(tranche=tranche).order_by("created_at", "pk")
        if user.is_municipal
        else []
    )
    rows = [
        {
            "application": application,
            "ready": application.is_ready,
            "may_submit": permissions.can_submit(user, application)[0],
            "received_at": (
                submission.format_receipt_instant(application.received_at) if application.received_at else ""
            ),
        }
        for application in applications
    ]
    closes_at = tranche.closes_at_in_force(now)
    return render(
        request,
        "portal/tranche_detail.html",
        {
            "tranche": tranche,
            "closes_at": closes_at,
            "is_closed": now >= closes_at,
            "rows": rows,
            "may_apply": permissions.can_apply(user)[0] and now < closes_at,
            **_opening(tranche, now),
        },
    )


@never_cache
@require_GET
def server_time(request):
    """The server's clock, for the countdown to an opening (static/js/opening.js)."""
    now = timezone.now()
    return JsonResponse({"now": now.isoformat(), "epoch_ms": int(now.timestamp() * 1000)})


@login_required
def application_withdraw(request, public_id):
    application = _visible_application(request.user, public_id)
    _require(permissions.can_withdraw(request.user, application))
    if not application.is_withdrawable:
        raise PermissionDenied(_("Only a submitted application without a decision can be withdrawn."))
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_application(
                application=application, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(error, form=form)
        else:
            messages.success(request, _("The application has been withdrawn."))
            return redirect(_detail_url(application))
    return render(request, "portal/application_withdraw.html", {"application": application, "form": form})
