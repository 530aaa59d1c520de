"""Galleries: finding, keeping, sorting and getting rid of a user's pictures.

Listing uses keyset (cursor) pagination over (created_at, id): a page is "the next N rows after
this one" in index order, so page 500 costs what page 1 costs (no OFFSET) and a picture that
arrives while someone pages through older ones neither repeats a row nor skips one.

Albums ("boards") are named sets of one user's images; deleting an album keeps its images.
Deleting an image removes its rows first and its stored objects after the commit, so a failure
half-way leaves unreferenced random keys behind, never an image whose pixels are gone.

Everything here takes already authorised objects: the views decide who may touch what through
gallery/access.py and the `get_*` helpers below, which answer 404 for other people's things.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from . import imaging, media
from .models import ACTIVE_STATUSES, Album, AlbumItem, Image, InspirationEntry, Job, JobKind

PAGE_SIZE = 48
# A zip or a bulk action takes at most this many pictures at once.
BULK_LIMIT = 200
ALBUM_NAME_MAX_LENGTH = 80
ZIP_CHUNK_BYTES = 256 * 1024

SORTS = ("newest", "oldest")

logger = logging.getLogger(__name__)


class GalleryError(Exception):
    """A gallery operation that cannot happen; the message is safe to show the user."""

    def __init__(self, message: Any):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class AlbumNameInvalid(GalleryError):
    pass


class ImageInUse(GalleryError):
    def __init__(self) -> None:
        super().__init__(_("A running job is still using this picture; delete it when the job has finished."))


# --- cursors and pages ---


def _search_text(value: Any) -> str:
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
class Cursor:
    """A position in (created_at, id) order, as it travels in the query string.

    Encoded as "<microseconds since the epoch>-<id hex>": exact (no rounding of the timestamp,
    so the row it came from is excluded precisely) and opaque enough for a URL."""

    created_at: datetime
    id: UUID

    @classmethod
    def of(cls, image: Image) -> Cursor:
        return cls(created_at=image.created_at, id=image.id)

    def encode(self) -> str:
        moment = self.created_at.astimezone(UTC)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        delta = moment - epoch
        micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}-{self.id.hex}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor in `text`, or None when it is missing or malformed (then: the first page)."""
        if not text:
            return None
        micros, _sep, hex_id = text.partition("-")
        try:
            number = int(micros)
            ident = UUID(hex=hex_id)
            moment = datetime.fromtimestamp(number // 1_000_000, tz=UTC).replace(microsecond=number % 1_000_000)
        except (ValueError, OverflowError, OSError):
            return None
        return cls(created_at=moment, id=ident)


@dataclass
class Page:
    """One page of images in display order, with cursors to the neighbouring pages."""

    images: list[Image]
    sort: str
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _after(cursor: Cursor, *, descending: bool) -> Q:
    """Rows strictly beyond the cursor in the given direction (ties on created_at broken by id)."""
    if descending:
        return Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, id__lt=cursor.id)
    return Q(created_at__gt=cursor.created_at) | Q(created_at=cursor.created_at, id__gt=cursor.id)


