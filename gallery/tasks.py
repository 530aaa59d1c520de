"""django-q2 tasks: thin ways in that load by id and call the domain.

Any task may run twice (django-q2 redelivers after `retry`, people re-queue by hand); the
domain functions they call are idempotent, and each says what a second call does.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone, translation
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from . import ingest, jobs, media, provider, tokens
from .models import Job, JobStatus

logger = logging.getLogger(__name__)

# The provider fetches the source image itself, possibly after a wait in its queue (it drops
# entries after ~30 minutes), so its presigned URL lives a little longer than that.
SOURCE_URL_EXPIRY = 45 * 60
INGEST_ATTEMPTS = 6  # for the provider's image host; our own store is retried without a count
INGEST_MAX_RETRY_INTERVAL = 300.0


def _in_english(func):
    """Tasks run outside any request; the reasons they store (job errors, ledger reasons) are
    kept in one language, English, for the audit. Pages translate the headline around them."""

    def wrapper(*args, **kwargs):
        with translation.override("en"):
            return func(*args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _retry_later(func: str, job_id: str, *, attempt: int, base: float, cap: float | None = None) -> None:
    delay = base * (2 ** min(attempt - 1, 30))
    if cap is not None:
        delay = min(delay, cap)
    schedule(
        func,
        job_id,
        attempt + 1,
        name=f"{func}:{job_id}:{attempt + 1}",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() + timedelta(seconds=delay),
    )


@_in_english
def submit_job(job_id: str, attempt: int = 1) -> str:
    """POST a queued job to the provider, at most once (see jobs.claim_for_submission)."""
    job = jobs.claim_for_submission(job_id=job_id)
    if job is None:
        return "not claimed"
    attempt = job.submit_attempts + 1
    source_url = media.url(job.source_key, expire=SOURCE_URL_EXPIRY) if job.source_key else ""
    payload = provider.build_payload(
        kind=job.kind, params=job.params, notify_url=tokens.notify_url(job.id), source_url=source_url
    )
    try:
        submission = provider.submit(kind=job.kind, payload=payload)
    except provider.UnknownOutcome as exc:
        jobs.record_unknown_outcome(job_id=job.id, reason=str(exc))
        return "unknown outcome"
    except provider.NotSent as exc:
        if attempt >= settings.PROVIDER_SUBMIT_ATTEMPTS:
            jobs.fail(job_id=job.id, reason=f"the image service is unavailable ({exc}); gave up after {attempt} tries")
            return "gave up"
        jobs.release_claim(job_id=job.id, attempts=attempt)
        _retry_later("gallery.tasks.submit_job", str(job.id), attempt=attempt, base=settings.PROVIDER_BACKOFF_SECONDS)
        return f"retry {attempt}"
    except provider.PermanentError as exc:
        jobs.fail(job_id=job.id, reason=str(exc))
        return "refused"
    jobs.mark_submitted(job_id=job.id, task_id=submission.task_id, response=submission.raw)
    return "submitted"


@_in_english
def ingest_result(job_id: str, attempt: int = 1) -> str:
    try:
        return ingest.ingest_result(job_id=job_id)
    except ingest.IngestRetry as exc:
        if exc.ours:
            # Our own object store is down: the picture is safe at the provider, so the job
            # is never failed for it. Retried without a limit on the count, at most every
            # INGEST_MAX_RETRY_INTERVAL seconds, with an error in the log for the operator.
            logger.error("object storage unavailable, ingest of %s waits (attempt %d): %s", job_id, attempt, exc)
            _retry_later("gallery.tasks.ingest_result", job_id, attempt=attempt, base=10, cap=INGEST_MAX_RETRY_INTERVAL)
            return f"retry {attempt}"
        if attempt >= INGEST_ATTEMPTS:
            jobs.fail(job_id=job_id, reason=f"the result image could not be fetched: {exc}")
            return "gave up"
        logger.warning("ingest of %s will be retried: %s", job_id, exc)
        _retry_later("gallery.tasks.ingest_result", job_id, attempt=attempt, base=10)
        return f"retry {attempt}"


@_in_english
def sweep_stale_jobs() -> dict[str, int]:
    """Every minute: finish jobs the provider never called back about, and re-send queued
    jobs whose submission task was lost. Each job is handled on its own, so one bad row
    cannot stop the sweep."""
    counts = {"timed_out": 0, "resubmitted": 0, "recovered": 0, "interrupted": 0, "reingested": 0}
    timeout = timedelta(minutes=settings.JOB_TIMEOUT_MINUTES)
    for job in jobs.stale_submitted(older_than=timeout)[:200]:
        try:
            counts[_sweep_one(job)] += 1
        except Exception:
            logger.exception("sweep failed for job %s", job.id)
    for job in jobs.stale_claims(older_than=timedelta(minutes=5))[:200]:
        # The worker died between claiming and recording the answer; we cannot know whether
        # the POST went out, so we do not re-send (it could cost twice): refund instead.
        if job.deliveries.exists():
            jobs.mark_submitted(job_id=job.id, task_id=None, response={"recovered": "callback arrived"})
            counts["recovered"] += 1
        else:
            jobs.fail(job_id=job.id, reason="the submission was interrupted; you were refunded")
            counts["interrupted"] += 1
    for job in jobs.awaiting_ingest(older_than=timedelta(minutes=5))[:200]:
        if Schedule.objects.filter(name__startswith=f"gallery.tasks.ingest_result:{job.id}:").exists():
            continue  # a back-off retry of the ingest is already planned
        async_task("gallery.tasks.ingest_result", str(job.id))
        counts["reingested"] += 1
    lost = Job.objects.filter(
        status=JobStatus.QUEUED,
        submit_claimed_at__isnull=True,
        created_at__lt=timezone.now() - timedelta(minutes=2),
    )
    for job in lost[:200]:
        if Schedule.objects.filter(name__startswith=f"gallery.tasks.submit_job:{job.id}:").exists():
            continue  # a back-off retry is already planned
        async_task("gallery.tasks.submit_job", str(job.id))
        counts["resubmitted"] += 1
    return counts


def _sweep_one(job: Job) -> str:
    """Ask the provider first where it has a status call; else time the job out."""
    state = provider.status(task_id=job.provider_task_id or "")
    if state and state.get("status") in ("pending", "working"):
        hard_limit = timedelta(minutes=3 * settings.JOB_TIMEOUT_MINUTES)
        if job.submitted_at and timezone.now() - job.submitted_at < hard_limit:
            return "recovered"
    if state and state.get("status") == "finished" and isinstance(state.get("data"), dict):
        from .callbacks import CallbackInvalid, from_body

        body = {"uid": job.provider_task_id, "success": True, "data": state["data"]}
        try:
            callback = from_body(body)
        except CallbackInvalid:
            pass
        else:
            jobs.record_callback(job_id=job.id, body=body, success=callback.success, safe=callback.safe)
            return "recovered"
    jobs.time_out(job_id=job.id, reason="no result from the image service in time")
    return "timed_out"


@_in_english
def sweep_orphaned_objects() -> int:
    """Daily: remove stored objects nothing refers to (gallery/housekeeping.py)."""
    from .housekeeping import sweep_orphans

    return len(sweep_orphans().deleted)
