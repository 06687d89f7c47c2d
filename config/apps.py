from django.contrib.admin.apps import AdminConfig


class BackOfficeConfig(AdminConfig):
    """Django's admin with the back office's own site (config/admin.py) as `admin.site`."""

    default_site = "config.admin.BackOfficeSite"
