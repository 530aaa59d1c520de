"""Housekeeping of the object store: remove objects nothing refers to any more.

Uploads happen outside transactions (nothing slow runs under a lock), so a worker that dies
between uploading a picture and attaching it, or a form whose job was refused after its source
was stored, can leave objects behind. Their keys are random and unreferenced, so they harm
nobody, but they cost storage: this sweep deletes them once they are old enough that no
in-flight ingest can still be about to attach them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from . import media
from .models import STORED_KEY_FIELDS, Image, Job

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


def sweep_orphans(*, older_than: timedelta = timedelta(hours=24), dry_run: bool = False) -> OrphanReport:
    """Delete unreferenced objects under images/ and sources/ older than `older_than`.

    The references are read before the listing, so an object attached after that moment is
    at worst kept until the next sweep, never deleted while referenced."""
    keep = referenced_keys()
    cutoff = timezone.now() - older_than
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
