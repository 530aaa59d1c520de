"""The personal gallery page: 48 thumbnails for a user with 10,000 images in a 100,000-image
database — server time p50/p95, SQL query count and page weight, on the first page and on a
deep page reached through the keyset cursor (?after=<cursor>, gallery/pagination.py).

Django runs in this process, configured like the stack (DEBUG off, a fresh SQLite file or a
fresh PostgreSQL database), and the page is requested with django.test.Client: "server time"
is the whole request inside Django (middleware, session and user lookup, the queries, the
template, 48 presigned S3 URLs), without network or browser. Half the requests reuse the URLs
signed for the page before (a revisit within MEDIA_URL_REUSE_SECONDS), half sign all 48 anew
(`server_time_signing_all`); both are printed. Rows are bulk-inserted in batches
of 5,000 with realistic spread-out creation times (--quick: 20,000 rows, 2,000 the owner's);
the gallery owner's rows all point at 48 real WebP thumbnails (gallery.imaging.make_webp of
engine-like pictures) stored in S3, so the page weight is measured for real: the HTML as
served plus the bytes of the 48 thumbnails fetched through the presigned URLs on the page.
Static files (CSS, htmx) are listed apart: a browser caches them after the first visit.

Cost as the gallery grows (PostgreSQL only): the same database is grown from 10,000 to 100,000
to 1,000,000 images (--quick: 10,000 then 20,000), the owner keeping a tenth of them, and at each
size the first page and the owner's middle page (the deepest a keyset pager reaches on average)
are measured; their p50 at the largest size over the smallest is printed beside the target
(flat: at most 1.2x). The figures of the main size (100,000; --quick 20,000) are those of that
step. Each figure is printed beside its target: p95 at most 30 ms, at most 6 SQL queries.
"""

from __future__ import annotations

import html
import io
import random
import re
import time
from datetime import timedelta

import requests
from common import (
    arguments,
    discard_stack,
    finish,
    log,
    make_stack,
    ms,
    object_store,
    sample_png,
    setup_django_in_process,
    summary,
)

TOTAL_IMAGES = 100_000
OWNER_IMAGES = 10_000
QUICK_TOTAL, QUICK_OWNER = 20_000, 2_000  # --quick: a fifth of the data, to keep the run short
OWNER_SHARE = 10  # the owner has one image in ten, at every size
SWEEP = (10_000, 100_000, 1_000_000)  # PostgreSQL: the database grows through these sizes
QUICK_SWEEP = (10_000, 20_000)
TARGET_P95 = 0.030  # seconds, the first page
TARGET_QUERIES = 6
TARGET_FLAT = 1.2  # the largest size's p50 over the smallest's
OTHER_USERS = 90
BATCH = 5_000
DEEP_PAGE = 150  # rows 7,153..7,200 of the owner's 10,000 (newest first)
THUMB = re.compile(r'class="thumb-link"><img src="([^"]+)"')
STATIC = re.compile(r'(?:href|src)="(/static/[^"]+)"')
PROMPTS = [
    "玫瑰花 in a garden, mountains at sunset",
    "白色城堡 on a hill under the stars",
    "a lighthouse in a storm, oil painting",
    "竹林 in the morning mist, ink wash",
]


def real_thumbnails(owner_id: int) -> list[str]:
    """48 distinct real WebP thumbnails in S3 (4 engine pictures x 12 rotations/flips/crops)."""
    from PIL import Image as PILImage

    from gallery import imaging, media

    keys = []
    for number, prompt in enumerate(PROMPTS):
        base = PILImage.open(io.BytesIO(sample_png(512, prompt=prompt, seed=7 + number))).convert("RGB")
        for variant in range(12):
            picture = base.rotate(90 * (variant % 4))
            if variant >= 4:
                picture = picture.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT)
            if variant >= 8:
                picture = picture.crop((64, 64, 448, 448)).resize((512, 512))
            webp, _, _ = imaging.make_webp(picture, max_side=imaging.THUMBNAIL_SIDES["thumb"])
            keys.append(media.put(folder=f"images/{owner_id}", extension="webp", data=webp))
    return keys


