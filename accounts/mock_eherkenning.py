"""A stand-in eHerkenning broker for the embedded run and the tests (EHERKENNING_MOCK; docs/security.md).

It speaks the part of OpenID Connect that accounts.eherkenning uses, so that a login through it takes the same
path as one through the real broker: the authorization page (where the tester chooses organisation, mandate,
assurance level and name), the token endpoint (a code for an ID token signed with RS256, PKCE checked) and the
keys (JWKS). The key is made when the process starts and lives only in it, as do the codes (in the cache).

config/urls.py routes it only while EHERKENNING_MOCK is on, which the settings turn on only with DEBUG.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from functools import cache as once
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import FormView

from .eherkenning import MANDATE_NAMES
from .models import User

ROOT = "/mock-eherkenning/"
CODE_LIFETIME = 120
TOKEN_LIFETIME = 300
# A KvK number that belongs to no municipality, to try the refusal of an unknown organisation.
UNKNOWN_ORGANISATION = "00000000"
ASSURANCE_CHOICES = [("loa2plus", "EH2+"), ("loa3", "EH3"), ("loa4", "EH4")]


@once
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@once
def key_id() -> str:
    public = (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return hashlib.sha256(public).hexdigest()[:16]


class MockLoginForm(forms.Form):
    organisation = forms.ChoiceField(
        label=_("Organisation"),
        help_text=_("The municipality you act for."),
        widget=forms.Select(attrs={"class": "utrecht-select"}),
    )
    service = forms.ChoiceField(
        label=_("Mandate"),
        required=False,
        help_text=_("The service your organisation gave you a mandate for: it decides your role."),
        widget=forms.Select(attrs={"class": "utrecht-select"}),
    )
    assurance = forms.ChoiceField(
        label=_("Assurance level"),
        choices=ASSURANCE_CHOICES,
        initial="loa3",
        widget=forms.Select(attrs={"class": "utrecht-select"}),
    )
    name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        help_text=_("The same name logs in as the same person."),
        widget=forms.TextInput(attrs={"class": "utrecht-textbox", "autocomplete": "name"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        municipalities = User.municipality.field.related_model.objects.order_by("name")
        self.fields["organisation"].choices = [
            *((m.code, m.name) for m in municipalities),
            (UNKNOWN_ORGANISATION, _("Example Ltd (not a municipality)")),
        ]
        self.fields["service"].choices = [
            *((service, MANDATE_NAMES.get(role, role)) for service, role in settings.EHERKENNING_SERVICES.items()),
            ("", _("No mandate for Thuisfonds")),
        ]

    def claims(self) -> dict:
        name = " ".join(self.cleaned_data["name"].split())
        given, _space, family = name.partition(" ")
        claims = {
            "sub": "mock-" + hashlib.sha256(name.casefold().encode()).hexdigest()[:24],
            "name": name,
            "given_name": given,
            "family_name": family,
            settings.EHERKENNING_ORGANISATION_CLAIM: self.cleaned_data["organisation"],
            settings.EHERKENNING_ASSURANCE_CLAIM: f"urn:etoegang:core:assurance-class:{self.cleaned_data['assurance']}",
        }
        if self.cleaned_data["service"]:
            claims[settings.EHERKENNING_SERVICE_CLAIM] = self.cleaned_data["service"]
        return claims


def _with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class AuthorizationView(FormView):
    """The broker's login page: choose, then back to the service with a code (or with an error on cancel)."""

    template_name = "accounts/mock_eherkenning.html"
    form_class = MockLoginForm

    def dispatch(self, request, *args, **kwargs):
        params = request.GET
        redirect_uri = params.get("redirect_uri", "")
        if (
            params.get("response_type") != "code"
            or params.get("client_id") != settings.OIDC_RP_CLIENT_ID
            or not params.get("state")
            or not url_has_allowed_host_and_scheme(redirect_uri, allowed_hosts={request.get_host()})
        ):
            return HttpResponseBadRequest("response_type=code, client_id, state and redirect_uri are required")
        self.redirect_uri = redirect_uri
        self.state = params["state"]
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"service": next(iter(settings.EHERKENNING_SERVICES), "")}

    def post(self, request, *args, **kwargs):
        if "cancel" in request.POST:
            return HttpResponseRedirect(_with_query(self.redirect_uri, error="access_denied", state=self.state))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        code = secrets.token_urlsafe(32)
        params = self.request.GET
        grant = {
            "claims": form.claims(),
            "nonce": params.get("nonce"),
            "redirect_uri": self.redirect_uri,
            "client_id": params["client_id"],
            "code_challenge": params.get("code_challenge", ""),
        }
        cache.set(f"mock-eherkenning:{code}", grant, CODE_LIFETIME)
        return HttpResponseRedirect(_with_query(self.redirect_uri, code=code, state=self.state))


def _client(request) -> tuple[str, str]:
    """The client's id and secret: from HTTP Basic authentication, or else from the form (client_secret_post)."""
    scheme, _space, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _colon, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _pkce_matches(challenge: str, verifier: str) -> bool:
    if not challenge:
        return True
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(digest, challenge)


@csrf_exempt
@require_POST
def token(request):
    """The code for an ID token; each code once, for the client and the redirect it was given to."""
    client_id, secret = _client(request)
    if client_id != settings.OIDC_RP_CLIENT_ID or not hmac.compare_digest(secret, settings.OIDC_RP_CLIENT_SECRET):
        return JsonResponse({"error": "invalid_client"}, status=401)
    key = f"mock-eherkenning:{request.POST.get('code', '')}"
    grant = cache.get(key)
    cache.delete(key)
    if (
        grant is None
        or request.POST.get("grant_type") != "authorization_code"
        or grant["client_id"] != client_id
        or grant["redirect_uri"] != request.POST.get("redirect_uri")
        or not _pkce_matches(grant["code_challenge"], request.POST.get("code_verifier", ""))
    ):
        return JsonResponse({"error": "invalid_grant"}, status=400)
    now = int(time.time())
    claims = {
        **grant["claims"],
        "iss": request.build_absolute_uri(ROOT),
        "aud": client_id,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "nonce": grant["nonce"],
    }
    id_token = jwt.encode(claims, signing_key(), algorithm="RS256", headers={"kid": key_id()})
    return JsonResponse(
        {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "id_token": id_token,
        }
    )


@require_GET
def jwks(request):
    key = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key().public_key(), as_dict=True)
    return JsonResponse({"keys": [{**key, "kid": key_id(), "alg": "RS256", "use": "sig"}]})
