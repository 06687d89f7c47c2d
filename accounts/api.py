"""What every stage's API shares: one shape for every error, service errors as field errors, lookups by public id;
and the endpoints on which a user manages their own tokens (docs/api.md). Authentication, throttles and pages are in
accounts.authentication.

Each stage keeps its own endpoints in its api module; config/urls.py mounts them all under /api/v1/.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from . import openapi  # noqa: F401  (registers the token scheme with drf-spectacular)
from .authentication import TokenRefused
from .idempotency import IDEMPOTENCY_HEADER
from .models import ApiToken
from .tokens import DEFAULT_DAYS, MAX_DAYS, issue_api_token, revoke_api_token

# --- errors ---------------------------------------------------------------------------------------------


def _flatten(detail, path: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """DRF's nested errors as {"unit_lines.1.units": [...]}; errors not on a field under non_field_errors."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, (*path, str(key))))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, (*path, str(index))))
        return flat
    messages = [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]
    return {".".join(path) or api_settings.NON_FIELD_ERRORS_KEY: messages} if messages else {}


def field_errors(error: DjangoValidationError, rename: Callable[[str], str] = str) -> dict[str, list[str]]:
    """A service's ValidationError by field, its keys renamed to the names the request used."""
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
    errors: dict[str, list[str]] = {}
    for key, messages in error.message_dict.items():
        name = api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else rename(key)
        errors.setdefault(name, []).extend(messages)
    return errors


@contextmanager
def service_errors(rename: Callable[[str], str] = str) -> Iterator[None]:
    """Turn a service's ValidationError into field errors named as in the request (see field_errors)."""
    try:
        yield
    except DjangoValidationError as error:
        raise exceptions.ValidationError(field_errors(error, rename)) from None


def exception_handler(exc, context):
    """Every error as {"detail", "code", "errors"}: errors by field for a 400, empty otherwise.

    A service's django ValidationError is a 400 and its PermissionDenied a 403 with the service's reason, so the API
    says what the web forms say.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(field_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": _("The request is not valid; see errors."),
            "code": "invalid",
            "errors": _flatten(exc.detail),
        }
        return response
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
    response.data = {
        "detail": str(detail),
        "code": getattr(detail, "code", None) or getattr(exc, "default_code", "error"),
        "errors": {},
    }
    if isinstance(exc, TokenRefused):
        # DRF answers 403 when the first authenticator (the session) names no scheme; a bad token is a 401.
        response.status_code = status.HTTP_401_UNAUTHORIZED
        response["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    return response


# --- addresses -----------------------------------------------------------------------------------------


def api_urls(*stage_apis) -> list:
    """URL patterns for the endpoints every given api module names in its ROUTES, with an index page of them.

    Without DRF's format suffixes (…/letter.json): every answer is JSON or a file already, and an action given a
    suffix would be called with an argument it does not take.
    """
    router = DefaultRouter()
    router.include_format_suffixes = False
    for stage_api in stage_apis:
        for prefix, viewset, basename in stage_api.ROUTES:
            router.register(prefix, viewset, basename=basename)
    return router.urls


# --- filters -------------------------------------------------------------------------------------------


class InstantField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        # Compared in UTC: PostgreSQL refuses offsets beyond 15:59, which ISO 8601 allows.
        try:
            return instant.astimezone(UTC)
        except OverflowError:
            raise DjangoValidationError(_("Enter an instant between the years 1 and 9999."), code="invalid") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An instant in ISO 8601 with its offset, e.g. 2026-11-02T10:15:00+01:00."""

    field_class = InstantField


# --- lookups ---------------------------------------------------------------------------------------------


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class PublicIdLookup:
    """For a viewset whose objects are addressed by their public id: anything but a UUID is simply not found."""

    lookup_field = "public_id"

    def get_object(self):
        if not is_uuid(self.kwargs[self.lookup_field]):
            raise exceptions.NotFound()
        return super().get_object()


# --- the owner's tokens ---------------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField(help_text="Neither expired nor revoked.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "active"]
        read_only_fields = fields

    def get_active(self, token: ApiToken) -> bool:
        return token.revoked_at is None and token.expires_at > timezone.now()


class IssueTokenSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="What the token is for, e.g. the system that will use it.")
    days = serializers.IntegerField(
        min_value=1, max_value=MAX_DAYS, default=DEFAULT_DAYS, help_text="How many days the token is valid."
    )


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The token itself. It is shown only now: store it safely.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(method="filter_active", label="Neither expired nor revoked.")

    class Meta:
        model = ApiToken
        fields = ["active"]

    def filter_active(self, queryset, name, value):
        usable = ApiToken.objects.usable().values("pk")
        return queryset.filter(pk__in=usable) if value else queryset.exclude(pk__in=usable)


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Your own API tokens: list them, issue one (from a logged-in browser session only) and revoke one."""

    serializer_class = ApiTokenSerializer
    filterset_class = ApiTokenFilter
    queryset = ApiToken.objects.none()

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(request=IssueTokenSerializer, responses={201: IssuedTokenSerializer})
    def create(self, request, *args, **kwargs):
        """Issue a token. Only from a logged-in browser session (for staff: after their second factor)."""
        if not isinstance(request.successful_authenticator, SessionAuthentication):
            raise exceptions.PermissionDenied(
                _("A token is issued from a logged-in browser session, not with a token.")
            )
        if IDEMPOTENCY_HEADER in request.headers:
            # A repeat would have to return the token again, and it is never stored.
            raise exceptions.ValidationError(
                {IDEMPOTENCY_HEADER: [_("Issuing a token takes no Idempotency-Key; revoke a token issued twice.")]}
            )
        form = IssueTokenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        with service_errors():
            token, key = issue_api_token(user=request.user, request=request._request, **form.validated_data)
        token.token = key
        return Response(IssuedTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        """Revoke a token: it stops working at once."""
        revoke_api_token(token=self.get_object(), user=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


ROUTES = [("tokens", ApiTokenViewSet, "token")]
