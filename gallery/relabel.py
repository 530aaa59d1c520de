"""Labels for pictures stored before labelling existed: on an upgraded site their originals,
thumbnails, previews and stored download PNGs carry no TC260 label, so they are written again.

`relabel_all` walks every picture in id order and reads back the label of each of its stored
objects (the XMP in the object itself, not a database flag: the objects are what is served).
Each object without one is written again, labelled, under a *new* key: browsers keep a key's
bytes as immutable (media.py, MEDIA_CACHE_CONTROL), so overwriting in place would leave them
showing the unlabelled copy. Then, in one transaction and only if the row still names the
objects that were read, the row gets the new keys (and so do the jobs that read its original as
their source); the replaced objects are deleted after the commit.

So nothing is lost when storage fails half-way: until the commit the row and its old objects
are as they were (new objects already uploaded are removed, or swept later as orphans). And it
is idempotent and resumable: a run only touches objects that still lack a label, so running it
again after an interruption finishes the rest, and a second full run writes nothing.

What each object becomes:
- the original: the label spliced in (labels.embed: PNG and JPEG pixels untouched), and with
  C2PA configured a signed manifest, as ingest does;
- the WebP thumbnail and preview: the same picture with the label;
- a stored download PNG: made again from the original (downloads.original_png; from itself if the
  original is gone), so it also gets the visible mark.
A picture whose original a running job still reads (the provider may not have fetched it yet) is
left for a later run, as deletion leaves it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from django.db import transaction

from . import downloads, labels, media, provenance
from .models import ACTIVE_STATUSES, STORED_KEY_FIELDS, Image, Job

logger = logging.getLogger(__name__)

BATCH_SIZE = 100

# The names the command prints for the Image columns.
OBJECT_NAMES = {
    "original_key": "original",
    "preview_key": "preview",
    "thumb_key": "thumbnail",
    "download_key": "download PNG",
}


class StorageUnavailable(Exception):
    """The object store failed while a picture was relabelled; that picture is as it was."""


@dataclass(frozen=True)
class Outcome:
    """What became of one picture: "labelled" (nothing to do), "relabelled" (or would be, in a
    dry run), "busy" (a running job reads its original: the other objects were relabelled, the
    original waits), "changed" (its row changed meanwhile), "unreadable" (what lacks a label is
    not a picture we can read). "busy" and "changed" are left for a later run."""

    result: str
    fields: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()


@dataclass
class Report:
    scanned: int = 0
    labelled: int = 0
    relabelled: int = 0
    objects: int = 0
    left: int = 0
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    # The last picture looked at (a later run may start after it), whether the run got to the
    # last picture, and why it stopped early if the store failed.
    last_id: UUID | None = None
    finished: bool = False
    stopped: str = ""

    def add(self, outcome: Outcome) -> None:
        self.scanned += 1
        if outcome.result == "labelled":
            self.labelled += 1
        elif outcome.result == "relabelled":
            self.relabelled += 1
        elif outcome.result in ("busy", "changed"):
            self.left += 1
        self.objects += len(outcome.fields)
        self.missing.extend(outcome.missing)
        self.unreadable.extend(outcome.unreadable)


def relabel_all(
    *,
    dry_run: bool = False,
    limit: int | None = None,
    after: UUID | None = None,
    deadline: float | None = None,
    progress: Callable[[Image, Outcome, Report], None] | None = None,
) -> Report:
    """Relabel every picture whose stored objects lack the label (at most `limit` pictures,
    starting after the id `after`, until time.monotonic() passes `deadline`). Stops at the first
    storage failure (`Report.stopped`)."""
    report = Report(last_id=after)
    while True:
        batch = Image.objects.order_by("id")
        if report.last_id is not None:
            batch = batch.filter(id__gt=report.last_id)
        rows = list(batch[:BATCH_SIZE])
        if not rows:
            report.finished = True
            return report
        for image in rows:
            try:
                outcome = relabel_image(image, dry_run=dry_run)
            except StorageUnavailable as exc:
                report.stopped = str(exc)
                return report
            report.add(outcome)
            report.last_id = image.id
            if progress is not None:
                progress(image, outcome, report)
            if limit is not None and report.relabelled >= limit:
                return report
            if deadline is not None and time.monotonic() >= deadline:
                return report


def relabel_image(image: Image, *, dry_run: bool = False) -> Outcome:
    """Write again, labelled and under new keys, the picture's objects that carry no label."""
    unlabelled: dict[str, bytes] = {}
    missing: list[str] = []
    for name in STORED_KEY_FIELDS:
        key = getattr(image, name)
        if not key:
            continue
        try:
            data = _unlabelled_bytes(key)
        except FileNotFoundError:
            missing.append(key)
            continue
        if data is not None:
            unlabelled[name] = data
    # The provider may still fetch a running job's source by its key: that original waits for a
    # later run, the picture's other objects are labelled now.
    busy = "original_key" in unlabelled and _read_by_running_job(image.original_key)
    todo = [name for name in unlabelled if not (busy and name == "original_key")]
    done = "busy" if busy else "relabelled"
    if not todo:
        return Outcome("busy" if busy else "labelled", missing=tuple(missing))
    if dry_run:
        return Outcome(done, fields=tuple(todo), missing=tuple(missing))
    written, unreadable = _labelled_objects(image, unlabelled, todo)
    if not written:
        return Outcome("busy" if busy else "unreadable", missing=tuple(missing), unreadable=tuple(unreadable))
    new_keys = _upload(image, written)
    original = written.get("original_key")
    recorded = _record(image, new_keys=new_keys, size_bytes=len(original[0]) if original else None)
    if recorded != "relabelled":
        _delete_quietly(list(new_keys.values()))
        return Outcome(recorded, missing=tuple(missing), unreadable=tuple(unreadable))
    return Outcome(done, fields=tuple(new_keys), missing=tuple(missing), unreadable=tuple(unreadable))


