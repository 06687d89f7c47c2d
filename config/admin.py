"""The back office's site: Django's admin, where agency staff land on their workbench (realisation/workbench.py)."""

from django.contrib import admin

from realisation.workbench import workbench_view


class BackOfficeSite(admin.AdminSite):
    def index(self, request, extra_context=None):
        # Agency staff start on what waits on them; others (the superuser) keep Django's list of pages.
        if request.user.is_agency:
            return workbench_view(self, request)
        return super().index(request, extra_context)
