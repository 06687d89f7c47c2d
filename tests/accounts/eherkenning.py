"""Helpers for the eHerkenning tests: the broker's back channel answered by the test server, and a login through
the stand-in broker as a person makes it (accounts.mock_eherkenning).

mozilla-django-oidc asks the token and key endpoints with `requests`; ClientAdapter hands those requests to
Django's test client, so the backend's real code runs against the mock, inside the test's transaction.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from accounts.eherkenning import username_for
from accounts.mock_eherkenning import MockLoginForm
from accounts.models import Role


class ClientAdapter(BaseAdapter):
    """A transport for `requests` that asks the Django test server instead of the network."""

    def __init__(self) -> None:
        super().__init__()
        self.client = Client()
        self.sent: list[str] = []

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        assert url.hostname == "testserver", request.url
        self.sent.append(f"{request.method} {url.path}")
        headers = {
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in request.headers.items()
            if name.lower() not in {"content-type", "content-length"}
        }
        answer = self.client.generic(
            request.method,
            f"{url.path}?{url.query}" if url.query else url.path,
            data=request.body or b"",
            content_type=request.headers.get("Content-Type", ""),
            **headers,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def service_of(role: Role) -> str:
    """The service id whose mandate gives `role` (EHERKENNING_SERVICES)."""
    return next(service for service, mapped in settings.EHERKENNING_SERVICES.items() if mapped == role)


def mock_username(name: str) -> str:
    """The username the stand-in broker's person of that name gets."""
    form = MockLoginForm(data={"organisation": "GM0344", "service": "", "assurance": "loa3", "name": name})
    assert form.is_valid(), form.errors
    return username_for(form.claims()["sub"])


def log_in(
    client: Client,
    *,
    organisation: str = "GM0344",
    role: Role | None = Role.MUNICIPAL_SIGNATORY,
    assurance: str = "loa3",
    name: str = "Jan de Vries",
    service: str | None = None,
    next_url: str | None = None,
):
    """From the login link through the mock's page back to the callback; the callback's response."""
    start = client.get(reverse("eherkenning:login"), {"next": next_url} if next_url else {})
    assert start.status_code == 302, start
    authorization = start["Location"]
    assert client.get(authorization).status_code == 200
    choice = {
        "organisation": organisation,
        "service": service if service is not None else service_of(role) if role else "",
        "assurance": assurance,
        "name": name,
    }
    answer = client.post(authorization, choice)
    assert answer.status_code == 302, answer.content.decode()
    return client.get(answer["Location"])
