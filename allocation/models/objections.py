"""Objections against decisions, and the letters on a case besides its decision letters."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from .decisions import Decision


class ObjectionOutcome(models.TextChoices):
    UNFOUNDED = "unfounded", _("unfounded")
    FOUNDED = "founded", _("founded")
    PARTLY_FOUNDED = "partly_founded", _("partly founded")
    INADMISSIBLE = "inadmissible", _("inadmissible")
    WITHDRAWN = "withdrawn", _("withdrawn by the objector")


class Objection(models.Model):
    """An objection (bezwaarschrift) against a decision, from receipt to the decision on objection (Awb chapter 6-7)."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    contested = models.ForeignKey(
        Decision, models.PROTECT, related_name="objections", verbose_name=_("decision objected to")
    )
    received_on = models.DateField(_("received on"))
    term_ends_on = models.DateField(
        _("objection term ends on"),
        help_text=_("Six weeks from the day after dispatch (Awb 6:7, 6:8), moved past weekends and holidays."),
    )
    filed_in_time = models.BooleanField(_("filed in time"))
    lateness_excused = models.BooleanField(
        _("lateness excused"), default=False, help_text=_("Awb 6:11: the objector cannot reasonably be blamed.")
    )
    grounds = models.TextField(_("grounds"))
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("handler")
    )
    decide_by = models.DateField(
        _("decide by"), help_text=_("Six weeks from the end of the objection term (Awb 7:10 lid 1).")
    )
    extended_to = models.DateField(
        _("extended to"), null=True, blank=True, help_text=_("At most six weeks later (Awb 7:10 lid 3).")
    )
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    hearing_at = models.DateTimeField(_("hearing at"), null=True, blank=True)
    hearing_waived = models.BooleanField(
        _("hearing waived"), default=False, help_text=_("Awb 7:3: e.g. the objector waived being heard.")
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=ObjectionOutcome.choices, blank=True)
    outcome_reason = models.TextField(_("reasons of the decision on objection"), blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    revised_decision = models.OneToOneField(
        Decision,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="objection_revising",
        verbose_name=_("revised decision"),
        help_text=_("The decision that replaces the one objected to, when the objection is (partly) founded."),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    registered_at = models.DateTimeField(_("registered at"))

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="", decided_on__isnull=True, decided_by__isnull=True)
                | (~Q(outcome="") & Q(decided_on__isnull=False, decided_by__isnull=False)),
                name="objection_decided_has_date_and_decider",
            ),
            models.CheckConstraint(
                condition=Q(revised_decision__isnull=True) | Q(outcome__in=["founded", "partly_founded"]),
                name="objection_revision_only_when_founded",
            ),
            models.CheckConstraint(
                condition=Q(extended_to__isnull=True) | Q(extended_to__gt=F("decide_by")),
                name="objection_extension_later",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contested.application.reference}: {formats.date_format(self.received_on, 'j F Y')}"

    @property
    def is_open(self) -> bool:
        return not self.outcome

    @property
    def deadline(self):
        return self.extended_to or self.decide_by


class LetterKind(models.TextChoices):
    OBJECTION_RECEIPT = "objection_receipt", _("acknowledgement of an objection")
    HEARING_INVITATION = "hearing_invitation", _("invitation to a hearing")
    OBJECTION_DECISION = "objection_decision", _("decision on objection")
    CHANGE_REQUEST_DECISION = "change_request_decision", _("decision on a change request")
    RECLAIM = "reclaim", _("reclaim")


def case_letter_path(instance: Letter, filename: str) -> str:
    return f"letters/{instance.public_id}/{filename}"


class Letter(models.Model):
    """A letter to the municipality about its application other than a decision letter, kept as sent."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        "applications.Application", models.PROTECT, related_name="letters", verbose_name=_("application")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=LetterKind.choices)
    objection = models.ForeignKey(
        Objection, models.PROTECT, null=True, blank=True, related_name="letters", verbose_name=_("objection")
    )
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("issued by")
    )
    html = models.FileField(_("letter (HTML)"), upload_to=case_letter_path)
    pdf = models.FileField(_("letter (PDF)"), upload_to=case_letter_path, blank=True)

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["application", "issued_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application.reference}: {self.get_kind_display()}"
