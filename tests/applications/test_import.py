"""Importing applications from CSV: all rows or none, with row numbers; export round-trips."""

import io
import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from applications import importing
from applications.models import Application, Status, StatusChange, UnitLine
from applications.selectors import EXCHANGE_COLUMNS, application_rows
from grants import services as grants_services
from grants.services import TRANCHES_DIR
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, url

pytestmark = pytest.mark.django_db

TRANCHE_FILE = TRANCHES_DIR / "rha-2023.json"
HEADER = ",".join(EXCHANGE_COLUMNS)
GOOD_ROWS = [
    "RHA-2023-0001,GM0363,all,Tiny houses,2023-05-30T09:00:01+02:00,homeless,regular,flexible,yes,no,20,140000.00",
    "RHA-2023-0002,GM0344,all,Kamers Centrum,2023-05-30T09:05:00+02:00,students,room,permanent,no,yes,100,700000.00",
    "RHA-2023-0002,GM0344,all,Kamers Centrum,2023-05-30T09:05:00+02:00,status_holders,regular,permanent,yes,no,10,"
    "70000.00",
    "RHA-2023-0003,GM0599,all,Woonwagens,2023-05-31T10:00:00+02:00,caravan_dwellers,caravan_pitch,permanent,yes,no,5,"
    "35000.00",
]


@pytest.fixture
def tranche():
    return grants_services.load_tranche(data=json.loads(TRANCHE_FILE.read_text(encoding="utf-8")))


def csv_text(rows) -> io.StringIO:
    return io.StringIO("\n".join([HEADER, *rows]) + "\n")


def rejection(tranche, rows) -> list[str]:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        importing.import_applications(tranche=tranche, stream=csv_text(rows), source="test.csv")
    assert not Application.objects.filter(tranche=tranche).exists()
    return caught.value.messages


def test_rows_sharing_a_reference_become_one_eligible_application(tranche):
    assert importing.import_applications(tranche=tranche, stream=csv_text(GOOD_ROWS), source="test.csv") == 3
    kamers = Application.objects.get(reference="RHA-2023-0002")
    assert kamers.status == Status.ELIGIBLE
    assert kamers.municipality.code == "GM0344"
    assert kamers.received_at == kamers.completed_at == datetime(2023, 5, 30, 9, 5, tzinfo=ZoneInfo("Europe/Amsterdam"))
    lines = UnitLine.objects.filter(application=kamers).order_by("id")
    assert [(line.target_group.code, line.units, line.self_contained, line.common_room) for line in lines] == [
        ("students", 100, False, True),
        ("status_holders", 10, True, False),
    ]
    assert sum(line.requested_amount for line in lines) == Decimal("770000.00")
    assert list(StatusChange.objects.filter(application=kamers).values_list("to_status", flat=True)) == [
        Status.SUBMITTED,
        Status.ELIGIBLE,
    ]


def test_receipt_sequences_follow_receipt_order_and_continue_the_tranche(tranche):
    importing.import_applications(tranche=tranche, stream=csv_text(reversed(GOOD_ROWS)), source="test.csv")
    sequences = dict(Application.objects.filter(tranche=tranche).values_list("reference", "receipt_sequence"))
    assert sequences == {"RHA-2023-0001": 1, "RHA-2023-0002": 2, "RHA-2023-0003": 3}
    tranche.refresh_from_db()
    assert tranche.last_receipt_number == 3


def test_unknown_municipality_code_rejects_the_file_with_its_row(tranche):
    bad = GOOD_ROWS[3].replace("GM0599", "GM9999")
    assert rejection(tranche, [*GOOD_ROWS[:3], bad]) == ["row 5: unknown municipality code 'GM9999'"]


def test_instant_without_offset_is_rejected(tranche):
    bad = GOOD_ROWS[0].replace("2023-05-30T09:00:01+02:00", "2023-05-30T09:00:01")
    assert rejection(tranche, [bad]) == [
        "row 2: received_at '2023-05-30T09:00:01' is not an ISO 8601 instant with an offset"
    ]


