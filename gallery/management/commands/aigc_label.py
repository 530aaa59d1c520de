"""Print the GB 45438-2025 label (TC260:AIGC in the file's XMP) of any PNG, JPEG or WebP file.

    manage.py aigc_label FILE [FILE ...]

One line per file: its path, then the label as the standard's JSON object, or "no TC260 label".
Exits 1 when any file carries no label, so a script can check a directory of downloads.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gallery import labels


class Command(BaseCommand):
    help = "Print the TC260 (GB 45438-2025) AI-generated-content label of image files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, files: list[str], **options) -> None:
        missing = 0
        for name in files:
            try:
                data = Path(name).read_bytes()
            except OSError as error:
                raise CommandError(f"{name}: {error.strerror or error}") from error
            label = labels.read_label(data)
            if label is None:
                missing += 1
                self.stdout.write(f"{name}: no TC260 label")
            else:
                self.stdout.write(f"{name}: {json.dumps(label.as_json_object(), ensure_ascii=False)}")
        if missing:
            raise SystemExit(1)
