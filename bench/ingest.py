"""Ingest of one image against the floor on the same file: the ratio.

Ours is what a worker does for a callback (gallery/ingest.py): `download_and_store` (the
SSRF-guarded download, Pillow's header checks, a full decode by libvips to verify the picture,
two WebP renditions from that one decode — thumb 384 px, preview 1024 px — and three uploads to
S3, the original's while the thumbnails are made) followed by `attach_image` (the Image row and
the job's move to succeeded under the credit-account and job row locks). Ours encodes its WebPs
with effort 2 (gallery.imaging.THUMBNAIL_EFFORT), the floor with vipsthumbnail's default 4: at
effort 4 ours was 0.65x (512²) and 0.51x (2048²) of the floor (PostgreSQL + Redis, load 1.7).

The floor is the least any implementation must do with the same file and the same outputs,
with the fastest tools at hand: a plain `requests.get`, `vipsthumbnail` (Debian's
libvips-tools) run as a subprocess for each of the two WebPs (same sides, quality 80, never
enlarged), and three raw boto3 `put_object` calls — no checks, no database.

Both read the PNG from a local http.server and write to the same SeaweedFS bucket; they take
turns, so background noise hits both alike. Django runs in this process on a fresh database
configured like the stack (SQLite, or PostgreSQL when DATABASE_URL is set).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests
from common import (
    LocalHTTP,
    arguments,
    discard_stack,
    file_route,
    finish,
    log,
    make_stack,
    object_store,
    sample_png,
    setup_django_in_process,
    summary,
)

SIDES = {"thumb": 384, "preview": 1024}  # gallery.imaging.THUMBNAIL_SIDES


def floor_download(url: str) -> bytes:
    """The floor's download: a plain GET, no proxy from the environment."""
    with requests.Session() as http:
        http.trust_env = False
        response = http.get(url, timeout=30)
        response.raise_for_status()
        return response.content


def floor_once(*, url: str, s3, bucket: str, workdir: Path) -> dict[str, float]:
    started = time.perf_counter()
    data = floor_download(url)
    downloaded = time.perf_counter()
    source = workdir / "in.png"
    source.write_bytes(data)
    outputs = []
    for name, side in SIDES.items():
        target = workdir / f"{name}.webp"
        subprocess.run(
            ["vipsthumbnail", str(source), "--size", f"{side}x{side}>", "-o", f"{target}[Q=80]"],
            check=True,
            capture_output=True,
        )
        outputs.append(target.read_bytes())
    converted = time.perf_counter()
    folder = f"floor/{uuid.uuid4().hex}"
    s3.put_object(Bucket=bucket, Key=f"{folder}/o.png", Body=data)
    for name, body in zip(SIDES, outputs, strict=True):
        s3.put_object(Bucket=bucket, Key=f"{folder}/{name}.webp", Body=body)
    stored = time.perf_counter()
    return {
        "total": stored - started,
        "download": downloaded - started,
        "vipsthumbnail": converted - downloaded,
        "put_object": stored - converted,
    }


def ours_once(*, url: str, owner) -> dict[str, float]:
    from gallery import ingest, jobs
    from gallery.callbacks import from_body

    job = jobs.create_job(owner=owner, kind="txt2img", params={"text": "bench", "w": 512, "h": 512}, prompt="bench")
    task_id = uuid.uuid4().hex
    jobs.mark_submitted(job_id=job.id, task_id=task_id, response={"uid": task_id, "success": True})
    callback = from_body(
        {"uid": task_id, "success": True, "data": {"uid": task_id, "safe": True, "cos": url, "cdn": url}}
    )
    started = time.perf_counter()
    stored = ingest.download_and_store(url=callback.image_url, folder=f"images/{owner.pk}")
    downloaded = time.perf_counter()
    if not ingest.attach_image(job_id=job.id, stored=stored, callback=callback):
        raise RuntimeError("attach_image refused a fresh job")
    attached = time.perf_counter()
    return {
        "total": attached - started,
        "download_and_store": downloaded - started,
        "attach_image": attached - downloaded,
    }


def run(*, rounds: dict[int, int]) -> dict:
    results: dict[str, dict] = {}
    files = {side: sample_png(side) for side in rounds}
    routes = {f"/img{side}.png": file_route(data) for side, data in files.items()}
    # The image host starts first: with DEBUG off a private-host allowance must name its port.
    with object_store() as s3, LocalHTTP(routes) as host:
        port = host.server.server_address[1]
        stack = make_stack(
            s3,
            extra_env={"INGEST_ALLOWED_HOSTS": "127.0.0.1", "INGEST_PRIVATE_HOSTS_ALLOWED": f"127.0.0.1:{port}"},
        )
        try:
            setup_django_in_process(stack, DEBUG="0", STATIC_MANIFEST="0", LOG_LEVEL="WARNING")
            from django.contrib.auth import get_user_model

            from gallery import credits

            owner = get_user_model().objects.create_user("ingest-bench", password=None)
            credits.grant(user=owner, amount=10_000, reason="benchmark")
            with tempfile.TemporaryDirectory(prefix="aigc-bench-floor-") as workdir:
                for side, count in rounds.items():
                    url = f"{host.url}/img{side}.png"
                    log(f"ingest: {side}x{side} PNG ({len(files[side]) // 1024} KiB), {count} rounds")
                    ours_once(url=url, owner=owner)  # warm-up: imports, connection pools
                    floor_once(url=url, s3=s3["client"], bucket=s3["bucket"], workdir=Path(workdir))
                    ours, floor = [], []
                    for _ in range(count):
                        ours.append(ours_once(url=url, owner=owner))
                        floor.append(floor_once(url=url, s3=s3["client"], bucket=s3["bucket"], workdir=Path(workdir)))
                    ours_total = summary(row["total"] for row in ours)
                    floor_total = summary(row["total"] for row in floor)
                    results[f"{side}"] = {
                        "png_bytes": len(files[side]),
                        "ours": ours_total,
                        "ours_parts": {part: summary(row[part] for row in ours) for part in ours[0] if part != "total"},
                        "floor": floor_total,
                        "floor_parts": {
                            part: summary(row[part] for row in floor) for part in floor[0] if part != "total"
                        },
                        "ratio_p50": round(ours_total["p50"] / floor_total["p50"], 2),
                    }
            from django_q.brokers import get_broker

            get_broker().purge_queue()  # the submit tasks create_job enqueued; no cluster runs here
        finally:
            from django.db import connections

            connections.close_all()
            discard_stack(stack)
    return {"sizes": results}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    rounds = {512: 5, 2048: 3} if args.quick else {512: 20, 2048: 8}
    finish({"benchmark": "ingest", **run(rounds=rounds)}, args.out)


if __name__ == "__main__":
    main()
