"""Reads of applications. Every view and endpoint starts here, so isolation lives in one place."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Application, UnitLine


def applications_visible_to(*, user) -> QuerySet[Application]:
    qs = Application.objects.select_related("municipality", "tranche", "window")
    if user.is_agency or user.is_ministry:
        return qs
    if user.is_municipal:
        return qs.filter(municipality_id=user.municipality_id)
    return qs.none()


def application_for_detail(*, user, public_id) -> Application:
    """The application with its lines and attachments; Application.DoesNotExist when not visible."""
    return (
        applications_visible_to(user=user)
        .prefetch_related(
            Prefetch(
                "unit_lines",
                queryset=UnitLine.objects.select_related("target_group", "housing_type"),
            ),
            "attachments",
            "status_changes__actor",
        )
        .get(public_id=public_id)
    )
