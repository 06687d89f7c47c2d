"""The report of `make mutation`: the score per module and every surviving mutant with its change.

Reads what `mutmut run` left in mutants/ (run from the project's root): python -m tests.mutation_report [FILE].
A mutant counts as detected when a test failed on it or it ran out of time; one that no selected test reaches
counts as surviving. Mutants not run yet are listed apart and left out of the score.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path

from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files

DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
UNDETECTED = {"survived", "no tests", "suspicious"}


def _results() -> dict[str, dict[str, str]]:
    """Per mutated file: mutant name -> status."""
    results = {}
    for path in sorted(walk_mutatable_files()):
        data = SourceFileMutationData(path=path)
        data.load()
        results[str(path)] = {name: status_by_exit_code[code] for name, code in sorted(data.exit_code_by_key.items())}
    return results


def _score(counts: Counter) -> str:
    checked = sum(counts[status] for status in DETECTED | UNDETECTED)
    detected = sum(counts[status] for status in DETECTED)
    return f"{100 * detected / checked:5.1f}%" if checked else "    -"


def report() -> str:
    results = _results()
    lines = [
        f"Mutation testing of the rules that decide money and access (make mutation), {date.today().isoformat()}",
        "",
        f"{'module':32} {'mutants':>7} {'killed':>6} {'survived':>8} {'no test':>7} {'timeout':>7} {'not run':>7}"
        "  score",
    ]
    total = Counter()
    for path, statuses in results.items():
        counts = Counter(statuses.values())
        total += counts
        lines.append(
            f"{path:32} {len(statuses):7} {counts['killed']:6} {counts['survived']:8} {counts['no tests']:7} "
            f"{counts['timeout']:7} {counts['not checked']:7}  {_score(counts)}"
        )
    lines.append(
        f"{'all':32} {total.total():7} {total['killed']:6} {total['survived']:8} {total['no tests']:7} "
        f"{total['timeout']:7} {total['not checked']:7}  {_score(total)}"
    )
    lines += ["", "Surviving mutants (docs/testing.md says why those of the modules run in full are equivalent):", ""]
    for path, statuses in results.items():
        for name, status in statuses.items():
            if status in UNDETECTED:
                lines.append(f"{name}: {status}")
                diff = get_diff_for_mutant(name, path=path)
                lines += [
                    f"    {line}" for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
                ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = report()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    sys.stdout.write(text.split("\n\nSurviving")[0] + "\n\n")
