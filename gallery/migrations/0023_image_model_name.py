"""The gallery's search counts from an index instead of the table (gallery/search.py).

- Image.model_name: the model a picture was made with, a column the database keeps from params
  (a stored generated column; PostgreSQL rewrites the table once to fill it).
- PostgreSQL: image_owner_facets, a covering index of the owner's pictures out of the trash,
  keyed by the counted facets and carrying what the other filters read (created_at,
  source_image_id, the prompts), so the counts are an index-only scan. An index entry may not
  exceed 2,704 bytes, so it holds the pictures whose prompt and negative prompt have at most
  600 characters together (at most 4 bytes each, with the other columns under the limit);
  image_owner_long_prompts finds the others, which are counted from the table.
- The PostgreSQL indexes are built CONCURRENTLY (so the migration is not atomic): pictures go on
  being saved while a large table is indexed.
- SQLite keeps its covering index beside the word index (search.ensure_sqlite_index): Django
  rebuilds a SQLite table to alter it, which drops what the model state does not name.
"""

import django.db.models.fields.json
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models

# The same condition as search.short_prompts() (SHORT_PROMPT_CHARACTERS): the planner uses a partial index only for a query
# that repeats its condition.
SHORT = "LENGTH(prompt) + LENGTH(negative_prompt) <= 600"
CREATE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS image_owner_facets ON gallery_image"
    " (owner_id, kind, rating, is_favourite, width, height, model_name)"
    " INCLUDE (id, created_at, source_image_id, prompt, negative_prompt)"
    f" WHERE trashed_at IS NULL AND {SHORT}",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS image_owner_long_prompts ON gallery_image"
    f" (owner_id) WHERE trashed_at IS NULL AND NOT ({SHORT})",
)
DROP = (
    "DROP INDEX CONCURRENTLY IF EXISTS image_owner_facets",
    "DROP INDEX CONCURRENTLY IF EXISTS image_owner_long_prompts",
)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)
    else:
        from gallery.search import ensure_sqlite_index

        ensure_sqlite_index(schema_editor.connection)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)
    else:  # before the column it names goes
        schema_editor.execute("DROP INDEX IF EXISTS image_owner_facets")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("gallery", "0022_notices"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="model_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Left(
                    django.db.models.functions.comparison.Coalesce(
                        django.db.models.fields.json.KeyTextTransform("version", "params"),
                        django.db.models.fields.json.KeyTextTransform("sr_model", "params"),
                        models.Value(""),
                    ),
                    64,
                ),
                output_field=models.CharField(max_length=64),
                verbose_name="model",
            ),
        ),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
