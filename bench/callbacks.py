"""Sustained callbacks per second the site ingests on this machine.

The site runs as real processes (tests/stack.py) with a django-q2 cluster of 4 workers, but
its provider is a stub in this process: it acknowledges each submission at once and keeps the
job's notify_url, so no rendering competes for the CPU. N jobs are created through the real
form and submitted by the workers; once all N are `submitted`, this process POSTs one success
callback to every notify_url (8 at a time, as fast as the site answers), each pointing at the
same 512x512 PNG on a local http.server, and waits until every job has finished. Eight jobs
are called back and ingested first, all at once, so that the measured ones meet warm worker
processes (imports done, S3 client made) as a long-running site's do; they are not counted.

Throughput is completed ingests per second, from the database's own clock: succeeded jobs
divided by (last Image.created_at - first Job.callback_received_at). The steady-state figure
leaves out the ramp-up and the tail (10th to 90th percentile of the completion times).

The floor pipeline runs in the same run, once the site's ingests are done (its processes idle):
the same N pictures, 4 at a time like the 4 workers, each the least any ingest must do: a plain
download, the two WebPs (same sides, quality 80, libvips' default effort 4) and three raw
`put_object` calls into the same bucket. It runs twice: with pyvips in this process (4 threads;
libvips works outside the GIL), which `ratio` (ours / floor, whole run) is taken against, and
with bench/ingest.py's `vipsthumbnail` processes (`floor_vipsthumbnail_per_second`).
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from common import (
    PASSWORD,
    DirectDB,
    LocalHTTP,
    arguments,
    discard_stack,
    file_route,
    finish,
    log,
    make_stack,
    object_store,
    percentile,
    sample_png,
    stack_json,
    summary,
    wait_until,
)
from ingest import SIDES, floor_download, floor_once

WORKERS = 4
WARMUP = 2 * WORKERS  # jobs ingested before the measured ones, to warm every worker up
POSTERS = 8
FINISHED = ("succeeded", "failed", "unsafe", "timed_out", "cancelled")


class StubProvider:
    """Answers every /aigc/... POST like the backend does ({"uid", "success", "msg"})."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tasks: dict[str, str] = {}  # notify_url -> uid

    def route(self, handler, body: bytes):
        if handler.command == "POST" and handler.path.startswith("/aigc/"):
            payload = json.loads(body)
            uid = uuid.uuid4().hex
            with self.lock:
                self.tasks[payload["notify_url"]] = uid
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps({"uid": uid, "success": True, "msg": "queued"}).encode(),
            )
        if handler.command == "POST" and handler.path == "/status":
            return 200, {"Content-Type": "application/json"}, b'{"success": true, "status": "working"}'
        if handler.path == "/health":  # the site's /healthz asks the engine-shaped provider
            return (
                200,
                {"Content-Type": "application/json"},
                b'{"ok": true, "superres": {"ok": true, "detail": "stub"}}',
            )
        return 404, {}, b""


def success_body(*, uid: str, image_url: str) -> dict:
    now = time.time()
    return {
        "uid": uid,
        "success": True,
        "data": {
            "uid": uid,
            "cdn": image_url,
            "cos": image_url,
            "safe": True,
            "reason": "",
            "createtime": now - 2,
            "starttime": now - 1.9,
            "end_time": now,
            "duration": 2.0,
            "elapsed_times": {"pending": 0.1, "run_algorithm": 1.8},
            "request": {"task": "txt2img.sd", "model": {"text": "bench", "w": 512, "h": 512}},
        },
    }


TIMELINE = """
import json
from gallery.models import Image, Job
rows = []
ts = lambda value: value.timestamp() if value else None
for job in Job.objects.filter(owner__username="bench"):
    image = Image.objects.filter(job=job).first()
    rows.append({"id": str(job.id), "status": job.status, "callback_received": ts(job.callback_received_at),
                 "image_created": ts(image.created_at) if image else None})
print(json.dumps(rows))
"""

