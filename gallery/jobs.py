"""Jobs: creation, and every change of `Job.status`.

The allowed moves are the one table below; each move is a named function that locks the job
row, re-reads its status and returns quietly when the work is already done (a duplicate
callback, a task run twice). Nothing else in the code base writes `Job.status`.

    queued ──► submitted ──► succeeded | failed | unsafe | timed_out
       │  │         └──► cancelled (the provider confirmed it interrupted it: never run)
       │  └──► failed (the provider refused it before accepting it)
       └─────► cancelled
    timed_out ──► succeeded (the picture arrived after the sweep gave up; the refund stays)

Money: a job is debited in the transaction that creates it, and refunded in the transaction
that moves it to failed, unsafe, timed_out or cancelled. Lock order: credit account, then job.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit, credits, fairqueue, notices, provider, webhooks
from .models import ACTIVE_STATUSES, CallbackDelivery, Image, Job, JobFailure, JobStatus

logger = logging.getLogger(__name__)

S = JobStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.SUBMITTED, S.CANCELLED, S.FAILED}),
    # cancelled: only once the provider's interrupt call said it dropped the job (jobs.interrupt).
    S.SUBMITTED: frozenset({S.SUCCEEDED, S.FAILED, S.UNSAFE, S.TIMED_OUT, S.CANCELLED}),
    # A late picture is still delivered: the user was refunded when the job timed out, and
    # keeps both the refund and the picture (no second charge).
    S.TIMED_OUT: frozenset({S.SUCCEEDED}),
}
REFUNDED_STATUSES = frozenset({S.FAILED, S.UNSAFE, S.TIMED_OUT, S.CANCELLED})
ENDED_STATUSES = REFUNDED_STATUSES | {S.SUCCEEDED}


class JobError(Exception):
    """A job operation that cannot happen; the message is safe to show the user."""


class IllegalTransition(JobError):
    def __init__(self, job: Job, to: str):
        super().__init__(f"job {job.id}: {job.status} -> {to} is not allowed")
        self.job, self.to = job, to


class JobNotCancellable(JobError):
    def __init__(self, message: Any = None) -> None:
        super().__init__(message or _("Only a job that is still queued can be cancelled."))


class RateLimited(JobError):
    """Over a per-user limit; `retry_after` is how many seconds until trying again can work."""

    def __init__(self, message: Any, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def can_transition(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def _move(job: Job, to: str, **fields: Any) -> None:
    """The one place that writes status; the caller holds the row lock."""
    if not can_transition(job.status, to):
        raise IllegalTransition(job, to)
    job.status = to
    now = timezone.now()
    if to == S.SUBMITTED:
        job.submitted_at = now
    elif to in ENDED_STATUSES:
        job.finished_at = now
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()
    if to in ENDED_STATUSES:
        # The owner's inbox (and mail, if they asked for it): after the commit, so a rolled-back end
        # is never announced; robust: a notice that fails is logged and never undoes the move. First,
        # so a page that sees the end sees its notice too but for a moment.
        transaction.on_commit(lambda: notices.job_ended(job.id), robust=True)
        # A place of the owner's fair share may have come free: their next waiting job goes.
        owner_id = job.owner_id
        transaction.on_commit(lambda: fairqueue.dispatch_next(owner_id), robust=True)
        # A job made through the API may have a webhook to call; robust, the same way.
        transaction.on_commit(lambda: webhooks.job_ended(job.id), robust=True)


def _lock(job_id: UUID | str) -> Job:
    return Job.objects.select_for_update().get(id=job_id)


def lock_with_account(*, job_id: UUID | str) -> Job:
    """Lock the owner's credit account, then the job, in that order (the one lock order of
    the code base); for any change that may move credits with the job's state."""
    owner_id = Job.objects.values_list("owner_id", flat=True).get(id=job_id)
    credits.lock_account(user_id=owner_id)
    return _lock(job_id)


# --- creation ---


