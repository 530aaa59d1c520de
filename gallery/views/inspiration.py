"""The public inspiration gallery, and the staff buttons that feature public works into it."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import inspiration as inspiration_domain
from ..models import Image, Tag


@require_GET
def inspiration(request: HttpRequest) -> HttpResponse:
    """Curated prompts and featured works; ?tag=<slug> keeps one tag."""
    tags = inspiration_domain.all_tags()
    tag = request.GET.get("tag", "")
    if tag not in {slug for slug, _label in tags}:
        tag = ""
    cards = inspiration_domain.cards(inspiration_domain.visible_entries(tag=tag))
    return render(request, "gallery/inspiration.html", {"cards": cards, "tags": tags, "active_tag": tag})


def _staff_image(request: HttpRequest, image_id: UUID) -> Image:
    """A public picture (hidden ones too, so staff can un-feature them), for staff only.

    Private pictures stay 404 for everybody but their owner, staff included. This is on purpose
    wider than `Image.objects.visible_to` (the rule for everybody else): staff must reach a
    hidden picture to take it out of the gallery."""
    image = get_object_or_404(Image, id=image_id)
    if not image.is_public and image.owner_id != request.user.pk:
        raise Http404
    if not request.user.is_staff:
        raise PermissionDenied
    return image


@login_required
@require_POST
def feature_image(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """Staff: put a public picture into the inspiration gallery; tag=<slug>... sets its tags."""
    image = _staff_image(request, image_id)
    tags = Tag.objects.filter(slug__in=request.POST.getlist("tag"))
    try:
        inspiration_domain.feature(image=image, by=request.user, tags=tags)
    except inspiration_domain.InspirationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The picture is featured in the inspiration gallery."))
    return redirect("image_detail", image_id=image.id)


@login_required
@require_POST
def unfeature_image(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """Staff: take a featured picture out of the inspiration gallery (the picture stays)."""
    image = _staff_image(request, image_id)
    if inspiration_domain.unfeature(image=image, by=request.user):
        messages.success(request, _("The picture was removed from the inspiration gallery."))
    return redirect("image_detail", image_id=image.id)
