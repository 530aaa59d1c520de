"""Honest waiting: where a job stands in our queue, how long such jobs usually take, and what
happens if this one takes much longer. The job page says this instead of a fixed "a few seconds".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import DurationField, ExpressionWrapper, F

from . import fairqueue, provider
from .models import Job, JobStatus

RECENT = 50  # finished jobs of a kind the usual time is taken from
TYPICAL_CACHE_SECONDS = 60
OVERDUE_FACTOR = 2  # "taking longer than usual" past twice the usual time


def typical_seconds(kind: str) -> float | None:
    """The median time from submission to the picture of the last RECENT succeeded jobs of
    `kind`, or None when there are none yet (cached for a minute: one query a kind a minute)."""
    key = f"waiting:typical:{kind}"
    found = cache.get(key)
    if found is not None:
        return found or None
    took = ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())
    durations = list(
        Job.objects.filter(kind=kind, status=JobStatus.SUCCEEDED, finished_at__isnull=False)
        .order_by("-finished_at")
        .annotate(took=took)
        .values_list("took", flat=True)[:RECENT]
    )
    median = statistics.median(d.total_seconds() for d in durations) if durations else 0.0
    cache.set(key, median, TYPICAL_CACHE_SECONDS)
    return median or None


@dataclass(frozen=True)
class Wait:
    position: int | None  # 1 = next to be sent; only while queued and not waiting for a place
    typical_seconds: float | None
    overdue: bool  # taking more than OVERDUE_FACTOR times the usual
    gives_up_at: datetime | None  # when the sweep times it out and refunds it, if nothing arrives
    # Queued behind the owner's own jobs: they have their fair share with the service already
    # (gallery/fairqueue.py), and this one is sent when one of those ends.
    waiting_for_share: bool = False
    share: int = 0
    # The provider's own queue position of a submitted job, when its status call reports one
    # (the offline engine's does; APISpace documents none): 1 = next to be painted.
    provider_position: int | None = None


PROVIDER_STATUS_CACHE_SECONDS = 5  # the job page polls every second; the provider is asked less


def provider_position(job: Job) -> int | None:
    """Where the provider says a submitted job stands in its queue (None: painting, unknown, or
    no status call). One status call per job every PROVIDER_STATUS_CACHE_SECONDS at most."""
    if not provider.has_status_call() or not job.provider_task_id:
        return None
    key = f"waiting:provider:{job.id}"
    found = cache.get(key)
    if found is None:
        state = provider.status(task_id=job.provider_task_id) or {}
        position = state.get("position") if state.get("status") == "pending" else None
        found = position + 1 if isinstance(position, int) and not isinstance(position, bool) and position >= 0 else 0
        cache.set(key, found, PROVIDER_STATUS_CACHE_SECONDS)
    return found or None


def of(job: Job, *, now: datetime) -> Wait:
    """What to tell the owner about a job that is not finished."""
    position, for_share = None, False
    if job.status == JobStatus.QUEUED and job.submit_claimed_at is None:
        full = fairqueue.owners_at_share()
        for_share = job.owner_id in full
        if not for_share:
            # Jobs of users whose places are taken are not ahead of this one: they wait for
            # their owner's jobs, not for the queue.
            ahead = Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=job.created_at)
            position = ahead.exclude(owner_id__in=full, submit_claimed_at__isnull=True).count() + 1
    elif job.status == JobStatus.QUEUED:
        position = 1  # claimed: being sent now
    typical = typical_seconds(job.kind)
    elapsed = (now - job.created_at).total_seconds()
    overdue = typical is not None and elapsed > OVERDUE_FACTOR * max(typical, 1.0)
    gives_up_at, in_provider_queue = None, None
    if job.status == JobStatus.SUBMITTED and job.submitted_at and not job.callback_received_at:
        gives_up_at = job.submitted_at + timedelta(minutes=settings.JOB_TIMEOUT_MINUTES)
        in_provider_queue = provider_position(job)
    return Wait(
        position=position,
        typical_seconds=typical,
        overdue=overdue,
        gives_up_at=gives_up_at,
        waiting_for_share=for_share,
        share=fairqueue.share(),
        provider_position=in_provider_queue,
    )
