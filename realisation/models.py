"""The settlement (vaststelling) of a grant from the units its project realised.

The grant is taken to have been paid in full as an advance when it was granted, so what was paid is the
amount granted and the reclaim is that amount less the settled amount. An agency user prepares the
settlement, a different user with the approver role confirms it; a confirmed settlement is immutable.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Abs
from django.db.models.lookups import GreaterThan
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from allocation.models import Decision
from applications.models import Application, UnitLine
from grants.models import MONEY
from grants.templatetags.money import format_euro

HALF_CENT = Decimal("0.005")


class SettlementStatus(models.TextChoices):
    PREPARED = "prepared", _("prepared")
    CONFIRMED = "confirmed", _("confirmed")


class Settlement(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    decision = models.OneToOneField(Decision, models.PROTECT, related_name="settlement", verbose_name=_("decision"))
    progress_report = models.ForeignKey(
        "ProgressReport",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
        verbose_name=_("progress report"),
        help_text=_("The latest report when prepared; empty when none was submitted, so nothing counts as realised."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=SettlementStatus.choices, default=SettlementStatus.PREPARED
    )
    units_granted = models.PositiveIntegerField(_("units granted"))
    units_realised = models.PositiveIntegerField(_("units realised"))
    amount_paid = models.DecimalField(
        _("amount paid"), **MONEY, help_text=_("The amount granted, paid in full as an advance.")
    )
    amount_settled = models.DecimalField(_("amount settled"), **MONEY)
    amount_reclaimed = models.DecimalField(_("amount to reclaim"), **MONEY)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("prepared by")
    )
    prepared_at = models.DateTimeField(_("prepared at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-prepared_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")),
                name="settlement_four_eyes",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="prepared", approved_by__isnull=True, confirmed_at__isnull=True)
                    | Q(status="confirmed", approved_by__isnull=False, confirmed_at__isnull=False)
                ),
                name="settlement_confirmed_has_approver",
            ),
            # Reclaimed = paid - settled. Written as a difference under half a cent because SQLite compares
            # decimals as floats; on amounts in whole cents it is the same as equality.
            models.CheckConstraint(
                condition=Q(amount_settled__gte=0, amount_settled__lte=F("amount_paid"))
                & Q(GreaterThan(Value(HALF_CENT), Abs(F("amount_paid") - F("amount_settled") - F("amount_reclaimed")))),
                name="settlement_amounts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(units_realised__lte=F("units_granted")), name="settlement_realised_within_granted"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision.application.reference}: {self.get_status_display()}"

    @property
    def is_confirmed(self) -> bool:
        return self.status == SettlementStatus.CONFIRMED


class SettlementLine(models.Model):
    """One unit line's part: its share of the grant, funded pro rata to the units it realised."""

    settlement = models.ForeignKey(Settlement, models.CASCADE, related_name="lines", verbose_name=_("settlement"))
    unit_line = models.ForeignKey(
        "applications.UnitLine", models.PROTECT, related_name="settlement_lines", verbose_name=_("unit line")
    )
    units_granted = models.PositiveIntegerField(_("units granted"))
    units_realised = models.PositiveIntegerField(_("units realised"))
    amount_granted = models.DecimalField(
        _("share of the grant"),
        **MONEY,
        help_text=_("The line's requested amount times the granted share of the request, rounded down to the cent."),
    )
    amount_settled = models.DecimalField(
        _("amount settled"), **MONEY, help_text=_("Its share times realised / granted units, rounded down to the cent.")
    )

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["settlement", "unit_line"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "unit_line"], name="settlement_line_once_per_unit_line"),
            models.CheckConstraint(
                condition=Q(
                    units_realised__lte=F("units_granted"),
                    amount_settled__gte=0,
                    amount_settled__lte=F("amount_granted"),
                ),
                name="settlement_line_within_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.units_realised} / {self.units_granted} – {self.unit_line}"


class ProgressStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")


class ProgressReport(models.Model):
    """What the municipality reports on a granted project at one moment.

    An editor prepares a draft, a signatory submits it. A submitted report is never changed: the
    submitted reports of an application are its history, and the latest one is the state the agency
    follows up and settles on.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        Application, models.PROTECT, related_name="progress_reports", verbose_name=_("application")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ProgressStatus.choices, default=ProgressStatus.DRAFT, editable=False
    )
    construction_started_on = models.DateField(
        _("construction started on"),
        null=True,
        blank=True,
        help_text=_("The irreversible step: start of construction or of the transformation."),
    )
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    delay_remarks = models.TextField(
        _("remarks on delay"), blank=True, help_text=_("Why the project is late or realises fewer units, if so.")
    )
    is_latest = models.BooleanField(
        _("latest report"),
        default=False,
        editable=False,
        help_text=_("The latest submitted report of the application."),
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("prepared by")
    )
    prepared_at = models.DateTimeField(_("prepared at"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["application", "submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="draft"), name="progress_report_one_draft"
            ),
            models.UniqueConstraint(
                fields=["application"], condition=Q(is_latest=True), name="progress_report_one_latest"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="draft", submitted_by__isnull=True, submitted_at__isnull=True, is_latest=False)
                    | Q(status="submitted", submitted_by__isnull=False, submitted_at__isnull=False)
                ),
                name="progress_report_submitted_has_submitter",
            ),
            models.CheckConstraint(
                condition=Q(completed_on__isnull=True)
                | Q(construction_started_on__isnull=False, completed_on__gte=models.F("construction_started_on")),
                name="progress_report_completed_after_start",
            ),
        ]

    def __str__(self) -> str:
        if self.submitted_at is None:
            return _("%(reference)s: draft progress report") % {"reference": self.application.reference}
        return _("%(reference)s: progress report of %(day)s") % {
            "reference": self.application.reference,
            "day": formats.date_format(timezone.localdate(self.submitted_at), "j F Y"),
        }


class RealisedUnits(models.Model):
    """How many units of one unit line a report says are realised: added to the stock for the target groups."""

    report = models.ForeignKey(
        ProgressReport, models.CASCADE, related_name="realised_units", verbose_name=_("progress report")
    )
    unit_line = models.ForeignKey(UnitLine, models.PROTECT, related_name="realised_units", verbose_name=_("unit line"))
    # PositiveIntegerField adds the database check units >= 0.
    units = models.PositiveIntegerField(_("units realised"))

    class Meta:
        verbose_name = _("realised units")
        verbose_name_plural = _("realised units")
        ordering = ["report", "unit_line"]
        constraints = [
            models.UniqueConstraint(fields=["report", "unit_line"], name="realised_units_once_per_line"),
        ]

    def __str__(self) -> str:
        return f"{self.units} / {self.unit_line.units} – {self.unit_line}"


class GrantFollowUp(Application):
    """A granted application as the agency follows it up: obligations, progress reports and settlement."""

    class Meta:
        proxy = True
        verbose_name = _("grant follow-up")
        verbose_name_plural = _("grant follow-up")


class ChangeKind(models.TextChoices):
    UNITS = "units", _("units and target group mix")
    LOCATION = "location", _("location")
    PLANNING = "planning", _("planning")
    START_EXTENSION = "start_extension", _("later start of construction")
    COMPLETION_EXTENSION = "completion_extension", _("later completion")


class ChangeRequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class ChangeRequest(models.Model):
    """A municipality asks to change a granted project (wijzigingsverzoek); the agency approves or rejects it.

    Approval issues a decision that replaces the one in force with the changed obligations; it never raises the
    amount granted.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        Application, models.PROTECT, related_name="change_requests", verbose_name=_("application")
    )
    kind = models.CharField(_("what changes"), max_length=30, choices=ChangeKind.choices)
    motivation = models.TextField(_("motivation"))
    proposed_units = models.JSONField(
        _("proposed unit lines"),
        default=list,
        blank=True,
        help_text=_("For a change of units: the unit lines as they would be, by target group and housing type."),
    )
    proposed_location = models.CharField(_("proposed location"), max_length=200, blank=True)
    proposed_start_by = models.DateField(_("proposed start of construction by"), null=True, blank=True)
    proposed_complete_by = models.DateField(_("proposed completion by"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("assessed by")
    )
    assessed_at = models.DateTimeField(_("assessed at"), null=True, blank=True)
    assessment = models.TextField(_("assessment"), blank=True)
    decision = models.OneToOneField(
        Decision,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="change_request",
        verbose_name=_("decision issued"),
        help_text=_("The decision with the changed obligations, when approved."),
    )

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="submitted", assessed_by__isnull=True, assessed_at__isnull=True)
                | (~Q(status="submitted") & Q(assessed_by__isnull=False, assessed_at__isnull=False)),
                name="change_request_assessed_has_assessor",
            ),
            models.CheckConstraint(
                condition=Q(decision__isnull=True) | Q(status="approved"), name="change_request_decision_if_approved"
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(decision__isnull=False), name="change_request_approved_has_decision"
            ),
            models.UniqueConstraint(
                fields=["application", "kind"], condition=Q(status="submitted"), name="change_request_one_open_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}: {self.get_kind_display()} ({self.get_status_display()})"


class ReclaimGround(models.TextChoices):
    START_MISSED = "start_missed", _("Construction did not start in time.")
    COMPLETION_MISSED = "completion_missed", _("The units were not completed in time.")
    UNITS_NOT_REALISED = "units_not_realised", _("Fewer units were realised than granted.")


class ReclaimStatus(models.TextChoices):
    PREPARED = "prepared", _("prepared")
    CONFIRMED = "confirmed", _("confirmed")
    PAID = "paid", _("paid")


class Reclaim(models.Model):
    """A reclaim (terugvordering) of the part of a grant for units not realised: prepared, confirmed by a second
    user, which lowers the grant by a new decision and sets a due date, and then paid."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, models.PROTECT, related_name="reclaims", verbose_name=_("application"))
    ground = models.CharField(_("ground"), max_length=30, choices=ReclaimGround.choices)
    reason = models.TextField(_("reason"))
    units_not_realised = models.PositiveIntegerField(_("units not realised"))
    amount_per_unit = models.DecimalField(_("amount per unit"), **MONEY)
    amount = models.DecimalField(_("amount to reclaim"), **MONEY)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ReclaimStatus.choices, default=ReclaimStatus.PREPARED)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("prepared by")
    )
    prepared_at = models.DateTimeField(_("prepared at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    decision = models.OneToOneField(
        Decision,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="reclaim",
        verbose_name=_("decision issued"),
        help_text=_("The decision lowering the grant, issued at confirmation."),
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    amount_paid = models.DecimalField(_("amount paid back"), **MONEY, null=True, blank=True)

    class Meta:
        verbose_name = _("reclaim")
        verbose_name_plural = _("reclaims")
        ordering = ["-prepared_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")), name="reclaim_four_eyes"
            ),
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="prepared"), name="reclaim_one_awaiting_confirmation"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0, amount_per_unit__gt=0), name="reclaim_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="prepared", approved_by__isnull=True, decision__isnull=True, due_on__isnull=True)
                | (
                    ~Q(status="prepared")
                    & Q(
                        approved_by__isnull=False,
                        confirmed_at__isnull=False,
                        decision__isnull=False,
                        due_on__isnull=False,
                    )
                ),
                name="reclaim_confirmed_has_approver_decision_and_due_date",
            ),
            models.CheckConstraint(
                condition=Q(status="paid", paid_on__isnull=False, amount_paid__gt=0)
                | (~Q(status="paid") & Q(paid_on__isnull=True, amount_paid__isnull=True)),
                name="reclaim_paid_has_payment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}: {format_euro(self.amount)} ({self.get_status_display()})"


class AccountabilityStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PREPARED = "prepared", _("awaiting certification")
    CERTIFIED = "certified", _("certified")


class AccountabilityReport(models.Model):
    """A municipality's yearly account of one grant (SiSa: specifieke uitkering, single information single audit).

    An editor or signatory prepares it; the municipality's financial officer certifies it. A certified report is
    never changed; the final settlement reads the certified reports.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        Application, models.PROTECT, related_name="accountability_reports", verbose_name=_("application")
    )
    year = models.PositiveSmallIntegerField(_("reporting year"))
    amount_spent = models.DecimalField(
        _("amount spent"), **MONEY, help_text=_("Spent on the project in the reporting year (SiSa indicator).")
    )
    amount_spent_cumulative = models.DecimalField(
        _("amount spent to date"), **MONEY, help_text=_("Spent on the project up to the end of the reporting year.")
    )
    obligations_met = models.BooleanField(
        _("obligations met"), help_text=_("Whether the grant's obligations are still met.")
    )
    units_used_for_target_groups = models.BooleanField(
        _("units used for the target groups"),
        help_text=_("Whether the units realised are let to the target groups, as they must be for ten years."),
    )
    remarks = models.TextField(_("remarks"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=AccountabilityStatus.choices, default=AccountabilityStatus.DRAFT
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("prepared by")
    )
    prepared_at = models.DateTimeField(_("prepared at"))
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("certified by"),
    )
    certified_at = models.DateTimeField(_("certified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("accountability report")
        verbose_name_plural = _("accountability reports")
        ordering = ["application", "year"]
        constraints = [
            models.UniqueConstraint(fields=["application", "year"], name="accountability_report_once_per_year"),
            models.CheckConstraint(
                condition=Q(amount_spent__gte=0, amount_spent_cumulative__gte=F("amount_spent")),
                name="accountability_report_amounts_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="certified", certified_by__isnull=False, certified_at__isnull=False)
                | (~Q(status="certified") & Q(certified_by__isnull=True, certified_at__isnull=True)),
                name="accountability_report_certified_has_officer",
            ),
            models.CheckConstraint(
                condition=Q(certified_by__isnull=True) | ~Q(certified_by=F("prepared_by")),
                name="accountability_report_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}: {self.year}"


class AccountabilityUnits(models.Model):
    """Units realised for one target group, as an accountability report states them (SiSa indicator)."""

    report = models.ForeignKey(
        AccountabilityReport, models.CASCADE, related_name="units", verbose_name=_("accountability report")
    )
    target_group = models.ForeignKey(
        "grants.TargetGroup", models.PROTECT, related_name="+", verbose_name=_("target group")
    )
    units_realised = models.PositiveIntegerField(_("units realised"))

    class Meta:
        verbose_name = _("units per target group")
        verbose_name_plural = _("units per target group")
        ordering = ["report", "target_group"]
        constraints = [
            models.UniqueConstraint(fields=["report", "target_group"], name="accountability_units_once_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.units_realised} – {self.target_group}"
