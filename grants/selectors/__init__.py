"""Reads of tranches, allocation runs, decisions and totals.

One module per layer, lowest first; each imports only from the ones above it in this list:

- tranches: open tranches and their amendment history;
- exchange: applications in the CSV exchange format;
- allocation: computing, reproducing and listing allocation runs, and the decisions a user may see;
- totals: a tranche's applied and granted figures;
- settlement: what a grant settles at.

The public names are re-exported here, so callers keep importing from grants.selectors.
"""

from .allocation import (
    RANKED_LIST_COLUMNS,
    ComputedAllocation,
    allocate_from_rules,
    compute_allocation,
    decisions_visible_to,
    granted_in_tranche,
    granted_per_window,
    reproduce_run,
    run_is_reproducible,
    run_lines,
    write_ranked_list_csv,
)
from .exchange import EXCHANGE_COLUMNS, application_rows
from .settlement import ComputedSettlement, ComputedSettlementLine, compute_settlement
from .totals import TrancheTotals, tranche_totals
from .tranches import TrancheHistory, open_tranches, tranche_history

__all__ = [
    "EXCHANGE_COLUMNS",
    "RANKED_LIST_COLUMNS",
    "ComputedAllocation",
    "ComputedSettlement",
    "ComputedSettlementLine",
    "TrancheHistory",
    "TrancheTotals",
    "allocate_from_rules",
    "application_rows",
    "compute_allocation",
    "compute_settlement",
    "decisions_visible_to",
    "granted_in_tranche",
    "granted_per_window",
    "open_tranches",
    "reproduce_run",
    "run_is_reproducible",
    "run_lines",
    "tranche_history",
    "tranche_totals",
    "write_ranked_list_csv",
]
