"""Opening day: N ready applications submitted at the opening instant, C at a time, through gunicorn as in docker/.

    python -m benchmarks.opening_day --submissions 1000 --concurrency 100 [--kill-worker-at S] [--terminate-db-at S]

Needs PostgreSQL (DATABASE_URL); works in a scratch database `thuisfonds_opening_day` on that server, with
gunicorn as docker/gunicorn.conf.py and, when installed, nginx as docker/nginx.conf in front. What it does and what
it counts: docs/benchmarks.md, "Opening day". Not a test: it prints figures, and its last line contains
`lost 0 duplicated 0 gaps 0 inversions>100ms 0` when all hold.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path

from benchmarks import machine, serving
from benchmarks.serving import HOST, ROOT

BENCH_DATABASE = "thuisfonds_opening_day"
SEED = 19
# Seconds from the moment the tranche is given its opening to the opening itself.
LEAD = 8
PROBE_PAGES = ("login", "home", "tranche")
FORM = re.compile(
    r'action="/applications/(?P<id>[0-9a-f-]{36})/submit/">\s*'
    r'<input type="hidden" name="csrfmiddlewaretoken" value="(?P<csrf>[^"]+)">\s*'
    r'<input type="hidden" name="key" value="(?P<key>[0-9a-f]{64})">'
)
RECEIVED_LOG = re.compile(
    r"application (?P<id>[0-9a-f-]{36}) received as \S+ at \S+ by \S+; arrived \S+, "
    r"overtaken by (?P<overtaken>[0-9.]+) ms; receipt statement (?P<statement>[0-9.]+) ms, "
    r"tranche locked (?P<locked>[0-9.]+) ms before the commit"
)


@dataclass
class Municipality:
    code: str
    cookies: dict[str, str]
    forms: dict[str, tuple[str, str]] = field(default_factory=dict)  # public id -> (csrf token, key)


@dataclass
class Attempt:
    public_id: str
    municipality: Municipality
    sent: float = 0.0  # when the request set off, before its connection
    written: float = 0.0  # when the whole request had been handed to the network
    answered: float = 0.0
    status: int | None = None
    error: str = ""


# --- the municipalities' requests ---------------------------------------------------------------------


def _remember_cookies(municipality: Municipality, headers) -> None:
    for name, value in headers:
        if name.lower() == "set-cookie":
            for morsel in SimpleCookie(value).values():
                municipality.cookies[morsel.key] = morsel.value


def _load_tranche_page(port: int, slug: str, municipality: Municipality) -> bytes:
    status, headers, body = serving.request(port, "GET", f"/tranches/{slug}/", cookies=municipality.cookies)
    if status != 200:
        raise RuntimeError(f"tranche page for {municipality.code}: HTTP {status}")
    _remember_cookies(municipality, headers)
    return body


def _submit(port: int, attempt: Attempt) -> None:
    csrf, key = attempt.municipality.forms[attempt.public_id]
    attempt.sent = time.time()
    written = []
    try:
        status, _headers, _body = serving.request(
            port,
            "POST",
            f"/applications/{attempt.public_id}/submit/",
            cookies=attempt.municipality.cookies,
            form={"csrfmiddlewaretoken": csrf, "key": key},
            written=written,
        )
        attempt.status = status
    except (OSError, http.client.HTTPException) as error:
        attempt.error = type(error).__name__
    attempt.answered = time.time()
    attempt.written = written[0] if written else attempt.answered


# --- the data -------------------------------------------------------------------------------------------


def _prepare(submissions: int) -> tuple[str, dict[str, Municipality], list[tuple[str, str]]]:
    """The tranche, a signatory per municipality with a session, and the drafts confirmed as ready.

    Returns the tranche's slug, the municipalities by code, and (public id, municipality code) in submission order.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from accounts.models import Role, User
    from accounts.security import LAST_ACTIVITY
    from applications.models import Application, Permanence, Status, StatusChange, UnitLine
    from applications.submission import confirm_ready
    from grants.models import HousingType, Scheme, TargetGroup, Tranche, TrancheTargetGroup, Window
    from grants.models import Municipality as Place
    from grants.services import load_reference_data

    load_reference_data()
    now = datetime.now(UTC)
    scheme, _ = Scheme.objects.get_or_create(code="rha", defaults={"name": "Regeling huisvesting aandachtsgroepen"})
    tranche = Tranche.objects.create(
        scheme=scheme,
        slug="opening-day",
        number=99,
        year=now.year,
        title="Openingsdag",
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=31),
        budget_ceiling=Decimal("900000000.00"),
        max_per_permanent_unit=Decimal("8500.00"),
        max_per_flexible_unit=Decimal("7000.00"),
        receipt_prefix="OPEN",
    )
    groups = [
        TrancheTargetGroup.objects.create(tranche=tranche, code=group.code, name=group.name, national_group=group)
        for group in TargetGroup.objects.all()
    ]
    window = Window.objects.create(tranche=tranche, code="all", name="Alle groepen", budget_ceiling=Decimal("9e8"))
    window.eligible_target_groups.set(groups)
    homeless = next(group for group in groups if group.code == "homeless")
    regular = HousingType.objects.get(code="regular")
    places = list(Place.objects.order_by("code"))
    users = User.objects.bulk_create(
        User(username=f"bench-{place.code}", role=Role.MUNICIPAL_SIGNATORY, municipality=place) for place in places
    )
    municipalities = {}
    for place, user in zip(places, users, strict=True):
        session = SessionStore()
        session.update(
            {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: "accounts.eherkenning.EHerkenningBackend",  # how municipalities log in
                HASH_SESSION_KEY: user.get_session_auth_hash(),
                LAST_ACTIVITY: int(time.time()),
            }
        )
        session.create()
        municipalities[place.code] = Municipality(place.code, {"sessionid": session.session_key})
    drafts = Application.objects.bulk_create(
        Application(
            municipality=places[index % len(places)],
            tranche=tranche,
            window=window,
            project_name=f"Opening {index + 1}",
            location="Stationsstraat 1",
            created_by=users[index % len(places)],
        )
        for index in range(submissions)
    )
    UnitLine.objects.bulk_create(
        UnitLine(
            application=draft,
            target_group=homeless,
            housing_type=regular,
            permanence=Permanence.PERMANENT,
            units=10,
            requested_amount=Decimal("85000.00"),
        )
        for draft in drafts
    )
    StatusChange.objects.bulk_create(
        StatusChange(application=draft, to_status=Status.DRAFT, actor=draft.created_by, at=now) for draft in drafts
    )
    with transaction.atomic():
        for draft in drafts:
            confirm_ready(application=draft, user=draft.created_by)
    order = [(str(draft.public_id), draft.municipality.code) for draft in drafts]
    random.Random(SEED).shuffle(order)
    return tranche.slug, municipalities, order


