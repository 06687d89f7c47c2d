"""The API for progress reports (docs/api.md): a municipality's systems read its reports, prepare a draft and
submit it; agency staff read every submitted report.

Reports are found through the applications the user may see (applications.selectors) and written through
realisation.services, which check who may and answer with the portal's messages.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.api import InstantFilter, PublicIdLookup, service_errors
from accounts.idempotency import idempotent
from applications.api import MunicipalOrAgency
from applications.models import Application
from applications.selectors import applications_visible_to
from applications.serializers import WholeNumberField
from applications.validators import validate_multiline_text, validate_plausible_date

from . import selectors, services
from .models import ProgressReport, ProgressStatus, RealisedUnits


class RealisedUnitsSerializer(serializers.ModelSerializer):
    class Meta:
        model = RealisedUnits
        fields = ["unit_line", "units"]
        read_only_fields = fields


class ProgressReportSerializer(serializers.ModelSerializer):
    application = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    reference = serializers.CharField(source="application.reference", read_only=True, help_text="Receipt number.")
    realised = RealisedUnitsSerializer(source="realised_units", many=True, read_only=True)

    class Meta:
        model = ProgressReport
        fields = [
            "public_id",
            "application",
            "reference",
            "status",
            "is_latest",
            "construction_started_on",
            "completed_on",
            "delay_remarks",
            "realised",
            "prepared_at",
            "submitted_at",
        ]
        read_only_fields = fields


class RealisedInputSerializer(serializers.Serializer):
    unit_line = serializers.IntegerField(help_text="Id of a unit line of the application.")
    units = WholeNumberField(allow_null=True, max_value=100_000, help_text="Units realised on it so far, 0 if none.")


class ProgressReportInputSerializer(serializers.Serializer):
    application = serializers.UUIDField(help_text="Public id of a granted application of your municipality.")
    construction_started_on = serializers.DateField(allow_null=True, default=None, validators=[validate_plausible_date])
    completed_on = serializers.DateField(allow_null=True, default=None, validators=[validate_plausible_date])
    delay_remarks = serializers.CharField(allow_blank=True, default="", validators=[validate_multiline_text])
    realised = RealisedInputSerializer(many=True, max_length=200, help_text="One entry for every unit line.")


class ProgressReportFilter(django_filters.FilterSet):
    application = django_filters.UUIDFilter(field_name="application__public_id")
    status = django_filters.ChoiceFilter(choices=ProgressStatus.choices)
    is_latest = django_filters.BooleanFilter(help_text="Only the latest submitted report of each application.")
    submitted_after = InstantFilter(field_name="submitted_at", lookup_expr="gte")

    class Meta:
        model = ProgressReport
        fields = ["application", "status", "is_latest"]


def reports_visible_to(user):
    """A municipality's reports, drafts included; for agency staff, the submitted reports of every municipality."""
    if user.is_agency:
        return ProgressReport.objects.filter(status=ProgressStatus.SUBMITTED)
    return ProgressReport.objects.filter(application__in=applications_visible_to(user=user))


def _realised(grant: Application, entries: list[dict]) -> tuple[dict[int, int | None], dict[int, int]]:
    """The units by unit line for the service, and where each line stood in the request; 400 for unknown lines."""
    lines = {line.pk for line in grant.unit_lines.all()}
    errors: dict[str, list[str]] = {}
    realised: dict[int, int | None] = {}
    index_of: dict[int, int] = {}
    for index, entry in enumerate(entries):
        line = entry["unit_line"]
        if line not in lines:
            errors[f"realised.{index}.unit_line"] = [_("Not a unit line of this application.")]
        elif line in realised:
            errors[f"realised.{index}.unit_line"] = [_("This unit line is given twice.")]
        else:
            realised[line], index_of[line] = entry["units"], index
    missing = sorted(lines - set(realised))
    if missing and not errors:
        errors["realised"] = [
            _("Give the units realised on every unit line; missing: %(lines)s.")
            % {"lines": ", ".join(str(line) for line in missing)}
        ]
    if errors:
        raise exceptions.ValidationError(errors)
    return realised, index_of


@extend_schema_view(
    list=extend_schema(summary="Progress reports: a municipality's own, or every submitted one for agency staff"),
    retrieve=extend_schema(summary="One progress report"),
)
class ProgressReportViewSet(
    PublicIdLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = ProgressReportSerializer
    permission_classes = [IsAuthenticated, MunicipalOrAgency]
    filterset_class = ProgressReportFilter
    queryset = ProgressReport.objects.none()

    def get_queryset(self):
        return (
            reports_visible_to(self.request.user)
            .select_related("application")
            .prefetch_related("realised_units")
            .order_by("-prepared_at", "-pk")
        )

    def _answer(self, report: ProgressReport, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=report.pk)).data, status=code)

    @extend_schema(
        summary="Prepare the draft report of a grant, replacing an earlier draft",
        request=ProgressReportInputSerializer,
        responses={201: ProgressReportSerializer},
    )
    @idempotent
    def create(self, request):
        if not request.user.is_municipal:
            raise PermissionDenied(_("Only the municipality that received the grant can report its progress."))
        form = ProgressReportInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            grant = selectors.grant_with_progress(
                user=request.user, public_id=data["application"], today=timezone.localdate()
            )
        except Application.DoesNotExist:
            raise exceptions.ValidationError({"application": [_("No granted application found.")]}) from None
        realised, index_of = _realised(grant, data["realised"])

        def rename(key: str) -> str:
            line = key.removeprefix("realised-")
            return f"realised.{index_of[int(line)]}.units" if line.isdigit() and int(line) in index_of else key

        with service_errors(rename):
            report = services.save_progress_report(
                application=grant,
                user=request.user,
                construction_started_on=data["construction_started_on"],
                completed_on=data["completed_on"],
                realised=realised,
                delay_remarks=data["delay_remarks"],
            )
        return self._answer(report, status.HTTP_201_CREATED)

    @extend_schema(summary="Submit a draft report (a signatory)", request=None, responses=ProgressReportSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request, public_id=None):
        report = self.get_object()
        with service_errors():
            services.submit_progress_report(report=report, user=request.user)
        return self._answer(report)


ROUTES = [("progress-reports", ProgressReportViewSet, "progress-report")]
