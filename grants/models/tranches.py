"""Tranches and their windows: everything that differs per call is data here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
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
    source = models.TextField(
        _("source"),
        blank=True,
        help_text=_("Publications that set this tranche, and which of its rules are assumed and why."),
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
        # Iterating .all() lets selectors prefetch the amendments once for a list of tranches. The status is
        # checked as well, so that a prefetch through TrancheAmendment.all_objects cannot count a prepared one.
        return sorted(
            (
                a
                for a in self.amendments.all()
                if a.kind == kind and a.status == AmendmentStatus.CONFIRMED and a.effective_at <= instant
            ),
            key=lambda a: a.effective_at,
        )

    def has_opened(self, instant: datetime) -> bool:
        """From its opening on, ceiling, closing and maxima change only by a confirmed amendment."""
        return self.opens_at <= instant

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
    WINDOW_CEILING = "window_ceiling", _("window ceiling")
    MAX_PER_UNIT = "max_per_unit", _("maximum per unit")
    MAX_PER_MUNICIPALITY = "max_per_municipality", _("maximum per municipality")


# Kinds whose confirmation writes the new value into the tranche or window, so every reader sees the value in
# force; the ceiling and the closing are derived from the amendments by the instant they take effect instead.
WRITTEN_KINDS = (AmendmentKind.WINDOW_CEILING, AmendmentKind.MAX_PER_UNIT, AmendmentKind.MAX_PER_MUNICIPALITY)


class UnitKind(models.TextChoices):
    """Which maximum per unit an amendment changes; the value names the tranche field."""

    PERMANENT = "max_per_permanent_unit", _("permanent unit")
    FLEXIBLE = "max_per_flexible_unit", _("flexible unit")
    SHORT_STAY = "max_per_short_stay_unit", _("short-stay unit")


class AmendmentStatus(models.TextChoices):
    PREPARED = "prepared", _("prepared, awaiting confirmation")
    CONFIRMED = "confirmed", _("confirmed")
    DISCARDED = "discarded", _("discarded")


class ConfirmedAmendmentManager(models.Manager):
    """Only confirmed amendments: the default manager, so that every reader of values in force ignores the others.

    tranche.amendments, prefetches and the ministry's totals read through it; all_objects holds every amendment.
    """

    def get_queryset(self):
        return super().get_queryset().filter(status=AmendmentStatus.CONFIRMED)


class TrancheAmendment(models.Model):
    """A published change of a tranche's ceiling, closing, window ceiling or maxima; the row is its audit trail.

    One agency user prepares it, another confirms it (four eyes); only then does it count. Ceiling and closing
    as first published stay on the tranche; the other kinds write their new value on confirmation.
    """

    tranche = models.ForeignKey(Tranche, models.CASCADE, related_name="amendments", verbose_name=_("tranche"))
    kind = models.CharField(_("kind"), max_length=20, choices=AmendmentKind.choices)
    # RESTRICT rather than PROTECT: deleting the whole tranche takes its windows and amendments along.
    window = models.ForeignKey(
        "Window",
        models.RESTRICT,
        null=True,
        blank=True,
        related_name="amendments",
        verbose_name=_("window"),
        help_text=_("Only for a window ceiling."),
    )
    unit_kind = models.CharField(
        _("kind of unit"),
        max_length=30,
        choices=UnitKind.choices,
        blank=True,
        help_text=_("Only for a maximum per unit."),
    )
    publication_reference = models.CharField(
        _("publication reference"), max_length=100, help_text=_("For example Stcrt. 2022, 25169.")
    )
    effective_at = models.DateTimeField(_("takes effect at"))
    old_ceiling = models.DecimalField(_("old ceiling"), **MONEY, null=True, blank=True)
    new_ceiling = models.DecimalField(_("new ceiling"), **MONEY, null=True, blank=True)
    old_closes_at = models.DateTimeField(_("old closing"), null=True, blank=True)
    new_closes_at = models.DateTimeField(_("new closing"), null=True, blank=True)
    old_amount = models.DecimalField(_("old amount"), **MONEY, null=True, blank=True)
    new_amount = models.DecimalField(
        _("new amount"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_(
            "For a window ceiling or a maximum, in euros. Empty: no maximum per municipality, or short-stay "
            "units no longer eligible."
        ),
    )
    # Rows written without the back office (tranche files, fixtures) are published facts and count at once; the
    # back office always prepares with PREPARED.
    status = models.CharField(
        _("status"), max_length=20, choices=AmendmentStatus.choices, default=AmendmentStatus.CONFIRMED
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("prepared by")
    )
    prepared_at = models.DateTimeField(_("prepared at"), auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("discarded by"),
    )
    discarded_at = models.DateTimeField(_("discarded at"), null=True, blank=True)
    discard_reason = models.TextField(_("reason for discarding"), blank=True)

    all_objects = models.Manager()
    objects = ConfirmedAmendmentManager()

    class Meta:
        verbose_name = _("tranche amendment")
        verbose_name_plural = _("tranche amendments")
        ordering = ["tranche", "effective_at"]
        default_manager_name = "objects"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="ceiling", new_ceiling__gt=0, new_closes_at__isnull=True, new_amount__isnull=True)
                    | Q(kind="closing", new_closes_at__isnull=False, new_ceiling__isnull=True, new_amount__isnull=True)
                    | Q(kind="window_ceiling", window__isnull=False, new_amount__gt=0)
                    | Q(kind="max_per_unit", unit_kind__in=UnitKind.values, new_amount__gt=0)
                    | Q(kind="max_per_unit", unit_kind=UnitKind.SHORT_STAY, new_amount__isnull=True)
                    | Q(kind="max_per_municipality", new_amount__gt=0)
                    | Q(kind="max_per_municipality", new_amount__isnull=True)
                )
                & (Q(kind="window_ceiling") | Q(window__isnull=True))
                & (Q(kind="max_per_unit") | Q(unit_kind=""))
                & (Q(kind__in=["ceiling", "closing"]) | Q(new_ceiling__isnull=True, new_closes_at__isnull=True)),
                name="amendment_value_matches_kind",
            ),
            # An amendment without a window counts as window 0, so that two of them also collide (on SQLite too,
            # which cannot make NULLs equal in a unique index).
            models.UniqueConstraint(
                "tranche",
                "kind",
                Coalesce("window", Value(0)),
                "unit_kind",
                "publication_reference",
                condition=~Q(status="discarded"),
                name="amendment_unique_per_publication",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        status="prepared",
                        prepared_by__isnull=False,
                        confirmed_at__isnull=True,
                        discarded_at__isnull=True,
                    )
                    | Q(status="confirmed", discarded_at__isnull=True)
                    | Q(status="discarded", discarded_by__isnull=False, confirmed_at__isnull=True)
                )
                & (Q(confirmed_by__isnull=True) | Q(confirmed_at__isnull=False))
                & (Q(discarded_by__isnull=True) | Q(discarded_at__isnull=False)),
                name="amendment_status_matches_its_trail",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=F("prepared_by")),
                name="amendment_confirmed_by_another_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tranche}: {self.get_kind_display()} ({self.publication_reference})"

    @property
    def target(self) -> str:
        """What the amendment changes, as the back office names it: the kind, and which window or unit."""
        if self.kind == AmendmentKind.WINDOW_CEILING:
            return f"{self.get_kind_display()}: {self.window.name}"
        if self.kind == AmendmentKind.MAX_PER_UNIT:
            return f"{self.get_kind_display()}: {self.get_unit_kind_display()}"
        return str(self.get_kind_display())


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
