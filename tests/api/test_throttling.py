"""Every endpoint counts a user's requests: past the rate, a 429 that says when to come back."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.api.helpers import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _forget_counts(user) -> None:
    # Where a database reuses ids after a rollback (SQLite), an earlier test's user may have had this id.
    cache.delete(f"throttle_user_{user.pk}")


@pytest.fixture
def signatory():
    user = UserFactory(signatory=True)
    _forget_counts(user)
    yield user
    _forget_counts(user)


@pytest.mark.parametrize("name", ["api:application-list", "api:decision-list", "api:progress-report-list"])
def test_a_user_past_the_rate_is_asked_to_wait(settings, signatory, name):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "2/minute"}}
    api = token_client(signatory)

    answers = [api.get(reverse(name)) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "throttled"
    assert 0 < int(answers[2]["Retry-After"]) <= 60


def test_the_rate_is_counted_per_user(settings, signatory):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "1/minute"}}
    other = UserFactory(signatory=True, municipality__code="GM0363")
    _forget_counts(other)
    try:
        first, second = token_client(signatory), token_client(other)
        statuses = [first.get(reverse("api:application-list")).status_code for _ in range(2)]
        assert statuses == [200, 429]
        assert second.get(reverse("api:application-list")).status_code == 200
    finally:
        _forget_counts(other)
