from django.core.management.base import BaseCommand

from accounts.services import AGENCY_GROUP, sync_agency_group


class Command(BaseCommand):
    help = f"Create the {AGENCY_GROUP} group or reset its back-office permissions. Run after migrate."

    def handle(self, *args, **options):
        group = sync_agency_group()
        self.stdout.write(self.style.SUCCESS(f"{group.name}: {group.permissions.count()} permissions."))
