"""Sending a paid job to the provider: at most once, and what each outcome means.

A job is claimed before its POST (`jobs.claim_for_submission`), so two workers never both send
it. Then only three things can happen, and the provider client (`provider.submit`) says which:
- it was not sent (refused connection, unknown host, connect timeout, 429): the claim is
  released and the job is tried again later, up to PROVIDER_SUBMIT_ATTEMPTS times, then failed
  and refunded;
- it may have been received (a 5xx, a broken read, anything after the body went out): never
  re-sent, since the upstream may have accepted and charged for it; the callback, the status
  call or the sweep settles it;
- it was refused for good (4xx): failed and refunded at once.

Before the claim, the fair queue (gallery/fairqueue.py) may say the owner already has their
share of jobs with the provider: then nothing is claimed or sent, and the job waits, queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings

from . import jobs, media, provider, tokens
from .models import JobFailure
from .retrying import Retry, backoff

# The provider fetches the source image itself, possibly after a wait in its queue (it drops
# entries after ~30 minutes), so its presigned URL lives a little longer than that.
SOURCE_URL_EXPIRY = 45 * 60


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt; `retry` says when to try again, if at all."""

    result: str
    retry: Retry | None = None


def submit(*, job_id: UUID | str) -> Outcome:
    try:
        job = jobs.claim_for_submission(job_id=job_id)
    except jobs.WaitingForShare:
        # Not claimed, not an attempt: it is sent when one of the owner's jobs ends.
        return Outcome("waiting for a place")
    if job is None:
        return Outcome("not claimed")
    attempt = job.submit_attempts + 1
    source_url = media.url(job.source_key, expire=SOURCE_URL_EXPIRY) if job.source_key else ""
    payload = provider.build_payload(
        kind=job.kind, params=job.params, notify_url=tokens.notify_url(job.id), source_url=source_url
    )
    try:
        sent = provider.submit(kind=job.kind, payload=payload)
    except provider.UnknownOutcome as exc:
        jobs.record_unknown_outcome(job_id=job.id, reason=str(exc))
        return Outcome("unknown outcome")
    except provider.NotSent as exc:
        if attempt >= settings.PROVIDER_SUBMIT_ATTEMPTS:
            jobs.fail(
                job_id=job.id,
                reason=f"the image service is unavailable ({exc}); gave up after {attempt} tries",
                failure=JobFailure.UNAVAILABLE,
            )
            return Outcome("gave up")
        jobs.release_claim(job_id=job.id, attempts=attempt)
        return Outcome(f"retry {attempt}", retry=backoff(attempt, base=settings.PROVIDER_BACKOFF_SECONDS))
    except provider.PermanentError as exc:
        jobs.fail(job_id=job.id, reason=str(exc), failure=JobFailure.REFUSED)
        return Outcome("refused")
    jobs.mark_submitted(job_id=job.id, task_id=sent.task_id, response=sent.raw)
    return Outcome("submitted")
