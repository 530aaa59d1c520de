"""A job and a picture as JSON: the API's answers and the bodies of its webhooks, one shape.

Times are ISO 8601 in UTC; URLs of stored objects are presigned and expire (MEDIA_URL_EXPIRY);
text meant for a person (a failure's headline) is in the active language.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from . import downloads, media, waiting
from .models import CreditTransaction, Image, Job, JobStatus, WebhookDelivery

_FAILURE_MESSAGES = {
    JobStatus.UNSAFE: lambda: _("The image service judged the result unsafe, so nothing was stored."),
    JobStatus.TIMED_OUT: lambda: _("The image service did not answer in time."),
    JobStatus.CANCELLED: lambda: _("The job was cancelled."),
}


def _when(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def image_json(image: Image) -> dict[str, Any]:
    return {
        "id": str(image.id),
        "job_id": str(image.job_id) if image.job_id else None,
        "kind": image.kind,
        "prompt": image.prompt,
        "negative_prompt": image.negative_prompt,
        "params": image.params,
        "width": image.width,
        "height": image.height,
        "size_bytes": image.size_bytes,
        "created_at": _when(image.created_at),
        "is_public": image.is_public,
        "is_favourite": image.is_favourite,
        "rating": image.rating,
        "source_image_id": str(image.source_image_id) if image.source_image_id else None,
        "made_by": image.made_by,
        "is_procedural": image.is_procedural,
        "label": downloads.image_label(image).as_json_object(),
        "urls": {
            "thumbnail": media.url(image.thumb_key) or None,
            "preview": media.url(image.preview_key) or None,
            "original": media.url(image.original_key),
        },
    }


def _failure(job: Job) -> dict[str, Any] | None:
    if job.status in (JobStatus.QUEUED, JobStatus.SUBMITTED, JobStatus.SUCCEEDED):
        return None
    if job.status == JobStatus.FAILED:
        category = job.failure or "failed"
        message = job.get_failure_display() if job.failure else _("The job failed.")
    else:
        category = job.status
        message = _FAILURE_MESSAGES[job.status]()
    return {"category": category, "message": str(message), "details": job.error_reason, "refunded": True}


def _wait(job: Job) -> dict[str, Any] | None:
    if job.is_finished:
        return None
    wait = waiting.of(job, now=timezone.now())
    return {
        "position": wait.position,
        "typical_seconds": wait.typical_seconds,
        "overdue": wait.overdue,
        "gives_up_at": _when(wait.gives_up_at),
        "saving": job.is_saving,
        "waiting_for_share": wait.waiting_for_share,
    }


def job_json(job: Job, *, image: Image | None = None) -> dict[str, Any]:
    """`image`: the job's picture when the caller has it loaded (else it is looked up). A picture
    its owner may not see any more (in the trash) is left out, by the one visibility rule."""
    if image is None and job.status == JobStatus.SUCCEEDED:
        image = Image.objects.visible_to(job.owner).filter(job=job).first()
    elif image is not None and not image.is_visible_to(job.owner):
        image = None
    submission = getattr(job, "api_submission", None)
    return {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "prompt": job.prompt,
        "params": job.params,
        "cost": job.cost,
        "created_at": _when(job.created_at),
        "submitted_at": _when(job.submitted_at),
        "finished_at": _when(job.finished_at),
        "retry_of": str(job.retry_of_id) if job.retry_of_id else None,
        "webhook_url": (submission.webhook_url or None) if submission else None,
        "wait": _wait(job),
        "failure": _failure(job),
        "image": image_json(image) if image is not None else None,
    }


def ledger_json(row: CreditTransaction) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "reason_code": row.reason_code,
        "amount": row.amount,
        "balance_after": row.balance_after,
        "job_id": str(row.job_id) if row.job_id else None,
        "created_at": _when(row.created_at),
    }


def webhook_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "event": delivery.event,
        "url": delivery.url,
        "state": delivery.state,
        "attempts": [
            {
                "number": attempt.number,
                "at": _when(attempt.at),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            }
            for attempt in delivery.attempt_log.all()
        ],
        "created_at": _when(delivery.created_at),
        "next_attempt_at": _when(delivery.next_attempt_at),
        "delivered_at": _when(delivery.delivered_at),
    }
