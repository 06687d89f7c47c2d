"""Allocation runs, their ranked lines, the tranche's lottery seed and the record of every allocation step.

A run is prepared as a preview by one agency user and confirmed by another with the approver role.
A confirmed run is immutable: allocation.services refuses to change it, and it stores the ranked inputs
and the rules it applied, so that allocation.selectors.reproduce_run() can redo it. Every run of a tranche
uses the tranche's LotterySeed, sealed before the first preview; AllocationEvent records every step.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from grants.models import MONEY, Tranche, Window
from grants.templatetags.instants import format_instant

from ..engine import Outcome, Reason


class RunKind(models.TextChoices):
    INITIAL = "initial", _("initial allocation")
    SUPPLEMENTARY = "supplementary", _("supplementary allocation from the reserve list")


class RunStatus(models.TextChoices):
    PREVIEW = "preview", _("preview")
    CONFIRMED = "confirmed", _("confirmed")


class LineOutcome(models.TextChoices):
    FUNDED = Outcome.FUNDED.value, _("funded")
    PARTIAL = Outcome.PARTIAL.value, _("partially funded")
    RESERVE = Outcome.RESERVE.value, _("reserve list")
    REFUSED = Outcome.REFUSED.value, _("refused")


class AllocationReason(models.TextChoices):
    FITS = Reason.FITS.value, _("The request fits within the budget ceiling.")
    BUDGET_REMAINDER = Reason.BUDGET_REMAINDER.value, _("Only the rest of the budget ceiling was left.")
    BUDGET_EXHAUSTED = Reason.BUDGET_EXHAUSTED.value, _("The budget ceiling has been reached; on the reserve list.")
    MUNICIPAL_CAP_PARTIAL = (
        Reason.MUNICIPAL_CAP_PARTIAL.value,
        _("Granted up to the maximum per municipality in this tranche."),
    )
    MUNICIPAL_CAP = Reason.MUNICIPAL_CAP.value, _("The municipality has reached the maximum per municipality.")
    PRO_RATA = Reason.PRO_RATA.value, _("Every application receives the same share of the budget ceiling.")
    TRANSFER = Reason.TRANSFER.value, _("Funded from the unused budget of another window.")


class AllocationRun(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    tranche = models.ForeignKey(Tranche, models.PROTECT, related_name="allocation_runs", verbose_name=_("tranche"))
    window = models.ForeignKey(
        Window,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="allocation_runs",
        verbose_name=_("window"),
        help_text=_("Empty: the run covers every window of the tranche."),
    )
    kind = models.CharField(
        _("kind"),
        max_length=20,
        choices=RunKind.choices,
        default=RunKind.INITIAL,
        help_text=_("A supplementary run serves the reserve list, in the original rank order, with budget come free."),
    )
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.PREVIEW)
    seed = models.PositiveBigIntegerField(_("lottery seed"), help_text=_("Recorded so that anyone can redo the draw."))
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("prepared by")
    )
    prepared_at = models.DateTimeField(_("prepared at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    ceiling = models.DecimalField(
        _("ceiling used"), **MONEY, help_text=_("The ceiling in force when the run was prepared, for its scope.")
    )
    requested_total = models.DecimalField(_("requested"), **MONEY)
    proposed_total = models.DecimalField(_("proposed"), **MONEY)
    oversubscription = models.DecimalField(
        _("oversubscription"), **MONEY, help_text=_("Requested less the ceiling; 0 when every request fits.")
    )
    inputs = models.JSONField(_("ranked inputs"), help_text=_("The applications as they were ranked, for audit."))
    rules = models.JSONField(_("rules applied"), help_text=_("The tranche and window settings the run applied."))
    ranked_list_sha256 = models.CharField(
        _("ranked list SHA-256"),
        max_length=64,
        help_text=_("The SHA-256 of the receipt numbers in rank order, as docs/rules.md (The draw) defines it."),
    )

    class Meta:
        verbose_name = _("allocation run")
        verbose_name_plural = _("allocation runs")
        ordering = ["-prepared_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")),
                name="allocation_run_four_eyes",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="preview", approved_by__isnull=True, confirmed_at__isnull=True)
                    | Q(status="confirmed", approved_by__isnull=False, confirmed_at__isnull=False)
                ),
                name="allocation_run_confirmed_has_approver",
            ),
            models.UniqueConstraint(
                fields=["window"],
                condition=Q(status="confirmed", kind="initial"),
                name="allocation_run_one_confirmed_per_window",
            ),
            models.UniqueConstraint(
                fields=["tranche"],
                condition=Q(status="confirmed", kind="initial", window__isnull=True),
                name="allocation_run_one_confirmed_per_tranche",
            ),
            # A supplementary run serves the reserve list of the whole tranche, windows together.
            models.CheckConstraint(
                condition=Q(kind="initial") | Q(window__isnull=True), name="allocation_run_supplementary_whole_tranche"
            ),
            models.CheckConstraint(
                condition=Q(ceiling__gte=0, requested_total__gte=0, proposed_total__gte=0, oversubscription__gte=0),
                name="allocation_run_amounts_not_negative",
            ),
            models.CheckConstraint(condition=Q(proposed_total__lte=F("ceiling")), name="allocation_run_within_ceiling"),
        ]

    def __str__(self) -> str:
        scope = self.window.name if self.window_id else _("all windows")
        return f"{self.tranche} – {scope} ({self.get_status_display()}, {format_instant(self.prepared_at)})"

    @property
    def is_confirmed(self) -> bool:
        return self.status == RunStatus.CONFIRMED


class AllocationLine(models.Model):
    """One application's place in a run: its rank within its window and what it is proposed."""

    run = models.ForeignKey(AllocationRun, models.CASCADE, related_name="lines", verbose_name=_("allocation run"))
    application = models.ForeignKey(
        "applications.Application", models.PROTECT, related_name="allocation_lines", verbose_name=_("application")
    )
    window = models.ForeignKey(Window, models.PROTECT, related_name="+", verbose_name=_("window"))
    rank = models.PositiveIntegerField(_("rank"), help_text=_("1 is funded first, within the window."))
    category = models.CharField(_("category"), max_length=10, blank=True)
    drawn = models.BooleanField(_("order drawn by lot"), default=False)
    requested = models.DecimalField(_("requested"), **MONEY)
    proposed = models.DecimalField(_("proposed"), **MONEY)
    cumulative = models.DecimalField(_("cumulative proposed"), **MONEY)
    outcome = models.CharField(_("outcome"), max_length=20, choices=LineOutcome.choices)
    reason = models.CharField(_("reason"), max_length=30, choices=AllocationReason.choices)

    class Meta:
        verbose_name = _("allocation line")
        verbose_name_plural = _("allocation lines")
        ordering = ["run", "window", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "application"], name="allocation_line_once_per_run"),
            models.UniqueConstraint(fields=["run", "window", "rank"], name="allocation_line_rank_unique"),
            models.CheckConstraint(
                condition=Q(requested__gte=0, proposed__gte=0, cumulative__gte=0, proposed__lte=F("requested")),
                name="allocation_line_amounts_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(outcome="funded", proposed=F("requested"))
                    | Q(outcome="partial", proposed__gt=0, proposed__lt=F("requested"))
                    | Q(outcome__in=["reserve", "refused"], proposed=0)
                ),
                name="allocation_line_outcome_matches_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rank}. {self.application} – {self.get_outcome_display()}"


