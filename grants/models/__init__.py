from .reference import HousingType, Municipality, Province, Scheme, TargetGroup
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
    "AmendmentKind",
    "HousingType",
    "LastApplicationRule",
    "Municipality",
    "Province",
    "RankingInstant",
    "RankingMethod",
    "Scheme",
    "TargetGroup",
    "TieBreak",
    "Tranche",
    "TrancheAmendment",
    "TrancheTargetGroup",
    "Window",
]
