"""Albums ("boards"): list, create, rename, delete, and moving pictures in and out.

Another user's album is a 404 everywhere (albums.get_album)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .. import albums, galleries
from .galleries import personal_page
from .navigation import safe_next


@login_required
@require_GET
def album_list(request: HttpRequest) -> HttpResponse:
    mine = albums.albums_with_covers(request.user)
    return render(request, "gallery/albums.html", {"albums": mine, "name_max": albums.ALBUM_NAME_MAX_LENGTH})


@login_required
@require_GET
def album_detail(request: HttpRequest, album_id: int) -> HttpResponse:
    """One album: ?sort=newest|oldest&after=&before= (keyset pages, like the gallery)."""
    album = albums.get_album(owner=request.user, album_id=album_id)
    filters = galleries.Filters.from_query(request.GET)
    filters = galleries.Filters(album_id=album.id, sort=filters.sort)
    page = personal_page(request, filters)
    return render(
        request,
        "gallery/album_detail.html",
        {"album": album, "page": page, "filters": filters, "name_max": albums.ALBUM_NAME_MAX_LENGTH},
    )


@login_required
@require_POST
def album_create(request: HttpRequest) -> HttpResponse:
    """name=<name>, optionally image=<id>... to put pictures in straight away."""
    images = galleries.own_images(owner=request.user, ids=request.POST.getlist("image"))
    try:
        album = albums.create_album(owner=request.user, name=request.POST.get("name", ""), images=images)
    except albums.AlbumNameInvalid as exc:
        messages.error(request, str(exc))
        return redirect(safe_next(request, reverse("album_list")))
    if images:
        messages.success(
            request,
            ngettext(
                "Album %(album)s created with %(count)d picture.",
                "Album %(album)s created with %(count)d pictures.",
                len(images),
            )
            % {"album": album.name, "count": len(images)},
        )
    else:
        messages.success(request, _("Album %(album)s created.") % {"album": album.name})
    return redirect(safe_next(request, reverse("album_detail", args=[album.id])))


@login_required
@require_POST
def album_rename(request: HttpRequest, album_id: int) -> HttpResponse:
    album = albums.get_album(owner=request.user, album_id=album_id)
    try:
        albums.rename_album(album=album, name=request.POST.get("name", ""))
    except albums.AlbumNameInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Album renamed."))
    return redirect("album_detail", album_id=album.id)


@login_required
@require_POST
def album_delete(request: HttpRequest, album_id: int) -> HttpResponse:
    album = albums.get_album(owner=request.user, album_id=album_id)
    name = album.name
    albums.delete_album(album=album)
    messages.success(request, _("Album %(album)s deleted; its pictures are still in your gallery.") % {"album": name})
    return redirect("album_list")


@login_required
@require_POST
def album_add(request: HttpRequest, album_id: int) -> HttpResponse:
    """image=<id>...: put the pictures into the album (already there: nothing changes)."""
    album = albums.get_album(owner=request.user, album_id=album_id)
    images = galleries.own_images(owner=request.user, ids=request.POST.getlist("image"))
    added = albums.add_to_album(album=album, images=images)
    if added:
        messages.success(
            request,
            ngettext("Added %(count)d picture to %(album)s.", "Added %(count)d pictures to %(album)s.", added)
            % {"count": added, "album": album.name},
        )
    elif images:
        messages.info(request, _("Already in %(album)s.") % {"album": album.name})
    return redirect(safe_next(request, reverse("album_detail", args=[album.id])))


@login_required
@require_POST
def album_remove(request: HttpRequest, album_id: int) -> HttpResponse:
    """image=<id>...: take the pictures out of the album; they stay in the gallery."""
    album = albums.get_album(owner=request.user, album_id=album_id)
    images = galleries.own_images(owner=request.user, ids=request.POST.getlist("image"))
    removed = albums.remove_from_album(album=album, images=images)
    messages.success(
        request,
        ngettext("Removed %(count)d picture from %(album)s.", "Removed %(count)d pictures from %(album)s.", removed)
        % {"count": removed, "album": album.name},
    )
    return redirect(safe_next(request, reverse("album_detail", args=[album.id])))
