"""What the site depends on, and whether each answers: the readiness checks.

`/healthz` (liveness) never calls these: it must stay cheap, because anyone may ask it as often
as they like. `/healthz/ready` runs them for staff or a monitor holding HEALTH_TOKEN, because
each check does real work (an S3 write, a provider request) and its detail names our internals.
A new check is one more entry in `readiness()`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from . import provider
from .models import Job

Check = dict[str, Any]


def _check(probe: Callable[[], str]) -> Check:
    started = time.monotonic()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # a health check reports every failure, whatever its type
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return {"ok": ok, "detail": detail, "ms": round((time.monotonic() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker() -> str:
    from django_q.brokers import get_broker

    broker = get_broker()
    if not broker.ping():
        raise RuntimeError("broker did not answer")
    return type(broker).__name__


def _storage() -> str:
    key = f"healthz/{uuid.uuid4().hex}.txt"
    payload = uuid.uuid4().bytes
    saved = default_storage.save(key, ContentFile(payload))
    try:
        with default_storage.open(saved, "rb") as handle:
            if handle.read() != payload:
                raise RuntimeError("read back different bytes")
    finally:
        default_storage.delete(saved)
    return "write+read+delete"


def _provider() -> str:
    reachable, detail = provider.ping()
    if not reachable:
        raise RuntimeError(detail)
    return f"{settings.APISPACE_BASE_URL} {detail}"


def _superres() -> str:
    # Only the offline engine has a local model; asked over HTTP like any other provider.
    response = requests.get(f"{settings.APISPACE_BASE_URL}/health", timeout=(3, 10))
    data = response.json()
    if not data.get("superres", {}).get("ok"):
        raise RuntimeError(data.get("superres", {}).get("detail", "model unavailable"))
    return data["superres"].get("detail", "ok")


def readiness() -> dict[str, Check]:
    """Every dependency's check, by name: {"ok", "detail", "ms"} each. Safe to call any time;
    the storage probe removes its object again."""
    checks = {
        "database": _check(_database),
        "broker": _check(_broker),
        "storage": _check(_storage),
        "provider": _check(_provider),
    }
    if settings.ENGINE_ENABLED:
        checks["superres_model"] = _check(_superres)
    return checks


def saving_backlog() -> dict[str, Any]:
    """The pictures that have arrived and are not stored yet (Job.is_saving): how many, and how
    long the oldest has waited since its callback. Not a check: the pictures are safe at the
    provider and ingest retries until they are stored, so a backlog never takes the site out
    of rotation; but one that stays, or an oldest wait of several retry intervals, means our
    object store (or the workers) are failing, and is what a monitor alerts on."""
    saving = Job.objects.saving()
    first = saving.aggregate(first=Min("callback_received_at"))["first"]
    return {
        "jobs": saving.count(),
        "oldest_seconds": round((timezone.now() - first).total_seconds(), 1) if first else None,
    }
