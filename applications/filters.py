"""Filters of the API's lists of applications and attachments (applications.api)."""

from __future__ import annotations

import django_filters

from accounts.api import InstantFilter

from .models import Application, Attachment, AttachmentKind, Status


class ApplicationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, help_text="One or more statuses.")
    tranche = django_filters.CharFilter(field_name="tranche__slug", help_text="Slug of the tranche.")
    window = django_filters.CharFilter(field_name="window__code", help_text="Code of the window.")
    municipality = django_filters.CharFilter(field_name="municipality__code", help_text="CBS code, e.g. GM0344.")
    reference = django_filters.CharFilter(help_text="Receipt number.")
    received_after = InstantFilter(field_name="received_at", lookup_expr="gte")
    received_before = InstantFilter(field_name="received_at", lookup_expr="lt")
    updated_after = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this instant: for synchronising."
    )

    class Meta:
        model = Application
        fields = ["status", "tranche", "window", "municipality", "reference"]


class AttachmentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AttachmentKind.choices)

    class Meta:
        model = Attachment
        fields = ["kind"]
