"""Triage: going through one's pictures one at a time, rating, keeping and discarding them.

The queue is the owner's pictures as the gallery shows them (the one visibility rule, so
nothing in the trash), newest first; a picture's neighbours are found by keyset over
(created_at, id), so moving on costs the same at the 10th picture as at the 10,000th.
Discarding is moving to the trash (gallery/trash.py) with `Image.triage` = discard; the undo
restores it (the trash resets the triage) and puts back what the picture had before.

Ratings and favourites are the gallery's own (galleries.set_rating / set_favourite); this module
adds the keep flag and the way through.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet

from . import galleries, trash
from .models import Image, Triage


def queue(*, owner: AbstractBaseUser) -> QuerySet[Image]:
    """The pictures triage walks through, newest first."""
    return Image.objects.owned_by(owner).order_by("-created_at", "-id")


def start(*, owner: AbstractBaseUser) -> Image | None:
    """Where triage begins: the newest picture not triaged yet, else the newest one."""
    pictures = queue(owner=owner)
    return pictures.filter(triage=Triage.UNDECIDED).first() or pictures.first()


def _newer(image: Image) -> Q:
    return Q(created_at__gt=image.created_at) | Q(created_at=image.created_at, id__gt=image.id)


def _older(image: Image) -> Q:
    return Q(created_at__lt=image.created_at) | Q(created_at=image.created_at, id__lt=image.id)


@dataclass(frozen=True)
class Place:
    """A picture in the queue, its neighbours and its position (1 = the newest)."""

    image: Image
    previous_id: UUID | None
    next_id: UUID | None
    position: int
    total: int


def place_of(*, owner: AbstractBaseUser, image: Image) -> Place:
    pictures = queue(owner=owner)
    newer = pictures.filter(_newer(image))
    previous = newer.order_by("created_at", "id").values_list("id", flat=True).first()
    following = pictures.filter(_older(image)).values_list("id", flat=True).first()
    return Place(
        image=image,
        previous_id=previous,
        next_id=following,
        position=newer.count() + 1,
        total=pictures.count(),
    )


def neighbour_after_leaving(*, owner: AbstractBaseUser, image: Image) -> Image | None:
    """The picture to show once `image` has left the queue: the next older one, else the newer."""
    pictures = queue(owner=owner)
    return pictures.filter(_older(image)).first() or pictures.filter(_newer(image)).order_by("created_at", "id").first()


def toggle_keep(*, image: Image) -> Image:
    """Keep the picture; keeping a kept one makes it undecided again."""
    wanted = Triage.UNDECIDED if image.triage == Triage.KEEP else Triage.KEEP
    Image.objects.filter(id=image.id).update(triage=wanted)
    image.triage = wanted
    return image


def discard(*, owner: AbstractBaseUser, image: Image) -> bool:
    """Move the picture to the trash as discarded; False when it was not the owner's or already
    gone (then nothing changes)."""
    with transaction.atomic():
        moved = trash.trash_images(owner=owner, images=[image])
        if moved:
            Image.objects.filter(id=image.id).update(triage=Triage.DISCARD)
            image.triage = Triage.DISCARD
    return bool(moved)


def put_back(
    *, owner: AbstractBaseUser, image_id: UUID, rating: int, triage: str, is_favourite: bool, restore: bool
) -> Image | None:
    """The undo of a triage action: out of the trash again when `restore` (a discard), then the
    rating, triage and favourite the picture had before. None when the picture is not the
    owner's (or no longer exists)."""
    if triage not in (Triage.UNDECIDED, Triage.KEEP):
        raise ValueError("triage goes back to undecided or kept")
    with transaction.atomic():
        if restore:
            trash.restore_images(owner=owner, images=[image_id])
        image = queue(owner=owner).filter(id=image_id).first()
        if image is None:
            return None
        Image.objects.filter(id=image.id).update(triage=triage)
        image.triage = triage
        galleries.set_rating(image=image, rating=rating)
        galleries.set_favourite(image=image, is_favourite=is_favourite)
    return image
