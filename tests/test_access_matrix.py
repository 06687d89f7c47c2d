"""The access matrix walked: every URL pattern of the project has an entry in tests/access_matrix.py, and every
entry answers every role as the matrix says.

One world of objects is built once for the module, inside a transaction that is rolled back when the module ends;
each request runs in a savepoint of its own, so that a POST that succeeds changes nothing for the next one.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditAction, Role
from accounts.services import AGENCY_GROUP, record_audit, sync_agency_group
from allocation import objections
from allocation.models import AllocationEvent, Decision, LetterKind, LotterySeed, Waiver, WithdrawalGround
from allocation.services import prepare_allocation
from allocation.waivers import waive_grant
from allocation.withdrawals import prepare_withdrawal
from applications.models import Application, Attachment, AttachmentKind
from grants.amendments import prepare_amendment
from grants.models import AmendmentKind, HousingType, Municipality, Scheme, TargetGroup
from notifications.models import Delivery, Reminder, ReminderKind, TrancheReminderSettings
from realisation.changes import submit_change_request
from realisation.models import ChangeKind, Reclaim, ReclaimGround
from realisation.services import prepare_settlement
from tests.access_matrix import ADMIN_LOGIN, LOGIN, MATRIX, REAUTHENTICATE, REDIRECT, ROLES, Expected
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, pass_second_factor
from tests.files import PDF_MIME, pdf_bytes
from tests.progress import certify_accounts, completed, granted, submit

OWN, FOREIGN = "GM0344", "GM0363"


def url_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every URL pattern of the project, as its full route (the admin's and the API's included)."""
    resolver = resolver or get_resolver()
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes.extend(url_patterns(pattern, route))
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


# --- the world ------------------------------------------------------------------------------------------


def _users() -> dict:
    agency = sync_agency_group()
    officer = Role.MUNICIPAL_FINANCIAL_OFFICER
    users = {
        "editor": UserFactory(municipality__code=OWN),
        "signatory": UserFactory(signatory=True, municipality__code=OWN),
        "officer": UserFactory(role=officer, municipality__code=OWN),
        "foreign_editor": UserFactory(municipality__code=FOREIGN),
        "foreign_signatory": UserFactory(signatory=True, municipality__code=FOREIGN),
        "foreign_officer": UserFactory(role=officer, municipality__code=FOREIGN),
        "assessor": UserFactory(assessor=True),
        "approver": UserFactory(approver=True),
        "analyst": UserFactory(analyst=True),
        "superuser": UserFactory(role="", municipality=None, is_staff=True, is_superuser=True),
    }
    for role in ("assessor", "approver"):
        users[role].groups.add(agency)
    return users


def _attach(application: Application, user) -> Attachment:
    attachment = Attachment(
        application=application,
        kind=AttachmentKind.PROJECT_PLAN,
        original_name="projectplan.pdf",
        content_type=PDF_MIME,
        size=len(pdf_bytes()),
        sha256="0" * 64,
        uploaded_by=user,
    )
    attachment.file.save("projectplan.pdf", ContentFile(pdf_bytes()), save=False)
    attachment.save()
    return attachment


def _letter_files(decision: Decision) -> Decision:
    """A decision letter as if made after the confirmation, without rendering it (WeasyPrint takes seconds)."""
    decision.letter_html.save("beschikking.html", ContentFile(b"<p>Beschikking</p>"), save=False)
    decision.letter_pdf.save("beschikking.pdf", ContentFile(pdf_bytes("Beschikking")), save=False)
    decision.save(update_fields=["letter_html", "letter_pdf"])
    return decision


