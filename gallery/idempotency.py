"""`Idempotency-Key` for the API's creates: a retried request gets the first answer, and pays once.

Stripe's rule, which we follow: a key names one request. The first request with a key is
handled and its answer remembered for API_IDEMPOTENCY_HOURS; the same key with the same body
gets that answer again (and no new job, no new charge); the same key with another body is an
error. Requests that race with the same key wait for the first one to finish and then get its
answer. Only answers that created something are remembered: when the first request is refused
(no credit, a blocked prompt, a limit) the key is free again, so fixing the cause and retrying
with the same key works.

The claim is a row under a unique (owner, key) constraint, inserted in its own transaction
before any work: the database, not a lock in one process, decides which request goes first, so
this holds across web servers.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import IdempotencyKey, Job

# How long a request waits for the first one with its key before answering "still in progress".
WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05
# A claim older than this whose request never finished (its process died) is given up.
ABANDONED_AFTER = timedelta(minutes=2)
MAX_KEY_LENGTH = 255


class KeyInvalid(Exception):
    """The header is empty, too long or not printable ASCII."""


class KeyReused(Exception):
    """The key was used with another request body."""


class KeyInProgress(Exception):
    """The first request with this key is still being handled."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not all(0x21 <= ord(ch) <= 0x7E for ch in key):
        raise KeyInvalid()
    return key


def fingerprint(*, operation: str, fields: Mapping[str, Any], files: Mapping[str, bytes]) -> str:
    """One digest of what a request asks for: its operation, its fields (whatever their order
    or encoding) and the SHA-256 of each uploaded file (not the multipart boundary, which a
    client may choose anew on a retry)."""
    canonical = {
        "operation": operation,
        "fields": {name: fields[name] for name in sorted(fields)},
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def claim(*, owner: AbstractBaseUser, key: str, fingerprint: str) -> IdempotencyKey | Replay:
    """The claim this request now holds (do the work, then `complete` or `release` it), or the
    earlier answer to replay. Raises KeyReused or KeyInProgress."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(owner=owner, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        earlier = IdempotencyKey.objects.filter(owner=owner, key=key).first()
        now = timezone.now()
        if earlier is None:
            continue  # released or expired meanwhile: try to claim again
        if earlier.created_at < now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS):
            earlier.delete()  # remembered long enough: the key is new again
            continue
        if earlier.fingerprint != fingerprint:
            raise KeyReused()
        if earlier.status_code is not None:
            return Replay(status_code=earlier.status_code, body=earlier.response)
        if earlier.created_at < now - ABANDONED_AFTER:
            IdempotencyKey.objects.filter(pk=earlier.pk, status_code__isnull=True).delete()
            continue
        if time.monotonic() > deadline:
            raise KeyInProgress()
        time.sleep(_POLL_SECONDS)


def complete(claimed: IdempotencyKey, *, status_code: int, body: Any, job: Job | None) -> None:
    """Remember the answer the claim's request got."""
    IdempotencyKey.objects.filter(pk=claimed.pk).update(status_code=status_code, response=body, job=job)


def release(claimed: IdempotencyKey) -> None:
    """Forget a claim whose request created nothing, so the key may be used again."""
    IdempotencyKey.objects.filter(pk=claimed.pk, status_code__isnull=True).delete()


def purge_expired(*, now=None) -> int:
    """Forget keys older than API_IDEMPOTENCY_HOURS (the daily housekeeping)."""
    now = now or timezone.now()
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    ).delete()
    return deleted
