"""Run the stale-job sweep now (it also runs every minute on the worker cluster's schedule)."""

import json

from django.core.management.base import BaseCommand

from gallery.tasks import sweep_stale_jobs


class Command(BaseCommand):
    help = "Time out jobs with no callback in time and re-send lost submissions, now."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(sweep_stale_jobs()))