def build_world() -> SimpleNamespace:
    """One object of every kind an address needs, all of the municipality OWN, made through the services where
    they exist; each four-eyes step prepared by someone other than the walk's approver, who may then confirm."""
    users = _users()
    preparer = UserFactory(assessor=True)
    today = timezone.localdate()

    tranche = TrancheFactory()
    draft = ApplicationFactory(tranche=tranche, municipality__code=OWN)
    submitted = ApplicationFactory(submitted=True, tranche=tranche, municipality__code=OWN)
    draft_attachment = _attach(draft, users["editor"])
    submitted_attachment = _attach(submitted, users["editor"])
    amendment = prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2026, 1",
        effective_at=timezone.now() + timedelta(days=1),
        user=preparer,
        new_ceiling=Decimal("2000000.00"),
    )
    reminder_settings = TrancheReminderSettings.objects.create(tranche=tranche, closing_days_before=[14, 3])

    # The main grant: waived in part, then its decision letter, an objection with its letter, a progress report,
    # the year's accountability, a change request and a prepared withdrawal.
    grant = granted(municipality=OWN)
    waive_grant(application=grant, user=users["signatory"], amount_after=Decimal("69000.00"), reason="Minder woningen.")
    decision = _letter_files(Decision.objects.current().get(application=grant))
    objections.record_dispatch(decision=decision, user=preparer, dispatched_on=today)
    objection = objections.register_objection(decision=decision, user=preparer, received_on=today, grounds="Te laag.")
    letter = objection.letters.get(kind=LetterKind.OBJECTION_RECEIPT)
    letter.pdf.save("ontvangstbevestiging.pdf", ContentFile(pdf_bytes("Ontvangst")), save=True)
    progress_report = submit(grant, started=today, realised=[0])
    accountability_report = certify_accounts(grant)
    change_request = submit_change_request(
        application=grant,
        user=users["signatory"],
        kind=ChangeKind.START_EXTENSION,
        motivation="Vergunning vertraagd.",
        proposed_start_by=decision.start_construction_by + timedelta(days=30),
    )
    withdrawal = prepare_withdrawal(
        application=grant,
        user=preparer,
        amount_after=Decimal("0.00"),
        ground=WithdrawalGround.ACTIVITIES_NOT_CARRIED_OUT,
        reason="Niet gebouwd.",
    )

    # A grant whose project is complete and accounted for, with a settlement awaiting confirmation.
    settled = granted(municipality=OWN)
    completed(settled, realised=[10])
    settlement = prepare_settlement(decision=settled.decision, user=preparer)

    # A grant with a reclaim awaiting confirmation; its deadline need not have passed for an address to answer.
    reclaimed = granted(municipality=OWN)
    reclaim = Reclaim.objects.create(
        application=reclaimed,
        ground=ReclaimGround.COMPLETION_MISSED,
        reason="Niet op tijd gereed.",
        units_not_realised=10,
        amount_per_unit=Decimal("7000.00"),
        amount=Decimal("70000.00"),
        prepared_by=preparer,
        prepared_at=timezone.now(),
    )

    # A closed tranche with an allocation preview awaiting confirmation.
    closed = closed_tranche()
    ApplicationFactory(eligible=True, tranche=closed, municipality__code=OWN)
    run = prepare_allocation(tranche=closed, user=preparer)

    reminder = Reminder.objects.create(
        kind=ReminderKind.TRANCHE_CLOSING,
        subject=tranche,
        deadline=tranche.closes_at,
        due_at=timezone.now(),
        municipality=Municipality.objects.get(code=OWN),
        context={"title": tranche.title, "days": 14},
        link=reverse("portal:application_list"),
    )
    delivery = Delivery.objects.create(reminder=reminder, recipient=users["editor"], email=users["editor"].email)
    attempt = {"username": "onbekend", "ip_address": "198.51.100.7", "user_agent": "test", "path_info": "/login/"}
    return SimpleNamespace(
        users=users,
        year=today.year,
        tranche=tranche,
        draft=draft,
        submitted=submitted,
        draft_attachment=draft_attachment,
        submitted_attachment=submitted_attachment,
        amendment=amendment,
        reminder_settings=reminder_settings,
        reminder_settings_history=reminder_settings.history.first(),
        tranche_history=tranche.history.first(),
        submitted_history=submitted.history.first(),
        draft_history=draft.history.first(),
        grant=grant,
        decision=decision,
        objection=objection,
        letter=letter,
        progress_report=progress_report,
        accountability_report=accountability_report,
        change_request=change_request,
        withdrawal=withdrawal,
        waiver=Waiver.objects.get(decision=decision),
        settlement=settlement,
        reclaim=reclaim,
        run=run,
        seed=LotterySeed.objects.get(tranche=grant.tranche),
        event=AllocationEvent.objects.filter(tranche=closed).first(),
        reminder=reminder,
        delivery=delivery,
        totp_device=TOTPDevice.objects.create(user=users["superuser"], name="default", confirmed=True),
        static_device=StaticDevice.objects.create(user=users["superuser"], name="backup"),
        audit_entry=record_audit(action=AuditAction.EXPORT, actor=users["superuser"], target=tranche),
        access_attempt=AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1),
        access_log=AccessLog.objects.create(**attempt),
        access_failure=AccessFailureLog.objects.create(**attempt),
        group=Group.objects.get(name=AGENCY_GROUP),
        application_type=ContentType.objects.get_for_model(Application),
        municipality=Municipality.objects.get(code=OWN),
        target_group=TargetGroup.objects.first(),
        housing_type=HousingType.objects.first(),
        scheme=Scheme.objects.get(code="rha"),
    )


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
        if user.needs_second_factor:
            pass_second_factor(client, user)
    return client


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    with override_settings(MEDIA_ROOT=media), django_db_blocker.unblock(), transaction.atomic():
        built = build_world()
        built.clients = {role: _client(built.users.get(role)) for role in ROLES}
        built.files = {path: path.read_bytes() for path in media.rglob("*") if path.is_file()}
        yield built
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media_root():
    """The world's files stay in the module's media root (instead of one per test, as in tests/conftest.py)."""


