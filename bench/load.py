"""Load held: Locust drives 200 simulated people for 5 minutes (--quick: 20 for 30 s) against
the production server — gunicorn with DEBUG off (bench/fleet.py, as `make serve` runs it) and
one worker cluster on PostgreSQL + Redis — then requests/s, p50/p95 per page, failures, and
`check_invariants` once the submitted jobs are done.

The people (bench/locustfile.py) log in through the login form, browse their gallery and open
the thumbnails their browser has not cached (presigned S3 URLs, fetched from SeaweedFS), open
pictures' pages and the explore page, and submit the text-to-image form at most once per
--submit-every seconds each (90; --quick: 20), under the site's own limits
(JOBS_MAX_PER_MINUTE, JOBS_MAX_IN_FLIGHT: not lifted here). They think 2-8 s between pages and
arrive over the first third of the run (each log-in hashes a password: PBKDF2, much CPU). The
figures are printed for the whole run and for the steady part once everyone has arrived.
Each has 12 pictures: 12 real ones are stored in S3 (original, preview, thumbnail), and every
other person's rows name the same objects (bulk-inserted, no S3 writes).
Locust runs headless as its own process (its gevent must not patch this one) with --csv.

Targets: 0 failures; gallery p95 ≤ 100 ms under that load. Without PostgreSQL and Redis
(DATABASE_URL, REDIS_URL) it runs on the embedded defaults and says so in `backend`.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    PASSWORD,
    ROOT,
    DirectDB,
    arguments,
    discard_stack,
    finish,
    log,
    object_store,
    percentile,
    wait_until,
)
from fleet import FINISHED, form_defaults, production_stack, seed_users, start

LOCUST = Path(sys.executable).parent / "locust"
PICTURES_EACH = 12
TARGET_GALLERY_P95_MS = 100

SEED_PICTURES = """
import uuid
from django.contrib.auth import get_user_model
from gallery.models import Image
from tests.factories import stored_image
owners = list(get_user_model().objects.filter(username__in=args['names']).order_by('username'))
real = [stored_image(owners[0], prompt=f"玫瑰花 in a garden, lantern {n}", size=(512, 384),
                     colour=(40 + 15 * n, 120, 220 - 12 * n), is_public=n % 4 == 0) for n in range(args['each'])]
copied = [f.attname for f in Image._meta.concrete_fields
          if not f.generated and f.attname not in ('id', 'owner_id', 'created_at')]
rows = [Image(id=uuid.uuid4(), owner=owner, **{name: getattr(image, name) for name in copied})
        for owner in owners[1:] for image in real]
Image.objects.bulk_create(rows, batch_size=2000)
result = len(real) + len(rows)
"""


def read_stats(prefix: Path) -> dict:
    """Locust's --csv summary: per request name, and the aggregated row."""
    pages = {}
    with open(f"{prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            pages[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_second": round(float(row["Requests/s"]), 2),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "max_ms": round(float(row["Max Response Time"] or 0), 1),
            }
    failures = []
    with open(f"{prefix}_failures.csv", newline="") as rows:
        for row in csv.DictReader(rows):
            failures.append({"name": row["Name"], "error": row["Error"][:300], "occurrences": int(row["Occurrences"])})
    return {"pages": pages, "failures": failures}


