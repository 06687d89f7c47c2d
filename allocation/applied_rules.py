"""The rules a run applied, as sentences an approver reads: what the run's stored `rules` (its JSON) say in words.

The keys are those of `selectors.compute_allocation` and `budget.prepare_supplementary` (docs/rules.md); a key a
run does not have is left out, so older runs read as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grants.models import LastApplicationRule, RankingInstant, RankingMethod, TieBreak, Window
from grants.templatetags.instants import format_instant
from grants.templatetags.money import format_euro

from .models import RunKind


@dataclass
class RuleGroup:
    """The sentences about the whole run (`title` empty) or about one window."""

    title: str
    sentences: list[str] = field(default_factory=list)


def _euro(text: str | None) -> str:
    return format_euro(Decimal(text)) if text is not None else ""


def _label(choices, value: str) -> str:
    """A choice's label in the active language; a value the choices no longer have, as it is."""
    return str(choices(value).label) if value in choices.values else value


def _ranking_instant(value: str) -> str:
    if value == RankingInstant.COMPLETION:
        return _("Applications rank by the instant they were complete.")
    return _("Applications rank by the instant they were first received.")


def _last_application(value: str) -> str:
    return {
        LastApplicationRule.PARTIAL: _("The first application that no longer fits in full gets what is left."),
        LastApplicationRule.SKIP: _("An application that no longer fits is skipped, and the next ones are tried."),
        LastApplicationRule.STOP: _("Allocation stops at the first application that no longer fits."),
    }.get(value, "")


def _run_sentences(rules: dict) -> list[str]:
    sentences = []
    if rules.get("kind") == RunKind.SUPPLEMENTARY:
        sentences.append(_("A supplementary run: the budget left goes to the reserve list, in its original order."))
    if "prepared_at" in rules:
        sentences.append(
            _("Prepared on %(at)s with the lottery seed %(seed)s.")
            % {"at": format_instant(datetime.fromisoformat(rules["prepared_at"])), "seed": rules.get("seed")}
        )
    if "ranking_instant" in rules:
        sentences.append(_ranking_instant(rules["ranking_instant"]))
    if rules.get("last_application_rule"):
        sentences.append(_last_application(rules["last_application_rule"]))
    if "max_per_municipality" in rules:
        maximum = rules["max_per_municipality"]
        sentences.append(
            _("A municipality receives at most %(amount)s in this tranche.") % {"amount": _euro(maximum)}
            if maximum is not None
            else _("There is no maximum per municipality.")
        )
    if "transfer_unused_between_windows" in rules:
        sentences.append(
            _("Budget a window leaves unused goes to the tranche's other windows.")
            if rules["transfer_unused_between_windows"]
            else _("Budget a window leaves unused stays in that window.")
        )
    if "tranche_ceiling" in rules:
        sentences.append(
            _("The tranche's ceiling in force was %(ceiling)s, of which %(room)s was available for this run.")
            % {"ceiling": _euro(rules["tranche_ceiling"]), "room": _euro(rules.get("tranche_room"))}
        )
    granted = rules.get("granted_before") or {}
    if granted:
        total = sum((Decimal(amount) for amount in granted.values()), Decimal("0"))
        sentences.append(
            ngettext(
                "%(count)s municipality already held %(total)s in this tranche; it counts towards the maximum.",
                "%(count)s municipalities already held %(total)s in this tranche; it counts towards the maximum.",
                len(granted),
            )
            % {"count": len(granted), "total": format_euro(total)}
        )
    return sentences


def _window_sentences(described: dict) -> list[str]:
    sentences = [
        _("Ranked by %(method)s; ties are broken by %(tie_break)s.")
        % {
            "method": _label(RankingMethod, described.get("ranking_method", "")),
            "tie_break": _label(TieBreak, described.get("tie_break", "")),
        }
    ]
    if described.get("category_rule"):
        sentences.append(_("Categories by the rule %(rule)s.") % {"rule": described["category_rule"]})
    if "budget_ceiling" in described:
        sentences.append(
            _("Budget ceiling %(budget)s; available for this run %(available)s.")
            % {"budget": _euro(described["budget_ceiling"]), "available": _euro(described.get("ceiling"))}
        )
    if described.get("committed") and Decimal(described["committed"]):
        sentences.append(_("Committed by earlier grants: %(amount)s.") % {"amount": _euro(described["committed"])})
    if described.get("transferred_in") and Decimal(described["transferred_in"]):
        sentences.append(
            _("%(amount)s came from the unused budget of other windows.")
            % {"amount": _euro(described["transferred_in"])}
        )
    if described.get("ceiling_used") is not None:
        sentences.append(
            _("Ceiling applied in the allocation: %(amount)s.") % {"amount": _euro(described["ceiling_used"])}
        )
    if described.get("lottery_day"):
        day = formats.date_format(date.fromisoformat(described["lottery_day"]), "j F Y")
        sentences.append(
            _("The ceiling was exceeded on %(day)s: the applications received that day were ranked by lot.")
            % {"day": day}
        )
    if described.get("pro_rata_fraction"):
        percent = formats.number_format(Decimal(described["pro_rata_fraction"]) * 100, 2, use_l10n=True)
        sentences.append(_("Every request was granted for %(percent)s%%.") % {"percent": percent})
    return sentences


def describe_rules(*, rules: dict, windows: list[Window]) -> list[RuleGroup]:
    """The run's rules in words: first what holds for the run, then a group per window, named by its name."""
    names = {window.code: window.name for window in windows}
    groups = [RuleGroup(title="", sentences=_run_sentences(rules))]
    for described in rules.get("windows", []):
        code = described.get("code", "")
        groups.append(RuleGroup(title=names.get(code, code), sentences=_window_sentences(described)))
    return groups
