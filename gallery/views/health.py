"""GET /healthz (liveness, public) and GET /healthz/ready (readiness, staff or HEALTH_TOKEN).

Liveness answers without touching anything behind the process: an anonymous caller cannot make
us write to S3 or call the paid provider, and learns nothing about our internals. Readiness runs
gallery/health.py's checks and answers 503 when one fails, with each check's detail, and
reports the pictures waiting to be saved (`saving`), which never fails readiness.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def _may_see_readiness(request: HttpRequest) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    expected = settings.HEALTH_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Bytes, so a non-ASCII header is a plain mismatch rather than a TypeError.
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode())


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    if not _may_see_readiness(request):
        return JsonResponse({"ok": False, "error": "staff or HEALTH_TOKEN required"}, status=403)
    checks = health.readiness()
    healthy = all(check["ok"] for check in checks.values())
    body = {"ok": healthy, "checks": checks}
    if checks["database"]["ok"]:  # the backlog is a query; with the database down, there is none to read
        body["saving"] = health.saving_backlog()
    return JsonResponse(body, status=200 if healthy else 503)
