"""Apply the retention periods of personal data now, as the nightly task does, and say what was done."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.retention import RetentionFailed, apply_retention, retention_rules


class Command(BaseCommand):
    help = (
        "Remove or anonymise personal data past its retention period (docs/privacy.md), as the nightly task does: "
        "one line per rule with its count. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--kind",
            action="append",
            dest="kinds",
            metavar="RULE",
            help="Apply only this rule; repeat for more. Default: every rule.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; change nothing.")

    def handle(self, *args, kinds=None, dry_run=False, **options):
        rules = {rule.name: rule for rule in retention_rules()}
        unknown = sorted(set(kinds or ()) - rules.keys())
        if unknown:
            raise CommandError(f"unknown rule: {', '.join(unknown)}; the rules are {', '.join(rules)}")
        try:
            done = apply_retention(now=timezone.now(), kinds=kinds, dry_run=dry_run)
        except RetentionFailed as error:
            self._report(done=error.done, rules=rules, dry_run=dry_run)
            raise CommandError(f"{error}; see the log") from None
        self._report(done=done, rules=rules, dry_run=dry_run)

    def _report(self, *, done, rules, dry_run):
        for name, count in done.items():
            verb = f"would be {rules[name].action}" if dry_run else rules[name].action
            self.stdout.write(f"{name}: {count} {verb}")
