"""The job state machine, creation with its debit, and the at-most-once submission."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from gallery import credits, jobs, tasks
from gallery.models import CreditTransaction, Job, JobStatus
from tests.factories import make_job, saving_job, submitted_job
from tests.helpers import Recorder, json_reply

pytestmark = pytest.mark.django_db
S = JobStatus


ALL = [s.value for s in S]
ALLOWED = {
    ("queued", "submitted"),
    ("queued", "cancelled"),
    ("queued", "failed"),
    ("submitted", "succeeded"),
    ("submitted", "failed"),
    ("submitted", "unsafe"),
    ("submitted", "timed_out"),
    ("submitted", "cancelled"),
    ("timed_out", "succeeded"),
}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("to", ALL)
def test_the_transition_table_is_exactly_the_documented_one(current, to):
    assert jobs.can_transition(current, to) == ((current, to) in ALLOWED)


def test_an_illegal_transition_raises(alice):
    job = make_job(alice)
    with pytest.raises(jobs.IllegalTransition):
        jobs._move(job, S.SUCCEEDED)
    job.refresh_from_db()
    assert job.status == S.QUEUED


def test_creating_a_job_debits_its_cost_in_the_same_transaction(alice, settings):
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "txt2img": 3}
    job = make_job(alice)
    assert job.cost == 3
    debit = CreditTransaction.objects.get(job=job)
    assert debit.kind == "debit" and debit.amount == -3
    assert credits.balance_of(alice) == 47 == credits.ledger_total(alice)


def test_an_insufficient_balance_creates_no_job(make_user, settings):
    poor = make_user("poor", credits_amount=1)
    with pytest.raises(credits.InsufficientCredits) as caught:
        make_job(poor)
    assert "costs 2 credits and you have 1" in str(caught.value)
    assert not Job.objects.filter(owner=poor).exists()
    assert credits.balance_of(poor) == 1


def test_the_in_flight_limit_refuses_more_jobs(alice, settings):
    settings.JOBS_MAX_IN_FLIGHT = 2
    make_job(alice)
    make_job(alice)
    with pytest.raises(jobs.RateLimited):
        make_job(alice)
    assert Job.objects.filter(owner=alice).count() == 2
    assert credits.balance_of(alice) == 46


def test_the_per_minute_limit_refuses_more_jobs(alice, settings):
    settings.JOBS_MAX_PER_MINUTE = 3
    settings.JOBS_MAX_IN_FLIGHT = 100
    for _ in range(3):
        jobs.cancel(job=make_job(alice), by=alice)
    with pytest.raises(jobs.RateLimited, match="At most 3 jobs a minute"):
        make_job(alice)


def test_cancel_refunds_exactly_once(alice):
    job = make_job(alice)
    jobs.cancel(job=job, by=alice)
    job.refresh_from_db()
    assert job.status == S.CANCELLED
    with pytest.raises(jobs.JobNotCancellable):
        jobs.cancel(job=job, by=alice)
    assert CreditTransaction.objects.filter(job=job, kind="refund").count() == 1
    assert credits.balance_of(alice) == 50


def test_a_claimed_job_cannot_be_cancelled(alice):
    job = jobs.claim_for_submission(job_id=make_job(alice).id)
    with pytest.raises(jobs.JobNotCancellable):
        jobs.cancel(job=job, by=alice)


@pytest.fixture
def provider_server(settings):
    with Recorder() as recorder:
        settings.APISPACE_BASE_URL = recorder.url
        settings.PROVIDER_READ_TIMEOUT = 1
        recorder.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply(
            {"uid": "task-1", "success": True, "msg": "ok"}
        )
        yield recorder


def test_submit_posts_once_even_when_the_task_runs_twice(alice, provider_server):
    job = make_job(alice)
    assert tasks.submit_job(str(job.id)) == "submitted"
    assert tasks.submit_job(str(job.id)) == "not claimed"
    assert len(provider_server.requests) == 1
    job.refresh_from_db()
    assert job.status == S.SUBMITTED
    assert job.provider_task_id == "task-1"
    assert job.provider_response == {"uid": "task-1", "success": True, "msg": "ok"}
    body = json.loads(provider_server.requests[0]["body"])
    assert body["notify_url"].endswith(
        f"/callbacks/{job.id}/{__import__('gallery.tokens').tokens.callback_token(job.id)}/"
    )


def test_a_permanent_refusal_fails_the_job_with_the_reason_and_refunds(alice, provider_server, settings):
    provider_server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"msg": "w must be <= 768"}, status=400)
    job = make_job(alice)
    assert tasks.submit_job(str(job.id)) == "refused"
    job.refresh_from_db()
    assert job.status == S.FAILED
    assert "w must be <= 768" in job.error_reason
    assert credits.balance_of(alice) == 50


def test_a_retryable_error_releases_the_claim_and_plans_a_retry(alice, provider_server, settings):
    from django_q.models import Schedule

    provider_server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"msg": "busy"}, status=429)
    job = make_job(alice)
    assert tasks.submit_job(str(job.id)) == "retry 1"
    job.refresh_from_db()
    assert job.status == S.QUEUED and job.submit_claimed_at is None and job.submit_attempts == 1
    assert Schedule.objects.filter(func="gallery.tasks.submit_job", name__contains=str(job.id)).exists()
    provider_server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"uid": "later"})
    assert tasks.submit_job(str(job.id), 2) == "submitted"


def test_it_gives_up_after_the_configured_attempts(alice, provider_server, settings):
    settings.PROVIDER_SUBMIT_ATTEMPTS = 2
    provider_server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({}, status=429)
    job = make_job(alice)
    tasks.submit_job(str(job.id))
    assert tasks.submit_job(str(job.id), 2) == "gave up"
    job.refresh_from_db()
    assert job.status == S.FAILED
    assert "gave up after 2 tries" in job.error_reason
    assert credits.balance_of(alice) == 50


def test_a_read_timeout_is_not_resent_and_waits_for_the_callback(alice, provider_server, settings):
    import time

    def slow(handler, body):
        time.sleep(2)
        return 200, {}, b"{}"

    provider_server.routes[settings.APISPACE_PATHS["txt2img"]] = slow
    job = make_job(alice)
    assert tasks.submit_job(str(job.id)) == "unknown outcome"
    assert tasks.submit_job(str(job.id)) == "not claimed"
    job.refresh_from_db()
    assert job.status == S.SUBMITTED
    assert len(provider_server.requests) == 1


def test_the_sweep_times_out_silent_jobs_and_refunds_once(alice, provider_server, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.APISPACE_STATUS_PATH = ""
    job = make_job(alice)
    tasks.submit_job(str(job.id))
    Job.objects.filter(id=job.id).update(submitted_at=timezone.now() - timedelta(hours=1))
    assert tasks.sweep_stale_jobs()["timed_out"] == 1
    assert tasks.sweep_stale_jobs()["timed_out"] == 0
    job.refresh_from_db()
    assert job.status == S.TIMED_OUT
    assert CreditTransaction.objects.filter(job=job, kind="refund").count() == 1
    assert credits.balance_of(alice) == 50


def test_the_sweep_refunds_a_submission_interrupted_mid_post(alice, provider_server):
    from datetime import timedelta

    from django.utils import timezone

    job = make_job(alice)
    jobs.claim_for_submission(job_id=job.id)  # the worker died right after claiming
    Job.objects.filter(id=job.id).update(submit_claimed_at=timezone.now() - timedelta(minutes=10))
    assert tasks.sweep_stale_jobs()["interrupted"] == 1
    job.refresh_from_db()
    assert job.status == S.FAILED
    assert credits.balance_of(alice) == 50
    assert provider_server.requests == []


def test_a_claim_landing_after_the_callers_read_still_stops_the_cancel(alice):
    """Fails before the fix: cancel checked submit_claimed_at on the caller's (unlocked) copy,
    so a job claimed in between was cancelled and refunded while its paid POST went out."""
    from gallery.models import AuditEntry

    read_before_the_claim = make_job(alice)
    jobs.claim_for_submission(job_id=read_before_the_claim.id)
    with pytest.raises(jobs.JobNotCancellable):
        jobs.cancel(job=read_before_the_claim, by=alice)
    read_before_the_claim.refresh_from_db()
    assert read_before_the_claim.status == "queued"
    assert credits.balance_of(alice) == 48
    assert not AuditEntry.objects.filter(job=read_before_the_claim).exists()


def test_the_audit_names_the_user_who_cancelled(alice):
    """Fails before the fix: cancel(by=) was ignored and the audit entry had no actor."""
    from gallery.models import AuditEntry

    job = jobs.cancel(job=make_job(alice), by=alice)
    assert AuditEntry.objects.get(job=job, action="job.refunded").actor == alice


def test_a_gateway_error_is_not_resent_and_waits_for_the_callback(alice, provider_server, settings):
    """Fails before the fix: a 502 released the claim and the job was POSTed again."""
    provider_server.routes[settings.APISPACE_PATHS["txt2img"]] = json_reply({"msg": "bad gateway"}, status=502)
    job = make_job(alice)
    assert tasks.submit_job(str(job.id)) == "unknown outcome"
    assert tasks.submit_job(str(job.id)) == "not claimed"
    job.refresh_from_db()
    assert job.status == S.SUBMITTED
    assert credits.balance_of(alice) == 48


# --- "saving": the picture has arrived and is being stored ---


def test_a_job_whose_picture_is_being_saved_is_saving_not_a_new_status(alice):
    """Fails before the change: there was no way to tell a job being saved from one running."""
    running = submitted_job(alice, "a fox")
    saving = saving_job(alice, "a lighthouse")
    assert (running.is_saving, running.display_status) == (False, "submitted")
    assert (saving.is_saving, saving.display_status, saving.status) == (True, "saving", S.SUBMITTED)
    assert list(Job.objects.saving()) == [saving]
    assert str(saving.display_status_label) == "Saving your picture…"
    assert str(running.display_status_label) == "Running"


def test_the_job_page_and_its_poll_say_saving_your_picture(alice_client, alice):
    """Fails before the change: the pill said "Running" while the picture was being stored."""
    job = saving_job(alice)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        page = alice_client.get(reverse("job_detail", args=[job.id]), **headers).content.decode()
        assert 'class="status-pill status-saving"' in page
        assert "Saving your picture…" in page and ">Running<" not in page
        assert 'data-status="submitted"' in page  # what machines read stays the stored status
        assert 'hx-trigger="every' in page  # and it keeps polling until the picture is there


def test_the_job_list_says_saving_your_picture(alice_client, alice):
    saving_job(alice, "a lighthouse")
    submitted_job(alice, "a fox")
    page = alice_client.get(reverse("job_list")).content.decode()
    assert page.count("Saving your picture…") == 1
    assert page.count(">Running<") == 1


def test_saving_is_translated(alice_client, alice):
    job = saving_job(alice)
    page = alice_client.get(reverse("job_detail", args=[job.id]), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "正在保存图片…" in page


def test_the_job_lists_prompt_header_folds_away_with_its_column(alice_client, alice):
    """Fails before: on a phone the prompt cells were hidden but not their header, so "Prompt"
    stood above the status pills."""
    make_job(alice, "a tower of books")
    html = alice_client.get(reverse("job_list")).content.decode()
    header = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert '<th class="prompt-cell">Prompt</th>' in header
    assert header.count("<th") == html.split('data-testid="job-row"', 1)[1].split("</tr>", 1)[0].count("<td")
