"""Delete stored objects no image or job refers to (see gallery/housekeeping.py)."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand

from gallery.housekeeping import sweep_orphans


class Command(BaseCommand):
    help = "Delete objects under images/ and sources/ that nothing refers to, once they are old enough."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=float, default=None, help="default: STORAGE_ORPHAN_GRACE_HOURS")
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted")

    def handle(self, *args, older_than_hours: float | None, dry_run: bool, **options):
        older_than = None if older_than_hours is None else timedelta(hours=older_than_hours)
        report = sweep_orphans(older_than=older_than, dry_run=dry_run)
        self.stdout.write(json.dumps({"scanned": report.scanned, "deleted": report.deleted, "dry_run": dry_run}))
