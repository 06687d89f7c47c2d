"""Liveness and readiness for load balancers, orchestrators and the Docker health checks (docs/operations.md).

Both answer JSON without a login, a session or a cookie: accounts.middleware lets them through before it looks at
the user, and they are exempt from the HTTPS redirect. A failing check is named, with the kind of error only:
connection strings stay in the log.
"""

from __future__ import annotations

import logging
import time

import redis
from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# Seconds a probe of Redis may take: a broker that answers slower than this is as good as gone for a request.
BROKER_TIMEOUT = 2
HEARTBEAT_KEY = "health:heartbeat"
# Beat queues the heartbeat every minute; five missed in a row mean that beat or every worker has stopped.
HEARTBEAT_MAX_AGE = 5 * 60

# Once every migration is applied it stays so until a new release restarts the process.
_migrations_applied = False


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    """The process answers; nothing else is checked, so a restart cannot fix what this reports."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """Whether this process can serve: the database answers and is migrated, and Redis answers when it is used.

    The heartbeat of beat and the workers is reported but does not decide: web must keep serving while a
    background process restarts, and in Docker beat starts only once web is healthy.
    """
    checks = {"database": _check(_database), "migrations": _check(_migrations)}
    if settings.REDIS_URL:
        checks["broker"] = _check(_broker)
        checks["heartbeat"] = _heartbeat()
    failing = [name for name, check in checks.items() if not check["ok"] and name != "heartbeat"]
    return JsonResponse(
        {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks},
        status=503 if failing else 200,
    )


def _check(probe) -> dict:
    try:
        problem = probe()
    except Exception as error:
        logger.warning("health check %s failed", probe.__name__.lstrip("_"), exc_info=True)
        return {"ok": False, "error": type(error).__name__}
    return {"ok": False, "error": problem} if problem else {"ok": True}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _migrations() -> str | None:
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            return f"{len(pending)} migrations not applied"
        _migrations_applied = True
    return None


def _broker() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def _heartbeat() -> dict:
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = max(0, round(time.time() - beat))
    return {"ok": age <= HEARTBEAT_MAX_AGE, "age_seconds": age}


@shared_task(name="config.health.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Queued by beat every minute and run by a worker: its time in the cache shows that both are alive."""
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
