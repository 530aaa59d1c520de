"""Galleries: finding, keeping and getting rid of a user's pictures.

Pages of them come from `pagination.py`, albums are `albums.py`, files that leave the site
(downloads, zips) are `downloads.py`, deleting (to the trash, and for good) is `trash.py`.

Everything here takes already authorised objects: the views decide who may touch what through
gallery/access.py and `albums.get_album`, which answer 404 for other people's things.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q, QuerySet

from .models import Image, InspirationEntry, JobKind

# A zip or a bulk action takes at most this many pictures at once.
BULK_LIMIT = 200

SORTS = ("newest", "oldest", "rating")
RATINGS = range(1, 6)

logger = logging.getLogger(__name__)


class GalleryError(Exception):
    """A gallery operation that cannot happen; the message is safe to show the user."""

    def __init__(self, message: Any):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


# --- what a gallery shows ---


def search_text(value: Any) -> str:
    """The search words, spacing collapsed, without control or format characters: PostgreSQL
    refuses a NUL in a query parameter (a 500 on /explore/?q=a%00b before this)."""
    printable = "".join(char if char.isprintable() else " " for char in str(value))
    return " ".join(printable.split())[:200]


def parse_id(value: Any) -> int | None:
    """A row id from a query string or form, or None. `str.isdigit` alone is not enough:
    "²" is a digit to it but not to int(), and a 30-digit number overflows the database."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


@dataclass(frozen=True)
class Filters:
    """What the gallery toolbar asks for; built from the query string by `Filters.from_query`."""

    kind: str = ""
    album_id: int | None = None
    favourites: bool = False
    query: str = ""
    sort: str = "newest"
    min_rating: int = 0

    @classmethod
    def from_query(cls, data: Any) -> Filters:
        kind = data.get("kind", "")
        album = data.get("album", "")
        sort = data.get("sort", "newest")
        return cls(
            kind=kind if kind in JobKind.values else "",
            album_id=parse_id(album),
            favourites=data.get("favourites", "") in ("1", "on", "true"),
            query=search_text(data.get("q", "")),
            sort=sort if sort in SORTS else "newest",
            min_rating=rating if (rating := parse_id(data.get("rating", ""))) in RATINGS else 0,
        )

    @property
    def is_active(self) -> bool:
        return bool(self.kind or self.album_id or self.favourites or self.query or self.min_rating)


def _search(queryset: QuerySet[Image], query: str) -> QuerySet[Image]:
    """Every word must appear in the prompt or the negative prompt (Chinese or English).

    Chinese has no spaces, so "白色城堡" is one word and matches as a substring."""
    for word in query.split():
        queryset = queryset.filter(Q(prompt__icontains=word) | Q(negative_prompt__icontains=word))
    return queryset


def _filtered(queryset: QuerySet[Image], filters: Filters) -> QuerySet[Image]:
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.favourites:
        queryset = queryset.filter(is_favourite=True)
    if filters.min_rating:
        queryset = queryset.filter(rating__gte=filters.min_rating)
    if filters.query:
        queryset = _search(queryset, filters.query)
    return queryset


def personal_images(*, owner: AbstractBaseUser, filters: Filters = Filters()) -> QuerySet[Image]:
    """The owner's images matching the filters (an album filter must name one of their albums:
    another user's album id matches nothing)."""
    queryset = _filtered(Image.objects.owned_by(owner), filters)
    if filters.album_id is not None:
        queryset = queryset.filter(albumitem__album_id=filters.album_id, albumitem__album__owner=owner)
    return queryset


@dataclass(frozen=True)
class Run:
    """Pictures shown together: those of one batch in a row (`batch` set), or one picture alone."""

    images: list[Image]
    batch: UUID | None = None

    @property
    def run_again_url(self) -> str:
        """ "Run again with changes" for a batch: the studio's form with its first job's parameters."""
        from . import reuse

        job = self.images[0].job if self.batch else None
        return reuse.run_again_url(job, count=len(self.images)) if job is not None else ""


def batch_runs(images: Iterable[Image]) -> list[Run]:
    """The images in their order, those of one batch next to each other as one run (the gallery
    shows a batch as one group). Reads `batch` from each image, annotated by `with_batch`."""
    runs: list[Run] = []
    for image in images:
        batch = getattr(image, "batch", None)
        if batch is not None and runs and runs[-1].batch == batch:
            runs[-1].images.append(image)
        else:
            runs.append(Run(images=[image], batch=batch))
    return runs


def with_batch(queryset: QuerySet[Image]) -> QuerySet[Image]:
    """Each image with the batch of the job that made it (`image.batch`, None if it was alone)."""
    return queryset.annotate(batch=F("job__batch"))


def public_images(*, filters: Filters = Filters()) -> QuerySet[Image]:
    """Everybody's public pictures that staff have not hidden (the explore page)."""
    return _filtered(Image.objects.public(), filters).select_related("owner")


# --- single images ---


def set_favourite(*, image: Image, is_favourite: bool) -> Image:
    """Mark or unmark a favourite; setting the current value again changes nothing."""
    Image.objects.filter(id=image.id).update(is_favourite=is_favourite)
    image.is_favourite = is_favourite
    return image


def set_rating(*, image: Image, rating: int) -> Image:
    """The owner's rating, 0 (none) to 5; anything else raises ValueError."""
    if rating not in range(0, 6):
        raise ValueError("a rating is 0 to 5")
    Image.objects.filter(id=image.id).update(rating=rating)
    image.rating = rating
    return image


def set_visibility(*, image: Image, is_public: bool) -> Image:
    """Make an image public (explore, share links) or private again.

    A private image leaves the inspiration gallery too: featured entries of it are removed, so a
    picture the owner took back is never shown under someone else's curation."""
    with transaction.atomic():
        Image.objects.filter(id=image.id).update(is_public=is_public)
        if not is_public:
            InspirationEntry.objects.filter(image=image, is_curated=False).delete()
    image.is_public = is_public
    return image


def own_images(*, owner: AbstractBaseUser, ids: Iterable[str]) -> list[Image]:
    """The owner's images among `ids` (malformed, foreign and trashed ids are dropped), newest first."""
    valid: list[UUID] = []
    for value in ids:
        try:
            valid.append(UUID(str(value)))
        except ValueError:
            continue
    if not valid:
        return []
    return list(Image.objects.owned_by(owner).filter(id__in=valid[:BULK_LIMIT]).order_by("-created_at", "-id"))
