"""Portal forms. They parse input into the services' terms; the rules and their messages live in the services."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.utils import pretty_name
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from grants.models import HousingType, TrancheTargetGroup, Window

from .models import Application, AttachmentKind, Construction, Permanence, UnitLine
from .services import UnitLineData
from .validators import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    validate_ascii_digits,
    validate_multiline_text,
    validate_plausible_date,
    validate_single_line_text,
)

LINE_ERROR_KEY = re.compile(r"lines-(?P<index>\d+)-(?P<field>\w+)")


# Amounts as people write them: 7000, 7000,50, 7.000, 7.000,50, € 1.234.567 and 7000.50. Anything else is
# refused rather than guessed: with a thousands dot, "7.000" would otherwise silently become seven euros. Digits
# are 0 to 9 only: \d would also match the digits of other scripts, which Decimal reads as numbers.
EURO_FORMATS = (
    (re.compile(r"[0-9]{1,3}(\.[0-9]{3})+(,[0-9]{1,2})?"), lambda v: v.replace(".", "").replace(",", ".")),
    (re.compile(r"[0-9]+(,[0-9]{1,2})?"), lambda v: v.replace(",", ".")),
    (re.compile(r"[0-9]+(\.[0-9]{1,2})?"), lambda v: v),
    (re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?"), lambda v: v.replace(",", "")),
)


class EuroField(forms.DecimalField):
    # A text field: in a number field the browser drops "7.000,50" unseen and reads "7.000" as seven euros.
    widget = forms.TextInput

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "decimal"}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = re.sub(r"[\s\u00a0€]", "", str(value))
        negative = text.startswith("-")
        text = text.removeprefix("-")
        for pattern, normalise in EURO_FORMATS:
            if pattern.fullmatch(text):
                return super().to_python(("-" if negative else "") + normalise(text))
        raise ValidationError(_("Write the amount in euros, for example 7.000 or 7000,50."), code="invalid")


class WholeNumberField(forms.IntegerField):
    """A whole number in the digits 0 to 9; IntegerField would also read ٧٠ as 70 and 70.0 as 70."""

    def to_python(self, value):
        if value not in self.empty_values:
            validate_ascii_digits(str(value).strip().removeprefix("-"))
        return super().to_python(value)


def _date_field(name: str) -> forms.DateField:
    return Application._meta.get_field(name).formfield(
        validators=[validate_plausible_date],
        widget=forms.DateInput(
            attrs={"type": "date", "min": f"{EARLIEST_YEAR}-01-01", "max": f"{LATEST_YEAR}-12-31"}, format="%Y-%m-%d"
        ),
    )


def _label(model, field: str) -> str:
    return capfirst(model._meta.get_field(field).verbose_name)


# Django's "This field is required." says neither which field nor what to do; a field without its own message gets
# one of these, which name it (docs/portal.md, "Errors").
REQUIRED_TO_FILL_IN = _("Fill in “%(label)s”.")
REQUIRED_TO_CHOOSE = _("Choose an answer for “%(label)s”.")


class NldsForm(forms.Form):
    """Gives every widget its NL Design System class, so templates can render fields as they are, and every required
    field a message that names it."""

    # Fields labelled "optional". Some others are not required by the form either, only so that the
    # service can say what is missing in the domain's words; users must still fill them in.
    optional_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if field.error_messages["required"] == forms.Field.default_error_messages["required"]:
                choose = isinstance(widget, (forms.Select, forms.RadioSelect, forms.CheckboxInput, forms.FileInput))
                message = REQUIRED_TO_CHOOSE if choose else REQUIRED_TO_FILL_IN
                field.error_messages["required"] = message % {"label": field.label or pretty_name(name)}
            if isinstance(widget, forms.RadioSelect):
                css_class = "utrecht-radio-button utrecht-radio-button--html-input"
            elif isinstance(widget, forms.CheckboxInput):
                css_class = "utrecht-checkbox utrecht-checkbox--html-input utrecht-checkbox--custom"
            elif isinstance(widget, forms.Select):
                css_class = "utrecht-select utrecht-select--html-select"
            elif isinstance(widget, forms.Textarea):
                css_class = "utrecht-textarea utrecht-textarea--html-textarea"
            elif isinstance(widget, forms.FileInput):
                css_class = "utrecht-file-input"
            else:
                css_class = "utrecht-textbox utrecht-textbox--html-input"
            widget.attrs["class"] = css_class


class ApplicationForm(NldsForm):
    """The application's own fields. The window is asked only when the tranche has more than one."""

    optional_fields = ("description", "planned_start", "planned_completion")
    window = forms.ModelChoiceField(
        queryset=Window.objects.none(),
        label=_label(Application, "window"),
        error_messages={"required": _("Choose the window you apply in.")},
    )
    project_name = Application._meta.get_field("project_name").formfield(
        validators=[validate_single_line_text], error_messages={"required": _("Fill in the project name.")}
    )
    location = Application._meta.get_field("location").formfield(
        validators=[validate_single_line_text], error_messages={"required": _("Fill in the location of the project.")}
    )
    description = Application._meta.get_field("description").formfield(
        widget=forms.Textarea(attrs={"rows": 4}), validators=[validate_multiline_text]
    )
    planned_start = _date_field("planned_start")
    planned_completion = _date_field("planned_completion")

    def __init__(self, *args, windows: QuerySet[Window], **kwargs):
        super().__init__(*args, **kwargs)
        choices = list(windows)
        if len(choices) == 1:
            self.only_window = choices[0]
            del self.fields["window"]
        else:
            self.only_window = None
            self.fields["window"].queryset = windows

    def clean(self):
        cleaned = super().clean()
        start, completion = cleaned.get("planned_start"), cleaned.get("planned_completion")
        if start and completion and completion < start:
            self.add_error("planned_completion", _("The planned completion cannot be before the planned start."))
        return cleaned

    def selected_window(self) -> Window | None:
        return self.only_window or self.cleaned_data.get("window")

    def changes(self) -> dict:
        """The cleaned values as keyword arguments for create_application and update_application."""
        fields = ("project_name", "location", "description", "planned_start", "planned_completion")
        return {"window": self.selected_window(), **{field: self.cleaned_data[field] for field in fields}}


