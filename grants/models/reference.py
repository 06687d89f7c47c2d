"""Reference data: municipalities, national target groups, housing types and schemes."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Province(models.TextChoices):
    GRONINGEN = "Groningen", "Groningen"
    FRYSLAN = "Fryslân", "Fryslân"
    DRENTHE = "Drenthe", "Drenthe"
    OVERIJSSEL = "Overijssel", "Overijssel"
    FLEVOLAND = "Flevoland", "Flevoland"
    GELDERLAND = "Gelderland", "Gelderland"
    UTRECHT = "Utrecht", "Utrecht"
    NOORD_HOLLAND = "Noord-Holland", "Noord-Holland"
    ZUID_HOLLAND = "Zuid-Holland", "Zuid-Holland"
    ZEELAND = "Zeeland", "Zeeland"
    NOORD_BRABANT = "Noord-Brabant", "Noord-Brabant"
    LIMBURG = "Limburg", "Limburg"


class Municipality(models.Model):
    code = models.CharField(
        _("CBS code"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^GM\d{4}$", _("A CBS code looks like GM0363."))],
        help_text=_("Municipality code of Statistics Netherlands, e.g. GM0363."),
    )
    name = models.CharField(_("name"), max_length=100)
    province = models.CharField(_("province"), max_length=20, choices=Province.choices)

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^GM[0-9]{4}$"), name="municipality_code_format"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TargetGroup(models.Model):
    """A national target group: stable across tranches, so that figures add up over the years."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("national target group")
        verbose_name_plural = _("national target groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HousingType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_short_stay = models.BooleanField(
        _("short stay"),
        default=False,
        help_text=_("Short-stay units (verblijfsruimten) are funded at their own rate, if at all."),
    )

    class Meta:
        verbose_name = _("housing type")
        verbose_name_plural = _("housing types")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Scheme(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("scheme")
        verbose_name_plural = _("schemes")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
