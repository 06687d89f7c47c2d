"""Importing applications from CSV: all rows or none, with row numbers; export round-trips."""

import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.models import AuditEntry
from applications import importing
from applications.models import Application, InformationRequest, Status, StatusChange, UnitLine
from applications.selectors import EXCHANGE_COLUMNS, INFORMATION_COLUMNS, application_rows, exchange_columns
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


INFORMATION_HEADER = ",".join(EXCHANGE_COLUMNS + INFORMATION_COLUMNS)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def csv_text(rows, *, header: str = HEADER) -> io.StringIO:
    return io.StringIO("\n".join([header, *rows]) + "\n")


def rejection(tranche, rows, *, header: str = HEADER) -> list[str]:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        importing.import_applications(tranche=tranche, stream=csv_text(rows, header=header), source="test.csv")
    assert not Application.objects.filter(tranche=tranche).exists()
    return caught.value.messages


def with_information(row: str, requested: str = "", received: str = "") -> str:
    return f"{row},{requested},{received}"


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

    response = client_for(signatory).post(url("application_submit", draft), {"declaration": "on"})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.reference) == (Status.SUBMITTED, f"{tranche.receipt_prefix}-0003")
    imported = Application.objects.get(reference=f"{tranche.receipt_prefix}-0002")
    assert imported.receipt_sequence < draft.receipt_sequence


# --- information requests of migrated records -----------------------------------------------------------


def test_import_with_information_columns_ranks_by_receipt_plus_completion_time(tranche):
    rows = [
        with_information(GOOD_ROWS[0]),
        # Received 30 May 09:05; asked 2 June 10:00, answered 5 June 16:30: 3 days 6.5 hours of its own.
        with_information(GOOD_ROWS[1], "2023-06-02T10:00:00+02:00", "2023-06-05T16:30:00+02:00"),
        with_information(GOOD_ROWS[2], "2023-06-02T10:00:00+02:00", "2023-06-05T16:30:00+02:00"),
        with_information(GOOD_ROWS[3]),
    ]
    importing.import_applications(tranche=tranche, stream=csv_text(rows, header=INFORMATION_HEADER), source="test.csv")
    kamers = Application.objects.get(reference="RHA-2023-0002")
    assert kamers.received_at == datetime(2023, 5, 30, 9, 5, tzinfo=AMSTERDAM)
    assert kamers.completed_at == datetime(2023, 6, 5, 16, 30, tzinfo=AMSTERDAM)
    assert kamers.ranks_at == datetime(2023, 6, 2, 15, 35, tzinfo=AMSTERDAM)
    request = InformationRequest.objects.get(application=kamers)
    assert (request.requested_by, request.answered_by, request.deadline) == (None, None, None)
    tiny = Application.objects.get(reference="RHA-2023-0001")
    assert tiny.ranks_at == tiny.received_at
    assert not tiny.information_requests.exists()


def test_import_with_two_information_requests_adds_both(tranche):
    row = with_information(
        GOOD_ROWS[0],
        "2023-06-01T09:00:00+02:00;2023-06-10T09:00:00+02:00",
        "2023-06-02T09:00:00+02:00;2023-06-10T12:00:00+02:00",
    )
    importing.import_applications(tranche=tranche, stream=csv_text([row], header=INFORMATION_HEADER))
    imported = Application.objects.get(reference="RHA-2023-0001")
    assert imported.ranks_at == imported.received_at + timedelta(days=1, hours=3)
    assert imported.information_requests.count() == 2


def test_import_with_only_one_information_column_is_refused(tranche):
    header = ",".join([*EXCHANGE_COLUMNS, "information_requested_at"])
    rows = [f"{GOOD_ROWS[0]},2023-06-01T09:00:00+02:00"]
    assert rejection(tranche, rows, header=header) == [
        "row 1: information_requested_at and information_received_at are both columns or neither"
    ]


def test_import_with_only_one_information_instant_in_a_row_is_refused(tranche):
    rows = [with_information(GOOD_ROWS[0], "2023-06-01T09:00:00+02:00", "")]
    assert rejection(tranche, rows, header=INFORMATION_HEADER) == [
        "row 2: information_requested_at and information_received_at are both given or both empty"
    ]


def test_import_with_an_unknown_column_is_refused(tranche):
    rows = [f"{row},blauw" for row in GOOD_ROWS]
    assert rejection(tranche, rows, header=f"{HEADER},kleur") == ["row 1: unknown column 'kleur'"]


def test_import_with_a_column_twice_is_refused(tranche):
    rows = [f"{row},20" for row in GOOD_ROWS]
    assert rejection(tranche, rows, header=f"{HEADER},units") == ["row 1: column 'units' appears more than once"]


def test_unknown_column_is_reported_in_dutch(tranche):
    with translation.override("nl"), pytest.raises(ValidationError) as caught:
        importing.import_applications(tranche=tranche, stream=csv_text(GOOD_ROWS, header=f"{HEADER},x"))
    assert caught.value.messages == ["regel 1: onbekende kolom 'x'"]


def test_information_requested_before_receipt_is_refused(tranche):
    rows = [with_information(GOOD_ROWS[0], "2023-05-30T09:00:00+02:00", "2023-06-01T09:00:00+02:00")]
    assert rejection(tranche, rows, header=INFORMATION_HEADER) == [
        "row 2: information_requested_at 2023-05-30 09:00:00+02:00 is not after received_at"
    ]


