"""Wait until /healthz/ready reports every component up; with --banner, print how to log in.

Readiness answers staff or HEALTH_TOKEN only, so this needs HEALTH_TOKEN (`make run` sets one).
"""

from __future__ import annotations

import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Wait until the site's health check passes (used by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=120.0)
        parser.add_argument("--banner", action="store_true", help="print the URL and the demo login when ready")

    def handle(self, *args, timeout: float, banner: bool, **options):
        if not settings.HEALTH_TOKEN:
            raise CommandError("HEALTH_TOKEN must be set: /healthz/ready answers staff or that token only")
        headers = {"Authorization": f"Bearer {settings.HEALTH_TOKEN}"}
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"{settings.SITE_URL}/healthz/ready", headers=headers, timeout=10)
                if response.status_code == 200:
                    break
                failing = [name for name, check in response.json()["checks"].items() if not check["ok"]]
                last = f"waiting for: {', '.join(failing)}"
            except (requests.RequestException, ValueError, KeyError) as exc:
                last = type(exc).__name__
            time.sleep(1)
        else:
            raise CommandError(f"the site did not become healthy in {timeout:.0f} s ({last})")
        if banner:
            line = "=" * 64
            self.stdout.write(
                f"\n{line}\n  画廊 AIGC is running: {settings.SITE_URL}/\n"
                f"  Log in as the demo staff user: {settings.DEMO_STAFF_USERNAME} / {settings.DEMO_STAFF_PASSWORD}\n"
                f"  Admin: {settings.SITE_URL}/admin/   Health: {settings.SITE_URL}/healthz/ready\n"
                f"  Press Ctrl-C to stop everything.\n{line}\n"
            )
