import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.eherkenning import MANDATE_NAMES
from demo.loading import DEMO_PASSWORD, DEMO_TOTP_SECRET, DEMO_USERS, load_demo


class Command(BaseCommand):
    help = (
        "Load reference data, the tranche files, an open demo tranche, demo users and fictitious demo "
        "applications. Safe to run twice. Refuses to run with DEBUG off unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help=f"Run even with DEBUG off. The demo users all share the password {DEMO_PASSWORD!r}.",
        )

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like a real installation, and the demo users share a published "
                "password. Use --force if you really want demo data here."
            )
        summary = load_demo()
        tranche = summary.tranche
        closes = timezone.localtime(tranche.closes_at_in_force(timezone.now())).strftime("%d-%m-%Y %H:%M")
        base_url = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"  Tranche files: {', '.join(t.slug for t in summary.tranches_loaded) or '-'}")
        self.stdout.write(f"  Demo tranche:  {tranche.title} ({tranche.slug}), open until {closes} Europe/Amsterdam")
        self.stdout.write(f"  Applications:  {summary.applications_created} created")
        self.stdout.write("")
        self.stdout.write(f"  Portal:       {base_url}/")
        self.stdout.write(f"  Back office:  {base_url}/admin/")
        self.stdout.write("")
        if settings.EHERKENNING_MOCK:
            self.stdout.write("  Municipalities log in with eHerkenning: the login page sends you to a test broker,")
            self.stdout.write("  where you choose a municipality (e.g. Utrecht), a mandate and a name (the same name")
            self.stdout.write("  is the same user next time). Each mandate gives a role:")
            for role, mandate in MANDATE_NAMES.items():
                self.stdout.write(f"    {mandate}: {role.label}")
            self.stdout.write("")
        self.stdout.write(f"  Demo logins, all with password {DEMO_PASSWORD}:")
        for user in DEMO_USERS:
            where = f", {user.municipality_code}" if user.municipality_code else ""
            self.stdout.write(f"    {user.username:<25} {user.role.label}{where}")
        self.stdout.write(f"  Agency and ministry users add this key to an authenticator app: {DEMO_TOTP_SECRET}")
