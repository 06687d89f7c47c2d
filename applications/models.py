"""Municipalities' applications, their unit lines, attachments and status history."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from grants.models import MONEY
from grants.templatetags.instants import format_instant


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    IN_REVIEW = "in_review", _("in review")
    INFORMATION_REQUESTED = "information_requested", _("information requested")
    RESUBMITTED = "resubmitted", _("resubmitted")
    ELIGIBLE = "eligible", _("eligible")
    INELIGIBLE = "ineligible", _("ineligible")
    GRANTED = "granted", _("granted")
    PARTIALLY_GRANTED = "partially_granted", _("partially granted")
    REFUSED = "refused", _("refused")
    WITHDRAWN = "withdrawn", _("withdrawn")
    GRANT_WITHDRAWN = "grant_withdrawn", _("grant withdrawn")


# The applicant may change the content only while the application is in their hands.
EDITABLE_STATUSES = {Status.DRAFT, Status.INFORMATION_REQUESTED}
DECIDED_STATUSES = {Status.GRANTED, Status.PARTIALLY_GRANTED, Status.REFUSED, Status.GRANT_WITHDRAWN}

# The lifecycle: which status may follow which. applications.services makes every change through it.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.SUBMITTED},
    Status.SUBMITTED: {Status.IN_REVIEW, Status.WITHDRAWN},
    Status.IN_REVIEW: {Status.INFORMATION_REQUESTED, Status.ELIGIBLE, Status.INELIGIBLE, Status.WITHDRAWN},
    Status.INFORMATION_REQUESTED: {Status.RESUBMITTED, Status.WITHDRAWN},
    Status.RESUBMITTED: {Status.IN_REVIEW, Status.WITHDRAWN},
    Status.ELIGIBLE: {Status.GRANTED, Status.PARTIALLY_GRANTED, Status.REFUSED, Status.WITHDRAWN},
    Status.INELIGIBLE: {Status.REFUSED},
    # After the first decision, later decisions move it on: a grant from the reserve list or on objection, a
    # waiver, a withdrawal or a reclaim that lowers the grant or ends it.
    Status.REFUSED: {Status.GRANTED, Status.PARTIALLY_GRANTED},
    Status.GRANTED: {Status.PARTIALLY_GRANTED, Status.GRANT_WITHDRAWN},
    Status.PARTIALLY_GRANTED: {Status.GRANTED, Status.GRANT_WITHDRAWN},
    Status.GRANT_WITHDRAWN: {Status.GRANTED, Status.PARTIALLY_GRANTED},
}


class ApplicationQuerySet(models.QuerySet):
    def submitted(self):
        return self.exclude(status=Status.DRAFT)

    def eligible(self):
        return self.filter(status=Status.ELIGIBLE)

    def with_totals(self):
        return self.annotate(
            units_total=models.Sum("unit_lines__units", default=0),
            amount_requested=models.Sum("unit_lines__requested_amount", default=Decimal("0")),
        )


class Application(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("receipt number"), max_length=30, unique=True, null=True, blank=True, editable=False)
    receipt_sequence = models.PositiveIntegerField(_("receipt sequence"), null=True, blank=True, editable=False)
    municipality = models.ForeignKey(
        "grants.Municipality", models.PROTECT, related_name="applications", verbose_name=_("municipality")
    )
    tranche = models.ForeignKey(
        "grants.Tranche", models.PROTECT, related_name="applications", verbose_name=_("tranche")
    )
    window = models.ForeignKey("grants.Window", models.PROTECT, related_name="applications", verbose_name=_("window"))
    project_name = models.CharField(_("project name"), max_length=200)
    location = models.CharField(_("location"), max_length=200, help_text=_("Address or area of the project."))
    description = models.TextField(_("description"), blank=True)
    planned_start = models.DateField(_("planned start of construction"), null=True, blank=True)
    planned_completion = models.DateField(_("planned completion"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.DRAFT)
    received_at = models.DateTimeField(
        _("received at"), null=True, blank=True, editable=False, help_text=_("First receipt by the agency.")
    )
    completed_at = models.DateTimeField(
        _("complete at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the application became complete: first receipt, or receipt of requested information."),
    )
    ranks_at = models.DateTimeField(
        _("ranks at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "The instant used where the tranche ranks by the complete application: first receipt plus the time the "
            "municipality itself took to answer information requests."
        ),
    )
    # The ready state: the signatory confirms the content before the opening, so that the submission at the
    # opening only has to see that nothing changed (applications/submission.py). Every edit of a draft clears it.
    ready_hash = models.CharField(
        _("content hash confirmed as ready"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_(
            "SHA-256 of the content and the tranche's rules as the signatory confirmed them; empty when not "
            "confirmed. After submission: the hash of what was submitted, and the key a repeated submission carries."
        ),
    )
    ready_rules = models.CharField(
        _("rules hash at confirmation"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_(
            "SHA-256 of the tranche's maxima, minimum and required attachments that the content was checked against."
        ),
    )
    ready_at = models.DateTimeField(_("confirmed as ready at"), null=True, blank=True, editable=False)
    ready_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("confirmed as ready by"),
    )
    # The signatory's declaration, accepted with the ready state and cleared with it.
    declaration = models.TextField(
        _("declaration accepted"),
        blank=True,
        editable=False,
        help_text=_("The text the signatory declared, as the page showed it; empty when not declared."),
    )
    declared_at = models.DateTimeField(_("declaration accepted at"), null=True, blank=True, editable=False)
    # An editor's request to a signatory to submit or send back the application; cleared when it is sent.
    signatory_asked_at = models.DateTimeField(_("signatory asked to submit at"), null=True, blank=True, editable=False)
    signatory_asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("signatory asked to submit by"),
    )
    is_demo = models.BooleanField(_("fictitious demo data"), default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tranche", "receipt_sequence"], name="application_receipt_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(reference__isnull=False, received_at__isnull=False),
                name="application_submitted_has_receipt",
            ),
            models.CheckConstraint(
                condition=Q(ready_hash="", ready_rules="", ready_at__isnull=True)
                | (~Q(ready_hash="") & ~Q(ready_rules="") & Q(ready_at__isnull=False)),
                name="application_ready_state_complete",
            ),
            models.CheckConstraint(
                condition=Q(declaration="", declared_at__isnull=True)
                | (~Q(declaration="") & Q(declared_at__isnull=False)),
                name="application_declaration_complete",
            ),
            models.CheckConstraint(
                condition=Q(signatory_asked_at__isnull=True) | Q(signatory_asked_by__isnull=False),
                name="application_signatory_asked_by_whom",
            ),
            models.CheckConstraint(
                condition=Q(planned_start__isnull=True)
                | Q(planned_completion__isnull=True)
                | Q(planned_completion__gte=models.F("planned_start")),
                name="application_completion_after_start",
            ),
        ]
        indexes = [models.Index(fields=["tranche", "status"])]

    def __str__(self) -> str:
        return f"{self.reference or _('draft')} – {self.project_name}"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def is_withdrawable(self) -> bool:
        return Status.WITHDRAWN in ALLOWED_TRANSITIONS.get(self.status, set())

    @property
    def is_ready(self) -> bool:
        """A draft whose content a signatory confirmed as ready to submit."""
        return self.status == Status.DRAFT and bool(self.ready_hash)

    @property
    def signatory_asked(self) -> bool:
        """An editor asked a signatory to submit or send back the application, and it has not been sent yet."""
        return self.signatory_asked_at is not None and self.is_editable


class ReceiptClock(models.Model):
    """The latest receipt instant issued in a tranche: no application is received before it any more.

    Written in the statement that issues the tranche's next receipt number (applications/submission.py), under the
    same row lock, so that receipt numbers follow receipt instants (docs/rules.md, "The receipt instant").
    """

    tranche = models.OneToOneField(
        "grants.Tranche",
        models.CASCADE,
        primary_key=True,
        related_name="receipt_clock",
        verbose_name=_("tranche"),
    )
    last_received_at = models.DateTimeField(_("last receipt instant"))

    class Meta:
        verbose_name = _("receipt clock")
        verbose_name_plural = _("receipt clocks")

    def __str__(self) -> str:
        return f"{self.tranche}: {format_instant(self.last_received_at)}"


class Permanence(models.TextChoices):
    PERMANENT = "permanent", _("permanent")
    FLEXIBLE = "flexible", _("flexible (relocatable)")


class Construction(models.TextChoices):
    NEW_BUILD = "new_build", _("new build")
    TRANSFORMATION = "transformation", _("transformation of a non-residential building")


class UnitLine(models.Model):
    """Units of one kind for one target group. The requested amount may be lower than the maximum."""

    application = models.ForeignKey(
        Application, models.CASCADE, related_name="unit_lines", verbose_name=_("application")
    )
    target_group = models.ForeignKey(
        "grants.TrancheTargetGroup", models.PROTECT, related_name="unit_lines", verbose_name=_("target group")
    )
    housing_type = models.ForeignKey(
        "grants.HousingType", models.PROTECT, related_name="unit_lines", verbose_name=_("housing type")
    )
    permanence = models.CharField(_("permanent or flexible"), max_length=20, choices=Permanence.choices)
    self_contained = models.BooleanField(_("self-contained"), default=True)
    common_room = models.BooleanField(_("access to a shared common room"), default=False)
    construction = models.CharField(
        _("construction"), max_length=20, choices=Construction.choices, default=Construction.NEW_BUILD
    )
    units = models.PositiveIntegerField(_("units"))
    requested_amount = models.DecimalField(_("requested amount"), **MONEY)
    planned_monthly_rent = models.DecimalField(
        _("planned initial monthly rent"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("unit line")
        verbose_name_plural = _("unit lines")
        ordering = ["application", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(units__gt=0), name="unit_line_units_positive"),
            models.CheckConstraint(condition=Q(requested_amount__gte=0), name="unit_line_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.units} × {self.housing_type} ({self.get_permanence_display()}) – {self.target_group}"


class AttachmentKind(models.TextChoices):
    PROJECT_PLAN = "project_plan", _("project plan")
    BUDGET = "budget", _("budget")
    PLANNING = "planning", _("planning")
    COUNCIL_DECISION = "council_decision", _("council decision")
    OTHER = "other", _("other")


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is ours, never the uploader's: no path tricks, no collisions.
    return f"attachments/{instance.application.public_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    application = models.ForeignKey(
        Application, models.CASCADE, related_name="attachments", verbose_name=_("application")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=AttachmentKind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=120)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["application", "uploaded_at"]
        constraints = [models.CheckConstraint(condition=Q(size__gt=0), name="attachment_not_empty")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"


class StatusChange(models.Model):
    """Audit record of one state change: who, when, from, to, why."""

    application = models.ForeignKey(
        Application, models.CASCADE, related_name="status_changes", verbose_name=_("application")
    )
    from_status = models.CharField(_("from"), max_length=30, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=30, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty when the system made the change."),
    )
    at = models.DateTimeField(_("at"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["application", "at", "id"]

    def __str__(self) -> str:
        return f"{self.application}: {self.get_from_status_display() or '∅'} → {self.get_to_status_display()}"


class InformationRequest(models.Model):
    """The agency asks the municipality to complete its application within the hersteltermijn (Awb 4:5).

    The time from the request to the answer is the municipality's own and moves its ranking instant later.
    """

    application = models.ForeignKey(
        Application, models.CASCADE, related_name="information_requests", verbose_name=_("application")
    )
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
        help_text=_("Empty for an imported request."),
    )
    reason = models.TextField(_("what is asked"), blank=True)
    deadline = models.DateField(
        _("answer by"),
        null=True,
        blank=True,
        help_text=_(
            "Last day of the hersteltermijn, until the end of that day in Europe/Amsterdam. Empty for an imported "
            "request: the file does not give it."
        ),
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    reply = models.TextField(
        _("reply"), blank=True, help_text=_("What the municipality wrote when it sent the information back.")
    )

    class Meta:
        verbose_name = _("information request")
        verbose_name_plural = _("information requests")
        ordering = ["application", "requested_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | Q(answered_at__gte=models.F("requested_at")),
                name="information_answered_after_request",
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(answered_at__isnull=True),
                name="information_request_one_open_per_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application}: {format_instant(self.requested_at)}"

    @property
    def municipality_time(self) -> timedelta | None:
        return None if self.answered_at is None else self.answered_at - self.requested_at
