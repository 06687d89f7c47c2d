from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grants.services import DATA_DIR, load_rent_limits


class Command(BaseCommand):
    help = "Create or update the yearly rent limits from grants/data/rent_limits.json (or the file given)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?", default=DATA_DIR / "rent_limits.json")

    def handle(self, *args, file: Path, **options):
        try:
            count = load_rent_limits(path=file)
        except (OSError, ValueError, ArithmeticError, KeyError, ValidationError) as error:
            raise CommandError(f"{file}: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Loaded rent limits for {count} years from {file}."))
