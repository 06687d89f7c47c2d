"""Fuzzing: schemathesis sends what the committed schema allows to every operation, as a municipal signatory and as
agency staff. No answer may be a server error, and every answer must be what the schema says: a documented status,
its content type and its body.

The examples are bounded (EXAMPLES per operation and role) and drawn deterministically, so a run takes the same
path each time; path parameters are random or, as often, the id of an object that exists, so that the fuzzing
reaches past the 404.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import issue_api_token
from allocation.models import Letter, LetterKind
from applications.models import Attachment
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.files import pdf_bytes
from tests.progress import granted, prepare

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"
EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi():
    """The whole Django stack, middleware included, inside the test's transaction.

    As Django's test client does, requests keep the test's database connection instead of closing it at their end.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _known_objects(signatory, assessor) -> dict[str, dict[str, list]]:
    """Ids that exist, by path prefix and parameter name: a draft with an attachment, a submitted application, a
    grant with its decision, a letter and a draft progress report, and a spare token of each user."""
    tranche = TrancheFactory()
    draft = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    content = ContentFile(pdf_bytes(), name="plan.pdf")
    attachment = Attachment(
        application=draft,
        kind="project_plan",
        original_name="plan.pdf",
        content_type="application/pdf",
        size=content.size,
        sha256="0" * 64,
        uploaded_by=signatory,
    )
    attachment.file.save("plan.pdf", content, save=False)
    attachment.save()
    submitted = ApplicationFactory(submitted=True, municipality=signatory.municipality, tranche=tranche)
    grant = granted(municipality=signatory.municipality.code)
    letter = Letter(application=grant, kind=LetterKind.OBJECTION_RECEIPT, issued_at=timezone.now())
    letter.html.save("brief.html", ContentFile(b"<p>Brief</p>"), save=False)
    letter.save()
    report = prepare(grant, signatory)
    applications = [draft.public_id, submitted.public_id, grant.public_id]
    return {
        "/applications/{public_id}": {"public_id": applications},
        "/applications/{application_public_id}": {"application_public_id": applications, "id": [attachment.pk]},
        "/decisions/": {"public_id": [grant.decision.public_id]},
        "/letters/": {"public_id": [letter.public_id]},
        "/progress-reports/": {"public_id": [report.public_id]},
        "/tranches/": {"slug": [tranche.slug, grant.tranche.slug]},
        "/tokens/": {"id": [issue_api_token(user=user, name="spare")[0].pk for user in (signatory, assessor)]},
    }


def _strategy(operation, known: dict[str, dict[str, list]]):
    """Random cases; or cases whose path parameters name objects that exist, and whose Idempotency-Key is new (a
    random key repeats, and a repeat with another body is refused before it reaches the change)."""
    names = {parameter.name for parameter in operation.path_parameters}
    ids = st.just(None)
    for prefix, values in known.items():
        if operation.path.startswith(f"/api/v1{prefix}") and names and names <= set(values):
            existing = st.fixed_dictionaries({name: st.sampled_from(values[name]) for name in names})
            ids = st.one_of(st.just(None), existing)
    keys = st.just(None)
    if any(parameter.name == "Idempotency-Key" for parameter in operation.headers):
        keys = st.one_of(st.just(None), st.uuids().map(lambda key: {"Idempotency-Key": str(key)}))
    return st.tuples(ids, keys).flatmap(
        lambda chosen: operation.as_strategy(path_parameters=chosen[0], headers=chosen[1])
    )


def _fuzz(strategy, app, token: str) -> None:
    """Send EXAMPLES cases of one operation as the token's user and check each answer; raises on the first failure."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case):
        response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=CHECKS)

    fuzz()


@pytest.mark.django_db
def test_no_operation_answers_a_server_error_or_outside_its_schema(wsgi):
    users = {"municipal": UserFactory(signatory=True), "agency": UserFactory(assessor=True)}
    known = _known_objects(users["municipal"], users["agency"])
    failures = []
    for result in schemathesis.openapi.from_path(SCHEMA).get_all_operations():
        operation = result.ok()
        for role, user in users.items():
            # A token of its own for each operation: revoking tokens is among the operations fuzzed.
            token = issue_api_token(user=user, name=f"fuzzing {operation.label}"[:100])[1]
            try:
                _fuzz(_strategy(operation, known), wsgi, token)
            except (Exception, BaseExceptionGroup) as error:
                # Every operation is fuzzed; the failures are reported together.
                failures.append(f"{operation.label} as {role}:\n{error}")
    assert not failures, "\n\n".join(failures)
