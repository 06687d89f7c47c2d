"""The API for decisions and the letters on a case (docs/api.md): a municipality reads its own, agency staff all.

Found through allocation.selectors.decisions_visible_to and allocation.case_file.letters_visible_to, so another
municipality's decision or letter is a 404. A decision letter is made when it is first asked for, as on the portal.
"""

from __future__ import annotations

import django_filters
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.reverse import reverse

from accounts.api import InstantFilter, PublicIdLookup
from accounts.models import AuditAction
from accounts.services import record_audit
from applications.api import MunicipalOrAgency

from .case_file import letters_visible_to
from .decision_letters import generate_decision_letter
from .models import Decision, DecisionKind, DecisionOutcome, Letter, LetterKind
from .selectors import decisions_visible_to

PDF, HTML = "application/pdf", "text/html"


def _link(name: str, obj, request) -> str:
    return reverse(name, kwargs={"public_id": obj.public_id}, request=request)


class DecisionSerializer(serializers.ModelSerializer):
    application = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    reference = serializers.CharField(source="application.reference", read_only=True, help_text="Receipt number.")
    municipality = serializers.CharField(source="application.municipality.code", read_only=True)
    tranche = serializers.CharField(source="application.tranche.slug", read_only=True)
    replaces = serializers.SlugRelatedField(
        slug_field="public_id",
        read_only=True,
        allow_null=True,
        help_text="The decision that was in force before this one; null for the first.",
    )
    letter_pdf = serializers.SerializerMethodField(help_text="The decision letter as PDF.")
    letter_html = serializers.SerializerMethodField(help_text="The decision letter as HTML.")

    class Meta:
        model = Decision
        fields = [
            "public_id",
            "application",
            "reference",
            "municipality",
            "tranche",
            "kind",
            "is_current",
            "replaces",
            "outcome",
            "requested",
            "amount",
            "reason",
            "explanation",
            "decision_date",
            "dispatched_on",
            "start_construction_by",
            "complete_by",
            "units_available_until",
            "letter_pdf",
            "letter_html",
        ]
        read_only_fields = fields

    def get_letter_pdf(self, decision: Decision) -> str:
        return _link("api:decision-letter-pdf", decision, self.context.get("request"))

    def get_letter_html(self, decision: Decision) -> str:
        return _link("api:decision-letter-html", decision, self.context.get("request"))


class CaseLetterSerializer(serializers.ModelSerializer):
    application = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    reference = serializers.CharField(source="application.reference", read_only=True, help_text="Receipt number.")
    pdf = serializers.SerializerMethodField(help_text="The letter as PDF; null for a letter kept only as HTML.")
    html = serializers.SerializerMethodField(help_text="The letter as HTML.")

    class Meta:
        model = Letter
        fields = ["public_id", "application", "reference", "kind", "issued_at", "pdf", "html"]
        read_only_fields = fields

    def get_pdf(self, letter: Letter) -> str | None:
        return _link("api:letter-pdf", letter, self.context.get("request")) if letter.pdf else None

    def get_html(self, letter: Letter) -> str:
        return _link("api:letter-html", letter, self.context.get("request"))


class DecisionFilter(django_filters.FilterSet):
    application = django_filters.UUIDFilter(field_name="application__public_id")
    tranche = django_filters.CharFilter(field_name="application__tranche__slug", help_text="Slug of the tranche.")
    kind = django_filters.ChoiceFilter(choices=DecisionKind.choices)
    outcome = django_filters.ChoiceFilter(choices=DecisionOutcome.choices)
    is_current = django_filters.BooleanFilter(help_text="Only the decisions in force (true) or only replaced ones.")
    decided_after = django_filters.DateFilter(field_name="decision_date", lookup_expr="gte")

    class Meta:
        model = Decision
        fields = ["application", "tranche", "kind", "outcome", "is_current"]


class LetterFilter(django_filters.FilterSet):
    application = django_filters.UUIDFilter(field_name="application__public_id")
    kind = django_filters.ChoiceFilter(choices=LetterKind.choices)
    issued_after = InstantFilter(field_name="issued_at", lookup_expr="gte")

    class Meta:
        model = Letter
        fields = ["application", "kind"]


def _download(request, stored, *, content_type: str, filename: str, target) -> FileResponse:
    record_audit(action=AuditAction.DOWNLOAD, request=request._request, actor=request.user, target=target)
    response = FileResponse(
        stored.open("rb"), content_type=content_type, as_attachment=content_type == PDF, filename=filename
    )
    # A municipality's letters stay out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


FILE = {"filter_backends": [], "pagination_class": None}


@extend_schema_view(
    list=extend_schema(summary="Decisions: a municipality's own, or all of them for agency staff"),
    retrieve=extend_schema(summary="One decision"),
)
class DecisionViewSet(PublicIdLookup, viewsets.ReadOnlyModelViewSet):
    serializer_class = DecisionSerializer
    permission_classes = [IsAuthenticated, MunicipalOrAgency]
    filterset_class = DecisionFilter
    queryset = Decision.objects.none()

    def get_queryset(self):
        return (
            decisions_visible_to(user=self.request.user)
            .select_related("application__tranche", "replaces")
            .order_by("-decision_date", "-pk")
        )

    def _letter(self, request, file_format: str):
        decision = self.get_object()
        if not decision.letter_pdf:
            generate_decision_letter(decision_id=decision.pk)
            decision.refresh_from_db(fields=["letter_html", "letter_pdf"])
        stored = decision.letter_pdf if file_format == "pdf" else decision.letter_html
        return _download(
            request,
            stored,
            content_type=PDF if file_format == "pdf" else f"{HTML}; charset=utf-8",
            filename=f"beschikking-{decision.application.reference}.{file_format}",
            target=decision,
        )

    @extend_schema(summary="The decision letter as PDF", responses={(200, PDF): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="letter/pdf", **FILE)
    def letter_pdf(self, request, public_id=None):
        return self._letter(request, "pdf")

    @extend_schema(summary="The decision letter as HTML", responses={(200, HTML): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="letter/html", **FILE)
    def letter_html(self, request, public_id=None):
        return self._letter(request, "html")


@extend_schema_view(
    list=extend_schema(summary="Letters on a case besides the decision letters"),
    retrieve=extend_schema(summary="One letter"),
)
class LetterViewSet(PublicIdLookup, viewsets.ReadOnlyModelViewSet):
    serializer_class = CaseLetterSerializer
    permission_classes = [IsAuthenticated, MunicipalOrAgency]
    filterset_class = LetterFilter
    queryset = Letter.objects.none()

    def get_queryset(self):
        return letters_visible_to(user=self.request.user).order_by("-issued_at", "-pk")

    @extend_schema(summary="The letter as PDF", responses={(200, PDF): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], **FILE)
    def pdf(self, request, public_id=None):
        letter = self.get_object()
        if not letter.pdf:
            raise Http404(_("This letter was kept as HTML only."))
        return _download(
            request, letter.pdf, content_type=PDF, filename=letter.pdf.name.rpartition("/")[2], target=letter
        )

    @extend_schema(summary="The letter as HTML", responses={(200, HTML): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], **FILE)
    def html(self, request, public_id=None):
        letter = self.get_object()
        name = letter.html.name.rpartition("/")[2]
        return _download(request, letter.html, content_type=f"{HTML}; charset=utf-8", filename=name, target=letter)


ROUTES = [("decisions", DecisionViewSet, "decision"), ("letters", LetterViewSet, "letter")]
