"""What leaves the site as a file: a picture's download name, its original as a PNG with its
parameters and its labels (made once, then kept in storage), and zip archives of many pictures
streamed as they are made.

Every file carries the picture's implicit label (gallery/labels.py): the stored originals and
thumbnails got it at ingest, the PNG gets it here together with the visible mark."""

from __future__ import annotations

import itertools
import logging
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from . import imaging, labels, media
from .models import Image

ZIP_CHUNK_BYTES = 256 * 1024
PNG_CHUNK_BYTES = 256 * 1024

logger = logging.getLogger(__name__)


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


def image_label(image: Image) -> labels.AigcLabel:
    """The implicit label of one of our pictures: the one ingest embedded in its files."""
    source_label = image.source_label or {}
    source = source_label.get("ProduceID") or (str(image.source_image_id) if image.source_image_id else "")
    return labels.for_generated(produce_id=str(image.id), source_produce_id=str(source))


@dataclass(frozen=True)
class EmbeddedLabel:
    """What a picture's stored files carry: `label` None when they carry none (an upgraded
    site's old picture, until `aigc_relabel` has run); `readable` False when the store failed."""

    label: labels.AigcLabel | None
    readable: bool = True


def embedded_label(image: Image) -> EmbeddedLabel:
    """The label read back from the picture's stored original (the image page shows what the
    files really hold: a picture keeps the producer it was stored with, and an old one has no
    label until relabelled). One ranged read of the original's first bytes; a WebP original keeps
    its XMP at the end, so then the small WebP preview is read instead."""
    try:
        head, total = media.read_head(image.original_key, labels.HEAD_BYTES)
        found = labels.read_label(head)
        if found is None and len(head) < total and labels.file_format(head) == "WEBP":
            found = labels.read_label(media.read(image.preview_key or image.original_key))
    except Exception:  # the page still shows, saying the label could not be read
        logger.warning("could not read the label of %s", image.id, exc_info=True)
        return EmbeddedLabel(label=None, readable=False)
    return EmbeddedLabel(label=found)


def original_png(*, image: Image, original: bytes | None = None) -> bytes:
    """The stored original as a PNG with its parameters as text chunks ("parameters", A1111
    style, and "aigc" JSON), as other tools write them, its implicit label as XMP and (unless
    AIGC_MARK_DOWNLOADS is off) the visible "AI 生成" mark in a corner of its pixels.
    `original`: the original's bytes, when the caller has read them already."""
    return imaging.png_with_parameters(
        media.read(image.original_key) if original is None else original,
        params=image.params,
        extra=download_extra(image),
        xmp=labels.xmp_packet(image_label(image)),
        draw=labels.draw_mark if settings.AIGC_MARK_DOWNLOADS else None,
    )


@dataclass(frozen=True)
class PngDownload:
    """The downloadable PNG: its length, and its bytes as chunks (read from storage lazily)."""

    size: int
    chunks: Iterable[bytes]


def png_download(*, image: Image) -> PngDownload:
    """The picture's downloadable PNG, made from the original on the first download only.

    Re-encoding a 3072x3072 original costs seconds of CPU, so the PNG is stored (key recorded in
    `Image.download_key`) and later downloads stream the stored object. Nothing needs a lock:
    two first downloads at once both make the same bytes, the conditional update records one
    key, and the other copy is deleted. A recorded object that has gone missing is made again.
    If the store refuses the upload, this download is still served from memory."""
    if image.download_key:
        stored_size = media.size(image.download_key)
        if stored_size is not None:
            return PngDownload(size=stored_size, chunks=media.iter_chunks(image.download_key, PNG_CHUNK_BYTES))
    data = original_png(image=image)
    try:
        key = media.put(folder=f"images/{image.owner_id}", extension="png", data=data)
    except Exception:
        logger.warning("download of %s: the PNG could not be stored; made again next time", image.id, exc_info=True)
        return PngDownload(size=len(data), chunks=[data])
    recorded = Image.objects.filter(id=image.id, download_key=image.download_key).update(download_key=key)
    if recorded:
        image.download_key = key
    else:
        # Another download recorded its copy first, or the picture was deleted meanwhile (its
        # deletion read no key of ours, so nothing else would ever remove this object).
        _delete_quietly(key)
    return PngDownload(size=len(data), chunks=[data])


def _delete_quietly(key: str) -> None:
    try:
        media.delete([key])
    except Exception:  # an unreferenced random key; the orphan sweep removes it later
        logger.warning("download: could not remove the unrecorded copy %s", key, exc_info=True)


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


@dataclass(frozen=True)
class ZipMember:
    name: str
    image: Image
    parameters: str


def zip_members(images: Iterable[Image]) -> list[ZipMember]:
    """What goes into a zip: each picture's downloadable PNG (labelled, with the visible mark: the
    same file a single download gives), and its parameters as a .txt beside it.

    Built before streaming starts, so no database access happens while the response flows."""
    return [
        ZipMember(
            name=download_name(image, extension="png"), image=image, parameters=imaging.parameters_text(image.params)
        )
        for image in images
    ]


def _member_chunks(member: ZipMember) -> Iterator[bytes]:
    """The member's PNG, its first piece already read (so a missing object raises here): the
    stored download PNG when there is one, otherwise made in memory from the original. It is
    not stored from here, because recording its key would write to the database mid-stream."""
    if member.image.download_key:
        chunks = media.iter_chunks(member.image.download_key, ZIP_CHUNK_BYTES)
        try:
            return itertools.chain([next(chunks, b"")], chunks)
        except Exception:
            logger.info("zip: the stored PNG of %s is gone; made again", member.image.id)
    return iter([original_png(image=member.image)])


def stream_zip(members: Iterable[ZipMember]) -> Iterator[bytes]:
    """A zip archive, yielded piece by piece while the stored objects are read one by one.

    Deflate at level 1 for every member: PNG and WebP hardly shrink, but deflated members with
    data descriptors are what every unzip tool reads (some refuse stored ones)."""
    writer = _ChunkWriter()
    with zipfile.ZipFile(writer, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member in members:
            try:
                # Read the first piece before writing the member's header, so an object that
                # has gone missing is left out instead of breaking the archive half-way.
                chunks = _member_chunks(member)
                first = next(chunks, b"")
            except Exception:
                logger.warning("zip: the original %s could not be read; left out", member.image.original_key)
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
