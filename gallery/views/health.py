"""GET /healthz: database, broker, object storage and provider, as JSON; 503 if any is down."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import provider


def _check(probe) -> dict:
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
    import requests

    response = requests.get(f"{settings.APISPACE_BASE_URL}/health", timeout=(3, 10))
    data = response.json()
    if not data.get("superres", {}).get("ok"):
        raise RuntimeError(data.get("superres", {}).get("detail", "model unavailable"))
    return data["superres"].get("detail", "ok")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check(_database),
        "broker": _check(_broker),
        "storage": _check(_storage),
        "provider": _check(_provider),
    }
    if settings.ENGINE_ENABLED:
        checks["superres_model"] = _check(_superres)
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": healthy, "checks": checks}, status=200 if healthy else 503)
