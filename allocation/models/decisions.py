"""Decisions on applications, and the waivers and withdrawals that issue later ones."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from grants.models import MONEY
from grants.templatetags.money import format_euro

from .runs import AllocationReason, AllocationRun


class DecisionOutcome(models.TextChoices):
    GRANTED = "granted", _("granted")
    PARTIALLY_GRANTED = "partially_granted", _("partially granted")
    REFUSED = "refused", _("refused")
    WITHDRAWN = "withdrawn", _("withdrawn")


GRANTED_OUTCOMES = (DecisionOutcome.GRANTED, DecisionOutcome.PARTIALLY_GRANTED)


class DecisionKind(models.TextChoices):
    ALLOCATION = "allocation", _("decision on the application")
    SUPPLEMENTARY = "supplementary", _("grant from the reserve list")
    WAIVER = "waiver", _("change after a waiver")
    WITHDRAWAL = "withdrawal", _("withdrawal or lowering")
    OBJECTION = "objection", _("decision on objection")
    CHANGE = "change", _("change of the obligations")
    RECLAIM = "reclaim", _("lowering with reclaim")


# The kinds a confirmed allocation run issues; every other kind is a decision on one case.
RUN_KINDS = (DecisionKind.ALLOCATION, DecisionKind.SUPPLEMENTARY)


def letter_path(instance: Decision, filename: str) -> str:
    return f"decisions/{instance.public_id}/{filename}"


class DecisionQuerySet(models.QuerySet):
    def current(self) -> DecisionQuerySet:
        """The decisions in force: one per decided application, the latest of its chain."""
        return self.filter(is_current=True)


class Decision(models.Model):
    """A decision (beschikking) on one application.

    The first is issued by a confirmed allocation run. Every later decision on the same application (a grant
    from the reserve list, a change after a waiver, a withdrawal, a decision on objection, a change of the
    obligations, a lowering with reclaim) replaces the one in force and points to it, so the chain is the
    application's legal history and exactly one decision of it is current.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        "applications.Application", models.PROTECT, related_name="decisions", verbose_name=_("application")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DecisionKind.choices, default=DecisionKind.ALLOCATION)
    run = models.ForeignKey(
        AllocationRun,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="decisions",
        verbose_name=_("allocation run"),
        help_text=_("The confirmed run that issued it; empty for a decision on one case."),
    )
    replaces = models.OneToOneField(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
        help_text=_("The decision that was in force before this one."),
    )
    is_current = models.BooleanField(_("in force"), default=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=DecisionOutcome.choices)
    requested = models.DecimalField(_("requested"), **MONEY)
    amount = models.DecimalField(_("amount granted"), **MONEY)
    over_commitment = models.DecimalField(
        _("over-commitment"),
        **MONEY,
        default=0,
        help_text=_("The part of the amount granted on objection above what the ceiling had left."),
    )
    reason = models.CharField(_("reason"), max_length=30, choices=AllocationReason.choices, blank=True)
    explanation = models.TextField(
        _("explanation"), blank=True, help_text=_("Why a decision on one case was taken, as its letter states it.")
    )
    decision_date = models.DateField(_("decision date"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
        help_text=_("Who took a decision on one case; a run's decisions name their approver on the run."),
    )
    dispatched_on = models.DateField(
        _("dispatched on"),
        null=True,
        blank=True,
        help_text=_("The day the letter was sent; the objection term runs from the day after (Awb 6:8)."),
    )
    start_construction_by = models.DateField(_("start construction by"), null=True, blank=True)
    complete_by = models.DateField(_("complete by"), null=True, blank=True)
    units_available_until = models.DateField(
        _("units available for the target groups until"),
        null=True,
        blank=True,
        help_text=_("At the latest: completion deadline plus the tranche's years for the target groups."),
    )
    letter_html = models.FileField(_("decision letter (HTML)"), upload_to=letter_path, blank=True)
    letter_pdf = models.FileField(_("decision letter (PDF)"), upload_to=letter_path, blank=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["application__reference", "decision_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(is_current=True), name="decision_one_current_per_application"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=[kind.value for kind in RUN_KINDS], run__isnull=False)
                    | (~Q(kind__in=[kind.value for kind in RUN_KINDS]) & Q(run__isnull=True))
                ),
                name="decision_run_iff_run_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="allocation") | Q(replaces__isnull=False), name="decision_later_kind_replaces"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0, requested__gte=0, amount__lte=F("requested")),
                name="decision_amount_valid",
            ),
            models.CheckConstraint(
                condition=Q(over_commitment=0) | Q(kind="objection", over_commitment__gt=0),
                name="decision_over_commitment_only_on_objection",
            ),
            models.CheckConstraint(
                condition=Q(over_commitment__gte=0, over_commitment__lte=F("amount")),
                name="decision_over_commitment_within_amount",
            ),
            models.CheckConstraint(
                condition=(
                    Q(outcome="granted", amount=F("requested"))
                    | Q(outcome="partially_granted", amount__gt=0, amount__lt=F("requested"))
                    | Q(outcome__in=["refused", "withdrawn"], amount=0)
                ),
                name="decision_outcome_matches_amount",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        outcome__in=["refused", "withdrawn"],
                        start_construction_by__isnull=True,
                        complete_by__isnull=True,
                        units_available_until__isnull=True,
                    )
                    | Q(
                        ~Q(outcome__in=["refused", "withdrawn"]),
                        start_construction_by__isnull=False,
                        complete_by__isnull=False,
                        units_available_until__isnull=False,
                    )
                ),
                name="decision_grant_has_obligations",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}: {self.get_kind_display()}, {self.get_outcome_display()}"

    @property
    def is_grant(self) -> bool:
        return self.outcome in GRANTED_OUTCOMES


