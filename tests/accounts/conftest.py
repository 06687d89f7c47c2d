import pytest


@pytest.fixture
def axes(settings):
    """django-axes as in production: the rest of the suite runs without it (tests/conftest.py)."""
    settings.AXES_ENABLED = True
    return settings
