"""How long django-q2 keeps the record of a successful task.

django-q2 can cap the kept successes itself (`save_limit` > 0), but it enforces the cap after
every task by locking and loading every kept row in its one monitor process: with 1,000 kept,
163 ms a task on PostgreSQL (cProfile), which made the monitor the bottleneck of the ingests.
So the cluster keeps every success (`save_limit: 0`) and this daily task forgets the old ones
in one DELETE. Failed tasks are left alone: they are what an operator looks at.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Success


def forget_old_successes(*, now: datetime | None = None) -> int:
    """Delete the successful tasks that stopped more than Q_SUCCESS_KEEP_DAYS ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.Q_SUCCESS_KEEP_DAYS)
    deleted, _ = Success.objects.filter(stopped__lt=cutoff).delete()
    return deleted
