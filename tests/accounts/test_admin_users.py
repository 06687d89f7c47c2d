import pytest
from django.urls import reverse

from accounts.models import Role, User
from grants.models import Municipality
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:accounts_user_add")


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(assessor=True, is_superuser=True))
    return client


def add_user(client, **fields):
    data = {
        "username": "nieuw",
        "usable_password": "true",
        "password1": "een-lang-wachtwoord-2026",
        "password2": "een-lang-wachtwoord-2026",
        **fields,
    }
    return client.post(ADD, data)


def test_municipal_user_is_created_with_role_and_municipality(superuser_client):
    utrecht = Municipality.objects.get(code="GM0344")
    response = add_user(superuser_client, role=Role.MUNICIPAL_EDITOR, municipality=utrecht.pk)
    assert response.status_code == 302
    user = User.objects.get(username="nieuw")
    assert (user.role, user.municipality) == (Role.MUNICIPAL_EDITOR, utrecht)


def test_municipal_user_without_municipality_is_refused_on_that_field(superuser_client):
    response = add_user(superuser_client, role=Role.MUNICIPAL_SIGNATORY, municipality="")
    assert "municipality" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="nieuw").exists()


def test_agency_user_with_a_municipality_is_refused_on_that_field(superuser_client):
    municipality = Municipality.objects.get(code="GM0363")
    response = add_user(superuser_client, role=Role.AGENCY_ASSESSOR, municipality=municipality.pk)
    assert "municipality" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="nieuw").exists()


def test_municipal_user_cannot_be_made_staff(superuser_client):
    editor = UserFactory()
    url = reverse("admin:accounts_user_change", args=[editor.pk])
    data = {
        "username": editor.username,
        "role": editor.role,
        "municipality": editor.municipality_id,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
    }
    response = superuser_client.post(url, data)
    assert "is_staff" in response.context["adminform"].form.errors
    editor.refresh_from_db()
    assert not editor.is_staff


def test_user_list_shows_role_and_municipality_and_filters_by_role(superuser_client):
    editor = UserFactory(municipality__code="GM0363")
    UserFactory(analyst=True)
    response = superuser_client.get(reverse("admin:accounts_user_changelist"), {"role__exact": Role.MUNICIPAL_EDITOR})
    assert [user.pk for user in response.context["cl"].result_list] == [editor.pk]
    assert "Amsterdam (GM0363)" in response.content.decode()