def _open_at(slug: str, instant: datetime) -> None:
    from grants.models import Tranche

    Tranche.objects.filter(slug=slug).update(opens_at=instant)


def _terminate_connections() -> int:
    from django.db import connections

    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]
    finally:
        killer.close()


def _commit_times(count: int = 200) -> list[float]:
    """Milliseconds per committed one-row insert: the commit's wait for the disk, which any lock held to the commit
    includes."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE commit_probe (at timestamptz)")
        for _ in range(count):
            began = time.perf_counter()
            cursor.execute("INSERT INTO commit_probe VALUES (now())")
            times.append((time.perf_counter() - began) * 1000)
        cursor.execute("DROP TABLE commit_probe")
    return times


def _database_state(slug: str) -> dict[str, tuple]:
    """Per application: status, receipt number, receipt instant and how often it was submitted."""
    from django.db.models import Count, Q

    from applications.models import Application, Status

    rows = (
        Application.objects.filter(tranche__slug=slug)
        .annotate(submissions=Count("status_changes", filter=Q(status_changes__to_status=Status.SUBMITTED)))
        .values_list("public_id", "status", "receipt_sequence", "received_at", "submissions")
    )
    return {str(public_id): (status, number, received, count) for public_id, status, number, received, count in rows}


# --- the figures ----------------------------------------------------------------------------------------


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        value = values[0] if values else float("nan")
        return value, value, value
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def _inversions(sendings: list[tuple[float, float, int]], *, apart: float) -> int:
    """Pairs whose receipt numbers are the other way round although one was wholly sent `apart` seconds or more
    before the other set off. Each sending is (set off, wholly sent, receipt number): a client thread can be held
    up between the two, and then neither moment alone says when the request left."""
    count = 0
    for _, written, number in sendings:
        count += sum(later_sent - written >= apart and later < number for later_sent, _, later in sendings)
    return count


def run(
    *,
    submissions: int,
    concurrency: int,
    kill_worker_at: float | None,
    terminate_db_at: float | None,
    proxy: str,
    probes: int,
    keep: bool,
) -> None:
    secret_key = secrets.token_urlsafe(50)
    os.environ["SECRET_KEY"] = secret_key
    # This process only prepares and checks; the service's own log is read for the lock figures.
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("Opening-day benchmark skipped: it needs PostgreSQL (set DATABASE_URL).")
        return
    use_nginx = proxy == "nginx" or (proxy == "auto" and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()))
    configured_database = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    load_before = machine.load_averages()
    started = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    workdir = Path(tempfile.mkdtemp(prefix="opening-day-"))
    # nginx's workers, which run as another user, write large responses to files here.
    workdir.chmod(0o755)
    gunicorn = nginx = None
    try:
        slug, municipalities, order = _prepare(submissions)
        commits = _percentiles(_commit_times())
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env={**os.environ, "DEBUG": "0"},
            check=True,
        )
        environment = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secret_key,
            "DATABASE_URL": urllib.parse.urlsplit(os.environ["DATABASE_URL"])
            ._replace(path=f"/{BENCH_DATABASE}")
            .geturl(),
            "CONN_MAX_AGE": "60",
            "REDIS_URL": os.environ.get("OPENING_DAY_REDIS_URL", "redis://127.0.0.1:6379/15"),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": HOST,
            "LOG_FORMAT": "text",
            "LOG_LEVEL": "INFO",
            "REQUEST_START_PROXIES": HOST if use_nginx else "",
        }
        gunicorn, gunicorn_port, gunicorn_log = serving.start_gunicorn(workdir, environment)
        port = gunicorn_port
        if use_nginx:
            nginx, port = serving.start_nginx(workdir, gunicorn_port)
        print(
            f"Setup: {time.perf_counter() - started:.0f} s; intake: {'nginx -> gunicorn' if use_nginx else 'gunicorn'}"
        )

        # Before the opening: every municipality loads its tranche page, with the forms and their keys.
        def load(municipality: Municipality) -> None:
            for match in FORM.finditer(_load_tranche_page(port, slug, municipality).decode()):
                municipality.forms[match["id"]] = (match["csrf"], match["key"])

        serving.in_parallel(load, list(municipalities.values()), concurrency)
        attempts = [Attempt(public_id, municipalities[code]) for public_id, code in order]
        missing = [attempt.public_id for attempt in attempts if attempt.public_id not in attempt.municipality.forms]
        if missing:
            raise RuntimeError(f"{len(missing)} submit forms missing from the tranche pages")
        opening = datetime.fromtimestamp(int(time.time()) + LEAD, tz=UTC)
        _open_at(slug, opening)
        connection.close()
        opening_at = opening.timestamp()

        events: list[str] = []
        timers = []
        if kill_worker_at is not None:

            def kill_worker() -> None:
                workers = serving.children(gunicorn.pid)
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
                    events.append(f"killed gunicorn worker {workers[0]} at +{time.time() - opening_at:.2f} s")

            timers.append(threading.Timer(opening_at + kill_worker_at - time.time(), kill_worker))
        if terminate_db_at is not None:

            def terminate() -> None:
                count = _terminate_connections()
                events.append(f"terminated {count} database connections at +{time.time() - opening_at:.2f} s")

            timers.append(threading.Timer(opening_at + terminate_db_at - time.time(), terminate))

        # Probes load the baseline pages during the burst, as people refreshing at the opening do.
        burst_over = threading.Event()
        probe_times: dict[str, list[float]] = {page: [] for page in PROBE_PAGES}
        probe_sessions = list(municipalities.values())[-probes * 2 :]

        def probe(page: str, index: int) -> None:
            path = {"login": "/login/", "home": "/", "tranche": f"/tranches/{slug}/"}[page]
            cookies = None if page == "login" else probe_sessions[index].cookies
            time.sleep(max(0.0, opening_at - time.time()))
            while not burst_over.is_set():
                began = time.perf_counter()
                status = serving.request(port, "GET", path, cookies=cookies)[0]
                if status == 200:
                    probe_times[page].append((time.perf_counter() - began) * 1000)

        probe_threads = [
            threading.Thread(target=probe, args=(page, index % len(probe_sessions)))
            for index, page in enumerate(page for page in PROBE_PAGES for _ in range(probes))
        ]
        # Where the cores go during the burst: read at the opening instant and when the last answer is in.
        cpu_readings = []
        timers.append(threading.Timer(opening_at - time.time(), lambda: cpu_readings.append(machine.cpu_seconds())))
        for thread in [*probe_threads, *timers]:
            thread.start()

        def submit(attempt: Attempt) -> None:
            time.sleep(max(0.0, opening_at - time.time()))
            _submit(port, attempt)

        serving.in_parallel(submit, attempts, concurrency)
        cpu_readings.append(machine.cpu_seconds())
        burst_over.set()
        for thread in [*probe_threads, *timers]:
            thread.join()
        burst_end = max(attempt.answered for attempt in attempts)

        # After the burst: whoever got no answer reloads the tranche page, then submits again with the same key.
        unanswered = [attempt for attempt in attempts if attempt.status != 302]
        before_retry = _database_state(slug)
        seen_received = 0
        for attempt in unanswered:
            page = _load_tranche_page(port, slug, attempt.municipality).decode()
            seen_received += f'action="/applications/{attempt.public_id}/submit/"' not in page
        retries = [Attempt(attempt.public_id, attempt.municipality) for attempt in unanswered]
        for retry in retries:
            _submit(port, retry)
        after = _database_state(slug)
        connection.close()

        _report(
            submissions=submissions,
            concurrency=concurrency,
            attempts=attempts,
            retries=retries,
            seen_received=seen_received,
            before_retry=before_retry,
            after=after,
            opening_at=opening_at,
            burst_end=burst_end,
            probe_times=probe_times,
            events=events,
            log=gunicorn_log.read_text(errors="replace"),
            use_nginx=use_nginx,
            load_before=load_before,
            commits=commits,
            cpu_readings=cpu_readings,
        )
    finally:
        serving.stop(nginx)
        serving.stop(gunicorn)
        connection.close()
        if keep:
            print(f"Kept the database {BENCH_DATABASE} and the logs in {workdir}.")
        else:
            connection.creation.destroy_test_db(configured_database, verbosity=0)
            shutil.rmtree(workdir, ignore_errors=True)


def _report(
    *,
    submissions,
    concurrency,
    attempts,
    retries,
    seen_received,
    before_retry,
    after,
    opening_at,
    burst_end,
    probe_times,
    events,
    log,
    use_nginx,
    load_before,
    commits,
    cpu_readings,
) -> None:
    accepted = [attempt for attempt in attempts if attempt.status == 302]
    latencies = [(attempt.answered - attempt.sent) * 1000 for attempt in accepted]
    p50, p95, p99 = _percentiles(latencies)
    probes = {page: _percentiles(times) for page, times in probe_times.items()}
    login_p95 = probes["login"][1]
    codes: dict[str, int] = {}
    for attempt in attempts:
        answer = str(attempt.status) if attempt.status else attempt.error
        codes[answer] = codes.get(answer, 0) + 1
    received = {public_id: row for public_id, row in after.items() if row[1] is not None}
    # Lost: acknowledged but not received, or not received at all once the retries are done.
    lost = sum(attempt.public_id not in received for attempt in attempts)
    changed_by_retry = sum(
        before_retry[retry.public_id][1:3] != after[retry.public_id][1:3]
        for retry in retries
        if before_retry[retry.public_id][1] is not None
    )
    duplicated = sum(row[3] > 1 for row in after.values()) + changed_by_retry
    half_written = sum(row[3] == 0 for row in received.values())
    numbers = sorted(row[1] for row in received.values())
    gaps = len(set(range(1, len(numbers) + 1)) - set(numbers)) + (len(numbers) - len(set(numbers)))
    # Each received application with the send time of the attempt that got it in: the first, unless it was
    # received only by its retry.
    retried = {retry.public_id: retry for retry in retries}
    sendings, lags = [], []
    for attempt in attempts:
        if attempt.public_id in received:
            counted = attempt if before_retry[attempt.public_id][1] is not None else retried[attempt.public_id]
            sendings.append((counted.sent, counted.written, received[attempt.public_id][1]))
            lags.append((received[attempt.public_id][2].timestamp() - counted.sent) * 1000)
    inversions = _inversions(sendings, apart=0.1)
    by_number = sorted((row[1], row[2]) for row in received.values())
    instant_disorder = sum(later < earlier for (_, earlier), (_, later) in zip(by_number, by_number[1:], strict=False))
    logged = [match for match in RECEIVED_LOG.finditer(log)]
    locked = [float(match["locked"]) for match in logged]
    overtaken = [float(match["overtaken"]) for match in logged if float(match["overtaken"]) > 0]
    duration = burst_end - opening_at
    first_sent = min(attempt.sent for attempt in attempts) - opening_at

    load_after = machine.load_averages()
    print(f"Machine: {os.cpu_count()} cores, {machine.cpu_model()}; load before {load_before}, after {load_after}")
    print(
        f"Opening-day burst: {submissions} submissions from {len({a.municipality.code for a in attempts})} "
        f"municipalities, concurrency {concurrency}, intake {'nginx -> ' if use_nginx else ''}gunicorn "
        f"(docker/gunicorn.conf.py), PostgreSQL database {BENCH_DATABASE}"
    )
    for event in events:
        print(f"Fault: {event}")
    print(f"First request {first_sent * 1000:.1f} ms after the opening; burst over after {duration:.2f} s")
    sending = [(attempt.written - attempt.sent) * 1000 for attempt in attempts]
    print(
        f"Client: from setting off to wholly sent median {statistics.median(sending):.1f} ms, max {max(sending):.1f} ms"
    )
    print("Answers: " + ", ".join(f"{code} x{count}" for code, count in sorted(codes.items())))
    print(f"Submissions answered 302: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms")
    print(f"Throughput: {len(accepted) / duration:.1f} submissions/s answered 302 during the burst")
    for page in PROBE_PAGES:
        times = probe_times[page]
        ratio = probes[page][1] / login_p95 if login_p95 else float("nan")
        print(
            f"Probe {page:<8} {len(times):4d} requests: p50 {probes[page][0]:.0f} ms, p95 {probes[page][1]:.0f} ms "
            f"({ratio:.2f}x the login page's p95)"
        )
    print(f"Ratio: submission p95 / login page p95 = {p95 / login_p95:.2f}")
    # A killed worker or backend takes its CPU seconds with it: after a fault the split would not add up.
    if len(cpu_readings) == 2 and not events:
        used = machine.cpu_used(*cpu_readings)
        per_submission = (cpu_readings[1]["gunicorn"] - cpu_readings[0]["gunicorn"]) * 1000 / max(len(accepted), 1)
        print(
            f"CPU during the burst, of {os.cpu_count() * duration:.1f} core-seconds: {used}; "
            f"gunicorn {per_submission:.1f} ms per submission, probes included"
        )
    if logged:
        statement = _percentiles([float(match["statement"]) for match in logged])
        lock = _percentiles(locked)
        print(
            f"Receipt statement, sent to answered, commit included: p50 {statement[0]:.2f} ms, "
            f"p95 {statement[1]:.2f} ms, p99 {statement[2]:.2f} ms"
        )
        print(f"A commit before the burst (a one-row insert): p50 {commits[0]:.2f} ms, p95 {commits[1]:.2f} ms")
        print(
            f"Tranche lock held within it, before the commit: p50 {lock[0]:.2f} ms, p95 {lock[1]:.2f} ms, "
            f"p99 {lock[2]:.2f} ms, max {max(locked):.2f} ms"
        )
    print(
        f"Overtaken on the way to the lock (received at a later arrival's instant): {len(overtaken)}"
        + (f", at most {max(overtaken):.1f} ms, median {statistics.median(overtaken):.1f} ms" if overtaken else "")
    )
    print(
        f"After the burst: {len(retries)} without a 302 answer, {seen_received} of them seen as received on "
        f"reload; retried with the same key: "
        + ", ".join(f"{code} x{sum(r.status == code for r in retries)}" for code in sorted({r.status for r in retries}))
        if retries
        else "After the burst: every submission was answered 302"
    )
    print(
        f"Receipt instant after the request set off: median {statistics.median(lags):.0f} ms, "
        f"p95 {_percentiles(lags)[1]:.0f} ms, max {max(lags):.0f} ms"
    )
    print(
        f"Receipt numbers against receipt instants: {instant_disorder} pairs out of order; "
        f"received without their status change: {half_written}"
    )
    print(f"lost {lost} duplicated {duplicated} gaps {gaps} inversions>100ms {inversions}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.opening_day", description=__doc__)
    parser.add_argument("--submissions", type=int, default=1000, help="Ready applications submitted at the opening.")
    parser.add_argument("--concurrency", type=int, default=100, help="Submissions in flight at a time.")
    parser.add_argument("--kill-worker-at", type=float, help="Kill one gunicorn worker this many s after opening.")
    parser.add_argument("--terminate-db-at", type=float, help="Terminate the service's database connections then.")
    parser.add_argument("--proxy", choices=["auto", "nginx", "none"], default="auto", help="nginx in front or not.")
    parser.add_argument("--probes", type=int, default=2, help="Threads loading each baseline page during the burst.")
    parser.add_argument("--keep", action="store_true", help=f"Keep the database {BENCH_DATABASE} and the logs.")
    options = parser.parse_args()
    run(
        submissions=options.submissions,
        concurrency=options.concurrency,
        kill_worker_at=options.kill_worker_at,
        terminate_db_at=options.terminate_db_at,
        proxy=options.proxy,
        probes=options.probes,
        keep=options.keep,
    )


if __name__ == "__main__":
    main()