def paginate(
    queryset: QuerySet[Image],
    *,
    sort: str = "newest",
    after: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> Page:
    """A page of `queryset` in `sort` order: the first page, the one after cursor `after` or the
    one before cursor `before` (`after` wins when both are given). Malformed cursors mean the
    first page. Each query reads at most limit+1 rows through the (owner|is_public, created_at,
    id) indexes, however deep the page."""
    limit = limit or PAGE_SIZE
    descending = sort != "oldest"
    sort = "newest" if descending else "oldest"
    order = ["-created_at", "-id"] if descending else ["created_at", "id"]
    reverse_order = ["created_at", "id"] if descending else ["-created_at", "-id"]
    after_cursor = Cursor.decode(after)
    before_cursor = None if after_cursor else Cursor.decode(before)

    if before_cursor is not None:
        # Walk backwards from the cursor, then turn the rows round into display order.
        rows = list(
            queryset.filter(_after(before_cursor, descending=not descending)).order_by(*reverse_order)[: limit + 1]
        )
        has_more_before = len(rows) > limit
        images = list(reversed(rows[:limit]))
        if not images:
            return paginate(queryset, sort=sort, limit=limit)
        return Page(
            images=images,
            sort=sort,
            previous_cursor=Cursor.of(images[0]).encode() if has_more_before else None,
            next_cursor=Cursor.of(images[-1]).encode(),
        )

    base = queryset.filter(_after(after_cursor, descending=descending)) if after_cursor else queryset
    rows = list(base.order_by(*order)[: limit + 1])
    images = rows[:limit]
    page = Page(images=images, sort=sort)
    if len(rows) > limit:
        page.next_cursor = Cursor.of(images[-1]).encode()
    if after_cursor is not None and images:
        # Something precedes this page unless every earlier row was deleted meanwhile.
        if queryset.filter(_after(Cursor.of(images[0]), descending=not descending)).exists():
            page.previous_cursor = Cursor.of(images[0]).encode()
    return page


# --- what a gallery shows ---


@dataclass(frozen=True)
class Filters:
    """What the gallery toolbar asks for; built from the query string by `Filters.from_query`."""

    kind: str = ""
    album_id: int | None = None
    favourites: bool = False
    query: str = ""
    sort: str = "newest"

    @classmethod
    def from_query(cls, data: Any) -> Filters:
        kind = data.get("kind", "")
        album = data.get("album", "")
        sort = data.get("sort", "newest")
        return cls(
            kind=kind if kind in JobKind.values else "",
            album_id=parse_id(album),
            favourites=data.get("favourites", "") in ("1", "on", "true"),
            query=_search_text(data.get("q", "")),
            sort=sort if sort in SORTS else "newest",
        )

    @property
    def is_active(self) -> bool:
        return bool(self.kind or self.album_id or self.favourites or self.query)


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
    if filters.query:
        queryset = _search(queryset, filters.query)
    return queryset


def personal_images(*, owner: AbstractBaseUser, filters: Filters = Filters()) -> QuerySet[Image]:
    """The owner's images matching the filters (an album filter must name one of their albums:
    another user's album id matches nothing)."""
    queryset = _filtered(Image.objects.filter(owner=owner), filters)
    if filters.album_id is not None:
        queryset = queryset.filter(albumitem__album_id=filters.album_id, albumitem__album__owner=owner)
    return queryset


def public_images(*, filters: Filters = Filters()) -> QuerySet[Image]:
    """Everybody's public pictures that staff have not hidden (the explore page)."""
    return _filtered(Image.objects.public(), filters).select_related("owner")


# --- single images ---


def set_favourite(*, image: Image, is_favourite: bool) -> Image:
    """Mark or unmark a favourite; setting the current value again changes nothing."""
    Image.objects.filter(id=image.id).update(is_favourite=is_favourite)
    image.is_favourite = is_favourite
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


@dataclass
class DeleteResult:
    deleted: int = 0
    kept_in_use: int = 0
    keys: list[str] = field(default_factory=list)


def delete_images(*, owner: AbstractBaseUser, images: Iterable[Image]) -> DeleteResult:
    """Delete the owner's images: rows now, stored objects (original, preview, thumbnail) once
    the transaction has committed.

    Pictures a running job still reads from are kept (the provider may not have fetched them
    yet) and counted in `kept_in_use`. Featured inspiration entries of a deleted image go with
    it; a curated entry only loses its picture. Calling it again for the same images deletes
    nothing more."""
    ids = [image.id for image in images]
    result = DeleteResult()
    with transaction.atomic():
        rows = list(Image.objects.select_for_update().filter(owner=owner, id__in=ids))
        busy = set(
            Job.objects.filter(
                status__in=ACTIVE_STATUSES,
                source_key__in=[row.original_key for row in rows if row.original_key],
            ).values_list("source_key", flat=True)
        )
        doomed = [row for row in rows if row.original_key not in busy]
        result.kept_in_use = len(rows) - len(doomed)
        for row in doomed:
            result.keys.extend(key for key in (row.original_key, row.preview_key, row.thumb_key) if key)
        doomed_ids = [row.id for row in doomed]
        InspirationEntry.objects.filter(image_id__in=doomed_ids, is_curated=False).delete()
        Image.objects.filter(id__in=doomed_ids).delete()
        result.deleted = len(doomed)
        keys = list(result.keys)
        # Slow I/O after the commit: if the rows came back (rollback), the objects must still be there.
        transaction.on_commit(lambda: _delete_objects(keys))
    return result


def _delete_objects(keys: list[str]) -> None:
    try:
        media.delete(keys)
    except Exception:  # the rows are gone already; what is left are random keys nobody references
        logger.warning("could not remove %d stored objects of deleted images", len(keys), exc_info=True)


def delete_image(*, image: Image) -> DeleteResult:
    """Delete one image; raises ImageInUse when a running job still reads it."""
    result = delete_images(owner=image.owner, images=[image])
    if result.kept_in_use:
        raise ImageInUse()
    return result


def download_name(image: Image, *, extension: str) -> str:
    stamp = image.created_at.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return f"aigc-{stamp}-{image.kind}-{image.id.hex[:8]}.{extension}"


def download_extra(image: Image) -> dict[str, Any]:
    """What the PNG's "aigc" chunk records besides the parameters."""
    return {
        "id": str(image.id),
        "kind": image.kind,
        "made_by": image.made_by,
        "is_procedural": image.is_procedural,
        "created_at": image.created_at.isoformat(),
        "source_image": str(image.source_image_id) if image.source_image_id else None,
    }


def original_png(*, image: Image) -> bytes:
    """The stored original as a PNG with its parameters as text chunks ("parameters", A1111
    style, and "aigc" JSON), as other tools write them."""
    return imaging.png_with_parameters(media.read(image.original_key), params=image.params, extra=download_extra(image))


# --- albums ---


def get_album(*, owner: AbstractBaseUser, album_id: int | str) -> Album:
    """The owner's album, or 404 (another user's album is indistinguishable from none)."""
    number = parse_id(album_id)
    if number is None:
        raise Http404
    return get_object_or_404(Album, id=number, owner=owner)


def albums_of(owner: AbstractBaseUser) -> QuerySet[Album]:
    return Album.objects.filter(owner=owner).annotate(image_count=Count("albumitem")).order_by("name")


def albums_with_covers(owner: AbstractBaseUser) -> QuerySet[Album]:
    """The owner's albums with their size and the picture added last (cover_thumb, cover_width,
    cover_height), in one query."""
    latest = AlbumItem.objects.filter(album=OuterRef("pk")).order_by("-added_at", "-id")
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


def own_images(*, owner: AbstractBaseUser, ids: Iterable[str]) -> list[Image]:
    """The owner's images among `ids` (malformed and foreign ids are dropped), newest first."""
    valid: list[UUID] = []
    for value in ids:
        try:
            valid.append(UUID(str(value)))
        except ValueError:
            continue
    if not valid:
        return []
    return list(Image.objects.filter(owner=owner, id__in=valid[:BULK_LIMIT]).order_by("-created_at", "-id"))


# --- streamed zip ---


class _ChunkWriter:
    """A write-only, unseekable file for zipfile that hands written bytes to a generator.

    zipfile notices it cannot seek and writes each member with a data descriptor, so nothing
    has to be rewritten afterwards and the archive can go out as it is made."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._offset = 0

    def write(self, data: bytes) -> int:
        if data:
            self._chunks.append(bytes(data))
            self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _object_chunks(key: str) -> Iterator[bytes]:
    """The stored object in chunks, straight from S3 (one object at a time, never whole in memory)."""
    handle = default_storage.open(key, "rb")
    try:
        s3_object = getattr(handle, "obj", None)
        if s3_object is not None:
            body = s3_object.get()["Body"]
            try:
                yield from body.iter_chunks(ZIP_CHUNK_BYTES)
            finally:
                body.close()
        else:  # another storage backend: read it through the file API
            while chunk := handle.read(ZIP_CHUNK_BYTES):
                yield chunk
    finally:
        handle.close()


@dataclass(frozen=True)
class ZipMember:
    name: str
    key: str
    parameters: str


def zip_members(images: Iterable[Image]) -> list[ZipMember]:
    """What goes into a zip: each original as stored, and its parameters as a .txt beside it.

    Built before streaming starts, so no database access happens while the response flows."""
    members = []
    for image in images:
        extension = image.original_key.rsplit(".", 1)[-1] if "." in image.original_key else "png"
        name = download_name(image, extension=extension)
        members.append(ZipMember(name=name, key=image.original_key, parameters=imaging.parameters_text(image.params)))
    return members


def stream_zip(members: Iterable[ZipMember]) -> Iterator[bytes]:
    """A zip archive, yielded piece by piece while the stored objects are read one by one.

    Deflate at level 1 for every member: PNG and WebP hardly shrink, but deflated members with
    data descriptors are what every unzip tool reads (some refuse stored ones)."""
    writer = _ChunkWriter()
    with zipfile.ZipFile(writer, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member in members:
            chunks = _object_chunks(member.key)
            try:
                # Read the first piece before writing the member's header, so an object that
                # has gone missing is left out instead of breaking the archive half-way.
                first = next(chunks, b"")
            except Exception:
                logger.warning("zip: stored object %s could not be read; left out", member.key)
                continue
            info = zipfile.ZipInfo(member.name, date_time=datetime.now(UTC).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, mode="w") as entry:
                entry.write(first)
                for chunk in chunks:
                    entry.write(chunk)
                    if data := writer.take():
                        yield data
            if member.parameters:
                archive.writestr(member.name.rsplit(".", 1)[0] + ".txt", member.parameters.encode("utf-8"))
            if data := writer.take():
                yield data
    if data := writer.take():
        yield data
