"""Ranking plus allocation of one window, on plain dataclasses in memory.

Time is the best of three runs, measured without tracemalloc (it slows Python down several times); CPU time is
printed next to wall-clock time because other processes on a shared machine inflate the latter. Peak memory is
measured in one more, traced run and counts what ranking and allocation allocate on top of the input list.
"""

from __future__ import annotations

import gc
import math
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from allocation.engine import WindowInput, allocate
from allocation.ranking import Candidate

SEED = 2025
METHODS = ("first_come", "first_come_same_day_lottery", "category", "lottery", "pro_rata")
OPENING = datetime(2025, 6, 10, 7, tzinfo=UTC)
MUNICIPALITIES = [f"GM{code:04d}" for code in range(1, 343)]
CEILING = Decimal("30000000.00")
MUNICIPAL_CAP = Decimal("3000000.00")


def candidates(n: int) -> list[Candidate]:
    """n applications over the 101 days of the 2025 round, 1–40 units at up to € 8,500 each."""
    rng = random.Random(SEED)
    pool = []
    for number in range(1, n + 1):
        units = rng.randint(1, 40)
        shared = rng.choice((0, 0, units, rng.randint(0, units)))
        pool.append(
            Candidate(
                reference=f"RHA-2025-{number:06d}",
                receipt_sequence=number,
                municipality=rng.choice(MUNICIPALITIES),
                requested=Decimal(units * rng.randint(500_00, 8_500_00)) / 100,
                ranked_at=OPENING + timedelta(seconds=rng.randint(0, 101 * 24 * 3600)),
                units=units,
                units_not_self_contained=shared,
                units_with_common_room=rng.randint(0, units - shared),
            )
        )
    return pool


def rank_and_allocate(pool: list[Candidate], method: str):
    return allocate(
        [WindowInput(code="w", ceiling=CEILING, candidates=pool, method=method, category_rule="student_2025")],
        seed=SEED,
        tranche_room=CEILING,
        rule="skip",
        municipal_cap=MUNICIPAL_CAP,
    )


def measure(pool: list[Candidate], method: str, *, repeats: int = 3) -> tuple[float, float, float]:
    """Best wall-clock and CPU seconds of `repeats` runs, and the traced peak in MB of one more."""
    wall, cpu = [], []
    for _ in range(repeats):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        rank_and_allocate(pool, method)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    gc.collect()
    tracemalloc.start()
    rank_and_allocate(pool, method)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(wall), min(cpu), peak / 2**20


def run(*, sizes: list[int]) -> None:
    print("Ranking plus allocation of one window (ceiling € 30 M, rule skip, cap € 3 M per municipality)")
    print("best of 3 runs; the last column is CPU time per n·log2(n)")
    print(f"{'n':>8}  {'method':<28} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'ns/(n·log2 n)':>14}")
    for n in sizes:
        pool = candidates(n)
        for method in METHODS:
            wall, cpu, peak = measure(pool, method)
            per_nlogn = cpu / (n * math.log2(n)) * 1e9
            print(f"{n:>8}  {method:<28} {wall:>7.3f} {cpu:>7.3f} {peak:>8.1f} {per_nlogn:>14.1f}")
    print("A constant last column means cost grows as n log n.")
