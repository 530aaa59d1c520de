"""The generation loop, timed: submit → provider request received, and callback → image visible.

Runs the whole site as real processes (tests/stack.py: runserver + django-q2 cluster with the
offline engine mounted at /engine/, on SeaweedFS), logs in a user through the login form and
submits text-to-image jobs (512x512) through the real form, one at a time: each job finishes
before the next is submitted, so the figures are latencies of an idle site, not queueing. The
first 4 jobs warm the 3 worker processes up (imports, S3 client) and are not counted.

Where each timestamp comes from (all on this machine's clock):
- form POST sent: time.time() in this process just before the request;
- provider request received: EngineTask.created_at, written by the engine's submit view when
  the site's worker POSTed the job (the path in between: create_job → on_commit → broker →
  a worker polling every 0.2 s with the ORM broker → gallery.tasks.submit_job → HTTP POST);
- callback received: Job.callback_received_at, written by the callback view;
- image visible: Image.created_at, written in the transaction that finishes the job (the row is
  on the gallery page as soon as that commits, a few milliseconds later);
- ingest enqueued: django-q2's Task.started of the ingest task (set when it is enqueued), which
  splits callback → visible into the callback view's part and the hand-over plus the ingest.
"""

from __future__ import annotations

import time
import uuid

import requests
from common import (
    PASSWORD,
    DirectDB,
    arguments,
    discard_stack,
    finish,
    log,
    make_stack,
    object_store,
    stack_json,
    summary,
    wait_until,
)

from tests.helpers import txt2img_form

FINISHED = ("succeeded", "failed", "unsafe", "timed_out", "cancelled")


def submit(stack, http: requests.Session, *, prompt: str, seed: int) -> tuple[str, float]:
    """POST the text-to-image form; returns (job id, time the POST was sent)."""
    url = f"{stack.url}/jobs/new/txt2img/"
    data = {**txt2img_form(prompt, seed=seed), "csrfmiddlewaretoken": http.cookies["csrftoken"]}
    sent = time.time()
    response = http.post(url, data=data, headers={"Referer": url}, allow_redirects=False)
    location = response.headers.get("Location", "")
    if response.status_code != 302 or "/jobs/" not in location:
        raise RuntimeError(f"the form did not create a job: {response.status_code} {response.text[:500]}")
    return location.rstrip("/").rsplit("/", 1)[-1], sent


TIMELINE = """
import json
from gallery.models import Job, Image
from engine.models import EngineTask
from django_q.models import Task
ids = {ids!r}
rows = []
ts = lambda value: value.timestamp() if value else None
enqueued = {{}}
for task in Task.objects.filter(func="gallery.tasks.ingest_result").order_by("started"):
    enqueued.setdefault(str(task.args[0]), task.started)
for job in Job.objects.filter(id__in=ids):
    task = EngineTask.objects.filter(uid=job.provider_task_id).first() if job.provider_task_id else None
    image = Image.objects.filter(job=job).first()
    rows.append({{
        "id": str(job.id), "status": job.status,
        "job_created": ts(job.created_at), "submitted": ts(job.submitted_at),
        "callback_received": ts(job.callback_received_at), "finished": ts(job.finished_at),
        "engine_received": ts(task.created_at) if task else None,
        "engine_started": ts(task.started_at) if task else None,
        "engine_finished": ts(task.finished_at) if task else None,
        "engine_called_back": ts(task.called_back_at) if task else None,
        "image_created": ts(image.created_at) if image else None,
        "ingest_enqueued": ts(enqueued.get(str(job.id))),
        "image_size": [image.width, image.height] if image else None,
    }})
print(json.dumps(rows))
"""


def _django_like(stack) -> None:
    """Django configured in this process like the stack's (no database use here): the form's
    defaults (tests.helpers.txt2img_form) come from gallery.forms."""
    import os

    import django

    os.environ.update(stack.env)
    django.setup()


def run(*, samples: int, warmup: int = 4) -> dict:
    with object_store() as s3:
        stack = make_stack(s3, workers=3)
        try:
            log(f"loop: starting the stack ({stack.url})")
            stack.start()
            _django_like(stack)
            stack.create_user("bench", PASSWORD, credits_amount=10 * (samples + warmup) + 100)
            http = stack.session("bench", PASSWORD)
            http.get(f"{stack.url}/jobs/new/txt2img/")
            db = DirectDB(stack)
            sent_at: dict[str, float] = {}
            measured: list[str] = []
            for number in range(warmup + samples):
                job_id, sent = submit(stack, http, prompt=f"玫瑰花 in a garden, lantern {number}", seed=1000 + number)
                key = db.uuid(job_id)
                wait_until(
                    lambda key=key: db.scalar("SELECT status FROM gallery_job WHERE id = %s", key) in FINISHED,
                    timeout=120,
                    what=f"job {job_id}\n{stack.log('worker')[-2000:]}",
                )
                if number >= warmup:
                    sent_at[job_id] = sent
                    measured.append(job_id)
                time.sleep(0.3)  # let the engine's callback request and the worker settle
            db.close()
            rows = stack_json(stack, TIMELINE.format(ids=[str(uuid.UUID(i)) for i in measured]))
        finally:
            discard_stack(stack)
    by_id = {row["id"]: row for row in rows}
    ok = [by_id[str(uuid.UUID(i))] | {"sent": sent_at[i]} for i in measured]
    ok = [row for row in ok if row["status"] == "succeeded" and row["engine_received"] and row["image_created"]]
    return {
        "samples": samples,
        "succeeded": len(ok),
        "statuses": sorted({row["status"] for row in rows}),
        "image_size": ok[0]["image_size"] if ok else None,
        "submit_to_provider": summary(row["engine_received"] - row["sent"] for row in ok),
        "job_created_to_provider": summary(row["engine_received"] - row["job_created"] for row in ok),
        "callback_to_visible": summary(row["image_created"] - row["callback_received"] for row in ok),
        # the callback view's transaction up to the enqueue at its commit, then the broker's
        # hand-over, the worker and the ingest itself (django-q2's Task.started is the enqueue time)
        "callback_to_enqueued": summary(
            row["ingest_enqueued"] - row["callback_received"] for row in ok if row["ingest_enqueued"]
        ),
        "enqueued_to_visible": summary(
            row["image_created"] - row["ingest_enqueued"] for row in ok if row["ingest_enqueued"]
        ),
        "engine_render_and_callback": summary(row["callback_received"] - row["engine_received"] for row in ok),
        "submit_to_visible": summary(row["image_created"] - row["sent"] for row in ok),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0], samples={"type": int, "default": None})
    samples = args.samples or (6 if args.quick else 30)
    finish({"benchmark": "loop", **run(samples=samples)}, args.out)


if __name__ == "__main__":
    main()
