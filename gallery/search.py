"""Faceted search of a user's own gallery: words of the prompt (Chinese or English), kind,
rating, album, favourite, size, seed, date range, model and "originals only", with a count
beside every choice of every facet.

A word matches as a substring, ignoring case, in the prompt or the negative prompt: a Chinese
word inside a longer prompt matches (Chinese has no spaces). The LIKE that decides is the same
on both databases; each adds an index that finds the candidates without reading every prompt:

- PostgreSQL: pg_trgm GIN indexes on prompt and negative_prompt (migration 0020), which
  answer the ILIKE (or, for a word without letters that have case, the LIKE) of `Contains`.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34 or later), kept in step with
  gallery_image by triggers (`ensure_sqlite_index`). Trigrams need three characters, so a
  shorter word (猫, 城市, "ox") is matched by the LIKE alone: still correct, only unindexed.

Facet counts follow the usual rule: each choice counts what it would show with every other
filter as it is. They come from one GROUP BY query (kind × rating × favourite × model × size)
over the pictures that match the words, seed, dates, album and "originals only", added up
here; the albums' counts are one more query (_albums_with_counts). When nothing narrows the
pictures but the counted facets (the gallery's first page), the groups are the ones the database
keeps up to date (gallery/facet_summary.py) instead.

Both read an index, not the table (migration 0023): EXPLAIN ANALYZE on 25,000 of 1,000,000
pictures showed the GROUP BY spending 110 of its 157 ms fetching the owner's rows from 20,000
table pages (one picture a page: pictures of many users are stored side by side), and the album
counts the same again. A covering index of the owner's pictures (the counted facets as its keys,
the prompts and the other filters' columns beside them) turns both into index-only scans of
about 10 ms. PostgreSQL caps an index entry at 2,704 bytes, so its index holds the pictures
whose prompts fit (SHORT_PROMPT_CHARACTERS); the few longer ones are counted from the table
through an index of their own, in the same statement (UNION ALL).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from time import monotonic
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import connections
from django.db.models import Count, F, Lookup, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from . import facet_summary
from .galleries import search_text
from .models import Album, AlbumItem, Image

MAX_WORDS = 8
TRIGRAM = 3
# At most this many sizes are offered (the most common ones, and the chosen one).
MAX_SIZES = 12

# PostgreSQL: the pictures whose prompt and negative prompt have at most this many characters
# together are in the owner's search index (migration 0023 repeats the number in its condition).
SHORT_PROMPT_CHARACTERS = 600

# SQLite: gallery_image_search (FTS5, trigram) holds the prompts; gallery_image_search_key
# gives each image the FTS rowid. gallery_image has no integer key of its own, and its implicit
# rowid may change on VACUUM, so the search table is keyed through that table instead.


@dataclass(frozen=True)
class Criteria:
    """What the gallery's search form asks for (built by `GallerySearchForm.criteria`)."""

    words: tuple[str, ...] = ()
    kind: str = ""
    min_rating: int = 0
    album_id: int | None = None
    favourites: bool = False
    size: tuple[int, int] | None = None
    seed: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    model: str = ""
    originals: bool = False
    sort: str = "newest"

    @property
    def is_active(self) -> bool:
        values = (self.words, self.kind, self.min_rating, self.album_id, self.favourites, self.size, self.model)
        dated = (self.seed, self.date_from, self.date_to)
        return any(values) or any(value is not None for value in dated) or self.originals


def words_of(text: Any) -> tuple[str, ...]:
    """The distinct words of a search, at most MAX_WORDS of them."""
    return tuple(dict.fromkeys(search_text(text).split()))[:MAX_WORDS]


# --- the filters ---


def _fts_phrase(word: str) -> str:
    # An FTS5 string: double quotes inside are doubled, so no word is read as query syntax.
    return '"' + word.replace('"', '""') + '"'