WARM_IDS = """
import json
from gallery.models import Job
print(json.dumps([str(i) for i in Job.objects.filter(owner__username="bench").exclude(status="submitted")
                  .values_list("id", flat=True)]))
"""


def floor_pyvips_once(*, url: str, s3: dict) -> float:
    """One picture through the floor pipeline with pyvips in-process; returns its seconds."""
    import pyvips

    started = time.perf_counter()
    data = floor_download(url)
    outputs = [
        pyvips.Image.thumbnail_buffer(data, side, height=side, size="down").webpsave_buffer(Q=80)
        for side in SIDES.values()
    ]
    folder = f"floor/{uuid.uuid4().hex}"
    s3["client"].put_object(Bucket=s3["bucket"], Key=f"{folder}/o.png", Body=data)
    for name, body in zip(SIDES, outputs, strict=True):
        s3["client"].put_object(Bucket=s3["bucket"], Key=f"{folder}/{name}.webp", Body=body)
    return time.perf_counter() - started


def floor_throughput(*, url: str, s3: dict, count: int, tool: str) -> dict:
    """The floor pipeline for `count` pictures, WORKERS at a time (threads: libvips and the
    `vipsthumbnail` processes work outside the GIL): pictures per second over the whole run."""

    def one(_: int) -> float:
        if tool == "pyvips":
            return floor_pyvips_once(url=url, s3=s3)
        with tempfile.TemporaryDirectory(prefix="aigc-bench-floor-") as workdir:
            return floor_once(url=url, s3=s3["client"], bucket=s3["bucket"], workdir=Path(workdir))["total"]

    one(0)  # warm-up: the S3 connection pool, libvips
    began = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        each = list(pool.map(one, range(count)))
    wall = time.perf_counter() - began
    return {"pictures": count, "per_second": round(count / wall, 2), "each": summary(each)}


