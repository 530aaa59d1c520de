"""The engine's work: accept a task, run it once, call back, answer status and interrupt.

A task moves ``pending -> working -> finished | exception``, or ``pending -> interrupted``.
Each move is a conditional update from the expected status, so a task redelivered by
django-q2, or interrupted while a worker picks it up, is run at most once. Rendering, file
writes and the callback (which may take a minute of retries) all happen outside any
transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import callback, kinds, storage
from .faults import Faults
from .kinds import RenderFailed
from .models import EngineTask, new_uid
from .protocol import Submission

logger = logging.getLogger(__name__)
S = EngineTask.Status

UNSAFE_REASON = "unsafe image content (audit: simulated by the [[unsafe]] fault marker)"
SIMULATED_ERROR = "RuntimeError: simulated failure (the [[fail]] fault marker)"


# --- submission -------------------------------------------------------------------------------


def submit(*, submission: Submission, public_base: str) -> EngineTask:
    """Record a validated submission as a pending task and queue its run after commit."""
    uid = new_uid()
    if submission.source is not None:
        # Written before the row exists: a run never finds its row without its source.
        storage.save_source(uid=uid, data=submission.source)
    with transaction.atomic():
        task = EngineTask.objects.create(
            uid=uid,
            kind=submission.kind,
            task=submission.task,
            params=submission.params,
            faults=submission.faults.to_json(),
            notify_url=submission.notify_url,
            public_base=public_base.rstrip("/"),
        )
        delay = submission.faults.queued_seconds
        transaction.on_commit(lambda: _enqueue(uid, delay=delay))
    return task


def _enqueue(uid: str, *, delay: int = 0) -> None:
    from django_q.tasks import async_task, schedule

    if not delay:
        async_task("engine.tasks.run_task", uid)
        return
    # [[queued:N]]: a busy service's queue. Planned, not slept on, so the wait holds no worker;
    # django-q2 looks at its schedules every few seconds, so the run starts N s or a little later.
    from django_q.models import Schedule

    schedule(
        "engine.tasks.run_task",
        uid,
        name=f"engine.tasks.run_task:{uid}",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() + timedelta(seconds=delay),
    )


# --- the run ----------------------------------------------------------------------------------


def _claim(uid: str) -> EngineTask | None:
    """pending -> working, by a conditional update: of two workers only one wins.

    A task still `working` after the cluster's task timeout was killed with its worker (a
    run cannot legitimately last longer); django-q2 redelivers it and it may be claimed again."""
    now = timezone.now()
    abandoned = now - timedelta(seconds=settings.Q_CLUSTER.get("timeout") or 300)
    claimable = Q(status=S.PENDING) | Q(status=S.WORKING, started_at__lt=abandoned)
    claimed = EngineTask.objects.filter(claimable, uid=uid).update(status=S.WORKING, started_at=now)
    return EngineTask.objects.get(uid=uid) if claimed else None


def run(*, uid: str) -> str:
    """Run a pending task and deliver its callback; returns what happened (logs, tests).

    Expects `pending`. A second call (or a call for an interrupted task) finds it no longer
    pending and returns without rendering or calling back again; see _claim for the one
    exception, a run abandoned by a killed worker."""
    task = _claim(uid)
    if task is None:
        return "not pending"
    faults = Faults.from_json(task.faults)
    body = _outcome(task, faults)
    finished = EngineTask.objects.get(uid=uid)
    if not finished.notify_url:
        return f"{finished.status}, no notify_url"
    if faults.silent:
        return f"{finished.status}, silent"
    if faults.late_seconds:
        time.sleep(faults.late_seconds)
    for _ in range(faults.copies):
        _call_back(uid=uid, url=finished.notify_url, body=body)
    return f"{finished.status}, called back"


def _outcome(task: EngineTask, faults: Faults) -> dict[str, Any]:
    """Render (or fail), store the result, write the body and the final status."""
    created, started = task.created_at.timestamp(), task.started_at.timestamp()
    model = dict(task.params)
    try:
        if faults.fail:
            raise RenderFailed(SIMULATED_ERROR)
        image, latencies, run_seconds = _render(task)
    except Exception as exc:
        if not isinstance(exc, RenderFailed):
            logger.exception("engine task %s failed", task.uid)
        error = str(exc) if isinstance(exc, RenderFailed) else f"{type(exc).__name__}: {exc}"
        timing = callback.Timing(created=created, started=started, ended=time.time())
        body = callback.failure_body(uid=task.uid, task=task.task, model=model, timing=timing, error=error)
        _finish(task, status=S.EXCEPTION, body=body, reason=body["data"]["reason"])
        return body

    audit_started = time.perf_counter()
    # A kind the service does not audit (super-resolution) reports no audit time; [[unsafe]]
    # still wins, because a test that asks for it wants to see it.
    safe = not faults.unsafe
    audit = time.perf_counter() - audit_started if kinds.KINDS[task.kind].is_audited else 0.0
    name, upload = "", 0.0
    if safe:
        upload_started = time.perf_counter()
        name = storage.save_result(data=storage.png_bytes(image))
        upload = time.perf_counter() - upload_started
    cos, cdn = result_urls(base=task.public_base, name=name, faults=faults) if safe else ("", "")
    timing = callback.Timing(
        created=created,
        started=started,
        ended=time.time(),
        run_algorithm=run_seconds,
        latencies=latencies,
        upload=upload,
        audit=audit,
    )
    body = callback.success_body(
        uid=task.uid,
        task=task.task,
        model=model,
        timing=timing,
        cdn=cdn,
        cos=cos,
        safe=safe,
        reason="" if safe else UNSAFE_REASON,
        backend_spelling=faults.backend_spelling,
    )
    _finish(task, status=S.FINISHED, body=body, reason=body["data"]["reason"], result_name=name)
    return body


def _finish(task: EngineTask, *, status: str, body: dict, reason: str, result_name: str = "") -> None:
    EngineTask.objects.filter(uid=task.uid, status=S.WORKING).update(
        status=status, callback_body=body, reason=reason, result_name=result_name, finished_at=timezone.now()
    )
    storage.delete_source(task.uid)


def result_urls(*, base: str, name: str, faults: Faults) -> tuple[str, str]:
    """(cos, cdn) for a stored result; the URL faults point somewhere worse. The two differ
    by a query string, as object-store and CDN addresses differ in the real callback."""
    if faults.url_fault == "img404":
        cos = f"{base}/files/{new_uid()}.png"  # a well-formed name the engine never stored
    elif faults.url_fault:
        cos = f"{base}/faults/{faults.url_fault}/{name}.png"
        if faults.url_fault == "slowimg" and faults.slow_seconds:
            cos += f"?seconds={faults.slow_seconds}"
    else:
        cos = f"{base}/files/{name}.png"
    return cos, cos + ("&" if "?" in cos else "?") + "via=cdn"


def _render(task: EngineTask) -> tuple[Any, dict[str, float], float]:
    """(image, algorithm_latencies, run_algorithm seconds) for one task, by its kind's run."""
    kind = kinds.get(task.kind)
    if kind is None:
        raise RenderFailed(f"ValueError: unknown kind {task.kind!r}")
    started = time.perf_counter()
    image, latencies = kind.render(task)
    return image, latencies, time.perf_counter() - started