class Contains(Lookup):
    """`column` contains `word` as a substring, ignoring case: ILIKE on PostgreSQL, or LIKE when
    the word has no letters with case (Chinese), which reads four times faster and means the
    same; LIKE on SQLite (which ignores ASCII case). Both are answered by a pg_trgm GIN index
    on the bare column, where Django's icontains (UPPER(col) LIKE) would need one on UPPER(col)."""

    lookup_name = "contains_word"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: str, connection: Any) -> tuple[str, list[str]]:
        return "%s", [f"%{connection.ops.prep_for_like_query(value)}%"]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            cased = self.rhs.lower() != self.rhs.upper()
            return f"{lhs} {'ILIKE' if cased else 'LIKE'} {rhs}", [*lhs_params, *rhs_params]
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


def word_filter(word: str) -> Q:
    """The pictures whose prompt or negative prompt contains `word`."""
    return Q(Contains(F("prompt"), word)) | Q(Contains(F("negative_prompt"), word))


def _with_words(queryset: QuerySet[Image], words: tuple[str, ...]) -> QuerySet[Image]:
    for word in words:
        queryset = queryset.filter(word_filter(word))
    indexed = [word for word in words if len(word) >= TRIGRAM]
    if indexed and connections[queryset.db].vendor == "sqlite":
        match = " AND ".join(_fts_phrase(word) for word in indexed)
        if _few_candidates(queryset.db, match, int(monotonic() // FTS_PLAN_SECONDS)):
            # The trigram index narrows to the candidates; the LIKE above still decides (its
            # case folding is the one both databases share). A constant statement; the words
            # travel as a parameter.
            queryset = queryset.filter(id__in=RawSQL(_FTS_CANDIDATES, [match]))  # noqa: S611
    return queryset


# SQLite: the word index is everybody's, so a common word has candidates in every gallery, and
# passing them all costs more than the LIKE over the owner's own search index (bench/search.py
# at 25,000 of 100,000 pictures: a four-character word in a third of the prompts took 133 ms
# through the candidates, 57 ms without them; a word in no prompt 34 ms through them, 67 ms
# without). So the candidates are used when there are at most FTS_MAX_CANDIDATES. Which way a
# search goes only changes its speed, never its result: the choice is remembered for
# FTS_PLAN_SECONDS per process instead of being counted on every request.
FTS_MAX_CANDIDATES = 2_000
FTS_PLAN_SECONDS = 60


@lru_cache(maxsize=256)
def _few_candidates(alias: str, match: str, period: int) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute(_FTS_FEW, [match, FTS_MAX_CANDIDATES + 1])
        return cursor.fetchone()[0] <= FTS_MAX_CANDIDATES


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def own_pictures(owner: AbstractBaseUser) -> QuerySet[Image]:
    """The owner's pictures, through the one visibility rule (what it hides, the gallery hides)."""
    return Image.objects.owned_by(owner)


def short_prompts() -> Q:
    """The condition of the PostgreSQL search index, as the planner must read it to use it."""
    return Q(LessThanOrEqual(Length("prompt") + Length("negative_prompt"), SHORT_PROMPT_CHARACTERS))


def _in_index_parts(queryset: QuerySet[Image]) -> list[QuerySet[Image]]:
    """`queryset` as the parts that each read one index: on PostgreSQL the pictures in the
    search index and the ones whose prompts are too long for it; elsewhere itself."""
    if connections[queryset.db].vendor != "postgresql":
        return [queryset]
    return [queryset.filter(short_prompts()), queryset.exclude(short_prompts())]


def _narrowed(owner: AbstractBaseUser, criteria: Criteria, *, album: bool = True) -> QuerySet[Image]:
    """The owner's pictures matching the filters that have no counts of their own (words, seed,
    dates, originals) and the album (unless `album` is False)."""
    queryset = _with_words(own_pictures(owner), criteria.words)
    if criteria.seed is not None:
        queryset = queryset.filter(params__seed=criteria.seed)
    if criteria.date_from:
        queryset = queryset.filter(created_at__gte=_day_start(criteria.date_from))
    if criteria.date_to:
        queryset = queryset.filter(created_at__lt=_day_start(criteria.date_to + timedelta(days=1)))
    if criteria.originals:
        # An original has no source among the owner's pictures (a picture whose source went
        # away counts as an original, so it is never hidden behind a card that is not shown).
        queryset = queryset.exclude(source_image__in=own_pictures(owner).values("id"))
    if album and criteria.album_id is not None:
        queryset = queryset.filter(albumitem__album_id=criteria.album_id, albumitem__album__owner=owner)
    return queryset


def _facet_filter(criteria: Criteria, *, skip: str = "") -> Q:
    """The counted facets as a filter, leaving out `skip`."""
    condition = Q()
    if criteria.kind and skip != "kind":
        condition &= Q(kind=criteria.kind)
    if criteria.min_rating and skip != "rating":
        condition &= Q(rating__gte=criteria.min_rating)
    if criteria.favourites and skip != "favourites":
        condition &= Q(is_favourite=True)
    if criteria.size and skip != "size":
        condition &= Q(width=criteria.size[0], height=criteria.size[1])
    if criteria.model and skip != "model":
        condition &= Q(model_name=criteria.model)
    return condition


def images(owner: AbstractBaseUser, criteria: Criteria) -> QuerySet[Image]:
    """The owner's pictures that match every filter (unordered: pagination orders them)."""
    return _narrowed(owner, criteria).filter(_facet_filter(criteria))


# --- the counts ---


@dataclass
class Facets:
    """The count beside each choice: what it would show with the other filters as they are."""

    total: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    ratings: dict[int, int] = field(default_factory=dict)  # n: pictures rated n or more
    favourites: int = 0
    models: list[tuple[str, int]] = field(default_factory=list)
    sizes: list[tuple[tuple[int, int], int]] = field(default_factory=list)
    albums: list[Album] = field(default_factory=list)  # each with .matching


def _matches(row: dict[str, Any], criteria: Criteria, skip: str) -> bool:
    return (
        (skip == "kind" or not criteria.kind or row["kind"] == criteria.kind)
        and (skip == "rating" or row["rating"] >= criteria.min_rating)
        and (skip == "favourites" or not criteria.favourites or row["is_favourite"])
        and (skip == "size" or not criteria.size or (row["width"], row["height"]) == criteria.size)
        and (skip == "model" or not criteria.model or row["model_name"] == criteria.model)
    )


def counted_facets_only(criteria: Criteria) -> bool:
    """Whether nothing narrows the pictures but the counted facets: then the groups are the
    ones the database keeps (gallery/facet_summary.py), the same as counting them."""
    return not replace(criteria, kind="", min_rating=0, favourites=False, size=None, model="").is_active


def facets(owner: AbstractBaseUser, criteria: Criteria) -> Facets:
    """Every facet's counts in two queries (the groups, then the albums)."""
    if counted_facets_only(criteria):
        rows = facet_summary.groups(owner)  # kept by the database: no picture is read
    else:
        groups = [
            part.values(*facet_summary.KEY).annotate(n=Count("id")).order_by()
            for part in _in_index_parts(_narrowed(owner, criteria))
        ]
        # A group may come from both parts: its rows are added up below like any other.
        rows = list(groups[0].union(*groups[1:], all=True)) if len(groups) > 1 else list(groups[0])
    result = Facets()
    kinds: Counter[str] = Counter()
    ratings: Counter[int] = Counter()
    models: Counter[str] = Counter()
    sizes: Counter[tuple[int, int]] = Counter()
    for row in rows:
        n = row["n"]
        if _matches(row, criteria, ""):
            result.total += n
        if _matches(row, criteria, "kind"):
            kinds[row["kind"]] += n
        if _matches(row, criteria, "rating"):
            for stars in range(1, row["rating"] + 1):
                ratings[stars] += n
        if _matches(row, criteria, "favourites") and row["is_favourite"]:
            result.favourites += n
        if _matches(row, criteria, "model") and row["model_name"]:
            models[row["model_name"]] += n
        if _matches(row, criteria, "size"):
            sizes[(row["width"], row["height"])] += n
    result.kinds, result.ratings = dict(kinds), dict(ratings)
    result.models = sorted(models.items(), key=lambda item: (-item[1], item[0]))
    if criteria.model and criteria.model not in models:
        result.models.append((criteria.model, 0))
    result.sizes = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:MAX_SIZES]
    if criteria.size and criteria.size not in dict(result.sizes):
        result.sizes.append((criteria.size, sizes.get(criteria.size, 0)))
    result.albums = _albums_with_counts(owner, criteria)
    return result


# The albums' counts: each album's pictures that match every filter but the album. EXPLAIN ANALYZE
# (bench/search.py, 25,000 of 1,000,000 pictures, PostgreSQL) chose between two statements:
# - With a filter (words, facets, dates...): joining the album rows to all 18,000 of their items
#   with a FILTER (WHERE image_id IN (...) OR image_id IN (...)) spent 16 ms probing two hashed
#   subplans for every item. Counting only the matching items, grouped by album, takes 8 ms: the
#   matching pictures once, through the search index, hashed; the items scanned against it.
#   Django's ORM cannot join a queryset to a grouped one, so the two compiled statements are put
#   together here, as derived_counts does. (A count per album, correlated, was as fast with one
#   part of the search index and four times slower with two.)
# - With none, every picture matches: the grouped count first makes its 25,000 ids distinct (a
#   hash aggregate, 13 ms), and the FILTER form is the faster one (26 against 33 ms).
# Either way the counts are the same; only the statement differs.
_ALBUM_COUNTS = """SELECT album.*, COALESCE(counted.n, 0) AS matching FROM ({albums}) album
    LEFT JOIN ({counts}) counted ON counted.album_id = album.id ORDER BY album.name"""


def _albums_with_counts(owner: AbstractBaseUser, criteria: Criteria) -> list[Album]:
    parts = [part.values("id") for part in _in_index_parts(images(owner, replace(criteria, album_id=None)))]
    albums = Album.objects.filter(owner=owner)
    if not replace(criteria, album_id=None).is_active:
        in_album = Q()
        for part in parts:
            in_album |= Q(albumitem__image__in=part)
        return list(albums.annotate(matching=Count("albumitem", filter=in_album)).order_by("name"))
    matching = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    counts = (
        AlbumItem.objects.filter(album__owner=owner, image__in=matching)
        .values("album_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    albums_sql, albums_params = albums.order_by().query.sql_with_params()
    counts_sql, counts_params = counts.query.sql_with_params()
    # Only Django's own compiled SQL is put together; values are parameters.
    sql = _ALBUM_COUNTS.format(albums=albums_sql, counts=counts_sql)
    return list(Album.objects.raw(sql, [*albums_params, *counts_params]))  # noqa: S611


# --- lineage on the cards ---


_DESCENDANTS = """WITH RECURSIVE tree(root, id) AS (
    SELECT mine.source_image_id, mine.id FROM ({mine}) mine WHERE mine.source_image_id IN ({marks})
    UNION SELECT tree.root, mine.id FROM ({mine}) mine JOIN tree ON mine.source_image_id = tree.id
) SELECT root, COUNT(*) FROM tree GROUP BY root"""


def derived_counts(owner: AbstractBaseUser, pictures: list[Image]) -> dict[UUID, int]:
    """How many of the owner's pictures descend from each of `pictures` (children, their
    children...), in one recursive query through the visibility rule."""
    if not pictures:
        return {}
    connection = connections[Image.objects.db]
    mine, mine_params = own_pictures(owner).values("id", "source_image_id").query.sql_with_params()
    pk = Image._meta.pk
    roots = [pk.get_db_prep_value(picture.id, connection) for picture in pictures]
    marks = ", ".join(["%s"] * len(roots))
    # Only Django's own compiled SQL and placeholders are put together here; values are parameters.
    sql = _DESCENDANTS.format(mine=mine, marks=marks)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*mine_params, *roots, *mine_params])
        return {root if isinstance(root, UUID) else UUID(str(root)): n for root, n in cursor.fetchall()}


# --- the SQLite index ---

_SQLITE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS gallery_image_search_key (id INTEGER PRIMARY KEY, image_id char(32) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS gallery_image_search USING fts5(prompt, negative_prompt, tokenize='trigram')",
    """CREATE TRIGGER IF NOT EXISTS gallery_image_search_insert AFTER INSERT ON gallery_image BEGIN
        INSERT INTO gallery_image_search_key (image_id) VALUES (new.id);
        INSERT INTO gallery_image_search (rowid, prompt, negative_prompt) VALUES (
            (SELECT id FROM gallery_image_search_key WHERE image_id = new.id), new.prompt, new.negative_prompt);
    END""",
    """CREATE TRIGGER IF NOT EXISTS gallery_image_search_delete AFTER DELETE ON gallery_image BEGIN
        DELETE FROM gallery_image_search
            WHERE rowid = (SELECT id FROM gallery_image_search_key WHERE image_id = old.id);
        DELETE FROM gallery_image_search_key WHERE image_id = old.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS gallery_image_search_update
    AFTER UPDATE OF prompt, negative_prompt ON gallery_image BEGIN
        UPDATE gallery_image_search SET prompt = new.prompt, negative_prompt = new.negative_prompt
            WHERE rowid = (SELECT id FROM gallery_image_search_key WHERE image_id = new.id);
    END""",
)
# The owner's search index (migration 0023): SQLite has no INCLUDE and no entry size limit, so
# every column the counts read is a key, the prompts too, and trashed_at: SQLite reads a partial
# index alone only when it holds the columns of its own condition. Only once the column it names
# exists (migration 0015 runs this before 0023 adds it).
_SQLITE_FACETS_INDEX = """CREATE INDEX IF NOT EXISTS image_owner_facets ON gallery_image
    (owner_id, kind, rating, is_favourite, width, height, model_name, created_at, source_image_id, id,
    trashed_at, prompt, negative_prompt) WHERE trashed_at IS NULL"""
_SQLITE_IN_STEP = """SELECT (SELECT COUNT(*) FROM gallery_image), (SELECT COUNT(*) FROM gallery_image_search_key),
    (SELECT COUNT(*) FROM gallery_image i JOIN gallery_image_search_key k ON k.image_id = i.id)"""
_SQLITE_REBUILD = (
    "DELETE FROM gallery_image_search",
    "DELETE FROM gallery_image_search_key",
    "INSERT INTO gallery_image_search_key (image_id) SELECT id FROM gallery_image",
    """INSERT INTO gallery_image_search (rowid, prompt, negative_prompt) SELECT k.id, i.prompt, i.negative_prompt
        FROM gallery_image_search_key k JOIN gallery_image i ON i.id = k.image_id""",
)
_FTS_CANDIDATES = """SELECT k.image_id FROM gallery_image_search s
    JOIN gallery_image_search_key k ON k.id = s.rowid WHERE gallery_image_search MATCH %s"""
_FTS_FEW = "SELECT COUNT(*) FROM (SELECT 1 FROM gallery_image_search WHERE gallery_image_search MATCH %s LIMIT %s)"


def ensure_sqlite_index(connection: Any) -> bool:
    """Create the SQLite search index and its triggers if missing, and rebuild it when it does
    not hold exactly the pictures there are. Django rebuilds a SQLite table to alter it, which
    drops its triggers: so this runs after every migrate, not only in the migration. Returns
    whether it rebuilt. Does nothing on other databases."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        for statement in _SQLITE_SCHEMA:
            cursor.execute(statement)
        # table_xinfo: table_info leaves out generated columns, and Django's introspection cannot
        # read this table's generated column back.
        cursor.execute("SELECT 1 FROM pragma_table_xinfo('gallery_image') WHERE name = 'model_name'")
        if cursor.fetchone():
            cursor.execute(_SQLITE_FACETS_INDEX)
        cursor.execute(_SQLITE_IN_STEP)
        images_n, keys_n, joined_n = cursor.fetchone()
        if images_n == keys_n == joined_n:
            return False
        for statement in _SQLITE_REBUILD:
            cursor.execute(statement)
    return True
