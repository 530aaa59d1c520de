"""Label the pictures an upgraded site stored before labelling existed (gallery/relabel.py).

    manage.py aigc_relabel [--dry-run] [--limit N] [--after ID]

Reads back the label of every stored original, thumbnail, preview and download PNG; each one
without the TC260 label is written again, labelled, under a new key, the picture's row is
updated, and the old object deleted. One line per picture it changes, a progress line every
500 pictures, a summary at the end. Safe to interrupt and to run again: it carries on with what
is still unlabelled. Exits 1 if the object store failed (run it again once it is back) or
pictures were left for a later run (a running job still reads their original).
"""

from __future__ import annotations

from uuid import UUID

from django.core.management.base import BaseCommand, CommandError

from gallery import relabel
from gallery.models import Image

PROGRESS_EVERY = 500


class Command(BaseCommand):
    help = "Write the TC260 label into stored pictures that lack it (pictures stored before labelling)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only list the pictures that would be relabelled")
        parser.add_argument("--limit", type=int, default=None, help="relabel at most this many pictures")
        parser.add_argument("--after", type=UUID, default=None, help="start after this picture id (ids are in order)")

    def handle(self, *args, dry_run: bool, limit: int | None, after: UUID | None, **options) -> None:
        total = Image.objects.filter(id__gt=after).count() if after else Image.objects.count()
        verb = "would relabel" if dry_run else "relabelled"

        def progress(image: Image, outcome: relabel.Outcome, report: relabel.Report) -> None:
            if outcome.result == "relabelled":
                names = ", ".join(relabel.OBJECT_NAMES[name] for name in outcome.fields)
                self.stdout.write(f"{verb} {image.id}: {names}")
            elif outcome.result in ("busy", "changed"):
                why = "a running job reads its original" if outcome.result == "busy" else "it changed meanwhile"
                self.stdout.write(f"left for a later run {image.id}: {why}")
            for key in outcome.missing:
                self.stdout.write(f"missing object {key} of {image.id}")
            for key in outcome.unreadable:
                self.stdout.write(f"could not label {key} of {image.id}")
            if report.scanned % PROGRESS_EVERY == 0:
                self.stdout.write(f"… {report.scanned} of {total} pictures checked")

        report = relabel.relabel_all(dry_run=dry_run, limit=limit, after=after, progress=progress)
        self.stdout.write(
            f"{report.scanned} of {total} pictures checked: "
            f"{report.relabelled} {'to relabel' if dry_run else 'relabelled'} ({report.objects} objects), "
            f"{report.labelled} already labelled, {report.left} left for a later run, "
            f"{len(report.missing)} objects missing, {len(report.unreadable)} could not be labelled"
            + (" (dry run: nothing was written)" if dry_run else "")
        )
        if report.stopped:
            skip = f" (add --after {report.last_id} to skip the pictures checked already)" if report.last_id else ""
            raise CommandError(
                f"stopped: {report.stopped}. Nothing was lost: run aigc_relabel again once the store is back{skip}."
            )
        if report.left:
            raise CommandError(
                f"{report.left} pictures were left for a later run (a running job reads their original, or they "
                "changed meanwhile): run it again once those jobs have ended."
            )
