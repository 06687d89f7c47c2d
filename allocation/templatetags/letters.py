"""The frame of the letters on a case (allocation.decision_letters.letter_frame), for the templates that render
them: the decision letters, and the letters that allocation.objections and the realisation stage render."""

from __future__ import annotations

from django import template

from allocation import decision_letters

register = template.Library()


@register.simple_tag
def letter_frame(signer=None, objection=None, change=None, reclaim=None) -> decision_letters.LetterFrame:
    """{% letter_frame signer objection change reclaim as frame %}: who signs on behalf of the minister.

    The renderer's `signer` when it gives one; else the objection's decider or its handler, the change request's
    assessor or the reclaim's approver; none of them for the configured name. A name missing from the template's
    context arrives here empty.
    """
    candidates = (
        signer,
        getattr(objection, "decided_by", None),
        getattr(objection, "handler", None),
        getattr(change, "assessed_by", None),
        getattr(reclaim, "approved_by", None),
    )
    return decision_letters.letter_frame(next((user for user in candidates if user), None))
