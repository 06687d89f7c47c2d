"""The API for applications (docs/api.md): a municipality's systems draft, edit, submit and withdraw its own;
agency tooling reads every submitted application and moves it through the assessment.

Each endpoint finds its applications through applications.selectors, so another municipality's application is a
404, and changes them through applications.services, which check who may and answer with the portal's messages.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.api import PublicIdLookup, is_uuid, service_errors
from accounts.idempotency import REPLAYED_HEADER, idempotent
from accounts.models import AuditAction
from accounts.openapi import ErrorSerializer
from accounts.permissions import enforce
from accounts.services import record_audit

from . import permissions, selectors, services, submission
from .filters import ApplicationFilter, AttachmentFilter
from .middleware import arrival_instant
from .models import Application, Attachment, Status
from .serializers import (
    ApplicationCreateSerializer,
    ApplicationInputSerializer,
    ApplicationSerializer,
    ApplicationSummarySerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    ReasonSerializer,
    SubmitSerializer,
)
from .services import ALLOWED_ATTACHMENT_TYPES
from .uploads import SizeLimitUploadHandler, too_large_message


class MunicipalOrAgency(BasePermission):
    message = _("These endpoints are for municipal users and agency staff; the ministry reads the totals.")

    def has_permission(self, request, view) -> bool:
        return request.user.is_municipal or request.user.is_agency


def visible_applications(user):
    """The applications the API shows `user`: its municipality's own, drafts included, or, to agency staff, the
    submitted ones of every municipality. Both with units_total and amount_requested."""
    if user.is_agency:
        return selectors.applications_for_back_office(user=user).order_by("-received_at", "-pk")
    return selectors.applications_with_totals(user=user)


REFUSALS = {
    403: OpenApiResponse(
        ErrorSerializer,
        description="Not logged in or not allowed (detail says why), or refused at this moment: before the opening "
        "(not_open; a submission only) or from the closing on (closed).",
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="Already submitted (already_submitted), or the content or the tranche's rules changed after the "
        "confirmation (changed).",
    ),
    422: OpenApiResponse(
        ErrorSerializer,
        description="The content does not meet the rules yet (incomplete): errors.non_field_errors lists what is "
        "missing. Or an Idempotency-Key used before for another request.",
    ),
}


def refused(refusal: submission.Refusal) -> Response:
    """A refused submission or confirmation with the portal's status code; code names the reason."""
    return Response(
        {
            "detail": " ".join(refusal.messages),
            "code": refusal.reason.value,
            "errors": {api_settings.NON_FIELD_ERRORS_KEY: refusal.messages},
        },
        status=refusal.http_status,
    )


def keyed_by_ready_hash(handler):
    """The submission's idempotency: with a ready hash the hash is the key, and no Idempotency-Key is kept.

    applications.submission.submit_ready returns the first receipt to a repeat of its key, and it runs outside a
    transaction so that the tranche's lock is held within one statement; the Idempotency-Key's transaction would
    hold it until the answer is written. Without a ready hash the Idempotency-Key header counts, as on every POST.
    """
    with_idempotency_key = idempotent(handler)

    @wraps(handler)
    def submit(view, request, *args, **kwargs):
        if isinstance(request.data, dict) and request.data.get("ready_hash"):
            return handler(view, request, *args, **kwargs)
        return with_idempotency_key(view, request, *args, **kwargs)

    submit.idempotent = True
    return submit


def _line_field(key: str) -> str:
    """The services name a unit line's error lines-<index>-<field>; the request calls it unit_lines.<index>.<field>."""
    parts = key.split("-")
    return f"unit_lines.{parts[1]}.{parts[2]}" if len(parts) == 3 and parts[0] == "lines" else key


