"""The personal gallery, the image page and the public explore page."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..access import get_visible_image
from ..models import Image


@login_required
def gallery(request: HttpRequest) -> HttpResponse:
    images = Image.objects.filter(owner=request.user).order_by("-created_at", "-id")
    page = Paginator(images, 48).get_page(request.GET.get("page"))
    return render(request, "gallery/gallery.html", {"page": page})


def image_detail(request: HttpRequest, image_id: UUID) -> HttpResponse:
    image = get_visible_image(request, image_id)
    return render(request, "gallery/image_detail.html", {"image": image, "is_owner": image.owner_id == request.user.pk})


def explore(request: HttpRequest) -> HttpResponse:
    images = Image.objects.filter(is_public=True, is_hidden=False).order_by("-created_at", "-id")
    page = Paginator(images, 48).get_page(request.GET.get("page"))
    return render(request, "gallery/explore.html", {"page": page})
