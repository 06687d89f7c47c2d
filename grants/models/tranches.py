"""Tranches and their windows: everything that differs per call is data here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .reference import HousingType, Scheme, TargetGroup

MONEY = {"max_digits": 14, "decimal_places": 2}


def decimal_text(amount: Decimal | None) -> str | None:
    """An amount as files and JSON write it: plain digits, a decimal point and two decimals."""
    return None if amount is None else f"{amount:.2f}"


class RankingInstant(models.TextChoices):
    RECEIPT = "receipt", _("first receipt")
    COMPLETION = "completion", _("receipt of the complete application")


class LastApplicationRule(models.TextChoices):
    PARTIAL = "partial", _("grant what is left")
    SKIP = "skip", _("skip it and try the next ones")
    STOP = "stop", _("stop allocating")


class Tranche(models.Model):
    """One call of a scheme. Ceiling and closing as first published; amendments change them."""

    scheme = models.ForeignKey(Scheme, models.PROTECT, related_name="tranches", verbose_name=_("scheme"))
    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    number = models.PositiveSmallIntegerField(_("number"), help_text=_("1 for the first tranche."))
    year = models.PositiveSmallIntegerField(_("year"))
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(
        _("source"), max_length=300, blank=True, help_text=_("Publication that sets this tranche.")
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"), help_text=_("As first published."))
    budget_ceiling = models.DecimalField(
        _("budget ceiling"), **MONEY, help_text=_("Uitkeringsplafond in euros, as first published.")
    )
    max_per_permanent_unit = models.DecimalField(_("maximum per permanent unit"), **MONEY)
    max_per_flexible_unit = models.DecimalField(_("maximum per flexible unit"), **MONEY)
    max_per_short_stay_unit = models.DecimalField(
        _("maximum per short-stay unit"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("Empty: short-stay units are not eligible in this tranche."),
    )
    max_per_municipality = models.DecimalField(
        _("maximum per municipality"), **MONEY, null=True, blank=True, help_text=_("Empty: no cap.")
    )
    min_units_per_application = models.PositiveIntegerField(
        _("minimum units per application"), default=1, validators=[MinValueValidator(1)]
    )
    information_term_days = models.PositiveSmallIntegerField(
        _("days to complete an application"),
        default=14,
        validators=[MinValueValidator(1)],
        help_text=_("Hersteltermijn (Awb 4:5): the days a municipality has to answer an information request."),
    )
    months_to_start = models.PositiveSmallIntegerField(_("months to start construction"), default=24)
    months_to_complete = models.PositiveSmallIntegerField(_("months to complete"), default=60)
    years_for_target_groups = models.PositiveSmallIntegerField(
        _("years the units stay for the target groups"), default=10
    )
    ranking_instant = models.CharField(
        _("ranking instant"), max_length=20, choices=RankingInstant.choices, default=RankingInstant.RECEIPT
    )
    last_application_rule = models.CharField(
        _("application that no longer fits"),
        max_length=20,
        choices=LastApplicationRule.choices,
        default=LastApplicationRule.PARTIAL,
    )
    transfer_unused_between_windows = models.BooleanField(_("transfer unused budget between windows"), default=False)
    required_attachments = models.JSONField(
        _("required attachments"),
        default=list,
        blank=True,
        help_text=_("Kinds of attachment an application needs before it can be submitted."),
    )
    receipt_prefix = models.CharField(
        _("receipt number prefix"), max_length=20, help_text=_("Receipt numbers read PREFIX-0001.")
    )
    last_receipt_number = models.PositiveIntegerField(_("last receipt number issued"), default=0, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tranche")
        verbose_name_plural = _("tranches")
        ordering = ["-opens_at"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "number"], name="tranche_number_unique_per_scheme"),
            models.UniqueConstraint(fields=["receipt_prefix"], name="tranche_receipt_prefix_unique"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="tranche_closes_after_opening"
            ),
            models.CheckConstraint(condition=Q(budget_ceiling__gt=0), name="tranche_ceiling_positive"),
            models.CheckConstraint(condition=Q(max_per_permanent_unit__gt=0), name="tranche_max_permanent_positive"),
            models.CheckConstraint(condition=Q(max_per_flexible_unit__gt=0), name="tranche_max_flexible_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    def _amendments(self, kind: str, instant: datetime) -> list[TrancheAmendment]:
        # Iterating .all() lets selectors prefetch the amendments once for a list of tranches.
        return sorted(
            (a for a in self.amendments.all() if a.kind == kind and a.effective_at <= instant),
            key=lambda a: a.effective_at,
        )

    def ceiling_at(self, instant: datetime) -> Decimal:
        amendments = self._amendments(AmendmentKind.CEILING, instant)
        return amendments[-1].new_ceiling if amendments else self.budget_ceiling

    def closes_at_in_force(self, instant: datetime) -> datetime:
        amendments = self._amendments(AmendmentKind.CLOSING, instant)
        return amendments[-1].new_closes_at if amendments else self.closes_at

    def is_open_at(self, instant: datetime) -> bool:
        return self.opens_at <= instant < self.closes_at_in_force(instant)

    def max_per_unit(self, *, permanence: str, housing_type: HousingType) -> Decimal | None:
        """The most a unit of this kind may receive; None when the kind is not eligible."""
        if housing_type.is_short_stay:
            return self.max_per_short_stay_unit
        if permanence == "permanent":
            return self.max_per_permanent_unit
        return self.max_per_flexible_unit


class AmendmentKind(models.TextChoices):
    CEILING = "ceiling", _("budget ceiling")
    CLOSING = "closing", _("closing instant")


class TrancheAmendment(models.Model):
    """A published change of a tranche's ceiling or closing; the original values stay on the tranche."""

    tranche = models.ForeignKey(Tranche, models.CASCADE, related_name="amendments", verbose_name=_("tranche"))
    kind = models.CharField(_("kind"), max_length=20, choices=AmendmentKind.choices)
    publication_reference = models.CharField(
        _("publication reference"), max_length=100, help_text=_("For example Stcrt. 2022, 25169.")
    )
    effective_at = models.DateTimeField(_("takes effect at"))
    old_ceiling = models.DecimalField(_("old ceiling"), **MONEY, null=True, blank=True)
    new_ceiling = models.DecimalField(_("new ceiling"), **MONEY, null=True, blank=True)
    old_closes_at = models.DateTimeField(_("old closing"), null=True, blank=True)
    new_closes_at = models.DateTimeField(_("new closing"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tranche amendment")
        verbose_name_plural = _("tranche amendments")
        ordering = ["tranche", "effective_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="ceiling", new_ceiling__gt=0, new_closes_at__isnull=True)
                    | Q(kind="closing", new_closes_at__isnull=False, new_ceiling__isnull=True)
                ),
                name="amendment_value_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["tranche", "kind", "publication_reference"], name="amendment_unique_per_publication"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tranche}: {self.get_kind_display()} ({self.publication_reference})"


class TrancheTargetGroup(models.Model):
    """A target group as one tranche names it, mapped to its national group."""

    tranche = models.ForeignKey(Tranche, models.CASCADE, related_name="target_groups", verbose_name=_("tranche"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    national_group = models.ForeignKey(
        TargetGroup, models.PROTECT, related_name="tranche_groups", verbose_name=_("national target group")
    )

    class Meta:
        verbose_name = _("target group of a tranche")
        verbose_name_plural = _("target groups of a tranche")
        ordering = ["tranche", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tranche", "code"], name="tranche_target_group_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class RankingMethod(models.TextChoices):
    FIRST_COME = "first_come", _("first come, first served")
    FIRST_COME_SAME_DAY_LOTTERY = (
        "first_come_same_day_lottery",
        _("first come, first served; lottery on the day the ceiling is exceeded"),
    )
    CATEGORY = "category", _("category ranking")
    LOTTERY = "lottery", _("lottery")
    PRO_RATA = "pro_rata", _("pro rata")


class TieBreak(models.TextChoices):
    RECEIPT = "receipt", _("receipt order")
    LOTTERY = "lottery", _("lottery")


class Window(models.Model):
    """An earmarked budget (deelplafond) inside a tranche; a tranche without sub-budgets has one."""

    tranche = models.ForeignKey(Tranche, models.CASCADE, related_name="windows", verbose_name=_("tranche"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    budget_ceiling = models.DecimalField(_("budget ceiling"), **MONEY, help_text=_("Deelplafond in euros."))
    ranking_method = models.CharField(
        _("ranking method"), max_length=40, choices=RankingMethod.choices, default=RankingMethod.FIRST_COME
    )
    category_rule = models.CharField(
        _("category rule"),
        max_length=40,
        blank=True,
        help_text=_("Name of the category rule used by category ranking, e.g. student_2025."),
    )
    tie_break = models.CharField(_("tie-break"), max_length=20, choices=TieBreak.choices, default=TieBreak.RECEIPT)
    eligible_target_groups = models.ManyToManyField(
        TrancheTargetGroup, related_name="windows", verbose_name=_("eligible target groups")
    )
    history = HistoricalRecords(m2m_fields=[eligible_target_groups])

    class Meta:
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        ordering = ["tranche", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tranche", "code"], name="window_code_unique_per_tranche"),
            models.CheckConstraint(condition=Q(budget_ceiling__gt=0), name="window_ceiling_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.tranche} – {self.name}"
