from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngineConfig(AppConfig):
    """The offline engine: the APISpace protocol served locally (see README, "The offline engine")."""

    name = "engine"
    verbose_name = _("Offline engine")
