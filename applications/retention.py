"""Retention of applications (docs/privacy.md): drafts never submitted go a year after their tranche closed."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db import transaction

from accounts.retention import retention_rule, years_before
from grants.models import Tranche

from .models import Application, Attachment, Status, UnitLine


@retention_rule("drafts", action="deleted")
def delete_abandoned_drafts(now: datetime) -> int:
    """Drafts of a tranche that closed (as amended) before the period; with their lines, files and history.

    Nothing refers to a draft but its own lines, attachments and history: it was never received or decided.
    """
    cutoff = years_before(now, "draft")
    with_drafts = Tranche.objects.filter(applications__status=Status.DRAFT).distinct().prefetch_related("amendments")
    closed = [tranche.pk for tranche in with_drafts if tranche.closes_at_in_force(now) < cutoff]
    drafts = Application.objects.filter(tranche__in=closed, status=Status.DRAFT).select_for_update()
    ids = list(drafts.values_list("pk", flat=True))
    if not ids:
        return 0
    files = list(Attachment.objects.filter(application__in=ids).values_list("file", flat=True))
    Application.objects.filter(pk__in=ids).delete()
    # After the rows: deleting them writes a last history record of its own.
    UnitLine.history.filter(application_id__in=ids).delete()
    Application.history.filter(id__in=ids).delete()
    # The files go once the rows are gone for good; a rollback keeps both.
    storage = Attachment._meta.get_field("file").storage
    for name in files:
        transaction.on_commit(partial(storage.delete, name))
    return len(ids)
