"""The committed OpenAPI schema (docs/api/openapi.yaml) is the one the code generates."""

from pathlib import Path

from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"
REGENERATE = "DEBUG=1 python manage.py spectacular --lang en --validate --fail-on-warn --file docs/api/openapi.yaml"


def test_the_committed_schema_is_what_the_code_generates(tmp_path):
    generated = tmp_path / "openapi.yaml"

    call_command("spectacular", lang="en", validate=True, fail_on_warn=True, file=str(generated))

    assert generated.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8"), (
        f"docs/api/openapi.yaml differs from the API in the code; if the change is meant, regenerate it: {REGENERATE}"
    )
