"""The fair queue: how many of one user's jobs may be with the provider at once.

Why per-user concurrency at dispatch, and not a queue (or a second django-q2 cluster) of
its own for the slow kinds: what holds our workers is not only a kind. An upscale holds the
engine's worker while it renders, but any kind can be slow: a picture whose host drips it
(ingest downloads it in one of our workers), a provider that calls back late, a busy
APISpace queue. A slow-kinds cluster would protect text→image from upscales only, and would
itself be held by one user's four upscales. Counting each user's jobs that are with the
provider and not finished bounds every way a job can hold a worker, for every kind, with
one rule and no second cluster to deploy and watch. It also caps how much of the paid
provider's queue one user takes.

The rule: a user has at most FAIR_SHARE_PER_USER jobs *holding* (claimed for submission or
submitted, not yet finished). A queued job over the share is not claimed; it stays queued,
unclaimed, honestly shown as "waiting for your other jobs" (gallery/waiting.py), and is
dispatched when one of the owner's jobs ends (`dispatch_next`, called by jobs._move after
the end commits) or, should that be lost, by the minute's sweep (it re-sends lost queued jobs).

The share is checked and the claim made under the owner's credit account lock
(jobs.claim_for_submission), so two of one user's submissions racing cannot both take the
last place. The claim itself is unchanged: a job is still sent at most once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from .models import Job, JobStatus

S = JobStatus


def share() -> int:
    """The most jobs of one user that may be with the provider at once (0: no limit)."""
    return max(0, int(settings.FAIR_SHARE_PER_USER))


def _holding_filter() -> Q:
    """A job that takes a place: claimed for its POST, or submitted and not finished (its
    picture may still be downloading in one of our workers)."""
    return Q(status=S.SUBMITTED) | Q(status=S.QUEUED, submit_claimed_at__isnull=False)


def holding(*, owner_id: Any) -> int:
    """How many of the owner's jobs hold a place now."""
    return Job.objects.filter(_holding_filter(), owner_id=owner_id).count()


def has_room(*, owner_id: Any) -> bool:
    """May one more of the owner's jobs be sent now? The caller holds the owner's account lock
    when it acts on the answer (jobs.claim_for_submission)."""
    limit = share()
    return not limit or holding(owner_id=owner_id) < limit


def waiting(*, owner_id: Any) -> QuerySet[Job]:
    """The owner's queued jobs not yet claimed, oldest first: the ones waiting for a place."""
    return Job.objects.filter(owner_id=owner_id, status=S.QUEUED, submit_claimed_at__isnull=True).order_by(
        "created_at", "id"
    )


def owners_at_share() -> set[Any]:
    """The users whose places are all taken (their queued jobs wait for them, not for the
    queue): one grouped query, for the honest position of everybody else's jobs."""
    limit = share()
    if not limit:
        return set()
    rows = (
        Job.objects.filter(_holding_filter())
        .values("owner_id")
        .annotate(n=Count("id"))
        .filter(n__gte=limit)
        .values_list("owner_id", flat=True)
    )
    return set(rows)


def dispatch_next(owner_id: Any) -> int:
    """One of the owner's jobs ended: hand the submission task the owner's oldest waiting jobs,
    as many as there are free places. A second call, or a job already claimed meanwhile, only
    costs a task that finds nothing to do (the claim decides). Returns how many were handed on."""
    limit = share()
    if not limit:  # every job's submission was queued when it was made; none waits
        return 0
    free = limit - holding(owner_id=owner_id)
    if free <= 0:
        return 0
    from django_q.tasks import async_task

    ids = list(waiting(owner_id=owner_id).values_list("id", flat=True)[:free])
    for job_id in ids:
        async_task("gallery.tasks.submit_job", str(job_id))
    return len(ids)
