"""Helpers for the API tests: clients that carry a token, and JSON requests."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts.tokens import issue_api_token
from applications.models import Application


def token_client(user, *, language: str = "en") -> Client:
    """A client as a machine uses the API: a token of `user`, no session, messages in `language`."""
    _token, key = issue_api_token(user=user, name="test system")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE=language)


def post(client: Client, url: str, data=None, **headers):
    return client.post(url, data if data is not None else {}, content_type="application/json", headers=headers)


def patch(client: Client, url: str, data):
    return client.patch(url, data, content_type="application/json")


def application_url(application: Application, action: str = "") -> str:
    if not action:
        return reverse("api:application-detail", args=[application.public_id])
    return reverse(f"api:application-{action}", args=[application.public_id])


def draft_body(tranche, /, **overrides) -> dict:
    """A new draft with one line of ten permanent regular homes for homeless people, at the maximum amount."""
    body = {
        "tranche": tranche.slug,
        "project_name": "Wooncomplex De Rank",
        "location": "Stationsstraat 1",
        "unit_lines": [{"target_group": "homeless", "housing_type": "regular", "permanence": "permanent", "units": 10}],
    }
    body.update(overrides)
    return body