class Waiver(models.Model):
    """A municipality gives up (afstand) a grant in full or in part; the grant is lowered by a new decision at once."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    decision = models.OneToOneField(
        Decision,
        models.PROTECT,
        related_name="waiver",
        verbose_name=_("decision"),
        help_text=_("The decision the waiver issued, which replaces the one waived from."),
    )
    amount_before = models.DecimalField(_("amount before"), **MONEY)
    amount_after = models.DecimalField(_("amount after"), **MONEY)
    reason = models.TextField(_("reason"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("waiver")
        verbose_name_plural = _("waivers")
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_after__gte=0, amount_after__lt=F("amount_before")), name="waiver_lowers_the_grant"
            ),
        ]

    def __str__(self) -> str:
        before, after = format_euro(self.amount_before), format_euro(self.amount_after)
        return f"{self.decision.application.reference}: {before} → {after}"


class WithdrawalGround(models.TextChoices):
    # Awb 4:48 lid 1 (before settlement) lists the grounds on which a grant may be withdrawn or lowered.
    ACTIVITIES_NOT_CARRIED_OUT = "activities_not_carried_out", _("The activities did not or will not take place.")
    OBLIGATIONS_NOT_MET = "obligations_not_met", _("The obligations of the grant were not met.")
    INCORRECT_INFORMATION = "incorrect_information", _("The grant rests on incorrect or incomplete information.")
    GRANTED_IN_ERROR = "granted_in_error", _("The grant was wrongly given and the recipient knew or should have known.")


class ProposalStatus(models.TextChoices):
    PREPARED = "prepared", _("prepared")
    CONFIRMED = "confirmed", _("confirmed")


class Withdrawal(models.Model):
    """The agency withdraws (intrekking) or lowers a grant: prepared by one user, confirmed by a second."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    withdrawn = models.ForeignKey(
        Decision,
        models.PROTECT,
        related_name="withdrawals",
        verbose_name=_("decision withdrawn from"),
        help_text=_("The decision in force when the withdrawal was prepared."),
    )
    ground = models.CharField(_("ground"), max_length=40, choices=WithdrawalGround.choices)
    reason = models.TextField(_("reason"))
    amount_before = models.DecimalField(_("amount before"), **MONEY)
    amount_after = models.DecimalField(_("amount after"), **MONEY)
    status = models.CharField(
        _("status"), max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.PREPARED
    )
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
        related_name="withdrawal",
        verbose_name=_("decision issued"),
    )

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ["-prepared_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")), name="withdrawal_four_eyes"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="prepared", approved_by__isnull=True, confirmed_at__isnull=True, decision__isnull=True)
                    | Q(
                        status="confirmed",
                        approved_by__isnull=False,
                        confirmed_at__isnull=False,
                        decision__isnull=False,
                    )
                ),
                name="withdrawal_confirmed_has_approver_and_decision",
            ),
            models.CheckConstraint(
                condition=Q(amount_after__gte=0, amount_after__lt=F("amount_before")),
                name="withdrawal_lowers_the_grant",
            ),
            models.UniqueConstraint(
                fields=["withdrawn"], condition=Q(status="prepared"), name="withdrawal_one_prepared_per_decision"
            ),
        ]

    def __str__(self) -> str:
        before, after = format_euro(self.amount_before), format_euro(self.amount_after)
        return f"{self.withdrawn.application.reference}: {before} → {after}"
