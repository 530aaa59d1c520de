"""Faceted search at scale: a user with 25,000 pictures in a 1,000,000-picture database
(PostgreSQL; 100,000 on SQLite), searching a Chinese word plus two facets (kind and "3 stars
or more"), first page with every facet's counts — server time p50/p95 beside the 50 ms target
and the SQL query count beside 8.

Django runs in this process, configured like the stack (DEBUG off), and the page is requested
with django.test.Client: "server time" is the whole request inside Django (middleware, session
and user, the facet queries, the page, the template and its presigned thumbnail URLs), without
network or browser. Two searches are timed: 城堡 (two characters: too short for a trigram, the
LIKE over the owner's pictures alone) and 白色城堡 (four: the trigram index finds candidates).
Prompts mix Chinese and English phrases; kinds, ratings, favourites, models and sizes vary, and
the owner has albums. Rows are loaded with COPY on PostgreSQL and bulk_create on SQLite (whose
triggers fill the FTS table as they go), then ANALYZEd. --quick: 20,000 rows, 2,000 the
owner's, a few samples (under a minute).
"""

from __future__ import annotations

import io
import json
import random
import time
from datetime import timedelta
from typing import Any

from common import arguments, discard_stack, finish, log, make_stack, object_store, setup_django_in_process, summary

SIZES = {"postgresql": (1_000_000, 25_000), "sqlite": (100_000, 25_000)}
QUICK = (20_000, 2_000)
OTHER_USERS = 200
BATCH = 5_000
TARGET_SECONDS = 0.050
TARGET_QUERIES = 8
PHRASES = [
    "白色城堡在云海之上",
    "一只橘猫睡在城市的屋顶上",
    "竹林 in the morning mist, ink wash",
    "a lighthouse in a storm, oil painting",
    "玫瑰花 in a garden, mountains at sunset",
    "portrait of a fox in a rose garden",
    "赛博朋克城市夜景 neon rain",
    "古老的城堡废墟 ancient castle ruins",
    "星空下的湖泊 a lake under the stars",
    "watercolour village by the sea",
]
KINDS = ["txt2img"] * 6 + ["img2img"] * 2 + ["upscale", "anime"]
VERSIONS = ["dreamlike_v1", "v1.5", "anime"]
SEARCHES = {
    "城堡": {"q": "城堡", "kind": "txt2img", "rating": "3"},
    "白色城堡": {"q": "白色城堡", "kind": "txt2img", "rating": "3"},
}


def _row(number: int, owner_id: int, rng: random.Random, now: Any, total: int) -> dict[str, Any]:
    kind = KINDS[number % len(KINDS)]
    prompt = f"{rng.choice(PHRASES)}，{rng.choice(PHRASES)} #{number}"
    if kind == "upscale":
        params: dict[str, Any] = {"sr_model": rng.choice(["animevideov3", "x4plus"])}
        side = 2048
    elif kind == "anime":
        params = {"style": rng.choice(["classic", "watercolor", "manga"])}
        side = 512
    else:
        side = rng.choice([512, 512, 768, 640])
        params = {"text": prompt, "w": side, "h": side, "seed": rng.randrange(2**32), "version": rng.choice(VERSIONS)}
    key = f"images/fake/{number:07d}"
    return {
        "owner_id": owner_id,
        "kind": kind,
        "prompt": "" if kind in ("upscale", "anime") and number % 2 else prompt,
        "negative_prompt": "blurry" if number % 3 == 0 else "",
        "params": params,
        "width": side,
        "height": side,
        "size_bytes": 370_000,
        "original_key": f"{key}.png",
        "thumb_key": f"{key}-t.webp",
        "preview_key": f"{key}-p.webp",
        "made_by": "Offline engine",
        "is_procedural": True,
        "is_public": number % 7 == 0,
        "is_favourite": number % 10 == 0,
        "rating": rng.choice([0, 0, 0, 1, 2, 3, 4, 5]),
        "created_at": now - timedelta(seconds=(total - number) * 30),
    }


def populate(owner: Any, *, total: int, owned: int) -> float:
    """`total` pictures, `owned` of them the owner's, the rest spread over other users; the
    owner's pictures in a few albums. Returns the seconds taken."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from gallery.models import Album, AlbumItem, Image

    user_model = get_user_model()
    started = time.perf_counter()
    user_model.objects.bulk_create([user_model(username=f"other{n:04d}", password="!") for n in range(OTHER_USERS)])
    others = list(user_model.objects.filter(username__startswith="other").values_list("pk", flat=True))
    rng = random.Random(2026)
    from django.utils import timezone

    now = timezone.now()
    owner_slots = set(rng.sample(range(total), owned))
    fields = [f for f in Image._meta.concrete_fields if not f.generated]  # the database fills model_name
    columns = [f.column for f in fields]
    created = Image._meta.get_field("created_at")
    created.auto_now_add = False  # the rows get their own creation times (months of history)
    try:
        batch: list[Image] = []
        for number in range(total):
            owner_id = owner.pk if number in owner_slots else rng.choice(others)
            batch.append(Image(**_row(number, owner_id, rng, now, total)))
            if len(batch) == BATCH or number == total - 1:
                if connection.vendor == "postgresql":
                    _copy(connection, columns, fields, batch)
                else:
                    Image.objects.bulk_create(batch)
                batch = []
    finally:
        created.auto_now_add = True
    mine = list(Image.objects.filter(owner=owner).order_by("created_at").values_list("id", flat=True))
    for number in range(5):
        album = Album.objects.create(owner=owner, name=f"Album {number}")
        AlbumItem.objects.bulk_create([AlbumItem(album=album, image_id=i) for i in mine[number::7]], batch_size=BATCH)
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load (PostgreSQL 13 and later vacuum a table after
        # many inserts, which marks its pages all-visible: index-only scans need that).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def _copy(connection: Any, columns: list[str], fields: list[Any], batch: list[Any]) -> None:
    """PostgreSQL's COPY: ten times the speed of INSERTs for a million rows."""
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY gallery_image ({names}) FROM STDIN") as copy:
        for image in batch:
            row = []
            for f in fields:
                value = getattr(image, f.attname)
                row.append(json.dumps(value) if isinstance(value, dict | list) else value)
            copy.write_row(row)


