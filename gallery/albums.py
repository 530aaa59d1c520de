"""Albums ("boards"): named sets of one user's pictures. Deleting an album keeps its pictures.

Everything here takes already authorised objects; `get_album` answers 404 for another user's
album, so it is indistinguishable from one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from .galleries import GalleryError, parse_id
from .models import Album, AlbumItem, Image, not_trashed

ALBUM_NAME_MAX_LENGTH = 80


class AlbumNameInvalid(GalleryError):
    pass


def get_album(*, owner: AbstractBaseUser, album_id: int | str) -> Album:
    """The owner's album, or 404 (another user's album is indistinguishable from none)."""
    number = parse_id(album_id)
    if number is None:
        raise Http404
    return get_object_or_404(Album, id=number, owner=owner)


def albums_of(owner: AbstractBaseUser) -> QuerySet[Album]:
    """The owner's albums with how many pictures they show (trashed ones keep their place but
    are not counted until restored)."""
    shown = Q(albumitem__isnull=False) & not_trashed("albumitem__image__")
    return Album.objects.filter(owner=owner).annotate(image_count=Count("albumitem", filter=shown)).order_by("name")


def albums_with_covers(owner: AbstractBaseUser) -> QuerySet[Album]:
    """The owner's albums with their size and the picture added last (cover_thumb, cover_width,
    cover_height), in one query."""
    latest = AlbumItem.objects.filter(not_trashed("image__"), album=OuterRef("pk")).order_by("-added_at", "-id")
    return albums_of(owner).annotate(
        cover_thumb=Subquery(latest.values("image__thumb_key")[:1]),
        cover_width=Subquery(latest.values("image__width")[:1]),
        cover_height=Subquery(latest.values("image__height")[:1]),
    )


def _clean_album_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise AlbumNameInvalid(_("Give the album a name."))
    if len(name) > ALBUM_NAME_MAX_LENGTH:
        raise AlbumNameInvalid(_("Album names are at most %(max)d characters.") % {"max": ALBUM_NAME_MAX_LENGTH})
    return name


def _name_taken() -> AlbumNameInvalid:
    return AlbumNameInvalid(_("You already have an album with this name."))


def create_album(*, owner: AbstractBaseUser, name: str, images: Iterable[Image] = ()) -> Album:
    """A new album, optionally with first images. Raises AlbumNameInvalid (empty, too long,
    or a name the owner already uses)."""
    name = _clean_album_name(name)
    try:
        with transaction.atomic():
            album = Album.objects.create(owner=owner, name=name)
            add_to_album(album=album, images=images)
    except IntegrityError:
        raise _name_taken() from None
    return album


def rename_album(*, album: Album, name: str) -> Album:
    name = _clean_album_name(name)
    if name == album.name:
        return album
    try:
        with transaction.atomic():
            Album.objects.filter(id=album.id).update(name=name)
    except IntegrityError:
        raise _name_taken() from None
    album.name = name
    return album


def delete_album(*, album: Album) -> None:
    """Delete the album; its images stay in the gallery."""
    album.delete()


def add_to_album(*, album: Album, images: Iterable[Image]) -> int:
    """Put the album owner's images into it; returns how many were new there. Images of other
    users are ignored, and adding an image twice changes nothing."""
    ids = {image.id for image in images if image.owner_id == album.owner_id}
    if not ids:
        return 0
    present = set(AlbumItem.objects.filter(album=album, image_id__in=ids).values_list("image_id", flat=True))
    new = [AlbumItem(album=album, image_id=image_id) for image_id in ids - present]
    # ignore_conflicts: a concurrent add of the same image is not an error (unique album+image).
    AlbumItem.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def remove_from_album(*, album: Album, images: Iterable[Image]) -> int:
    """Take images out of the album (they stay in the gallery); returns how many were removed."""
    removed, _details = AlbumItem.objects.filter(album=album, image_id__in=[image.id for image in images]).delete()
    return removed
