from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RealisationConfig(AppConfig):
    name = "realisation"
    verbose_name = _("Realisation and settlement")

    def ready(self):
        # Models can be imported once the apps are loaded, so the registration waits for ready().
        from applications.case_file import register_case_file_source

        from .case_file import realisation_entries

        register_case_file_source(realisation_entries)
