"""Rules that are parameters of a year or of a published annex: rent limits and fixed allocations."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .reference import Municipality
from .tranches import MONEY, Tranche

RENT = {"max_digits": 8, "decimal_places": 2}


class RentLimit(models.Model):
    """The rent parameters of one calendar year, as published by the ministry."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    aftoppingsgrens = models.DecimalField(
        _("aftoppingsgrens"),
        **RENT,
        help_text=_(
            "Lower capping limit of the rent-benefit act, for households of one or two persons, in euros per "
            "month. A unit line's planned initial rent must not exceed it; the higher limit for three or more "
            "persons is not used, so that a unit is affordable for every household size."
        ),
    )
    max_starting_rent = models.DecimalField(
        _("maximum starting rent of the points system"),
        **RENT,
        help_text=_("Liberalisatiegrens: the highest starting rent of regulated (social) rent, in euros per month."),
    )
    max_yearly_increase_percent = models.DecimalField(
        _("maximum yearly rent increase (%)"),
        max_digits=5,
        decimal_places=2,
        help_text=_(
            "Legal maximum increase of regulated rents taking effect on 1 July of this year. Not checked on an "
            "application, which only has an initial rent; kept for reporting and monitoring."
        ),
    )
    source = models.CharField(
        _("source"),
        max_length=500,
        help_text=_("Publications the values come from; values that could not be confirmed say so here."),
    )

    class Meta:
        verbose_name = _("rent limit")
        verbose_name_plural = _("rent limits")
        ordering = ["year"]
        constraints = [
            models.CheckConstraint(condition=Q(aftoppingsgrens__gt=0), name="rent_limit_aftoppingsgrens_positive"),
            # The aftoppingsgrens lies below the liberalisatiegrens, so one check against it covers both tests.
            models.CheckConstraint(
                condition=Q(max_starting_rent__gte=models.F("aftoppingsgrens")),
                name="rent_limit_starting_rent_at_least_aftoppingsgrens",
                violation_error_message=_("The aftoppingsgrens cannot be above the maximum starting rent."),
            ),
            models.CheckConstraint(
                condition=Q(max_yearly_increase_percent__gte=0), name="rent_limit_increase_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)


class FixedAllocation(models.Model):
    """An amount for one municipality from the annex of a tranche without a call (2020)."""

    tranche = models.ForeignKey(Tranche, models.PROTECT, related_name="fixed_allocations", verbose_name=_("tranche"))
    municipality = models.ForeignKey(
        Municipality, models.PROTECT, related_name="fixed_allocations", verbose_name=_("municipality")
    )
    amount = models.DecimalField(_("amount"), **MONEY, help_text=_("In euros, as in the annex."))
    units = models.PositiveIntegerField(
        _("units"), null=True, blank=True, help_text=_("Number of units, when the annex names it.")
    )
    publication_reference = models.CharField(
        _("publication reference"), max_length=100, help_text=_("For example Stcrt. 2020, 58877.")
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        verbose_name = _("fixed allocation")
        verbose_name_plural = _("fixed allocations")
        ordering = ["tranche", "municipality__name"]
        constraints = [
            models.UniqueConstraint(fields=["tranche", "municipality"], name="fixed_allocation_unique_per_tranche"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fixed_allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(units__isnull=True) | Q(units__gt=0), name="fixed_allocation_units_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tranche}: {self.municipality}"
