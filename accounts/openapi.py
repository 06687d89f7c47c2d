"""The API's schema beyond what drf-spectacular finds itself: the bearer token, the error responses every operation
may give, and the Idempotency-Key header of the POSTs that take one (docs/api.md)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in the language of the request (Accept-Language).")
    code = serializers.CharField(help_text="A fixed code, e.g. invalid, permission_denied, not_found, throttled.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=(
            "For a 400: the messages by field, nested fields joined by dots (unit_lines.0.units); errors not on "
            "one field under non_field_errors. Empty for other errors."
        ),
    )


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    OpenApiParameter.HEADER,
    description=(
        "A new random key (e.g. a UUID) per change. Repeating the request with the same key returns the first "
        "response, with the header Idempotent-Replayed: true, and changes nothing again."
    ),
)

ERRORS = {
    "400": "The request is not valid; errors says why, by field.",
    "401": "The token is unknown, has expired or has been revoked.",
    "403": "Not logged in, or not allowed; detail says why.",
    "404": "Not found, or not yours to see.",
    "429": "Too many requests; wait as long as the Retry-After header says.",
}


class ApiSchema(AutoSchema):
    def _idempotent(self) -> bool:
        action = getattr(self.view, "action", None) or self.method.lower()
        return self.method == "POST" and getattr(getattr(self.view, action, None), "idempotent", False)

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        return [*parameters, IDEMPOTENCY_KEY] if self._idempotent() else parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self._idempotent():
            errors["422"] = "The Idempotency-Key was used before for another request."
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = description
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token issued at /api/v1/tokens/ from a logged-in browser session: Bearer thf_…",
        }
