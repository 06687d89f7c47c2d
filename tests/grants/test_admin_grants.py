from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import sync_agency_group
from grants.admin import AmendmentInline, NewAmendmentInline, WindowInline, euro
from grants.models import AmendmentKind, AmendmentStatus, Municipality, Tranche, TrancheAmendment, TrancheTargetGroup
from grants.services import AMENDED_TRANCHE_FIELDS
from tests.factories import TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TRANCHES = reverse("admin:grants_tranche_changelist")


@pytest.fixture
def assessor():
    user = UserFactory(assessor=True)
    user.groups.add(sync_agency_group())
    return user


@pytest.fixture
def agency_client(client, assessor):
    client.force_login(assessor)
    return client


@pytest.fixture
def approver():
    user = UserFactory(approver=True)
    user.groups.add(sync_agency_group())
    return user


@pytest.fixture
def approver_client(approver):
    client = Client()
    client.force_login(approver)
    return client


@pytest.fixture
def superuser_client(client):
    """A superuser has every model permission: what it still cannot do, the admin classes forbid."""
    client.force_login(UserFactory(assessor=True, is_superuser=True))
    return client


class FormFields(HTMLParser):
    """What a browser would post for the first form on a page, minus the templates for new inline rows."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        if "__prefix__" not in name:
            self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in {"submit", "button", "file"}:
            if attrs.get("type") not in {"checkbox", "radio"} or "checked" in attrs:
                self._add(name, attrs.get("value", "on" if attrs.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")

    def handle_data(self, data):
        if self._textarea and "__prefix__" not in self._textarea:
            self.data[self._textarea][-1] += data.lstrip("\n")

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            selected = [value for value, chosen in self._options if chosen]
            for value in selected or [self._options[0][0]]:
                self._add(self._select, value)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(response) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(response.content.decode())
    return parser.data


def change_url(tranche: Tranche) -> str:
    return reverse("admin:grants_tranche_change", args=[tranche.pk])


def created_an_hour_ago(**fields) -> Tranche:
    """An open tranche that already existed: an amendment cannot take effect before its tranche was created."""
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        return TrancheFactory(**fields)


def amendment_url(amendment: TrancheAmendment, action: str) -> str:
    return reverse(f"admin:grants_tranche_amendment_{action}", args=[amendment.tranche_id, amendment.pk])


def inline(response, inline_class):
    [found] = [f for f in response.context["inline_admin_formsets"] if isinstance(f.opts, inline_class)]
    return found


def amend_through_admin(client, tranche: Tranche, **fields) -> object:
    response = client.get(change_url(tranche))
    data = form_data(response)
    [new] = [f for f in response.context["inline_admin_formsets"] if isinstance(f.opts, NewAmendmentInline)]
    prefix = new.formset.prefix
    data[f"{prefix}-TOTAL_FORMS"] = ["1"]
    effective = timezone.localtime(fields.pop("effective_at"), AMSTERDAM)
    data[f"{prefix}-0-effective_at_0"] = [effective.strftime("%Y-%m-%d")]
    data[f"{prefix}-0-effective_at_1"] = [effective.strftime("%H:%M:%S")]
    if "new_closes_at" in fields:
        closes = timezone.localtime(fields.pop("new_closes_at"), AMSTERDAM)
        data[f"{prefix}-0-new_closes_at_0"] = [closes.strftime("%Y-%m-%d")]
        data[f"{prefix}-0-new_closes_at_1"] = [closes.strftime("%H:%M:%S")]
    for field, value in fields.items():
        data[f"{prefix}-0-{field}"] = [str(value)]
    return client.post(change_url(tranche), data)


# --- tranches -------------------------------------------------------------------------------------------


def test_tranche_list_shows_ceiling_and_closing_in_force_next_to_the_published_ones(agency_client):
    tranche = TrancheFactory(budget_ceiling=Decimal("37100000"))
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2022, 25169",
        effective_at=timezone.now() - timedelta(hours=1),
        old_ceiling=Decimal("37100000"),
        new_ceiling=Decimal("52135000"),
    )
    later = tranche.closes_at + timedelta(days=35)
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2022, 30000",
        effective_at=timezone.now() - timedelta(hours=1),
        old_closes_at=tranche.closes_at,
        new_closes_at=later,
    )
    content = agency_client.get(TRANCHES).content.decode()
    for shown in (
        euro(Decimal("37100000")),
        euro(Decimal("52135000")),
        timezone.localtime(tranche.closes_at, AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
        timezone.localtime(later, AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
    ):
        assert shown in content


def test_tranche_list_queries_do_not_grow_with_tranches_and_amendments(agency_client, django_assert_num_queries):
    def amended_tranche():
        tranche = TrancheFactory()
        TrancheAmendment.objects.create(
            tranche=tranche,
            kind=AmendmentKind.CEILING,
            publication_reference=f"Stcrt. {tranche.pk}",
            effective_at=timezone.now(),
            old_ceiling=tranche.budget_ceiling,
            new_ceiling=tranche.budget_ceiling * 2,
        )

    amended_tranche()
    agency_client.get(TRANCHES)  # warm-up: process-wide caches such as content types fill once
    with CaptureQueriesContext(connection) as few:
        agency_client.get(TRANCHES)
    for _ in range(5):
        amended_tranche()
    with django_assert_num_queries(len(few.captured_queries)):
        agency_client.get(TRANCHES)


def test_amendment_prepared_in_admin_keeps_the_old_value_and_who_prepared_it_and_waits(agency_client, assessor):
    tranche = TrancheFactory(budget_ceiling=Decimal("20000000"))
    response = amend_through_admin(
        agency_client,
        tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2024, 12345",
        effective_at=timezone.now() + timedelta(minutes=1),
        new_ceiling="31500000",
    )
    assert response.status_code == 302
    amendment = TrancheAmendment.all_objects.get(tranche=tranche)
    assert (amendment.old_ceiling, amendment.new_ceiling, amendment.prepared_by, amendment.status) == (
        Decimal("20000000"),
        Decimal("31500000"),
        assessor,
        AmendmentStatus.PREPARED,
    )
    tranche.refresh_from_db()
    assert tranche.budget_ceiling == Decimal("20000000")
    assert tranche.ceiling_at(timezone.now() + timedelta(minutes=2)) == Decimal("20000000")


def test_closing_amendment_before_the_opening_is_refused_with_the_form_shown_again(agency_client):
    tranche = TrancheFactory()
    response = amend_through_admin(
        agency_client,
        tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2024, 999",
        effective_at=timezone.now() + timedelta(minutes=1),
        new_closes_at=tranche.opens_at - timedelta(days=1),
    )
    assert response.status_code == 200
    assert inline(response, NewAmendmentInline).formset.errors[0]["new_closes_at"]
    assert not TrancheAmendment.all_objects.filter(tranche=tranche).exists()


def test_recorded_amendments_cannot_be_changed_in_admin(superuser_client):
    tranche = TrancheFactory()
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 1",
        effective_at=timezone.now(),
        old_ceiling=tranche.budget_ceiling,
        new_ceiling=tranche.budget_ceiling * 2,
    )
    recorded = inline(superuser_client.get(change_url(tranche)), AmendmentInline)
    assert (recorded.has_add_permission, recorded.has_change_permission, recorded.has_delete_permission) == (
        False,
        False,
        False,
    )


def test_saving_a_tranche_never_writes_back_a_stale_receipt_counter(agency_client):
    tranche = TrancheFactory()
    data = form_data(agency_client.get(change_url(tranche)))
    Tranche.objects.filter(pk=tranche.pk).update(last_receipt_number=3)
    data["title"] = ["Nieuwe titel"]
    assert agency_client.post(change_url(tranche), data).status_code == 302
    tranche.refresh_from_db()
    assert (tranche.title, tranche.last_receipt_number) == ("Nieuwe titel", 3)


def test_admin_shows_ceiling_closing_and_maxima_read_only_on_an_opened_tranche(agency_client):
    response = agency_client.get(change_url(TrancheFactory()))
    assert not set(AMENDED_TRANCHE_FIELDS) & set(response.context["adminform"].form.fields)
    windows = inline(response, WindowInline)
    assert "budget_ceiling" not in windows.formset.forms[0].fields
    assert (windows.has_add_permission, windows.has_delete_permission) == (False, False)


def test_admin_keeps_them_editable_before_the_opening(agency_client):
    opens = timezone.now() + timedelta(days=1)
    response = agency_client.get(change_url(TrancheFactory(opens_at=opens, closes_at=opens + timedelta(days=30))))
    assert set(AMENDED_TRANCHE_FIELDS) <= set(response.context["adminform"].form.fields)
    assert "budget_ceiling" in inline(response, WindowInline).formset.forms[0].fields


def test_an_admin_post_does_not_change_an_opened_tranches_ceiling_or_maxima(agency_client):
    tranche = TrancheFactory(max_per_municipality=Decimal("200000"))
    response = agency_client.get(change_url(tranche))
    data = form_data(response)
    windows = inline(response, WindowInline).formset.prefix
    data.update(
        budget_ceiling=["2000000"],
        max_per_permanent_unit=["9999"],
        max_per_municipality=[""],
        title=["Nieuwe titel"],
        **{f"{windows}-0-budget_ceiling": ["2000000"]},
    )
    assert agency_client.post(change_url(tranche), data).status_code == 302
    saved = Tranche.objects.get(pk=tranche.pk)
    assert (saved.title, saved.budget_ceiling, saved.max_per_permanent_unit, saved.max_per_municipality) == (
        "Nieuwe titel",
        Decimal("1000000"),
        Decimal("7000"),
        Decimal("200000"),
    )
    assert saved.windows.get().budget_ceiling == Decimal("1000000")


def test_an_approver_confirms_an_amendment_prepared_by_someone_else(agency_client, approver_client, approver):
    tranche = created_an_hour_ago()
    amend_through_admin(
        agency_client,
        tranche,
        kind=AmendmentKind.MAX_PER_UNIT,
        unit_kind="max_per_permanent_unit",
        publication_reference="Stcrt. 2026, 77",
        effective_at=timezone.now() - timedelta(minutes=1),
        new_amount="8500",
    )
    amendment = TrancheAmendment.all_objects.get(tranche=tranche)
    assert amendment_url(amendment, "confirm") in agency_client.get(change_url(tranche)).content.decode()
    assert approver_client.get(amendment_url(amendment, "confirm")).status_code == 200

    response = approver_client.post(amendment_url(amendment, "confirm"))

    assert response.status_code == 302
    amendment.refresh_from_db()
    assert (amendment.status, amendment.confirmed_by) == (AmendmentStatus.CONFIRMED, approver)
    assert Tranche.objects.get(pk=tranche.pk).max_per_permanent_unit == Decimal("8500")


def test_the_confirm_page_says_why_the_preparer_cannot_confirm(approver_client, approver):
    tranche = created_an_hour_ago()
    amend_through_admin(
        approver_client,
        tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2026, 78",
        effective_at=timezone.now() - timedelta(minutes=1),
        new_ceiling="2000000",
    )
    amendment = TrancheAmendment.all_objects.get(tranche=tranche)
    assert amendment.prepared_by == approver
    page = approver_client.get(amendment_url(amendment, "confirm"))
    assert page.context["refusal"]
    approver_client.post(amendment_url(amendment, "confirm"))
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.PREPARED


def test_a_window_ceiling_amendment_is_prepared_and_confirmed_in_admin(agency_client, approver_client):
    tranche = created_an_hour_ago(budget_ceiling=Decimal("2000000"))
    window = tranche.windows.get()
    amend_through_admin(
        agency_client,
        tranche,
        kind=AmendmentKind.WINDOW_CEILING,
        window=window.pk,
        publication_reference="Stcrt. 2026, 79",
        effective_at=timezone.now() - timedelta(minutes=1),
        new_amount="1800000",
    )
    amendment = TrancheAmendment.all_objects.get(tranche=tranche)
    approver_client.post(amendment_url(amendment, "confirm"))
    window.refresh_from_db()
    assert (amendment.old_amount, window.budget_ceiling) == (Decimal("2000000"), Decimal("1800000"))


def test_discarding_in_admin_asks_a_reason_and_keeps_the_amendment_on_the_tranche_page(agency_client):
    tranche = created_an_hour_ago()
    amend_through_admin(
        agency_client,
        tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2026, 80",
        effective_at=timezone.now() - timedelta(minutes=1),
        new_ceiling="2000000",
    )
    amendment = TrancheAmendment.all_objects.get(tranche=tranche)
    agency_client.post(amendment_url(amendment, "discard"), {"reason": ""})
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.PREPARED

    agency_client.post(amendment_url(amendment, "discard"), {"reason": "Dubbel ingevoerd."})

    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.DISCARDED
    page = agency_client.get(change_url(tranche))
    assert "Dubbel ingevoerd." in page.content.decode()
    assert amendment_url(amendment, "confirm") not in page.content.decode()


def test_window_offers_only_the_target_groups_of_its_own_tranche(agency_client):
    tranche, other = TrancheFactory(), TrancheFactory()
    response = agency_client.get(change_url(tranche))
    [windows] = [f for f in response.context["inline_admin_formsets"] if f.opts.model._meta.model_name == "window"]
    offered = set(windows.formset.forms[0].fields["eligible_target_groups"].queryset)
    assert offered == set(tranche.target_groups.all())
    assert not offered & set(TrancheTargetGroup.objects.filter(tranche=other))


def test_restoring_a_tranche_from_history_is_refused(agency_client):
    tranche = TrancheFactory(title="Eerste titel")
    version = tranche.history.earliest()
    Tranche.objects.filter(pk=tranche.pk).update(title="Tweede titel")
    url = reverse("admin:grants_tranche_simple_history", args=[tranche.pk, version.history_id])
    assert agency_client.post(url, {}).status_code == 403
    tranche.refresh_from_db()
    assert tranche.title == "Tweede titel"


# --- reference data -------------------------------------------------------------------------------------


def test_municipalities_are_searchable_by_code_and_name(agency_client):
    url = reverse("admin:grants_municipality_changelist")
    by_code = agency_client.get(url, {"q": "GM0363"}).context["cl"].result_list
    by_name = agency_client.get(url, {"q": "Utrecht"}).context["cl"].result_list
    assert [m.code for m in by_code] == ["GM0363"]
    assert "GM0344" in {m.code for m in by_name}


def test_municipalities_filter_by_province(agency_client):
    response = agency_client.get(reverse("admin:grants_municipality_changelist"), {"province__exact": "Zeeland"})
    shown = {m.code for m in response.context["cl"].queryset}
    assert shown == set(Municipality.objects.filter(province="Zeeland").values_list("code", flat=True))


def test_reference_data_is_read_only_in_admin(superuser_client):
    municipality = Municipality.objects.get(code="GM0344")
    assert superuser_client.get(reverse("admin:grants_municipality_add")).status_code == 403
    change = reverse("admin:grants_municipality_change", args=[municipality.pk])
    superuser_client.post(change, {"code": "GM0344", "name": "Anders", "province": "Utrecht"})
    municipality.refresh_from_db()
    assert municipality.name == "Utrecht"


def test_opening_instants_are_shown_in_amsterdam_time(agency_client):
    opens = datetime(2024, 8, 26, 9, 0, tzinfo=AMSTERDAM)
    TrancheFactory(opens_at=opens, closes_at=opens + timedelta(days=39))
    content = agency_client.get(TRANCHES).content.decode()
    assert "26-08-2024 09:00" in content


# --- closing instants typed in local time around the clock changes --------------------------------------


def amend_closing_in_local_time(client, tranche: Tranche, day: str, time: str):
    """Prepare a closing amendment in the admin, typing the new closing as the date and time Amsterdam reads."""
    response = client.get(change_url(tranche))
    data = form_data(response)
    [new] = [f for f in response.context["inline_admin_formsets"] if isinstance(f.opts, NewAmendmentInline)]
    prefix = new.formset.prefix
    effective = timezone.localtime(timezone.now() + timedelta(minutes=1), AMSTERDAM)
    data[f"{prefix}-TOTAL_FORMS"] = ["1"]
    data[f"{prefix}-0-kind"] = [AmendmentKind.CLOSING]
    data[f"{prefix}-0-publication_reference"] = ["Stcrt. 2026, 329"]
    data[f"{prefix}-0-effective_at_0"] = [effective.strftime("%Y-%m-%d")]
    data[f"{prefix}-0-effective_at_1"] = [effective.strftime("%H:%M:%S")]
    data[f"{prefix}-0-new_closes_at_0"] = [day]
    data[f"{prefix}-0-new_closes_at_1"] = [time]
    return client.post(change_url(tranche), data)


@pytest.mark.parametrize(
    ("day", "time"),
    [
        # The clocks go from 02:00 to 03:00 on the last Sunday of March: 02:30 does not exist.
        ("2026-03-29", "02:30:00"),
        # They go back from 03:00 to 02:00 on the last Sunday of October: 02:30 happens twice.
        ("2026-10-25", "02:30:00"),
    ],
    ids=["non-existent", "ambiguous"],
)
def test_a_closing_time_that_does_not_exist_or_happens_twice_in_amsterdam_is_refused(agency_client, day, time):
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=AMSTERDAM), tick=False):
        tranche = created_an_hour_ago(closes_at=datetime(2026, 3, 20, 17, tzinfo=AMSTERDAM))
        response = amend_closing_in_local_time(agency_client, tranche, day, time)

    assert response.status_code == 200
    # Django's own message names the time as typed and the zone it cannot place it in.
    messages = inline(response, NewAmendmentInline).formset.errors[0]["new_closes_at"]
    assert messages[0].startswith(f"{day} {time} ") and "Europe/Amsterdam" in messages[0]
    assert not TrancheAmendment.all_objects.filter(tranche=tranche).exists()


@pytest.mark.parametrize(
    ("day", "time", "instant"),
    [
        # Just before and just after the hour the clocks skip: winter time, then summer time.
        ("2026-03-29", "01:59:59", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)),
        ("2026-03-29", "03:00:00", datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC)),
        ("2026-03-29", "17:00:00", datetime(2026, 3, 29, 15, 0, 0, tzinfo=UTC)),
    ],
)
def test_a_closing_on_the_day_the_clocks_go_forward_is_stored_as_the_instant_amsterdam_means(
    agency_client, day, time, instant
):
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=AMSTERDAM), tick=False):
        tranche = created_an_hour_ago(closes_at=datetime(2026, 3, 20, 17, tzinfo=AMSTERDAM))
        response = amend_closing_in_local_time(agency_client, tranche, day, time)

    assert response.status_code == 302
    assert TrancheAmendment.all_objects.get(tranche=tranche).new_closes_at == instant
