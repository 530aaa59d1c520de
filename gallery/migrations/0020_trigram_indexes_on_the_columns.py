"""The pg_trgm GIN indexes of the word search move from UPPER(prompt) and UPPER(negative_prompt)
to the columns themselves: the search now writes ILIKE (or LIKE for a word without letters that
have case, such as Chinese, which reads four times faster), and a trigram index on the bare
column answers both. PostgreSQL only; nothing changes on SQLite or in the model state."""

from django.db import migrations

COLUMNS = ("prompt", "negative_prompt")


def _replace(schema_editor, expression: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS image_{column}_trgm")
        target = expression.format(column=column)
        schema_editor.execute(f"CREATE INDEX image_{column}_trgm ON gallery_image USING gin ({target} gin_trgm_ops)")


def on_the_columns(apps, schema_editor):
    _replace(schema_editor, "{column}")


def on_upper(apps, schema_editor):
    _replace(schema_editor, "UPPER({column})")


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0019_image_triage"),
    ]

    operations = [migrations.RunPython(on_the_columns, on_upper, elidable=False)]
