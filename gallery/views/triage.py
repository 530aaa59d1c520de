"""The triage page: one picture large with its prompt, and the actions on it.

Thin ways in: every action is a form POST that works without JavaScript (it redirects back to
the page); static/js/triage.js sends the same forms with `Accept: application/json` and gets
the new state of the page back as JSON, so nothing reloads. The page and the JSON are drawn
from one `state` dict, so they cannot disagree.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .. import galleries, media, triage
from ..access import get_own_image
from ..forms import TriageActionForm
from ..models import Image, Triage
from .trash import trashed_message


def _page_url(image_id: UUID | None) -> str:
    return f"{reverse('triage')}?image={image_id}" if image_id else reverse("triage")


def _state(request: HttpRequest, image: Image | None, announce: str = "") -> dict[str, Any]:
    """What the page shows, as plain values (the template and triage.js both read it)."""
    if image is None:
        return {"empty": True, "announce": announce or _("No pictures left to triage.")}
    place = triage.place_of(owner=request.user, image=image)
    prompt = image.prompt or image.get_kind_display()
    return {
        "empty": False,
        "id": str(image.id),
        "src": media.url(image.preview_key or image.original_key),
        "width": image.width,
        "height": image.height,
        "alt": Truncator(prompt).chars(120),
        "prompt": image.prompt,
        "kind": image.get_kind_display(),
        "rating": image.rating,
        "triage": image.triage,
        "is_favourite": image.is_favourite,
        "detail_url": reverse("image_detail", args=[image.id]),
        "act_url": reverse("triage_act", args=[image.id]),
        "page_url": _page_url(image.id),
        "previous_url": reverse("triage_state", args=[place.previous_id]) if place.previous_id else "",
        "next_url": reverse("triage_state", args=[place.next_id]) if place.next_id else "",
        "previous_page": _page_url(place.previous_id) if place.previous_id else "",
        "next_page": _page_url(place.next_id) if place.next_id else "",
        "position_text": _("Picture %(position)d of %(total)d") % {"position": place.position, "total": place.total},
        "triage_text": str(Triage(image.triage).label),
        "announce": announce,
    }


def _moved_announcement(state: dict[str, Any]) -> str:
    if state["empty"]:
        return state["announce"]
    return f"{state['position_text']}: {state['alt']}"


@login_required
@require_GET
def triage_page(request: HttpRequest) -> HttpResponse:
    """?image=<id> shows that picture; without it, the newest one not triaged yet."""
    image = None
    wanted = request.GET.get("image", "")
    if wanted:
        try:
            image = triage.queue(owner=request.user).filter(id=UUID(wanted)).first()
        except ValueError:
            image = None
    if image is None:
        image = triage.start(owner=request.user)
    return render(request, "gallery/triage.html", {"state": _state(request, image), "stars": range(1, 6)})


@login_required
@require_GET
def triage_state(request: HttpRequest, image_id: UUID) -> JsonResponse:
    """The page's state at another picture (← and →)."""
    image = get_own_image(request, image_id)
    state = _state(request, image)
    state["announce"] = _moved_announcement(state)
    return JsonResponse(state)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def triage_act(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """action=rate (value=0..5) | keep | favourite | discard | set (the undo: value, triage,
    favourite, restore=1 for a discard). Answers the new state as JSON to triage.js, else
    redirects to the page."""
    form = TriageActionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(str(error) for error in form.errors.get("__all__", [])) or "bad action")
    data = form.cleaned_data
    action = data["action"]
    if action == "set":
        image = triage.put_back(
            owner=request.user,
            image_id=image_id,
            rating=data.get("value") or 0,
            triage=data.get("triage") or "",
            is_favourite=bool(data.get("favourite")),
            restore=data.get("restore", False),
        )
        if image is None:
            raise Http404
        announce = _("Undone.")
    else:
        image = get_own_image(request, image_id)
        if action == "rate":
            galleries.set_rating(image=image, rating=data["value"])
            announce = (
                ngettext("Rated %(count)d star.", "Rated %(count)d stars.", image.rating) % {"count": image.rating}
                if image.rating
                else _("Rating cleared.")
            )
        elif action == "keep":
            triage.toggle_keep(image=image)
            announce = _("Kept.") if image.triage == Triage.KEEP else _("No longer kept.")
        elif action == "favourite":
            galleries.set_favourite(image=image, is_favourite=not image.is_favourite)
            announce = _("Marked as a favourite.") if image.is_favourite else _("No longer a favourite.")
        else:  # discard
            following = triage.neighbour_after_leaving(owner=request.user, image=image)
            triage.discard(owner=request.user, image=image)
            if not _wants_json(request):
                trashed_message(request, [image.id])
                return redirect(_page_url(following.id if following else None))
            state = _state(request, following)
            state["announce"] = _("Discarded: moved to the trash. Press z to undo.")
            return JsonResponse(state)
    if _wants_json(request):
        return JsonResponse(_state(request, image, announce))
    return redirect(_page_url(image.id))
