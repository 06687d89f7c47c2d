"""Loading the municipalities from the reference file: all of them, idempotently, and never a malformed row."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grants.models import Municipality
from grants.services import load_municipalities

pytestmark = pytest.mark.django_db


def write_csv(tmp_path, rows: list[str]):
    path = tmp_path / "municipalities.csv"
    path.write_text("code,name,province\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def test_an_empty_table_gets_every_municipality_of_the_file():
    Municipality.objects.all().delete()

    assert load_municipalities() == 342

    assert Municipality.objects.count() == 342
    assert Municipality.objects.get(code="GM0363").name == "Amsterdam"
    assert Municipality.objects.get(code="GM0014").province == "Groningen"


def test_a_second_load_reads_once_and_writes_nothing():
    with CaptureQueriesContext(connection) as queries:
        load_municipalities()

    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert Municipality.objects.count() == 342


def test_a_changed_name_or_province_is_put_back_without_a_duplicate():
    Municipality.objects.filter(code="GM0363").update(name="Amsterdam-Oud", province="Utrecht")
    Municipality.objects.filter(code="GM0014").delete()

    load_municipalities()

    assert Municipality.objects.filter(code="GM0363").values_list("name", "province").get() == (
        "Amsterdam",
        "Noord-Holland",
    )
    assert Municipality.objects.filter(code="GM0014").count() == 1
    assert Municipality.objects.count() == 342


@pytest.mark.parametrize(
    ("row", "field"),
    [("GM36,Nergens,Utrecht", "code"), ("GM9990,Nergens,Atlantis", "province"), ("GM9991,,Utrecht", "name")],
)
def test_a_malformed_row_is_refused_and_nothing_of_the_file_is_stored(tmp_path, row, field):
    path = write_csv(tmp_path, ["GM9992,Nieuwstad,Utrecht", row])

    with pytest.raises(ValidationError) as refused:
        load_municipalities(path=path)

    assert field in refused.value.message_dict
    assert not Municipality.objects.filter(code__in=["GM9992", "GM9990", "GM9991"]).exists()
