"""The inbox: a notice per end of a job (none for the owner's own cancel), per staff refund,
grant and correction; the header's bell in both languages, the inbox page, reading, the JSON a
background tab polls, the e-mail choice on the profile page and the mail itself over real SMTP."""

from __future__ import annotations

import json
import re

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from gallery import credits, jobs, notices, tasks
from gallery.models import Notice, NoticeKind
from tests.factories import make_job, record_callback, submitted_job
from tests.test_abuse import smtp_server  # noqa: F401 - the real local SMTP server fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """Run what is scheduled for after the commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _bell(html: str) -> str:
    found = re.search(r'<a class="bell[^"]*"[^>]*data-testid="inbox-bell"[^>]*>.*?</a>', html, re.S)
    assert found, html[:2000]
    return found.group(0)


# --- domain ---


def test_each_end_of_a_job_gives_its_owner_one_notice(alice, commits, image_host):
    failed = submitted_job(alice, "a failing one")
    with commits():
        jobs.fail(job_id=failed.id, reason="engine exploded", failure="service_failed")
    with commits():
        jobs.fail(job_id=failed.id, reason="again")  # a duplicate report: no second notice
    assert notices.job_ended(failed.id) == Notice.objects.get(job=failed)  # run twice: the same one

    unsafe, late = submitted_job(alice, "unsafe"), submitted_job(alice, "late")
    with commits():
        jobs.mark_unsafe(job_id=unsafe.id, reason="nsfw")
        jobs.time_out(job_id=late.id)
    # The timed-out job's picture arrives after all: a second notice, for that end.
    record_callback(late, f"{image_host.url}/result.png")
    with commits():
        assert tasks.ingest_result(str(late.id)) == "succeeded"

    rows = {(n.job.prompt, n.status, n.kind) for n in Notice.objects.filter(recipient=alice)}
    assert rows == {
        ("a failing one", "failed", NoticeKind.JOB_REFUNDED),
        ("unsafe", "unsafe", NoticeKind.JOB_REFUNDED),
        ("late", "timed_out", NoticeKind.JOB_REFUNDED),
        ("late", "succeeded", NoticeKind.JOB_SUCCEEDED),
    }
    titles = sorted(notices.describe(n).title for n in Notice.objects.all())
    assert titles == [
        "The image service did not answer in time; 2 credits were refunded",
        "The picture was unsafe; 2 credits were refunded",
        "Your job failed; 2 credits were refunded",
        "Your picture is ready",
    ]
    failed_notice = Notice.objects.get(job=failed)
    assert notices.describe(failed_notice).detail.startswith("The image service failed")
    assert notices.describe(failed_notice).target == reverse("job_detail", args=[failed.id])


def test_a_cancel_the_owner_made_is_not_announced(alice, commits):
    job = make_job(alice)
    with commits():
        jobs.cancel(job=job, by=alice)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not Notice.objects.exists()


def test_a_rolled_back_end_is_not_announced(alice, commits):
    job = submitted_job(alice)
    with commits(), pytest.raises(RuntimeError), transaction.atomic():
        jobs.fail(job_id=job.id, reason="x")
        raise RuntimeError("the transaction goes")
    assert not Notice.objects.exists()


def test_staff_refunds_grants_and_corrections_are_announced_with_the_credits_page(alice, staff, commits):
    job = make_job(alice)
    with commits():
        credits.refund_by_staff(job=job, reason="sorry for the wait", actor=staff)
        credits.refund_by_staff(job=job, reason="clicked twice", actor=staff)  # nothing refunded: no notice
        credits.grant(user=alice, amount=5, reason="a gift", actor=staff)
        credits.adjust_by_staff(user=alice, amount=-3, reason="a correction", actor=staff)
        credits.grant(user=alice, amount=1, reason="the system's own")  # not staff: no notice
    shown = [notices.describe(n) for n in notices.inbox(user=alice)]
    assert [(s.notice.kind, s.title, s.detail) for s in shown] == [
        (NoticeKind.STAFF_ADJUSTMENT, "Staff took 3 credits from your balance", "a correction"),
        (NoticeKind.STAFF_GRANT, "Staff granted you 5 credits", "a gift"),
        (NoticeKind.STAFF_REFUND, "Staff refunded 2 credits to you", "sorry for the wait"),
    ]
    assert {s.target for s in shown} == {reverse("credit_history")}


