"""Who may see what: one place decides, and it answers 404 rather than 403 so that another
user's job or image is indistinguishable from one that does not exist."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from .models import Image, Job


def get_job_for_user(request: HttpRequest, job_id: UUID) -> Job:
    return get_object_or_404(Job, id=job_id, owner=request.user)


def get_own_image(request: HttpRequest, image_id: UUID) -> Image:
    """The user's own picture, out of the trash (the trash page acts on ids through gallery/trash.py)."""
    return get_object_or_404(Image.objects.visible_to(request.user), id=image_id, owner=request.user)


def get_visible_image(request: HttpRequest, image_id: UUID) -> Image:
    """The owner sees their image; anybody sees a public image staff have not hidden."""
    return get_object_or_404(Image.objects.visible_to(request.user).select_related("owner", "job"), id=image_id)
