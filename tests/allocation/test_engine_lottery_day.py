"""A stored run finds its lottery day on the amounts that can really be granted, after the maximum per municipality."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from allocation import selectors as allocation_selectors
from allocation import services as allocation_services
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_the_draw_falls_on_the_day_the_capped_requests_no_longer_fit():
    # € 200,000 to spend, at most € 100,000 per municipality, requests of € 70,000. On 30 May € 210,000 is asked,
    # but GM0363 can get only € 100,000 of its € 140,000, so the day fits; on 31 May the money runs out.
    tranche = closed_tranche(
        budget_ceiling=Decimal("200000.00"), max_per_municipality=Decimal("100000.00"), last_application_rule="partial"
    )
    tranche.windows.update(ranking_method="first_come_same_day_lottery")
    day_one, day_two = datetime(2023, 5, 30, 9, tzinfo=AMSTERDAM), datetime(2023, 5, 31, 9, tzinfo=AMSTERDAM)

    def apply(municipality: str, at: datetime):
        return ApplicationFactory(eligible=True, tranche=tranche, municipality__code=municipality, received_at=at)

    first_day = [apply(code, day_one + timedelta(minutes=n)) for n, code in enumerate(["GM0363", "GM0363", "GM0344"])]
    second_day = [apply(code, day_two + timedelta(minutes=n)) for n, code in enumerate(["GM0599", "GM0518"])]

    run = allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(assessor=True))

    assert run.rules["windows"][0]["lottery_day"] == "2023-05-31"
    lines = list(run.lines.order_by("rank").values_list("application__reference", "drawn"))
    assert lines[:3] == [(application.reference, False) for application in first_day]
    assert {reference for reference, drawn in lines if drawn} == {application.reference for application in second_day}
    assert allocation_selectors.run_is_reproducible(run=run)
