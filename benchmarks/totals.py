"""The ministry's totals on a million unit lines: the refresh task, and reading the dashboard and the API.

Needs PostgreSQL (DATABASE_URL). Builds a dedicated database "thuisfonds_bench" on the same server, fills it
with 250,000 decided applications of four unit lines each over five tranches (fixed seed), then measures:
- the refresh task (ministry.tasks.refresh_totals), three runs;
- the dashboard page and the totals API through the Django test client, median of 60 requests each.

Run with `python -m benchmarks.totals` (or as part of `python -m benchmarks`). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from benchmarks import machine

SEED = 2024
BENCH_DATABASE = "thuisfonds_bench"
TRANCHE_YEARS = (2021, 2022, 2023, 2024, 2025)
LINES_PER_APPLICATION = 4
REQUESTS = 60
WARM_UP = 5
CHUNK = 5_000


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _tranches(users):
    from allocation.models import AllocationRun, RunStatus
    from grants.models import Scheme, TargetGroup, Tranche, TrancheTargetGroup, Window

    scheme, _ = Scheme.objects.get_or_create(code="rha", defaults={"name": "Regeling huisvesting aandachtsgroepen"})
    tranches = []
    for number, year in enumerate(TRANCHE_YEARS, start=2):
        opens_at = datetime(year, 6, 1, 7, tzinfo=UTC)
        tranche = Tranche.objects.create(
            scheme=scheme,
            slug=f"bench-{year}",
            number=number,
            year=year,
            title=f"Benchmark {year}",
            opens_at=opens_at,
            closes_at=opens_at + timedelta(days=60),
            budget_ceiling=Decimal("400000000.00"),
            max_per_permanent_unit=Decimal("8500.00"),
            max_per_flexible_unit=Decimal("8500.00"),
            receipt_prefix=f"B{year}",
        )
        groups = [
            TrancheTargetGroup.objects.create(tranche=tranche, code=group.code, name=group.name, national_group=group)
            for group in TargetGroup.objects.all()
        ]
        windows = []
        for code in ("students", "other"):
            window = Window.objects.create(
                tranche=tranche, code=code, name=code, budget_ceiling=Decimal("200000000.00")
            )
            window.eligible_target_groups.set(groups)
            windows.append(window)
        run = AllocationRun.objects.create(
            tranche=tranche,
            status=RunStatus.CONFIRMED,
            seed=SEED,
            prepared_by=users[0],
            prepared_at=opens_at + timedelta(days=70),
            approved_by=users[1],
            confirmed_at=opens_at + timedelta(days=71),
            ceiling=tranche.budget_ceiling,
            requested_total=Decimal("0"),
            proposed_total=Decimal("0"),
            oversubscription=Decimal("0"),
            inputs=[],
            rules={},
        )
        tranches.append((tranche, windows, groups, run))
    return tranches


def _fill(applications: int) -> None:
    """Decided applications with four unit lines each, written with bulk inserts in chunks."""
    from accounts.models import Role, User
    from allocation.models import Decision, DecisionOutcome
    from applications.models import Application, Permanence, Status, UnitLine
    from grants.models import HousingType, Municipality

    rng = random.Random(SEED)
    users = [
        User.objects.create(username="bench-assessor", role=Role.AGENCY_ASSESSOR),
        User.objects.create(username="bench-approver", role=Role.AGENCY_APPROVER),
    ]
    tranches = _tranches(users)
    municipalities = list(Municipality.objects.values_list("pk", flat=True))
    housing_types = list(HousingType.objects.values_list("pk", flat=True))
    outcomes = [DecisionOutcome.GRANTED] * 7 + [DecisionOutcome.PARTIALLY_GRANTED, DecisionOutcome.REFUSED] + [None]
    statuses = {
        DecisionOutcome.GRANTED: Status.GRANTED,
        DecisionOutcome.PARTIALLY_GRANTED: Status.PARTIALLY_GRANTED,
        DecisionOutcome.REFUSED: Status.REFUSED,
        None: Status.ELIGIBLE,
    }
    sequence = 0
    for start in range(0, applications, CHUNK):
        batch, planned = [], []
        for _ in range(min(CHUNK, applications - start)):
            sequence += 1
            tranche, windows, groups, run = tranches[sequence % len(tranches)]
            outcome = rng.choice(outcomes)
            received = tranche.opens_at + timedelta(seconds=rng.randrange(60 * 24 * 3600))
            batch.append(
                Application(
                    reference=f"BENCH-{sequence:07d}",
                    receipt_sequence=sequence,
                    municipality_id=rng.choice(municipalities),
                    tranche=tranche,
                    window=rng.choice(windows),
                    project_name=f"Benchmarkproject {sequence}",
                    location="Stationsstraat 1",
                    status=statuses[outcome],
                    received_at=received,
                    completed_at=received,
                    ranks_at=received,
                    is_demo=True,
                )
            )
            lines = [
                (rng.choice(groups).pk, rng.choice(housing_types), rng.choice(Permanence.values), rng.randint(1, 40))
                for _ in range(LINES_PER_APPLICATION)
            ]
            planned.append((outcome, run, lines))
        Application.objects.bulk_create(batch)
        unit_lines, decisions = [], []
        for application, (outcome, run, lines) in zip(batch, planned, strict=True):
            requested = Decimal("0")
            for group, housing_type, permanence, units in lines:
                amount = Decimal(units * 8500)
                requested += amount
                unit_lines.append(
                    UnitLine(
                        application=application,
                        target_group_id=group,
                        housing_type_id=housing_type,
                        permanence=permanence,
                        units=units,
                        requested_amount=amount,
                    )
                )
            if outcome is None:
                continue
            amount = {
                DecisionOutcome.GRANTED: requested,
                DecisionOutcome.PARTIALLY_GRANTED: (requested / 2).quantize(Decimal("0.01")),
                DecisionOutcome.REFUSED: Decimal("0"),
            }[outcome]
            granted = outcome != DecisionOutcome.REFUSED
            decisions.append(
                Decision(
                    application=application,
                    run=run,
                    outcome=outcome,
                    requested=requested,
                    amount=amount,
                    reason="fits",
                    decision_date=date(application.tranche.year, 9, 1),
                    start_construction_by=date(application.tranche.year + 2, 9, 1) if granted else None,
                    complete_by=date(application.tranche.year + 5, 9, 1) if granted else None,
                    units_available_until=date(application.tranche.year + 15, 9, 1) if granted else None,
                )
            )
        UnitLine.objects.bulk_create(unit_lines, batch_size=CHUNK)
        Decision.objects.bulk_create(decisions, batch_size=CHUNK)


def _timed_requests(client, url: str, params: dict) -> tuple[float, float, int]:
    """Median and 95th percentile in milliseconds over REQUESTS requests, after WARM_UP unmeasured ones."""
    for _ in range(WARM_UP):
        client.get(url, params)
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1], len(response.content)


def run(*, applications: int = 250_000, keep: bool = False) -> None:
    _setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Role, User
    from applications.models import UnitLine
    from grants.services import load_reference_data
    from ministry import tasks
    from ministry.models import TotalsRow

    if connection.vendor != "postgresql":
        print("\nTotals benchmark skipped: it needs PostgreSQL (set DATABASE_URL).")
        return
    configured_database = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        load_reference_data()
        started = time.perf_counter()
        _fill(applications)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
        lines = UnitLine.objects.count()
        print(f"\nTotals benchmark on PostgreSQL {server_version}, database {BENCH_DATABASE}")
        load = machine.load_averages()
        print(f"Machine: {os.cpu_count()} cores, {machine.cpu_model()}; DEBUG={settings.DEBUG}; load {load}")
        print(f"Data: {applications:,} applications, {lines:,} unit lines, {len(TRANCHE_YEARS)} tranches")
        print(f"  (generated in {time.perf_counter() - started:.0f} s)")

        durations = []
        for _ in range(3):
            started = time.perf_counter()
            tasks.refresh_totals()
            durations.append(time.perf_counter() - started)
        print(
            f"refresh_totals task: {', '.join(f'{d:.2f}' for d in durations)} s "
            f"(median {statistics.median(durations):.2f} s; {TotalsRow.objects.count():,} rows stored; target < 30 s)"
        )

        with connection.cursor() as cursor:
            # As autovacuum does soon after a refresh: the deleted generations otherwise slow the first reads.
            cursor.execute("VACUUM ANALYZE ministry_totalsrow")
        client = Client()
        client.force_login(User.objects.create(username="bench-analyst", role=Role.MINISTRY_ANALYST))
        cases = [
            ("dashboard", reverse("ministry:dashboard"), {}),
            (
                "dashboard, tranche and province",
                reverse("ministry:dashboard"),
                {"tranche": "bench-2023", "province": "Utrecht"},
            ),
            ("totals API, scope tranche", reverse("api:totals-list"), {"scope": "tranche"}),
            ("totals API, first page of all rows", reverse("api:totals-list"), {}),
            ("progress letter page", reverse("ministry:progress_letter"), {"tranche": "bench-2023"}),
        ]
        for name, url, params in cases:
            median, p95, size = _timed_requests(client, url, params)
            print(f"{name:<36} median {median:6.1f} ms, p95 {p95:6.1f} ms ({REQUESTS} requests, {size:,} bytes)")
        print(f"Load averages at the end: {machine.load_averages()}")
    finally:
        if not keep:
            connection.creation.destroy_test_db(configured_database, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.totals", description=__doc__)
    parser.add_argument("--applications", type=int, default=250_000, help="Applications (four unit lines each).")
    parser.add_argument("--keep", action="store_true", help=f"Keep the database {BENCH_DATABASE} afterwards.")
    options = parser.parse_args()
    run(applications=options.applications, keep=options.keep)


if __name__ == "__main__":
    main()
