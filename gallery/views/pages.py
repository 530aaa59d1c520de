from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import kinds
from ..models import Image


def home(request: HttpRequest) -> HttpResponse:
    recent = []
    if request.user.is_authenticated:
        recent = Image.objects.filter(owner=request.user).order_by("-created_at", "-id")[:8]
    return render(request, "home.html", {"recent_images": recent, "kinds": kinds.KINDS})
