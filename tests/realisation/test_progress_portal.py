"""The municipality's progress pages: isolation, the editor/signatory split, errors next to fields, query counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from realisation.models import ProgressReport, ProgressStatus
from tests.factories import ApplicationFactory, UserFactory
from tests.portal import client_for
from tests.progress import completed, granted, prepare, realised_by_line, settle, signatory_of, submit

pytestmark = pytest.mark.django_db


def url(name: str, application) -> str:
    return reverse(f"progress:{name}", args=[application.public_id])


def form_data(application, *, started="", completed="", realised=None, remarks="") -> dict:
    units = realised if realised is not None else [0] * application.unit_lines.count()
    data = {"construction_started_on": started, "completed_on": completed, "delay_remarks": remarks}
    data.update({f"realised-{pk}": str(count) for pk, count in realised_by_line(application, units).items()})
    return data


@pytest.fixture
def grant():
    return granted()


@pytest.fixture
def editor(grant):
    return UserFactory(municipality=grant.municipality)


# --- isolation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), [("detail", "get"), ("edit", "get"), ("submit", "post")])
def test_another_municipalitys_grant_is_not_found(grant, name, method):
    outsider = client_for(UserFactory(signatory=True, municipality__code="GM0363"))
    prepare(grant, signatory_of(grant), started=timezone.localdate())

    response = getattr(outsider, method)(url(name, grant))

    assert response.status_code == 404
    assert ProgressReport.objects.get(application=grant).status == ProgressStatus.DRAFT


def test_an_application_without_a_grant_has_no_progress_page():
    application = ApplicationFactory(eligible=True)
    client = client_for(UserFactory(municipality=application.municipality))

    assert client.get(url("detail", application)).status_code == 404


def test_the_progress_list_shows_only_the_municipalitys_own_grants(grant):
    granted(municipality="GM0363")

    response = client_for(UserFactory(municipality=grant.municipality)).get(reverse("progress:list"))

    assert [item.pk for item in response.context["grants"]] == [grant.pk]


# --- preparing and submitting ---------------------------------------------------------------------------


def test_an_editor_saves_a_draft_report(grant, editor):
    started = timezone.localdate() - timedelta(days=3)

    response = client_for(editor).post(url("edit", grant), form_data(grant, started=started.isoformat()))

    assert response.status_code == 302
    report = ProgressReport.objects.get(application=grant)
    assert (report.status, report.construction_started_on, report.prepared_by) == ("draft", started, editor)


def test_realised_above_granted_is_shown_next_to_its_field_and_nothing_is_saved(grant, editor):
    line = grant.unit_lines.get()
    data = form_data(grant, started=timezone.localdate().isoformat(), realised=[11])

    response = client_for(editor).post(url("edit", grant), data)

    assert response.status_code == 200
    assert response.context["form"].errors == {f"realised-{line.pk}": ["At most 10: the units granted on this line."]}
    assert not ProgressReport.objects.filter(application=grant).exists()


def test_a_completion_before_the_start_is_shown_next_to_the_completion(grant, editor):
    today = timezone.localdate()
    data = form_data(grant, started=today.isoformat(), completed=(today - timedelta(days=1)).isoformat())

    response = client_for(editor).post(url("edit", grant), data)

    assert list(response.context["form"].errors) == ["completed_on"]


def test_the_edit_form_starts_from_the_latest_submitted_report(grant, editor):
    started = timezone.localdate() - timedelta(days=5)
    submit(grant, started=started, realised=[4])

    form = client_for(editor).get(url("edit", grant)).context["form"]

    assert form.initial["construction_started_on"] == started
    assert form.initial[f"realised-{grant.unit_lines.get().pk}"] == 4


def test_an_editor_cannot_submit(grant, editor):
    prepare(grant, editor, started=timezone.localdate())

    response = client_for(editor).post(url("submit", grant))

    assert response.status_code == 403
    assert ProgressReport.objects.get(application=grant).status == ProgressStatus.DRAFT


def test_a_signatory_submits_the_draft(grant, editor):
    prepare(grant, editor, started=timezone.localdate())
    signatory = signatory_of(grant)

    response = client_for(signatory).post(url("submit", grant))

    assert response.status_code == 302
    report = ProgressReport.objects.get(application=grant)
    assert (report.status, report.submitted_by, report.is_latest) == ("submitted", signatory, True)


def test_submitting_without_a_draft_is_not_found(grant):
    assert client_for(signatory_of(grant)).post(url("submit", grant)).status_code == 404


def test_submitting_is_post_only(grant, editor):
    prepare(grant, editor, started=timezone.localdate())

    assert client_for(signatory_of(grant)).get(url("submit", grant)).status_code == 405


# --- query counts ---------------------------------------------------------------------------------------

# Session, user, the user's municipality for the header, the page's count, the page's grants with their
# decision, latest report and settlement in one query, unread notifications for the header.
LIST_QUERIES = 6
# Session, user, municipality, the grant with its decision, its unit lines, its reports, their realised units,
# unread notifications.
DETAIL_QUERIES = 8


@pytest.mark.parametrize("count", [1, 4])
def test_progress_list_costs_a_fixed_number_of_queries(django_assert_num_queries, count):
    grants = [granted() for _ in range(count)]
    for grant in grants:
        submit(grant, started=timezone.localdate())
    client = client_for(UserFactory())

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("progress:list"))

    assert response.context["page"].paginator.count == count


@pytest.mark.parametrize("reports", [1, 4])
def test_progress_page_costs_a_fixed_number_of_queries(django_assert_num_queries, reports):
    grant = granted(lines=(("homeless", 10, "permanent", None), ("students", 4, "flexible", None)))
    for _ in range(reports):
        submit(grant, started=timezone.localdate(), realised=[1, 1])
    client = client_for(UserFactory(municipality=grant.municipality))

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(url("detail", grant))

    assert len(response.context["reports"]) == reports


def test_after_the_settlement_the_municipality_sees_the_reclaim_and_cannot_report_any_more(grant, editor):
    completed(grant, [6])
    settle(grant)
    client = client_for(editor)

    page = client.get(url("detail", grant))
    edit = client.get(url("edit", grant))

    assert page.context["settlement"].amount_reclaimed == Decimal("28000.00")
    assert "€\u00a028.000,00" in page.content.decode()
    assert not page.context["may_report"]
    assert edit.status_code == 403


def test_the_application_page_offers_to_report_until_the_grant_is_settled(grant, editor):
    client = client_for(editor)
    completed(grant, [10])

    before = client.get(reverse("portal:application_detail", args=[grant.public_id]))
    settle(grant)
    after = client.get(reverse("portal:application_detail", args=[grant.public_id]))

    assert before.context["may_report"] and not after.context["may_report"]
    assert after.context["grant"].amount_granted == Decimal("70000.00")