def _unlabelled_bytes(key: str) -> bytes | None:
    """The object's bytes when it carries no TC260 label, None when it does.
    Raises FileNotFoundError when it is gone, StorageUnavailable when the store fails."""
    try:
        # an object whose head shows no label (a WebP keeps it at its end) is read whole
        head, total = media.read_head(key, labels.HEAD_BYTES)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise StorageUnavailable(f"object storage unavailable reading {key}: {exc}") from exc
    if labels.read_label(head) is not None:
        return None
    data = head if len(head) >= total else _read(key)
    return None if labels.read_label(data) is not None else data


def _read(key: str) -> bytes:
    try:
        return media.read(key)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise StorageUnavailable(f"object storage unavailable reading {key}: {exc}") from exc


def _read_by_running_job(key: str) -> bool:
    return Job.objects.filter(status__in=ACTIVE_STATUSES, source_key=key).exists()


def _labelled_objects(
    image: Image, unlabelled: dict[str, bytes], todo: list[str]
) -> tuple[dict[str, tuple[bytes, str]], list[str]]:
    """{column: (labelled bytes, extension)} for the columns `todo`, and the keys whose bytes
    could not be labelled (not a picture we can read: left as they are, and reported)."""
    label = downloads.image_label(image)
    written: dict[str, tuple[bytes, str]] = {}
    unreadable: list[str] = []
    for name in todo:
        data, key = unlabelled[name], getattr(image, name)
        extension = key.rsplit(".", 1)[-1] if "." in key.rsplit("/", 1)[-1] else "bin"
        try:
            if name == "download_key":
                written[name] = (
                    downloads.original_png(image=image, original=_source_of_download(image, unlabelled)),
                    "png",
                )
                continue
            image_format = labels.file_format(data)
            if image_format is None:
                raise ValueError("not a PNG, JPEG or WebP file")
            labelled = labels.embed(data, label=label, image_format=image_format)
            if name == "original_key" and provenance.enabled():
                generator, title = image.made_by or "AI", f"{image.id}.{extension}"
                labelled = provenance.sign(labelled, image_format=image_format, generator=generator, title=title)
        except (ValueError, OSError) as exc:
            logger.warning("relabel: %s of %s could not be labelled: %s", key, image.id, exc)
            unreadable.append(key)
            continue
        written[name] = (labelled, extension)
    return written, unreadable


def _source_of_download(image: Image, unlabelled: dict[str, bytes]) -> bytes:
    """What the download PNG is made again from: the original, or, if that is gone, the old
    download PNG itself (the same pixels: it may be the last full-size copy, so it is kept)."""
    if "original_key" in unlabelled:
        return unlabelled["original_key"]
    try:
        return _read(image.original_key)
    except FileNotFoundError:
        return unlabelled["download_key"]


def _upload(image: Image, written: dict[str, tuple[bytes, str]]) -> dict[str, str]:
    """{column: new key}; on a failure the objects already uploaded are removed again."""
    new_keys: dict[str, str] = {}
    for name, (data, extension) in written.items():
        try:
            new_keys[name] = media.put(folder=f"images/{image.owner_id}", extension=extension, data=data)
        except Exception as exc:
            _delete_quietly(list(new_keys.values()))
            raise StorageUnavailable(f"object storage unavailable writing for {image.id}: {exc}") from exc
    return new_keys


def _record(image: Image, *, new_keys: dict[str, str], size_bytes: int | None) -> str:
    """Point the row at the new objects, if it still names the ones read; the replaced objects
    go once the transaction has committed. Returns "relabelled", "changed" or "busy"."""
    read = {name: getattr(image, name) for name in STORED_KEY_FIELDS}
    with transaction.atomic():
        row = Image.objects.select_for_update().filter(id=image.id).values(*STORED_KEY_FIELDS).first()
        if row != read:
            return "changed"  # deleted, or a download recorded its PNG meanwhile
        old_original = read["original_key"]
        if "original_key" in new_keys and _read_by_running_job(old_original):
            return "busy"
        updates: dict[str, object] = dict(new_keys)
        if size_bytes is not None:
            updates["size_bytes"] = size_bytes
        Image.objects.filter(id=image.id).update(**updates)
        if "original_key" in new_keys:
            # A finished job that started from this picture reads the new copy when retried.
            Job.objects.filter(source_key=old_original).update(source_key=new_keys["original_key"])
        replaced = [read[name] for name in new_keys]
        transaction.on_commit(lambda: _delete_replaced(replaced))
    for name, key in new_keys.items():
        setattr(image, name, key)
    if size_bytes is not None:
        image.size_bytes = size_bytes
    return "relabelled"


def _delete_replaced(keys: list[str]) -> None:
    # A job made from the picture just before the commit may still name its old original: that
    # one stays (the orphan sweep removes it once nothing refers to it). So does a key another
    # row names (none does today: every picture gets objects of its own).
    still_used = set(Job.objects.filter(source_key__in=keys).values_list("source_key", flat=True))
    for name in STORED_KEY_FIELDS:
        still_used.update(Image.objects.filter(**{f"{name}__in": keys}).values_list(name, flat=True))
    _delete_quietly([key for key in keys if key not in still_used])


def _delete_quietly(keys: list[str]) -> None:
    try:
        media.delete(keys)
    except Exception:  # unreferenced random keys: the orphan sweep removes them later
        logger.warning("relabel: could not remove %d replaced or unrecorded objects", len(keys), exc_info=True)
