"""The progress report and accountability report forms. They parse input into the services' terms; the rules live
in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from applications.forms import EuroField, NldsForm, WholeNumberField
from applications.models import UnitLine
from applications.validators import validate_multiline_text, validate_plausible_date
from grants.models import TargetGroup

from .accountability import Account, units_field
from .changes import units_field as change_units_field
from .models import AccountabilityReport, ChangeKind, ProgressReport, ReclaimGround
from .services import realised_field

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProgressReportForm(NldsForm):
    """The report's dates and remarks, and one field of units realised per unit line of the grant."""

    optional_fields = ("construction_started_on", "completed_on", "delay_remarks")
    construction_started_on = ProgressReport._meta.get_field("construction_started_on").formfield(widget=DATE_INPUT)
    completed_on = ProgressReport._meta.get_field("completed_on").formfield(widget=DATE_INPUT)
    delay_remarks = ProgressReport._meta.get_field("delay_remarks").formfield(widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, lines: list[UnitLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[realised_field(line.pk)] = forms.IntegerField(
                # Left to the service, which says what is missing in the report's terms.
                required=False,
                label=_("Units realised: %(line)s") % {"line": line},
                help_text=_("At most %(units)s.") % {"units": line.units},
                widget=forms.NumberInput(
                    attrs={"class": "utrecht-textbox utrecht-textbox--html-input", "min": 0, "max": line.units}
                ),
            )

    def realised_fields(self) -> list[forms.BoundField]:
        return [self[realised_field(line.pk)] for line in self.lines]

    def report(self) -> dict:
        """The cleaned data as save_progress_report's arguments."""
        data = self.cleaned_data
        return {
            "construction_started_on": data["construction_started_on"],
            "completed_on": data["completed_on"],
            "delay_remarks": data["delay_remarks"],
            "realised": {line.pk: data[realised_field(line.pk)] for line in self.lines},
        }


def initial_from(report: ProgressReport | None) -> dict:
    """A form's initial values from the draft or the latest report; a first report starts empty."""
    if report is None:
        return {}
    initial = {
        "construction_started_on": report.construction_started_on,
        "completed_on": report.completed_on,
        "delay_remarks": report.delay_remarks,
    }
    initial.update({realised_field(row.unit_line_id): row.units for row in report.realised_units.all()})
    return initial


# --- accountability (SiSa) ------------------------------------------------------------------------------


def _yes_no(label, help_text="") -> forms.TypedChoiceField:
    # Asked as a question with two answers, never a checkbox: an answer left out must not read as "no".
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=[(True, _("Yes")), (False, _("No"))],
        coerce=lambda value: value == "True",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class AccountabilityReportForm(NldsForm):
    """A year's account of a grant, with one field of units realised per national target group of the grant.

    Nothing is required here: the service says what is missing in the report's terms.
    """

    optional_fields = ("remarks",)
    amount_spent = EuroField(
        required=False,
        max_digits=14,
        decimal_places=2,
        label=_("Amount spent in the year"),
        help_text=_("The part of the grant spent on the project in this calendar year."),
    )
    amount_spent_cumulative = EuroField(
        required=False,
        max_digits=14,
        decimal_places=2,
        label=_("Amount spent to date"),
        help_text=_("The part of the grant spent on the project up to the end of this year, this year included."),
    )
    obligations_met = _yes_no(
        _("Are the obligations of the grant still met?"),
        _("The start of construction, the completion and the rent limits as the decision sets them."),
    )
    units_used_for_target_groups = _yes_no(
        _("Are the units realised used for the target groups?"),
        _("For ten years after completion the units are let to the target groups. Answer yes if none is realised yet."),
    )
    remarks = AccountabilityReport._meta.get_field("remarks").formfield(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when an answer above is no: what is not met and what the municipality does about it."),
    )

    def __init__(self, *args, granted: dict[TargetGroup, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = list(granted)
        for name in ("amount_spent", "amount_spent_cumulative"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"
        for name in ("obligations_met", "units_used_for_target_groups"):
            self.fields[name].widget.attrs["class"] = "utrecht-radio-button utrecht-radio-button--html-input"
        for group, units in granted.items():
            self.fields[units_field(group.pk)] = forms.IntegerField(
                required=False,
                label=_("Units realised for %(group)s") % {"group": group.name},
                help_text=_("By the end of the year; at most %(units)s.") % {"units": units},
                widget=forms.NumberInput(
                    attrs={"class": "utrecht-textbox utrecht-textbox--html-input", "min": 0, "max": units}
                ),
            )

    def units_fields(self) -> list[forms.BoundField]:
        return [self[units_field(group.pk)] for group in self.groups]

    def account(self) -> Account:
        """The cleaned data as the service's account."""
        data = self.cleaned_data
        return Account(
            amount_spent=data["amount_spent"],
            amount_spent_cumulative=data["amount_spent_cumulative"],
            obligations_met=data["obligations_met"],
            units_used_for_target_groups=data["units_used_for_target_groups"],
            units={group.pk: data[units_field(group.pk)] for group in self.groups},
            remarks=data["remarks"],
        )


def accountability_initial(report: AccountabilityReport | None, *, earlier: AccountabilityReport | None) -> dict:
    """The form's initial values: the year's own report, else the units of the latest earlier one."""
    if report is not None:
        initial = {
            "amount_spent": report.amount_spent,
            "amount_spent_cumulative": report.amount_spent_cumulative,
            "obligations_met": report.obligations_met,
            "units_used_for_target_groups": report.units_used_for_target_groups,
            "remarks": report.remarks,
        }
        source = report
    else:
        initial, source = {}, earlier
    if source is not None:
        initial.update({units_field(row.target_group_id): row.units_realised for row in source.units.all()})
    return initial


# --- change requests and reclaims -----------------------------------------------------------------------


class ChangeRequestForm(NldsForm):
    """What the municipality asks to change; the fields of other kinds than the one chosen are not kept."""

    optional_fields = ("proposed_location", "proposed_start_by", "proposed_complete_by")
    # Left to the service, which says what is missing in the request's terms.
    kind = forms.ChoiceField(
        choices=[("", "---------"), *ChangeKind.choices], required=False, label=_("What do you want to change?")
    )
    motivation = forms.CharField(
        required=False,
        label=_("Motivation"),
        help_text=_("Why the change is needed. For a new planning: the planning as it would be."),
        widget=forms.Textarea(attrs={"rows": 5}),
        validators=[validate_multiline_text],
    )
    proposed_location = forms.CharField(
        required=False, max_length=200, label=_("New location"), help_text=_("Only for a change of location.")
    )
    proposed_start_by = forms.DateField(
        required=False,
        label=_("Start construction by"),
        help_text=_("Only for a later start of construction."),
        widget=DATE_INPUT,
        validators=[validate_plausible_date],
    )
    proposed_complete_by = forms.DateField(
        required=False,
        label=_("Complete by"),
        help_text=_("Only for a later completion."),
        widget=DATE_INPUT,
        validators=[validate_plausible_date],
    )

    def __init__(self, *args, lines: list[UnitLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[change_units_field(line.pk)] = WholeNumberField(
                required=False,
                initial=line.units,
                label=_("Units: %(line)s") % {"line": line},
                help_text=_("Now %(units)s. Only for a change of units.") % {"units": line.units},
                widget=forms.NumberInput(attrs={"class": "utrecht-textbox utrecht-textbox--html-input", "min": 1}),
            )

    def units_fields(self) -> list[forms.BoundField]:
        return [self[change_units_field(line.pk)] for line in self.lines]

    def request(self) -> dict:
        """The cleaned data as submit_change_request's arguments."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "motivation": data["motivation"],
            "units": {line.pk: data[change_units_field(line.pk)] for line in self.lines},
            "proposed_location": data["proposed_location"],
            "proposed_start_by": data["proposed_start_by"],
            "proposed_complete_by": data["proposed_complete_by"],
        }


class AssessmentForm(forms.Form):
    """The agency's assessment of a change request, the reasoning its letter states."""

    assessment = forms.CharField(
        required=False,
        label=_("Assessment"),
        help_text=_("The reasoning of the decision, as the letter states it."),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        validators=[validate_multiline_text],
    )


class ReclaimForm(forms.Form):
    ground = forms.ChoiceField(choices=ReclaimGround.choices, label=_("Ground"))
    reason = forms.CharField(
        required=False,
        label=_("Reason"),
        help_text=_("What the grant required and what happened, as the letter states it."),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        validators=[validate_multiline_text],
    )


class PaymentForm(forms.Form):
    paid_on = forms.DateField(required=False, label=_("Received on"), widget=DATE_INPUT)
    amount_paid = EuroField(required=False, label=_("Amount received"), max_digits=14, decimal_places=2)
