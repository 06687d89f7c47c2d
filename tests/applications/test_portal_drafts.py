"""Creating and editing drafts through the portal's forms."""

from decimal import Decimal

import pytest
from django.urls import reverse

from applications.models import Application, Status, StatusChange
from grants.models import Window
from tests.factories import ApplicationFactory, TrancheFactory
from tests.portal import client_for, edit_data, line, url

pytestmark = pytest.mark.django_db


def _line_snapshot(application):
    return list(application.unit_lines.values_list("target_group", "units", "requested_amount", "permanence"))


def test_create_draft_for_open_tranche_then_redirects_to_edit(editor):
    tranche = TrancheFactory()
    response = client_for(editor).post(
        reverse("portal:application_create", args=[tranche.slug]),
        {"project_name": "Het Baken", "location": "Stationsstraat 1", "description": ""},
    )
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("application_edit", application)
    assert (application.status, application.municipality, application.created_by) == (
        Status.DRAFT,
        editor.municipality,
        editor,
    )
    assert application.window == tranche.windows.get()
    assert StatusChange.objects.filter(application=application, to_status=Status.DRAFT, actor=editor).exists()


def test_create_asks_for_the_window_when_the_tranche_has_several(editor):
    tranche = TrancheFactory()
    students = Window.objects.create(tranche=tranche, code="students", name="Studenten", budget_ceiling=1000)
    client = client_for(editor)
    create_url = reverse("portal:application_create", args=[tranche.slug])

    without_window = client.post(create_url, {"project_name": "Campus", "location": "Zernike"})
    with_window = client.post(create_url, {"project_name": "Campus", "location": "Zernike", "window": students.pk})

    assert "window" in without_window.context["form"].errors
    assert with_window.status_code == 302
    assert Application.objects.get().window == students


def test_create_refuses_a_window_of_another_tranche(editor):
    tranche = TrancheFactory()
    Window.objects.create(tranche=tranche, code="students", name="Studenten", budget_ceiling=1000)
    foreign_window = TrancheFactory().windows.get()
    response = client_for(editor).post(
        reverse("portal:application_create", args=[tranche.slug]),
        {"project_name": "Campus", "location": "Zernike", "window": foreign_window.pk},
    )
    assert "window" in response.context["form"].errors
    assert not Application.objects.exists()


def test_create_without_project_name_shows_error_and_creates_nothing(editor):
    tranche = TrancheFactory()
    response = client_for(editor).post(
        reverse("portal:application_create", args=[tranche.slug]), {"project_name": "", "location": "Ergens"}
    )
    assert response.status_code == 200
    assert "project_name" in response.context["form"].errors
    assert not Application.objects.exists()


def test_edit_page_embeds_the_maxima_per_unit_for_the_live_totals(editor, draft):
    response = client_for(editor).get(url("application_edit", draft))
    assert response.status_code == 200
    assert 'id="unit-line-rules"' in response.content.decode()
    rules = response.context["unit_line_rules"]
    regular = str(draft.unit_lines.get().housing_type_id)
    assert rules["maxima"][regular]["permanent"] == Decimal("7000.00")


def test_edit_page_shows_an_amount_at_its_maximum_as_empty_and_a_lowered_amount_as_is(editor, draft):
    draft.unit_lines.update(requested_amount=Decimal("70000.00"))
    at_maximum = client_for(editor).get(url("application_edit", draft)).context["formset"].forms[0]
    draft.unit_lines.update(requested_amount=Decimal("50000.00"))
    lowered = client_for(editor).get(url("application_edit", draft)).context["formset"].forms[0]
    assert at_maximum.initial["requested_amount"] is None
    assert lowered.initial["requested_amount"] == Decimal("50000.00")


