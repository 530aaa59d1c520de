"""Money under concurrency: many parallel submissions against a small balance never overdraw,
and every job has exactly one debit; racing endings refund a job exactly once.

Each thread has its own database connection (transaction=True tests commit for real), and
all threads start together at a barrier. On PostgreSQL the account row lock
(select_for_update) serialises them; SQLite serialises writers itself (transaction_mode
IMMEDIATE). CI runs the suite on both.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import OperationalError, connection, connections

from gallery import credits, jobs
from gallery.models import AuditEntry, CreditTransaction, Job

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12


@pytest.fixture(autouse=True)
def enqueued(monkeypatch, settings) -> list[tuple]:
    """The task queue's boundary: record what committed jobs enqueue instead of running it in
    the thread (sync mode would POST to a provider), so only the money is under test, and
    each test can check every created job was enqueued exactly once."""
    import django_q.tasks

    calls: list[tuple] = []
    lock = threading.Lock()

    def record(func, *args, **kwargs):
        with lock:
            calls.append((func, *args))

    monkeypatch.setattr(django_q.tasks, "async_task", record)
    settings.JOBS_MAX_IN_FLIGHT = settings.JOBS_MAX_PER_MINUTE = 1000
    return calls


def _race(work: Callable[[int], object], threads: int = THREADS) -> list[object]:
    """Run work(i) in parallel threads started together; returns results or exceptions."""
    barrier = threading.Barrier(threads)
    results: list[object] = [None] * threads

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for attempt in range(50):
                try:
                    results[index] = work(index)
                    return
                except OperationalError as exc:
                    # SQLite's shared in-memory test database reports a busy writer as
                    # "locked" at once instead of waiting; a real client would retry too.
                    if connection.vendor != "sqlite" or "locked" not in str(exc) or attempt == 49:
                        raise
                    threading.Event().wait(0.01 * (attempt + 1))
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = exc
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a thread hung"
    return results


def _outcomes(results: list[object]) -> Counter:
    return Counter(type(result).__name__ for result in results)


def test_parallel_submissions_never_overdraw_a_small_balance(make_user, settings, enqueued):
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "txt2img": 2}
    user = make_user("racer", credits_amount=7)

    results = _race(lambda i: jobs.create_job(owner=user, kind="txt2img", params={"text": f"p{i}"}, prompt=f"p{i}"))

    assert _outcomes(results) == Counter({"Job": 3, "InsufficientCredits": THREADS - 3}), results
    assert Job.objects.filter(owner=user).count() == 3
    debits = CreditTransaction.objects.filter(user=user, kind="debit")
    assert debits.count() == 3
    assert sorted(debits.values_list("job_id", flat=True)) == sorted(Job.objects.values_list("id", flat=True))
    assert sorted(debits.values_list("balance_after", flat=True)) == [1, 3, 5]
    assert credits.balance_of(user) == credits.ledger_total(user) == 1
    submitted = sorted(args[0] for func, *args in enqueued if func == "gallery.tasks.submit_job")
    assert submitted == sorted(str(job_id) for job_id in Job.objects.values_list("id", flat=True))


def test_parallel_submissions_respect_the_in_flight_limit(make_user, settings):
    settings.JOBS_MAX_IN_FLIGHT = 2
    user = make_user("limited", credits_amount=100)

    results = _race(lambda i: jobs.create_job(owner=user, kind="txt2img", params={"text": f"p{i}"}, prompt=f"p{i}"))

    assert _outcomes(results) == Counter({"Job": 2, "RateLimited": THREADS - 2}), results
    assert CreditTransaction.objects.filter(user=user, kind="debit").count() == 2
    assert credits.balance_of(user) == credits.ledger_total(user) == 96


def test_racing_endings_refund_a_job_exactly_once(make_user, staff):
    user = make_user("ender", credits_amount=10)
    job = jobs.create_job(owner=user, kind="txt2img", params={"text": "p"}, prompt="p")
    jobs.mark_submitted(job_id=job.id, task_id="t-race", response={})
    endings = [
        lambda: jobs.fail(job_id=job.id, reason="callback said failed"),
        lambda: jobs.time_out(job_id=job.id),
        lambda: jobs.mark_unsafe(job_id=job.id, reason="unsafe"),
        lambda: credits.refund_by_staff(job=Job.objects.get(id=job.id), reason="staff", actor=staff),
    ]

    results = _race(lambda i: endings[i % len(endings)]())

    assert not [result for result in results if isinstance(result, Exception)], results
    assert CreditTransaction.objects.filter(job=job, kind="refund").count() == 1
    assert AuditEntry.objects.filter(job=job, action__in=["job.refunded", "job.refunded_manually"]).count() == 1
    assert credits.balance_of(user) == credits.ledger_total(user) == 10


def test_parallel_debits_and_staff_clawbacks_never_go_negative(make_user, staff):
    user = make_user("mixed", credits_amount=10)

    def work(index: int):
        if index % 2:
            return credits.adjust_by_staff(user=user, amount=-3, reason="clawback", actor=staff)
        return jobs.create_job(owner=user, kind="txt2img", params={"text": f"p{index}"}, prompt=f"p{index}")

    results = _race(work)

    assert all(isinstance(result, Job | CreditTransaction | credits.CreditError) for result in results), results
    balance = credits.balance_of(user)
    assert balance >= 0
    assert balance == credits.ledger_total(user)
    assert not CreditTransaction.objects.filter(balance_after__lt=0).exists()
    assert Job.objects.filter(owner=user).count() == CreditTransaction.objects.filter(user=user, kind="debit").count()