def check_limits(*, owner: AbstractBaseUser, count: int = 1) -> None:
    """Per-user limits on jobs in flight and jobs per minute (settings), for `count` new ones:
    they count pictures, so a batch of four weighs as four submissions of one."""
    in_flight = Job.objects.filter(owner=owner, status__in=ACTIVE_STATUSES).count()
    if in_flight + count > settings.JOBS_MAX_IN_FLIGHT:
        if count == 1:
            message = _("You already have %(count)d jobs running; wait for one to finish.") % {"count": in_flight}
        else:
            message = _(
                "%(count)d more pictures would make %(total)d jobs running; at most %(max)d may run at once."
            ) % {"count": count, "total": in_flight + count, "max": settings.JOBS_MAX_IN_FLIGHT}
        raise RateLimited(message, retry_after=5)
    now = timezone.now()
    recent = Job.objects.filter(owner=owner, created_at__gte=now - timedelta(minutes=1))
    if recent.count() + count > settings.JOBS_MAX_PER_MINUTE:
        oldest = recent.order_by("created_at").values_list("created_at", flat=True).first() or now
        raise RateLimited(
            _("At most %(limit)d jobs a minute; please wait a moment.") % {"limit": settings.JOBS_MAX_PER_MINUTE},
            retry_after=max(1, int((oldest + timedelta(minutes=1) - now).total_seconds()) + 1),
        )


def check_can_start(*, owner: AbstractBaseUser, kind: str, count: int = 1) -> None:
    """Refuse a job (or a batch of `count`) before any work is done for it (an upload decoded,
    re-encoded and stored): the daily top-up, then the per-user limits and the balance, as
    create_job checks them.

    Reads without a lock: create_job checks both again under the account lock, which is what
    keeps two requests racing past this point from overdrawing. Raises RateLimited or
    credits.InsufficientCredits; a second call changes nothing (the top-up is once a day)."""
    credits.top_up_daily(user=owner)
    check_limits(owner=owner, count=count)
    credits.check_affordable(user=owner, amount=credits.cost_of(kind) * count, count=count)


def create_job(
    *,
    owner: AbstractBaseUser,
    kind: str,
    params: dict[str, Any],
    prompt: str = "",
    source_key: str = "",
    source_image: Image | None = None,
    retry_of: Job | None = None,
    source_label: dict[str, str] | None = None,
    batch: UUID | None = None,
    batch_index: int = 0,
) -> Job:
    """Create a queued job, debit its cost and enqueue its submission, all or nothing.

    Raises credits.InsufficientCredits or RateLimited and creates nothing. Concurrent calls
    for one user serialise on the credit account lock, so they can never overdraw.
    """
    with transaction.atomic():
        credits.top_up_daily(user=owner)
        # Taking the account lock first also serialises the limit checks below.
        credits.lock_account(user=owner)
        check_limits(owner=owner)
        job = Job.objects.create(
            owner=owner,
            kind=kind,
            params=params,
            prompt=prompt,
            source_key=source_key,
            source_image=source_image,
            retry_of=retry_of,
            source_label=source_label,
            batch=batch,
            batch_index=batch_index,
            cost=credits.cost_of(kind),
        )
        credits.debit_for_job(job=job)
        transaction.on_commit(lambda: _enqueue("gallery.tasks.submit_job", str(job.id)))
    return job


def create_batch(
    *,
    owner: AbstractBaseUser,
    kind: str,
    params: list[dict[str, Any]],
    prompt: str = "",
    source_key: str = "",
    source_image: Image | None = None,
    source_label: dict[str, str] | None = None,
) -> list[Job]:
    """One job per entry of `params`, each debited its own cost, in one transaction: all of them
    or none. The limits and the balance are checked for the whole batch first, under the
    account lock (credits.InsufficientCredits or RateLimited naming the batch); create_job then
    checks each job again as usual. Several jobs share a new batch id, numbered in order."""
    if not params:
        raise ValueError("a batch of no jobs")
    batch = uuid.uuid4() if len(params) > 1 else None
    with transaction.atomic():
        credits.top_up_daily(user=owner)
        account = credits.lock_account(user=owner)
        check_limits(owner=owner, count=len(params))
        credits.require_balance(account=account, amount=credits.cost_of(kind) * len(params), count=len(params))
        return [
            create_job(
                owner=owner,
                kind=kind,
                params=job_params,
                prompt=prompt,
                source_key=source_key,
                source_image=source_image,
                source_label=source_label,
                batch=batch,
                batch_index=index,
            )
            for index, job_params in enumerate(params)
        ]


