"""Back office for schemes, tranches and reference data. Reference data changes through its loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .amendments import amendment_errors, amendment_values, confirm_amendment, discard_amendment, prepare_amendment
from .models import (
    AmendmentKind,
    AmendmentStatus,
    HousingType,
    Municipality,
    Scheme,
    TargetGroup,
    Tranche,
    TrancheAmendment,
    TrancheTargetGroup,
    Window,
)
from .permissions import can_confirm_amendment, can_discard_amendment
from .services import (
    AMENDED_TRANCHE_FIELDS,
    AMENDED_WINDOW_FIELDS,
    tranche_change_errors,
    update_tranche,
    update_window,
)
from .templatetags.instants import format_instant
from .templatetags.money import format_euro


def euro(value: Decimal | None) -> str:
    """€ 1.234.567,00 in both interface languages, as the portal writes amounts; a dash for none."""
    return "–" if value is None else format_euro(value)


def amsterdam_time(value: datetime | None, *, seconds: bool = False) -> str:
    """An instant as a clock in Europe/Amsterdam (the project's TIME_ZONE), whatever the server's zone."""
    if value is None:
        return "–"
    return timezone.localtime(value).strftime("%d-%m-%Y %H:%M:%S" if seconds else "%d-%m-%Y %H:%M")


euro_or_dash = euro


def short_date(day: date | None) -> str:
    """31-12-2026, the same in both languages: a date that keeps a list's column narrow."""
    return "–" if day is None else f"{day:%d-%m-%Y}"


def instant_or_dash(instant) -> str:
    return "–" if instant is None else format_instant(instant)


def has_opened(tranche: Tranche | None) -> bool:
    """An opened tranche shows its ceiling, closing and maxima read-only: they change only by amendment."""
    return tranche is not None and tranche.pk is not None and tranche.has_opened(timezone.now())


def amendment_change(amendment: TrancheAmendment) -> str:
    if amendment.kind == AmendmentKind.CLOSING:
        return f"{amsterdam_time(amendment.old_closes_at)} → {amsterdam_time(amendment.new_closes_at)}"
    if amendment.kind == AmendmentKind.CEILING:
        return f"{euro(amendment.old_ceiling)} → {euro(amendment.new_ceiling)}"
    return f"{euro(amendment.old_amount)} → {euro(amendment.new_amount)}"


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
    """History to read, not to restore: a restored version would bypass the services and the receipt counter.

    Only objects the changelist shows have a history here.
    """

    def revert_disabled(self, request, obj=None):
        return True

    def _require_listed(self, request, object_id: str) -> None:
        # simple_history would fall back on the stored versions of an object the queryset leaves out, such as a
        # municipality's draft.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._require_listed(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        self._require_listed(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        # Without change permission every field of a version is read-only, as on Django's change page.
        # simple_history builds the version page's form without that check, and a non-editable field in the
        # fieldsets (an application's receipt number) then failed the page.
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None or self.has_change_permission(request, obj):
            return readonly
        fields = (field.name for field in [*self.opts.concrete_fields, *self.opts.many_to_many])
        return [*readonly, *(name for name in fields if name not in readonly)]


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

    def get_readonly_fields(self, request, obj=None):
        return AMENDED_WINDOW_FIELDS if has_opened(obj) else ()

    # A window added or removed after the opening would change the deelplafonds without an amendment.
    def has_add_permission(self, request, obj=None):
        return not has_opened(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not has_opened(obj) and super().has_delete_permission(request, obj)

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
    """Amendments prepared, confirmed or discarded: each row is its own audit trail, shown and never edited."""

    model = TrancheAmendment
    verbose_name_plural = _("amendments")
    fields = ("publication_reference", "target", "effective", "change", "status", "prepared", "decided", "actions")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        # Not only the confirmed ones: here prepared ones are confirmed or discarded, and discarded ones stay seen.
        queryset = TrancheAmendment.all_objects.select_related("window", "prepared_by", "confirmed_by", "discarded_by")
        return queryset if self.has_view_or_change_permission(request) else queryset.none()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("what"))
    def target(self, amendment: TrancheAmendment) -> str:
        return amendment.target

    @admin.display(description=_("takes effect at"))
    def effective(self, amendment: TrancheAmendment) -> str:
        return amsterdam_time(amendment.effective_at)

    @admin.display(description=_("old → new"))
    def change(self, amendment: TrancheAmendment) -> str:
        return amendment_change(amendment)

    @admin.display(description=_("prepared"))
    def prepared(self, amendment: TrancheAmendment) -> str:
        return f"{amendment.prepared_by or '–'}, {amsterdam_time(amendment.prepared_at)}"

    @admin.display(description=_("confirmed or discarded"))
    def decided(self, amendment: TrancheAmendment) -> str:
        if amendment.status == AmendmentStatus.DISCARDED:
            return f"{amendment.discarded_by}, {amsterdam_time(amendment.discarded_at)}: {amendment.discard_reason}"
        if amendment.confirmed_by_id:
            return f"{amendment.confirmed_by}, {amsterdam_time(amendment.confirmed_at)}"
        return "–"

    @admin.display(description=_("actions"))
    def actions(self, amendment: TrancheAmendment) -> str:
        if amendment.status != AmendmentStatus.PREPARED:
            return ""
        arguments = [amendment.tranche_id, amendment.pk]
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            reverse("admin:grants_tranche_amendment_confirm", args=arguments),
            _("Confirm (four eyes)"),
            reverse("admin:grants_tranche_amendment_discard", args=arguments),
            _("Discard"),
        )