def test_instant_outside_the_opening_is_rejected(tranche):
    bad = GOOD_ROWS[0].replace("2023-05-30T09:00:01+02:00", "2023-05-30T08:59:59+02:00")
    (message,) = rejection(tranche, [bad])
    assert message.startswith("row 2: received_at 2023-05-30 08:59:59+02:00 is outside the tranche's opening")


def test_unknown_target_group_is_rejected(tranche):
    bad = GOOD_ROWS[1].replace(",students,", ",astronauts,")
    assert rejection(tranche, [GOOD_ROWS[0], bad]) == ["row 3: unknown target group 'astronauts' in this tranche"]


def test_zero_units_are_rejected(tranche):
    bad = GOOD_ROWS[0].replace(",20,140000.00", ",0,0.00")
    assert rejection(tranche, [bad]) == ["row 2: units must be a whole number of at least 1, not '0'"]


def test_reference_already_in_the_database_is_rejected(tranche):
    ApplicationFactory(submitted=True, reference="RHA-2023-0003")
    assert rejection(tranche, GOOD_ROWS) == ["row 5: reference RHA-2023-0003 already exists"]


def test_every_bad_row_is_reported_at_once(tranche):
    rows = [
        GOOD_ROWS[0].replace("flexible", "temporary"),
        GOOD_ROWS[1],
        GOOD_ROWS[2].replace(",yes,no,", ",ja,no,"),
        GOOD_ROWS[3].replace("35000.00", "35000.001"),
    ]
    assert rejection(tranche, rows) == [
        "row 2: permanence must be permanent or flexible, not 'temporary'",
        "row 4: self_contained must be yes or no",
        "row 5: requested_amount must be an amount in euros such as 7000.00, not '35000.001'",
    ]


def test_amount_above_the_maximum_per_unit_is_rejected(tranche):
    bad = GOOD_ROWS[0].replace("140000.00", "170000.01")  # 20 units × € 8.500 = € 170.000
    (message,) = rejection(tranche, [bad])
    assert message.startswith("row 2: At most €")


def test_rows_of_one_reference_that_disagree_are_rejected(tranche):
    bad = GOOD_ROWS[2].replace("GM0344", "GM0363")
    assert rejection(tranche, [GOOD_ROWS[1], bad]) == ["row 3: municipality_code differs from row 2 of RHA-2023-0002"]


def test_missing_column_is_rejected(tranche):
    stream = io.StringIO("reference,municipality_code\nRHA-2023-0001,GM0363\n")
    with translation.override("en"), pytest.raises(ValidationError, match="lacks the columns: window"):
        importing.import_applications(tranche=tranche, stream=stream)


def test_export_gives_back_the_imported_file(tranche):
    importing.import_applications(tranche=tranche, stream=csv_text(GOOD_ROWS), source="test.csv")
    exported = [",".join(row.values()) for row in application_rows(tranche=tranche)]
    assert exported == GOOD_ROWS


def test_a_portal_submission_after_an_import_into_the_open_tranche_gets_the_next_free_number():
    tranche = TrancheFactory()
    # The file numbers its application as the portal would, but past the tranche's counter.
    row = (
        f"{tranche.receipt_prefix}-0002,GM0363,all,Uit het oude systeem,{tranche.opens_at.isoformat()},"
        "homeless,regular,permanent,yes,no,10,10000.00"
    )
    importing.import_applications(tranche=tranche, stream=csv_text([row]), source="test.csv")
    signatory = UserFactory(signatory=True)
    draft = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)

    response = client_for(signatory).post(url("application_submit", draft))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.reference) == (Status.SUBMITTED, f"{tranche.receipt_prefix}-0003")
    imported = Application.objects.get(reference=f"{tranche.receipt_prefix}-0002")
    assert imported.receipt_sequence < draft.receipt_sequence