def populate(owner, thumbs: list[str], *, total: int, owned: int, start: int = 0, owned_before: int = 0) -> float:
    """Grow the table from `start` to `total` Image rows, `owned` of them the owner's (of which
    `owned_before` were there already), the rest spread over other users; seconds taken. Row
    number n was made n x 5 minutes ago, so a bigger gallery reaches further into the past."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from gallery.models import Image

    user_model = get_user_model()
    started = time.perf_counter()
    if start == 0:
        user_model.objects.bulk_create(
            [user_model(username=f"other{number:03d}", password="!") for number in range(OTHER_USERS)]
        )
    other_ids = list(user_model.objects.filter(username__startswith="other").values_list("pk", flat=True))
    # bulk_create would stamp every row with "now": let the benchmark give the rows their own
    # creation times (a year of history), as a real gallery has.
    created_field = Image._meta.get_field("created_at")
    created_field.auto_now_add = False
    rng = random.Random(2026 + start)
    now = timezone.now()
    owner_slots = set(rng.sample(range(start, total), owned - owned_before))
    owner_seen = owned_before
    try:
        batch: list[Image] = []
        for number in range(start, total):
            mine = number in owner_slots
            key = f"images/fake/{number:06d}"
            batch.append(
                Image(
                    owner_id=owner.pk if mine else rng.choice(other_ids),
                    kind="txt2img",
                    prompt=f"{PROMPTS[number % len(PROMPTS)]}, variation {number}",
                    params={"text": PROMPTS[number % len(PROMPTS)], "w": 512, "h": 512, "seed": number},
                    width=512,
                    height=512,
                    size_bytes=370_000,
                    original_key=f"{key}.png",
                    thumb_key=thumbs[owner_seen % len(thumbs)] if mine else f"{key}-t.webp",
                    preview_key=f"{key}-p.webp",
                    made_by="Offline engine",
                    is_procedural=True,
                    is_public=number % 7 == 0,
                    created_at=now - timedelta(seconds=300) * (number + 1),
                )
            )
            owner_seen += mine
            if len(batch) == BATCH:
                Image.objects.bulk_create(batch)
                batch = []
        if batch:
            Image.objects.bulk_create(batch)
    finally:
        created_field.auto_now_add = True
    if connection.vendor == "postgresql":
        # What autovacuum does shortly after a bulk load; without statistics the planner guesses.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def measure(client, url: str, *, samples: int, warmup: int = 3) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery import media

    times, cold_times, queries = [], [], []
    response = None
    for number in range(warmup + samples):
        # Every other request finds no signed URL to reuse (a page nobody opened within
        # MEDIA_URL_REUSE_SECONDS): it signs all 48, as every request did before the reuse.
        cold = number % 2 == 1
        if cold:
            media.forget_signed_urls()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        if number >= warmup:
            (cold_times if cold else times).append(elapsed)
            queries.append(len(captured.captured_queries))
    body = response.content
    thumbs = [html.unescape(src) for src in THUMB.findall(body.decode())]
    with requests.Session() as http:
        thumb_bytes = sum(len(http.get(src, timeout=30).content) for src in thumbs)
    static_bytes = 0
    from django.contrib.staticfiles import finders

    for path in sorted(set(STATIC.findall(body.decode()))):
        found = finders.find(path.removeprefix("/static/"))
        static_bytes += len(open(found, "rb").read()) if found else 0  # noqa: SIM115
    return {
        "url": url if len(url) < 40 else url[:40] + "…",
        "server_time": summary(times),
        "server_time_signing_all": summary(cold_times),
        "queries": {"min": min(queries), "max": max(queries)},
        "thumbnails": len(thumbs),
        "distinct_thumbnails": len(set(t.split("?")[0] for t in thumbs)),
        "html_bytes": len(body),
        "thumbnail_bytes": thumb_bytes,
        "page_weight_bytes": len(body) + thumb_bytes,
        "static_bytes_uncached": static_bytes,
    }


def page_cursor(owner, page_number: int) -> str:
    """The ?after= cursor that opens the owner's page `page_number` (newest first)."""
    from gallery.models import Image
    from gallery.pagination import Cursor

    row = (
        Image.objects.filter(owner=owner)
        .order_by("-created_at", "-id")
        .values("created_at", "id")[(page_number - 1) * 48 - 1]
    )
    return Cursor(created_at=row["created_at"], id=row["id"]).encode()


def against_targets(page: dict) -> dict:
    """The page's figures beside this benchmark's targets (TARGET_P95, TARGET_QUERIES)."""
    return {
        "p95_target_seconds": TARGET_P95,
        "p95_ok": page["server_time"]["p95"] <= TARGET_P95,
        "queries_target": TARGET_QUERIES,
        "queries_ok": page["queries"]["max"] <= TARGET_QUERIES,
    }


