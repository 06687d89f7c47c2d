import re

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_api_documentation_loads_swagger_ui_from_our_own_static_files(client):
    client.force_login(UserFactory(analyst=True))
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn.jsdelivr.net" not in page


def test_anonymous_visitors_are_sent_to_the_login_for_the_documentation(client):
    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_anonymous_visitors_get_no_schema(client):
    assert client.get("/api/schema/").status_code == 403


def test_the_documentation_page_loads_its_start_script_as_a_file_not_inline(client):
    client.force_login(UserFactory(analyst=True))
    page = client.get("/api/docs/").content.decode()

    [script_url] = re.findall(r'<script src="([^"]*\?script=[^"]*)"', page)
    script = client.get(script_url.replace("&amp;", "&"))
    assert "<script>" not in page
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_a_logged_in_user_reads_the_schema(client):
    client.force_login(UserFactory(analyst=True))

    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert "/api/v1/totals/" in response.content.decode()