def test_the_database_refuses_a_second_notice_for_the_same_end(alice):
    job = submitted_job(alice)
    Notice.objects.create(recipient=alice, kind=NoticeKind.JOB_REFUNDED, job=job, status="failed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(recipient=alice, kind=NoticeKind.JOB_REFUNDED, job=job, status="failed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(recipient=alice, kind=NoticeKind.STAFF_GRANT)  # no ledger row named


# --- pages ---


@pytest.mark.parametrize(
    ("language", "label", "title"),
    [("en", "Inbox, unread notices: 2", "Your job failed"), ("zh-hans", "收件箱，未读通知：2", "任务失败")],
)
def test_the_bell_shows_the_unread_count_in_both_languages(alice, commits, language, label, title):
    for prompt in ("one", "two"):
        job = submitted_job(alice, prompt)
        with commits():
            jobs.fail(job_id=job.id, reason="x")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(alice)
    bell = _bell(client.get("/").content.decode())
    assert f'aria-label="{label}"' in bell and f'href="{reverse("inbox")}"' in bell
    assert re.search(r"data-bell-count>2</span>", bell)
    inbox = client.get(reverse("inbox")).content.decode()
    assert inbox.count('data-testid="notice"') == 2 and title in inbox
    assert ("Mark all read" if language == "en" else "全部标为已读") in inbox


def test_a_user_with_nothing_unread_sees_a_bell_without_a_number(alice_client):
    bell = _bell(alice_client.get("/").content.decode())
    assert 'aria-label="Inbox, unread notices: 0"' in bell and "data-bell-count hidden" in bell


def test_the_header_costs_one_query(alice, commits, django_assert_num_queries):
    """What every page's header runs: the credit balance and the unread count with the newest
    unread id, one query however many notices there are (fails before: two, the balance apart)."""
    from django.test import RequestFactory

    from gallery.context_processors import site

    request = RequestFactory().get("/")
    request.user = alice
    with django_assert_num_queries(1):
        context = site(request)
    assert context["unread_notices"] == {"count": 0, "latest": 0}
    assert context["credit_balance"] == credits.balance_of(alice)
    credits.grant(user=alice, amount=7)
    for _ in range(2):
        job = submitted_job(alice)
        with commits():
            jobs.fail(job_id=job.id, reason="x")
    with django_assert_num_queries(1):
        context = site(request)
    newest = Notice.objects.filter(recipient=alice).order_by("-id").first()
    assert context["unread_notices"] == {"count": 2, "latest": newest.id}
    assert context["credit_balance"] == credits.balance_of(alice)


def test_the_inbox_is_newest_first_paginated_and_opening_marks_read(alice_client, alice, commits, settings):
    settings.JOBS_MAX_PER_MINUTE = settings.JOBS_MAX_IN_FLIGHT = 100
    credits.grant(user=alice, amount=100)
    made = []
    for index in range(32):
        job = submitted_job(alice, f"prompt {index}")
        with commits():
            jobs.fail(job_id=job.id, reason="x")
        made.append(job)
    page = alice_client.get(reverse("inbox")).content.decode()
    assert page.count('data-testid="notice"') == 30 and "prompt 31" in page and "prompt 1</span>" not in page
    assert page.index("prompt 31") < page.index("prompt 30")
    assert "prompt 0" in alice_client.get(reverse("inbox") + "?page=2").content.decode()

    newest = Notice.objects.get(job=made[-1])
    opened = alice_client.get(reverse("notice_open", args=[newest.pk]))
    assert opened.status_code == 302 and opened.url == reverse("job_detail", args=[made[-1].id])
    newest.refresh_from_db()
    assert newest.read_at is not None
    assert notices.unread(user=alice)["count"] == 31

    alice_client.post(reverse("inbox_read_all"))
    assert notices.unread(user=alice)["count"] == 0
    assert "Mark all read" not in alice_client.get(reverse("inbox")).content.decode()


def test_someone_elses_notice_is_not_found(alice, bob, commits):
    job = submitted_job(alice)
    with commits():
        jobs.fail(job_id=job.id, reason="x")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(bob)
    assert client.get(reverse("notice_open", args=[Notice.objects.get().pk])).status_code == 404
    assert Notice.objects.get().read_at is None


def test_the_polled_json_has_the_count_and_the_newest_unread(alice_client, alice, commits):
    assert alice_client.get(reverse("inbox_unread")).json() == {"unread": 0, "latest": []}
    job = submitted_job(alice, "roses")
    with commits():
        jobs.fail(job_id=job.id, reason="x")
    response = alice_client.get(reverse("inbox_unread"))
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = response.json()
    notice = Notice.objects.get()
    assert data["unread"] == 1
    assert data["latest"][0]["id"] == notice.pk
    assert data["latest"][0]["title"] == "Your job failed; 2 credits were refunded"
    assert data["latest"][0]["url"] == reverse("notice_open", args=[notice.pk])
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    zh.force_login(alice)
    assert zh.get(reverse("inbox_unread")).json()["latest"][0]["title"] == "任务失败；已退还 2 积分"
    assert Client().get(reverse("inbox_unread")).json() == {"unread": 0, "latest": []}  # logged out


@pytest.mark.parametrize("page", ["job_detail", "studio_group"])
def test_a_page_that_sees_its_job_end_reads_its_notice_and_updates_the_bell_in_place(
    alice_client, alice, bob, commits, page
):
    """Fails before: the notice of a job whose end the owner had just watched stayed unread, so
    the bell counted it and the inbox told it again."""
    earlier = submitted_job(alice)
    job = submitted_job(alice)
    with commits():
        jobs.fail(job_id=earlier.id, reason="x")  # ended while nobody looked: stays unread
    polling = alice_client.get(reverse(page, args=[job.id]), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="inbox-bell"' not in polling  # nothing to say while it runs
    with commits():
        jobs.fail(job_id=job.id, reason="x")
    staff = Client()
    staff.force_login(type(bob).objects.create_user("staffer", is_staff=True))
    staff.get(reverse("job_detail", args=[job.id]))  # staff looking read nothing of alice's
    assert Notice.objects.get(job=job).read_at is None
    bell = _bell(alice_client.get(reverse(page, args=[job.id]), HTTP_HX_REQUEST="true").content.decode())
    assert 'hx-swap-oob="true"' in bell and 'aria-label="Inbox, unread notices: 1"' in bell
    assert Notice.objects.get(job=job).read_at is not None
    assert Notice.objects.get(job=earlier).read_at is None


def test_the_page_loads_the_inbox_script_from_static(alice_client):
    html = alice_client.get(reverse("inbox")).content.decode()
    assert re.search(r'<script src="/static/js/inbox\.js[^"]*" defer></script>', html)
    assert "data-notify-permission hidden" in html  # shown by the script where the browser can notify
    assert "<script>" not in html


def test_staff_see_who_was_told_what_in_the_admin(alice, staff, commits):
    job = submitted_job(alice, "roses")
    with commits():
        jobs.fail(job_id=job.id, reason="x")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    listing = client.get(reverse("admin:gallery_notice_changelist")).content.decode()
    assert "alice" in listing and str(job.id)[:8] in listing
    notice = Notice.objects.get()
    assert client.get(reverse("admin:gallery_notice_change", args=[notice.pk])).status_code == 200
    assert client.get(reverse("admin:gallery_notice_add")).status_code == 403


# --- e-mail ---


def test_the_profile_choice_mails_a_job_end_over_smtp(alice, commits, smtp_server):  # noqa: F811
    alice.email = "alice@example.com"
    alice.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(alice)
    profile = client.get(reverse("profile")).content.decode()
    assert "任务结束时给我发邮件" in profile
    assert profile.index('data-testid="notice-settings"') < profile.index('id="api-tokens"')
    assert client.post(reverse("notice_settings"), {"email_job_ends": "on"}).status_code == 302
    checkbox = re.search(
        r'<input type="checkbox" name="email_job_ends"[^>]*>', client.get(reverse("profile")).content.decode()
    )
    assert checkbox and "checked" in checkbox.group(0)

    job = submitted_job(alice, "白色城堡")
    with commits():  # Q_SYNC: the mail task runs right after the commit, as a worker would
        jobs.fail(job_id=job.id, reason="engine exploded")
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "alice@example.com"
    assert "任务失败；已退还 2 积分" in message["Subject"]  # the language the choice was made in
    body = message.get_body(preferencelist=("plain",)).get_content()
    notice = Notice.objects.get()
    assert f"/inbox/{notice.pk}/" in body and "白色城堡" in body
    assert notice.emailed_at is not None
    assert tasks.mail_notice(notice.pk) == "not sent"  # run twice: mailed once
    assert len(smtp_server.messages) == 1


def test_no_mail_without_the_choice_or_an_address(alice, bob, commits, smtp_server):  # noqa: F811
    alice.email = "alice@example.com"
    alice.save()
    notices.set_email(user=bob, on=True, language="en")  # chose it, but has no address
    for owner in (alice, bob):
        job = submitted_job(owner)
        with commits():
            jobs.fail(job_id=job.id, reason="x")
    assert Notice.objects.count() == 2
    assert smtp_server.messages == []
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(bob)
    answer = client.post(reverse("notice_settings"), {"email_job_ends": "on"}, follow=True).content.decode()
    assert "Add an e-mail address above" in answer


def test_a_mail_server_that_is_down_leaves_the_notice_to_be_mailed_again(alice, commits, settings, smtp_server):  # noqa: F811
    alice.email = "alice@example.com"
    alice.save()
    notices.set_email(user=alice, on=True, language="en")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens there
    job = submitted_job(alice)
    with commits():
        jobs.fail(job_id=job.id, reason="x")
    notice = Notice.objects.get()
    assert notice.emailed_at is None and smtp_server.messages == []
    settings.EMAIL_PORT = port
    assert tasks.mail_notice(notice.pk) == "sent"
    assert json.dumps(smtp_server.messages[0]["Subject"]).count("Your job failed") == 1
