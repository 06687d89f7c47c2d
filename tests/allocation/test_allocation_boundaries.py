"""Boundary tables of the allocation: each case under the rules partial, skip and stop, to the cent.

A case is a window ceiling, an optional maximum per municipality and requests in rank order; the table gives,
per rule, what each request receives and how. Read a row as: under this rule, these lines get this.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from allocation.engine import WindowInput, allocate
from allocation.ranking import Candidate

START = datetime(2026, 1, 14, 8, tzinfo=UTC)

# (ceiling, maximum per municipality or None, what each municipality already has, [(municipality, request)]).
CASES = {
    "exact window fit": ("1000.00", None, {}, [("GM0363", "600.00"), ("GM0344", "400.00")]),
    "window fit plus a cent": ("1000.00", None, {}, [("GM0363", "600.00"), ("GM0344", "400.01")]),
    "exact fit after a skipped request": (
        "1000.00",
        None,
        {},
        [("GM0363", "600.00"), ("GM0344", "500.00"), ("GM0599", "400.00"), ("GM0518", "0.01")],
    ),
    "exact municipal cap": ("5000.00", "1000.00", {}, [("GM0363", "600.00"), ("GM0363", "400.00")]),
    "municipal cap plus a cent": (
        "5000.00",
        "1000.00",
        {},
        [("GM0363", "600.00"), ("GM0363", "400.01"), ("GM0344", "300.00")],
    ),
    "municipal cap already reached": ("5000.00", "1000.00", {"GM0363": "1000.00"}, [("GM0363", "0.01")]),
    "municipal cap a cent from reached": ("5000.00", "1000.00", {"GM0363": "999.99"}, [("GM0363", "0.02")]),
    "window and municipal cap both exact": ("1000.00", "1000.00", {}, [("GM0363", "1000.00")]),
}

F, P, R, X = "funded", "partial", "reserve", "refused"
# case -> rule -> [(proposed, outcome, reason)] per request in rank order.
EXPECTED = {
    "exact window fit": {rule: [("600.00", F, "fits"), ("400.00", F, "fits")] for rule in ("partial", "skip", "stop")},
    "window fit plus a cent": {
        "partial": [("600.00", F, "fits"), ("400.00", P, "budget_remainder")],
        "skip": [("600.00", F, "fits"), ("0.00", R, "budget_exhausted")],
        "stop": [("600.00", F, "fits"), ("0.00", R, "budget_exhausted")],
    },
    "exact fit after a skipped request": {
        "partial": [
            ("600.00", F, "fits"),
            ("400.00", P, "budget_remainder"),
            ("0.00", R, "budget_exhausted"),
            ("0.00", R, "budget_exhausted"),
        ],
        "skip": [
            ("600.00", F, "fits"),
            ("0.00", R, "budget_exhausted"),
            ("400.00", F, "fits"),
            ("0.00", R, "budget_exhausted"),
        ],
        "stop": [
            ("600.00", F, "fits"),
            ("0.00", R, "budget_exhausted"),
            ("0.00", R, "budget_exhausted"),
            ("0.00", R, "budget_exhausted"),
        ],
    },
    "exact municipal cap": {
        rule: [("600.00", F, "fits"), ("400.00", F, "fits")] for rule in ("partial", "skip", "stop")
    },
    "municipal cap plus a cent": {
        "partial": [("600.00", F, "fits"), ("400.00", P, "municipal_cap_partial"), ("300.00", F, "fits")],
        # A refusal for the cap is no shortage of budget: stop goes on to the next municipality.
        "skip": [("600.00", F, "fits"), ("0.00", X, "municipal_cap"), ("300.00", F, "fits")],
        "stop": [("600.00", F, "fits"), ("0.00", X, "municipal_cap"), ("300.00", F, "fits")],
    },
    "municipal cap already reached": {rule: [("0.00", X, "municipal_cap")] for rule in ("partial", "skip", "stop")},
    "municipal cap a cent from reached": {
        "partial": [("0.01", P, "municipal_cap_partial")],
        "skip": [("0.00", X, "municipal_cap")],
        "stop": [("0.00", X, "municipal_cap")],
    },
    "window and municipal cap both exact": {rule: [("1000.00", F, "fits")] for rule in ("partial", "skip", "stop")},
}


def allocated(case: str, rule: str, *, method: str = "first_come"):
    ceiling, cap, granted, requests = CASES[case]
    candidates = [
        Candidate(
            reference=f"RHA-2026-{number:04d}",
            receipt_sequence=number,
            municipality=municipality,
            requested=Decimal(amount),
            ranked_at=START + timedelta(minutes=number),
            units=10,
        )
        for number, (municipality, amount) in enumerate(requests, start=1)
    ]
    (result,) = allocate(
        [WindowInput(code="all", ceiling=Decimal(ceiling), candidates=candidates, method=method)],
        seed=1,
        tranche_room=Decimal("1000000.00"),
        rule=rule,
        municipal_cap=None if cap is None else Decimal(cap),
        municipal_granted={code: Decimal(amount) for code, amount in granted.items()},
    )
    return result


TABLE = [(case, rule) for case in CASES for rule in ("partial", "skip", "stop")]


@pytest.mark.parametrize(("case", "rule"), TABLE, ids=[f"{case}-{rule}" for case, rule in TABLE])
def test_boundary_table(case, rule):
    result = allocated(case, rule)

    assert [(f"{line.proposed:.2f}", line.outcome, line.reason) for line in result.lines] == EXPECTED[case][rule]
    assert result.proposed == sum(Decimal(proposed) for proposed, _, _ in EXPECTED[case][rule])
    assert [line.rank for line in result.reserve] == [
        rank for rank, (_, outcome, _) in enumerate(EXPECTED[case][rule], start=1) if outcome == R
    ]


@pytest.mark.parametrize("rule", ["partial", "skip", "stop"])
def test_an_exact_window_fit_leaves_nothing_unused_and_no_cut_off(rule):
    result = allocated("exact window fit", rule)

    assert (result.unused, result.oversubscription, result.cutoff_rank) == (0, 0, None)


@pytest.mark.parametrize("rule", ["partial", "skip", "stop"])
def test_a_cent_over_the_window_is_a_cent_of_oversubscription_at_the_second_rank(rule):
    result = allocated("window fit plus a cent", rule)

    assert (result.oversubscription, result.cutoff_rank) == (Decimal("0.01"), 2)
    assert result.unused == (0 if rule == "partial" else Decimal("400.00"))


def test_only_skip_marks_the_request_funded_past_the_reserve_list():
    marks = {
        rule: [line.passes_skipped for line in allocated("exact fit after a skipped request", rule).lines]
        for rule in ("partial", "skip", "stop")
    }

    assert marks == {
        "partial": [False, False, False, False],
        "skip": [False, False, True, False],
        "stop": [False, False, False, False],
    }


@pytest.mark.parametrize("rule", ["partial", "skip", "stop"])
def test_pro_rata_at_the_municipal_cap_plus_a_cent_follows_the_same_rule(rule):
    result = allocated("municipal cap plus a cent", rule, method="pro_rata")

    expected = {
        "partial": [("600.00", F), ("400.00", P), ("300.00", F)],
        "skip": [("600.00", F), ("0.00", X), ("300.00", F)],
        "stop": [("600.00", F), ("0.00", X), ("300.00", F)],
    }[rule]
    assert [(f"{line.proposed:.2f}", line.outcome) for line in result.lines] == expected


# --- pro rata at the same boundaries ----------------------------------------------------------------------

PRO_RATA = {
    # case -> rule -> [(proposed, outcome, reason)]; the ceiling is ample in these cases, so everyone gets all.
    "exact municipal cap": {
        rule: [("600.00", F, "fits"), ("400.00", F, "fits")] for rule in ("partial", "skip", "stop")
    },
    "municipal cap plus a cent": {
        "partial": [("600.00", F, "fits"), ("400.00", P, "municipal_cap_partial"), ("300.00", F, "fits")],
        "skip": [("600.00", F, "fits"), ("0.00", X, "municipal_cap"), ("300.00", F, "fits")],
        "stop": [("600.00", F, "fits"), ("0.00", X, "municipal_cap"), ("300.00", F, "fits")],
    },
    "municipal cap a cent from reached": {
        "partial": [("0.01", P, "municipal_cap_partial")],
        "skip": [("0.00", X, "municipal_cap")],
        "stop": [("0.00", X, "municipal_cap")],
    },
}
PRO_RATA_TABLE = [(case, rule) for case in PRO_RATA for rule in ("partial", "skip", "stop")]


@pytest.mark.parametrize(("case", "rule"), PRO_RATA_TABLE, ids=[f"{c}-{r}" for c, r in PRO_RATA_TABLE])
def test_pro_rata_boundary_table(case, rule):
    result = allocated(case, rule, method="pro_rata")

    assert [(f"{line.proposed:.2f}", line.outcome, line.reason) for line in result.lines] == PRO_RATA[case][rule]
    assert result.pro_rata_fraction == 1


@pytest.mark.parametrize(("rule", "third"), [("partial", ("200.00", P)), ("skip", ("0.00", X)), ("stop", ("0.00", X))])
def test_pro_rata_counts_every_earlier_request_of_the_municipality_against_its_cap(rule, third):
    CASES["three of one municipality"] = ("5000.00", "1000.00", {}, [("GM0363", "400.00")] * 3)
    try:
        result = allocated("three of one municipality", rule, method="pro_rata")
    finally:
        del CASES["three of one municipality"]

    assert [(f"{line.proposed:.2f}", line.outcome) for line in result.lines] == [("400.00", F), ("400.00", F), third]


def test_the_pro_rata_fraction_is_what_is_available_over_what_is_asked():
    result = allocated("window fit plus a cent", "partial", method="pro_rata")

    assert result.pro_rata_fraction == Decimal("1000.00") / Decimal("1000.01")
    assert [line.reason for line in result.lines] == ["pro_rata", "pro_rata"]


# --- transfers between windows ----------------------------------------------------------------------------


def transfer_run(windows, *, rule="skip", cap=None, **arguments):
    """Windows given as (code, ceiling, method, [(municipality, request)]); receipt order across all of them."""
    number = 0
    inputs = []
    for code, ceiling, method, requests in windows:
        candidates = []
        for municipality, amount in requests:
            number += 1
            candidates.append(
                Candidate(
                    reference=f"RHA-2026-{number:04d}",
                    receipt_sequence=number,
                    municipality=municipality,
                    requested=Decimal(amount),
                    ranked_at=START + timedelta(minutes=number),
                    units=10,
                )
            )
        inputs.append(WindowInput(code=code, ceiling=Decimal(ceiling), candidates=candidates, method=method))
    return allocate(
        inputs,
        seed=1,
        tranche_room=Decimal("1000000.00"),
        rule=rule,
        municipal_cap=None if cap is None else Decimal(cap),
        **arguments,
    )


def outcomes(result):
    return [(f"{line.proposed:.2f}", line.outcome) for line in result.lines]


def test_the_unused_budget_is_offered_once_not_to_every_window_short_of_it():
    a, b, c = transfer_run(
        [
            ("a", "200.00", "first_come", [("GM0363", "100.00")]),
            ("b", "100.00", "first_come", [("GM0344", "200.00")]),
            ("c", "100.00", "first_come", [("GM0599", "200.00")]),
        ],
        transfer=True,
    )

    # Window a leaves 100: b's request now fits; nothing is left for c's.
    assert (outcomes(b), outcomes(c)) == ([("200.00", F)], [("0.00", R)])
    assert a.proposed + b.proposed + c.proposed == Decimal("300.00")


def test_a_pro_rata_window_gives_its_unused_budget_to_the_windows_after_it():
    pro_rata, first_come = transfer_run(
        [
            ("a", "300.00", "pro_rata", [("GM0363", "100.00")]),
            ("b", "100.00", "first_come", [("GM0344", "300.00")]),
        ],
        transfer=True,
    )

    assert outcomes(pro_rata) == [("100.00", F)]
    assert outcomes(first_come) == [("300.00", F)]
    assert first_come.lines[0].reason == "transfer"


def test_without_unused_budget_the_transfer_leaves_the_reserve_list_as_it_was():
    # Both windows spend everything; GM0363's skipped 600 would no longer fit its cap either, but nothing is
    # offered, so it stays on the reserve list rather than becoming a refusal.
    a, b = transfer_run(
        [
            ("a", "500.00", "first_come", [("GM0363", "600.00"), ("GM0344", "500.00")]),
            ("b", "500.00", "first_come", [("GM0363", "500.00")]),
        ],
        cap="1000.00",
        transfer=True,
    )

    assert [(line.outcome, line.reason) for line in a.lines] == [(R, "budget_exhausted"), (F, "fits")]
    assert outcomes(b) == [("500.00", F)]


def test_a_single_window_has_nothing_to_transfer():
    # GM0363's 600 is skipped; its later 450 is funded and leaves 550 of its cap, so a second offer of the
    # 50 left would refuse the 600 for the cap. With one window there is no second offer.
    (window,) = transfer_run(
        [("a", "1000.00", "first_come", [("GM0344", "500.00"), ("GM0363", "600.00"), ("GM0363", "450.00")])],
        cap="1000.00",
        transfer=True,
    )

    assert [(line.outcome, line.reason) for line in window.lines] == [
        (F, "fits"),
        (R, "budget_exhausted"),
        (F, "fits"),
    ]


def test_windows_keep_their_unused_budget_unless_a_transfer_is_asked_for():
    a, b = transfer_run(
        [
            ("a", "200.00", "first_come", [("GM0363", "100.00")]),
            ("b", "100.00", "first_come", [("GM0344", "200.00")]),
        ]
    )

    assert outcomes(b) == [("0.00", R)]
    assert a.unused == Decimal("100.00")


def test_a_category_window_breaks_ties_by_lot_when_it_says_so():
    candidates = [
        Candidate(
            reference=f"RHA-2026-{number:04d}",
            receipt_sequence=number,
            municipality="GM0363",
            requested=Decimal("100.00"),
            ranked_at=START + timedelta(minutes=number),
            units=10,
        )
        for number in range(1, 9)
    ]

    def order(tie_break):
        (result,) = allocate(
            [
                WindowInput(
                    code="students",
                    ceiling=Decimal("1000.00"),
                    candidates=candidates,
                    method="category",
                    tie_break=tie_break,
                    category_rule="student_2025",
                )
            ],
            seed=20250101,
            tranche_room=Decimal("1000.00"),
            rule="skip",
        )
        return [(line.candidate.reference, line.drawn) for line in result.lines]

    assert order("receipt") == [(c.reference, False) for c in candidates]
    drawn = order("lottery")
    assert {drawn_flag for _, drawn_flag in drawn} == {True}
    assert [reference for reference, _ in drawn] != [c.reference for c in candidates]
