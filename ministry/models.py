"""Stored totals for the ministry, and the published figures they are shown next to.

ministry.services computes the totals from applications and decisions and stores them as one generation of
TotalsRow rows; the dashboard, exports, progress letter and API only read these rows, so reading stays
cheap however many unit lines there are.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from applications.models import Permanence
from grants.models import (
    MONEY,
    HousingType,
    Municipality,
    Province,
    Scheme,
    TargetGroup,
    Tranche,
    TrancheTargetGroup,
    Window,
)


class TotalsScope(models.TextChoices):
    SCHEME = "scheme", _("scheme, all tranches")
    TRANCHE = "tranche", _("tranche")
    WINDOW = "window", _("window")
    PROVINCE = "province", _("province")
    MUNICIPALITY = "municipality", _("municipality")
    TARGET_GROUP = "target_group", _("national target group")
    TRANCHE_TARGET_GROUP = "tranche_target_group", _("target group of a tranche")
    HOUSING_TYPE = "housing_type", _("housing type")
    PERMANENCE = "permanence", _("permanent or flexible")
    # Rows of this scope come from the completion dates in progress reports; until those exist there are none.
    COMPLETION_YEAR = "completion_year", _("year of completion")


# The dimension columns each scope sets; every other dimension column stays empty.
SCOPE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    TotalsScope.SCHEME: (),
    TotalsScope.TRANCHE: ("tranche",),
    TotalsScope.WINDOW: ("tranche", "window"),
    TotalsScope.PROVINCE: ("province",),
    TotalsScope.MUNICIPALITY: ("province", "municipality"),
    TotalsScope.TARGET_GROUP: ("target_group",),
    TotalsScope.TRANCHE_TARGET_GROUP: ("tranche", "tranche_target_group", "target_group"),
    TotalsScope.HOUSING_TYPE: ("housing_type",),
    TotalsScope.PERMANENCE: ("permanence",),
    TotalsScope.COMPLETION_YEAR: ("year",),
}
# Scopes whose rows exist both per tranche and, with an empty tranche, cumulatively over all tranches.
CUMULATIVE_SCOPES = (
    TotalsScope.PROVINCE,
    TotalsScope.MUNICIPALITY,
    TotalsScope.TARGET_GROUP,
    TotalsScope.HOUSING_TYPE,
    TotalsScope.PERMANENCE,
    TotalsScope.COMPLETION_YEAR,
)
TEXT_DIMENSIONS = ("province", "permanence")
DIMENSIONS = (
    "tranche",
    "window",
    "province",
    "municipality",
    "target_group",
    "tranche_target_group",
    "housing_type",
    "permanence",
    "year",
)


def _dimension_set(name: str, is_set: bool) -> Q:
    if name in TEXT_DIMENSIONS:
        return ~Q(**{name: ""}) if is_set else Q(**{name: ""})
    return Q(**{f"{name}__isnull": not is_set})


def _scope_shape(scope: str) -> Q:
    condition = Q(scope=scope)
    for name in DIMENSIONS:
        if name == "tranche" and scope in CUMULATIVE_SCOPES:
            continue
        condition &= _dimension_set(name, name in SCOPE_DIMENSIONS[scope])
    return condition


def _scope_shapes() -> Q:
    condition = Q()
    for scope in TotalsScope.values:
        condition |= _scope_shape(scope)
    return condition


DIMENSION_RELATIONS = (
    "scheme",
    "tranche",
    "window",
    "municipality",
    "target_group",
    "tranche_target_group",
    "housing_type",
)


class TotalsRowQuerySet(models.QuerySet):
    def with_dimensions(self):
        """Rows with the objects their dimensions refer to: one query per kind of dimension present.

        Fetched apart rather than joined: planning a join of eight tables took longer than reading the rows.
        """
        return self.prefetch_related(*DIMENSION_RELATIONS)


class TotalsRow(models.Model):
    """The totals of one scope and its dimension values (e.g. tranche rha-2023 × province Utrecht).

    An empty tranche on a breakdown scope means cumulative over all tranches of the scheme. A refresh
    writes a new generation and deletes the previous one in the same transaction, so readers always
    see one complete set.
    """

    generation = models.PositiveBigIntegerField(_("generation"), db_index=True)
    computed_at = models.DateTimeField(_("computed at"))
    scope = models.CharField(_("scope"), max_length=30, choices=TotalsScope.choices)

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="+", verbose_name=_("scheme"))
    tranche = models.ForeignKey(
        Tranche,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tranche"),
        help_text=_("Empty: cumulative over all tranches of the scheme."),
    )
    window = models.ForeignKey(
        Window, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("window")
    )
    province = models.CharField(_("province"), max_length=20, choices=Province.choices, blank=True)
    municipality = models.ForeignKey(
        Municipality, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("municipality")
    )
    target_group = models.ForeignKey(
        TargetGroup, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("national target group")
    )
    tranche_target_group = models.ForeignKey(
        TrancheTargetGroup,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("target group of the tranche"),
    )
    housing_type = models.ForeignKey(
        HousingType, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("housing type")
    )
    permanence = models.CharField(_("permanent or flexible"), max_length=20, blank=True, choices=Permanence.choices)
    year = models.PositiveSmallIntegerField(_("year of completion"), null=True, blank=True)

    budget = models.DecimalField(
        _("budget"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("Ceiling in force for a tranche or window; their sum for a scheme; empty for breakdowns."),
    )
    requested = models.DecimalField(_("requested"), **MONEY, default=0)
    oversubscription = models.DecimalField(
        _("oversubscription"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("Requested less the budget, at least 0; for a scheme the sum over its tranches."),
    )
    applications_submitted = models.PositiveIntegerField(_("applications submitted"), default=0)
    municipalities_submitted = models.PositiveIntegerField(_("municipalities that applied"), default=0)
    applications_granted = models.PositiveIntegerField(_("applications granted"), default=0)
    municipalities_granted = models.PositiveIntegerField(_("municipalities granted"), default=0)
    units_granted = models.PositiveIntegerField(_("units granted"), default=0)
    units_permanent = models.PositiveIntegerField(_("permanent units granted"), default=0)
    units_flexible = models.PositiveIntegerField(_("flexible units granted"), default=0)
    amount_granted = models.DecimalField(
        _("amount granted"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("Empty for target groups, housing types and permanence: amounts are decided per application."),
    )
    # The next three fill from progress reports and settlement once those are recorded.
    units_realised = models.PositiveIntegerField(_("units realised"), default=0)
    amount_settled = models.DecimalField(_("amount settled"), **MONEY, default=0)
    amount_reclaimed = models.DecimalField(_("amount reclaimed"), **MONEY, default=0)

    objects = TotalsRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("totals row")
        verbose_name_plural = _("totals rows")
        ordering = ["scope", "id"]
        constraints = [
            models.CheckConstraint(condition=_scope_shapes(), name="totals_row_dimensions_match_scope"),
            models.UniqueConstraint(
                "generation",
                "scope",
                "scheme",
                Coalesce("tranche", Value(0)),
                Coalesce("window", Value(0)),
                "province",
                Coalesce("municipality", Value(0)),
                Coalesce("target_group", Value(0)),
                Coalesce("tranche_target_group", Value(0)),
                Coalesce("housing_type", Value(0)),
                "permanence",
                Coalesce("year", Value(0)),
                name="totals_row_unique_per_generation",
            ),
            models.CheckConstraint(
                condition=Q(units_granted=models.F("units_permanent") + models.F("units_flexible")),
                name="totals_row_units_add_up",
            ),
            models.CheckConstraint(
                condition=Q(
                    applications_granted__lte=models.F("applications_submitted"),
                    municipalities_granted__lte=models.F("municipalities_submitted"),
                ),
                name="totals_row_granted_within_submitted",
            ),
            models.CheckConstraint(
                condition=Q(requested__gte=0, amount_settled__gte=0, amount_reclaimed__gte=0)
                & (Q(budget__isnull=True) | Q(budget__gte=0))
                & (Q(oversubscription__isnull=True) | Q(oversubscription__gte=0))
                & (Q(amount_granted__isnull=True) | Q(amount_granted__gte=0)),
                name="totals_row_amounts_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["scope", "tranche"], name="totals_row_scope_tranche")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.pk} ({self.computed_at:%Y-%m-%d %H:%M})"


class PublishedFigure(models.Model):
    """A figure as an authority published it, shown next to computed totals and never mixed with them."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    label = models.CharField(_("label"), max_length=200)
    value = models.PositiveIntegerField(_("value"))
    definition = models.TextField(_("definition"), help_text=_("What the figure counts, as far as the source says."))
    source = models.CharField(_("source"), max_length=300)
    as_of = models.DateField(_("as of"), help_text=_("When the source published the figure (month precision)."))

    class Meta:
        verbose_name = _("published figure")
        verbose_name_plural = _("published figures")
        ordering = ["as_of", "code"]

    def __str__(self) -> str:
        return f"{self.label}: {self.value}"
