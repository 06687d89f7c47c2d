"""Import of applications into the database with `import_applications`, then a preview of their allocation.

Runs against a throwaway test database created next to the configured one: SQLite by default,
PostgreSQL when DATABASE_URL points there. Nothing is left behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

TRANCHE_FILE = Path(__file__).resolve().parent.parent / "grants" / "tranches" / "rha-2025.json"
SEED = 2025


def exchange_file(rows: int, *, municipalities: list[str], opens_at, groups: list[str]) -> io.StringIO:
    from applications.selectors import EXCHANGE_COLUMNS

    rng = random.Random(SEED)
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(EXCHANGE_COLUMNS)
    for number in range(1, rows + 1):
        units = rng.randint(1, 40)
        received = opens_at + timedelta(seconds=rng.randint(0, 100 * 24 * 3600))
        writer.writerow(
            [
                f"RHA-2025-{number:06d}",
                rng.choice(municipalities),
                "other",
                f"Project {number}",
                received.isoformat(),
                rng.choice(groups),
                "regular",
                rng.choice(("permanent", "flexible")),
                "yes",
                "no",
                units,
                f"{units * 8500}.00",
            ]
        )
    stream.seek(0)
    return stream


def run(*, rows: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from accounts.models import Role, User
    from allocation.selectors import compute_allocation
    from allocation.services import prepare_allocation
    from applications.importing import import_applications
    from grants.models import Municipality
    from grants.services import load_reference_data, load_tranche

    if connection.vendor == "sqlite":
        # A file, as in the embedded run, rather than the in-memory database SQLite tests get by default.
        connection.settings_dict["TEST"]["NAME"] = str(Path(tempfile.mkdtemp()) / "benchmark.sqlite3")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        load_reference_data()
        tranche = load_tranche(data=json.loads(TRANCHE_FILE.read_text(encoding="utf-8")))
        window = tranche.windows.get(code="other")
        stream = exchange_file(
            rows,
            municipalities=list(Municipality.objects.values_list("code", flat=True)),
            opens_at=tranche.opens_at,
            groups=list(window.eligible_target_groups.values_list("code", flat=True)),
        )
        print(f"\nDatabase: {connection.vendor}, {rows:,} applications in window 'other' of {tranche.slug}")
        started = time.perf_counter()
        import_applications(tranche=tranche, stream=stream, source="benchmark")
        print(f"import_applications (validate, bulk insert, audit rows): {time.perf_counter() - started:8.2f} s")
        started = time.perf_counter()
        compute_allocation(tranche=tranche, window=window, seed=SEED)
        print(f"compute_allocation (read, rank, allocate):              {time.perf_counter() - started:8.2f} s")
        preparer = User.objects.create(username="benchmark", role=Role.AGENCY_ASSESSOR)
        started = time.perf_counter()
        prepare_allocation(tranche=tranche, window=window, user=preparer)
        print(f"prepare_allocation (the above, plus storing the run):   {time.perf_counter() - started:8.2f} s")
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
