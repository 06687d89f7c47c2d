"""Factories with traits, e.g. ApplicationFactory(submitted=True, municipality__code="GM0363")."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from applications.models import Application, Permanence, Status, StatusChange, UnitLine
from grants.models import HousingType, Municipality, Scheme, TargetGroup, Tranche, TrancheTargetGroup, Window


def municipality(code="GM0344"):
    return Municipality.objects.get(code=code)


class MunicipalityFactory(factory.django.DjangoModelFactory):
    """Reference municipalities are loaded once per test run; this finds one by code."""

    class Meta:
        model = Municipality
        django_get_or_create = ("code",)

    code = "GM0344"
    name = factory.LazyAttribute(lambda o: Municipality.objects.get(code=o.code).name)
    province = factory.LazyAttribute(lambda o: Municipality.objects.get(code=o.code).province)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.nl")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")
    role = Role.MUNICIPAL_EDITOR
    municipality = factory.SubFactory(MunicipalityFactory)

    class Params:
        signatory = factory.Trait(role=Role.MUNICIPAL_SIGNATORY)
        assessor = factory.Trait(role=Role.AGENCY_ASSESSOR, municipality=None, is_staff=True)
        approver = factory.Trait(role=Role.AGENCY_APPROVER, municipality=None, is_staff=True)
        analyst = factory.Trait(role=Role.MINISTRY_ANALYST, municipality=None)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def pass_second_factor(client, user) -> TOTPDevice:
    """Mark the client's session as verified by the user's authenticator app, as the second-factor page does."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="default", defaults={"confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


class SchemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scheme
        django_get_or_create = ("code",)

    code = "rha"
    name = "Regeling huisvesting aandachtsgroepen"


class TrancheFactory(factory.django.DjangoModelFactory):
    """An open tranche: opened yesterday, closes in thirty days."""

    class Meta:
        model = Tranche
        skip_postgeneration_save = True

    scheme = factory.SubFactory(SchemeFactory)
    number = factory.Sequence(lambda n: n + 10)
    year = 2026
    slug = factory.Sequence(lambda n: f"test-{n}")
    title = factory.Sequence(lambda n: f"Testtranche {n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    budget_ceiling = Decimal("1000000.00")
    max_per_permanent_unit = Decimal("7000.00")
    max_per_flexible_unit = Decimal("7000.00")
    receipt_prefix = factory.Sequence(lambda n: f"TST{n}")

    @factory.post_generation
    def groups(obj, create, extracted, **kwargs):
        """Every national group once, plus one window open to all of them."""
        if not create:
            return
        groups = TrancheTargetGroup.objects.bulk_create(
            TrancheTargetGroup(tranche=obj, code=group.code, name=group.name, national_group=group)
            for group in TargetGroup.objects.all()
        )
        window = Window.objects.create(tranche=obj, code="all", name="Alle groepen", budget_ceiling=obj.budget_ceiling)
        window.eligible_target_groups.set(groups)


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application
        skip_postgeneration_save = True

    municipality = factory.SubFactory(MunicipalityFactory)
    tranche = factory.SubFactory(TrancheFactory)
    window = factory.LazyAttribute(lambda o: o.tranche.windows.first())
    project_name = factory.Sequence(lambda n: f"Project {n}")
    location = "Stationsstraat 1"

    class Params:
        submitted = factory.Trait(
            status=Status.SUBMITTED,
            receipt_sequence=factory.Sequence(lambda n: n + 1),
            reference=factory.LazyAttribute(lambda o: f"{o.tranche.receipt_prefix}-{o.receipt_sequence:04d}"),
            received_at=factory.LazyFunction(timezone.now),
            completed_at=factory.LazyAttribute(lambda o: o.received_at),
            # Without information requests the factory cannot tell the agency's time from the municipality's:
            # it counts all time until completion as the municipality's own.
            ranks_at=factory.LazyAttribute(lambda o: o.completed_at),
        )
        eligible = factory.Trait(submitted=True, status=Status.ELIGIBLE)

    @factory.post_generation
    def lines(obj, create, extracted, **kwargs):
        """lines=[(group_code, units, permanence), ...]; default one line of 10 permanent homeless units."""
        if not create:
            return
        for group_code, units, permanence in extracted if extracted is not None else [("homeless", 10, "permanent")]:
            UnitLineFactory(application=obj, group_code=group_code, units=units, permanence=permanence)

    @factory.post_generation
    def audit(obj, create, extracted, **kwargs):
        if create:
            StatusChange.objects.create(application=obj, to_status=obj.status, at=timezone.now())


class UnitLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitLine

    class Params:
        group_code = "homeless"

    application = factory.SubFactory(ApplicationFactory)
    target_group = factory.LazyAttribute(lambda o: o.application.tranche.target_groups.get(code=o.group_code))
    housing_type = factory.LazyFunction(lambda: HousingType.objects.get(code="regular"))
    permanence = Permanence.PERMANENT
    units = 10
    requested_amount = factory.LazyAttribute(
        lambda o: o.application.tranche.max_per_unit(permanence=o.permanence, housing_type=o.housing_type) * o.units
    )