def flatness(steps: list[dict], page: str) -> dict:
    """p50 (and p95) at the largest size over the smallest, beside the 1.2x target."""
    first, last = steps[0][page]["server_time"], steps[-1][page]["server_time"]
    ratio = last["p50"] / first["p50"]
    return {
        "from_rows": steps[0]["rows"],
        "to_rows": steps[-1]["rows"],
        "p50_ratio": round(ratio, 2),
        "p95_ratio": round(last["p95"] / first["p95"], 2),
        "target_ratio": TARGET_FLAT,
        "ok": ratio <= TARGET_FLAT,
    }


def run(*, samples: int, total: int = TOTAL_IMAGES, owned: int = OWNER_IMAGES, sweep: tuple[int, ...] = ()) -> dict:
    """The figures at `total` rows; on PostgreSQL also at each size of `sweep` (which must hold
    `total`), growing one database through them."""
    deep_page = min(DEEP_PAGE, owned // 48 - 1)
    with object_store() as s3:
        stack = make_stack(s3)
        try:
            setup_django_in_process(stack, DEBUG="0", STATIC_MANIFEST="0", ALLOWED_HOSTS="testserver,127.0.0.1")
            from django.contrib.auth import get_user_model
            from django.db import connection
            from django.test import Client

            from gallery.models import Image

            vendor = connection.vendor
            sizes = sweep if vendor == "postgresql" and sweep else (total,)
            owner = get_user_model().objects.create_user("gallery-bench", password=None)
            log("gallery: storing 48 real thumbnails")
            thumbs = real_thumbnails(owner.pk)
            client = Client()
            client.force_login(owner)
            rows = owner_rows = 0
            insert_seconds = 0.0
            steps, main = [], {}
            for size in sizes:
                share = owned if size == total else size // OWNER_SHARE
                log(f"gallery: growing to {size:,} image rows ({share:,} the owner's)")
                seconds = populate(owner, thumbs, total=size, owned=share, start=rows, owned_before=owner_rows)
                rows, owner_rows = size, share
                assert Image.objects.count() == rows
                assert Image.objects.filter(owner=owner).count() == owner_rows
                middle = max(2, owner_rows // 48 // 2)
                log(f"gallery: {samples} requests of the first page and of page {middle:,} at {rows:,} rows")
                step = {
                    "rows": rows,
                    "owner_rows": owner_rows,
                    "insert_seconds": round(seconds, 1),
                    "middle_page_number": middle,
                    "first_page": measure(client, "/gallery/", samples=samples),
                    "middle_page": measure(client, f"/gallery/?after={page_cursor(owner, middle)}", samples=samples),
                }
                steps.append(step)
                log(
                    f"gallery at {rows:,} rows: first page p50 {ms(step['first_page']['server_time']['p50'])}, "
                    f"p95 {ms(step['first_page']['server_time']['p95'])} (target {ms(TARGET_P95)}), "
                    f"{step['first_page']['queries']['max']} queries (target {TARGET_QUERIES}); page {middle:,} "
                    f"p50 {ms(step['middle_page']['server_time']['p50'])}"
                )
                if size == total:
                    insert_seconds = seconds
                    first = step["first_page"]
                    deep = measure(client, f"/gallery/?after={page_cursor(owner, deep_page)}", samples=samples)
                    main = {"first_page": {**first, **against_targets(first)}, f"page_{deep_page}": deep}
        finally:
            from django.db import connections

            connections.close_all()
            discard_stack(stack)
    result = {
        "database": vendor,
        "rows": total,
        "owner_rows": owned,
        "insert_seconds": round(insert_seconds, 1),
        **main,
    }
    if len(steps) > 1:
        result["growth"] = {
            "steps": steps,
            "first_page": flatness(steps, "first_page"),
            "middle_page": flatness(steps, "middle_page"),
        }
        for page in ("first_page", "middle_page"):
            flat = result["growth"][page]
            log(
                f"gallery {page.replace('_', ' ')} from {flat['from_rows']:,} to {flat['to_rows']:,} rows: "
                f"p50 x{flat['p50_ratio']}, p95 x{flat['p95_ratio']} (target at most x{TARGET_FLAT})"
            )
    return result


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    if args.quick:
        result = run(samples=15, total=QUICK_TOTAL, owned=QUICK_OWNER, sweep=QUICK_SWEEP)
    else:
        result = run(samples=50, sweep=SWEEP)
    finish({"benchmark": "gallery_page", **result}, args.out)


if __name__ == "__main__":
    main()
