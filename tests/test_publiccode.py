"""publiccode.yml parses and holds what the standard requires, and agrees with the licence, the changelog and the
package version."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = {"web", "windows", "mac", "linux", "ios", "android"}
DEVELOPMENT_STATUSES = {"concept", "development", "beta", "stable", "obsolete"}
SOFTWARE_TYPES = {
    "standalone/mobile",
    "standalone/iot",
    "standalone/desktop",
    "standalone/web",
    "standalone/backend",
    "standalone/other",
    "addon",
    "library",
    "configurationFiles",
}
MAINTENANCE_TYPES = {"internal", "contract", "community", "none"}


@pytest.fixture(scope="module")
def publiccode() -> dict:
    # The standard asks for YAML 1.2; the safe loader reads the subset used here the same way.
    return yaml.safe_load((ROOT / "publiccode.yml").read_text(encoding="utf-8"))


def test_the_mandatory_keys_are_present_and_valid(publiccode):
    assert publiccode["publiccodeYmlVersion"] == "0.4"
    assert publiccode["name"] == "Thuisfonds"
    assert re.fullmatch(r"https://\S+", publiccode["url"])
    assert set(publiccode["platforms"]) <= PLATFORMS
    assert publiccode["categories"] and all(re.fullmatch(r"[a-z]+(-[a-z]+)*", c) for c in publiccode["categories"])
    assert publiccode["developmentStatus"] in DEVELOPMENT_STATUSES
    assert publiccode["softwareType"] in SOFTWARE_TYPES


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_description_follows_the_length_limits_in_dutch_and_english(publiccode, language):
    description = publiccode["description"][language]

    assert 0 < len(description["shortDescription"]) <= 150
    assert 150 <= len(description["longDescription"]) <= 10000
    assert description["features"]


def test_the_licence_is_the_eupl_and_the_licence_file_holds_its_text(publiccode):
    assert publiccode["legal"]["license"] == "EUPL-1.2"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2\n")
    assert "15.Applicable Law" in text and "Appendix" in text


def test_maintenance_has_its_contacts(publiccode):
    maintenance = publiccode["maintenance"]

    assert maintenance["type"] in MAINTENANCE_TYPES
    if maintenance["type"] in {"internal", "community"}:
        assert all(contact["name"] for contact in maintenance["contacts"])


def test_the_languages_are_those_the_service_offers(publiccode):
    localisation = publiccode["localisation"]

    assert localisation["localisationReady"] is True
    assert localisation["availableLanguages"] == [code for code, _ in settings.LANGUAGES]
    assert set(publiccode["description"]) == set(localisation["availableLanguages"])


def test_it_depends_on_postgresql_and_redis(publiccode):
    assert [dependency["name"] for dependency in publiccode["dependsOn"]["open"]] == ["PostgreSQL", "Redis"]


def test_the_version_agrees_with_the_package_and_the_changelog(publiccode):
    package = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    latest = re.search(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\S+)$", changelog, re.MULTILINE)

    assert publiccode["softwareVersion"] == package == latest["version"]
    assert latest["date"] == "Unreleased" or latest["date"] == publiccode["releaseDate"]
    assert date.fromisoformat(publiccode["releaseDate"])
