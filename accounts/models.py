"""Users and their role. A municipal user acts for exactly one municipality.

Organisation login (eHerkenning) will set municipality and role from the mandate it carries;
everything else asks the user's role through the helpers below, never the login method.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
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
