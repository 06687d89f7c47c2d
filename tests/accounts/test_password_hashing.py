"""The tests hash passwords quickly; production must not."""

from django.conf import global_settings

import config.settings as production


def test_production_stretches_passwords_with_pbkdf2():
    hashers = getattr(production, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)

    assert hashers[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"


def test_the_test_suite_uses_the_fast_hasher(django_user_model):
    user = django_user_model(username="snel")
    user.set_password("correct-horse-battery")

    assert user.password.startswith("md5$")
