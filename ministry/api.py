"""Read-only API for the ministry: tranches, stored totals and the progress-letter paragraph.

Mounted at /api/v1/ with the other stages' endpoints (config/urls.py). Only ministry analysts and agency staff may
read it (ministry.permissions.can_view_totals).
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from grants.models import Tranche, TrancheAmendment

from . import letter
from .filters import TotalsFilter
from .models import TotalsRow
from .permissions import can_view_totals
from .serializers import LetterSerializer, TotalsRowSerializer, TrancheSerializer


class CanViewTotals(BasePermission):
    def has_permission(self, request, view) -> bool:
        allowed, reason = can_view_totals(request.user)
        self.message = reason
        return allowed


class TrancheFilter(django_filters.FilterSet):
    scheme = django_filters.CharFilter(field_name="scheme__code")

    class Meta:
        model = Tranche
        fields = ["scheme", "year"]


class TrancheViewSet(viewsets.ReadOnlyModelViewSet):
    """Tranches with their windows, the ceiling and closing in force and the history of their amendments."""

    serializer_class = TrancheSerializer
    permission_classes = [IsAuthenticated, CanViewTotals]
    filter_backends = [DjangoFilterBackend]
    filterset_class = TrancheFilter
    lookup_field = "slug"
    queryset = (
        Tranche.objects.select_related("scheme")
        .prefetch_related(
            Prefetch("amendments", queryset=TrancheAmendment.objects.order_by("effective_at")),
            "windows",
        )
        .order_by("scheme__code", "-number")
    )

    @extend_schema(
        responses={
            200: LetterSerializer,
            404: OpenApiResponse(description="No such tranche, or its totals have not been computed yet."),
        }
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def letter(self, request, slug=None):
        """The paragraph on this tranche for the ministry's progress letter, in Dutch, from the stored totals."""
        tranche = self.get_object()
        figures = letter.figures_for_letter(tranche=tranche)
        if figures is None:
            raise Http404(_("The totals have not been computed yet."))
        data = {
            "tranche": tranche.slug,
            "language": "nl",
            "computed_at": figures.computed_at,
            "text": letter.progress_paragraph(figures),
        }
        return Response(LetterSerializer(data).data)


class TotalsViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Stored totals, one row per scope and dimension values; an empty tranche means all tranches together."""

    serializer_class = TotalsRowSerializer
    permission_classes = [IsAuthenticated, CanViewTotals]
    filter_backends = [DjangoFilterBackend]
    filterset_class = TotalsFilter
    queryset = TotalsRow.objects.with_dimensions().order_by("id")


ROUTES = [("tranches", TrancheViewSet, "tranche"), ("totals", TotalsViewSet, "totals")]
