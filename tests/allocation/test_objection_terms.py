"""The terms of an objection: six weeks from the day after dispatch (Awb 6:7, 6:8), in time when received by the
end of the term (6:9), decided within six weeks after it (7:10), with the Algemene termijnenwet moving a term
that ends on a weekend day or public holiday to the next working day."""

from datetime import date, datetime, time, timedelta

import holidays
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from allocation import objections
from allocation.objections import decision_deadline, objection_term_end
from tests.factories import UserFactory
from tests.progress import granted

# Weekdays of the dates below, checked by test_the_dates_of_these_tests_fall_on_the_weekdays_they_claim.
MONDAY_2_MARCH_2026 = date(2026, 3, 2)
SUNDAY_1_MARCH_2026 = date(2026, 3, 1)
SATURDAY_28_FEBRUARY_2026 = date(2026, 2, 28)
TUESDAY_16_MARCH_2027 = date(2027, 3, 16)


def test_the_dates_of_these_tests_fall_on_the_weekdays_they_claim():
    assert [day.strftime("%A") for day in (MONDAY_2_MARCH_2026, SUNDAY_1_MARCH_2026, SATURDAY_28_FEBRUARY_2026)] == [
        "Monday",
        "Sunday",
        "Saturday",
    ]
    assert TUESDAY_16_MARCH_2027.strftime("%A") == "Tuesday"


def test_objection_term_is_six_weeks_from_dispatch():
    # The term starts on Tuesday 3 March and its sixth week ends on Monday 13 April.
    assert objection_term_end(MONDAY_2_MARCH_2026) == date(2026, 4, 13)


def test_objection_term_ending_on_a_sunday_moves_to_monday():
    assert objection_term_end(SUNDAY_1_MARCH_2026) == date(2026, 4, 13)


def test_objection_term_ending_on_a_saturday_moves_to_monday():
    assert objection_term_end(SATURDAY_28_FEBRUARY_2026) == date(2026, 4, 13)


def test_objection_term_ending_on_kings_day_moves_on():
    # King's Day 2027 is Tuesday 27 April.
    assert objection_term_end(TUESDAY_16_MARCH_2027) == date(2027, 4, 28)


def test_objection_term_ending_on_liberation_day_moves_on_in_every_year():
    # 5 May 2026 is a Tuesday; the Algemene termijnenwet names 5 May every year, not only every fifth.
    assert objection_term_end(date(2026, 3, 24)) == date(2026, 5, 6)


def test_the_holidays_library_counts_liberation_day_as_public_only_every_fifth_year():
    # Why allocation.objections.atw_holidays adds it from the optional days: should the library change, so may that.
    assert date(2026, 5, 5) not in holidays.country_holidays("NL", years=2026)
    assert date(2025, 5, 5) in holidays.country_holidays("NL", years=2025)


def test_good_friday_does_not_move_a_term():
    # Good Friday (3 April 2026) is not a holiday of the Algemene termijnenwet, though the holidays library has it.
    assert date(2026, 4, 3) in holidays.country_holidays("NL", years=2026)
    assert objection_term_end(date(2026, 2, 20)) == date(2026, 4, 3)


def test_objection_term_ending_at_christmas_moves_past_both_days_and_the_weekend():
    # Christmas Day 2026 is a Friday: Boxing Day is a Saturday, then Sunday; the term ends on Monday 28 December.
    assert objection_term_end(date(2026, 11, 13)) == date(2026, 12, 28)


def test_objection_term_ending_on_ascension_day_moves_to_friday():
    assert objection_term_end(date(2026, 4, 2)) == date(2026, 5, 15)


def test_decision_deadline_is_six_weeks_after_the_term():
    # Six weeks after Monday 13 April 2026 is Whit Monday 25 May: the deadline moves to Tuesday 26 May.
    assert decision_deadline(term_ends_on=date(2026, 4, 13), received_on=date(2026, 4, 1)) == date(2026, 5, 26)


def test_decision_deadline_of_a_late_objection_counts_from_receipt():
    assert decision_deadline(term_ends_on=date(2026, 4, 13), received_on=date(2026, 4, 20)) == date(2026, 6, 1)


# --- on registered objections --------------------------------------------------------------------------


