"""The API's representations of applications, unit lines and attachments (applications.api).

Input serializers parse a request into the services' terms, as the portal forms do; the rules and their messages
stay in the services. Codes stand for reference data: a tranche by its slug, a window, target group or housing type
by its code.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.reverse import reverse

from grants.models import MONEY, HousingType, Tranche
from grants.selectors import open_tranches

from .models import (
    Application,
    Attachment,
    AttachmentKind,
    Construction,
    InformationRequest,
    Permanence,
    Status,
    StatusChange,
    UnitLine,
)
from .services import UnitLineData
from .validators import (
    validate_ascii_digits,
    validate_multiline_text,
    validate_plausible_date,
    validate_single_line_text,
)

PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class WholeNumberField(serializers.IntegerField):
    """A JSON integer, or a string of the digits 0 to 9: Python would also read ٧٠ as 70."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            validate_ascii_digits(data.strip().removeprefix("-"))
        return super().to_internal_value(data)


class AmountField(serializers.DecimalField):
    """Euros as a JSON number or a string such as "7000.50": digits 0 to 9 and a decimal point only."""

    def __init__(self, **kwargs):
        super().__init__(**{**MONEY, **kwargs})

    def to_internal_value(self, data):
        if isinstance(data, bool) or not PLAIN_NUMBER.fullmatch(str(data).strip()):
            raise serializers.ValidationError(
                _("Write the amount in euros with the digits 0 to 9 and a decimal point, for example 7000.50."),
                code="invalid",
            )
        return super().to_internal_value(data)


def _plausible_date(**kwargs) -> serializers.DateField:
    return serializers.DateField(validators=[validate_plausible_date], **kwargs)


# --- reading --------------------------------------------------------------------------------------------


class UnitLineSerializer(serializers.ModelSerializer):
    target_group = serializers.SlugRelatedField(slug_field="code", read_only=True)
    housing_type = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = UnitLine
        fields = [
            "id",
            "target_group",
            "housing_type",
            "permanence",
            "self_contained",
            "common_room",
            "construction",
            "units",
            "requested_amount",
            "planned_monthly_rent",
        ]
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where the file itself is downloaded.")

    class Meta:
        model = Attachment
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at", "url"]
        read_only_fields = fields

    def get_url(self, attachment: Attachment) -> str:
        return reverse(
            "api:attachment-file",
            kwargs={"application_public_id": attachment.application.public_id, "pk": attachment.pk},
            request=self.context.get("request"),
        )


class StatusChangeSerializer(serializers.ModelSerializer):
    from_status = serializers.ChoiceField(
        choices=Status.choices, allow_blank=True, read_only=True, help_text="Empty for the first status."
    )

    class Meta:
        model = StatusChange
        fields = ["from_status", "to_status", "at", "reason"]
        read_only_fields = fields


class InformationRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = InformationRequest
        fields = ["requested_at", "reason", "deadline", "answered_at"]
        read_only_fields = fields


class ApplicationSummarySerializer(serializers.ModelSerializer):
    municipality = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="CBS code.")
    tranche = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    window = serializers.SlugRelatedField(slug_field="code", read_only=True)
    units_total = serializers.IntegerField(read_only=True)
    amount_requested = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Application
        fields = [
            "public_id",
            "reference",
            "status",
            "municipality",
            "tranche",
            "window",
            "project_name",
            "location",
            "planned_start",
            "planned_completion",
            "received_at",
            "completed_at",
            "ranks_at",
            "created_at",
            "updated_at",
            "units_total",
            "amount_requested",
        ]
        read_only_fields = fields


class ApplicationSerializer(ApplicationSummarySerializer):
    unit_lines = UnitLineSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    status_changes = StatusChangeSerializer(many=True, read_only=True, help_text="The status history, oldest first.")
    information_requests = InformationRequestSerializer(many=True, read_only=True)
    ready_hash = serializers.CharField(
        read_only=True,
        help_text=(
            "SHA-256 of the content confirmed as ready to submit (POST …/ready/), and of a received application the "
            "content it was received with; empty for a draft not confirmed. Send it to …/submit/ as ready_hash."
        ),
    )
    ready_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the content was confirmed as ready; null when it was not."
    )

    class Meta(ApplicationSummarySerializer.Meta):
        fields = [
            *ApplicationSummarySerializer.Meta.fields,
            "description",
            "unit_lines",
            "attachments",
            "status_changes",
            "information_requests",
            "ready_hash",
            "ready_at",
        ]
        read_only_fields = fields


# --- writing --------------------------------------------------------------------------------------------


