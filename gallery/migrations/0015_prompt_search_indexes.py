"""The indexes of the gallery's word search (gallery/search.py), one kind per database.

PostgreSQL: the pg_trgm extension and GIN trigram indexes on UPPER(prompt) and
UPPER(negative_prompt) (the expressions Django's icontains compares), written as SQL. SQLite: the FTS5 trigram
table and its triggers. Neither is part of the model state (no other database has them), so
each operation does nothing on the other database and makemigrations sees no change.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class OnPostgreSQL(migrations.operations.base.Operation):
    """Run `operation` on PostgreSQL only, leaving the model state as it is."""

    reversible = True

    def __init__(self, operation):
        self.operation = operation

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"On PostgreSQL only: {self.operation.describe()}"


def trigram_index(column):
    # Written as SQL: GinIndex(OpClass(Upper(column))) renders the opclass inside an extra pair of
    # parentheses, which PostgreSQL refuses.
    return migrations.RunSQL(
        f"CREATE INDEX IF NOT EXISTS image_{column}_trgm ON gallery_image USING gin (UPPER({column}) gin_trgm_ops)",
        f"DROP INDEX IF EXISTS image_{column}_trgm",
    )


def sqlite_index(apps, schema_editor):
    from gallery.search import ensure_sqlite_index

    ensure_sqlite_index(schema_editor.connection)


def drop_sqlite_index(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for trigger in ("insert", "delete", "update"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS gallery_image_search_{trigger}")
    schema_editor.execute("DROP TABLE IF EXISTS gallery_image_search")
    schema_editor.execute("DROP TABLE IF EXISTS gallery_image_search_key")


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0014_aigc_labels"),
    ]

    operations = [
        TrigramExtension(),  # does nothing on other databases
        OnPostgreSQL(trigram_index("prompt")),
        OnPostgreSQL(trigram_index("negative_prompt")),
        migrations.RunPython(sqlite_index, drop_sqlite_index, elidable=False),
    ]
