from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
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
        parser.add_argument(
            "--imported-by",
            help="Username of the agency user who imports; the status changes name them. Without it the audit log "
            "names the system actor 'import'.",
        )

    def handle(self, *args, tranche: str, file: Path, imported_by: str | None = None, **options):
        try:
            tranche_obj = Tranche.objects.get(slug=tranche)
        except Tranche.DoesNotExist:
            raise CommandError(f"No tranche {tranche!r}.") from None
        user = None
        if imported_by:
            user = User.objects.filter(username=imported_by).first()
            if user is None:
                raise CommandError(f"No user {imported_by!r}.")
        try:
            with open(file, newline="", encoding="utf-8-sig") as stream:
                count = import_applications(tranche=tranche_obj, stream=stream, source=file.name, user=user)
        except PermissionDenied as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"{file}: {error}") from error
        except ValidationError as error:
            for message in error.messages:
                self.stderr.write(message)
            raise CommandError(f"{file} rejected: {len(error.messages)} problem(s); nothing imported.") from error
        self.stdout.write(self.style.SUCCESS(f"Imported {count} applications into {tranche_obj.slug}."))
