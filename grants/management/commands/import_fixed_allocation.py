import csv
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grants.models import Tranche
from grants.services import import_fixed_allocation

COLUMNS = {"municipality_code", "amount"}


class Command(BaseCommand):
    help = (
        "Import the amounts per municipality of a tranche without a call from a CSV file with the columns "
        "municipality_code,amount and optionally units. Every row is imported, or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--tranche", required=True, help="Slug of the tranche, e.g. rha-2020.")
        parser.add_argument("--publication", required=True, help='Publication of the annex, e.g. "Stcrt. 2020, 58877".')

    def handle(self, *args, file: Path, tranche: str, publication: str, **options):
        try:
            tranche_obj = Tranche.objects.get(slug=tranche)
        except Tranche.DoesNotExist:
            raise CommandError(f"No tranche with slug {tranche!r}.") from None
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = COLUMNS - set(reader.fieldnames or [])
                if missing:
                    raise CommandError(f"{file}: missing column(s) {', '.join(sorted(missing))}")
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"{file}: {error}") from error
        try:
            allocations = import_fixed_allocation(tranche=tranche_obj, rows=rows, publication_reference=publication)
        except ValidationError as error:
            raise CommandError(f"{file}: nothing imported.\n" + "\n".join(error.messages)) from error
        total = sum(allocation.amount for allocation in allocations)
        self.stdout.write(
            self.style.SUCCESS(f"Imported {len(allocations)} municipalities for {tranche_obj.slug}, total € {total}.")
        )
