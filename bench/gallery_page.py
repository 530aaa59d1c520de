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
    object_store,
    sample_png,
    setup_django_in_process,
    summary,
)

TOTAL_IMAGES = 100_000
OWNER_IMAGES = 10_000
QUICK_TOTAL, QUICK_OWNER = 20_000, 2_000  # --quick: a fifth of the data, to keep the run short
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


def populate(owner, thumbs: list[str], *, total: int, owned: int) -> float:
    """`total` Image rows (`owned` the owner's, the rest spread over other users); seconds taken."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from gallery.models import Image

    user_model = get_user_model()
    started = time.perf_counter()
    user_model.objects.bulk_create(
        [user_model(username=f"other{number:03d}", password="!") for number in range(OTHER_USERS)]
    )
    other_ids = list(user_model.objects.filter(username__startswith="other").values_list("pk", flat=True))
    # bulk_create would stamp every row with "now": let the benchmark give the rows their own
    # creation times (a year of history), as a real gallery has.
    created_field = Image._meta.get_field("created_at")
    created_field.auto_now_add = False
    rng = random.Random(2026)
    now = timezone.now()
    owner_slots = set(rng.sample(range(total), owned))
    owner_seen = 0
    try:
        batch: list[Image] = []
        for number in range(total):
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
                    created_at=now - timedelta(seconds=total - number) * 300,
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


def run(*, samples: int, total: int = TOTAL_IMAGES, owned: int = OWNER_IMAGES) -> dict:
    deep_page = min(DEEP_PAGE, owned // 48 - 1)
    with object_store() as s3:
        stack = make_stack(s3)
        try:
            setup_django_in_process(stack, DEBUG="0", STATIC_MANIFEST="0", ALLOWED_HOSTS="testserver,127.0.0.1")
            from django.contrib.auth import get_user_model
            from django.test import Client

            from gallery.models import Image
            from gallery.pagination import Cursor

            owner = get_user_model().objects.create_user("gallery-bench", password=None)
            log("gallery: storing 48 real thumbnails")
            thumbs = real_thumbnails(owner.pk)
            log(f"gallery: inserting {total:,} image rows ({owned:,} the owner's)")
            insert_seconds = populate(owner, thumbs, total=total, owned=owned)
            assert Image.objects.count() == total
            assert Image.objects.filter(owner=owner).count() == owned
            row = (
                Image.objects.filter(owner=owner)
                .order_by("-created_at", "-id")
                .values("created_at", "id")[(deep_page - 1) * 48 - 1]
            )
            cursor = Cursor(created_at=row["created_at"], id=row["id"]).encode()
            client = Client()
            client.force_login(owner)
            log(f"gallery: {samples} requests of the first page and of page {deep_page}")
            first = measure(client, "/gallery/", samples=samples)
            deep = measure(client, f"/gallery/?after={cursor}", samples=samples)
            from django.db import connection

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
        "first_page": first,
        f"page_{deep_page}": deep,
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    if args.quick:
        result = run(samples=15, total=QUICK_TOTAL, owned=QUICK_OWNER)
    else:
        result = run(samples=50)
    finish({"benchmark": "gallery_page", **result}, args.out)


if __name__ == "__main__":
    main()
