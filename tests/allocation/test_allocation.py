"""Allocation rules on small hand-checked lists (pure functions, no database)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from allocation.engine import WindowInput, allocate
from allocation.ranking import Candidate

START = datetime(2023, 5, 30, 7, tzinfo=UTC)
SAME_DAY = "first_come_same_day_lottery"


def candidate(number: int, requested: str, municipality: str = "GM0363") -> Candidate:
    return Candidate(
        reference=f"RHA-{number:04d}",
        receipt_sequence=number,
        municipality=municipality,
        requested=Decimal(requested),
        ranked_at=START + timedelta(minutes=number),
        units=10,
    )


def allocate_one(
    requests, *, ceiling="1000", rule="partial", cap=None, granted=None, method="first_come", tranche_room=None
):
    candidates = [
        candidate(n, *request) if isinstance(request, tuple) else candidate(n, request)
        for n, request in enumerate(requests, start=1)
    ]
    (result,) = allocate(
        [WindowInput(code="all", ceiling=Decimal(ceiling), candidates=candidates, method=method)],
        seed=1,
        tranche_room=Decimal(tranche_room or ceiling),
        rule=rule,
        municipal_cap=None if cap is None else Decimal(cap),
        municipal_granted={code: Decimal(amount) for code, amount in (granted or {}).items()},
    )
    return result


def summary(result) -> list[tuple[str, str, str]]:
    return [(line.candidate.reference, f"{line.proposed:.2f}", line.outcome) for line in result.lines]


def test_exact_ceiling_hit_funds_everyone_and_leaves_nothing():
    result = allocate_one(["400", "600"], ceiling="1000")
    assert summary(result) == [("RHA-0001", "400.00", "funded"), ("RHA-0002", "600.00", "funded")]
    assert result.proposed == Decimal("1000")
    assert result.unused == 0
    assert result.oversubscription == 0
    assert result.cutoff_rank is None
    assert [line.cumulative for line in result.lines] == [Decimal("400"), Decimal("1000")]


def test_partial_rule_grants_what_is_left_to_the_application_that_no_longer_fits():
    result = allocate_one(["400", "500", "300", "50"], ceiling="1000", rule="partial")
    assert summary(result) == [
        ("RHA-0001", "400.00", "funded"),
        ("RHA-0002", "500.00", "funded"),
        ("RHA-0003", "100.00", "partial"),
        ("RHA-0004", "0.00", "reserve"),
    ]
    assert result.lines[2].reason == "budget_remainder"
    assert result.cutoff_rank == 3
    assert [line.candidate.reference for line in result.reserve] == ["RHA-0004"]
    assert result.oversubscription == Decimal("250")


def test_skip_rule_passes_over_the_application_that_no_longer_fits_and_funds_smaller_ones():
    result = allocate_one(["400", "500", "300", "50", "60"], ceiling="1000", rule="skip")
    assert summary(result) == [
        ("RHA-0001", "400.00", "funded"),
        ("RHA-0002", "500.00", "funded"),
        ("RHA-0003", "0.00", "reserve"),
        ("RHA-0004", "50.00", "funded"),
        ("RHA-0005", "0.00", "reserve"),
    ]
    assert [line.candidate.reference for line in result.reserve] == ["RHA-0003", "RHA-0005"]


def test_skip_rule_marks_each_application_funded_past_a_skipped_one():
    result = allocate_one(["400", "700", "300", "50", "500", "260"], ceiling="1000", rule="skip")
    # 700 does not fit after 400; 300 and 50 are funded past it; with 250 left, 500 and 260 do not fit either.
    assert [(line.candidate.reference, line.outcome, line.passes_skipped) for line in result.lines] == [
        ("RHA-0001", "funded", False),
        ("RHA-0002", "reserve", False),
        ("RHA-0003", "funded", True),
        ("RHA-0004", "funded", True),
        ("RHA-0005", "reserve", False),
        ("RHA-0006", "reserve", False),
    ]


def test_skip_rule_marks_nothing_when_nobody_is_funded_past_the_application_that_no_longer_fits():
    result = allocate_one(["400", "500", "300", "200"], ceiling="1000", rule="skip")
    assert [line.outcome for line in result.lines] == ["funded", "funded", "reserve", "reserve"]
    assert not any(line.passes_skipped for line in result.lines)


@pytest.mark.parametrize("rule", ["partial", "stop"])
def test_partial_and_stop_rules_fund_nobody_past_the_application_that_no_longer_fits(rule):
    result = allocate_one(["400", "700", "300", "50"], ceiling="1000", rule=rule)
    assert not any(line.passes_skipped for line in result.lines)
    assert result.cutoff_rank == 2


def test_a_refusal_for_the_municipal_cap_is_not_a_skipped_application():
    result = allocate_one([("600", "GM0363"), ("401", "GM0363"), ("300", "GM0344")], cap="1000", rule="skip")
    assert [line.outcome for line in result.lines] == ["funded", "refused", "funded"]
    assert not any(line.passes_skipped for line in result.lines)


def test_stop_rule_funds_nobody_after_the_application_that_no_longer_fits():
    result = allocate_one(["400", "500", "300", "50"], ceiling="1000", rule="stop")
    assert summary(result) == [
        ("RHA-0001", "400.00", "funded"),
        ("RHA-0002", "500.00", "funded"),
        ("RHA-0003", "0.00", "reserve"),
        ("RHA-0004", "0.00", "reserve"),
    ]
    assert result.unused == Decimal("100")


def test_empty_window_allocates_nothing():
    result = allocate_one([], ceiling="1000")
    assert result.lines == []
    assert (result.requested, result.proposed, result.oversubscription) == (0, 0, 0)
    assert result.cutoff_rank is None


def test_municipal_cap_hit_exactly_funds_both_applications():
    result = allocate_one([("600", "GM0363"), ("400", "GM0363")], ceiling="5000", cap="1000")
    assert summary(result) == [("RHA-0001", "600.00", "funded"), ("RHA-0002", "400.00", "funded")]


def test_municipal_cap_exceeded_by_one_euro_grants_up_to_the_cap_under_the_partial_rule():
    result = allocate_one([("600", "GM0363"), ("401", "GM0363"), ("300", "GM0344")], ceiling="5000", cap="1000")
    assert summary(result) == [
        ("RHA-0001", "600.00", "funded"),
        ("RHA-0002", "400.00", "partial"),
        ("RHA-0003", "300.00", "funded"),
    ]
    assert result.lines[1].reason == "municipal_cap_partial"


def test_municipal_cap_exceeded_by_one_euro_refuses_under_the_skip_rule():
    result = allocate_one([("600", "GM0363"), ("401", "GM0363")], ceiling="5000", cap="1000", rule="skip")
    assert summary(result) == [("RHA-0001", "600.00", "funded"), ("RHA-0002", "0.00", "refused")]
    assert result.lines[1].reason == "municipal_cap"
    assert result.reserve == []


def test_municipal_cap_counts_what_the_municipality_already_has_in_the_tranche():
    result = allocate_one([("500", "GM0363")], ceiling="5000", cap="1000", granted={"GM0363": "800"})
    assert summary(result) == [("RHA-0001", "200.00", "partial")]


def test_tranche_room_limits_a_window_below_its_own_ceiling():
    result = allocate_one(["400", "500"], ceiling="1000", tranche_room="700")
    assert summary(result) == [("RHA-0001", "400.00", "funded"), ("RHA-0002", "300.00", "partial")]
    assert result.ceiling == Decimal("700")


def test_pro_rata_gives_everyone_the_same_fraction_rounded_down_to_the_cent():
    result = allocate_one(["30", "60", "90"], ceiling="100", method="pro_rata")
    # 100 / 180 of each request: 16.666.., 33.333.., 50 -> rounded down to the cent.
    assert summary(result) == [
        ("RHA-0001", "16.66", "partial"),
        ("RHA-0002", "33.33", "partial"),
        ("RHA-0003", "50.00", "partial"),
    ]
    assert result.proposed == Decimal("99.99")
    assert all(line.reason == "pro_rata" for line in result.lines)


def test_pro_rata_funds_everything_when_the_requests_fit():
    result = allocate_one(["30", "60"], ceiling="100", method="pro_rata")
    assert summary(result) == [("RHA-0001", "30.00", "funded"), ("RHA-0002", "60.00", "funded")]
    assert result.pro_rata_fraction == 1


def two_windows(*, transfer: bool, rule: str = "partial"):
    students = [candidate(1, "100"), candidate(2, "100")]
    others = [candidate(3, "600"), candidate(4, "500"), candidate(5, "200")]
    return allocate(
        [
            WindowInput(code="students", ceiling=Decimal("500"), candidates=students),
            WindowInput(code="other", ceiling=Decimal("500"), candidates=others),
        ],
        seed=1,
        tranche_room=Decimal("1000"),
        rule=rule,
        transfer=transfer,
    )


def test_unused_budget_of_one_window_goes_to_the_other_when_the_tranche_allows_it():
    students, other = two_windows(transfer=True)
    assert students.proposed == Decimal("200")
    assert summary(other) == [
        ("RHA-0003", "600.00", "funded"),
        ("RHA-0004", "200.00", "partial"),
        ("RHA-0005", "0.00", "reserve"),
    ]
    assert other.lines[0].reason == "transfer"
    assert other.transferred_in == Decimal("300")
    assert students.proposed + other.proposed == Decimal("1000")


def test_without_transfer_unused_budget_stays_in_its_window():
    students, other = two_windows(transfer=False)
    assert summary(other) == [
        ("RHA-0003", "500.00", "partial"),
        ("RHA-0004", "0.00", "reserve"),
        ("RHA-0005", "0.00", "reserve"),
    ]
    assert students.unused == Decimal("300")
    assert other.transferred_in == 0


def test_transfer_keeps_the_skip_rule():
    students, other = two_windows(transfer=True, rule="skip")
    # First pass: 600 is skipped, 500 fits, 200 no longer does. Then the 300 the students left:
    # 600 still does not fit, 200 does.
    assert summary(other) == [
        ("RHA-0003", "0.00", "reserve"),
        ("RHA-0004", "500.00", "funded"),
        ("RHA-0005", "200.00", "funded"),
    ]
    assert other.lines[2].reason == "transfer"


def test_a_line_funded_by_transfer_past_a_skipped_one_is_marked():
    students, other = two_windows(transfer=True, rule="skip")
    assert [(line.outcome, line.passes_skipped) for line in other.lines] == [
        ("reserve", False),
        ("funded", True),
        ("funded", True),
    ]
    assert not any(line.passes_skipped for line in students.lines)


def on_day(number: int, day: int, requested: str, municipality: str) -> Candidate:
    """An application received at 9:00 UTC on `day` May 2023."""
    return Candidate(
        reference=f"RHA-{number:04d}",
        receipt_sequence=number,
        municipality=municipality,
        requested=Decimal(requested),
        ranked_at=datetime(2023, 5, day, 9, number, tzinfo=UTC),
        units=10,
    )


def test_same_day_lottery_is_on_the_day_the_capped_requests_no_longer_fit():
    # At most 100 per municipality, 300 to spend. 30 May: 400 requested, but only 200 can be granted. 31 May:
    # three more of 80 no longer fit, so the draw is among those, and everyone of 30 May keeps receipt order.
    day_one = [on_day(1, 30, "150", "GM0363"), on_day(2, 30, "150", "GM0363"), on_day(3, 30, "100", "GM0344")]
    day_two = [on_day(4, 31, "80", "GM0599"), on_day(5, 31, "80", "GM0518"), on_day(6, 31, "80", "GM0014")]
    (result,) = allocate(
        [WindowInput(code="all", ceiling=Decimal("300"), candidates=[*day_one, *day_two], method=SAME_DAY)],
        seed=20230707,
        tranche_room=Decimal("300"),
        rule="partial",
        municipal_cap=Decimal("100"),
    )
    assert result.lottery_day == date(2023, 5, 31)
    assert [(line.candidate.reference, line.drawn) for line in result.lines[:3]] == [
        ("RHA-0001", False),
        ("RHA-0002", False),
        ("RHA-0003", False),
    ]
    assert all(line.drawn for line in result.lines[3:])
    assert summary(result)[:3] == [
        ("RHA-0001", "100.00", "partial"),
        ("RHA-0002", "0.00", "refused"),
        ("RHA-0003", "100.00", "funded"),
    ]
    assert result.cutoff_rank == 5  # the money runs out on the drawn day, not before


def test_same_day_lottery_counts_what_an_earlier_window_granted_the_municipality():
    # The first window gives GM0363 90 of its 100; its 80 in the second window can only get 10, so 10 + 80
    # fits a ceiling of 100 on 30 May and the requests no longer fit on 31 May.
    first = WindowInput(code="a", ceiling=Decimal("100"), candidates=[on_day(1, 29, "90", "GM0363")])
    second = WindowInput(
        code="b",
        ceiling=Decimal("100"),
        candidates=[on_day(2, 30, "80", "GM0363"), on_day(3, 30, "80", "GM0344"), on_day(4, 31, "80", "GM0599")],
        method=SAME_DAY,
    )
    _, result = allocate(
        [first, second], seed=1, tranche_room=Decimal("200"), rule="partial", municipal_cap=Decimal("100")
    )
    assert result.lottery_day == date(2023, 5, 31)


def test_same_arguments_give_the_same_allocation():
    first = allocate_one(["400", "500", "300", "50"], ceiling="1000", rule="skip")
    again = allocate_one(["400", "500", "300", "50"], ceiling="1000", rule="skip")
    assert summary(first) == summary(again)
