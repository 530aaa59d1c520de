"""Housekeeping of the object store: remove objects nothing refers to any more.

Uploads happen outside transactions (nothing slow runs under a lock), so a worker that dies
between uploading a picture and attaching it, or a form whose job was refused after its source
was stored, can leave objects behind. Their keys are random and unreferenced, so they harm
nobody, but they cost storage: this sweep deletes them once they are old enough that no
in-flight ingest can still be about to attach them (STORAGE_ORPHAN_GRACE_HOURS).

`reconcile` compares the two sides without changing either (check_invariants runs it) and
records what it found, for the admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import media
from .models import STORED_KEY_FIELDS, Image, Job, Reconciliation

PREFIXES = ("images/", "sources/")


@dataclass
class OrphanReport:
    scanned: int = 0
    deleted: list[str] = field(default_factory=list)


def referenced_keys() -> set[str]:
    keys: set[str] = set()
    for row in Image.objects.values_list(*STORED_KEY_FIELDS).iterator():
        keys.update(key for key in row if key)
    keys.update(Job.objects.exclude(source_key="").values_list("source_key", flat=True).iterator())
    return keys


def grace() -> timedelta:
    return timedelta(hours=settings.STORAGE_ORPHAN_GRACE_HOURS)


def sweep_orphans(*, older_than: timedelta | None = None, dry_run: bool = False) -> OrphanReport:
    """Delete unreferenced objects under images/ and sources/ older than `older_than`
    (STORAGE_ORPHAN_GRACE_HOURS unless given).

    The references are read before the listing, so an object attached after that moment is
    at worst kept until the next sweep, never deleted while referenced."""
    keep = referenced_keys()
    cutoff = timezone.now() - (grace() if older_than is None else older_than)
    report = OrphanReport()
    for prefix in PREFIXES:
        for key, modified in media.iter_objects(prefix):
            report.scanned += 1
            if key in keep or modified > cutoff:
                continue
            report.deleted.append(key)
    if not dry_run:
        media.delete(report.deleted)
    return report


# How many keys of each kind a Reconciliation row keeps for reading (the counts are complete).
RECORDED_KEYS = 100


def _image_keys() -> dict[str, str]:
    """Every stored key an image row names -> that image's id."""
    owners: dict[str, str] = {}
    for row in Image.objects.values_list("id", *STORED_KEY_FIELDS).iterator():
        owners.update({key: str(row[0]) for key in row[1:] if key})
    return owners


@dataclass
class ReconcileReport:
    record: Reconciliation
    missing: dict[str, str]  # key -> the picture naming it
    unreferenced: list[str]


def reconcile(*, older_than: timedelta | None = None) -> ReconcileReport:
    """Compare the database with the bucket and record the result: every key a picture names
    must exist (trashed pictures included: their objects stay until the purge), and every object
    under images/ and sources/ must be named by a picture or a job, or be younger than the
    grace period. Nothing is deleted.

    The rows are read before the listing; a key that looks missing is checked against the rows
    again, so a picture purged meanwhile is not reported."""
    named = _image_keys()
    keep = referenced_keys()
    cutoff = timezone.now() - (grace() if older_than is None else older_than)
    listed: set[str] = set()
    unreferenced: list[str] = []
    in_grace = 0
    for prefix in PREFIXES:
        for key, modified in media.iter_objects(prefix):
            listed.add(key)
            if key in keep:
                continue
            if modified > cutoff:
                in_grace += 1
            else:
                unreferenced.append(key)
    # Under the listed prefixes the listing is the answer; anywhere else, ask for the object.
    missing = [key for key in named if key not in listed and (key.startswith(PREFIXES) or not media.exists(key))]
    if missing:
        still = _image_keys()
        missing = [key for key in missing if key in still]
    missing.sort()
    unreferenced.sort()
    record = Reconciliation.objects.create(
        ok=not missing and not unreferenced,
        referenced=len(keep),
        stored=len(listed),
        in_grace=in_grace,
        missing_count=len(missing),
        unreferenced_count=len(unreferenced),
        missing=missing[:RECORDED_KEYS],
        unreferenced=unreferenced[:RECORDED_KEYS],
    )
    return ReconcileReport(record=record, missing={key: named[key] for key in missing}, unreferenced=unreferenced)
