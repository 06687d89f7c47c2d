"""Password reset by e-mail and password change, for every user, in Dutch by default."""

import re

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction, AuditEntry
from tests.accounts.logins import LOGIN, PASSWORD, log_in
from tests.factories import UserFactory
from tests.portal import client_for

pytestmark = pytest.mark.django_db

RESET = reverse("accounts:password_reset")
CHANGE = reverse("accounts:password_change")
NEW_PASSWORD = "zonnebloem-kastanje-17"


def test_the_login_page_links_to_the_password_reset():
    assert f'href="{RESET}"' in Client().get(LOGIN).content.decode()


def test_the_users_menu_links_to_the_password_change():
    assert f'href="{CHANGE}"' in client_for(UserFactory()).get(reverse("portal:home")).content.decode()


def test_a_reset_link_is_mailed_in_dutch_and_sets_a_new_password_once(client, mailoutbox):
    user = UserFactory(username="redacteur", email="redacteur@utrecht.nl")

    sent = client.post(RESET, {"email": "Redacteur@Utrecht.nl"})

    assert sent["Location"] == reverse("accounts:password_reset_done")
    [mail] = mailoutbox
    assert mail.to == ["redacteur@utrecht.nl"]
    assert mail.subject == "Nieuw wachtwoord instellen voor Thuisfonds"
    assert "Uw gebruikersnaam is redacteur." in mail.body
    link = re.search(r"https?://testserver(/\S+)", mail.body).group(1)
    form = client.get(link, follow=True)
    assert form.context["validlink"]
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert authenticate(username="redacteur", password=NEW_PASSWORD) == user
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_RESET, actor=user).exists()
    assert not Client().get(link, follow=True).context["validlink"]


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, mailoutbox):
    response = client.post(RESET, {"email": "niemand@example.nl"})

    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mailoutbox == []


def test_a_reset_refuses_a_short_new_password(client, mailoutbox):
    UserFactory(email="ondertekenaar@utrecht.nl")
    client.post(RESET, {"email": "ondertekenaar@utrecht.nl"})
    link = re.search(r"https?://testserver(/\S+)", mailoutbox[0].body).group(1)
    form = client.get(link, follow=True)

    refused = client.post(form.redirect_chain[-1][0], {"new_password1": "84736251", "new_password2": "84736251"})

    assert refused.status_code == 200
    assert refused.context["form"].has_error("new_password2")


@pytest.mark.parametrize("role", [{}, {"assessor": True}, {"analyst": True}])
def test_every_user_changes_their_password(role):
    user = UserFactory(**role)
    client = client_for(user)

    response = client.post(
        CHANGE, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response["Location"] == reverse("accounts:password_change_done")
    assert authenticate(username=user.username, password=NEW_PASSWORD) == user
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE, actor=user).exists()


def test_a_change_needs_the_current_password_and_a_strong_new_one():
    user = UserFactory()
    client = client_for(user)

    wrong = client.post(CHANGE, {"old_password": "raden", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    weak = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": "84736251", "new_password2": "84736251"})

    assert wrong.context["form"].has_error("old_password")
    assert weak.context["form"].has_error("new_password2")
    assert log_in(Client(), user.username).status_code == 302