def cancel_batch(*, owner: AbstractBaseUser, batch: UUID, by: AbstractBaseUser) -> list[Job]:
    """ "Cancel the rest": every job of the owner's batch that is still queued and unclaimed is
    cancelled and refunded (jobs.cancel, one by one); the ones already on their way go on. The
    jobs cancelled are returned (none: nothing was left to cancel)."""
    cancelled = []
    for job in Job.objects.filter(owner=owner, batch=batch, status=S.QUEUED).order_by("batch_index"):
        try:
            cancelled.append(cancel(job=job, by=by))
        except JobNotCancellable:  # claimed by a worker meanwhile: it is being sent
            continue
    return cancelled


def _enqueue(func: str, *args: Any) -> None:
    from django_q.tasks import async_task

    async_task(func, *args)


# --- submission ---


class WaitingForShare(JobError):
    """The owner already has their fair share of jobs with the provider (gallery/fairqueue.py):
    the job stays queued and unclaimed, and is sent when one of theirs ends."""


def claim_for_submission(*, job_id: UUID | str) -> Job | None:
    """Claim a queued job for the one POST to the provider; None if it is not ours to send.
    Raises WaitingForShare, claiming nothing, when the owner has no free place.

    A conditional update is the guard (the API has no idempotency key): of two workers
    running the same task, exactly one gets the row; the other stops. The fair share is
    counted under the owner's account lock, so two of their jobs cannot both take the last place.
    """
    owner_id = Job.objects.filter(id=job_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return None
    with transaction.atomic():
        credits.lock_account(user_id=owner_id)
        if not Job.objects.filter(id=job_id, status=S.QUEUED, submit_claimed_at__isnull=True).exists():
            return None
        if not fairqueue.has_room(owner_id=owner_id):
            raise WaitingForShare(f"job {job_id}: its owner has {fairqueue.share()} jobs with the provider")
        claimed = Job.objects.filter(id=job_id, status=S.QUEUED, submit_claimed_at__isnull=True).update(
            submit_claimed_at=timezone.now()
        )
    if not claimed:
        return None
    return Job.objects.get(id=job_id)


def release_claim(*, job_id: UUID | str, attempts: int) -> None:
    """The POST certainly did not reach the provider (connection refused, 5xx, 429): let a
    later attempt claim the job again."""
    Job.objects.filter(id=job_id, status=S.QUEUED).update(submit_claimed_at=None, submit_attempts=attempts)


def mark_submitted(*, job_id: UUID | str, task_id: str | None, response: Any) -> Job:
    """queued → submitted with the provider's task id. A second call changes nothing."""
    return _to_submitted(job_id=job_id, provider_task_id=task_id or None, provider_response=response)


def record_unknown_outcome(*, job_id: UUID | str, reason: str) -> Job:
    """The request was sent but no trustworthy answer came (a read timeout, a broken
    connection, a 5xx: provider.UnknownOutcome says which). The provider may well
    have accepted it, and the API has no idempotency key, so re-sending could pay twice.
    We deliberately do NOT re-send: the job counts as submitted, the callback (found by its
    per-job URL, not the task id) can still finish it, and the timeout sweep refunds it if
    nothing comes."""
    return _to_submitted(job_id=job_id, provider_response={"unknown_outcome": reason})


def _to_submitted(*, job_id: UUID | str, **fields: Any) -> Job:
    """queued → submitted. A callback that arrived before this (a fast provider) was recorded
    as early; it is processed now."""
    with transaction.atomic():
        job = _lock(job_id)
        if job.status != S.QUEUED:
            return job
        _move(job, S.SUBMITTED, **fields)
        if job.deliveries.exists():
            transaction.on_commit(lambda: _enqueue("gallery.tasks.ingest_result", str(job.id)))
        return job


# --- callbacks ---


def record_callback(*, job_id: UUID | str, body: dict, success: bool, safe: bool | None) -> CallbackDelivery:
    """Keep one delivery of the provider's callback and decide what it means, under the job's
    row lock. Duplicates and late deliveries are recorded and change nothing twice."""
    with transaction.atomic():
        job = _lock(job_id)
        now = timezone.now()
        if job.status == S.QUEUED:
            outcome = CallbackDelivery.Outcome.EARLY
        elif job.status == S.SUBMITTED:
            already = job.deliveries.filter(outcome=CallbackDelivery.Outcome.APPLIED).exists()
            outcome = CallbackDelivery.Outcome.DUPLICATE if already else CallbackDelivery.Outcome.APPLIED
        elif job.status == S.TIMED_OUT and success and safe:
            already = job.deliveries.filter(outcome=CallbackDelivery.Outcome.LATE).exists()
            outcome = CallbackDelivery.Outcome.DUPLICATE if already else CallbackDelivery.Outcome.LATE
        elif job.status == S.TIMED_OUT:
            outcome = CallbackDelivery.Outcome.LATE
        else:
            # Ended for good (succeeded, failed, or cancelled: after an interrupt the provider
            # should not call back, and if it does, no picture is stored and no credit moves).
            outcome = CallbackDelivery.Outcome.DUPLICATE
        delivery = CallbackDelivery.objects.create(job=job, body=body, success=success, safe=safe, outcome=outcome)
        if job.callback_received_at is None:
            job.callback_received_at = now
            job.save(update_fields=["callback_received_at"])
        if outcome == CallbackDelivery.Outcome.APPLIED or (
            outcome == CallbackDelivery.Outcome.LATE and success and safe
        ):
            transaction.on_commit(lambda: _enqueue("gallery.tasks.ingest_result", str(job.id)))
        return delivery


def delivery_to_apply(job: Job) -> CallbackDelivery | None:
    """The delivery that decides the job: the first one that can finish it."""
    wanted = [CallbackDelivery.Outcome.APPLIED, CallbackDelivery.Outcome.EARLY, CallbackDelivery.Outcome.LATE]
    return job.deliveries.filter(outcome__in=wanted).order_by("received_at", "id").first()


# --- endings ---


def _finish_with_refund(
    *,
    job_id: UUID | str,
    to: str,
    reason: str,
    failure: str = "",
    requested_by: AbstractBaseUser | None = None,
    unclaimed_only: bool = False,
) -> Job:
    """Move the job to `to` and refund it, under its row lock, coded by the status it ended in
    (and for a failure, by why: `failure`, a JobFailure).

    `requested_by` is whoever asked for the move (the owner cancelling), recorded in the audit
    only: the refund itself is the automatic one (staff refunds go through
    `credits.refund_by_staff`, which changes no status). With unclaimed_only, a job a worker has
    claimed for submission is left alone; that check is made on the locked row, since a claim
    may land between any earlier read and this lock."""
    with transaction.atomic():
        job = lock_with_account(job_id=job_id)
        if job.status == to or not can_transition(job.status, to):
            return job
        if unclaimed_only and job.submit_claimed_at is not None:
            return job
        _move(job, to, error_reason=str(reason)[:2000], failure=failure)
        result = credits.refund_job(job=job, code=credits.REFUND_REASONS[to], reason=str(reason)[:255])
        if result.created:
            audit.record(requested_by, audit.Action.JOB_REFUNDED, job, status=to, reason=str(reason)[:500])
        return job


def fail(*, job_id: UUID | str, reason: str, failure: str = JobFailure.SERVICE_FAILED) -> Job:
    """submitted (or queued, if the provider refused it) → failed, refunded once. `reason` is
    the provider's or our own words (kept in English for the audit); `failure` says in which
    way it failed, for the user's headline."""
    return _finish_with_refund(job_id=job_id, to=S.FAILED, reason=reason, failure=failure)


def mark_unsafe(*, job_id: UUID | str, reason: str) -> Job:
    """submitted → unsafe: the picture failed the provider's audit; nothing stored, refunded."""
    return _finish_with_refund(job_id=job_id, to=S.UNSAFE, reason=reason)


def time_out(*, job_id: UUID | str, reason: str = "no callback in time") -> Job:
    """submitted → timed_out, refunded. A picture arriving later is still delivered."""
    return _finish_with_refund(job_id=job_id, to=S.TIMED_OUT, reason=reason)


def can_interrupt(job: Job) -> bool:
    """May the owner cancel this job although it is with the provider? Only where the provider
    has an interrupt call, we know the job's id there, and no result has come yet."""
    return (
        job.status == S.SUBMITTED
        and provider.has_interrupt_call()
        and bool(job.provider_task_id)
        and job.callback_received_at is None
    )


def can_cancel(job: Job) -> bool:
    """Whether a Cancel button is offered: queued and not yet being sent, or interruptible."""
    return (job.status == S.QUEUED and job.submit_claimed_at is None) or can_interrupt(job)


def interrupt(*, job: Job, by: AbstractBaseUser) -> Job:
    """submitted → cancelled by its owner through the provider's interrupt call, refunded once,
    and only when the provider confirms it dropped the job (it drops jobs still waiting in its
    queue, not running ones). Raises JobNotCancellable otherwise, changing nothing.

    A callback that still comes for it finds the job cancelled: it is recorded and ignored
    (record_callback), so no picture is stored and nothing is charged or refunded again."""
    if not can_interrupt(job):
        raise JobNotCancellable(_("This job is already being made and cannot be cancelled."))
    if not provider.interrupt(task_id=job.provider_task_id or ""):
        raise JobNotCancellable(_("The image service has already started this job; it can no longer be cancelled."))
    result = _finish_with_refund(
        job_id=job.id, to=S.CANCELLED, reason="cancelled by user; the image service interrupted it", requested_by=by
    )
    if result.status != S.CANCELLED:
        raise JobNotCancellable()
    return result


def cancel(*, job: Job, by: AbstractBaseUser) -> Job:
    """queued → cancelled by its owner, refunded; a submitted job goes through `interrupt`.
    Raises JobNotCancellable otherwise.

    A job a worker has already claimed may be on the wire; it cannot be cancelled any more."""
    if job.status == S.SUBMITTED:
        return interrupt(job=job, by=by)
    if job.status != S.QUEUED or job.submit_claimed_at is not None:
        raise JobNotCancellable()  # cheap answer from what the caller read; re-checked locked
    result = _finish_with_refund(
        job_id=job.id, to=S.CANCELLED, reason="cancelled by user", requested_by=by, unclaimed_only=True
    )
    if result.status != S.CANCELLED:
        raise JobNotCancellable()
    return result


def succeed(*, job: Job, duration: float | None) -> None:
    """submitted|timed_out → succeeded. The caller holds the job's row lock and has just
    attached the image in the same transaction."""
    _move(job, S.SUCCEEDED, provider_duration=duration, error_reason="")


def stale_submitted(*, older_than: timedelta):
    """Submitted jobs with no callback in time. A job whose callback has been recorded is not
    one of them, however old: its picture is being saved (ingest retries), not missing, and
    timing it out would refund a picture that is about to arrive."""
    return Job.objects.filter(
        status=S.SUBMITTED, submitted_at__lt=timezone.now() - older_than, callback_received_at__isnull=True
    )


def awaiting_ingest(*, older_than: timedelta):
    """Submitted jobs whose callback was recorded a while ago and that are still not
    finished: their ingest task may have been lost (a killed worker on a broker without
    acknowledgements), so the sweep hands them to ingest again (ingest is idempotent)."""
    return Job.objects.saving().filter(callback_received_at__lt=timezone.now() - older_than)


def stale_claims(*, older_than: timedelta):
    """Queued jobs a worker claimed and never finished sending (the worker died mid-POST)."""
    return Job.objects.filter(status=S.QUEUED, submit_claimed_at__lt=timezone.now() - older_than)


# --- staff ---

# A job that ended without a picture, refunded, may be tried again as a new job.
RETRYABLE_STATUSES = frozenset({S.FAILED, S.UNSAFE, S.TIMED_OUT, S.CANCELLED})


class JobNotRetryable(JobError):
    pass


def retry(*, job_id: UUID | str, by: AbstractBaseUser) -> Job:
    """ "Try again" — by the owner, or by staff for them: a NEW queued job with the same
    parameters for the same owner, charged its normal cost and pointing back (`retry_of`) at the
    old one, which keeps its status and refund.

    Why charged, and why that is not a double charge: the old job was refunded when it
    failed or timed out, so the owner has paid nothing for it; the new job is debited once,
    as an ordinary ledger row the owner sees in their history, so they pay once for one
    attempt. Nothing is free or charged behind the owner's back. If the owner cannot afford
    it, credits.InsufficientCredits is raised and nothing is created (staff can grant
    credits first, with a reason); the per-user limits apply as to the owner's own jobs.

    A job that was charged but not refunded is refused (retrying it would charge twice), and
    a job is retried at most once: a second call raises JobNotRetryable naming the earlier
    retry. A timed-out job whose picture arrives later keeps it as well (it stays refunded).
    The audit entry "job.retried" on the old job records who asked.
    """
    from . import media  # the source picture must still exist for the provider to fetch it

    job = Job.objects.get(id=job_id)
    if job.owner_id != by.pk and not by.is_staff:
        raise JobNotRetryable(_("Only the owner of a job or staff can try it again."))
    if job.source_key and not media.exists(job.source_key):
        raise JobNotRetryable(_("The source picture of this job is gone; it cannot be retried."))
    with transaction.atomic():
        job = lock_with_account(job_id=job_id)
        if job.status not in RETRYABLE_STATUSES:
            raise JobNotRetryable(_("Only a job that ended without a picture can be tried again."))
        kinds = set(job.credit_transactions.values_list("kind", flat=True))
        if "debit" in kinds and "refund" not in kinds:
            raise JobNotRetryable(_("This job was not refunded; retrying it would charge twice."))
        earlier = audit.latest(audit.Action.JOB_RETRIED, job)
        if earlier is not None:
            raise JobNotRetryable(
                _("This job was already retried as job %(job)s.") % {"job": earlier.data.get("new_job", "?")}
            )
        new_job = create_job(
            owner=job.owner,
            kind=job.kind,
            params=dict(job.params),
            prompt=job.prompt,
            source_key=job.source_key,
            source_image=job.source_image,
            retry_of=job,
            source_label=job.source_label,
        )
        audit.record(by, audit.Action.JOB_RETRIED, job, new_job=str(new_job.id), status=job.status)
    return new_job


# --- the owner's prompt history ---

PROMPT_HISTORY_SIZE = 50


def recent_prompts(*, owner: AbstractBaseUser, words: str = "") -> list[dict[str, Any]]:
    """The owner's last PROMPT_HISTORY_SIZE distinct prompts, newest use first, each with how
    often and when it was last used; `words` (all of them, anywhere: Chinese has no spaces)
    narrows the list."""
    queryset = Job.objects.filter(owner=owner).exclude(prompt="")
    for word in words.split():
        queryset = queryset.filter(prompt__icontains=word)
    return list(
        queryset.values("prompt")
        .annotate(last_used=Max("created_at"), uses=Count("id"))
        .order_by("-last_used")[:PROMPT_HISTORY_SIZE]
    )
