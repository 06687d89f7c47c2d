"""The back office of allocation; importing each module registers its pages."""

from . import decisions, objections, runs
from .runs import ranked_list

__all__ = ["decisions", "objections", "ranked_list", "runs"]
