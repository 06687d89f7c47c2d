"""Domain events of allocation that this and later stages act on; each is sent after its transaction commits."""

from django.dispatch import Signal

# An allocation run was confirmed and its decisions recorded; sent with `run` and `generate_letters`
# (False where the caller makes the letters itself, or not at all, as the demo data does).
run_confirmed = Signal()

# A decision on one case was issued (a grant from the reserve list, a waiver, a withdrawal, a decision on
# objection, a change, a reclaim); sent with `decision`. Its letter follows, and the totals.
decision_issued = Signal()