def test_information_received_before_it_was_requested_is_refused(tranche):
    rows = [with_information(GOOD_ROWS[0], "2023-06-02T09:00:00+02:00", "2023-06-01T09:00:00+02:00")]
    assert rejection(tranche, rows, header=INFORMATION_HEADER) == [
        "row 2: information_received_at 2023-06-01 09:00:00+02:00 is not after its information_requested_at"
    ]


def test_information_instant_without_offset_is_refused(tranche):
    rows = [with_information(GOOD_ROWS[0], "2023-06-02T09:00:00", "2023-06-03T09:00:00+02:00")]
    assert rejection(tranche, rows, header=INFORMATION_HEADER) == [
        "row 2: information_requested_at '2023-06-02T09:00:00' is not an ISO 8601 instant with an offset"
    ]


def test_rows_of_one_reference_that_disagree_on_information_are_refused(tranche):
    rows = [
        with_information(GOOD_ROWS[1], "2023-06-02T10:00:00+02:00", "2023-06-05T16:30:00+02:00"),
        with_information(GOOD_ROWS[2]),
    ]
    assert rejection(tranche, rows, header=INFORMATION_HEADER) == [
        "row 3: information_requested_at differs from row 2 of RHA-2023-0002"
    ]


def test_export_without_information_requests_leaves_the_information_columns_out(tranche):
    importing.import_applications(tranche=tranche, stream=csv_text(GOOD_ROWS))
    assert exchange_columns(tranche=tranche) == EXCHANGE_COLUMNS


def test_export_gives_back_an_imported_file_with_information_requests(tranche):
    rows = [
        with_information(GOOD_ROWS[0]),
        with_information(GOOD_ROWS[1], "2023-06-02T10:00:00+02:00", "2023-06-05T16:30:00+02:00"),
        with_information(GOOD_ROWS[2], "2023-06-02T10:00:00+02:00", "2023-06-05T16:30:00+02:00"),
        with_information(
            GOOD_ROWS[3],
            "2023-06-01T09:00:00+02:00;2023-06-10T09:00:00+02:00",
            "2023-06-02T09:00:00+02:00;2023-06-10T12:00:00+02:00",
        ),
    ]
    importing.import_applications(tranche=tranche, stream=csv_text(rows, header=INFORMATION_HEADER))
    assert exchange_columns(tranche=tranche) == EXCHANGE_COLUMNS + INFORMATION_COLUMNS
    exported = [",".join(row.values()) for row in application_rows(tranche=tranche)]
    assert exported == rows


# --- what an import records -----------------------------------------------------------------------------


def test_each_imported_application_is_received_then_found_eligible_by_the_importing_user(tranche, assessor):
    with translation.override("en"):
        importing.import_applications(tranche=tranche, stream=csv_text(GOOD_ROWS), source="test.csv", user=assessor)

    changes = StatusChange.objects.filter(application__reference="RHA-2023-0002").order_by("id")
    assert [(c.from_status, c.to_status, c.actor, c.reason) for c in changes] == [
        ("", Status.SUBMITTED, assessor, "Imported from test.csv."),
        (Status.SUBMITTED, Status.ELIGIBLE, assessor, "Imported from test.csv."),
    ]
    (entry,) = AuditEntry.objects.filter(object_id=str(tranche.pk))
    assert (entry.actor, entry.object_type, entry.detail) == (
        assessor,
        "grants.tranche",
        "applications imported as eligible from test.csv: 3",
    )


def test_an_import_without_a_user_or_file_name_names_the_system_and_csv(tranche, caplog):
    with translation.override("en"), caplog.at_level("INFO", logger="applications.importing"):
        importing.import_applications(tranche=tranche, stream=csv_text(GOOD_ROWS[:1]))

    change = StatusChange.objects.get(application__reference="RHA-2023-0001", to_status=Status.SUBMITTED)
    assert (change.actor, change.reason) == (None, "Imported from CSV.")
    (entry,) = AuditEntry.objects.filter(object_id=str(tranche.pk))
    assert (entry.actor, entry.actor_name, entry.detail) == (
        None,
        "import",
        "applications imported as eligible from CSV: 1",
    )
    assert f"imported 1 applications into {tranche.slug} from CSV" in caplog.messages


def test_the_receipt_counter_moves_past_an_imported_reference_of_the_portals_form(tranche):
    # The tranche's prefix has a dash of its own: RHA-2023-0009 is number 9.
    row = GOOD_ROWS[0].replace("RHA-2023-0001", "RHA-2023-0009")
    importing.import_applications(tranche=tranche, stream=csv_text([row]))

    tranche.refresh_from_db()
    assert tranche.last_receipt_number == 9


@pytest.mark.parametrize("reference", ["OUD-0005", "RHA-2023-00x5", "RHA-2023-\u0665"])
def test_a_reference_of_another_form_does_not_move_the_counter_past_the_imported_count(tranche, reference):
    rows = [GOOD_ROWS[0].replace("RHA-2023-0001", reference), GOOD_ROWS[3].replace("RHA-2023-0003", "OUD-0003")]
    importing.import_applications(tranche=tranche, stream=csv_text(rows))

    tranche.refresh_from_db()
    assert tranche.last_receipt_number == 2
