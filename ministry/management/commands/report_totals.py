import json
from dataclasses import asdict
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from grants.models import Tranche
from ministry.selectors import tranche_totals


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


class Command(BaseCommand):
    help = "Print a tranche's applied and granted totals; amounts in euros as strings with two decimals."

    def add_arguments(self, parser):
        parser.add_argument("--tranche", required=True, help="Slug of the tranche, e.g. rha-2023.")
        parser.add_argument("--format", choices=["json", "text"], default="json")

    def handle(self, *args, tranche: str, format: str, **options):
        try:
            tranche_obj = Tranche.objects.get(slug=tranche)
        except Tranche.DoesNotExist:
            raise CommandError(f"No tranche {tranche!r}.") from None
        totals = {key: _plain(value) for key, value in asdict(tranche_totals(tranche=tranche_obj)).items()}
        if format == "json":
            self.stdout.write(json.dumps({"tranche": tranche_obj.slug, **totals}, indent=2, ensure_ascii=False))
            return
        for key, value in totals.items():
            self.stdout.write(f"{key}: {value}")
