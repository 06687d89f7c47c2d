"""Personal data kept no longer than needed (AVG art. 5(1)(e), docs/privacy.md): the retention rules and the job.

Each stage states the rules for what it owns in a module `retention.py`, which registers them with
`retention_rule`. The job finds those modules the way the admin finds `admin.py` (autodiscover_modules), so that
accounts runs every stage's rules without importing a later stage. Rules run in the order of INSTALLED_APPS,
each in its own transaction, and each returns how many records it removed, anonymised or deactivated. The
periods are RETENTION_YEARS in the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.module_loading import autodiscover_modules

from .models import AuditAction, AuditEntry, User

logger = logging.getLogger(__name__)

# Audit entries about logging in are kept for the security period; all others, which record what was done to a
# grant and its money, for the audit period (docs/privacy.md).
LOGIN_ACTIONS = (
    AuditAction.LOGIN,
    AuditAction.LOGIN_FAILED,
    AuditAction.LOCKOUT,
    AuditAction.LOGOUT,
    AuditAction.SECOND_FACTOR,
    AuditAction.REAUTHENTICATION,
    AuditAction.PASSWORD_CHANGE,
    AuditAction.PASSWORD_RESET,
)


@dataclass(frozen=True)
class RetentionRule:
    name: str
    # What the rule does to a record past its period, for the log: "deleted", "anonymised" or "deactivated".
    action: str
    apply: Callable[[datetime], int]


class RetentionFailed(Exception):
    """One or more rules failed; the others were applied."""

    def __init__(self, failed: list[str], done: dict[str, int]):
        super().__init__(f"retention failed for {', '.join(failed)}")
        self.failed = failed
        self.done = done


_rules: dict[str, RetentionRule] = {}


def retention_rule(name: str, *, action: str) -> Callable[[Callable[[datetime], int]], Callable[[datetime], int]]:
    """Register `apply(now) -> count` as the rule `name`."""

    def register(apply: Callable[[datetime], int]) -> Callable[[datetime], int]:
        _rules[name] = RetentionRule(name=name, action=action, apply=apply)
        return apply

    return register


def retention_rules() -> list[RetentionRule]:
    autodiscover_modules("retention")
    return list(_rules.values())


def years_before(instant: datetime, kind: str) -> datetime:
    """The instant RETENTION_YEARS[kind] whole years before `instant`; 29 February falls back to the 28th."""
    years = settings.RETENTION_YEARS[kind]
    if years < 1:
        raise ImproperlyConfigured(f"RETENTION_YEARS[{kind!r}] must be at least 1, not {years}")
    try:
        return instant.replace(year=instant.year - years)
    except ValueError:
        return instant.replace(year=instant.year - years, day=28)


def delete_counted(queryset: QuerySet) -> int:
    """Delete the rows of `queryset` and return how many of its own model went, cascaded rows not counted."""
    _, per_model = queryset.delete()
    return per_model.get(queryset.model._meta.label, 0)


def apply_retention(*, now: datetime, kinds: list[str] | None = None, dry_run: bool = False) -> dict[str, int]:
    """Apply the rules (all, or those named in `kinds`) as at `now`; returns the count per rule and logs each.

    A failing rule is logged and skipped, and RetentionFailed is raised once the others are done. A dry run
    applies everything in a transaction that is rolled back, so the counts are real and nothing changes.
    """
    done: dict[str, int] = {}
    failed: list[str] = []
    with transaction.atomic() if dry_run else nullcontext():
        for rule in retention_rules():
            if kinds is not None and rule.name not in kinds:
                continue
            try:
                with transaction.atomic():
                    count = rule.apply(now)
            except Exception:
                logger.exception("retention %s failed", rule.name, extra={"retention_rule": rule.name})
                failed.append(rule.name)
                continue
            done[rule.name] = count
            logger.info(
                "retention %s: %s %s%s",
                rule.name,
                count,
                rule.action,
                " (dry run, rolled back)" if dry_run else "",
                extra={"retention_rule": rule.name, "action": rule.action, "count": count, "dry_run": dry_run},
            )
        if dry_run:
            transaction.set_rollback(True)
    if failed:
        raise RetentionFailed(failed, done)
    return done


@retention_rule("sessions", action="deleted")
def expired_sessions(now: datetime) -> int:
    """Sessions past their end; Django refuses them already, this removes the rows."""
    return delete_counted(Session.objects.filter(expire_date__lt=now))


@retention_rule("lockout_records", action="deleted")
def past_lockout_records(now: datetime) -> int:
    """django-axes' failed-login records (username, address, browser) once their cool-off has passed."""
    return delete_counted(AccessAttempt.objects.filter(attempt_time__lt=now - settings.AXES_COOLOFF_TIME))


@retention_rule("idle_accounts", action="deactivated")
def deactivate_idle_accounts(now: datetime) -> int:
    """Accounts unused for the idle period lose access; an administrator can activate them again."""
    idle = User.objects.filter(is_active=True).alias(last_seen=Coalesce("last_login", "date_joined"))
    return idle.filter(last_seen__lt=years_before(now, "idle_account")).update(is_active=False)


@retention_rule("audit_log", action="deleted")
def expire_audit_log(now: datetime) -> int:
    logins = Q(action__in=LOGIN_ACTIONS)
    return AuditEntry.objects.filter(logins).expire(before=years_before(now, "login_audit_log")) + (
        AuditEntry.objects.exclude(logins).expire(before=years_before(now, "audit_log"))
    )