def _restore_files(world) -> None:
    # A request that deletes a file (an attachment) is undone in the database, but not on disk.
    for path, content in world.files.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


def _answer(response) -> Expected:
    if response.status_code != 302:
        return response.status_code
    target = urlsplit(response["Location"]).path
    return {
        reverse("login"): LOGIN,
        reverse("admin:login"): ADMIN_LOGIN,
        reverse("accounts:reauthenticate"): REAUTHENTICATE,
    }.get(target, REDIRECT)


def _request(world, role: str, method: str, url: str) -> Expected:
    """The answer to one request, undone afterwards: the database in a savepoint, the client's cookies by hand."""
    client = world.clients[role]
    cookies = client.cookies
    client.cookies = copy.deepcopy(cookies)
    try:
        with transaction.atomic():
            try:
                response = client.generic(method, url)
            except Exception as error:  # noqa: BLE001 - a server error is an answer the matrix must show
                return f"500 ({type(error).__name__}: {error})"
            finally:
                transaction.set_rollback(True)
        return _answer(response)
    finally:
        client.cookies = cookies
        _restore_files(world)


CASES = [
    pytest.param(route, access, id=f"{access.method} {access.url}")
    for route, accesses in MATRIX.items()
    for access in accesses
]


def test_every_url_pattern_has_an_entry_in_the_access_matrix():
    missing = [route for route in url_patterns() if route not in MATRIX]
    assert not missing, "URL patterns without an entry in tests/access_matrix.py (add one per pattern):\n" + "\n".join(
        missing
    )


def test_every_entry_of_the_access_matrix_is_a_url_pattern():
    assert not set(MATRIX) - set(url_patterns())


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "access"), CASES)
def test_every_role_gets_the_answer_the_access_matrix_gives(world, route, access):
    url = access.url.format(**vars(world))
    answers = {role: _request(world, role, access.method, url) for role in ROLES}
    wrong = {role: (access.expect[role], got) for role, got in answers.items() if got != access.expect[role]}
    assert not wrong, f"{access.method} {url} ({route}), role: (expected, got)\n" + "\n".join(
        f"  {role}: {expected!r}, got {got!r}" for role, (expected, got) in wrong.items()
    )
