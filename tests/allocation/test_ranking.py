"""Ranking methods on small hand-checked lists (pure functions, no database)."""

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from allocation.ranking import (
    CATEGORY_RULES,
    Candidate,
    Method,
    MunicipalCap,
    draw_lots,
    non_self_contained_first_category,
    rank,
    student_2025_category,
)
from allocation.ranking import TieBreak as PureTieBreak
from grants.models import RankingMethod, TieBreak
from grants.services import TRANCHES_DIR

TRANCHE_FILES = TRANCHES_DIR


def at(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    """An instant in 2023, given in UTC."""
    return datetime(2023, month, day, hour, minute, tzinfo=UTC)


def candidate(number: int, ranked_at: datetime, requested="100.00", municipality="GM0363", **units) -> Candidate:
    return Candidate(
        reference=f"RHA-2023-{number:04d}",
        receipt_sequence=number,
        municipality=municipality,
        requested=Decimal(requested),
        ranked_at=ranked_at,
        units=units.get("units", 10),
        units_not_self_contained=units.get("shared", 0),
        units_with_common_room=units.get("common_room", 0),
    )


def references(ranking) -> list[str]:
    return [rc.candidate.reference for rc in ranking.candidates]


def test_pure_method_and_tie_break_values_match_the_model_choices():
    assert {m.value for m in Method} == set(RankingMethod.values)
    assert {t.value for t in PureTieBreak} == set(TieBreak.values)


def test_first_come_orders_by_instant_then_receipt_number():
    candidates = [candidate(3, at(30, 8)), candidate(2, at(30, 9)), candidate(1, at(30, 9)), candidate(4, at(30, 7))]
    ranking = rank(candidates, method="first_come", seed=1, ceiling=Decimal("1000"))
    assert references(ranking) == ["RHA-2023-0004", "RHA-2023-0003", "RHA-2023-0001", "RHA-2023-0002"]
    assert [rc.rank for rc in ranking.candidates] == [1, 2, 3, 4]
    assert ranking.lottery_day is None


def test_draw_matches_the_published_example():
    candidates = [candidate(n, at(30, 8)) for n in range(1, 7)]
    drawn = draw_lots(candidates, seed=20230707)
    assert [c.reference for c in drawn] == [
        "RHA-2023-0002",
        "RHA-2023-0006",
        "RHA-2023-0003",
        "RHA-2023-0004",
        "RHA-2023-0005",
        "RHA-2023-0001",
    ]


def test_draw_is_redone_from_seed_and_references_alone():
    candidates = [candidate(n, at(30, 8)) for n in range(1, 30)]
    redone = sorted(
        (c.reference for c in candidates),
        key=lambda reference: hashlib.sha256(f"99:{reference}".encode()).hexdigest(),
    )
    assert [c.reference for c in draw_lots(reversed(candidates), seed=99)] == redone


def test_draw_depends_on_the_seed():
    candidates = [candidate(n, at(30, 8)) for n in range(1, 30)]
    assert draw_lots(candidates, seed=1) != draw_lots(candidates, seed=2)


def test_same_day_lottery_draws_only_the_day_the_ceiling_is_exceeded():
    # Ceiling 250: the third application (cumulative 300) exceeds it on 31 May.
    day_before = [candidate(1, at(30, 8)), candidate(2, at(30, 9))]
    lottery_day = [candidate(n, at(31, 7 + n)) for n in range(3, 9)]
    day_after = [candidate(9, at(1, 8, month=6)), candidate(10, at(1, 9, month=6))]
    ranking = rank(
        [*day_after, *lottery_day, *day_before],
        method="first_come_same_day_lottery",
        seed=20230707,
        ceiling=Decimal("250"),
    )
    assert ranking.lottery_day == datetime(2023, 5, 31).date()
    ordered = references(ranking)
    assert ordered[:2] == ["RHA-2023-0001", "RHA-2023-0002"]
    assert ordered[2:8] == [c.reference for c in draw_lots(lottery_day, seed=20230707)]
    assert ordered[8:] == ["RHA-2023-0009", "RHA-2023-0010"]
    assert [rc.drawn for rc in ranking.candidates] == [False, False] + [True] * 6 + [False, False]


def test_same_day_lottery_uses_the_amsterdam_calendar_day():
    # 22:30 UTC on 30 May is 00:30 on 31 May in Amsterdam: it belongs to the day of the draw.
    late = candidate(2, at(30, 22, 30))
    ranking = rank(
        [candidate(1, at(30, 8)), late, candidate(3, at(31, 9))],
        method="first_come_same_day_lottery",
        seed=5,
        ceiling=Decimal("150"),
    )
    assert ranking.lottery_day == datetime(2023, 5, 31).date()
    assert {rc.candidate.reference for rc in ranking.candidates if rc.drawn} == {"RHA-2023-0002", "RHA-2023-0003"}


def test_same_day_lottery_draws_nothing_when_every_request_fits():
    candidates = [candidate(n, at(30, 8 + n)) for n in range(1, 4)]
    ranking = rank(candidates, method="first_come_same_day_lottery", seed=5, ceiling=Decimal("300"))
    assert ranking.lottery_day is None
    assert references(ranking) == ["RHA-2023-0001", "RHA-2023-0002", "RHA-2023-0003"]


def test_same_day_lottery_day_is_found_after_the_municipal_cap():
    # Ceiling 300, at most 100 per municipality. On 30 May GM0363 asks 2 × 150 and GM0344 100: 400 requested,
    # but only 100 + 100 can be granted, so the day fits. On 31 May three more of 80 take the 200 to 440:
    # the money runs out there, and that day is drawn.
    day_one = [
        candidate(1, at(30, 8), "150.00", "GM0363"),
        candidate(2, at(30, 9), "150.00", "GM0363"),
        candidate(3, at(30, 10), "100.00", "GM0344"),
    ]
    day_two = [candidate(n, at(31, 4 + n), "80.00", f"GM0{n}00") for n in range(4, 7)]
    ranking = rank(
        [*day_two, *day_one],
        method="first_come_same_day_lottery",
        seed=20230707,
        ceiling=Decimal("300"),
        municipal_cap=MunicipalCap(maximum=Decimal("100")),
    )
    assert ranking.lottery_day == datetime(2023, 5, 31).date()
    assert references(ranking) == [c.reference for c in [*day_one, *draw_lots(day_two, seed=20230707)]]
    assert [rc.drawn for rc in ranking.candidates] == [False] * 3 + [True] * 3


def test_same_day_lottery_day_counts_what_the_municipality_already_has():
    # GM0363 already has 60 of its 100: its 80 on 30 May counts for 40, so 40 + 50 fits a ceiling of 100 and
    # 31 May is the day the requests no longer fit.
    candidates = [
        candidate(1, at(30, 8), "80.00", "GM0363"),
        candidate(2, at(30, 9), "50.00", "GM0344"),
        candidate(3, at(31, 8), "50.00", "GM0599"),
    ]
    cap = MunicipalCap(maximum=Decimal("100"), granted={"GM0363": Decimal("60")})
    ranking = rank(candidates, method="first_come_same_day_lottery", seed=1, ceiling=Decimal("100"), municipal_cap=cap)
    assert ranking.lottery_day == datetime(2023, 5, 31).date()


def test_same_day_lottery_day_counts_a_request_that_would_be_refused_for_nothing():
    # Rules skip and stop refuse a request above what is left of the maximum, rather than cutting it.
    candidates = [
        candidate(1, at(30, 8), "80.00", "GM0363"),
        candidate(2, at(30, 9), "30.00", "GM0363"),
        candidate(3, at(31, 8), "30.00", "GM0344"),
    ]
    cut = MunicipalCap(maximum=Decimal("100"), cut_to_room=True)
    refused = MunicipalCap(maximum=Decimal("100"), cut_to_room=False)

    def day(cap):
        return rank(
            candidates, method="first_come_same_day_lottery", seed=1, ceiling=Decimal("90"), municipal_cap=cap
        ).lottery_day

    assert day(cut) == datetime(2023, 5, 30).date()  # 80 + 20 = 100 > 90
    assert day(refused) == datetime(2023, 5, 31).date()  # 80 + 0 fits; 80 + 30 does not


@pytest.mark.parametrize(
    ("shared", "common_room", "expected"),
    [
        (8, 0, "A"),  # only non-self-contained
        (2, 0, "B"),  # mixed, exactly 25% non-self-contained
        (1, 0, "C"),  # mixed, 12.5%
        (0, 2, "D"),  # self-contained, exactly 25% with a common room
        (0, 1, "E"),  # self-contained, 12.5% with a common room
    ],
)
def test_student_2025_categories_by_share_of_units(shared, common_room, expected):
    assert student_2025_category(candidate(1, at(30, 8), units=8, shared=shared, common_room=common_room)) == expected


@pytest.mark.parametrize(
    ("shared", "common_room", "expected"),
    [
        (1, 0, "C"),  # mixed, 20%: under a quarter
        (0, 1, "E"),  # self-contained, 20% with a common room: under a quarter
    ],
)
def test_student_2025_a_fifth_is_less_than_a_quarter(shared, common_room, expected):
    assert student_2025_category(candidate(1, at(30, 8), units=5, shared=shared, common_room=common_room)) == expected


@pytest.mark.parametrize("categorise", [student_2025_category, non_self_contained_first_category])
def test_an_application_without_units_cannot_be_categorised(categorise):
    with pytest.raises(ValueError, match="^RHA-2023-0001 has no units to categorise$"):
        categorise(candidate(1, at(30, 8), units=0))


def test_an_application_of_one_unit_is_categorised():
    assert non_self_contained_first_category(candidate(1, at(30, 8), units=1, shared=1)) == "A"
    assert student_2025_category(candidate(1, at(30, 8), units=1, shared=1)) == "A"


@pytest.mark.parametrize(("shared", "expected"), [(8, "A"), (1, "B"), (0, "C")])
def test_non_self_contained_first_categories(shared, expected):
    assert non_self_contained_first_category(candidate(1, at(30, 8), units=8, shared=shared)) == expected


def test_category_ranking_puts_categories_first_then_receipt_order():
    candidates = [
        candidate(1, at(30, 8), units=4, shared=0, common_room=0),  # E
        candidate(2, at(30, 9), units=4, shared=4),  # A
        candidate(3, at(30, 10), units=4, shared=1),  # B
        candidate(4, at(30, 7), units=4, shared=4),  # A, earlier than 2
    ]
    ranking = rank(
        candidates,
        method="category",
        seed=1,
        ceiling=Decimal("1000"),
        category_rule="student_2025",
        tie_break="receipt",
    )
    assert references(ranking) == ["RHA-2023-0004", "RHA-2023-0002", "RHA-2023-0003", "RHA-2023-0001"]
    assert [rc.category for rc in ranking.candidates] == ["A", "A", "B", "E"]


def test_category_ranking_with_lottery_tie_break_draws_within_each_category():
    category_a = [candidate(n, at(30, 8 + n), units=4, shared=4) for n in range(1, 8)]
    category_e = [candidate(n, at(30, 8), units=4) for n in range(8, 12)]
    ranking = rank(
        [*category_e, *category_a],
        method="category",
        seed=42,
        ceiling=Decimal("1000"),
        category_rule="student_2025",
        tie_break="lottery",
    )
    assert references(ranking) == [c.reference for c in draw_lots(category_a, seed=42)] + [
        c.reference for c in draw_lots(category_e, seed=42)
    ]


def test_unknown_category_rule_is_refused():
    with pytest.raises(ValueError, match="unknown category rule"):
        rank([candidate(1, at(30, 8))], method="category", seed=1, ceiling=Decimal("1"), category_rule="nope")


def test_a_category_window_without_a_rule_is_refused():
    with pytest.raises(ValueError, match="^unknown category rule ''"):
        rank([candidate(1, at(30, 8))], method="category", seed=1, ceiling=Decimal("1"))


def test_unknown_tie_break_is_refused():
    with pytest.raises(ValueError, match="^unknown tie-break 'coin'$"):
        rank(
            [candidate(1, at(30, 8))],
            method="category",
            seed=1,
            ceiling=Decimal("1"),
            category_rule="student_2025",
            tie_break="coin",
        )


def test_unknown_ranking_method_is_refused():
    with pytest.raises(ValueError, match="^unknown ranking method 'alphabetical'$"):
        rank([candidate(1, at(30, 8))], method="alphabetical", seed=1, ceiling=Decimal("1"))


def test_every_shipped_window_names_a_known_category_rule():
    rules = {
        window.get("category_rule")
        for path in TRANCHE_FILES.glob("*.json")
        for window in json.loads(path.read_text(encoding="utf-8")).get("windows", [])
        if window.get("ranking_method") == "category"
    }
    assert rules <= set(CATEGORY_RULES)


def test_lottery_method_orders_the_whole_window_by_lot():
    candidates = [candidate(n, at(30, 8 + n)) for n in range(1, 10)]
    ranking = rank(candidates, method="lottery", seed=3, ceiling=Decimal("1"))
    assert references(ranking) == [c.reference for c in draw_lots(candidates, seed=3)]
    assert all(rc.drawn for rc in ranking.candidates)


def test_same_input_and_seed_give_the_same_ranking_whatever_the_input_order():
    candidates = [candidate(n, at(30 + n % 2, 8 + n % 5), units=4, shared=n % 5) for n in range(1, 40)]
    for method in ("first_come", "first_come_same_day_lottery", "lottery", "pro_rata"):
        first = rank(candidates, method=method, seed=8, ceiling=Decimal("900"))
        again = rank(list(reversed(candidates)), method=method, seed=8, ceiling=Decimal("900"))
        assert references(first) == references(again)
