"""Errors of the API as RFC 9457 problem details (`application/problem+json`).

Every error has a stable `type` (a URI under /api/v1/problems/, listed in PROBLEM_TYPES and in
the README), the HTTP `status`, an English `title` that never changes, and a `detail` in the
language the client asked for (Accept-Language: zh-Hans or en). Validation problems add
`errors`, one per field.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Schema

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"

# slug: (status, title)
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "unauthenticated": (401, "Missing or invalid token"),
    "forbidden": (403, "Not allowed with this token"),
    "not-found": (404, "Not found"),
    "not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "idempotency-key-in-use": (409, "Idempotency key in use"),
    "insufficient-credits": (402, "Insufficient credits"),
    "too-large": (413, "Request body too large"),
    "invalid": (422, "Invalid request"),
    "idempotency-key-reused": (422, "Idempotency key reused"),
    "prompt-blocked": (422, "Prompt refused"),
    "rate-limited": (429, "Too many requests"),
    "bad-request": (400, "Bad request"),
}


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def problem(slug: str, detail: Any, *, errors: list[dict[str, str]] | None = None, **headers: str) -> HttpResponse:
    status, title = PROBLEM_TYPES[slug]
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": str(detail)}
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=MEDIA_TYPE)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def form_errors(form) -> list[dict[str, str]]:
    """A Django form's errors (already translated) as problem `errors`."""
    return [
        {"field": "" if field == "__all__" else field, "message": str(message)}
        for field, messages in form.errors.items()
        for message in messages
    ]


def problem_types_page(request: HttpRequest, slug: str) -> HttpResponse:
    """What a problem type means, at its own URI (plain text: a client may follow the link)."""
    if slug not in PROBLEM_TYPES:
        return problem("not-found", "No such problem type.")
    status, title = PROBLEM_TYPES[slug]
    return HttpResponse(f"{title} (HTTP {status})\n", content_type="text/plain; charset=utf-8")


def api_not_found(request: HttpRequest) -> HttpResponse:
    """Any other address under /api/: a problem a client can read, not the site's 404 page."""
    return problem("not-found", _("Not found."))
