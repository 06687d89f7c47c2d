"""Idempotency-Key on the API's state-changing POSTs (docs/api.md).

A client that sends a key and repeats the request (after a time-out, say) gets the first response again, and nothing
changes twice. The key's record is inserted in the same transaction as the change it guards: a second request with
the same key waits on the unique index until the first commits, then reads its response. A refused request keeps
its response too (its change rolled back), so a repeat is refused alike; a server error keeps nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .models import IdempotencyKey

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Visible ASCII, as the header's draft standard expects of a UUID or another random string.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


def _content(value):
    """The request's content in a stable form: uploaded files by name, size and digest."""
    if hasattr(value, "chunks"):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    if hasattr(value, "lists"):
        return {key: [_content(item) for item in items] for key, items in value.lists()}
    if isinstance(value, dict):
        return {str(key): _content(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_content(item) for item in value]
    return value


def _fingerprint(request) -> str:
    content = json.dumps(_content(request.data), sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{content}".encode()).hexdigest()


def _replay(record: IdempotencyKey, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise KeyReused(_("This Idempotency-Key was used for another request; use a new key for each request."))
    body = json.loads(record.response) if record.response else None
    return Response(body, status=record.status_code, headers={REPLAYED_HEADER: "true"})


def idempotent(handler):
    """For a viewset's POST handler: honour an Idempotency-Key header (the module's docstring says how)."""

    @wraps(handler)
    def guarded(view, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            raise exceptions.ValidationError(
                {IDEMPOTENCY_HEADER: [_("Use 1 to 255 visible ASCII characters, such as a UUID.")]}
            )
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user=request.user, key=key, fingerprint=fingerprint, status_code=0, response=""
                    )
            except IntegrityError:
                return _replay(IdempotencyKey.objects.get(user=request.user, key=key), fingerprint)
            try:
                with transaction.atomic():
                    response = handler(view, request, *args, **kwargs)
                    if response.status_code >= 400:
                        transaction.set_rollback(True)
            except Exception as error:
                # Answered as DRF would; what DRF does not answer (a server error) is raised on and keeps nothing.
                response = view.handle_exception(error)
            record.status_code = response.status_code
            record.response = "" if response.data is None else JSONRenderer().render(response.data).decode()
            record.save(update_fields=["status_code", "response"])
        return response

    guarded.idempotent = True
    return guarded