class UnitLineInputSerializer(serializers.Serializer):
    # Left optional, as on the portal's form: the service says what is missing in the domain's words.
    target_group = serializers.CharField(required=False, allow_null=True, help_text="Code of the tranche's group.")
    housing_type = serializers.CharField(required=False, allow_null=True, help_text="Code of the housing type.")
    permanence = serializers.ChoiceField(choices=Permanence.choices, required=False, allow_null=True)
    self_contained = serializers.BooleanField(default=True)
    common_room = serializers.BooleanField(default=False)
    construction = serializers.ChoiceField(choices=Construction.choices, default=Construction.NEW_BUILD)
    # The upper bound keeps units × maximum per unit inside the money column, as on the form.
    units = WholeNumberField(required=False, allow_null=True, max_value=100_000)
    requested_amount = AmountField(
        required=False, allow_null=True, help_text="Leave out or null to request the maximum; you may ask for less."
    )
    planned_monthly_rent = AmountField(required=False, allow_null=True, max_digits=8)


class ApplicationInputSerializer(serializers.Serializer):
    window = serializers.CharField(
        required=False, help_text="Code of the window; may be left out when the tranche has only one."
    )
    project_name = serializers.CharField(max_length=200, validators=[validate_single_line_text])
    location = serializers.CharField(max_length=200, validators=[validate_single_line_text])
    description = serializers.CharField(
        required=False, allow_blank=True, default="", validators=[validate_multiline_text]
    )
    planned_start = _plausible_date(required=False, allow_null=True, default=None)
    planned_completion = _plausible_date(required=False, allow_null=True, default=None)
    unit_lines = UnitLineInputSerializer(
        many=True, required=False, max_length=200, help_text="Replaces every unit line of the application."
    )

    def _tranche(self, attrs) -> Tranche:
        return self.context["application"].tranche

    def validate(self, attrs):
        tranche = self._tranche(attrs)
        errors: dict[str, list[str]] = {}
        if "window" in attrs:
            window = next((window for window in tranche.windows.all() if window.code == attrs["window"]), None)
            if window is None:
                errors["window"] = [_("No window with code %(code)s in this tranche.") % {"code": attrs["window"]}]
            attrs["window"] = window
        elif not self.partial:
            windows = list(tranche.windows.all())
            if len(windows) == 1:
                attrs["window"] = windows[0]
            else:
                errors["window"] = [_("This tranche has several windows: choose one.")]
        start = attrs.get("planned_start", getattr(self.context.get("application"), "planned_start", None))
        completion = attrs.get(
            "planned_completion", getattr(self.context.get("application"), "planned_completion", None)
        )
        if start and completion and completion < start:
            errors["planned_completion"] = [_("The planned completion cannot be before the planned start.")]
        if "unit_lines" in attrs:
            attrs["unit_lines"] = self._unit_lines(tranche, attrs["unit_lines"], errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    @staticmethod
    def _unit_lines(tranche: Tranche, lines: list[dict], errors: dict[str, list[str]]) -> list[UnitLineData]:
        groups = {group.code: group for group in tranche.target_groups.all()}
        types = {housing_type.code: housing_type for housing_type in HousingType.objects.all()}
        resolved = []
        for index, line in enumerate(lines):
            group_code, type_code = line.get("target_group"), line.get("housing_type")
            if group_code is not None and group_code not in groups:
                errors[f"unit_lines.{index}.target_group"] = [
                    _("No target group with code %(code)s in this tranche.") % {"code": group_code}
                ]
            if type_code is not None and type_code not in types:
                errors[f"unit_lines.{index}.housing_type"] = [
                    _("No housing type with code %(code)s.") % {"code": type_code}
                ]
            resolved.append(
                UnitLineData(
                    target_group=groups.get(group_code),
                    housing_type=types.get(type_code),
                    permanence=line.get("permanence") or "",
                    units=line.get("units"),
                    # A PATCH leaves defaults out, also inside the lines.
                    self_contained=line.get("self_contained", True),
                    common_room=line.get("common_room", False),
                    construction=line.get("construction", Construction.NEW_BUILD),
                    requested_amount=line.get("requested_amount"),
                    planned_monthly_rent=line.get("planned_monthly_rent"),
                )
            )
        return resolved

    def changes(self) -> dict:
        """The application's own fields given, as keyword arguments for the services."""
        return {field: value for field, value in self.validated_data.items() if field not in {"tranche", "unit_lines"}}


class ApplicationCreateSerializer(ApplicationInputSerializer):
    tranche = serializers.SlugField(help_text="Slug of a tranche that takes applications now.")

    def validate_tranche(self, slug: str) -> Tranche:
        tranche = next((tranche for tranche in open_tranches() if tranche.slug == slug), None)
        if tranche is None:
            raise serializers.ValidationError(_("This tranche does not take applications now."))
        return tranche

    def _tranche(self, attrs) -> Tranche:
        return attrs["tranche"]


class SubmitSerializer(serializers.Serializer):
    ready_hash = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "The ready_hash of the draft as it was confirmed (POST …/ready/): the submission's key. The server checks "
            "only that the content is still the one confirmed and that the tranche is open, and a repeat after the "
            "receipt returns that receipt. Leave out to have the draft checked in full as it is submitted."
        ),
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", validators=[validate_multiline_text])


class AttachmentUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AttachmentKind.choices, required=False, allow_blank=True, default="")
    # Empty files reach the service, which explains what is wrong with them.
    file = serializers.FileField(allow_empty_file=True, help_text="PDF, XLSX or DOCX.")
