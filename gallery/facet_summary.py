"""Counts the gallery keeps instead of counting: how many of each owner's pictures out of the trash
share each combination of the facets the search counts (kind, rating, favourite, size, model),
in gallery_facetcount (the FacetCount model).

Why: the gallery's first page shows every facet's counts, and counting them is a GROUP BY over
every one of the owner's pictures. bench/gallery_page.py (PostgreSQL, the owner a tenth of the
rows) measured the first page at 33 ms with 10,000 rows, 62 ms with 100,000 and 447 ms with
1,000,000: 13.5 times, where the target is flat. Read from here, the unfiltered page reads the
owner's few dozen combinations, however many pictures there are.

Who writes it: the database, never the site. Triggers on gallery_image add one when a picture
comes or leaves the trash and take one away when it goes, is trashed, or changes one of the
counted facets; so every way in (the ORM, bulk inserts, COPY, a cascade, the admin) keeps it
right, inside the transaction that changes the picture. A check keeps every count at zero or
more; rows at zero stay (they are read as nothing). `check_invariants` compares it with a
fresh count (`differences`), and `rebuild` makes it again from the table.

When it is read (search.facets): only when no filter narrows the pictures beyond the counted
facets themselves (no words, seed, dates, album or "originals only"). The counted facets are
applied to the groups in Python either way, so the counts are the same as the GROUP BY's.

SQLite: Django rebuilds a SQLite table to alter it, which drops its triggers, so they are
created again after every migrate (`ensure_sqlite_triggers`, as search.ensure_sqlite_index).
Concurrent changes to pictures of one owner with the same facets wait for each other on the
count's row until commit (the same as any counter); that is one owner's own pictures.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from .models import FacetCount, Image

# The statements below are put together from these constant column names only (hence noqa: S608).
KEY = ("kind", "rating", "is_favourite", "width", "height", "model_name")
_KEYED = ("owner_id", *KEY)  # a count's row: whose, and which combination
_COLUMNS = ", ".join(_KEYED)
_OLD = " AND ".join(f"{column} = OLD.{column}" for column in _KEYED)
_NEW = ", ".join(f"NEW.{column}" for column in _KEYED)
_CHANGED = (
    f"({', '.join(f'OLD.{c}' for c in _KEYED)}, OLD.trashed_at IS NULL) IS DISTINCT FROM "
    f"({', '.join(f'NEW.{c}' for c in _KEYED)}, NEW.trashed_at IS NULL)"
)

_POSTGRESQL_FUNCTION = f"""CREATE OR REPLACE FUNCTION gallery_facetcount_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.trashed_at IS NULL THEN
        UPDATE gallery_facetcount SET n = n - 1 WHERE {_OLD};
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.trashed_at IS NULL THEN
        INSERT INTO gallery_facetcount ({_COLUMNS}, n) VALUES ({_NEW}, 1)
        ON CONFLICT ({_COLUMNS}) DO UPDATE SET n = gallery_facetcount.n + 1;
    END IF;
    RETURN NULL;
