from .reference import HousingType, Municipality, Province, Scheme, TargetGroup
from .rules import FixedAllocation, RentLimit
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
    decimal_text,
)

__all__ = [
    "MONEY",
    "AmendmentKind",
    "FixedAllocation",
    "HousingType",
    "LastApplicationRule",
    "Municipality",
    "Province",
    "RankingInstant",
    "RankingMethod",
    "RentLimit",
    "Scheme",
    "TargetGroup",
    "TieBreak",
    "Tranche",
    "TrancheAmendment",
    "TrancheTargetGroup",
    "Window",
    "decimal_text",
]
