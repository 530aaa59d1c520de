"""The fair queue's rule (gallery/fairqueue.py), without the stack: at most FAIR_SHARE_PER_USER
jobs of one user are with the provider at once, the rest wait queued and unclaimed, the next
one is sent when one ends, and the waiting is shown honestly."""

from __future__ import annotations

import itertools
import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from gallery import fairqueue, jobs, tasks
from gallery.models import Job, JobStatus
from tests.factories import make_job
from tests.helpers import Recorder

_numbers = itertools.count()

pytestmark = pytest.mark.django_db
S = JobStatus


def _accept(handler, body):
    """The provider's answer: a task id of its own for each job (they are unique)."""
    uid = f"task-{next(_numbers)}"
    return 200, {"Content-Type": "application/json"}, json.dumps({"uid": uid, "success": True}).encode()


@pytest.fixture
def provider_server(settings):
    settings.FAIR_SHARE_PER_USER = 2
    with Recorder() as recorder:
        settings.APISPACE_BASE_URL = recorder.url
        settings.PROVIDER_READ_TIMEOUT = 1
        recorder.routes[settings.APISPACE_PATHS["txt2img"]] = _accept
        yield recorder


@pytest.fixture(autouse=True)
def _no_cached_medians():
    cache.clear()


def _statuses(made):
    return [Job.objects.get(id=job.id).status for job in made]


def test_one_user_gets_their_share_and_the_rest_wait_unclaimed(alice, bob, provider_server):
    """Fails before the fair queue: all four of alice's jobs went to the provider at once."""
    made = [make_job(alice, f"slow {n}") for n in range(4)]
    results = [tasks.submit_job(str(job.id)) for job in made]
    assert results == ["submitted", "submitted", "waiting for a place", "waiting for a place"]
    assert len(provider_server.requests) == 2
    assert _statuses(made) == [S.SUBMITTED, S.SUBMITTED, S.QUEUED, S.QUEUED]
    assert all(Job.objects.get(id=job.id).submit_claimed_at is None for job in made[2:])
    # Waiting is no attempt: nothing counts towards giving up on the provider.
    assert Job.objects.get(id=made[2].id).submit_attempts == 0
    # Another user has places of their own.
    assert tasks.submit_job(str(make_job(bob).id)) == "submitted"


def test_a_job_being_sent_takes_a_place_too(alice, provider_server):
    first, second, third = (make_job(alice) for _ in range(3))
    jobs.claim_for_submission(job_id=first.id)  # a worker is posting it right now
    jobs.claim_for_submission(job_id=second.id)
    with pytest.raises(jobs.WaitingForShare):
        jobs.claim_for_submission(job_id=third.id)
    assert fairqueue.holding(owner_id=alice.pk) == 2


def test_when_one_ends_the_owners_oldest_waiting_job_is_sent(
    alice, provider_server, django_capture_on_commit_callbacks
):
    made = [make_job(alice, f"slow {n}") for n in range(4)]
    for job in made:
        tasks.submit_job(str(job.id))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.fail(job_id=made[0].id, reason="the service failed")
    # Q_SYNC: the dispatched submission ran at once.
    assert _statuses(made) == [S.FAILED, S.SUBMITTED, S.SUBMITTED, S.QUEUED]
    assert len(provider_server.requests) == 3
    # A second dispatch finds no free place and sends nothing.
    assert fairqueue.dispatch_next(alice.pk) == 0
    with django_capture_on_commit_callbacks(execute=True):
        jobs.cancel(job=Job.objects.get(id=made[3].id), by=alice)  # a waiting job may be cancelled
    assert len(provider_server.requests) == 3


def test_the_sweep_sends_a_waiting_job_whose_dispatch_was_lost(alice, provider_server):
    from datetime import timedelta

    from django.utils import timezone

    made = [make_job(alice) for _ in range(3)]
    for job in made:
        tasks.submit_job(str(job.id))
    Job.objects.filter(id=made[0].id).update(status=S.SUCCEEDED)  # ended without its dispatch
    Job.objects.filter(id=made[2].id).update(created_at=timezone.now() - timedelta(minutes=5))
    assert tasks.sweep_stale_jobs()["resubmitted"] == 1
    assert Job.objects.get(id=made[2].id).status == S.SUBMITTED


def test_no_limit_when_the_share_is_zero(alice, provider_server, settings):
    settings.FAIR_SHARE_PER_USER = 0
    made = [make_job(alice) for _ in range(4)]
    assert [tasks.submit_job(str(job.id)) for job in made] == ["submitted"] * 4
    assert fairqueue.dispatch_next(alice.pk) == 0


def _page(client, job, language="en") -> str:
    return client.get(reverse("job_detail", args=[job.id]), HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_a_job_waiting_for_its_owners_share_says_so_and_others_are_not_behind_it(client, alice, bob, provider_server):
    """Fails before: alice's waiting job said "Number 1 in our queue" and bob's "Number 3",
    though alice's jobs wait for her own and bob's goes next."""
    made = [make_job(alice, f"slow {n}") for n in range(4)]
    for job in made:
        tasks.submit_job(str(job.id))
    bobs = make_job(bob)
    client.force_login(alice)
    html = _page(client, made[2])
    assert "Waiting for one of your other jobs to finish: 2 jobs per person are made at a time" in html
    assert "in our queue" not in html
    assert "正在等待你的其他任务完成：每人同时制作 2 个任务" in _page(client, made[2], "zh-hans")
    studio = client.get(reverse("studio"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert studio.count('data-testid="fair-share-note"') == 2  # the studio's cards say it too
    client.force_login(bob)
    html = _page(client, bobs)
    assert "Number 1 in our queue." in html
    assert 'data-testid="fair-share-note"' not in html


def test_the_api_says_a_job_waits_for_its_owners_share(client, alice, provider_server):
    from tests.factories import api_token, bearer

    made = [make_job(alice) for _ in range(3)]
    for job in made:
        tasks.submit_job(str(job.id))
    token = api_token(alice)
    answer = client.get(f"/api/v1/jobs/{made[2].id}", **bearer(token)).json()
    assert answer["wait"]["waiting_for_share"] is True
    assert answer["wait"]["position"] is None
