import secrets
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from allocation import permissions
from allocation.engine import SHORT_OF_BUDGET
from allocation.models import AllocationRun
from allocation.selectors import compute_allocation, run_lines
from allocation.services import confirm_allocation, prepare_allocation
from grants.models import Municipality, Tranche


def _euro(amount: Decimal) -> str:
    return f"{amount:,.2f}"


class Command(BaseCommand):
    help = (
        "Rank and allocate a tranche (or one window) and print the preview. With --prepared-by the preview is "
        "stored; with --confirm an approver confirms it at once and the decisions are issued."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tranche", required=True, help="Slug of the tranche, e.g. rha-2023.")
        parser.add_argument("--window", help="Code of one window; all windows when left out.")
        parser.add_argument("--seed", type=int, help="Lottery seed; a random one is drawn and printed when left out.")
        parser.add_argument("--prepared-by", help="Username of the agency user who prepares the run.")
        parser.add_argument("--confirm", action="store_true", help="Confirm the run (needs --approved-by).")
        parser.add_argument("--approved-by", help="Username of the approver who confirms; not the preparer.")

    def handle(self, *args, **options):
        tranche = self._tranche(options["tranche"])
        window = self._window(tranche, options["window"])
        seed = options["seed"]
        if options["confirm"] and not (options["prepared_by"] and options["approved_by"]):
            raise CommandError("--confirm needs --prepared-by and --approved-by.")
        if not options["prepared_by"]:
            if seed is None:
                seed = secrets.randbelow(10**9)
                self.stdout.write(f"Drawn seed {seed}; pass --seed {seed} to repeat this preview.")
            self._print_computed(compute_allocation(tranche=tranche, window=window, seed=seed))
            return
        preparer = self._user(options["prepared_by"])
        approver = self._user(options["approved_by"]) if options["confirm"] else None
        if approver is not None:
            if approver.pk == preparer.pk:
                raise CommandError("The approver cannot be the one who prepared the run (four eyes).")
            allowed, reason = permissions.can_confirm_allocation(approver, AllocationRun(prepared_by=preparer))
            if not allowed:
                raise CommandError(reason)
        try:
            with transaction.atomic():
                run = prepare_allocation(tranche=tranche, window=window, user=preparer, seed=seed)
                if approver is not None:
                    run = confirm_allocation(run=run, user=approver)
        except (PermissionDenied, ValidationError) as error:
            raise CommandError("; ".join(getattr(error, "messages", [str(error)]))) from error
        self._print_run(run)
        if approver is not None:
            self.stdout.write(self.style.SUCCESS(f"Confirmed run {run.public_id}: {run.lines.count()} decisions."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Stored preview {run.public_id}; an approver confirms it."))

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
        self.stdout.write(f"{computed.tranche.title} · seed {computed.seed}")
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
        self.stdout.write(f"{run.tranche.title} · run {run.public_id} · {run.status} · seed {run.seed}")
        by_window: dict[str, list] = {}
        for line in run_lines(run=run):
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
        cutoff = next((row[0] for row in rows if row[7] in SHORT_OF_BUDGET), None)
        for rank, reference, municipality, requested_amount, proposed_amount, cumulative, outcome, reason in rows:
            if rank == cutoff:
                write("-" * len(header) + " cut-off: budget ceiling reached")
            write(
                f"{rank:>5}  {reference:<16} {municipality[:28]:<28} {_euro(requested_amount):>15} "
                f"{_euro(proposed_amount):>15} {_euro(cumulative):>15}  {outcome} ({reason})"
            )
        reserve = [row for row in rows if row[6] == "reserve"]
        write("Reserve list: " + (", ".join(f"{n}. {row[1]}" for n, row in enumerate(reserve, 1)) or "empty"))
