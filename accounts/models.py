"""Users and their role. A municipal user acts for exactly one municipality.

Organisation login (eHerkenning) will set municipality and role from the mandate it carries;
everything else asks the user's role through the helpers below, never the login method.
The audit log (AuditEntry) records logins and the actions others report through accounts.services.record_audit.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MUNICIPAL_EDITOR = "municipal_editor", _("municipal editor")
    MUNICIPAL_SIGNATORY = "municipal_signatory", _("municipal signatory")
    # Certifies the yearly accountability report (SiSa) the editors prepare; a role of its own, as the
    # municipality's controller is not the one who reports.
    MUNICIPAL_FINANCIAL_OFFICER = "municipal_financial_officer", _("municipal financial officer")
    AGENCY_ASSESSOR = "agency_assessor", _("agency assessor")
    AGENCY_APPROVER = "agency_approver", _("agency approver")
    MINISTRY_ANALYST = "ministry_analyst", _("ministry analyst")


MUNICIPAL_ROLES = (Role.MUNICIPAL_EDITOR, Role.MUNICIPAL_SIGNATORY, Role.MUNICIPAL_FINANCIAL_OFFICER)
AGENCY_ROLES = (Role.AGENCY_ASSESSOR, Role.AGENCY_APPROVER)


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, blank=True)
    municipality = models.ForeignKey(
        "grants.Municipality",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("municipality"),
        help_text=_("Only for municipal users: the municipality they act for."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role__in=[role.value for role in MUNICIPAL_ROLES], municipality__isnull=False)
                    | (~Q(role__in=[role.value for role in MUNICIPAL_ROLES]) & Q(municipality__isnull=True))
                ),
                name="user_municipality_iff_municipal_role",
            ),
        ]

    @property
    def is_municipal(self) -> bool:
        return self.role in MUNICIPAL_ROLES

    @property
    def is_agency(self) -> bool:
        return self.role in AGENCY_ROLES

    @property
    def is_ministry(self) -> bool:
        return self.role == Role.MINISTRY_ANALYST

    @property
    def needs_second_factor(self) -> bool:
        """Agency and ministry staff, and whoever may open the back office, log in with a second factor."""
        return self.is_superuser or self.is_staff or self.is_agency or self.is_ministry


class AuditAction(models.TextChoices):
    LOGIN = "login", _("login")
    LOGIN_FAILED = "login_failed", _("failed login")
    LOCKOUT = "lockout", _("lockout")
    LOGOUT = "logout", _("logout")
    SECOND_FACTOR = "second_factor", _("second factor")
    REAUTHENTICATION = "reauthentication", _("re-authentication")
    PASSWORD_CHANGE = "password_change", _("password change")
    PASSWORD_RESET = "password_reset", _("password reset")
    EXPORT = "export", _("export")
    DOWNLOAD = "download", _("download")
    PREVIEW = "preview", _("preview")
    DISCARD = "discard", _("discard")
    AMENDMENT = "amendment", _("amendment")
    CONFIRMATION = "confirmation", _("confirmation")
    MONEY_CHANGE = "money_change", _("money change")
    API_TOKEN = "api_token", _("API token")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("success")
    FAILURE = "failure", _("failure")


class AppendOnlyError(Exception):
    """An audit entry, once written, is neither changed nor deleted."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be deleted")

    def expire(self, *, before) -> int:
        """Remove the entries written before `before`: only the retention job calls this (accounts.retention)."""
        deleted, _ = models.QuerySet.delete(self.filter(at__lt=before))
        return deleted


class AuditEntry(models.Model):
    """One security-relevant event: who did what to which object, from where, and how it ended.

    Append-only: written through accounts.services.record_audit, never changed, and deleted only by the retention
    job once past its period (AuditEntryQuerySet.expire, docs/privacy.md).
    """

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        "accounts.User",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("actor"),
        help_text=_("Empty when nobody was logged in, as on a failed login."),
    )
    actor_name = models.CharField(
        _("actor name"),
        max_length=150,
        blank=True,
        help_text=_("The username at the time, or the username tried on a failed login."),
    )
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    object_type = models.CharField(
        _("object type"), max_length=100, blank=True, help_text=_("App and model, e.g. allocation.allocationrun.")
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=AuditOutcome.choices)
    detail = models.TextField(_("detail"), blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ("-at", "-pk")
        indexes = [models.Index(fields=["object_type", "object_id"], name="auditentry_object")]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")


# --- the API: tokens and idempotency keys ------------------------------------------------------------------


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Neither revoked nor expired at `now`."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ApiToken(models.Model):
    """A user's key to the API (docs/api.md). Only its SHA-256 is stored: the key itself is shown once.

    A user may hold several, each with a name and an end; revoking keeps the row, so the list shows what existed.
    """

    user = models.ForeignKey("accounts.User", models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. the system using it."))
    prefix = models.CharField(_("prefix"), max_length=16, help_text=_("The start of the key, to recognise it by."))
    key_hash = models.CharField(_("SHA-256 of the key"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="api_token_expires_later")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(models.Model):
    """The first response to a POST that carried an Idempotency-Key, written in the transaction of its change.

    A repeat with the same key by the same user gets this response again and changes nothing (accounts.idempotency).
    """

    user = models.ForeignKey("accounts.User", models.CASCADE, related_name="idempotency_keys", verbose_name=_("user"))
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(
        _("fingerprint"), max_length=64, help_text=_("SHA-256 of the method, the path and the request's content.")
    )
    status_code = models.PositiveSmallIntegerField(_("status code"))
    response = models.TextField(_("response"), help_text=_("The JSON body of the first response."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"
