"""Read-only representations of tranches and stored totals for the API (grants.api)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from grants.models import MONEY, Tranche, TrancheAmendment, Window

from .models import TotalsRow


class AmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrancheAmendment
        fields = [
            "kind",
            "publication_reference",
            "effective_at",
            "old_ceiling",
            "new_ceiling",
            "old_closes_at",
            "new_closes_at",
        ]


class WindowSerializer(serializers.ModelSerializer):
    class Meta:
        model = Window
        fields = ["code", "name", "budget_ceiling", "ranking_method", "tie_break", "category_rule"]


class TrancheSerializer(serializers.ModelSerializer):
    scheme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    ceiling_in_force = serializers.SerializerMethodField(
        help_text="The ceiling after every amendment that has taken effect."
    )
    closes_at_in_force = serializers.SerializerMethodField(
        help_text="The closing after every amendment that has taken effect."
    )
    amendments = AmendmentSerializer(many=True, read_only=True, help_text="Published changes, oldest first.")
    windows = WindowSerializer(many=True, read_only=True)

    class Meta:
        model = Tranche
        fields = [
            "slug",
            "scheme",
            "number",
            "year",
            "title",
            "source",
            "opens_at",
            "closes_at",
            "closes_at_in_force",
            "budget_ceiling",
            "ceiling_in_force",
            "amendments",
            "windows",
        ]
        # Read-only fields carry no database range validators, which would make the schema differ per database.
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_ceiling_in_force(self, tranche: Tranche) -> str:
        # As the other amounts: a string with two decimals, never a float.
        return serializers.DecimalField(**MONEY).to_representation(tranche.ceiling_at(timezone.now()))

    @extend_schema_field(serializers.DateTimeField())
    def get_closes_at_in_force(self, tranche: Tranche) -> str:
        return serializers.DateTimeField().to_representation(tranche.closes_at_in_force(timezone.now()))


class TotalsRowSerializer(serializers.ModelSerializer):
    scheme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    tranche = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    window = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    municipality = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    target_group = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    tranche_target_group = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    housing_type = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = TotalsRow
        fields = [
            "scope",
            "scheme",
            "tranche",
            "window",
            "province",
            "municipality",
            "target_group",
            "tranche_target_group",
            "housing_type",
            "permanence",
            "year",
            "budget",
            "requested",
            "oversubscription",
            "applications_submitted",
            "municipalities_submitted",
            "applications_granted",
            "municipalities_granted",
            "units_granted",
            "units_permanent",
            "units_flexible",
            "units_realised",
            "amount_granted",
            "amount_settled",
            "amount_reclaimed",
            "computed_at",
            "generation",
        ]
        read_only_fields = fields


class LetterSerializer(serializers.Serializer):
    tranche = serializers.SlugField(help_text="Slug of the tranche.")
    language = serializers.CharField(help_text="Always nl: the paragraph is written for the Dutch letter.")
    computed_at = serializers.DateTimeField(help_text="When the totals the paragraph is based on were computed.")
    text = serializers.CharField(help_text="The paragraph, with Dutch number formatting.")
