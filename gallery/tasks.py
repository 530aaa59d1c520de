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

from . import ingest, jobs, notices, provider, submission, webhooks
from .models import Job, JobStatus
from .retrying import Retry

logger = logging.getLogger(__name__)


def _in_english(func):
    """Tasks run outside any request; the reasons they store (job errors, ledger reasons) are
    kept in one language, English, for the audit. Pages translate the headline around them."""

    def wrapper(*args, **kwargs):
        with translation.override("en"):
            return func(*args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _schedule_retry(func: str, subject_id: str, retry: Retry) -> None:
    schedule(
        func,
        subject_id,
        retry.attempt + 1,
        name=f"{func}:{subject_id}:{retry.attempt + 1}",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() + timedelta(seconds=retry.delay),
    )


@_in_english
def submit_job(job_id: str, attempt: int = 1) -> str:
    """POST a queued job to the provider, at most once (the rules are gallery/submission.py's)."""
    outcome = submission.submit(job_id=job_id)
    if outcome.retry is not None:
        _schedule_retry("gallery.tasks.submit_job", str(job_id), outcome.retry)
    return outcome.result


@_in_english
def ingest_result(job_id: str, attempt: int = 1) -> str:
    try:
        return ingest.ingest_result(job_id=job_id)
    except ingest.IngestRetry as exc:
        retry = ingest.retry_after(exc, job_id=job_id, attempt=attempt)
        if retry is None:
            return "gave up"
        _schedule_retry("gallery.tasks.ingest_result", job_id, retry)
        return f"retry {attempt}"


def deliver_webhook(delivery_id: str, attempt: int = 1) -> str:
    """POST a job's end to its webhook URL; again later, with back-off, until it answers 2xx
    (the rules are gallery/webhooks.py's). Not in English: the body is already made."""
    retry = webhooks.deliver(delivery_id=delivery_id)
    if retry is not None:
        _schedule_retry("gallery.tasks.deliver_webhook", str(delivery_id), retry)
        return f"retry {attempt}"
    return "done"


def mail_notice(notice_id: int) -> str:
    """Mail a job-end notice to a user who asked for it, outside the request that ended the job
    (the rules are gallery/notices.py's; it speaks the user's chosen language)."""
    return "sent" if notices.send_email(notice_id=notice_id) else "not sent"


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


# One relabelling task works this long at most, well inside Q_TIMEOUT, then hands on to the next.
RELABEL_SLICE_SECONDS = 120.0


@_in_english
def relabel_stored_pictures(after: str = "", attempt: int = 1, left: int = 0) -> str:
    """After an upgrade (a migration schedules it once): label the pictures stored before
    labelling (gallery/relabel.py, the same work as `manage.py aigc_relabel`), a slice at a time,
    each slice scheduling the next from the last picture it looked at. When the store fails it
    tries again from there later (backing off up to an hour); when pictures were left because a
    running job read their original (`left`), a new pass starts an hour after the last slice."""
    import time
    from uuid import UUID, uuid4

    from .relabel import relabel_all
    from .retrying import backoff

    slice_seconds = min(RELABEL_SLICE_SECONDS, settings.Q_CLUSTER["timeout"] / 4)
    report = relabel_all(after=UUID(after) if after else None, deadline=time.monotonic() + slice_seconds)
    left += report.left
    resume_from = str(report.last_id or "")
    if report.stopped:
        logger.error("relabelling stopped (attempt %d), continues later: %s", attempt, report.stopped)
        delay, args = backoff(attempt, base=60, cap=3600).delay, (resume_from, attempt + 1, left)
    elif not report.finished:
        delay, args = 0, (resume_from, 1, left)
    elif left:
        delay, args = 3600, ("", 1, 0)
    else:
        return f"done: {report.relabelled} relabelled in the last slice"
    schedule(
        "gallery.tasks.relabel_stored_pictures",
        *args,
        name=f"gallery.tasks.relabel_stored_pictures:{uuid4().hex[:12]}",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now() + timedelta(seconds=delay),
    )
    return (
        f"stopped: {report.stopped}" if report.stopped else f"continues: {report.relabelled} relabelled in this slice"
    )


@_in_english
def purge_trash() -> int:
    """Daily: delete for good the pictures in the trash for longer than TRASH_RETENTION_DAYS
    (gallery/trash.py); a second run the same day finds nothing more."""
    from .trash import purge_expired

    return purge_expired().deleted


def forget_idempotency_keys() -> int:
    """Daily: forget Idempotency-Keys older than API_IDEMPOTENCY_HOURS (gallery/idempotency.py)."""
    from .idempotency import purge_expired

    return purge_expired()


def forget_successful_tasks() -> int:
    """Daily: forget django-q2's successful tasks older than Q_SUCCESS_KEEP_DAYS
    (gallery/task_results.py)."""
    from .task_results import forget_old_successes

    return forget_old_successes()
