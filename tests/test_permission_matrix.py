"""Every permission check, as every role, on the own municipality's object and a foreign one, and in each state that
refuses: the verdict and its reason, as the user reads it.

MATRIX below lists, per check and situation, what each role gets. Two tests keep it complete: every function that
answers a Verdict in the apps has rows, and every refusal reason written in such a function is expected somewhere.
The checks are pure functions, so the objects are unsaved and the test needs no database.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone, translation

from accounts.models import Role, User
from accounts.permissions import Verdict
from allocation import permissions as allocation
from allocation.models import AllocationRun, Decision, LotterySeed, ProposalStatus, RunStatus, Withdrawal
from applications import permissions as applications
from applications.models import Application, Status
from grants import permissions as grants
from grants.models import AmendmentStatus, TrancheAmendment
from ministry import permissions as ministry
from notifications import permissions as notifications
from notifications.models import Delivery, DeliveryStatus
from realisation import changes, reclaims
from realisation import permissions as realisation
from realisation.models import (
    AccountabilityReport,
    AccountabilityStatus,
    Reclaim,
    ReclaimStatus,
    Settlement,
    SettlementStatus,
)

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "grants", "applications", "allocation", "realisation", "ministry", "notifications", "demo")

OWN, FOREIGN = 1, 2
ROLES = {
    "editor": Role.MUNICIPAL_EDITOR,
    "signatory": Role.MUNICIPAL_SIGNATORY,
    "officer": Role.MUNICIPAL_FINANCIAL_OFFICER,
    "assessor": Role.AGENCY_ASSESSOR,
    "approver": Role.AGENCY_APPROVER,
    "analyst": Role.MINISTRY_ANALYST,
    "superuser": "",
}
MUNICIPAL = ("editor", "signatory", "officer")
AGENCY = ("assessor", "approver")
# Whoever else prepared, decided or entered something, for the four-eyes checks.
SOMEONE_ELSE = 999

ALLOWED: Verdict = (True, "")


def user(role: str) -> User:
    municipal = role in MUNICIPAL
    return User(
        pk=100 + list(ROLES).index(role),
        username=role,
        role=ROLES[role],
        municipality_id=OWN if municipal else None,
        is_staff=role in (*AGENCY, "superuser"),
        is_superuser=role == "superuser",
    )


def refused(reason: str, *, allowed: tuple[str, ...] = (), **others: str) -> dict[str, Verdict]:
    """Every role refused with `reason`, except the `allowed` ones and those refused for another reason."""
    return {role: ALLOWED if role in allowed else (False, others.get(role, reason)) for role in ROLES}


def application(municipality: int = OWN, status: str = Status.DRAFT) -> Application:
    return Application(municipality_id=municipality, status=status)


def granted(municipality: int = OWN) -> Application:
    return application(municipality, Status.GRANTED)


# --- the rows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    check: Callable[..., Verdict]
    situation: str
    arguments: Callable[[User], tuple]
    expect: dict[str, Verdict]
    keywords: dict = field(default_factory=dict)


def only_user(who: User) -> tuple:
    return (who,)


AGENCY_ONLY = {
    grants.can_prepare_amendment: "Only agency staff can record an amendment.",
    applications.can_import_applications: "Only agency staff can import applications.",
    allocation.can_prepare_allocation: "Only agency staff can prepare an allocation.",
    allocation.can_enter_seed: "Only agency staff can enter a lottery seed.",
    allocation.can_handle_objections: "Only agency staff can handle objections.",
    realisation.can_prepare_settlement: "Only agency staff can prepare a settlement.",
    changes.can_assess_change: "Only agency staff can assess a change request.",
    reclaims.can_prepare_reclaim: "Only agency staff can prepare a reclaim.",
    reclaims.can_record_payment: "Only agency staff can record a payment.",
}

NOT_THE_APPLICANT = "Only the applying municipality can submit this application."
NOT_THE_GRANTEE = "Only the municipality that received the grant can report its progress."
NOT_ACCOUNTABLE = "Only the municipality that received the grant can account for it."
NOT_ASKING = "Only the municipality that received the grant can ask to change it."


def four_eyes(
    check, make: Callable[..., object], *, only: str, own: str, done: str, done_state: dict, open_state: dict
) -> list[Row]:
    """A confirmation by an approver other than the preparer: allowed, prepared by the approver, already done."""
    others = {"prepared_by_id": SOMEONE_ELSE}
    return [
        Row(
            check,
            "prepared by someone else",
            lambda u: (u, make(**others, **open_state)),
            refused(only, allowed=("approver",)),
        ),
        Row(
            check,
            "prepared by the user",
            lambda u: (u, make(prepared_by_id=u.pk, **open_state)),
            refused(only, approver=own),
        ),
        Row(check, "already done", lambda u: (u, make(**others, **done_state)), refused(only, approver=done)),
    ]


def agency_discard(check, make: Callable[..., object], *, only: str, done: str, done_state: dict, open_state: dict):
    return [
        Row(check, "awaiting confirmation", lambda u: (u, make(**open_state)), refused(only, allowed=AGENCY)),
        Row(check, "already done", lambda u: (u, make(**done_state)), refused(only, **dict.fromkeys(AGENCY, done))),
    ]


def handler_of(involvement: str):
    def arguments(u: User) -> tuple:
        run = AllocationRun(pk=1, prepared_by_id=SOMEONE_ELSE, approved_by_id=SOMEONE_ELSE)
        decision = Decision(decided_by_id=SOMEONE_ELSE, run=run)
        if involvement == "decided":
            decision.decided_by_id = u.pk
        elif involvement == "prepared":
            run.prepared_by_id = u.pk
        elif involvement == "approved":
            run.approved_by_id = u.pk
        return (u, decision)

    return arguments


TOOK_PART = "%(user)s took part in the decision objected to; someone else must handle the objection."
ALREADY_AMENDED = "This amendment has already been confirmed or discarded and can no longer be changed."
RUN_CONFIRMED = "This allocation has already been confirmed and can no longer be changed."
SETTLED = "This settlement has already been confirmed and can no longer be changed."

MATRIX: list[Row] = [
    *(Row(check, "-", only_user, refused(reason, allowed=AGENCY)) for check, reason in AGENCY_ONLY.items()),
    # applications
    Row(applications.can_apply, "-", only_user, refused("Only municipal users can apply.", allowed=MUNICIPAL)),
    *(
        Row(applications.can_view, situation, lambda u, m=municipality: (u, application(m)), expect)
        for situation, municipality, expect in (
            ("own", OWN, refused("This application belongs to another municipality.", allowed=MUNICIPAL)),
            ("foreign", FOREIGN, refused("This application belongs to another municipality.")),
        )
    ),
    Row(
        applications.can_edit,
        "own draft",
        lambda u: (u, application()),
        refused("Only the applying municipality can change this application.", allowed=MUNICIPAL),
    ),
    Row(
        applications.can_edit,
        "own, submitted",
        lambda u: (u, application(status=Status.SUBMITTED)),
        refused(
            "Only the applying municipality can change this application.",
            **dict.fromkeys(MUNICIPAL, "This application has been submitted and can no longer be changed."),
        ),
    ),
    Row(
        applications.can_edit,
        "foreign draft",
        lambda u: (u, application(FOREIGN)),
        refused("Only the applying municipality can change this application."),
    ),
    *(
        row
        for check in (applications.can_submit, applications.can_withdraw)
        for row in (
            Row(
                check,
                "own",
                lambda u: (u, application()),
                refused(
                    NOT_THE_APPLICANT,
                    allowed=("signatory",),
                    **dict.fromkeys(
                        ("editor", "officer"), "Only a signatory of the municipality may submit an application."
                    ),
                ),
            ),
            Row(check, "foreign", lambda u: (u, application(FOREIGN)), refused(NOT_THE_APPLICANT)),
        )
    ),
    Row(
        applications.can_ask_signatory,
        "own draft",
        lambda u: (u, application()),
        refused(
            "Only the applying municipality can ask its signatory.",
            allowed=("editor", "officer"),
            signatory="As a signatory you send the application yourself.",
        ),
    ),
    Row(
        applications.can_ask_signatory,
        "own, submitted",
        lambda u: (u, application(status=Status.SUBMITTED)),
        refused(
            "Only the applying municipality can ask its signatory.",
            **dict.fromkeys(MUNICIPAL, "This application has been submitted and can no longer be changed."),
        ),
    ),
    Row(
        applications.can_ask_signatory,
        "foreign draft",
        lambda u: (u, application(FOREIGN)),
        refused("Only the applying municipality can ask its signatory."),
    ),
    Row(
        applications.can_handle,
        "submitted",
        lambda u: (u, application(status=Status.SUBMITTED)),
        refused("Only agency staff can handle applications.", allowed=AGENCY),
    ),
    # grants
    *four_eyes(
        grants.can_confirm_amendment,
        TrancheAmendment,
        only="Only an agency approver can confirm an amendment.",
        own="You prepared this amendment; another approver must confirm it.",
        done=ALREADY_AMENDED,
        done_state={"status": AmendmentStatus.DISCARDED},
        open_state={"status": AmendmentStatus.PREPARED},
    ),
    *agency_discard(
        grants.can_discard_amendment,
        TrancheAmendment,
        only="Only agency staff can discard a prepared amendment.",
        done=ALREADY_AMENDED,
        done_state={"status": AmendmentStatus.CONFIRMED},
        open_state={"status": AmendmentStatus.PREPARED},
    ),
    # allocation
    *four_eyes(
        allocation.can_confirm_allocation,
        AllocationRun,
        only="Only an agency approver can confirm an allocation.",
        own="You prepared this allocation; another approver must confirm it.",
        done=RUN_CONFIRMED,
        done_state={"status": RunStatus.CONFIRMED},
        open_state={"status": RunStatus.PREVIEW},
    ),
    *agency_discard(
        allocation.can_discard_allocation,
        AllocationRun,
        only="Only agency staff can discard an allocation preview.",
        done=RUN_CONFIRMED,
        done_state={"status": RunStatus.CONFIRMED},
        open_state={"status": RunStatus.PREVIEW},
    ),
    Row(
        allocation.can_confirm_seed,
        "entered by someone else",
        lambda u: (u, LotterySeed(entered_by_id=SOMEONE_ELSE)),
        refused("Only agency staff can confirm a lottery seed.", allowed=AGENCY),
    ),
    Row(
        allocation.can_confirm_seed,
        "entered by the user",
        lambda u: (u, LotterySeed(entered_by_id=u.pk)),
        refused(
            "Only agency staff can confirm a lottery seed.",
            **dict.fromkeys(AGENCY, "You entered this seed; a second person must confirm it."),
        ),
    ),
    Row(
        allocation.can_confirm_seed,
        "sealed",
        lambda u: (u, LotterySeed(entered_by_id=SOMEONE_ELSE, sealed_at=timezone.now())),
        refused(
            "Only agency staff can confirm a lottery seed.",
            **dict.fromkeys(AGENCY, "The lottery seed of this tranche is sealed and can no longer be changed."),
        ),
    ),
    Row(
        allocation.can_be_objection_handler,
        "took no part",
        handler_of("none"),
        refused("Only agency staff can handle objections.", allowed=AGENCY),
    ),
    *(
        Row(
            allocation.can_be_objection_handler,
            f"{involvement} the decision",
            handler_of(involvement),
            refused("Only agency staff can handle objections.", **dict.fromkeys(AGENCY, TOOK_PART)),
        )
        for involvement in ("decided", "prepared", "approved")
    ),
    Row(
        allocation.can_decide_objection,
        "no money granted",
        lambda u: (u,),
        refused("Only agency staff can handle objections.", allowed=AGENCY),
        {"grants_money": False},
    ),
    Row(
        allocation.can_decide_objection,
        "grants money",
        lambda u: (u,),
        refused(
            "Only agency staff can handle objections.",
            allowed=("approver",),
            assessor="Only an agency approver can decide an objection that grants money.",
        ),
        {"grants_money": True},
    ),
    *(
        Row(allocation.can_waive_grant, situation, lambda u, m=municipality: (u, granted(m)), expect)
        for situation, municipality, expect in (
            ("own", OWN, refused("Only a signatory of the municipality can waive its grant.", allowed=("signatory",))),
            ("foreign", FOREIGN, refused("Only a signatory of the municipality can waive its grant.")),
        )
    ),
    Row(
        allocation.can_prepare_withdrawal,
        "-",
        only_user,
        refused("Only an agency assessor or approver can prepare a withdrawal.", allowed=AGENCY),
    ),
    *four_eyes(
        allocation.can_confirm_withdrawal,
        Withdrawal,
        only="Only an agency approver can confirm a withdrawal.",
        own="You prepared this withdrawal; another approver must confirm it.",
        done="This withdrawal has already been confirmed.",
        done_state={"status": ProposalStatus.CONFIRMED},
        open_state={"status": ProposalStatus.PREPARED},
    ),
    *agency_discard(
        allocation.can_discard_withdrawal,
        Withdrawal,
        only="Only agency staff can discard a withdrawal.",
        done="This withdrawal has already been confirmed.",
        done_state={"status": ProposalStatus.CONFIRMED},
        open_state={"status": ProposalStatus.PREPARED},
    ),
    # realisation
    Row(
        realisation.can_report_progress,
        "own grant",
        lambda u: (u, granted()),
        refused(NOT_THE_GRANTEE, allowed=MUNICIPAL),
    ),
    Row(realisation.can_report_progress, "foreign grant", lambda u: (u, granted(FOREIGN)), refused(NOT_THE_GRANTEE)),
    Row(
        realisation.can_report_progress,
        "own, not granted",
        lambda u: (u, application(status=Status.SUBMITTED)),
        refused(NOT_THE_GRANTEE, **dict.fromkeys(MUNICIPAL, "Progress is reported only on a granted application.")),
    ),
    Row(
        realisation.can_submit_progress,
        "own grant",
        lambda u: (u, granted()),
        refused(
            NOT_THE_GRANTEE,
            allowed=("signatory",),
            **dict.fromkeys(
                ("editor", "officer"), "Only a signatory of the municipality may submit a progress report."
            ),
        ),
    ),
    Row(realisation.can_submit_progress, "foreign grant", lambda u: (u, granted(FOREIGN)), refused(NOT_THE_GRANTEE)),
    Row(
        realisation.can_submit_progress,
        "own, not granted",
        lambda u: (u, application(status=Status.SUBMITTED)),
        refused(NOT_THE_GRANTEE, **dict.fromkeys(MUNICIPAL, "Progress is reported only on a granted application.")),
    ),
    *four_eyes(
        realisation.can_confirm_settlement,
        Settlement,
        only="Only an agency approver can confirm a settlement.",
        own="You prepared this settlement; another approver must confirm it.",
        done=SETTLED,
        done_state={"status": SettlementStatus.CONFIRMED},
        open_state={"status": SettlementStatus.PREPARED},
    ),
    *agency_discard(
        realisation.can_discard_settlement,
        Settlement,
        only="Only agency staff can discard a prepared settlement.",
        done=SETTLED,
        done_state={"status": SettlementStatus.CONFIRMED},
        open_state={"status": SettlementStatus.PREPARED},
    ),
    Row(
        realisation.can_prepare_accountability,
        "own grant",
        lambda u: (u, granted()),
        refused(
            NOT_ACCOUNTABLE,
            allowed=("editor", "signatory"),
            officer="An editor or signatory prepares the accountability report; the financial officer certifies it.",
        ),
    ),
    Row(
        realisation.can_prepare_accountability,
        "foreign grant",
        lambda u: (u, granted(FOREIGN)),
        refused(NOT_ACCOUNTABLE),
    ),
    Row(
        realisation.can_prepare_accountability,
        "own, not granted",
        lambda u: (u, application(status=Status.SUBMITTED)),
        refused(NOT_ACCOUNTABLE, **dict.fromkeys(MUNICIPAL, "Only a grant in force is accounted for.")),
    ),
    *(
        Row(
            realisation.can_certify_accountability,
            situation,
            lambda u, m=municipality, s=status, p=preparer: (
                u,
                AccountabilityReport(application=granted(m), status=s, prepared_by_id=u.pk if p else SOMEONE_ELSE),
            ),
            expect,
        )
        for situation, municipality, status, preparer, expect in (
            (
                "own, prepared by someone else",
                OWN,
                AccountabilityStatus.PREPARED,
                False,
                refused(
                    NOT_ACCOUNTABLE,
                    allowed=("officer",),
                    **dict.fromkeys(
                        ("editor", "signatory"),
                        "Only the financial officer of the municipality can certify an accountability report.",
                    ),
                ),
            ),
            (
                "own, prepared by the user",
                OWN,
                AccountabilityStatus.PREPARED,
                True,
                refused(
                    NOT_ACCOUNTABLE,
                    officer="You prepared this report; another person, the financial officer, must certify it.",
                    **dict.fromkeys(
                        ("editor", "signatory"),
                        "Only the financial officer of the municipality can certify an accountability report.",
                    ),
                ),
            ),
            (
                "own, certified",
                OWN,
                AccountabilityStatus.CERTIFIED,
                False,
                refused(
                    NOT_ACCOUNTABLE,
                    officer="This report has been certified and can no longer be changed.",
                    **dict.fromkeys(
                        ("editor", "signatory"),
                        "Only the financial officer of the municipality can certify an accountability report.",
                    ),
                ),
            ),
            ("foreign", FOREIGN, AccountabilityStatus.PREPARED, False, refused(NOT_ACCOUNTABLE)),
        )
    ),
    Row(
        changes.can_request_change,
        "own grant",
        lambda u: (u, granted()),
        refused(
            NOT_ASKING,
            allowed=("signatory",),
            **dict.fromkeys(("editor", "officer"), "Only a signatory of the municipality may submit a change request."),
        ),
    ),
    Row(changes.can_request_change, "foreign grant", lambda u: (u, granted(FOREIGN)), refused(NOT_ASKING)),
    Row(
        changes.can_request_change,
        "own, not granted",
        lambda u: (u, application(status=Status.SUBMITTED)),
        refused(NOT_ASKING, **dict.fromkeys(MUNICIPAL, "A change can only be asked for a granted application.")),
    ),
    *four_eyes(
        reclaims.can_confirm_reclaim,
        Reclaim,
        only="Only an agency approver can confirm a reclaim.",
        own="You prepared this reclaim; another approver must confirm it.",
        done="This reclaim has already been confirmed.",
        done_state={"status": ReclaimStatus.CONFIRMED},
        open_state={"status": ReclaimStatus.PREPARED},
    ),
    # ministry and notifications
    Row(
        ministry.can_view_totals,
        "-",
        only_user,
        refused("Only the ministry and the agency can see the totals of the scheme.", allowed=(*AGENCY, "analyst")),
    ),
    *(
        Row(notifications.can_send_again, status, lambda u, s=status: (u, Delivery(status=s)), expect)
        for status, expect in (
            (
                DeliveryStatus.FAILED,
                refused("Only agency staff can send an e-mail again.", allowed=(*AGENCY, "superuser")),
            ),
            (
                DeliveryStatus.SENDING,
                refused("Only agency staff can send an e-mail again.", allowed=(*AGENCY, "superuser")),
            ),
            (
                DeliveryStatus.SENT,
                refused(
                    "Only agency staff can send an e-mail again.",
                    **dict.fromkeys(
                        (*AGENCY, "superuser"),
                        "Only a failed e-mail, or one whose sending was interrupted, can be sent again.",
                    ),
                ),
            ),
        )
    ),
]


def _name(check) -> str:
    return f"{check.__module__}.{check.__name__}"


CASES = [pytest.param(row, role, id=f"{_name(row.check)} [{row.situation}] {role}") for row in MATRIX for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_each_check_answers_each_role_as_the_matrix_says(row, role):
    who = user(role)
    allowed, reason = row.expect[role]

    with translation.override("en"):
        verdict = row.check(*row.arguments(who), **row.keywords)

    assert verdict == (allowed, reason % {"user": who} if "%(user)s" in reason else reason)


# --- completeness ---------------------------------------------------------------------------------------


def _verdict_functions() -> dict[str, ast.FunctionDef]:
    """Every function of the apps annotated to return a Verdict, by module and name."""
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and ast.unparse(node.returns or ast.Constant(None)) == "Verdict":
                    found[f"{module}.{node.name}"] = node
    return found


def _refusals(function: ast.FunctionDef) -> set[str]:
    """The messages of the function's `return False, _("...")` statements."""
    reasons = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            allowed, reason = node.value.elts
            if isinstance(allowed, ast.Constant) and allowed.value is False:
                reasons |= {
                    call.args[0].value
                    for call in ast.walk(reason)
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "_"
                }
    return reasons


def test_every_verdict_function_of_the_apps_has_rows_in_the_matrix():
    covered = {_name(row.check) for row in MATRIX}

    missing = set(_verdict_functions()) - covered

    assert not missing, f"permission checks without rows in tests/test_permission_matrix.py: {sorted(missing)}"


def test_every_refusal_of_every_check_is_expected_in_the_matrix():
    expected: dict[str, set[str]] = {}
    for row in MATRIX:
        expected.setdefault(_name(row.check), set()).update(
            reason for allowed, reason in row.expect.values() if not allowed
        )

    unexpected = {
        name: sorted(_refusals(function) - expected.get(name, set()))
        for name, function in _verdict_functions().items()
        if _refusals(function) - expected.get(name, set())
    }

    assert not unexpected, f"refusals no row of the matrix expects: {unexpected}"
