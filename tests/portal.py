"""Helpers for the portal tests: logged-in clients and the POST data of the application form."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from django.urls import reverse

from applications.models import Application
from grants.models import HousingType


def client_for(user, *, language: str = "en") -> Client:
    """A client logged in as `user`, reading the portal in `language` so messages can be asserted."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def url(name: str, application: Application, *args) -> str:
    return reverse(f"portal:{name}", args=[application.public_id, *args])


def line(application: Application, **overrides) -> dict:
    """One unit line as the form posts it: ten permanent regular homes for homeless people, maximum amount."""
    if "target_group" not in overrides:
        overrides["target_group"] = application.window.eligible_target_groups.get(code="homeless").pk
    values = {
        "housing_type": HousingType.objects.get(code="regular").pk,
        "permanence": "permanent",
        "construction": "new_build",
        "self_contained": "True",
        "units": "10",
        "requested_amount": "",
        "planned_monthly_rent": "",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def edit_data(application: Application, lines: list[dict], **fields) -> dict:
    """The POST of the edit page; every row counts as new, which is how the formset treats unknown rows."""
    data = {
        "project_name": application.project_name,
        "location": application.location,
        "description": application.description,
        "planned_start": "",
        "planned_completion": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    for index, values in enumerate(lines):
        data.update({f"lines-{index}-{key}": value for key, value in values.items()})
    return data