def _call_back(*, uid: str, url: str, body: dict) -> None:
    delivery = callback.deliver(url=url, body=body)
    fields: dict[str, Any] = {}
    task = EngineTask.objects.get(uid=uid)
    fields["callback_attempts"] = task.callback_attempts + delivery.attempts
    if delivery.delivered:
        fields["callbacks_delivered"] = task.callbacks_delivered + 1
        fields["called_back_at"] = timezone.now()
        fields["callback_error"] = ""
    else:
        fields["callback_error"] = delivery.error
        logger.warning("engine callback for %s lost after %d attempts: %s", uid, delivery.attempts, delivery.error)
    EngineTask.objects.filter(uid=uid).update(**fields)


# --- status and interrupt ---------------------------------------------------------------------


def status_of(uid: Any) -> dict[str, Any]:
    """The backend's status answer for one uid: pending (with `position`, the number of tasks
    ahead of it), working, finished or exception (with the callback's `data`), interrupted,
    or not_found."""
    task = EngineTask.objects.filter(uid=uid).first() if isinstance(uid, str) else None
    if task is None:
        return {"uid": uid, "status": "not_found", "data": None}
    answer: dict[str, Any] = {"uid": task.uid, "status": task.status, "data": None}
    if task.status == S.PENDING:
        answer["position"] = EngineTask.objects.filter(status=S.PENDING, id__lt=task.id).count()
    elif task.status in (S.FINISHED, S.EXCEPTION) and task.callback_body:
        answer["data"] = task.callback_body.get("data")
    return answer


def interrupt(*, uid: Any) -> bool:
    """pending -> interrupted (no callback, never run); False for any other state or uid."""
    if not isinstance(uid, str):
        return False
    moved = EngineTask.objects.filter(uid=uid, status=S.PENDING).update(
        status=S.INTERRUPTED, finished_at=timezone.now(), reason="interrupted while pending"
    )
    if moved:
        storage.delete_source(uid)
    return bool(moved)


# --- health -----------------------------------------------------------------------------------

_HEALTH: dict[str, Any] = {}
_HEALTH_LOCK = threading.Lock()
# A failed probe is retried after this many seconds; a good one is kept for the process.
HEALTH_RETRY_SECONDS = 30.0


def superres_health() -> dict[str, Any]:
    """{"ok", "detail"} for the super-resolution model: loads the default model once per
    process and runs a tiny inference (superres.check_available)."""
    with _HEALTH_LOCK:
        cached = _HEALTH.get("superres")
        if cached and (cached["ok"] or time.monotonic() - cached["at"] < HEALTH_RETRY_SECONDS):
            return {"ok": cached["ok"], "detail": cached["detail"]}
        try:
            from .render import superres

            superres.check_available(threads=settings.ENGINE_SR_THREADS)
            label = superres.MODELS[superres.DEFAULT_MODEL]["label"]
            status = superres.model_status()
            ready = [model_id for model_id, info in status["models"].items() if info["files_present"]]
            ok, detail = True, f"{label} ready on CPU (ncnn); models present: {', '.join(ready)}"
        except Exception as exc:  # a health probe reports any failure, whatever its type
            ok, detail = False, f"{type(exc).__name__}: {exc}"[:300]
        _HEALTH["superres"] = {"ok": ok, "detail": detail, "at": time.monotonic()}
        return {"ok": ok, "detail": detail}


def forget_health() -> None:
    """Drop the cached probe (tests)."""
    with _HEALTH_LOCK:
        _HEALTH.clear()
