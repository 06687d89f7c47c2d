"""The back office of realisation; importing each module registers its pages."""

from . import changes, follow_up

__all__ = ["changes", "follow_up"]