def _yes_or_no(value) -> bool:
    """The answer of a yes/no radio group, as posted ("True", "False") or as initial (a bool)."""
    return str(value) == "True"


class UnitLineForm(NldsForm):
    optional_fields = ("requested_amount", "planned_monthly_rent")

    # What is missing is said here, in the service's words (applications.checks), so that one save names every
    # missing answer of every line at once; the service checks again. A new line left untouched is no line at all.
    target_group = forms.ModelChoiceField(
        queryset=TrancheTargetGroup.objects.none(),
        label=_label(UnitLine, "target_group"),
        error_messages={"required": _("Choose a target group.")},
    )
    housing_type = forms.ModelChoiceField(
        queryset=HousingType.objects.all(),
        label=_label(UnitLine, "housing_type"),
        error_messages={"required": _("Choose a housing type.")},
    )
    permanence = forms.ChoiceField(
        choices=[("", "---------"), *Permanence.choices],
        label=_label(UnitLine, "permanence"),
        error_messages={"required": _("Choose permanent or flexible.")},
    )
    # No default: a room is not self-contained, and a ticked box would claim it for every line left as it was.
    self_contained = forms.TypedChoiceField(
        choices=[("True", _("Yes")), ("False", _("No"))],
        coerce=_yes_or_no,
        widget=forms.RadioSelect,
        label=_label(UnitLine, "self_contained"),
        help_text=_("With its own entrance, kitchen and toilet, shared with no other household."),
        error_messages={"required": _("Choose whether the units are self-contained.")},
    )
    common_room = forms.BooleanField(required=False, label=_label(UnitLine, "common_room"))
    construction = forms.ChoiceField(
        choices=Construction.choices,
        initial=Construction.NEW_BUILD,
        label=_label(UnitLine, "construction"),
        error_messages={"required": _("Choose new build or transformation.")},
    )
    # The upper bound keeps units × maximum per unit inside the money column; no project comes near it.
    units = WholeNumberField(
        max_value=100_000,
        label=_label(UnitLine, "units"),
        widget=forms.NumberInput(attrs={"step": 1}),
        error_messages={"required": _("Fill in the number of units.")},
    )
    requested_amount = EuroField(
        required=False,
        max_digits=14,
        decimal_places=2,
        label=_label(UnitLine, "requested_amount"),
        help_text=_("Leave empty to request the maximum; you may ask for less, not more."),
    )
    planned_monthly_rent = EuroField(
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        label=_label(UnitLine, "planned_monthly_rent"),
    )

    def __init__(self, *args, target_groups: QuerySet[TrancheTargetGroup], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_group"].queryset = target_groups

    def unit_line_data(self) -> UnitLineData:
        data = self.cleaned_data
        return UnitLineData(
            target_group=data["target_group"],
            housing_type=data["housing_type"],
            permanence=data["permanence"],
            units=data["units"],
            self_contained=data["self_contained"],
            common_room=data["common_room"],
            construction=data["construction"],
            requested_amount=data["requested_amount"],
            planned_monthly_rent=data["planned_monthly_rent"],
        )


class BaseUnitLineFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].label = _("Remove this line")
        form.fields["DELETE"].widget.attrs["class"] = "utrecht-checkbox utrecht-checkbox--html-input"

    def filled_forms(self) -> list[UnitLineForm]:
        """The rows that become unit lines, in order: existing rows and new rows the user filled in, not removed."""
        return [
            form
            for index, form in enumerate(self.forms)
            if not self._should_delete_form(form) and (index < self.initial_form_count() or form.has_changed())
        ]

    def unit_lines(self) -> list[UnitLineData]:
        return [form.unit_line_data() for form in self.filled_forms()]


