from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from .. import kinds, labels
from ..models import Image


def home(request: HttpRequest) -> HttpResponse:
    recent = []
    if request.user.is_authenticated:
        recent = Image.objects.owned_by(request.user).order_by("-created_at", "-id")[:8]
    return render(request, "home.html", {"recent_images": recent, "kinds": kinds.KINDS})


def terms(request: HttpRequest) -> HttpResponse:
    """The terms of service. The text is a contract, so each language has its own template
    (templates/terms/) instead of a sentence-by-sentence catalogue entry."""
    language = "zh-hans" if (get_language() or "").startswith("zh") else "en"
    context = {"producer_name": settings.AIGC_PRODUCER_NAME, "producer": labels.producer()}
    return render(request, f"terms/{language}.html", context)
