"""Retention of the municipalities' contact persons (docs/privacy.md): their accounts are anonymised a number of
years after the settlement of the last grant they could have worked on.

Rather than tracing every record a user touched, the rule bounds it: a municipal user can only have worked on
their own municipality's applications created before they could no longer log in, which is at the latest the idle
period after their last login (accounts.retention deactivates them then). Once each such application is settled,
or ended without a grant, longer ago than the period, nothing needs their name any more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, Value
from django.db.models.functions import Coalesce

from accounts.models import MUNICIPAL_ROLES, User
from accounts.retention import retention_rule, years_before
from applications.models import Application, Status

from .models import Settlement, SettlementStatus

ANONYMISED_PREFIX = "anonymised-"
# Final without a settlement: refused, withdrawn by the municipality, or a grant withdrawn by the agency.
ENDED_WITHOUT_GRANT = (Status.REFUSED, Status.WITHDRAWN, Status.GRANT_WITHDRAWN)


@retention_rule("contact_persons", action="anonymised")
def anonymise_contact_persons(now: datetime) -> int:
    """Deactivated municipal accounts lose name, e-mail address, username and password; the rows stay, so the
    case files keep pointing at them."""
    cutoff = years_before(now, "contact_person")
    settled = Settlement.objects.filter(
        decision__application=OuterRef("pk"),
        decision__is_current=True,
        status=SettlementStatus.CONFIRMED,
        confirmed_at__lt=cutoff,
    )
    open_cases = (
        Application.objects.alias(settled=Exists(settled))
        .filter(municipality=OuterRef("municipality"), created_at__lte=OuterRef("reach"))
        .exclude(Q(settled=True) | Q(status__in=ENDED_WITHOUT_GRANT, updated_at__lt=cutoff))
    )
    # A year is at most 366 days: the bound errs on the side of keeping.
    idle = timedelta(days=366 * settings.RETENTION_YEARS["idle_account"])
    ids = list(
        User.objects.filter(role__in=MUNICIPAL_ROLES, is_active=False)
        .exclude(username__startswith=ANONYMISED_PREFIX)
        .alias(reach=ExpressionWrapper(Coalesce("last_login", "date_joined") + Value(idle), DateTimeField()))
        .exclude(Exists(open_cases))
        .values_list("pk", flat=True)
    )
    for pk in ids:
        User.objects.filter(pk=pk).update(
            username=f"{ANONYMISED_PREFIX}{pk}", first_name="", last_name="", email="", password=make_password(None)
        )
    return len(ids)