def dispatched_decision(dispatched_on: date):
    """The decision on an application granted on `dispatched_on` and sent the same day."""
    with time_machine.travel(at_noon(dispatched_on), tick=False):
        decision = granted().decision
        return objections.record_dispatch(
            decision=decision, user=UserFactory(password=None, assessor=True), dispatched_on=dispatched_on
        )


def register(decision, received_on: date, **extra):
    now = extra.pop("now", None)
    return objections.register_objection(
        decision=decision,
        user=UserFactory(password=None, assessor=True),
        received_on=received_on,
        grounds="Het budget is verkeerd verdeeld.",
        now=now,
        **extra,
    )


def at_noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


@pytest.mark.django_db
def test_objection_received_on_the_last_day_of_the_term_is_in_time():
    decision = dispatched_decision(MONDAY_2_MARCH_2026)

    objection = register(decision, date(2026, 4, 13), now=at_noon(date(2026, 4, 13)))

    assert objection.term_ends_on == date(2026, 4, 13)
    assert objection.filed_in_time
    assert objection.decide_by == date(2026, 5, 26)


@pytest.mark.django_db
def test_late_objection_is_not_in_time():
    decision = dispatched_decision(MONDAY_2_MARCH_2026)

    objection = register(decision, date(2026, 4, 14), now=at_noon(date(2026, 4, 14)))

    assert not objection.filed_in_time
    assert not objection.lateness_excused


@pytest.mark.django_db
def test_decision_deadline_is_six_weeks_after_the_term_and_can_be_extended_once():
    decision = dispatched_decision(MONDAY_2_MARCH_2026)
    objection = register(decision, date(2026, 4, 1), now=at_noon(date(2026, 4, 1)))
    user = UserFactory(password=None, assessor=True)
    assert objection.decide_by == date(2026, 5, 26)

    objection = objections.extend_objection_deadline(
        objection=objection, user=user, reason="Advies van de afdeling Financiën nodig.", today=date(2026, 5, 20)
    )

    assert objection.extended_to == date(2026, 7, 7)
    assert objection.deadline == date(2026, 7, 7)
    assert objection.extension_reason == "Advies van de afdeling Financiën nodig."
    with translation.override("en"), pytest.raises(ValidationError, match="already been postponed once"):
        objections.extend_objection_deadline(
            objection=objection, user=user, reason="Nog meer tijd nodig.", today=date(2026, 5, 21)
        )
    objection.refresh_from_db()
    assert objection.extended_to == date(2026, 7, 7)


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, 43])
def test_decision_cannot_be_postponed_to_the_deadline_itself_or_beyond_six_weeks(days):
    objection = register(dispatched_decision(MONDAY_2_MARCH_2026), date(2026, 4, 1), now=at_noon(date(2026, 4, 1)))

    with pytest.raises(ValidationError) as refused:
        objections.extend_objection_deadline(
            objection=objection,
            user=UserFactory(password=None, assessor=True),
            reason="Meer tijd nodig.",
            until=objection.decide_by + timedelta(days=days),
            today=date(2026, 5, 1),
        )

    assert "until" in refused.value.message_dict
    objection.refresh_from_db()
    assert objection.extended_to is None


@pytest.mark.django_db
def test_decision_cannot_be_postponed_after_the_deadline_has_passed():
    objection = register(dispatched_decision(MONDAY_2_MARCH_2026), date(2026, 4, 1), now=at_noon(date(2026, 4, 1)))

    with translation.override("en"), pytest.raises(ValidationError, match="deadline has passed"):
        objections.extend_objection_deadline(
            objection=objection,
            user=UserFactory(password=None, assessor=True),
            reason="Vergeten.",
            today=objection.decide_by + timedelta(days=1),
        )


@pytest.mark.django_db
def test_postponing_needs_a_reason():
    objection = register(dispatched_decision(MONDAY_2_MARCH_2026), date(2026, 4, 1), now=at_noon(date(2026, 4, 1)))

    with pytest.raises(ValidationError) as refused:
        objections.extend_objection_deadline(
            objection=objection, user=UserFactory(password=None, assessor=True), reason="  ", today=date(2026, 5, 1)
        )

    assert "extension_reason" in refused.value.message_dict