@extend_schema_view(
    list=extend_schema(summary="Applications: a municipality's own, or every submitted one for agency staff"),
    retrieve=extend_schema(summary="One application with its unit lines, attachments and history"),
)
class ApplicationViewSet(PublicIdLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, MunicipalOrAgency]
    filterset_class = ApplicationFilter
    queryset = Application.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        applications = visible_applications(self.request.user)
        if self.action == "list":
            return applications.select_related("municipality", "tranche", "window")
        return applications.prefetch_related(
            "unit_lines__target_group",
            "unit_lines__housing_type",
            "attachments__application",
            "status_changes",
            "information_requests",
        )

    def get_serializer_class(self):
        return ApplicationSummarySerializer if self.action == "list" else ApplicationSerializer

    def _answer(self, application: Application, code: int = status.HTTP_200_OK, headers=None) -> Response:
        application = self.get_queryset().get(pk=application.pk)
        data = ApplicationSerializer(application, context=self.get_serializer_context()).data
        return Response(data, status=code, headers=headers)

    @extend_schema(
        summary="Create a draft, with its unit lines if given",
        request=ApplicationCreateSerializer,
        responses={201: ApplicationSerializer},
    )
    @idempotent
    def create(self, request):
        enforce(permissions.can_apply(request.user))
        form = ApplicationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lines = form.validated_data.get("unit_lines")
        with service_errors(_line_field), transaction.atomic():
            application = services.create_application(
                user=request.user, tranche=form.validated_data["tranche"], **form.changes()
            )
            if lines is not None:
                services.save_unit_lines(application=application, user=request.user, lines=lines)
        return self._answer(application, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a draft, or an application for which information was requested",
        description="Only the fields given change; unit_lines, when given, replaces every unit line.",
        request=ApplicationInputSerializer,
        responses=ApplicationSerializer,
    )
    def partial_update(self, request, public_id=None):
        application = self.get_object()
        enforce(permissions.can_edit(request.user, application))
        form = ApplicationInputSerializer(data=request.data, partial=True, context={"application": application})
        form.is_valid(raise_exception=True)
        lines = form.validated_data.get("unit_lines")
        with service_errors(_line_field):
            if lines is None:
                services.update_application(application=application, user=request.user, **form.changes())
            else:
                services.save_draft(application=application, user=request.user, lines=lines, **form.changes())
        return self._answer(application)

    def _found(self, public_id) -> Application:
        """The application as the submission starts from it: one read, without the answer's unit lines and history."""
        application = (
            visible_applications(self.request.user).filter(public_id=public_id).first() if is_uuid(public_id) else None
        )
        if application is None:
            raise Http404(_("No application found."))
        return application

    @extend_schema(
        summary="Confirm a draft as ready to submit",
        description=(
            "Checks everything the submission checks, except the opening, and freezes the content by its hash: the "
            "answer's ready_hash, which …/submit/ takes as its key. Any later change clears it."
        ),
        request=None,
        responses={200: ApplicationSerializer, **REFUSALS},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def ready(self, request, public_id=None):
        application = self._found(public_id)
        try:
            application = submission.confirm_ready(
                application=application, user=request.user, now=arrival_instant(request)
            )
        except submission.Refusal as refusal:
            return refused(refusal)
        return self._answer(application)

    @extend_schema(
        summary="Submit a draft, or send back the information requested",
        description=(
            "Received at the instant the request arrived. With ready_hash, a draft confirmed as ready is received "
            "as it was confirmed, and a repeat returns the first receipt (Idempotent-Replayed: true); without it, "
            "the draft is checked in full. Refusals answer as the portal does: 403 before the opening or from the "
            "closing on, 409 already submitted or changed since the confirmation, 422 incomplete."
        ),
        request=SubmitSerializer,
        responses={200: ApplicationSerializer, **REFUSALS},
    )
    @action(detail=True, methods=["post"])
    @keyed_by_ready_hash
    def submit(self, request, public_id=None):
        form = SubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        application = self._found(public_id)
        enforce(permissions.can_submit(request.user, application))
        if application.status == Status.INFORMATION_REQUESTED:
            with service_errors():
                services.resubmit_application(application=application, user=request.user)
            return self._answer(application)
        try:
            if key := form.validated_data["ready_hash"]:
                receipt = submission.submit_ready(
                    user=request.user, public_id=public_id, key=key, arrived_at=arrival_instant(request)
                )
                replayed = {REPLAYED_HEADER: "true"} if receipt.repeated else None
                return self._answer(receipt.application, headers=replayed)
            application = submission.submit_draft(
                application=application, user=request.user, arrived_at=arrival_instant(request)
            )
        except submission.Refusal as refusal:
            return refused(refusal)
        return self._answer(application)

    @extend_schema(
        summary="Withdraw a submitted application", request=ReasonSerializer, responses=ApplicationSerializer
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request, public_id=None):
        application = self.get_object()
        enforce(permissions.can_withdraw(request.user, application))
        if not application.is_withdrawable:
            raise PermissionDenied(_("Only a submitted application without a decision can be withdrawn."))
        return self._change(request, application, services.withdraw_application)

    def _change(self, request, application: Application, service, *, with_reason: bool = True) -> Response:
        form = ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        arguments = {"reason": form.validated_data["reason"]} if with_reason else {}
        with service_errors():
            service(application=application, user=request.user, **arguments)
        return self._answer(application)

    @extend_schema(summary="Agency: start the review", request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="start-review")
    @idempotent
    def start_review(self, request, public_id=None):
        return self._change(request, self.get_object(), services.start_review, with_reason=False)

    @extend_schema(
        summary="Agency: ask the municipality to complete the application",
        request=ReasonSerializer,
        responses=ApplicationSerializer,
    )
    @action(detail=True, methods=["post"], url_path="request-information")
    @idempotent
    def request_information(self, request, public_id=None):
        return self._change(request, self.get_object(), services.request_information)

    @extend_schema(summary="Agency: mark eligible", request=ReasonSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="mark-eligible")
    @idempotent
    def mark_eligible(self, request, public_id=None):
        return self._change(request, self.get_object(), services.mark_eligible)

    @extend_schema(summary="Agency: mark ineligible", request=ReasonSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="mark-ineligible")
    @idempotent
    def mark_ineligible(self, request, public_id=None):
        return self._change(request, self.get_object(), services.mark_ineligible)


APPLICATION_ID = OpenApiParameter("application_public_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(summary="The attachments of an application", parameters=[APPLICATION_ID]),
    retrieve=extend_schema(summary="One attachment's details", parameters=[APPLICATION_ID]),
    destroy=extend_schema(summary="Remove an attachment from an editable application", parameters=[APPLICATION_ID]),
)
class AttachmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    permission_classes = [IsAuthenticated, MunicipalOrAgency]
    serializer_class = AttachmentSerializer
    filterset_class = AttachmentFilter
    parser_classes = [MultiPartParser]
    queryset = Attachment.objects.none()
    lookup_value_regex = "[0-9]+"

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: the size limit must be in place while the file streams in.
        self.upload_limit = SizeLimitUploadHandler(request, limit=settings.ATTACHMENT_MAX_BYTES)
        if request.method == "POST":
            request.upload_handlers.insert(0, self.upload_limit)
        return super().initialize_request(request, *args, **kwargs)

    def application(self) -> Application:
        public_id = self.kwargs["application_public_id"]
        application = (
            visible_applications(self.request.user).filter(public_id=public_id).first() if is_uuid(public_id) else None
        )
        if application is None:
            raise Http404(_("No application found."))
        return application

    def get_queryset(self):
        return self.application().attachments.select_related("application").order_by("uploaded_at", "pk")

    @extend_schema(
        summary="Attach a document to an editable application",
        parameters=[APPLICATION_ID],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer},
    )
    @idempotent
    def create(self, request, application_public_id=None):
        application = self.application()
        enforce(permissions.can_edit(request.user, application))
        data = request.data
        # Known once the body has been read: why the file stopped short, said instead of "no file".
        if self.upload_limit.exceeded:
            raise exceptions.ValidationError({"file": [too_large_message()]})
        form = AttachmentUploadSerializer(data=data)
        form.is_valid(raise_exception=True)
        with service_errors():
            attachment = services.add_attachment(
                application=application,
                user=request.user,
                kind=form.validated_data["kind"],
                uploaded_file=form.validated_data["file"],
            )
        return Response(self.get_serializer(attachment).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, application_public_id=None, pk=None):
        services.delete_attachment(attachment=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Download the file",
        parameters=[APPLICATION_ID],
        responses={(200, content_type): OpenApiTypes.BINARY for content_type in ALLOWED_ATTACHMENT_TYPES},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def file(self, request, application_public_id=None, pk=None):
        attachment = self.get_object()
        record_audit(action=AuditAction.DOWNLOAD, request=request._request, actor=request.user, target=attachment)
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )
        # A municipality's documents stay out of shared caches.
        response["Cache-Control"] = "private, no-store"
        return response


ROUTES = [
    ("applications", ApplicationViewSet, "application"),
    (r"applications/(?P<application_public_id>[^/.]+)/attachments", AttachmentViewSet, "attachment"),
]
