"""Fictitious demo data: demo users, an open demo tranche and a few applications in several statuses.

Every application is made and moved through the services, so it carries the audit records real use leaves.
Safe to run twice: reference data, tranches and users are updated in place, and a demo application that
exists already is left as it is.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from weasyprint import HTML

from accounts.models import AGENCY_ROLES, Role, User
from accounts.services import sync_agency_group
from allocation.services import confirm_allocation, confirm_external_seed, enter_external_seed, prepare_allocation
from applications import services
from applications.importing import import_applications
from applications.models import Application, AttachmentKind, Construction, Permanence
from grants.models import HousingType, Municipality, TargetGroup, Tranche
from grants.services import TRANCHES_DIR, load_reference_data, load_tranche
from ministry.services import load_published_figures

from . import published as published_demo

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DEMO_PASSWORD = "thuisfonds-demo"
# The authenticator key of every demo staff user (base32, as an authenticator app takes it): as public as the
# password, so that the demo's second factor can be tried.
DEMO_TOTP_SECRET = "THUISFONDSDEMOTOTPTHUISFONDSDEMO"
DEMO_TRANCHE_SLUG = "rha-demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    description: str
    municipality_code: str | None = None


DEMO_USERS = (
    DemoUser("utrecht-redacteur", Role.MUNICIPAL_EDITOR, "Redacteur Utrecht", "GM0344"),
    DemoUser("utrecht-ondertekenaar", Role.MUNICIPAL_SIGNATORY, "Ondertekenaar Utrecht", "GM0344"),
    DemoUser("amsterdam-ondertekenaar", Role.MUNICIPAL_SIGNATORY, "Ondertekenaar Amsterdam", "GM0363"),
    # Almere holds grants of the published 2022 tranche: its users walk a grant's life after the decision.
    DemoUser("almere-ondertekenaar", Role.MUNICIPAL_SIGNATORY, "Ondertekenaar Almere", "GM0034"),
    DemoUser("almere-controller", Role.MUNICIPAL_FINANCIAL_OFFICER, "Controller Almere", "GM0034"),
    DemoUser("rvo-beoordelaar", Role.AGENCY_ASSESSOR, "Beoordelaar RVO"),
    DemoUser("rvo-goedkeurder", Role.AGENCY_APPROVER, "Goedkeurder RVO"),
    DemoUser("bzk-analist", Role.MINISTRY_ANALYST, "Analist BZK"),
)


@dataclass(frozen=True)
class DemoLine:
    group: str
    housing_type: str
    permanence: str
    units: int
    self_contained: bool = True
    common_room: bool = False
    construction: str = Construction.NEW_BUILD
    rent: Decimal | None = None


# One step moves an application on: (service, who acts, reason).
Step = tuple[Callable[..., Application], str, str]
SUBMIT: Step = (services.submit_application, "signatory", "")
REVIEW: Step = (services.start_review, "assessor", "")
ELIGIBLE: Step = (services.mark_eligible, "assessor", "")


@dataclass(frozen=True)
class DemoApplication:
    municipality_code: str
    project_name: str
    location: str
    description: str
    lines: tuple[DemoLine, ...]
    steps: tuple[Step, ...] = ()
    with_project_plan: bool = False
    months_to_start: int = 6
    months_to_complete: int = 18


DEMO_APPLICATIONS = (
    DemoApplication(
        "GM0344",
        "Flexwoningen Kanaleneiland (demo)",
        "Europalaan, Utrecht",
        "Fictief: 30 verplaatsbare woningen op een braakliggend kavel, voor statushouders en dakloze mensen.",
        (
            DemoLine("status_holders", "regular", Permanence.FLEXIBLE, 24, rent=Decimal("610.00")),
            DemoLine("homeless", "regular", Permanence.FLEXIBLE, 6, rent=Decimal("610.00")),
        ),
    ),
    DemoApplication(
        "GM0344",
        "Geclusterd wonen Zuilen (demo)",
        "Amsterdamsestraatweg, Utrecht",
        "Fictief: transformatie van een kantoorpand tot geclusterde woningen met een gemeenschappelijke ruimte.",
        (
            DemoLine(
                "leaving_institution",
                "clustered",
                Permanence.PERMANENT,
                18,
                common_room=True,
                construction=Construction.TRANSFORMATION,
                rent=Decimal("585.00"),
            ),
            DemoLine(
                "urgency",
                "clustered",
                Permanence.PERMANENT,
                12,
                common_room=True,
                construction=Construction.TRANSFORMATION,
                rent=Decimal("585.00"),
            ),
        ),
        steps=(SUBMIT,),
        with_project_plan=True,
    ),
    DemoApplication(
        "GM0344",
        "Skaeve huse Lage Weide (demo)",
        "Lage Weide, Utrecht",
        "Fictief: acht vrijstaande woningen voor mensen die elders niet goed kunnen wonen.",
        (DemoLine("homeless", "regular", Permanence.PERMANENT, 8, rent=Decimal("560.00")),),
        steps=(
            SUBMIT,
            REVIEW,
            (
                services.request_information,
                "assessor",
                "Het raadsbesluit over de locatie ontbreekt. Stuur het mee, dan beoordelen we de aanvraag verder.",
            ),
        ),
    ),
    DemoApplication(
        "GM0363",
        "Studentenkamers Sloterdijk (demo)",
        "Sloterdijk, Amsterdam",
        "Fictief: 120 verplaatsbare onzelfstandige studentenkamers met gedeelde woonkamers.",
        (
            DemoLine(
                "students",
                "room",
                Permanence.FLEXIBLE,
                120,
                self_contained=False,
                common_room=True,
                rent=Decimal("455.00"),
            ),
        ),
        steps=(SUBMIT, REVIEW, ELIGIBLE),
        with_project_plan=True,
    ),
    DemoApplication(
        "GM0363",
        "Flexwoningen Buiksloterham (demo)",
        "Buiksloterham, Amsterdam",
        "Fictief: tijdelijke woningen voor arbeidsmigranten en ontheemden uit Oekraïne.",
        (
            DemoLine("labour_migrants", "regular", Permanence.FLEXIBLE, 40, rent=Decimal("620.00")),
            DemoLine("displaced_ukraine", "regular", Permanence.FLEXIBLE, 20, rent=Decimal("620.00")),
        ),
        steps=(SUBMIT, REVIEW),
    ),
    DemoApplication(
        "GM0363",
        "Woonwagenstandplaatsen Noord (demo)",
        "Amsterdam-Noord",
        "Fictief: vernieuwing van tien bestaande standplaatsen.",
        (DemoLine("caravan_dwellers", "caravan_pitch", Permanence.PERMANENT, 10, rent=Decimal("350.00")),),
        steps=(
            SUBMIT,
            REVIEW,
            (
                services.mark_ineligible,
                "assessor",
                "Vernieuwing van bestaande standplaatsen voegt geen eenheden toe aan de woningvoorraad.",
            ),
        ),
    ),
)


@dataclass
class DemoSummary:
    tranche: Tranche
    tranches_loaded: list[Tranche] = field(default_factory=list)
    applications_created: int = 0


def _amsterdam(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=AMSTERDAM)


def demo_tranche_data(*, now: datetime, existing: Tranche | None) -> dict:
    """The demo tranche in the tranche file format: open since yesterday 09:00, closing in six weeks at 17:00.

    A demo tranche that exists keeps its opening, so the receipts of its applications stay inside the window;
    its closing moves on only when fewer than seven days are left.
    """
    today = timezone.localdate(now, AMSTERDAM)
    opens_at = existing.opens_at if existing else _amsterdam(today - timedelta(days=1), time(9))
    if existing and existing.closes_at > now + timedelta(days=7):
        closes_at = existing.closes_at
    else:
        closes_at = _amsterdam(today + timedelta(weeks=6), time(17))
    groups = [{"code": g.code, "name": g.name, "national_group": g.code} for g in TargetGroup.objects.all()]
    return {
        "scheme": {"code": "demo", "name": "Demoregeling (fictief)"},
        "slug": DEMO_TRANCHE_SLUG,
        "number": 99,
        "year": today.year,
        "title": "Demotranche RHA (fictief)",
        "source": "Fictieve tranche voor demonstratie en training; geen echte openstelling.",
        "opens_at": opens_at.isoformat(),
        "closes_at": closes_at.isoformat(),
        "budget_ceiling": "30000000.00",
        "max_per_permanent_unit": "8500.00",
        "max_per_flexible_unit": "7000.00",
        "max_per_municipality": "2000000.00",
        "min_units_per_application": 1,
        "ranking_instant": "completion",
        "last_application_rule": "skip",
        "receipt_prefix": "RHA-DEMO",
        "required_attachments": [],
        "target_groups": groups,
        "windows": [
            {
                "code": "all",
                "name": "Alle aandachtsgroepen",
                "budget_ceiling": "30000000.00",
                "ranking_method": "first_come_same_day_lottery",
                "target_groups": [group["code"] for group in groups],
            }
        ],
    }


def _sync_users() -> dict[str, User]:
    agency = sync_agency_group()
    codes = {spec.municipality_code for spec in DEMO_USERS if spec.municipality_code}
    municipalities = {m.code: m for m in Municipality.objects.filter(code__in=codes)}
    users = {}
    for spec in DEMO_USERS:
        is_agency = spec.role in AGENCY_ROLES
        user, _ = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "role": spec.role,
                "municipality": municipalities[spec.municipality_code] if spec.municipality_code else None,
                "first_name": "Demo",
                "last_name": spec.description,
                "email": f"{spec.username}@demo.thuisfonds.example",
                "is_staff": is_agency,
                "is_active": True,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        if is_agency:
            user.groups.add(agency)
        if user.needs_second_factor:
            TOTPDevice.objects.update_or_create(
                user=user,
                name="default",
                defaults={"key": base64.b32decode(DEMO_TOTP_SECRET).hex(), "confirmed": True},
            )
        users[spec.username] = user
    return users


def _project_plan_pdf(project_name: str) -> SimpleUploadedFile:
    content = HTML(string=f"<h1>Projectplan</h1><p>{project_name}</p><p>Fictief document voor de demo.</p>")
    return SimpleUploadedFile("projectplan.pdf", content.write_pdf(), content_type="application/pdf")


def _create_application(spec: DemoApplication, *, tranche: Tranche, actors: dict[str, User], today: date) -> None:
    editor = actors["editor"]
    application = services.create_application(
        user=editor,
        tranche=tranche,
        window=tranche.windows.get(code="all"),
        project_name=spec.project_name,
        location=spec.location,
        description=spec.description,
        planned_start=today + timedelta(days=30 * spec.months_to_start),
        planned_completion=today + timedelta(days=30 * spec.months_to_complete),
    )
    Application.objects.filter(pk=application.pk).update(is_demo=True)
    groups = {group.code: group for group in tranche.target_groups.all()}
    housing_types = {housing_type.code: housing_type for housing_type in HousingType.objects.all()}
    services.save_unit_lines(
        application=application,
        user=editor,
        lines=[
            services.UnitLineData(
                target_group=groups[line.group],
                housing_type=housing_types[line.housing_type],
                permanence=line.permanence,
                units=line.units,
                self_contained=line.self_contained,
                common_room=line.common_room,
                construction=line.construction,
                planned_monthly_rent=line.rent,
            )
            for line in spec.lines
        ],
    )
    if spec.with_project_plan:
        services.add_attachment(
            application=application,
            user=editor,
            kind=AttachmentKind.PROJECT_PLAN,
            uploaded_file=_project_plan_pdf(spec.project_name),
        )
    for service, actor, reason in spec.steps:
        arguments = {"reason": reason} if reason else {}
        application = service(application=application, user=actors[actor], **arguments)


@transaction.atomic
def load_demo() -> DemoSummary:
    now = timezone.now()
    load_reference_data()
    load_published_figures()
    loaded = [
        load_tranche(data=json.loads(path.read_text(encoding="utf-8"))) for path in sorted(TRANCHES_DIR.glob("*.json"))
    ]
    existing = Tranche.objects.filter(slug=DEMO_TRANCHE_SLUG).first()
    tranche = load_tranche(data=demo_tranche_data(now=now, existing=existing))
    users = _sync_users()
    summary = DemoSummary(tranche=tranche, tranches_loaded=loaded)
    today = timezone.localdate(now, AMSTERDAM)
    for spec in DEMO_APPLICATIONS:
        if Application.objects.filter(
            tranche=tranche, municipality__code=spec.municipality_code, project_name=spec.project_name, is_demo=True
        ).exists():
            continue
        municipal = [u for u in users.values() if u.municipality and u.municipality.code == spec.municipality_code]
        signatory = next(u for u in municipal if u.role == Role.MUNICIPAL_SIGNATORY)
        editor = next((u for u in municipal if u.role == Role.MUNICIPAL_EDITOR), signatory)
        actors = {"editor": editor, "signatory": signatory, "assessor": users["rvo-beoordelaar"]}
        _create_application(spec, tranche=tranche, actors=actors, today=today)
        summary.applications_created += 1
    summary.applications_created += _load_published_outcomes(users)
    logger.info("demo loaded: %s applications created", summary.applications_created)
    return summary


# --- published outcomes ---------------------------------------------------------------------------------


def _published_rows(tranche: Tranche) -> list[dict[str, str]]:
    codes = list(Municipality.objects.values_list("code", flat=True))
    return published_demo.rows(published_demo.PUBLISHED_TRANCHES[tranche.slug], municipality_codes=codes)


# The RHA 2024 student round has no published outcome: the two student projects (205 rooms, € 900,000) that the
# progress letter of June 2024 reports were granted within the Woningbouwimpuls, another scheme. They are a
# published figure (ministry/data/published_figures.json), never applications of this scheme.
PUBLISHED_OUTCOMES = {
    # tranche slug: (instant of the allocation preview, instant of its confirmation, lottery seed); each some
    # weeks after the tranche closed.
    "rha-2021": (datetime(2022, 1, 17, 10, tzinfo=AMSTERDAM), datetime(2022, 1, 24, 14, tzinfo=AMSTERDAM), 20211231),
    "rha-2022": (datetime(2022, 12, 12, 10, tzinfo=AMSTERDAM), datetime(2022, 12, 19, 14, tzinfo=AMSTERDAM), 20221128),
    "rha-2023": (datetime(2023, 9, 4, 10, tzinfo=AMSTERDAM), datetime(2023, 9, 11, 14, tzinfo=AMSTERDAM), 20230707),
}


def _load_published_outcomes(users: dict[str, User]) -> int:
    """Fictitious applications whose allocation gives the published totals; returns how many were made.

    They go through the real import, a preview by the assessor and a confirmation by the approver. Letters
    are made when first downloaded: rendering some hundred PDFs would hold up the start of the service.
    """
    created = 0
    for slug, (prepared_at, confirmed_at, seed) in PUBLISHED_OUTCOMES.items():
        tranche = Tranche.objects.get(slug=slug)
        if tranche.applications.exists():
            continue
        rows = _published_rows(tranche)
        stream = io.StringIO()
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        stream.seek(0)
        created += import_applications(tranche=tranche, stream=stream, source="fictieve demodata")
        tranche.applications.update(is_demo=True)
        # The documented seeds keep the published outcomes: sealed as an external draw, with four eyes.
        assessor, approver = users["rvo-beoordelaar"], users["rvo-goedkeurder"]
        reference = "demo: vastgelegde startwaarde (demo/loading.py)"
        enter_external_seed(tranche=tranche, user=assessor, seed=seed, reference=reference, now=prepared_at)
        confirm_external_seed(tranche=tranche, user=approver, seed=seed, now=prepared_at)
        run = prepare_allocation(tranche=tranche, user=assessor, now=prepared_at)
        confirm_allocation(run=run, user=approver, now=confirmed_at, generate_letters=False)
    return created
