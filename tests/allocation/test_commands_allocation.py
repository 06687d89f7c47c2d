"""The management commands import_applications, export_applications, allocate and report_totals."""

import hashlib
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from allocation.models import AllocationEvent, AllocationRun, Decision, EventKind, LotterySeed, RunStatus, SeedSource
from applications.models import Status
from applications.selectors import EXCHANGE_COLUMNS
from tests.allocation.sealing import seal
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db

ROWS = [
    "RHA-2023-0001,GM0363,all,Tiny houses,2023-05-30T09:00:01+02:00,homeless,regular,flexible,yes,no,20,140000.00",
    "RHA-2023-0002,GM0344,all,Kamers,2023-05-30T09:05:00+02:00,students,room,permanent,no,yes,10,70000.00",
]


def run_command(*args, stderr=None) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue()


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def tranche():
    """Open from 30 May to 7 July 2023 (closed now), ceiling € 150,000, one window with first come, first served."""
    return TrancheFactory(
        slug="cmd-test",
        budget_ceiling=Decimal("150000.00"),
        opens_at="2023-05-30T09:00:00+02:00",
        closes_at="2023-07-07T17:00:00+02:00",
    )


@pytest.fixture
def three_applications(tranche):
    return [ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363") for _ in range(3)]


def test_import_and_export_commands_round_trip(tranche, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("\n".join([",".join(EXCHANGE_COLUMNS), *ROWS]) + "\n", encoding="utf-8")
    assert "Imported 2 applications" in run_command("import_applications", "--tranche", "cmd-test", str(source))
    target = tmp_path / "out.csv"
    run_command("export_applications", "--tranche", "cmd-test", str(target))
    assert target.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")


def test_import_command_prints_each_bad_row_and_imports_nothing(tranche, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "\n".join([",".join(EXCHANGE_COLUMNS), ROWS[0].replace("GM0363", "GM9999"), ROWS[1].replace(",10,", ",0,")]),
        encoding="utf-8",
    )
    errors = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        run_command("import_applications", "--tranche", "cmd-test", str(source), stderr=errors)
    assert [line.split(":")[0] for line in errors.getvalue().splitlines()] == ["row 2", "row 3"]
    assert not tranche.applications.exists()


def test_allocate_prints_the_preview_and_stores_no_run(tranche, three_applications):
    fourth = ApplicationFactory(eligible=True, tranche=tranche)
    output = run_command("allocate", "--tranche", "cmd-test")
    first, second, third = (a.reference for a in three_applications)
    assert "requested 280,000.00 · proposed 150,000.00 · oversubscription 130,000.00" in output
    lines = output.splitlines()
    cutoff = next(n for n, line in enumerate(lines) if "cut-off" in line)
    assert first in lines[cutoff - 2] and second in lines[cutoff - 1]
    assert third in lines[cutoff + 1] and "10,000.00" in lines[cutoff + 1]
    assert f"Reserve list: 1. {fourth.reference}" in output
    assert not AllocationRun.objects.exists()
    preview = AllocationEvent.objects.get(kind=EventKind.PREVIEWED)
    assert f"seed {preview.seed} · ranked list SHA-256 {preview.ranked_list_sha256}" in output


def test_allocate_with_preparer_stores_a_preview(three_applications):
    UserFactory(assessor=True, username="anna")
    output = run_command("allocate", "--tranche", "cmd-test", "--prepared-by", "anna")
    run = AllocationRun.objects.get()
    sealed = LotterySeed.objects.get()
    assert (run.status, run.seed, run.prepared_by.username) == (RunStatus.PREVIEW, sealed.seed, "anna")
    assert str(run.public_id) in output
    assert f"seed {run.seed} · ranked list SHA-256 {run.ranked_list_sha256}" in output


def test_allocate_seed_is_refused_once_the_seed_is_sealed(tranche, three_applications):
    UserFactory(assessor=True, username="anna")
    UserFactory(approver=True, username="bram")
    run_command("allocate", "--tranche", "cmd-test")  # the first preview seals a seed the system draws
    sealed = LotterySeed.objects.get()

    with pytest.raises(CommandError, match=f"The lottery seed of cmd-test is sealed \\({sealed.seed}, system\\)"):
        run_command("allocate", "--tranche", "cmd-test", "--seed", "3")
    with pytest.raises(CommandError, match="--seed cannot choose another"):
        run_command(
            "allocate",
            *("--tranche", "cmd-test", "--seed", "3", "--seed-reference", "Notaris Jansen"),
            *("--prepared-by", "anna", "--approved-by", "bram"),
        )

    assert (LotterySeed.objects.get().seed, LotterySeed.objects.get().source) == (sealed.seed, SeedSource.SYSTEM)
    assert not AllocationRun.objects.exists()
    assert AllocationEvent.objects.filter(kind=EventKind.PREVIEWED).count() == 1


def test_allocate_seed_seals_an_external_draw_entered_by_one_and_confirmed_by_another(tranche, three_applications):
    UserFactory(assessor=True, username="anna")
    UserFactory(approver=True, username="bram")
    with pytest.raises(CommandError, match="needs --seed-reference, --prepared-by"):
        run_command("allocate", "--tranche", "cmd-test", "--seed", "20230707", "--prepared-by", "anna")
    with pytest.raises(CommandError, match="a second person must confirm it"):
        run_command(
            "allocate",
            *("--tranche", "cmd-test", "--seed", "20230707", "--seed-reference", "Notaris Jansen, akte 17"),
            *("--prepared-by", "anna", "--approved-by", "anna"),
        )
    assert not LotterySeed.objects.exists()

    run_command(
        "allocate",
        *("--tranche", "cmd-test", "--seed", "20230707", "--seed-reference", "Notaris Jansen, akte 17"),
        *("--prepared-by", "anna", "--approved-by", "bram"),
    )

    sealed = LotterySeed.objects.get()
    assert (sealed.seed, sealed.source, sealed.external_reference) == (
        20230707,
        SeedSource.EXTERNAL,
        "Notaris Jansen, akte 17",
    )
    assert (sealed.entered_by.username, sealed.sealed_by.username) == ("anna", "bram")
    assert AllocationRun.objects.get().seed == 20230707


def test_json_preview_has_the_documented_shape(tranche):
    """Four requests of € 70,000 for € 150,000; the third comes on the day the ceiling is passed: a draw."""
    tranche.windows.update(ranking_method="first_come_same_day_lottery")
    day_before = datetime(2023, 5, 30, 9, 30, tzinfo=AMSTERDAM)
    lottery_day = datetime(2023, 5, 31, 10, 0, tzinfo=AMSTERDAM)
    early = ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0344", received_at=day_before)
    drawn = [
        ApplicationFactory(eligible=True, tranche=tranche, received_at=lottery_day + timedelta(minutes=n))
        for n in range(3)
    ]
    seal(tranche, 20230707)

    document = json.loads(run_command("allocate", "--tranche", "cmd-test", "--window", "all", "--format", "json"))

    assert list(document) == ["tranche", "seed", "ranked_list_sha256", "windows"]
    assert (document["tranche"], document["seed"]) == ("cmd-test", 20230707)
    [window] = document["windows"]
    assert list(window) == ["code", "lottery_day", "lines"]
    assert (window["code"], window["lottery_day"]) == ("all", "2023-05-31")
    lines = window["lines"]
    assert [list(line) for line in lines] == [
        [
            "rank",
            "reference",
            "municipality_code",
            "ranking_instant",
            "category",
            "drawn",
            "requested",
            "proposed",
            "outcome",
            "reason",
        ]
    ] * 4
    assert lines[0] == {
        "rank": 1,
        "reference": early.reference,
        "municipality_code": "GM0344",
        "ranking_instant": "2023-05-30T09:30:00+02:00",
        "category": "",
        "drawn": False,
        "requested": "70000.00",
        "proposed": "70000.00",
        "outcome": "funded",
        "reason": "fits",
    }
    assert [line["rank"] for line in lines] == [1, 2, 3, 4]
    assert sorted(line["reference"] for line in lines[1:]) == sorted(a.reference for a in drawn)
    assert [line["drawn"] for line in lines] == [False, True, True, True]
    assert [(line["proposed"], line["outcome"]) for line in lines[1:]] == [
        ("70000.00", "funded"),
        ("10000.00", "partial"),
        ("0.00", "reserve"),
    ]
    assert all(datetime.fromisoformat(line["ranking_instant"]).utcoffset() for line in lines)
    listed = "\n".join(line["reference"] for line in lines)
    assert document["ranked_list_sha256"] == hashlib.sha256(listed.encode("utf-8")).hexdigest()
    assert AllocationEvent.objects.get(kind=EventKind.PREVIEWED).ranked_list_sha256 == document["ranked_list_sha256"]


def test_allocate_confirm_by_the_preparer_is_refused(three_applications):
    UserFactory(approver=True, username="bram")
    with pytest.raises(CommandError, match="four eyes"):
        run_command("allocate", "--tranche", "cmd-test", "--confirm", "--prepared-by", "bram", "--approved-by", "bram")
    assert not AllocationRun.objects.exists()


def test_allocate_confirm_by_a_user_without_the_approver_role_is_refused(three_applications):
    UserFactory(assessor=True, username="anna")
    UserFactory(assessor=True, username="cees")
    with pytest.raises(CommandError, match="approver"):
        run_command("allocate", "--tranche", "cmd-test", "--confirm", "--prepared-by", "anna", "--approved-by", "cees")
    assert not AllocationRun.objects.exists()


def test_allocate_confirm_issues_the_decisions(three_applications):
    UserFactory(assessor=True, username="anna")
    UserFactory(approver=True, username="bram")
    run_command("allocate", "--tranche", "cmd-test", "--confirm", "--prepared-by", "anna", "--approved-by", "bram")
    run = AllocationRun.objects.get()
    assert (run.status, run.approved_by.username) == (RunStatus.CONFIRMED, "bram")
    for application in three_applications:
        application.refresh_from_db()
    assert [a.status for a in sorted(three_applications, key=lambda a: a.receipt_sequence)] == [
        Status.GRANTED,
        Status.GRANTED,
        Status.PARTIALLY_GRANTED,
    ]


def test_report_totals_prints_json_with_amounts_as_strings(tranche, three_applications):
    ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0344", lines=[("students", 4, "flexible")])
    UserFactory(assessor=True, username="anna")
    UserFactory(approver=True, username="bram")
    run_command("allocate", "--tranche", "cmd-test", "--confirm", "--prepared-by", "anna", "--approved-by", "bram")
    totals = json.loads(run_command("report_totals", "--tranche", "cmd-test", "--format", "json"))
    assert Decision.objects.count() == 4
    assert {key: totals[key] for key in totals if key != "units_by_national_group"} == {
        "tranche": "cmd-test",
        "budget": "150000.00",
        "requested": "238000.00",
        "oversubscription": "88000.00",
        "applications_received": 4,
        "municipalities_applied": 2,
        "applications_granted": 3,
        "municipalities_granted": 1,
        "amount_granted": "150000.00",
        "units_permanent": 30,
        "units_flexible": 0,
        "units_total": 30,
        "units_by_target_group": {"homeless": 30},
    }
