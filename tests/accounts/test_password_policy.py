"""Django's password validators, with at least twelve characters."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("84736251", "password_too_short"),
        ("847362519054", "password_entirely_numeric"),
        ("password1234", "password_too_common"),
    ],
)
def test_weak_passwords_are_refused(password, reason):
    with pytest.raises(ValidationError) as refused:
        validate_password(password)

    assert reason in [error.code for error in refused.value.error_list]


def test_eleven_characters_are_too_few_and_twelve_are_enough():
    with pytest.raises(ValidationError):
        validate_password("vlinder-kas")
    validate_password("vlinder-kast")


def test_a_password_like_the_username_is_refused():
    user = UserFactory(username="utrecht-redacteur-2026", email="redacteur@utrecht.nl")

    with pytest.raises(ValidationError):
        validate_password("utrecht-redacteur-2026", user)