class NewAmendmentForm(forms.ModelForm):
    class Meta:
        model = TrancheAmendment
        fields = (
            "kind",
            "window",
            "unit_kind",
            "publication_reference",
            "effective_at",
            "new_ceiling",
            "new_closes_at",
            "new_amount",
        )

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind:
            # The values that do not belong to the kind are dropped, as the service would.
            values = amendment_values(
                kind=kind,
                new_ceiling=cleaned.get("new_ceiling"),
                new_closes_at=cleaned.get("new_closes_at"),
                new_amount=cleaned.get("new_amount"),
                window=cleaned.get("window"),
                unit_kind=cleaned.get("unit_kind") or "",
            )
            cleaned.update(values)
            errors = amendment_errors(
                tranche=self.instance.tranche,
                kind=kind,
                effective_at=cleaned.get("effective_at"),
                publication_reference=cleaned.get("publication_reference") or "",
                **values,
            )
            for field, messages_ in errors.items():
                for message in messages_:
                    self.add_error(field, message)
        return cleaned


class NewAmendmentInline(admin.TabularInline):
    """Prepare a new amendment; the old value and who prepared it are filled in by the service."""

    model = TrancheAmendment
    form = NewAmendmentForm
    verbose_name = _("new amendment")
    verbose_name_plural = _("record an amendment")
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["window"].queryset = obj.windows.all() if obj else Window.objects.none()
        return formset

    def has_add_permission(self, request, obj=None):
        return obj is not None and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return False


class TrancheForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        # The fields are read-only once the tranche has opened; this catches a form opened before the opening.
        if self.instance.pk is not None:
            changes = {field: cleaned[field] for field in self.changed_data if field in cleaned}
            for field, messages_ in tranche_change_errors(tranche=self.instance, changes=changes).items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


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
    form = TrancheForm
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
        amendment_pages = [
            path(
                f"<path:object_id>/amendments/<int:amendment_id>/{action}/",
                self.admin_site.admin_view(partial(self._amendment_page, action=action)),
                name=f"grants_tranche_amendment_{action}",
            )
            for action in ("confirm", "discard")
        ]
        return (
            amendment_pages
            + [
                path(
                    f"<path:object_id>/{page.route}/",
                    self.admin_site.admin_view(partial(self._tranche_page, page=page)),
                    name=f"grants_tranche_{page.name}",
                )
                for page in _TRANCHE_PAGES
            ]
            + super().get_urls()
        )

    def _tranche_page(self, request, object_id: str, *, page: TranchePage) -> HttpResponse:
        tranche = self.get_object(request, unquote(object_id))
        if tranche is None or not self.has_view_permission(request, tranche):
            raise Http404
        return page.view(self, request, tranche)

    def _amendment_page(self, request, object_id: str, amendment_id: int, *, action: str) -> HttpResponse:
        """Confirm or discard a prepared amendment: GET shows it (or why not), POST calls the service."""
        tranche = self.get_object(request, unquote(object_id))
        if tranche is None or not self.has_view_permission(request, tranche):
            raise Http404
        amendment = get_object_or_404(
            TrancheAmendment.all_objects.select_related("window", "prepared_by"), pk=amendment_id, tranche=tranche
        )
        confirming = action == "confirm"
        if not request.user.has_perm(f"grants.{'change' if confirming else 'delete'}_trancheamendment"):
            raise PermissionDenied
        if request.method == "POST":
            try:
                if confirming:
                    confirm_amendment(amendment=amendment, user=request.user)
                else:
                    discard_amendment(amendment=amendment, user=request.user, reason=request.POST.get("reason", ""))
            except (PermissionDenied, ValidationError) as error:
                for reason in error.messages if isinstance(error, ValidationError) else [str(error)]:
                    self.message_user(request, reason, messages.ERROR)
                return HttpResponseRedirect(request.path)
            self.message_user(
                request, _("Amendment confirmed.") if confirming else _("Amendment discarded."), messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:grants_tranche_change", args=[tranche.pk]))
        allowed, refusal = (can_confirm_amendment if confirming else can_discard_amendment)(request.user, amendment)
        return self.render_tranche_page(
            request,
            tranche,
            "admin/grants/tranche/amendment_action.html",
            title=_("Confirm amendment (four eyes)") if confirming else _("Discard amendment"),
            amendment=amendment,
            change=amendment_change(amendment),
            refusal="" if allowed else refusal,
            ask_reason=not confirming,
            explanation=_(
                "Once confirmed the amendment counts: a window ceiling or a maximum is written into the tranche "
                "straight away, a ceiling or closing applies from the instant it takes effect. It cannot be undone."
            )
            if confirming
            else _("The amendment never counts; it stays on the tranche's page with your reason."),
            button=_("Yes, confirm") if confirming else _("Yes, discard"),
        )

    def render_tranche_page(self, request, tranche: Tranche, template: str, **context) -> TemplateResponse:
        """A page on this tranche, of a later stage or of an amendment, with the tranche's breadcrumbs."""
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
        fields = [*self.readonly_fields]
        if obj is not None and obj.last_receipt_number:
            # Receipt numbers already issued carry the prefix.
            fields.append("receipt_prefix")
        if has_opened(obj):
            fields += AMENDED_TRANCHE_FIELDS
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            update_tranche(tranche=obj, user=request.user, **{f: form.cleaned_data[f] for f in form.changed_data})
        else:
            obj.save()

    def save_formset(self, request, form, formset, change):
        if formset.model is TrancheAmendment:
            for amendment in formset.save(commit=False):
                prepare_amendment(
                    tranche=form.instance,
                    kind=amendment.kind,
                    publication_reference=amendment.publication_reference,
                    effective_at=amendment.effective_at,
                    new_ceiling=amendment.new_ceiling,
                    new_closes_at=amendment.new_closes_at,
                    new_amount=amendment.new_amount,
                    window=amendment.window,
                    unit_kind=amendment.unit_kind,
                    user=request.user,
                )
        elif formset.model is Window and change:
            formset.save(commit=False)
            for window, changed in formset.changed_objects:
                changes = {field: getattr(window, field) for field in changed if field != "eligible_target_groups"}
                if changes:
                    update_window(window=window, user=request.user, **changes)
            for window in formset.new_objects:
                window.save()
            for window in formset.deleted_objects:
                window.delete()
            formset.save_m2m()
        else:
            super().save_formset(request, form, formset, change)

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