UnitLineFormSet = forms.formset_factory(
    UnitLineForm, formset=BaseUnitLineFormSet, extra=1, can_delete=True, max_num=200, validate_max=True
)


def initial_unit_lines(application: Application) -> list[dict]:
    """The saved lines as form values. An amount at its maximum shows empty, so it follows later changes of units."""
    rows = []
    for line in application.unit_lines.all():
        maximum_per_unit = application.tranche.max_per_unit(permanence=line.permanence, housing_type=line.housing_type)
        at_maximum = maximum_per_unit is not None and line.requested_amount == maximum_per_unit * line.units
        rows.append(
            {
                "target_group": line.target_group_id,
                "housing_type": line.housing_type_id,
                "permanence": line.permanence,
                "self_contained": line.self_contained,
                "common_room": line.common_room,
                "construction": line.construction,
                "units": line.units,
                "requested_amount": None if at_maximum else line.requested_amount,
                "planned_monthly_rent": line.planned_monthly_rent,
            }
        )
    return rows


def add_service_errors(error: ValidationError, *, form: forms.Form, line_forms: list[forms.Form] = ()) -> None:
    """Put a service's ValidationError on the field it names; "lines-<index>-<field>" is the index-th unit line."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        match = LINE_ERROR_KEY.fullmatch(key)
        if match and int(match["index"]) < len(line_forms):
            line_form = line_forms[int(match["index"])]
            line_form.add_error(match["field"] if match["field"] in line_form.fields else None, messages)
        else:
            form.add_error(key if key in form.fields else None, messages)


class AttachmentForm(NldsForm):
    kind = forms.ChoiceField(
        choices=[("", "---------"), *AttachmentKind.choices],
        label=_("Kind of document"),
        error_messages={"required": _("Choose the kind of document.")},
    )
    # Empty files reach the service, which explains what is wrong with them.
    file = forms.FileField(
        allow_empty_file=True,
        label=_("File"),
        error_messages={"required": _("Choose the file to upload.")},
        help_text=_("PDF, XLSX or DOCX."),
        widget=forms.FileInput(attrs={"accept": ".pdf,.xlsx,.docx"}),
    )

    def __init__(self, *args, refusal: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        # Why the upload was stopped before the file was all in (applications.uploads): said instead of "required".
        self.refusal = refusal
        if refusal:
            self.fields["file"].required = False

    def clean_file(self):
        if self.refusal:
            raise ValidationError(self.refusal, code="too_large")
        return self.cleaned_data["file"]


class WithdrawForm(NldsForm):
    reason = forms.CharField(
        required=False,
        label=_("Reason for withdrawing"),
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[validate_multiline_text],
    )


class DeclarationForm(NldsForm):
    """The signatory's declaration on the check-your-answers page; the text declared is kept with the ready state."""

    declaration = forms.BooleanField(
        error_messages={"required": _("Tick the declaration to confirm it.")},
        widget=forms.CheckboxInput(attrs={"required": True}),
    )

    def __init__(self, *args, municipality: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["declaration"].label = _(
            "I declare that I am authorised to act on behalf of the municipality of %(municipality)s and that the "
            "information has been filled in truthfully."
        ) % {"municipality": municipality}

    def declared_text(self) -> str:
        return str(self.fields["declaration"].label) if self.is_valid() else ""


class InformationReplyForm(NldsForm):
    reply = forms.CharField(
        required=False,
        label=_("Your reply"),
        help_text=_("Explain what you changed or added. Add documents under Attachments."),
        widget=forms.Textarea(attrs={"rows": 5}),
        validators=[validate_multiline_text],
    )