END $$"""  # noqa: S608
POSTGRESQL_INSTALL = (
    _POSTGRESQL_FUNCTION,
    "DROP TRIGGER IF EXISTS gallery_image_facetcount ON gallery_image",
    """CREATE TRIGGER gallery_image_facetcount AFTER INSERT OR DELETE ON gallery_image
        FOR EACH ROW EXECUTE FUNCTION gallery_facetcount_keep()""",
    "DROP TRIGGER IF EXISTS gallery_image_facetcount_update ON gallery_image",
    # Most updates (a title, publishing, moderation) change nothing that is counted: no work.
    f"""CREATE TRIGGER gallery_image_facetcount_update AFTER UPDATE ON gallery_image
        FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION gallery_facetcount_keep()""",
)
POSTGRESQL_REMOVE = (
    "DROP TRIGGER IF EXISTS gallery_image_facetcount ON gallery_image",
    "DROP TRIGGER IF EXISTS gallery_image_facetcount_update ON gallery_image",
    "DROP FUNCTION IF EXISTS gallery_facetcount_keep()",
)

_SQLITE_ADD = f"""INSERT INTO gallery_facetcount ({_COLUMNS}, n) SELECT {_NEW}, 1 WHERE NEW.trashed_at IS NULL
        ON CONFLICT ({_COLUMNS}) DO UPDATE SET n = n + 1;"""
_SQLITE_TAKE = f"UPDATE gallery_facetcount SET n = n - 1 WHERE OLD.trashed_at IS NULL AND {_OLD};"  # noqa: S608
SQLITE_INSTALL = (
    f"""CREATE TRIGGER IF NOT EXISTS gallery_image_facetcount_insert AFTER INSERT ON gallery_image
    BEGIN {_SQLITE_ADD} END""",
    f"""CREATE TRIGGER IF NOT EXISTS gallery_image_facetcount_delete AFTER DELETE ON gallery_image
    BEGIN {_SQLITE_TAKE} END""",
    f"""CREATE TRIGGER IF NOT EXISTS gallery_image_facetcount_update AFTER UPDATE ON gallery_image
    WHEN {_CHANGED.replace("IS DISTINCT FROM", "IS NOT")} BEGIN {_SQLITE_TAKE} {_SQLITE_ADD} END""",
)
_SQLITE_TRIGGERS = tuple(f"gallery_image_facetcount_{event}" for event in ("insert", "delete", "update"))
SQLITE_REMOVE = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS)
_SQLITE_PRESENT = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s, %s)"


def install(connection: Any) -> None:
    """Create the triggers (idempotent) and count everything afresh."""
    statements = POSTGRESQL_INSTALL if connection.vendor == "postgresql" else SQLITE_INSTALL
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    rebuild(connection)


def remove(connection: Any) -> None:
    statements = POSTGRESQL_REMOVE if connection.vendor == "postgresql" else SQLITE_REMOVE
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def ensure_sqlite_triggers(connection: Any) -> None:
    """SQLite only: the triggers again after a migrate, if a table rebuild dropped them (the
    rebuild copies the rows without them, so the counts stay right; they are counted afresh
    anyway). With all three in place, nothing: every migrate would otherwise recount the table."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(_SQLITE_PRESENT, _SQLITE_TRIGGERS)
        if cursor.fetchone()[0] == len(_SQLITE_TRIGGERS):
            return
    install(connection)


_REBUILD = (
    "DELETE FROM gallery_facetcount",
    f"""INSERT INTO gallery_facetcount ({_COLUMNS}, n) SELECT {_COLUMNS}, COUNT(*) FROM gallery_image
        WHERE trashed_at IS NULL GROUP BY {_COLUMNS}""",  # noqa: S608
)


def rebuild(connection: Any) -> None:
    """Count every owner's pictures afresh (inside one transaction: readers see old or new)."""
    from django.db import transaction

    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in _REBUILD:
            cursor.execute(statement)


def groups(owner: Any) -> list[dict[str, Any]]:
    """The owner's counted combinations, shaped like the search's GROUP BY rows."""
    return list(FacetCount.objects.filter(owner_id=owner.pk, n__gt=0).values(*KEY, "n"))


def differences(using: str = "default") -> list[str]:
    """Where the kept counts disagree with a fresh count of the table (check_invariants)."""
    counted = {
        (row["owner_id"], *(row[k] for k in KEY)): row["n"]
        for row in Image.objects.using(using)
        .filter(trashed_at__isnull=True)
        .values("owner_id", *KEY)
        .annotate(n=Count("id"))
        .order_by()
    }
    kept = {
        (row["owner_id"], *(row[k] for k in KEY)): row["n"]
        for row in FacetCount.objects.using(using).filter(n__gt=0).values("owner_id", *KEY, "n")
    }
    return [
        f"facet counts of user {key[0]} {dict(zip(KEY, key[1:], strict=True))}: kept {kept.get(key, 0)}, "
        f"counted {counted.get(key, 0)}"
        for key in sorted(set(counted) | set(kept), key=str)
        if counted.get(key, 0) != kept.get(key, 0)
    ]
