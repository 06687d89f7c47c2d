from django.core.management.base import BaseCommand

from grants.services import load_reference_data


class Command(BaseCommand):
    help = "Load or update municipalities, national target groups, housing types and rent limits from grants/data."

    def handle(self, *args, **options):
        load_reference_data()
        self.stdout.write(self.style.SUCCESS("Reference data loaded."))
