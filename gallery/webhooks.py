"""Webhooks: when a job made through the API ends, POST its JSON to the URL it carries.

Each delivery is signed like Stripe's: the header `Aigc-Signature: t=<unix time>,v1=<hex>`,
where v1 is HMAC-SHA256, keyed with the token's webhook secret, of "<t>.<body>". The receiver
recomputes it and refuses an old `t` (replays). A delivery is tried until the receiver answers
2xx, up to WEBHOOK_MAX_ATTEMPTS times with back-off; every attempt is recorded and shown to the
user (the job page and the API). The URL goes through the SSRF guard of ingest (netguard/): a
private or loopback address is refused when the job is created and again at every attempt
(the name may point elsewhere by then).

Events: `job.<status>` for each end of a job: succeeded, failed, unsafe, timed_out, cancelled;
a timed-out job whose picture arrives later sends `job.succeeded` after `job.timed_out`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_q.tasks import async_task

import netguard

from . import representations
from .models import ApiSubmission, WebhookAttempt, WebhookDelivery, WebhookState
from .retrying import Retry, backoff

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Aigc-Signature"
_BACKOFF_CAP = 3600.0

_REFUSALS = {
    "scheme": _("A webhook URL must start with http:// or https://."),
    "bad_url": _("This webhook URL is not valid."),
    "host_not_allowed": _("A webhook URL may not contain a user name or password."),
    "private_address": _("This webhook URL points to a private network and was refused."),
    "dns": _("The webhook URL's host name could not be looked up."),
}


class WebhookUrlRefused(Exception):
    """The URL is not one we POST to; the message is safe to show."""


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(*, secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (the README shows the same in a few lines of Python)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def check_url(url: str) -> str:
    """The URL, if webhooks may be sent there; else WebhookUrlRefused (translated)."""
    try:
        netguard.check_destination(url, private_hosts_allowed=settings.WEBHOOK_PRIVATE_HOSTS_ALLOWED)
    except netguard.GuardError as error:
        raise WebhookUrlRefused(_REFUSALS.get(error.code, _REFUSALS["bad_url"])) from error
    return url


def job_ended(job_id: UUID | str) -> WebhookDelivery | None:
    """Record the event of a job that just ended and send it, if the job asked for a webhook.
    Called by gallery.jobs after the move is committed."""
    submission = ApiSubmission.objects.select_related("job").filter(job_id=job_id).exclude(webhook_url="").first()
    if submission is None:
        return None
    job = submission.job
    with translation.override(submission.language or "en"):
        payload: dict[str, Any] = {
            "type": f"job.{job.status}",
            "created": int(time.time()),
            "data": representations.job_json(job),
        }
    delivery = WebhookDelivery.objects.create(
        job=job,
        url=submission.webhook_url,
        event=payload["type"],
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        next_attempt_at=timezone.now(),
    )
    async_task("gallery.tasks.deliver_webhook", str(delivery.id))
    return delivery


def deliver(*, delivery_id: UUID | str) -> Retry | None:
    """One attempt of a pending delivery; when to try again, if at all. Two workers running the
    same delivery at once: only the one that moves its attempt count sends."""
    delivery = WebhookDelivery.objects.select_related("job__api_submission__token").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != WebhookState.PENDING:
        return None
    number = delivery.attempts + 1
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, state=WebhookState.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return None
    token = delivery.job.api_submission.token
    status_code, error, permanent = None, "", False
    started = time.monotonic()
    if token is None:
        error, permanent = "the token that created the job was deleted", True
    else:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "aigc-gallery-webhooks/1",
            "Aigc-Event": delivery.event,
            "Aigc-Delivery": str(delivery.id),
            SIGNATURE_HEADER: sign(secret=token.webhook_secret, timestamp=int(time.time()), body=body),
        }
        try:
            sent = netguard.post(
                delivery.url,
                body=body,
                headers=headers,
                private_hosts_allowed=settings.WEBHOOK_PRIVATE_HOSTS_ALLOWED,
                timeout=settings.WEBHOOK_TIMEOUT,
            )
            status_code = sent.status_code
        except netguard.GuardError as exc:
            error, permanent = exc.code, isinstance(exc, netguard.Refused)
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        status_code=status_code,
        error=error[:200],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    now = timezone.now()
    if status_code is not None and 200 <= status_code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookState.DELIVERED, delivered_at=now, next_attempt_at=None
        )
        return None
    if permanent or number >= settings.WEBHOOK_MAX_ATTEMPTS:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(state=WebhookState.FAILED, next_attempt_at=None)
        logger.warning("webhook %s for job %s given up after %d attempts", delivery.id, delivery.job_id, number)
        return None
    retry = backoff(number, base=settings.WEBHOOK_BACKOFF_SECONDS, cap=_BACKOFF_CAP)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now + timedelta(seconds=retry.delay))
    return retry