def steady_stats(path: Path) -> dict:
    """Per request name, p50/p95 of the requests sent once every person had arrived."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    seconds = data["seconds"] or 1
    pages = {}
    for name, times in data["times_ms"].items():
        pages[name] = {
            "requests": len(times),
            "failures": data["failures"].get(name, 0),
            "requests_per_second": round(len(times) / seconds, 2),
            "p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
        }
    every = [t for times in data["times_ms"].values() for t in times]
    pages["Aggregated"] = {
        "requests": len(every),
        "failures": sum(data["failures"].values()),
        "requests_per_second": round(len(every) / seconds, 2),
        "p50_ms": round(percentile(every, 0.50), 1),
        "p95_ms": round(percentile(every, 0.95), 1),
    }
    return {"seconds": round(seconds, 1), "pages": pages}


def run(*, users: int, seconds: int, submit_every: float, web_workers: str) -> dict:
    load_before = [round(v, 2) for v in os.getloadavg()]
    with object_store() as s3:
        stack, urls = production_stack(s3, servers=1, workers=2, extra_env={"WEB_WORKERS": web_workers})
        try:
            start(stack, urls, clusters=1)
            names = seed_users(stack, "load-", users, password=PASSWORD, credits_amount=1000)
            started = time.monotonic()
            pictures = stack._query(SEED_PICTURES, names=names, each=PICTURES_EACH)
            log(f"load: {pictures} pictures in {time.monotonic() - started:.1f} s")
            # over the first third: each log-in hashes the password (PBKDF2), a lot of CPU at once
            spawn_rate = max(1.0, users / max(1, seconds / 3))
            with tempfile.TemporaryDirectory(prefix="aigc-locust-") as folder:
                prefix = Path(folder) / "load"
                env = {
                    **os.environ,
                    "LOAD_USERS": ",".join(names),
                    "LOAD_PASSWORD": PASSWORD,
                    "LOAD_FORM": json.dumps(form_defaults(stack)),
                    "LOAD_SUBMIT_EVERY": str(submit_every),
                    "LOAD_STEADY_OUT": str(Path(folder) / "steady.json"),
                }
                log(f"load: {users} people for {seconds} s, arriving {spawn_rate:.1f}/s, at {urls[0]}")
                locust = subprocess.run(
                    [
                        str(LOCUST),
                        *("-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--only-summary"),
                        *("-u", str(users), "-r", f"{spawn_rate:.2f}", "-t", f"{seconds}s"),
                        *("--host", urls[0], "--csv", str(prefix), "--loglevel", "WARNING"),
                    ],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=seconds + 300,
                )
                if not Path(f"{prefix}_stats.csv").exists():
                    raise RuntimeError(f"locust wrote no statistics:\n{locust.stdout[-3000:]}\n{locust.stderr[-3000:]}")
                stats = read_stats(prefix)
                stats["steady"] = steady_stats(Path(folder) / "steady.json")
            log("load: waiting for the submitted jobs to finish")
            db = DirectDB(stack)
            active = f"SELECT count(*) FROM gallery_job WHERE status NOT IN ({', '.join(repr(s) for s in FINISHED)})"
            wait_until(lambda: db.scalar(active) == 0, timeout=300, interval=0.5, what="the submitted jobs")
            jobs = dict(db.connection.execute("SELECT status, count(*) FROM gallery_job GROUP BY status").fetchall())
            db.close()
            invariants = stack.invariants()
            server_errors = [
                line[:300]
                for line in stack.log("web0").splitlines()
                if any(mark in line for mark in ("[ERROR]", "[CRITICAL]", "WORKER TIMEOUT", "Traceback", '" 50'))
            ]
        finally:
            discard_stack(stack)
    pages = stats["pages"]
    total = pages.get("Aggregated", {})
    gallery = pages.get("gallery", {})
    steady = stats["steady"].get("pages", {})
    return {
        "users": users,
        "seconds": seconds,
        "submit_every_seconds": submit_every,
        "web_workers": int(web_workers),
        "pictures": pictures,
        "requests": total.get("requests"),
        "requests_per_second": total.get("requests_per_second"),
        "failures": total.get("failures"),
        "failure_list": stats["failures"][:20],
        "server_log_errors": server_errors[:40],
        "gallery_p50_ms": gallery.get("p50_ms"),
        "gallery_p95_ms": gallery.get("p95_ms"),
        "steady_gallery_p50_ms": steady.get("gallery", {}).get("p50_ms"),
        "steady_gallery_p95_ms": steady.get("gallery", {}).get("p95_ms"),
        "target_gallery_p95_ms": TARGET_GALLERY_P95_MS,
        "pages": pages,
        "steady": stats["steady"],
        "jobs": jobs,
        "locust_exit_status": locust.returncode,
        "invariants_ok": invariants.get("ok"),
        "invariants": invariants,
        "load_average_before": load_before,
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        users={"type": int, "default": None},
        seconds={"type": int, "default": None},
        submit_every={"type": float, "default": None, "help": "seconds between one person's submissions"},
        web_workers={"default": "2", "help": "gunicorn worker processes (WEB_WORKERS)"},
    )
    users = args.users or (20 if args.quick else 200)
    seconds = args.seconds or (30 if args.quick else 300)
    submit_every = args.submit_every or (20.0 if args.quick else 90.0)
    result = run(users=users, seconds=seconds, submit_every=submit_every, web_workers=args.web_workers)
    for title, pages in (("whole run", result["pages"]), ("once all had arrived", result["steady"].get("pages", {}))):
        log(f"load, {title}:")
        for name, page in sorted(pages.items()):
            log(
                f"  {name:38} {page['requests']:6d} req {page['requests_per_second']:7.2f}/s "
                f"p50 {page['p50_ms']:6.0f} ms p95 {page['p95_ms']:6.0f} ms failures {page['failures']}"
            )
    for line in result["server_log_errors"]:
        log(f"  gunicorn: {line}")
    finish({"benchmark": "load", **result}, args.out)


if __name__ == "__main__":
    main()
