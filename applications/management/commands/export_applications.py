import csv
import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import AuditAction
from accounts.services import record_audit
from applications.selectors import application_rows, exchange_columns
from grants.models import Tranche


def _account() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Command(BaseCommand):
    help = "Export a tranche's submitted applications in the import format, one row per unit line."

    def add_arguments(self, parser):
        parser.add_argument("--tranche", required=True, help="Slug of the tranche, e.g. rha-2023.")
        parser.add_argument("file", type=Path, nargs="?", help="Where to write; standard output when left out.")

    def handle(self, *args, tranche: str, file: Path | None, **options):
        try:
            tranche_obj = Tranche.objects.get(slug=tranche)
        except Tranche.DoesNotExist:
            raise CommandError(f"No tranche {tranche!r}.") from None
        if file is None:
            self._write(self.stdout, tranche_obj)
        else:
            with open(file, "w", newline="", encoding="utf-8") as stream:
                self._write(stream, tranche_obj)
        # No agency user runs the command: the audit log names the operating system account that did.
        record_audit(
            action=AuditAction.EXPORT,
            actor_name=_account(),
            target=tranche_obj,
            detail=f"applications export (export_applications) to {file or 'standard output'}",
        )

    def _write(self, stream, tranche: Tranche) -> None:
        writer = csv.DictWriter(stream, fieldnames=exchange_columns(tranche=tranche), lineterminator="\n")
        writer.writeheader()
        writer.writerows(application_rows(tranche=tranche))
