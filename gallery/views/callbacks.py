"""The provider's callback: authenticate, parse strictly, record, answer fast.

The provider waits ~3 s for a JSON answer and retries up to 10 times otherwise, so this view
does no slow work: it records the delivery under the job's row lock and enqueues ingest on
commit. 2xx means "stop retrying" (also for duplicates and late deliveries); a bad token or
unknown job gets a bare 404 that leaks nothing; a malformed body gets a 400.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import jobs, tokens
from ..callbacks import CallbackInvalid, parse
from ..models import Job


def _not_found() -> JsonResponse:
    return JsonResponse({"ok": False, "error": "not found"}, status=404)


# CSRF-exempt on purpose, and only here: the caller is the image service, not a browser, and
# the per-job token in the URL is what authenticates it.
@csrf_exempt
@require_POST
def callback(request: HttpRequest, job_id: UUID, token: str) -> JsonResponse:
    if not tokens.is_valid_callback_token(job_id, token):
        return _not_found()
    if not Job.objects.filter(id=job_id).exists():
        return _not_found()
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isascii() or not declared.isdigit():
        return JsonResponse({"ok": False, "error": "bad content length"}, status=400)
    if int(declared) > settings.CALLBACK_MAX_BYTES:
        return JsonResponse({"ok": False, "error": "body too large"}, status=413)
    body = request.read(settings.CALLBACK_MAX_BYTES + 1)
    if len(body) > settings.CALLBACK_MAX_BYTES:
        return JsonResponse({"ok": False, "error": "body too large"}, status=413)
    try:
        parsed, decoded = parse(body)
    except CallbackInvalid as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=400)
    delivery = jobs.record_callback(job_id=job_id, body=decoded, success=parsed.success, safe=parsed.safe)
    return JsonResponse({"ok": True, "outcome": delivery.outcome})