def create_jobs(stack, count: int) -> None:
    """count text-to-image jobs through the real form, from 4 logged-in sessions."""
    local = threading.local()
    url = f"{stack.url}/jobs/new/txt2img/"

    def one(number: int) -> None:
        if not hasattr(local, "http"):
            local.http = stack.session("bench", PASSWORD)
        data = {
            "prompt": f"white clouds over a lake {number}",
            "negative_prompt": "",
            "width": 512,
            "height": 512,
            "steps": 20,
            "guidance_scale": 7.5,
            "sampler": "k_euler",
            "seed": number,
            "version": "dreamlike_v1",
            "csrfmiddlewaretoken": local.http.cookies["csrftoken"],
        }
        response = local.http.post(url, data=data, headers={"Referer": url}, allow_redirects=False)
        if response.status_code != 302:
            raise RuntimeError(f"the form did not create a job: {response.status_code} {response.text[:300]}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def run(*, jobs: int) -> dict:
    stub = StubProvider()
    png = sample_png(512)
    with object_store() as s3, LocalHTTP({"/img512.png": file_route(png)}, fallback=stub.route) as host:
        # All N jobs are with the provider before the first callback: no per-user fair share.
        extra_env = {"APISPACE_BASE_URL": host.url, "FAIR_SHARE_PER_USER": "0"}
        stack = make_stack(s3, extra_env=extra_env, workers=WORKERS)
        try:
            log(f"callbacks: starting the stack ({stack.url}, {WORKERS} workers, stub provider {host.url})")
            stack.start()
            stack.create_user("bench", PASSWORD, credits_amount=3 * (jobs + WARMUP) + 10)
            db = DirectDB(stack)
            owner = db.scalar("SELECT id FROM auth_user WHERE username = %s", "bench")

            def finished() -> int:
                sql = "SELECT COUNT(*) FROM gallery_job WHERE owner_id = %s AND status IN (%s, %s, %s, %s, %s)"
                return db.scalar(sql, owner, *FINISHED)

            log(f"callbacks: creating {WARMUP} + {jobs} jobs through the form")
            create_jobs(stack, WARMUP + jobs)
            wait_until(
                lambda: (
                    db.scalar(
                        "SELECT COUNT(*) FROM gallery_job WHERE owner_id = %s AND status = %s", owner, "submitted"
                    )
                    == WARMUP + jobs
                ),
                timeout=120 + jobs,
                interval=0.5,
                what=f"{WARMUP + jobs} jobs submitted\n{stack.log('worker')[-2000:]}",
            )
            image_url = f"{host.url}/img512.png"
            deliveries = list(stub.tasks.items())
            warmup, deliveries = deliveries[:WARMUP], deliveries[WARMUP:]
            local = threading.local()
            answers: list[tuple[float, int]] = []
            # All at once: idle workers each take one from the queue.
            with ThreadPoolExecutor(len(warmup)) as pool:
                list(
                    pool.map(
                        lambda item: requests.post(item[0], json=success_body(uid=item[1], image_url=image_url)), warmup
                    )
                )
            wait_until(lambda: finished() >= WARMUP, timeout=120, interval=0.2, what="the warm-up ingests")
            warm_ids = stack_json(stack, WARM_IDS)

            def post(item: tuple[str, str]) -> None:
                notify_url, uid = item
                if not hasattr(local, "http"):
                    local.http = requests.Session()
                started = time.perf_counter()
                response = local.http.post(notify_url, json=success_body(uid=uid, image_url=image_url), timeout=30)
                answers.append((time.perf_counter() - started, response.status_code))

            log(f"callbacks: POSTing {jobs} callbacks, {POSTERS} at a time")
            began = time.time()
            with ThreadPoolExecutor(POSTERS) as pool:
                list(pool.map(post, deliveries))
            posted = time.time()
            done_at = wait_until(
                lambda: finished() >= WARMUP + jobs,
                timeout=60 + 5 * jobs,
                interval=0.1,
                what=f"{jobs} ingests\n{stack.log('worker')[-2000:]}",
            )
            db.close()
            rows = stack_json(stack, TIMELINE)
            invariants = stack.invariants()
            log(f"callbacks: the floor pipeline, {jobs} pictures, {WORKERS} at a time")
            floor = floor_throughput(url=image_url, s3=s3, count=jobs, tool="pyvips")
            floor_vipsthumbnail = floor_throughput(url=image_url, s3=s3, count=jobs, tool="vipsthumbnail")
        finally:
            discard_stack(stack)
    rows = [row for row in rows if row["id"] not in warm_ids]
    succeeded = [row for row in rows if row["status"] == "succeeded" and row["image_created"]]
    first_callback = min(row["callback_received"] for row in rows if row["callback_received"])
    completions = sorted(row["image_created"] for row in succeeded)
    window = percentile(completions, 0.9) - percentile(completions, 0.1)
    ours = len(succeeded) / (completions[-1] - first_callback)
    return {
        "jobs": jobs,
        "workers": WORKERS,
        "succeeded": len(succeeded),
        "statuses": sorted({row["status"] for row in rows}),
        "callback_answers": sorted({code for _, code in answers}),
        "callback_view": summary(seconds for seconds, _ in answers),
        "callbacks_posted_per_second": round(jobs / (posted - began), 1),
        "ingests_per_second": round(ours, 2),
        "ingests_per_second_steady": round(0.8 * len(succeeded) / window, 2) if window > 0 else None,
        "floor_per_second": floor["per_second"],
        "floor_each": floor["each"],
        "floor_vipsthumbnail_per_second": floor_vipsthumbnail["per_second"],
        "ratio": round(ours / floor["per_second"], 2),
        "wall_seconds": round(done_at - began, 1),
        "callback_to_visible_under_load": summary(row["image_created"] - row["callback_received"] for row in succeeded),
        "invariants_ok": invariants.get("ok"),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0], jobs={"type": int, "default": None})
    jobs = args.jobs or (40 if args.quick else 200)
    finish({"benchmark": "callbacks", **run(jobs=jobs)}, args.out)


if __name__ == "__main__":
    main()
