from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllocationConfig(AppConfig):
    name = "allocation"
    verbose_name = _("Allocation and decisions")

    def ready(self):
        from applications.case_file import register_case_file_source

        # Importing connects the receivers.
        from . import receivers  # noqa: F401
        from .case_file import allocation_entries

        register_case_file_source(allocation_entries)
