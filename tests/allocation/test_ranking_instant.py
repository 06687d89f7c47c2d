"""Ranking by the complete application: receipt plus the municipality's own completion time."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from allocation.selectors import compute_allocation
from applications import services
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def october(day: int, hour: int = 9) -> datetime:
    return datetime(2023, 10, day, hour, tzinfo=AMSTERDAM)


def on(instant: datetime, service, **arguments):
    with time_machine.travel(instant, tick=False):
        return service(**arguments)


def eligible(tranche, municipality: str, *, received: datetime, asked=None, answered=None):
    """An application through the portal and the review, with an information request when asked is given."""
    signatory = UserFactory(signatory=True, municipality__code=municipality)
    assessor = UserFactory(assessor=True)
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    on(received, services.submit_application, application=application, user=signatory)
    if asked is not None:
        on(asked, services.start_review, application=application, user=assessor)
        on(asked, services.request_information, application=application, user=assessor, reason="Raadsbesluit?")
        on(answered, services.resubmit_application, application=application, user=signatory)
    on(answered or received, services.start_review, application=application, user=assessor)
    return on(answered or received, services.mark_eligible, application=application, user=assessor)


def test_under_completion_ranking_an_answered_application_ranks_by_receipt_plus_its_own_time():
    tranche = TrancheFactory(
        opens_at=october(2), closes_at=datetime(2023, 11, 28, 17, tzinfo=AMSTERDAM), ranking_instant="completion"
    )
    # Received 5 Oct 10:00, asked 12 Oct, answered 20 Oct: ranks as 13 Oct 10:00, so after one received on 12 Oct
    # and ahead of one received complete on 14 Oct, though that one was complete six days before it.
    answered = eligible(tranche, "GM0363", received=october(5, 10), asked=october(12), answered=october(20))
    earlier = eligible(tranche, "GM0344", received=october(12, 10))
    later = eligible(tranche, "GM0599", received=october(14))

    computed = compute_allocation(tranche=tranche, seed=1, at=october(30))

    (window,) = computed.results
    assert [(line.candidate.reference, line.candidate.ranked_at) for line in window.lines] == [
        (earlier.reference, october(12, 10)),
        (answered.reference, october(13, 10)),
        (later.reference, october(14)),
    ]
