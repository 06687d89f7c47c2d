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
