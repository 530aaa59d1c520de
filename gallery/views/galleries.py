"""The personal gallery, the image page and its actions, bulk actions, downloads and explore.

Thin ways in: parse the request, decide access through gallery/access.py, call gallery.galleries,
answer with a page, a redirect, an htmx fragment or a file.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import albums, display, downloads, galleries, inspiration, kinds, media, pagination, reuse, search, trash
from ..access import get_own_image, get_visible_image
from ..forms import SR_MODEL_NAMES, GallerySearchForm
from ..models import Image, JobKind, Tag
from .navigation import safe_next
from .trash import trashed_message

MEDIA_VARIANTS = {"thumb": "thumb_key", "preview": "preview_key", "original": "original_key"}


# --- pages ---


def personal_page(request: HttpRequest, filters: galleries.Filters) -> pagination.Page:
    """One keyset page of the user's own images (?after= / ?before= cursors)."""
    return pagination.paginate(
        galleries.personal_images(owner=request.user, filters=filters),
        sort=filters.sort,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )


@login_required
@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    """The own gallery with its faceted search (gallery/search.py): ?q=&kind=&rating=&album=
    &favourites=1&size=&seed=&date_from=&date_to=&model=&originals=1&sort=&after=&before=. Bad
    values are named above the pictures and left out; the other filters still apply."""
    form = GallerySearchForm(request.GET)
    form.is_valid()
    criteria = form.criteria()
    facets = search.facets(request.user, criteria)
    album = next((a for a in facets.albums if a.id == criteria.album_id), None)
    if criteria.album_id is not None and album is None:
        raise Http404  # another user's album, or none
    page = pagination.paginate(
        galleries.with_batch(search.images(request.user, criteria)),
        sort=criteria.sort,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    if criteria.originals:
        derived = search.derived_counts(request.user, page.images)
        for image in page.images:
            image.derived_count = derived.get(image.id, 0)
    return render(
        request,
        "gallery/gallery.html",
        {
            "page": page,
            "runs": galleries.batch_runs(page.images),
            "form": form,
            "criteria": criteria,
            "facets": facets,
            "album": album,
            "albums": facets.albums,
            "kinds": [(value, label, facets.kinds.get(value, 0)) for value, label in JobKind.choices],
            "ratings": [(n, facets.ratings.get(n, 0)) for n in range(1, 6)],
            "models": [(value, display.parameter_value(_model_param(value), value), n) for value, n in facets.models],
            "sizes": [(f"{w}x{h}", f"{w}×{h}", n, (w, h) == criteria.size) for (w, h), n in facets.sizes],
        },
    )


def _model_param(value: str) -> str:
    return "sr_model" if value in dict(SR_MODEL_NAMES) else "version"


@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    """Everybody's public pictures: ?kind=&q=&after=&before= (newest first)."""
    filters = galleries.Filters.from_query(request.GET)
    filters = galleries.Filters(kind=filters.kind, query=filters.query)
    page = pagination.paginate(
        galleries.public_images(filters=filters), after=request.GET.get("after"), before=request.GET.get("before")
    )
    return render(request, "gallery/explore.html", {"page": page, "filters": filters, "kinds": JobKind.choices})


@require_GET
def image_detail(request: HttpRequest, image_id: UUID) -> HttpResponse:
    image = get_visible_image(request, image_id)
    is_owner = image.owner_id == request.user.pk
    source = image.source_image
    if source is not None and not source.is_visible_to(request.user):
        source = None
    duration = image.provider_duration
    if duration is None and image.job is not None and image.job.finished_at:
        duration = image.job.elapsed_seconds
    context = {
        "image": image,
        "is_owner": is_owner,
        "source": source,
        "duration": duration,
        "reuse_url": reuse.reuse_url(image),
        "variation_url": reuse.reuse_url(image, variation=True) if reuse.can_vary(image) else "",
        "from_image_links": reuse.from_image_links(image),
        "image_kind": kinds.get(image.kind),
        "aigc_label": downloads.embedded_label(image),
        "share_url": request.build_absolute_uri(image_url(image)) if image.is_public else "",
        # Pictures made from this one (upscales, restyles, variations...) that the visitor may see.
        "derived": list(
            Image.objects.visible_to(request.user).filter(source_image=image).order_by("-created_at", "-id")[:12]
        ),
    }
    if is_owner:
        context.update(
            albums=albums.albums_of(request.user),
            image_albums=image.albums.order_by("name"),
            trash_retention_days=trash.retention().days,
        )
    if request.user.is_staff:
        context.update(featured=inspiration.featured_entry(image), tags=Tag.objects.order_by("slug"))
    return render(request, "gallery/image_detail.html", context)


def image_url(image: Image) -> str:
    return reverse("image_detail", args=[image.id])


# --- media and downloads (permission-checked) ---


@require_GET
def image_media(request: HttpRequest, image_id: UUID, variant: str) -> HttpResponse:
    """A permission-checked way to a stored picture: redirects to a short-lived presigned URL."""
    if variant not in MEDIA_VARIANTS:
        raise Http404
    image = get_visible_image(request, image_id)
    key = getattr(image, MEDIA_VARIANTS[variant]) or image.original_key
    response = HttpResponseRedirect(media.url(key))
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def image_download(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """The original as a PNG with its generation parameters embedded (text chunks), made on the
    first download and streamed from storage after that."""
    return _png_response(request, image_id, as_attachment=True)


@require_GET
def image_full_size(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """The same PNG shown in the browser: the image page's "Open at full size", so a picture
    opened (and saved from there) carries the visible mark as a download does."""
    return _png_response(request, image_id, as_attachment=False)


def _png_response(request: HttpRequest, image_id: UUID, *, as_attachment: bool) -> HttpResponse:
    image = get_visible_image(request, image_id)
    download = downloads.png_download(image=image)
    response = StreamingHttpResponse(download.chunks, content_type="image/png")
    response["Content-Length"] = str(download.size)
    name = downloads.download_name(image, extension="png")
    response["Content-Disposition"] = content_disposition_header(as_attachment, name)
    response["Cache-Control"] = "private, no-store"
    return response


def _zip_response(images: list[Image], *, name: str) -> StreamingHttpResponse:
    members = downloads.zip_members(images)
    response = StreamingHttpResponse(downloads.stream_zip(members), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def gallery_zip(request: HttpRequest) -> HttpResponse:
    """A streamed zip of the user's pictures: ?image=<id>&image=<id>... or ?album=<id>."""
    data = request.POST if request.method == "POST" else request.GET
    if data.get("album"):
        album = albums.get_album(owner=request.user, album_id=data["album"])
        images = list(
            galleries.personal_images(owner=request.user, filters=galleries.Filters(album_id=album.id)).order_by(
                "-created_at", "-id"
            )[: galleries.BULK_LIMIT]
        )
        name = f"{album.name}.zip"
    else:
        images = galleries.own_images(owner=request.user, ids=data.getlist("image"))
        name = "aigc-pictures.zip"
    if not images:
        raise Http404
    return _zip_response(images, name=name)


# --- one-image actions (owner only; POST; htmx fragment or redirect) ---


@login_required
@require_POST
def image_favourite(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """value=1 marks a favourite, value=0 unmarks; no value toggles."""
    image = get_own_image(request, image_id)
    value = request.POST.get("value")
    wanted = (value == "1") if value in ("0", "1") else not image.is_favourite
    galleries.set_favourite(image=image, is_favourite=wanted)
    next_url = safe_next(request, image_url(image))
    if request.htmx:
        return render(request, "gallery/_favourite_form.html", {"image": image, "next_url": next_url})
    return redirect(next_url)


@login_required
@require_POST
def image_rating(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """value=1..5 rates the picture, value=0 clears the rating."""
    image = get_own_image(request, image_id)
    rating = galleries.parse_id(request.POST.get("value", ""))
    if rating is None or rating > 5:
        return HttpResponseBadRequest(_("A rating is 0 to 5."))
    galleries.set_rating(image=image, rating=rating)
    next_url = safe_next(request, image_url(image))
    if request.htmx:
        return render(request, "gallery/_rating_form.html", {"image": image, "next_url": next_url})
    return redirect(next_url)


@login_required
@require_POST
def image_visibility(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """is_public=1 makes the image public (explore, share link), is_public=0 private again."""
    image = get_own_image(request, image_id)
    wanted = request.POST.get("is_public") == "1"
    galleries.set_visibility(image=image, is_public=wanted)
    if request.htmx:
        share_url = request.build_absolute_uri(image_url(image)) if image.is_public else ""
        return render(request, "gallery/_visibility_form.html", {"image": image, "share_url": share_url})
    if wanted:
        messages.success(request, _("The picture is public: anyone with the link can see it, and it shows on Explore."))
    else:
        messages.success(request, _("The picture is private again."))
    return redirect(safe_next(request, image_url(image)))


@login_required
@require_POST
def image_delete(request: HttpRequest, image_id: UUID) -> HttpResponse:
    """Move the picture to the trash; the message offers to undo it."""
    image = get_own_image(request, image_id)
    trashed_message(request, trash.trash_images(owner=request.user, images=[image]))
    return redirect(safe_next(request, reverse("gallery")))


# --- bulk ---


@login_required
@require_POST
def gallery_bulk(request: HttpRequest) -> HttpResponse:
    """The selection bar: image=<id>... with action=album (album=<id>) | remove (album=<id>) |
    compare (exactly two) | zip | delete (to the trash, with an undo in the message)."""
    back = safe_next(request, reverse("gallery"))
    images = galleries.own_images(owner=request.user, ids=request.POST.getlist("image"))
    action = request.POST.get("action", "")
    if not images:
        messages.error(request, _("Select some pictures first."))
        return redirect(back)
    if action == "zip":
        return _zip_response(images, name="aigc-pictures.zip")
    if action == "compare":
        if len(images) != 2:
            messages.error(request, _("Select exactly two pictures to compare."))
            return redirect(back)
        newer, older = images  # newest first: the older one is shown first, as "before"
        return redirect(f"{reverse('compare')}?{urlencode({'a': older.id, 'b': newer.id})}")
    if action in ("album", "remove"):
        if not request.POST.get("album"):
            messages.error(request, _("Choose an album."))
            return redirect(back)
        album = albums.get_album(owner=request.user, album_id=request.POST["album"])
        if action == "album":
            added = albums.add_to_album(album=album, images=images)
            messages.success(
                request,
                ngettext("Added %(count)d picture to %(album)s.", "Added %(count)d pictures to %(album)s.", added)
                % {"count": added, "album": album.name},
            )
        else:
            removed = albums.remove_from_album(album=album, images=images)
            messages.success(
                request,
                ngettext(
                    "Removed %(count)d picture from %(album)s.", "Removed %(count)d pictures from %(album)s.", removed
                )
                % {"count": removed, "album": album.name},
            )
        return redirect(back)
    if action == "delete":
        trashed_message(request, trash.trash_images(owner=request.user, images=images))
        return redirect(back)
    messages.error(request, _("Unknown action."))
    return redirect(back)
