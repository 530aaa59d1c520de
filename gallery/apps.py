from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _search_index(sender, using, plan=None, **kwargs) -> None:
    # Django rebuilds a SQLite table to alter it, and the rebuild drops the search triggers and
    # the facet counts' (gallery/facet_summary.py).
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .search import ensure_sqlite_index

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("gallery", "0015_prompt_search_indexes") in applied:
        ensure_sqlite_index(connection)
    if ("gallery", "0024_facet_counts") in applied:
        from .facet_summary import ensure_sqlite_triggers

        ensure_sqlite_triggers(connection)


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = _("Gallery")

    def ready(self) -> None:
        post_migrate.connect(_search_index, sender=self, dispatch_uid="gallery-search-index")
