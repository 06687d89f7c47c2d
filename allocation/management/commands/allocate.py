import getpass
import json
from decimal import Decimal
from types import SimpleNamespace

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from allocation import permissions, selectors
from allocation.engine import SHORT_OF_BUDGET, passing_skipped
from allocation.models import AllocationRun, RunKind, RunStatus
from allocation.reserve import confirm_supplementary, prepare_supplementary, preview_supplementary
from allocation.services import (
    confirm_allocation,
    confirm_external_seed,
    enter_external_seed,
    prepare_allocation,
    preview_allocation,
)
from grants.models import Municipality, Tranche


def _euro(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _account() -> str:
    """The operating system account running the command, recorded with a preview that names no agency user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Command(BaseCommand):
    help = (
        "Rank and allocate a tranche (or one window) with its sealed lottery seed and print the preview; every "
        "preview is recorded. With --prepared-by the preview is stored; with --confirm an approver confirms it at "
        "once and the decisions are issued. --seed seals the seed of an external draw first. Once the tranche has "
        "a confirmed allocation, the command without --window serves the reserve list with the budget left (a "
        "supplementary run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tranche", required=True, help="Slug of the tranche, e.g. rha-2023.")
        parser.add_argument("--window", help="Code of one window; all windows when left out.")
        parser.add_argument(
            "--seed",
            type=int,
            help=(
                "Seed of an external draw, sealed before the preview: --prepared-by enters it, --approved-by "
                "confirms it; needs --seed-reference. Refused once the tranche's seed is sealed."
            ),
        )
        parser.add_argument("--seed-reference", help="Where the external draw was made, e.g. the notary's deed.")
        parser.add_argument("--prepared-by", help="Username of the agency user who prepares the run.")
        parser.add_argument("--confirm", action="store_true", help="Confirm the run (needs --approved-by).")
        parser.add_argument("--approved-by", help="Username of the approver who confirms; not the preparer.")
        parser.add_argument("--format", choices=["text", "json"], default="text", help="How to print the preview.")

    def handle(self, *args, **options):
        tranche = self._tranche(options["tranche"])
        window = self._window(tranche, options["window"])
        seed = options["seed"]
        if options["confirm"] and not (options["prepared_by"] and options["approved_by"]):
            raise CommandError("--confirm needs --prepared-by and --approved-by.")
        if seed is not None:
            self._check_external_seed(tranche, options)
        preparer = self._user(options["prepared_by"]) if options["prepared_by"] else None
        approver = self._user(options["approved_by"]) if options["approved_by"] else None
        if options["confirm"]:
            if approver.pk == preparer.pk:
                raise CommandError("The approver cannot be the one who prepared the run (four eyes).")
            allowed, reason = permissions.can_confirm_allocation(approver, AllocationRun(prepared_by=preparer))
            if not allowed:
                raise CommandError(reason)
        # After a confirmed allocation only the reserve list is left to serve, with the budget that came free.
        reserve_list = (
            window is None
            and AllocationRun.objects.filter(tranche=tranche, kind=RunKind.INITIAL, status=RunStatus.CONFIRMED).exists()
        )
        try:
            with transaction.atomic():
                if seed is not None:
                    reference = options["seed_reference"]
                    enter_external_seed(tranche=tranche, user=preparer, seed=seed, reference=reference)
                    confirm_external_seed(tranche=tranche, user=approver, seed=seed)
                if preparer is None and reserve_list:
                    computed = preview_supplementary(tranche=tranche, account=_account())
                elif preparer is None:
                    computed = preview_allocation(tranche=tranche, window=window, account=_account())
                elif reserve_list:
                    run = prepare_supplementary(tranche=tranche, user=preparer)
                    if options["confirm"]:
                        run = confirm_supplementary(run=run, user=approver)
                else:
                    run = prepare_allocation(tranche=tranche, window=window, user=preparer)
                    if options["confirm"]:
                        run = confirm_allocation(run=run, user=approver)
        except (PermissionDenied, ValidationError) as error:
            raise CommandError("; ".join(getattr(error, "messages", [str(error)]))) from error
        if options["format"] == "json":
            document = (
                selectors.preview_document(computed=computed) if preparer is None else selectors.run_document(run=run)
            )
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
        elif preparer is None:
            self._print_computed(computed)
        else:
            self._print_run(run)
        if preparer is None:
            return
        # In JSON the standard output holds the document alone.
        report = self.stderr if options["format"] == "json" else self.stdout
        if options["confirm"]:
            report.write(self.style.SUCCESS(f"Confirmed run {run.public_id}: {run.decisions.count()} decisions."))
        else:
            report.write(self.style.SUCCESS(f"Stored preview {run.public_id}; an approver confirms it."))

    def _check_external_seed(self, tranche: Tranche, options) -> None:
        lottery_seed = selectors.lottery_seed(tranche=tranche)
        if lottery_seed is not None and lottery_seed.is_sealed:
            raise CommandError(
                f"The lottery seed of {tranche.slug} is sealed ({lottery_seed.seed}, {lottery_seed.source}): every "
                "preview uses it, and --seed cannot choose another. Leave --seed out."
            )
        if not (options["seed_reference"] and options["prepared_by"] and options["approved_by"]):
            raise CommandError(
                "--seed seals the seed of an external draw: it needs --seed-reference, --prepared-by (who enters "
                "it) and --approved-by (who confirms it)."
            )

    def _tranche(self, slug: str) -> Tranche:
        try:
            return Tranche.objects.get(slug=slug)
        except Tranche.DoesNotExist:
            raise CommandError(f"No tranche {slug!r}.") from None

    def _window(self, tranche: Tranche, code: str | None):
        if code is None:
            return None
        window = tranche.windows.filter(code=code).first()
        if window is None:
            raise CommandError(f"No window {code!r} in {tranche.slug}.")
        return window

    def _user(self, username: str) -> User:
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None

    def _print_computed(self, computed) -> None:
        names = dict(Municipality.objects.values_list("code", "name"))
        self.stdout.write(
            f"{computed.tranche.title} · seed {computed.seed} · ranked list SHA-256 {computed.ranked_list_sha256}"
        )
        for described, result in zip(computed.rules["windows"], computed.results, strict=True):
            rows = [
                (
                    line.rank,
                    line.candidate.reference,
                    f"{line.candidate.municipality} {names.get(line.candidate.municipality, '')}",
                    line.requested,
                    line.proposed,
                    line.cumulative,
                    line.outcome,
                    line.reason,
                )
                for line in result.lines
            ]
            self._print_window(described, rows)

    def _print_run(self, run: AllocationRun) -> None:
        self.stdout.write(
            f"{run.tranche.title} · run {run.public_id} · {run.status} · seed {run.seed} · "
            f"ranked list SHA-256 {run.ranked_list_sha256}"
        )
        by_window: dict[str, list] = {}
        for line in selectors.run_lines(run=run):
            by_window.setdefault(line.window.code, []).append(
                (
                    line.rank,
                    line.application.reference,
                    f"{line.application.municipality.code} {line.application.municipality.name}",
                    line.requested,
                    line.proposed,
                    line.cumulative,
                    line.outcome,
                    line.reason,
                )
            )
        for described in run.rules["windows"]:
            self._print_window(described, by_window.get(described["code"], []))

    def _print_window(self, described: dict, rows: list[tuple]) -> None:
        ceiling = Decimal(described["ceiling_used"])
        requested = sum((row[3] for row in rows), Decimal("0"))
        proposed = sum((row[4] for row in rows), Decimal("0"))
        write = self.stdout.write
        write("")
        write(f"Window {described['code']} · {described['ranking_method']}")
        write(
            f"ceiling {_euro(ceiling)} · requested {_euro(requested)} · proposed {_euro(proposed)} · "
            f"oversubscription {_euro(max(Decimal('0'), requested - ceiling))}"
        )
        if described.get("lottery_day"):
            write(f"lottery among the applications of {described['lottery_day']} (Europe/Amsterdam)")
        header = (
            f"{'rank':>5}  {'reference':<16} {'municipality':<28} {'requested':>15} {'proposed':>15} "
            f"{'cumulative':>15}  outcome"
        )
        write(header)
        passes = passing_skipped(SimpleNamespace(proposed=row[4], outcome=row[6], reason=row[7]) for row in rows)
        # Under the skip rule applications funded past a skipped one are marked instead of one cut-off line.
        cutoff = None if any(passes) else next((row[0] for row in rows if row[7] in SHORT_OF_BUDGET), None)
        for row, passes_skipped in zip(rows, passes, strict=True):
            rank, reference, municipality, requested_amount, proposed_amount, cumulative, outcome, reason = row
            if rank == cutoff:
                write("-" * len(header) + " cut-off: budget ceiling reached")
            mark = " · funded past a skipped application" if passes_skipped else ""
            write(
                f"{rank:>5}  {reference:<16} {municipality[:28]:<28} {_euro(requested_amount):>15} "
                f"{_euro(proposed_amount):>15} {_euro(cumulative):>15}  {outcome} ({reason}){mark}"
            )
        reserve = [row for row in rows if row[6] == "reserve"]
        write("Reserve list: " + (", ".join(f"{n}. {row[1]}" for n, row in enumerate(reserve, 1)) or "empty"))
