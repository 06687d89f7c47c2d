"""Structured logs: a request id on every line, one line per request, and the id carried into Celery tasks.

With LOG_FORMAT=json (the default when DEBUG is off) each line is one JSON object written by python-json-logger;
the embedded run writes readable text. docs/operations.md ("Logs") lists the fields.

The Celery signal receivers below connect when this module is imported. Every process imports it: the web
process for the middleware, and web, worker and beat alike for the LOGGING filter (config/settings.py).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it looks like one; anything else (too long, spaces or control characters that could
# forge a log line) is replaced by our own.
ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Load balancers and container checks ask every few seconds; their answers are logged only when they fail.
QUIET_PATHS = ("/health/",)

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_request: ContextVar[HttpRequest | None] = ContextVar("request", default=None)
# In a Celery task: the user whose request queued it.
_task_user_id: ContextVar[int | None] = ContextVar("task_user_id", default=None)

logger = logging.getLogger("thuisfonds.request")


def current_request_id() -> str | None:
    return _request_id.get()


def current_user_id() -> int | None:
    request = _request.get()
    if request is None:
        return _task_user_id.get()
    return _user_id(request)


def _user_id(request: HttpRequest) -> int | None:
    # Only a user that the request has already loaded: a log line must not cost a query of its own.
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


class RequestContextFilter(logging.Filter):
    """Adds the request id and the user id to every record, those of Django and the libraries included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id()
        return True


class RequestLogMiddleware:
    """Gives every request an id, answers it in X-Request-ID and writes one line when the response is ready.

    Early in MIDDLEWARE, so that the id is known to everything after it, redirects and refusals included.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if ACCEPTED_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        request.request_id = request_id
        id_token, request_token = _request_id.set(request_id), _request.set(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            quiet = request.path.startswith(QUIET_PATHS) and response.status_code < 500
            logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            _request.reset(request_token)
            _request_id.reset(id_token)


@before_task_publish.connect(dispatch_uid="logs_request_id_to_task")
def _pass_request_id(headers: dict | None = None, **kwargs) -> None:
    request_id = current_request_id()
    if headers is not None and request_id:
        headers.setdefault("request_id", request_id)
        headers.setdefault("user_id", current_user_id())


@task_prerun.connect(dispatch_uid="logs_request_id_in_task")
def _take_request_id(task=None, **kwargs) -> None:
    # Run eagerly, a task runs inside the request that started it and keeps its id; on a worker it reads the id
    # from the message's headers.
    if task is None or _request.get() is not None:
        return
    task.request.log_context_tokens = (
        _request_id.set(task.request.get("request_id")),
        _task_user_id.set(task.request.get("user_id")),
    )


@task_postrun.connect(dispatch_uid="logs_request_id_after_task")
def _drop_request_id(task=None, **kwargs) -> None:
    tokens = getattr(task.request, "log_context_tokens", None) if task is not None else None
    if tokens is not None:
        _request_id.reset(tokens[0])
        _task_user_id.reset(tokens[1])
