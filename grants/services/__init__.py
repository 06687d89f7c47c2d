"""Writes on schemes, tranches, reference data, imported applications, allocation runs and decisions.

One module per layer, lowest first; each imports only from the ones above it in this list:

- tranches: reference data, tranche files, amendments, rent limits, published figures, fixed allocation;
- exchange: importing applications from CSV;
- allocation: preparing, confirming and discarding allocation runs, decisions and decision letters;
- settlement: settling grants.

The public names are re-exported here, so callers keep importing from grants.services.
"""

from .allocation import (
    DECISION_OUTCOMES,
    add_months,
    confirm_allocation,
    discard_allocation,
    generate_decision_letter,
    generate_decision_letters,
    prepare_allocation,
    render_decision_letter,
)
from .exchange import YES_NO, import_applications
from .settlement import confirm_settlement, discard_settlement, prepare_settlement
from .tranches import (
    DATA_DIR,
    MAX_AMOUNT,
    MONEY_FIELDS,
    TRANCHE_FIELDS,
    amendment_errors,
    import_fixed_allocation,
    load_municipalities,
    load_published_figures,
    load_reference_data,
    load_rent_limits,
    load_tranche,
    record_amendment,
)

__all__ = [
    "DATA_DIR",
    "DECISION_OUTCOMES",
    "MAX_AMOUNT",
    "MONEY_FIELDS",
    "TRANCHE_FIELDS",
    "YES_NO",
    "add_months",
    "amendment_errors",
    "confirm_allocation",
    "confirm_settlement",
    "discard_allocation",
    "discard_settlement",
    "generate_decision_letter",
    "generate_decision_letters",
    "import_applications",
    "import_fixed_allocation",
    "load_municipalities",
    "load_published_figures",
    "load_reference_data",
    "load_rent_limits",
    "load_tranche",
    "prepare_allocation",
    "prepare_settlement",
    "record_amendment",
    "render_decision_letter",
]
