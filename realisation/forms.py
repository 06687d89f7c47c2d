"""The progress report form. It parses input into the services' terms; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from applications.forms import NldsForm
from applications.models import UnitLine

from .models import ProgressReport
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
