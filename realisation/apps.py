from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RealisationConfig(AppConfig):
    name = "realisation"
    verbose_name = _("Realisation and settlement")
