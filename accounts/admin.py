from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from .models import MUNICIPAL_ROLES, User

admin.site.site_header = _("Thuisfonds – back office")
admin.site.site_title = _("Thuisfonds back office")
admin.site.index_title = _("Regeling huisvesting aandachtsgroepen")


class RoleFormMixin:
    """Friendly messages for the rules the database enforces on role and municipality."""

    def clean(self):
        cleaned = super().clean()
        role, municipality = cleaned.get("role"), cleaned.get("municipality")
        is_municipal = role in MUNICIPAL_ROLES
        if is_municipal and municipality is None:
            self.add_error("municipality", _("A municipal user needs the municipality they act for."))
        if not is_municipal and municipality is not None:
            self.add_error("municipality", _("Only municipal users belong to a municipality."))
        if is_municipal and cleaned.get("is_staff"):
            self.add_error("is_staff", _("Municipal users work in the portal, not in the back office."))
        return cleaned


class UserAdminChangeForm(RoleFormMixin, UserChangeForm):
    pass


class UserAdminCreationForm(RoleFormMixin, AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:2],
        (_("Role"), {"fields": ("role", "municipality")}),
        *DjangoUserAdmin.fieldsets[2:],
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Role"), {"fields": ("role", "municipality")}),
    )
    list_display = ("username", "first_name", "last_name", "email", "role", "municipality", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active", "groups")
    list_select_related = ("municipality",)
    search_fields = ("username", "first_name", "last_name", "email", "municipality__name", "municipality__code")
    autocomplete_fields = ("municipality",)
