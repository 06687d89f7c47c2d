"""Downloads of decision letters: the municipality its own, agency staff all of them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404

from .selectors import decisions_visible_to
from .services import generate_decision_letter

LETTER_FORMATS = {"pdf": ("letter_pdf", "application/pdf"), "html": ("letter_html", "text/html; charset=utf-8")}


@login_required
def decision_letter(request, public_id, file_format: str):
    decision = get_object_or_404(decisions_visible_to(user=request.user), public_id=public_id)
    field_name, content_type = LETTER_FORMATS[file_format]
    if not decision.letter_pdf:
        generate_decision_letter(decision_id=decision.pk)
        decision.refresh_from_db(fields=["letter_html", "letter_pdf"])
    letter = getattr(decision, field_name)
    return FileResponse(
        letter.open("rb"),
        content_type=content_type,
        as_attachment=file_format == "pdf",
        filename=f"beschikking-{decision.application.reference}.{file_format}",
    )
