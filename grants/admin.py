"""Back office for schemes, tranches and reference data. Reference data changes through its loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    AmendmentKind,
    HousingType,
    Municipality,
    Scheme,
    TargetGroup,
    Tranche,
    TrancheAmendment,
    TrancheTargetGroup,
    Window,
)
from .services import amendment_errors, record_amendment
from .templatetags.instants import format_instant
from .templatetags.money import format_euro


def euro(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return f"€ {formats.number_format(value, 2, use_l10n=True, force_grouping=True)}"


def amsterdam_time(value: datetime | None, *, seconds: bool = False) -> str:
    """An instant as a clock in Europe/Amsterdam (the project's TIME_ZONE), whatever the server's zone."""
    if value is None:
        return "–"
    return timezone.localtime(value).strftime("%d-%m-%Y %H:%M:%S" if seconds else "%d-%m-%Y %H:%M")


def euro_or_dash(amount) -> str:
    return "–" if amount is None else format_euro(amount)


def instant_or_dash(instant) -> str:
    return "–" if instant is None else format_instant(instant)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@dataclass(frozen=True)
class TranchePage:
    """A page on a tranche that a later stage adds to the tranche's back office page, e.g. preparing an allocation.

    `view(model_admin, request, tranche)` answers the page; `permission` ("app_label.codename") shows its link.
    """

    name: str
    route: str
    label: Promise | str
    permission: str
    view: Callable[[admin.ModelAdmin, HttpRequest, Tranche], HttpResponse]


# Filled by the admin modules of later stages through add_tranche_page(); the tranche admin reads it.
_TRANCHE_PAGES: list[TranchePage] = []


def add_tranche_page(page: TranchePage) -> None:
    _TRANCHE_PAGES.append(page)


class HistoryWithoutRevertAdmin(SimpleHistoryAdmin):
    """History to read, not to restore: a restored version would bypass the services and the receipt counter."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReferenceDataAdmin(admin.ModelAdmin):
    """Read-only: reference data is loaded from grants/data by its loader, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Municipality)
class MunicipalityAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "province")
    list_filter = ("province",)
    search_fields = ("code", "name")


@admin.register(TargetGroup)
class TargetGroupAdmin(ReferenceDataAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(HousingType)
class HousingTypeAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "is_short_stay")


@admin.register(Scheme)
class SchemeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "legal_basis")
    search_fields = ("code", "name")


class TrancheTargetGroupInline(admin.TabularInline):
    model = TrancheTargetGroup
    fields = ("code", "name", "national_group")
    extra = 0


class WindowInline(admin.StackedInline):
    model = Window
    fields = (
        ("code", "name"),
        "budget_ceiling",
        ("ranking_method", "tie_break", "category_rule"),
        "eligible_target_groups",
    )
    extra = 0

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "eligible_target_groups":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Only this tranche's own groups: save a new tranche with its groups before adding windows.
        groups = obj.target_groups.all() if obj else TrancheTargetGroup.objects.none()
        formset.form.base_fields["eligible_target_groups"].queryset = groups
        return formset


class AmendmentInline(admin.TabularInline):
    """Amendments already recorded: published facts, shown and never changed."""

    model = TrancheAmendment
    verbose_name_plural = _("amendments")
    fields = ("publication_reference", "kind", "effective", "change", "recorded_by", "recorded_at")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("takes effect at"))
    def effective(self, amendment: TrancheAmendment) -> str:
        return amsterdam_time(amendment.effective_at)

    @admin.display(description=_("old → new"))
    def change(self, amendment: TrancheAmendment) -> str:
        if amendment.kind == AmendmentKind.CEILING:
            return f"{euro(amendment.old_ceiling)} → {euro(amendment.new_ceiling)}"
        return f"{amsterdam_time(amendment.old_closes_at)} → {amsterdam_time(amendment.new_closes_at)}"


class NewAmendmentForm(forms.ModelForm):
    class Meta:
        model = TrancheAmendment
        fields = ("kind", "publication_reference", "effective_at", "new_ceiling", "new_closes_at")

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        # The value that does not belong to the kind is dropped, as the service would.
        if kind == AmendmentKind.CEILING:
            cleaned["new_closes_at"] = None
        elif kind == AmendmentKind.CLOSING:
            cleaned["new_ceiling"] = None
        if kind:
            errors = amendment_errors(
                tranche=self.instance.tranche,
                kind=kind,
                new_ceiling=cleaned.get("new_ceiling"),
                new_closes_at=cleaned.get("new_closes_at"),
                effective_at=cleaned.get("effective_at"),
                publication_reference=cleaned.get("publication_reference") or "",
            )
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(field, message)
        return cleaned


class NewAmendmentInline(admin.TabularInline):
    """Record a new amendment; the old value and who recorded it are filled in by the service."""

    model = TrancheAmendment
    form = NewAmendmentForm
    verbose_name = _("new amendment")
    verbose_name_plural = _("record an amendment")
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_add_permission(self, request, obj=None):
        return obj is not None and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Tranche)
class TrancheAdmin(HistoryWithoutRevertAdmin):
    list_display = (
        "title",
        "slug",
        "opens",
        "closes",
        "closes_in_force",
        "ceiling",
        "ceiling_in_force",
    )
    list_filter = ("scheme", "year")
    search_fields = ("title", "slug")
    readonly_fields = ("last_receipt_number",)
    fieldsets = (
        (None, {"fields": ("scheme", ("slug", "number", "year"), "title", "source")}),
        (_("Opening and budget, as first published"), {"fields": (("opens_at", "closes_at"), "budget_ceiling")}),
        (
            _("Maximum contribution"),
            {
                "fields": (
                    ("max_per_permanent_unit", "max_per_flexible_unit", "max_per_short_stay_unit"),
                    "max_per_municipality",
                )
            },
        ),
        (
            _("Application and ranking rules"),
            {
                "fields": (
                    ("min_units_per_application", "information_term_days"),
                    "required_attachments",
                    ("ranking_instant", "last_application_rule"),
                    "transfer_unused_between_windows",
                    ("receipt_prefix", "last_receipt_number"),
                )
            },
        ),
        (_("Obligations"), {"fields": (("months_to_start", "months_to_complete", "years_for_target_groups"),)}),
    )
    inlines = (TrancheTargetGroupInline, WindowInline, AmendmentInline, NewAmendmentInline)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("scheme").prefetch_related("amendments")

    def get_urls(self):
        return [
            path(
                f"<path:object_id>/{page.route}/",
                self.admin_site.admin_view(partial(self._tranche_page, page=page)),
                name=f"grants_tranche_{page.name}",
            )
            for page in _TRANCHE_PAGES
        ] + super().get_urls()

    def _tranche_page(self, request, object_id: str, *, page: TranchePage) -> HttpResponse:
        tranche = self.get_object(request, unquote(object_id))
        if tranche is None or not self.has_view_permission(request, tranche):
            raise Http404
        return page.view(self, request, tranche)

    def render_tranche_page(self, request, tranche: Tranche, template: str, **context) -> TemplateResponse:
        """A page of a later stage on this tranche, with the tranche's breadcrumbs."""
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": tranche,
                "media": self.media,
                **context,
            },
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["tranche_pages"] = [page for page in _TRANCHE_PAGES if request.user.has_perm(page.permission)]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.last_receipt_number:
            # Receipt numbers already issued carry the prefix.
            return (*self.readonly_fields, "receipt_prefix")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            # Never write last_receipt_number from this (possibly stale) copy: submissions increment it meanwhile.
            fields = [f.name for f in obj._meta.concrete_fields if f.editable and not f.primary_key]
            obj.save(update_fields=fields)
        else:
            obj.save()

    def save_formset(self, request, form, formset, change):
        if formset.model is not TrancheAmendment:
            super().save_formset(request, form, formset, change)
            return
        for amendment in formset.save(commit=False):
            record_amendment(
                tranche=form.instance,
                kind=amendment.kind,
                publication_reference=amendment.publication_reference,
                effective_at=amendment.effective_at,
                new_ceiling=amendment.new_ceiling,
                new_closes_at=amendment.new_closes_at,
                user=request.user,
            )

    @admin.display(description=_("opens at"), ordering="opens_at")
    def opens(self, tranche: Tranche) -> str:
        return amsterdam_time(tranche.opens_at)

    @admin.display(description=_("closes at (published)"), ordering="closes_at")
    def closes(self, tranche: Tranche) -> str:
        return amsterdam_time(tranche.closes_at)

    @admin.display(description=_("closes at (in force)"))
    def closes_in_force(self, tranche: Tranche) -> str:
        return amsterdam_time(tranche.closes_at_in_force(timezone.now()))

    @admin.display(description=_("ceiling (published)"), ordering="budget_ceiling")
    def ceiling(self, tranche: Tranche) -> str:
        return euro(tranche.budget_ceiling)

    @admin.display(description=_("ceiling (in force)"))
    def ceiling_in_force(self, tranche: Tranche) -> str:
        return euro(tranche.ceiling_at(timezone.now()))