def measure(client: Any, query: dict[str, str], *, samples: int, warmup: int = 3) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], []
    response = None
    for number in range(warmup + samples):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/gallery/", query)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET /gallery/ {query} answered {response.status_code}")
        if number >= warmup:
            times.append(elapsed)
            queries.append(len(captured.captured_queries))
    html = response.content.decode()
    count = html.split('data-testid="result-count"', 1)[1].split(">", 1)[1].split("<", 1)[0].strip()
    return {
        "query": query,
        "server_time": summary(times),
        "queries": {"min": min(queries), "max": max(queries)},
        "cards": html.count('data-testid="image-card"'),
        "result_count": count,
        "facet_counts_on_page": "(" in html.split('data-testid="filter-kind"', 1)[1].split("</select>", 1)[0],
    }


def plans(owner: Any, query: dict[str, str]) -> dict[str, Any]:
    """Which indexes the facet query's plan names (does the trigram index take part?)."""
    from django.db import connection
    from django.db.models import Count, Q

    from gallery import search
    from gallery.forms import GallerySearchForm

    form = GallerySearchForm(query)
    form.is_valid()
    criteria = form.criteria()
    plan = search.images(owner, criteria).order_by("-created_at", "-id")[:49].explain()
    counts = (
        search.own_pictures(owner)
        .filter(search.word_filter(criteria.words[0]) if criteria.words else Q())
        .filter(search.short_prompts() if connection.vendor == "postgresql" else Q())
        .values("kind", "rating", "is_favourite", "width", "height", "model_name")
        .annotate(n=Count("id"))
        .order_by()
        .explain()
    )
    return {
        "page_plan_uses_trigram_index": "_trgm" in plan,
        "page_plan_uses_fts": "VIRTUAL TABLE" in plan,
        "page_plan": plan.splitlines()[:12],
        # Migration 0023: the counts should read the owner's search index alone.
        "counts_plan_uses_search_index": "image_owner_facets" in counts,
        "counts_plan": counts.splitlines()[:8],
    }


def run(*, samples: int, total: int, owned: int) -> dict[str, Any]:
    with object_store() as s3:
        stack = make_stack(s3)
        try:
            setup_django_in_process(stack, DEBUG="0", STATIC_MANIFEST="0", ALLOWED_HOSTS="testserver,127.0.0.1")
            from django.contrib.auth import get_user_model
            from django.db import connection
            from django.test import Client

            owner = get_user_model().objects.create_user("search-bench", password=None)
            log(f"search: inserting {total:,} pictures ({owned:,} the owner's) into {connection.vendor}")
            insert_seconds = populate(owner, total=total, owned=owned)
            client = Client()
            client.force_login(owner)
            results = {}
            for word, query in SEARCHES.items():
                log(f"search: {samples} requests of {query}")
                results[word] = {**measure(client, query, samples=samples), **plans(owner, query)}
            log(f"search: {samples} requests of the unfiltered first page")
            results["no words"] = measure(client, {}, samples=samples)
            vendor = connection.vendor
        finally:
            from django.db import connections

            connections.close_all()
            discard_stack(stack)
    return {
        "database": vendor,
        "rows": total,
        "owner_rows": owned,
        "insert_seconds": round(insert_seconds, 1),
        "target_seconds": TARGET_SECONDS,
        "target_queries": TARGET_QUERIES,
        "searches": results,
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    import os

    vendor = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    total, owned = QUICK if args.quick else SIZES[vendor]
    result = run(samples=10 if args.quick else 60, total=total, owned=owned)
    text = io.StringIO()
    for word, data in result["searches"].items():
        stats = data["server_time"]
        print(
            f"{vendor} {word}: p50 {stats['p50'] * 1000:.1f} ms / p95 {stats['p95'] * 1000:.1f} ms "
            f"(target {TARGET_SECONDS * 1000:.0f} ms), {data['queries']['max']} queries (target {TARGET_QUERIES})",
            file=text,
        )
    log(text.getvalue().rstrip())
    finish({"benchmark": "search", **result}, args.out)


if __name__ == "__main__":
    main()
