"""Blocks other portal pages include to show a grant's progress: {% progress_status application %} on the
application page and {% grants_needing_attention %} on the home page.
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from applications.models import Application
from realisation import permissions, selectors
from realisation.models import SettlementStatus

register = template.Library()

HOME_ATTENTION = 5


@register.inclusion_tag("portal/progress/_status.html", takes_context=True)
def progress_status(context, application: Application) -> dict:
    """Nothing for an application without a grant, so that only granted applications cost a query."""
    if application.status not in selectors.GRANTED_STATUSES:
        return {"grant": None}
    user = context["request"].user
    grant = selectors.grants_with_progress(user=user, today=timezone.localdate()).filter(pk=application.pk).first()
    return {
        "grant": grant,
        "show_link": True,
        "may_report": (
            grant is not None
            and grant.settlement_status != SettlementStatus.CONFIRMED
            and permissions.can_report_progress(user, grant)[0]
        ),
    }


@register.inclusion_tag("portal/progress/_attention.html", takes_context=True)
def grants_needing_attention(context) -> dict:
    user = context["request"].user
    if not user.is_municipal:
        return {"grants": []}
    return {"grants": selectors.grants_needing_attention(user=user, today=timezone.localdate())[:HOME_ATTENTION]}
