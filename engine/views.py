"""HTTP ways into the offline engine: the APISpace-shaped API, result files, fault URLs.

The API endpoints are called by the site's provider client, never by a browser, so they are
CSRF-exempt and authenticated by the ``X-APISpace-Token`` header instead (401 otherwise).
Result files, the health probe and the index are public, as a CDN and a status page are; a
result file answers 404 once it is ENGINE_RESULT_TTL seconds old (engine/storage.py).
"""

from __future__ import annotations

import hmac
import json
import math
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import faults, kinds, protocol, storage, work

BODY_MAX_BYTES = 256 * 1024
BATCH_MAX = 100


def _error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"success": False, "msg": message, **extra}, status=status)


def _authorised(request: HttpRequest) -> bool:
    expected = settings.ENGINE_TOKEN
    given = request.headers.get("X-APISpace-Token", "")
    # An engine without a token refuses everyone rather than accepting everyone.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _json_body(request: HttpRequest) -> Any:
    """The decoded body, or a JsonResponse to answer with."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > BODY_MAX_BYTES:
        return _error(413, "body too large")
    raw = request.read(BODY_MAX_BYTES + 1)
    if len(raw) > BODY_MAX_BYTES:
        return _error(413, "body too large")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, "body is not JSON")


def _public_base(request: HttpRequest) -> str:
    configured = settings.ENGINE_PUBLIC_URL
    if configured:
        return configured.rstrip("/")
    return request.build_absolute_uri(reverse("engine:index")).rstrip("/")


# --- the API ----------------------------------------------------------------------------------


@never_cache
@require_GET
def index(request: HttpRequest) -> JsonResponse:
    """What this is, for a person who opens /engine/ and for the site's provider ping."""
    return JsonResponse(
        {
            "name": "画廊 AIGC offline engine",
            "about": "The APISpace AI 绘画 protocol served locally: procedural text-to-image, palette-transfer "
            "image-to-image, anime stylisation and Real-ESRGAN 4x super-resolution. Results are labelled.",
            "endpoints": {kind.name: {"path": kind.path, "task": kind.task} for kind in kinds.KINDS.values()},
            "status": "status",
            "interrupt": "interrupt",
            "health": "health",
            "faults_enabled": faults.are_enabled(),
        },
        json_dumps_params={"ensure_ascii": False},
    )


@csrf_exempt
@require_POST
def submit(request: HttpRequest, kind: str) -> JsonResponse:
    """A submission to the path of `kind` (engine/urls.py gives each kind its path)."""
    if not _authorised(request):
        return _error(401, "invalid or missing X-APISpace-Token")
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        submission = protocol.validate_submission(kind=kinds.KINDS[kind], body=body)
    except protocol.PayloadInvalid as exc:
        return JsonResponse(exc.to_json(), status=400)
    task = work.submit(submission=submission, public_base=_public_base(request))
    return JsonResponse({"uid": task.uid, "success": True, "msg": "queued"})


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> JsonResponse:
    """{"uid"} -> one status; {"uids": [...]} -> {"results": [status, ...]} in the same order."""
    if not _authorised(request):
        return _error(401, "invalid or missing X-APISpace-Token")
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    if "uids" in body:
        uids = body["uids"]
        if not isinstance(uids, list) or len(uids) > BATCH_MAX:
            return _error(400, f"uids must be a list of at most {BATCH_MAX} ids")
        return JsonResponse({"success": True, "results": [work.status_of(uid) for uid in uids]})
    if not isinstance(body.get("uid"), str):
        return _error(400, "uid is required")
    return JsonResponse(work.status_of(body["uid"]))


@csrf_exempt
@require_POST
def interrupt(request: HttpRequest) -> JsonResponse:
    if not _authorised(request):
        return _error(401, "invalid or missing X-APISpace-Token")
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    uid = body.get("uid") if isinstance(body, dict) else None
    if not isinstance(uid, str):
        return _error(400, "uid is required")
    if work.interrupt(uid=uid):
        return JsonResponse({"success": True, "uid": uid, "status": "interrupted"})
    current = work.status_of(uid)["status"]
    return JsonResponse(
        {"success": False, "uid": uid, "status": current, "msg": f"cannot interrupt a task that is {current}"}
    )


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    superres = work.superres_health()
    return JsonResponse({"ok": superres["ok"], "superres": superres})


# --- files ------------------------------------------------------------------------------------


@require_GET
def result_file(request: HttpRequest, name: str) -> FileResponse:
    path = storage.result_path(name)
    if path is None:
        raise Http404
    try:
        handle = path.open("rb")
    except FileNotFoundError:  # expired and swept since result_path looked
        raise Http404 from None
    response = FileResponse(handle, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _bomb_png(side: int = 60000) -> bytes:
    """A valid-looking PNG of ~100 bytes whose header declares side x side RGB pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    # One row of zeros, compressed; a decoder that trusts the header allocates side*side*3 first.
    pixels = zlib.compress(b"\x00" * (1 + side * 3), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _oversize_stream(total: int) -> Iterator[bytes]:
    yield b"\x89PNG\r\n\x1a\n"
    block = b"\x00" * (64 * 1024)
    sent = 8
    while sent < total:
        piece = block if total - sent >= len(block) else block[: total - sent]
        sent += len(piece)
        yield piece


def _drip(data: bytes, seconds: float) -> Iterator[bytes]:
    interval = settings.ENGINE_SLOWIMG_INTERVAL
    steps = max(1, math.ceil(seconds / interval))
    size = max(1, math.ceil(len(data) / steps))
    for start in range(0, len(data), size):
        yield data[start : start + size]
        if start + size < len(data):
            time.sleep(interval)


@require_GET
def fault_file(request: HttpRequest, mode: str, name: str) -> HttpResponse:
    """The misbehaving result URLs of the URL faults (see engine/faults.py); 404 when faults
    are disabled."""
    if not faults.are_enabled() or mode not in faults.URL_FAULTS:
        raise Http404
    if mode == "notimage":
        return HttpResponse(b"<html><body>This is not a picture.</body></html>\n", content_type="image/png")
    if mode == "oversize":
        total = settings.INGEST_MAX_BYTES + 10 * 1024 * 1024
        return StreamingHttpResponse(_oversize_stream(total), content_type="image/png")
    if mode == "redirect-private":
        response = HttpResponse(status=302)
        response["Location"] = faults.PRIVATE_REDIRECT_TARGET
        return response
    if mode == "bomb":
        return HttpResponse(_bomb_png(), content_type="image/png")
    if mode == "slowimg":
        path = storage.result_path(name)
        try:
            data = path.read_bytes() if path is not None else None
        except FileNotFoundError:  # expired and swept since result_path looked
            data = None
        if data is None:
            raise Http404
        default = settings.ENGINE_SLOWIMG_SECONDS
        try:
            seconds = min(float(request.GET.get("seconds", default)), faults.MAX_LATE_SECONDS)
        except ValueError:
            seconds = default
        return StreamingHttpResponse(_drip(data, seconds), content_type="image/png")
    raise Http404
