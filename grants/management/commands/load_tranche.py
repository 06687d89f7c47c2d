import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grants.services import load_tranche


class Command(BaseCommand):
    help = "Create or update a tranche with its windows, target groups and amendments from a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            tranche = load_tranche(data=data)
        except (OSError, json.JSONDecodeError, KeyError, ValidationError) as error:
            raise CommandError(f"{file}: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Loaded {tranche.slug}: {tranche.title}"))
