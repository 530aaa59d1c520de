"""A body over API_MAX_BODY_BYTES is answered 413 before anything reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from .problems import problem

API_PREFIX = "/api/"


class BodyLimitMiddleware:
    """Only for /api/: the site's forms keep Django's own limits (DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            declared = request.META.get("CONTENT_LENGTH") or "0"
            if not (declared.isascii() and declared.isdigit()):
                return problem("bad-request", _("The Content-Length header is not a number."))
            if int(declared) > settings.API_MAX_BODY_BYTES:
                return problem("too-large", _("The request body is too large."))
        return self.get_response(request)