def test_edit_saves_fields_and_lines_with_empty_amount_as_the_maximum(editor, draft):
    data = edit_data(draft, [line(draft, units="4"), line(draft, units="2", permanence="flexible")], location="Dorp")
    response = client_for(editor).post(url("application_edit", draft), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.location == "Dorp"
    assert sorted(draft.unit_lines.values_list("units", "requested_amount")) == [
        (2, Decimal("14000.00")),
        (4, Decimal("28000.00")),
    ]


def test_edit_accepts_a_lower_amount_written_the_dutch_way(editor, draft):
    data = edit_data(draft, [line(draft, units="10", requested_amount="65000,50")])
    response = client_for(editor, language="nl").post(url("application_edit", draft), data)
    assert response.status_code == 302
    assert draft.unit_lines.get().requested_amount == Decimal("65000.50")


@pytest.mark.parametrize(
    "written, amount",
    [("65.000", "65000.00"), ("65.000,50", "65000.50"), ("€ 65.000", "65000.00"), ("65000.5", "65000.50")],
)
def test_edit_reads_amounts_with_thousands_dots_as_thousands(editor, draft, written, amount):
    data = edit_data(draft, [line(draft, units="10", requested_amount=written)])
    response = client_for(editor, language="nl").post(url("application_edit", draft), data)
    assert response.status_code == 302
    assert draft.unit_lines.get().requested_amount == Decimal(amount)


@pytest.mark.parametrize("written", ["65.0000", "65,000,5", "zestigduizend"])
def test_edit_refuses_an_amount_it_would_have_to_guess(editor, draft, written):
    before = _line_snapshot(draft)
    data = edit_data(draft, [line(draft, units="10", requested_amount=written)])
    response = client_for(editor).post(url("application_edit", draft), data)
    assert response.status_code == 200
    assert "Write the amount in euros" in response.content.decode()
    assert _line_snapshot(draft) == before


def test_edit_ignores_an_untouched_blank_row(editor, draft):
    blank = {"construction": "new_build"}
    response = client_for(editor).post(url("application_edit", draft), edit_data(draft, [line(draft), blank]))
    assert response.status_code == 302
    assert draft.unit_lines.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"units": "0"}, "units"),
        ({"units": "-3"}, "units"),
        ({"units": ""}, "units"),
        ({"requested_amount": "70000.01"}, "requested_amount"),
        ({"requested_amount": "-1"}, "requested_amount"),
        ({"target_group": ""}, "target_group"),
        ({"housing_type": ""}, "housing_type"),
        ({"permanence": ""}, "permanence"),
    ],
    ids=[
        "zero-units",
        "negative-units",
        "no-units",
        "amount-above-maximum",
        "negative-amount",
        "no-target-group",
        "no-housing-type",
        "no-permanence",
    ],
)
def test_bad_unit_line_gives_error_on_its_field_and_changes_nothing(editor, draft, overrides, field):
    before = _line_snapshot(draft)
    data = edit_data(draft, [line(draft, **overrides)], project_name="Changed name")
    response = client_for(editor).post(url("application_edit", draft), data)
    assert response.status_code == 200
    assert field in response.context["formset"].forms[0].errors
    draft.refresh_from_db()
    assert draft.project_name == "Het Baken"
    assert _line_snapshot(draft) == before


def test_amount_above_maximum_names_the_maximum(editor, draft):
    data = edit_data(draft, [line(draft, units="10", requested_amount="70000.01")])
    response = client_for(editor).post(url("application_edit", draft), data)
    [message] = response.context["formset"].forms[0].errors["requested_amount"]
    assert "70,000.00" in message or "70.000,00" in message


def test_service_error_lands_on_the_row_it_belongs_to_despite_removed_rows(editor, draft):
    removed = {**line(draft), "DELETE": "on"}
    data = edit_data(draft, [line(draft), removed, line(draft, units="0")])
    response = client_for(editor).post(url("application_edit", draft), data)
    forms = response.context["formset"].forms
    assert not forms[0].errors
    assert not forms[1].errors
    assert "units" in forms[2].errors


def test_removed_row_is_not_saved(editor, draft):
    removed = {**line(draft, units="3"), "DELETE": "on"}
    response = client_for(editor).post(url("application_edit", draft), edit_data(draft, [line(draft), removed]))
    assert response.status_code == 302
    assert list(draft.unit_lines.values_list("units", flat=True)) == [10]


def test_target_group_outside_the_window_is_refused(editor):
    tranche = TrancheFactory()
    students_window = Window.objects.create(tranche=tranche, code="students", name="Studenten", budget_ceiling=1000)
    students_window.eligible_target_groups.set(tranche.target_groups.filter(code="students"))
    application = ApplicationFactory(
        municipality=editor.municipality, tranche=tranche, window=students_window, lines=[("students", 5, "permanent")]
    )
    homeless = tranche.target_groups.get(code="homeless")
    data = edit_data(application, [line(application, target_group=homeless.pk, units="5")])
    response = client_for(editor).post(url("application_edit", application), data)
    assert "target_group" in response.context["formset"].forms[0].errors
    assert list(application.unit_lines.values_list("target_group__code", flat=True)) == ["students"]


def test_completion_before_start_is_refused(editor, draft):
    data = edit_data(draft, [line(draft)], planned_start="2027-06-01", planned_completion="2027-01-01")
    response = client_for(editor).post(url("application_edit", draft), data)
    assert "planned_completion" in response.context["form"].errors
    draft.refresh_from_db()
    assert draft.planned_start is None


def test_submitted_application_cannot_be_edited(editor):
    application = ApplicationFactory(municipality=editor.municipality, submitted=True)
    before = _line_snapshot(application)
    client = client_for(editor)
    page = client.get(url("application_edit", application))
    post = client.post(url("application_edit", application), edit_data(application, [line(application, units="1")]))
    assert (page.status_code, post.status_code) == (403, 403)
    assert "can no longer be changed" in post.content.decode()
    assert _line_snapshot(application) == before
