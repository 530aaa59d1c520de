"""Render the curated inspiration prompts through the provider, once.

Each curated entry without a picture gets an ordinary txt2img job of the system account
"inspiration" (credits granted as needed); the worker cluster submits it like any other job.
A later run (or the same run with --wait) links each finished job's image to its entry.
Running it again is harmless: entries with a picture or a job in flight are left alone, and
failed jobs are tried again.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from gallery import inspiration


class Command(BaseCommand):
    help = "Render the curated inspiration prompts that have no picture yet (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="keep linking finished pictures (and asking for missing ones) for up to this long",
        )
        parser.add_argument("--user", default=inspiration.SYSTEM_USERNAME, help="the system account to render as")
        parser.add_argument("--poll", type=float, default=2.0, help="seconds between rounds while waiting")

    def handle(self, *args, wait: float, user: str, poll: float, **options):
        try:
            account = inspiration.system_user(username=user)
        except inspiration.SystemUserTaken as exc:
            raise CommandError(str(exc)) from exc
        deadline = time.monotonic() + max(0.0, wait)
        linked = created = 0
        while True:
            report = inspiration.render_curated(user=account)
            linked += report.linked
            created += report.created
            if report.is_complete or time.monotonic() >= deadline:
                break
            time.sleep(max(0.1, poll))
        self.stdout.write(
            f"inspiration: {report.done}/{report.total} curated entries have a picture "
            f"({linked} linked, {created} jobs created this run)"
        )
        if not report.is_complete:
            missing = report.total - report.done
            self.stdout.write(
                f"{missing} still rendering or waiting for the job limit; "
                "run this command again once the worker has finished them"
            )
