import pytest
import time_machine

from accounts.models import AGENCY_ROLES, User
from tests.factories import UserFactory
from tests.notifications.helpers import amsterdam
from tests.progress import granted


@pytest.fixture
def grant():
    """A grant decided on 15 September 2026 by a real allocation, with an editor of its municipality to remind.

    Decided in September, so that none of its construction deadlines falls in the weeks of the yearly
    accountability report. The allocation's agency users are made inactive: they would get a weekly digest.
    """
    with time_machine.travel(amsterdam("2026-09-15 10:00"), tick=False):
        grant = granted()
    User.objects.filter(role__in=AGENCY_ROLES).update(is_active=False)
    UserFactory(municipality=grant.municipality, email="redacteur@utrecht.example")
    return grant
