"""The back office of allocation; importing each module registers its pages."""

from . import decisions, objections, runs, tranche_pages
from .runs import ranked_list

__all__ = ["decisions", "objections", "ranked_list", "runs", "tranche_pages"]
