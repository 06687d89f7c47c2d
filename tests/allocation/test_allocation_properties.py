"""Properties of ranking and allocation over random application sets (hypothesis)."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.engine import Outcome, WindowInput, allocate
from allocation.ranking import Candidate, local_day, rank, receipt_key

START = datetime(2023, 5, 30, 7, tzinfo=UTC)
MUNICIPALITIES = ["GM0363", "GM0344", "GM0599", "GM0518", "GM0014"]
OUTCOME_HOLDS = {
    Outcome.FUNDED: lambda proposed, requested: proposed == requested,
    Outcome.PARTIAL: lambda proposed, requested: 0 < proposed < requested,
    Outcome.RESERVE: lambda proposed, requested: proposed == 0,
    Outcome.REFUSED: lambda proposed, requested: proposed == 0,
}
money = st.integers(min_value=0, max_value=2_000_000).map(lambda cents: Decimal(cents) / 100)


@st.composite
def candidates(draw, max_size=30):
    specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(MUNICIPALITIES),
                money,
                st.integers(min_value=0, max_value=4 * 24 * 60),
                st.integers(min_value=1, max_value=20),
                st.integers(min_value=0, max_value=20),
                st.integers(min_value=0, max_value=20),
            ),
            max_size=max_size,
        )
    )
    return [
        Candidate(
            reference=f"REF-{number:05d}",
            receipt_sequence=number,
            municipality=municipality,
            requested=requested,
            ranked_at=START + timedelta(minutes=minutes),
            units=units,
            units_not_self_contained=min(shared, units),
            units_with_common_room=min(common, units),
        )
        for number, (municipality, requested, minutes, units, shared, common) in enumerate(specs, start=1)
    ]


@st.composite
def runs(draw):
    pool = draw(candidates(max_size=40))
    split = draw(st.integers(min_value=0, max_value=len(pool)))
    two = draw(st.booleans())
    methods = st.sampled_from(["first_come", "first_come_same_day_lottery", "category", "lottery", "pro_rata"])
    windows = []
    for code, members in [("a", pool[:split]), ("b", pool[split:])] if two else [("a", pool)]:
        windows.append(
            WindowInput(
                code=code,
                ceiling=draw(money),
                candidates=members,
                method=draw(methods),
                tie_break=draw(st.sampled_from(["receipt", "lottery"])),
                category_rule="student_2025",
            )
        )
    return {
        "windows": windows,
        "seed": draw(st.integers(min_value=0, max_value=10**9)),
        "tranche_room": draw(money),
        "rule": draw(st.sampled_from(["partial", "skip", "stop"])),
        "municipal_cap": draw(st.none() | money),
        "municipal_granted": draw(st.dictionaries(st.sampled_from(MUNICIPALITIES), money, max_size=3)),
        "transfer": draw(st.booleans()),
    }


def outcome_table(results):
    return [
        (result.code, line.rank, line.candidate.reference, line.proposed, line.outcome, line.reason)
        for result in results
        for line in result.lines
    ]


@settings(max_examples=300, deadline=None)
@given(runs())
def test_no_ceiling_deelplafond_or_municipal_cap_is_ever_exceeded(run):
    results = allocate(**run)
    total = sum(result.proposed for result in results)
    assert total <= run["tranche_room"]
    if run["transfer"]:
        assert total <= sum(window.ceiling for window in run["windows"])
    else:
        for result, window in zip(results, run["windows"], strict=True):
            assert result.proposed <= result.ceiling <= window.ceiling
    per_municipality = defaultdict(Decimal)
    for result in results:
        for line in result.lines:
            assert 0 <= line.proposed <= line.requested
            assert OUTCOME_HOLDS[line.outcome](line.proposed, line.requested)
            per_municipality[line.candidate.municipality] += line.proposed
    if run["municipal_cap"] is not None:
        for municipality, amount in per_municipality.items():
            before = run["municipal_granted"].get(municipality, Decimal("0"))
            assert amount <= max(Decimal("0"), run["municipal_cap"] - before)


@settings(max_examples=200, deadline=None)
@given(runs())
def test_the_same_seed_gives_the_same_result(run):
    assert outcome_table(allocate(**run)) == outcome_table(allocate(**run))


@settings(max_examples=300, deadline=None)
@given(candidates(), money, st.integers(min_value=0, max_value=10**9))
def test_outside_the_lottery_day_receipt_order_is_kept(pool, ceiling, seed):
    ranking = rank(pool, method="first_come_same_day_lottery", seed=seed, ceiling=ceiling)
    ordered = [rc.candidate for rc in ranking.candidates]
    days = [local_day(c.ranked_at) for c in ordered]
    assert days == sorted(days)
    outside = [c for c, day in zip(ordered, days, strict=True) if day != ranking.lottery_day]
    assert outside == sorted(outside, key=receipt_key)
    if ranking.lottery_day is not None:
        before = [c for c in ordered if local_day(c.ranked_at) < ranking.lottery_day]
        assert sum((c.requested for c in before), Decimal("0")) <= ceiling
        through_day = [c for c in ordered if local_day(c.ranked_at) <= ranking.lottery_day]
        assert sum((c.requested for c in through_day), Decimal("0")) > ceiling


@settings(max_examples=200, deadline=None)
@given(candidates(), money, st.integers(min_value=0, max_value=10**9))
def test_first_come_is_receipt_order(pool, ceiling, seed):
    ranking = rank(pool, method="first_come", seed=seed, ceiling=ceiling)
    assert [rc.candidate for rc in ranking.candidates] == sorted(pool, key=receipt_key)
