"""Run the embedded S3 server (SeaweedFS) in the foreground for `make run`.

Creates the bucket once the server answers a real put/get, then waits; Ctrl-C (or honcho's
SIGTERM) stops it. Production uses a real S3 service instead and never runs this.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from devstack import objectstore


class Command(BaseCommand):
    help = "Run the embedded S3-compatible object store (SeaweedFS) and create the bucket."

    def handle(self, *args, **options):
        port = urlsplit(settings.S3_ENDPOINT_URL).port or 8333
        ports = objectstore.Ports(s3=port)
        data_dir = Path(settings.VAR_DIR) / "weed"
        log_path = data_dir / "weed.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            process = objectstore.start(data_dir, ports, settings.S3_ACCESS_KEY, settings.S3_SECRET_KEY, log_file=log)

            def stop(signum, frame):
                objectstore.stop(process)
                sys.exit(0)

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            client = objectstore.client(settings.S3_ENDPOINT_URL, settings.S3_ACCESS_KEY, settings.S3_SECRET_KEY)
            objectstore.wait_until_ready(client, settings.S3_BUCKET, process=process, timeout=90)
            self.stdout.write(
                f"object store ready at {settings.S3_ENDPOINT_URL}, bucket {settings.S3_BUCKET} (log: {log_path})"
            )
            self.stdout.flush()
            process.wait()
            if process.returncode:
                raise SystemExit(f"weed exited with status {process.returncode}; see {log_path}")
