from .allocation import (
    AllocationLine,
    AllocationReason,
    AllocationRun,
    Decision,
    DecisionOutcome,
    LineOutcome,
    RunStatus,
)
from .reference import HousingType, Municipality, Province, Scheme, TargetGroup
from .rules import FixedAllocation, RentLimit
from .settlement import Settlement, SettlementLine, SettlementStatus
from .totals import PublishedFigure, TotalsRow, TotalsScope
from .tranches import (
    MONEY,
    AmendmentKind,
    LastApplicationRule,
    RankingInstant,
    RankingMethod,
    TieBreak,
    Tranche,
    TrancheAmendment,
    TrancheTargetGroup,
    Window,
)

__all__ = [
    "MONEY",
    "AllocationLine",
    "AllocationReason",
    "AllocationRun",
    "AmendmentKind",
    "Decision",
    "DecisionOutcome",
    "FixedAllocation",
    "HousingType",
    "LastApplicationRule",
    "LineOutcome",
    "Municipality",
    "Province",
    "PublishedFigure",
    "RankingInstant",
    "RankingMethod",
    "RentLimit",
    "RunStatus",
    "Scheme",
    "Settlement",
    "SettlementLine",
    "SettlementStatus",
    "TargetGroup",
    "TieBreak",
    "TotalsRow",
    "TotalsScope",
    "Tranche",
    "TrancheAmendment",
    "TrancheTargetGroup",
    "Window",
]