class SeedSource(models.TextChoices):
    SYSTEM = "system", _("drawn by the system")
    EXTERNAL = "external", _("external draw")


# The largest seed the database stores (PositiveBigIntegerField).
MAX_SEED = 2**63 - 1


class LotterySeed(models.Model):
    """A tranche's lottery seed, sealed before anyone sees a ranked list, so that no one can choose it after.

    One per tranche: the windows close with the tranche, and a run of one window or of all uses the same seed.
    Either the first preview after the closing seals a seed the system draws, or one agency user enters the seed
    of an external draw (e.g. a notary's) and a second seals it by confirming. A sealed seed never changes.
    """

    tranche = models.OneToOneField(Tranche, models.PROTECT, related_name="lottery_seed", verbose_name=_("tranche"))
    seed = models.PositiveBigIntegerField(_("lottery seed"))
    source = models.CharField(_("source"), max_length=20, choices=SeedSource.choices)
    external_reference = models.CharField(
        _("external draw"),
        max_length=200,
        blank=True,
        help_text=_("Where the seed was drawn, e.g. the notary and the number of the deed."),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
        help_text=_("Empty for a seed the system drew."),
    )
    entered_at = models.DateTimeField(_("entered at"))
    sealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sealed by"),
        help_text=_("Who confirmed the external seed, or whose first preview sealed the system's."),
    )
    sealed_at = models.DateTimeField(
        _("sealed at"), null=True, blank=True, help_text=_("Empty while an external seed awaits confirmation.")
    )

    class Meta:
        verbose_name = _("lottery seed")
        verbose_name_plural = _("lottery seeds")
        ordering = ["tranche"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(source="system", entered_by__isnull=True, external_reference="", sealed_at__isnull=False)
                    | (
                        Q(source="external", entered_by__isnull=False)
                        & ~Q(external_reference="")
                        & (
                            Q(sealed_at__isnull=True, sealed_by__isnull=True)
                            | Q(sealed_at__isnull=False, sealed_by__isnull=False)
                        )
                    )
                ),
                name="lottery_seed_source_complete",
            ),
            models.CheckConstraint(
                condition=Q(sealed_by__isnull=True) | Q(entered_by__isnull=True) | ~Q(sealed_by=F("entered_by")),
                name="lottery_seed_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tranche}: {self.seed} ({self.get_source_display()})"

    @property
    def is_sealed(self) -> bool:
        return self.sealed_at is not None


class EventKind(models.TextChoices):
    SEED_ENTERED = "seed_entered", _("external seed entered")
    SEED_SEALED = "seed_sealed", _("seed sealed")
    PREVIEWED = "previewed", _("ranked list previewed")
    DISCARDED = "discarded", _("preview discarded")
    CONFIRMED = "confirmed", _("allocation confirmed")


class AllocationEvent(models.Model):
    """Audit record of one allocation step: who, when, what, with the seed and the ranked list it concerned.

    Every preview leaves one, printed or stored, so the record shows who saw which ranked list before the
    confirmation. A discarded run is deleted; its events keep its public id.
    """

    tranche = models.ForeignKey(Tranche, models.PROTECT, related_name="allocation_events", verbose_name=_("tranche"))
    window = models.ForeignKey(
        Window,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("window"),
        help_text=_("Empty: every window of the tranche, or the tranche's seed."),
    )
    kind = models.CharField(_("step"), max_length=20, choices=EventKind.choices)
    run_public_id = models.UUIDField(_("allocation run"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty for the allocate command run without an agency user."),
    )
    at = models.DateTimeField(_("at"))
    seed = models.PositiveBigIntegerField(_("lottery seed"), null=True, blank=True)
    ranked_list_sha256 = models.CharField(_("ranked list SHA-256"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("allocation event")
        verbose_name_plural = _("allocation events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.tranche}: {self.get_kind_display()} ({format_instant(self.at)})"
