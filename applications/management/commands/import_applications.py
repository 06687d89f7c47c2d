from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from applications.importing import import_applications
from grants.models import Tranche


class Command(BaseCommand):
    help = (
        "Import submitted applications of a tranche from CSV, one row per unit line, as eligible. "
        "All or nothing: one bad row rejects the file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tranche", required=True, help="Slug of the tranche, e.g. rha-2023.")
        parser.add_argument("file", type=Path)

    def handle(self, *args, tranche: str, file: Path, **options):
        try:
            tranche_obj = Tranche.objects.get(slug=tranche)
        except Tranche.DoesNotExist:
            raise CommandError(f"No tranche {tranche!r}.") from None
        try:
            with open(file, newline="", encoding="utf-8-sig") as stream:
                count = import_applications(tranche=tranche_obj, stream=stream, source=file.name)
        except OSError as error:
            raise CommandError(f"{file}: {error}") from error
        except ValidationError as error:
            for message in error.messages:
                self.stderr.write(message)
            raise CommandError(f"{file} rejected: {len(error.messages)} problem(s); nothing imported.") from error
        self.stdout.write(self.style.SUCCESS(f"Imported {count} applications into {tranche_obj.slug}."))
