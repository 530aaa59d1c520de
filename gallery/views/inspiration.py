from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import InspirationEntry


def inspiration(request: HttpRequest) -> HttpResponse:
    entries = InspirationEntry.objects.select_related("image").order_by("position", "-created_at")
    return render(request, "gallery/inspiration.html", {"entries": entries})
