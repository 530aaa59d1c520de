"""The trash: deleting a picture moves it here, restoring takes it back, purging ends it.

A trashed picture keeps its row, its album memberships (AlbumItem rows) and its stored objects;
`Image.trashed_at` alone takes it off every page through the one visibility rule
(`Image.objects.visible_to` / `public`), so restoring is clearing that field and the picture is
back in its albums exactly as it was. After TRASH_RETENTION_DAYS the daily purge, or the owner
emptying the trash, deletes the rows and then, once that has committed, the stored objects.

Lineage survives both: `Image.source_image` is SET_NULL, so purging a parent leaves its
children (upscales, restyles, variations) in the gallery without a parent link, and trashing a
parent only hides the link while it is in the trash.

Every change writes one audit entry per batch (gallery/audit.py), naming the pictures.
Everything here takes the owner as already authorised (the views pass request.user).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from . import audit, media
from .models import ACTIVE_STATUSES, AuditAction, Image, InspirationEntry, Job, Triage

logger = logging.getLogger(__name__)

# The daily purge handles at most this many pictures per run and batch (the rest next time).
PURGE_BATCH = 500


def retention() -> timedelta:
    return timedelta(days=settings.TRASH_RETENTION_DAYS)


def purge_date(image: Image) -> datetime | None:
    """When a trashed picture will be deleted for good."""
    return image.trashed_at + retention() if image.trashed_at else None


def trashed_images(*, owner: AbstractBaseUser) -> QuerySet[Image]:
    """The owner's pictures in the trash."""
    return Image.objects.trashed().filter(owner=owner)


def _ids(images: Iterable[Image | UUID | str]) -> list[UUID]:
    ids: list[UUID] = []
    for item in images:
        value = item.id if isinstance(item, Image) else item
        try:
            ids.append(value if isinstance(value, UUID) else UUID(str(value)))
        except ValueError:
            continue
    return ids


def trash_images(*, owner: AbstractBaseUser, images: Iterable[Image | UUID | str]) -> list[UUID]:
    """Move the owner's pictures among `images` to the trash; returns the ids that moved
    (pictures already there and other users' pictures are left alone, so a second call moves
    nothing). A running job reading one of them keeps working: nothing is deleted yet."""
    ids = _ids(images)
    now = timezone.now()
    with transaction.atomic():
        moved = list(
            Image.objects.select_for_update()
            .filter(owner=owner, id__in=ids, trashed_at__isnull=True)
            .values_list("id", flat=True)
        )
        if moved:
            Image.objects.filter(id__in=moved).update(trashed_at=now)
            audit.record(owner, AuditAction.IMAGES_TRASHED, owner, images=moved, count=len(moved))
    return moved


def restore_images(*, owner: AbstractBaseUser, images: Iterable[Image | UUID | str]) -> list[UUID]:
    """Take the owner's pictures among `images` out of the trash, back into their albums;
    returns the ids restored (a second call restores nothing)."""
    ids = _ids(images)
    with transaction.atomic():
        restored = list(
            Image.objects.select_for_update().trashed().filter(owner=owner, id__in=ids).values_list("id", flat=True)
        )
        if restored:
            # A picture discarded in triage comes back undecided (the database allows "discarded"
            # only in the trash); one trashed from the gallery keeps its triage.
            undecided = Case(When(triage=Triage.DISCARD, then=Value(Triage.UNDECIDED)), default=F("triage"))
            Image.objects.filter(id__in=restored).update(trashed_at=None, triage=undecided)
            audit.record(owner, AuditAction.IMAGES_RESTORED, owner, images=restored, count=len(restored))
    return restored


@dataclass
class PurgeResult:
    deleted: int = 0
    kept_in_use: int = 0
    keys: list[str] = field(default_factory=list)


def _busy_keys() -> QuerySet:
    return Job.objects.filter(status__in=ACTIVE_STATUSES).exclude(source_key="").values("source_key")


def _purge(queryset: QuerySet[Image], *, actor: AbstractBaseUser | None, reason: str) -> PurgeResult:
    """Delete the trashed pictures of `queryset` for good, PURGE_BATCH at a time: rows now,
    stored objects (original, preview, thumbnail, the downloadable PNG) once each batch's
    transaction has committed.

    Pictures a running job still reads from stay in the trash (the provider may not have fetched
    them yet) and are counted in `kept_in_use`. Featured inspiration entries of a purged picture
    go with it; a curated entry only loses its picture. A second call purges nothing more."""
    queryset = queryset.trashed()
    result = PurgeResult(kept_in_use=queryset.filter(original_key__in=_busy_keys()).count())
    while True:
        with transaction.atomic():
            rows = list(queryset.exclude(original_key__in=_busy_keys()).select_for_update()[:PURGE_BATCH])
            if not rows:
                break
            keys = [key for row in rows for key in row.stored_keys()]
            ids = [row.id for row in rows]
            InspirationEntry.objects.filter(image_id__in=ids, is_curated=False).delete()
            Image.objects.filter(id__in=ids).delete()
            owners = sorted({row.owner_id for row in rows})
            audit.record(
                actor, AuditAction.IMAGES_PURGED, None, images=ids, count=len(ids), owners=owners, reason=reason
            )
            # Slow I/O after the commit: if the rows came back (rollback), the objects must still be there.
            transaction.on_commit(lambda keys=keys: _delete_objects(keys))
        result.deleted += len(rows)
        result.keys.extend(keys)
        if len(rows) < PURGE_BATCH:
            break
    return result


def _delete_objects(keys: list[str]) -> None:
    try:
        media.delete(keys)
    except Exception:  # the rows are gone already; what is left are random keys the orphan sweep removes
        logger.warning("could not remove %d stored objects of purged pictures", len(keys), exc_info=True)


def empty_trash(*, owner: AbstractBaseUser, images: Iterable[Image | UUID | str] | None = None) -> PurgeResult:
    """Delete the owner's trashed pictures for good (all of them, or those among `images`)."""
    queryset = Image.objects.filter(owner=owner)
    if images is not None:
        queryset = queryset.filter(id__in=_ids(images))
    return _purge(queryset, actor=owner, reason="emptied")


def purge_expired(*, now: datetime | None = None) -> PurgeResult:
    """The daily purge: pictures in the trash for longer than TRASH_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - retention()
    return _purge(Image.objects.filter(trashed_at__lt=cutoff), actor=None, reason="retention")
