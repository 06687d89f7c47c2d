from datetime import timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Role, User
from applications.models import Application, Attachment, StatusChange
from demo.loading import DEMO_APPLICATIONS, DEMO_PASSWORD, DEMO_TRANCHE_SLUG
from grants.models import Tranche, TrancheAmendment, TrancheTargetGroup, Window

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True
    # The demo sets six passwords on every run; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (User, Group, Tranche, Window, TrancheTargetGroup, TrancheAmendment, Application, StatusChange, Attachment)
    return {model.__name__: model.objects.count() for model in models}


def test_load_demo_twice_duplicates_nothing():
    load_demo()
    first = counts()
    load_demo()
    assert counts() == first
    assert first["Application"] == len(DEMO_APPLICATIONS) + 124 + 107 + 131


def test_rerun_days_later_keeps_the_opening_so_receipts_stay_inside_the_window():
    load_demo()
    opened = Tranche.objects.get(slug=DEMO_TRANCHE_SLUG).opens_at
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        load_demo()
    tranche = Tranche.objects.get(slug=DEMO_TRANCHE_SLUG)
    assert tranche.opens_at == opened
    received = Application.objects.filter(tranche=tranche).exclude(received_at=None)
    assert all(tranche.opens_at <= a.received_at for a in received)


def test_rerun_near_the_closing_moves_the_closing_on():
    load_demo()
    later = timezone.now() + timedelta(weeks=6) - timedelta(days=2)
    with time_machine.travel(later):
        load_demo()
        tranche = Tranche.objects.get(slug=DEMO_TRANCHE_SLUG)
        assert tranche.closes_at - timezone.now() > timedelta(weeks=5)


def test_load_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo", stdout=StringIO())
    assert not Tranche.objects.filter(slug=DEMO_TRANCHE_SLUG).exists()


def test_load_demo_runs_without_debug_when_forced(settings):
    settings.DEBUG = False
    call_command("load_demo", "--force", stdout=StringIO())
    assert Tranche.objects.filter(slug=DEMO_TRANCHE_SLUG).exists()


def test_demo_users_are_refreshed_not_duplicated_when_changed_in_between():
    load_demo()
    User.objects.filter(username="utrecht-redacteur").update(role=Role.MUNICIPAL_SIGNATORY)
    analyst = User.objects.get(username="bzk-analist")
    analyst.set_unusable_password()
    analyst.save()
    load_demo()
    assert User.objects.get(username="utrecht-redacteur").role == Role.MUNICIPAL_EDITOR
    assert authenticate(username="bzk-analist", password=DEMO_PASSWORD) is not None
