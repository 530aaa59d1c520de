from django.apps import AppConfig


class EngineConfig(AppConfig):
    """The offline engine: the APISpace protocol served locally (see README, "The offline engine")."""

    name = "engine"
    verbose_name = "Offline engine"
