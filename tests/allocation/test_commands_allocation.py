"""The management commands import_applications, export_applications, allocate and report_totals."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from allocation.models import AllocationRun, Decision, RunStatus
from applications.models import Status
from applications.selectors import EXCHANGE_COLUMNS
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


@pytest.fixture
def tranche():
    """Open from 30 May to 7 July 2023, ceiling € 150,000, in one window with first come, first served."""
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


def test_allocate_prints_the_preview_and_stores_nothing(tranche, three_applications):
    fourth = ApplicationFactory(eligible=True, tranche=tranche)
    output = run_command("allocate", "--tranche", "cmd-test", "--seed", "3")
    first, second, third = (a.reference for a in three_applications)
    assert "requested 280,000.00 · proposed 150,000.00 · oversubscription 130,000.00" in output
    lines = output.splitlines()
    cutoff = next(n for n, line in enumerate(lines) if "cut-off" in line)
    assert first in lines[cutoff - 2] and second in lines[cutoff - 1]
    assert third in lines[cutoff + 1] and "10,000.00" in lines[cutoff + 1]
    assert f"Reserve list: 1. {fourth.reference}" in output
    assert not AllocationRun.objects.exists()


def test_allocate_with_preparer_stores_a_preview(three_applications):
    UserFactory(assessor=True, username="anna")
    output = run_command("allocate", "--tranche", "cmd-test", "--seed", "3", "--prepared-by", "anna")
    run = AllocationRun.objects.get()
    assert (run.status, run.seed, run.prepared_by.username) == (RunStatus.PREVIEW, 3, "anna")
    assert str(run.public_id) in output


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
