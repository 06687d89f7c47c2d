import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grants.services import load_tranche


def _one_line(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())


class Command(BaseCommand):
    help = "Create or update a tranche with its windows, target groups and amendments from a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            tranche = load_tranche(data=data)
        except KeyError as error:
            raise CommandError(f"{file}: {error.args[0]}: this field is missing") from error
        except ValidationError as error:
            raise CommandError(f"{file}: {_one_line(error)}") from error
        except (OSError, json.JSONDecodeError, TypeError, ValueError) as error:
            raise CommandError(f"{file}: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Loaded {tranche.slug}: {tranche.title}"))
