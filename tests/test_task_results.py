"""django-q2's record of finished tasks: kept without a per-task cost, old successes forgotten daily."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Schedule, Success
from django_q.monitor import save_task

from gallery import tasks

pytestmark = pytest.mark.django_db


def _finished_task(*, success: bool = True, stopped=None) -> dict:
    stopped = stopped or timezone.now()
    return {
        "id": uuid.uuid4().hex,
        "name": uuid.uuid4().hex,
        "func": "gallery.tasks.ingest_result",
        "args": ("job",),
        "kwargs": {},
        "started": stopped - timedelta(seconds=1),
        "stopped": stopped,
        "result": "succeeded" if success else "boom",
        "success": success,
        "group": None,
        "ack_id": None,
    }


def test_saving_a_finished_task_does_not_read_the_kept_ones():
    """With save_limit 1000 (before this change) django-q2's monitor locked and loaded every kept
    success after each task (SELECT ... FOR UPDATE over the whole table): this failed then."""
    broker = get_broker()
    for _ in range(30):
        save_task(_finished_task(), broker)
    with CaptureQueriesContext(connection) as captured:
        save_task(_finished_task(), broker)
    statements = [query["sql"].upper() for query in captured]
    assert not any("FOR UPDATE" in sql for sql in statements)
    assert len(statements) <= 3
    assert Success.objects.count() == 31


def test_old_successes_are_forgotten_and_failures_and_recent_ones_kept(settings):
    settings.Q_SUCCESS_KEEP_DAYS = 7
    broker = get_broker()
    now = timezone.now()
    save_task(_finished_task(stopped=now - timedelta(days=8)), broker)
    save_task(_finished_task(stopped=now - timedelta(days=6)), broker)
    save_task(_finished_task(success=False, stopped=now - timedelta(days=30)), broker)

    assert tasks.forget_successful_tasks() == 1
    assert Success.objects.count() == 1
    assert Failure.objects.count() == 1
    assert tasks.forget_successful_tasks() == 0


def test_the_daily_schedule_exists():
    schedule = Schedule.objects.get(name="forget-successful-tasks")
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "gallery.tasks.forget_successful_tasks",
        Schedule.DAILY,
        -1,
    )
