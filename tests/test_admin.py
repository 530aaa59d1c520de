"""The staff tools in the Django admin: who may reach them, read-only money, and the actions
(refund with reason, retry, grant/adjust credits, moderation queue), each audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from gallery import credits, jobs, moderation
from gallery.models import AuditEntry, CreditAccount, CreditTransaction, Image, Job, JobStatus, Report, SensitiveWord
from tests.factories import image_row, make_job, saving_job
from tests.helpers import callback_body

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:gallery_job_changelist"


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _failed(owner, prompt: str = "Roses") -> Job:
    job = make_job(owner, prompt, task_id=f"t-{prompt}")
    body = callback_body("failure-while-running")
    jobs.record_callback(job_id=job.id, body=body, success=False, safe=None)
    return jobs.fail(job_id=job.id, reason="txt2img.sd -> start -> run_algorithm : RuntimeError: out of memory")


def _action(client, url: str, action: str, objects, **extra):
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects], **extra}
    return client.post(url, data, follow=bool(extra.get("apply")))


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- who may reach it ---

STAFF_URLS = [
    reverse("admin:index"),
    reverse(CHANGELIST),
    reverse("admin:gallery_credittransaction_changelist"),
    reverse("admin:gallery_creditaccount_changelist"),
    reverse("admin:gallery_sensitiveword_changelist"),
    reverse("admin:gallery_sensitiveword_import"),
    reverse("admin:gallery_sensitiveword_export"),
    reverse("admin:gallery_sensitivecategory_changelist"),
    reverse("admin:gallery_report_changelist"),
    reverse("admin:gallery_auditentry_changelist"),
    reverse("admin:gallery_image_changelist"),
    reverse("usage_report"),
    reverse("usage_report") + "?export=usage",
    reverse("usage_report") + "?export=refunds",
]


@pytest.mark.parametrize("url", STAFF_URLS)
def test_anonymous_visitors_are_sent_to_the_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("url", STAFF_URLS)
def test_a_user_who_is_not_staff_cannot_reach_it(alice_client, url):
    response = alice_client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert b"text/csv" not in response.headers.get("Content-Type", "").encode()


def test_staff_without_permissions_see_no_jobs_or_ledger(client, make_user):
    helper = get_user_model().objects.create_user("helper", password="x", is_staff=True)
    client.force_login(helper)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:gallery_credittransaction_changelist")).status_code == 403


def test_a_user_who_is_not_staff_cannot_run_an_action(alice_client, alice):
    job = _failed(alice)
    response = alice_client.post(
        reverse(CHANGELIST),
        {"action": "refund_with_reason", "_selected_action": [job.pk], "apply": "yes", "reason": "free money"},
    )
    assert response.status_code == 302
    assert CreditTransaction.objects.filter(job=job, kind="refund", is_automatic=False).count() == 0


# --- jobs ---


def test_staff_can_filter_and_search_jobs(staff_client, alice, bob):
    failed = _failed(alice, prompt="a lighthouse")
    other = make_job(bob, prompt="a fox", task_id="provider-task-xyz")
    url = reverse(CHANGELIST)

    def ids(query: str) -> set:
        response = staff_client.get(url + query)
        assert response.status_code == 200
        return {job.pk for job in response.context["cl"].result_list}

    assert ids("?status__exact=failed") == {failed.pk}
    assert ids("?kind__exact=txt2img") == {failed.pk, other.pk}
    assert ids(f"?owner__id__exact={bob.pk}") == {other.pk}
    assert ids("?q=lighthouse") == {failed.pk}
    assert ids("?q=provider-task-xyz") == {other.pk}
    assert ids("?q=bob") == {other.pk}
    assert ids(f"?q={failed.pk}") == {failed.pk}
    assert ids("?created_at__gte=2000-01-01+00%3A00%3A00%2B08%3A00") == {failed.pk, other.pk}
    assert ids("?created_at__gte=2999-01-01+00%3A00%3A00%2B08%3A00") == set()


def test_staff_see_how_many_pictures_wait_to_be_saved_and_can_list_them(staff_client, alice, bob):
    """Fails before the change: the job list had no such filter and no count, so a stuck
    object store showed only as jobs "Running" for ever."""
    saving = saving_job(alice, "a lighthouse")
    make_job(bob, prompt="a fox", task_id="provider-task-fox")
    url = reverse(CHANGELIST)
    response = staff_client.get(url + "?saving=yes")
    assert {job.pk for job in response.context["cl"].result_list} == {saving.pk}
    html = staff_client.get(url).content.decode()
    assert "saving (callback received, picture not stored yet)" in html
    assert 'data-testid="saving-backlog"' in html and "1 job waiting to be saved" in html


def test_the_count_is_not_shown_when_nothing_waits(staff_client, alice):
    make_job(alice, prompt="a fox", task_id="provider-task-fox")
    assert 'data-testid="saving-backlog"' not in staff_client.get(reverse(CHANGELIST)).content.decode()


def test_a_job_page_shows_the_raw_params_response_and_callbacks_read_only(staff_client, alice):
    job = _failed(alice, prompt="a lighthouse")
    response = staff_client.get(reverse("admin:gallery_job_change", args=[job.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<pre class="json">' in html
    assert "RuntimeError: out of memory" in html  # the recorded callback body
    assert "&quot;text&quot;: &quot;a lighthouse&quot;" in html  # raw params, pretty JSON
    assert "&quot;uid&quot;: &quot;t-a lighthouse&quot;" in html  # the provider's response
    assert 'name="_save"' not in html  # nothing to save: jobs change only through gallery.jobs


def test_jobs_cannot_be_added_or_deleted_in_the_admin(staff_client, alice):
    job = make_job(alice)
    assert staff_client.get(reverse("admin:gallery_job_add")).status_code == 403
    assert staff_client.get(reverse("admin:gallery_job_delete", args=[job.pk])).status_code == 403


def test_refund_with_reason_asks_for_the_reason_first(staff_client, alice):
    job = make_job(alice, task_id="t1")
    response = _action(staff_client, reverse(CHANGELIST), "refund_with_reason", [job])
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    response = _action(staff_client, reverse(CHANGELIST), "refund_with_reason", [job], apply="yes", reason="  ")
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert not CreditTransaction.objects.filter(job=job, kind="refund").exists()


def test_refund_with_reason_refunds_once_and_records_the_staff_member(staff_client, staff, alice):
    job = make_job(alice, task_id="t1")
    url = reverse(CHANGELIST)
    response = _action(staff_client, url, "refund_with_reason", [job], apply="yes", reason="the result was blank")
    assert "Refunded 1 job." in _messages(response)
    refund = CreditTransaction.objects.get(job=job, kind="refund")
    assert (refund.amount, refund.actor, refund.reason, refund.is_automatic) == (
        2,
        staff,
        "the result was blank",
        False,
    )
    entry = AuditEntry.objects.get(action="job.refunded_manually")
    assert (entry.actor, entry.job_id) == (staff, job.id)
    response = _action(staff_client, url, "refund_with_reason", [job], apply="yes", reason="again")
    assert "1 job was already refunded; nothing was written." in _messages(response)
    assert CreditTransaction.objects.filter(job=job, kind="refund").count() == 1
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 50


def test_refund_with_reason_leaves_an_automatically_refunded_job_alone(staff_client, alice):
    job = _failed(alice)
    response = _action(staff_client, reverse(CHANGELIST), "refund_with_reason", [job], apply="yes", reason="x")
    assert "1 job was already refunded; nothing was written." in _messages(response)
    assert not AuditEntry.objects.filter(action="job.refunded_manually").exists()


def test_retry_makes_one_new_job_charged_once(staff_client, staff, alice):
    job = _failed(alice, prompt="a lighthouse")
    url = reverse(CHANGELIST)
    confirm = _action(staff_client, url, "retry", [job])
    assert confirm.status_code == 200 and "charged its normal cost" in confirm.content.decode()
    response = _action(staff_client, url, "retry", [job], apply="yes")
    assert any("retried as" in message for message in _messages(response))
    new = Job.objects.exclude(id=job.id).get()
    assert (new.owner, new.kind, new.params, new.prompt, new.status) == (
        alice,
        job.kind,
        job.params,
        job.prompt,
        "queued",
    )
    assert list(CreditTransaction.objects.filter(job=new).values_list("kind", "amount")) == [("debit", -2)]
    assert AuditEntry.objects.get(action="job.retried").data["new_job"] == str(new.id)
    # The old job was refunded and the new one charged: alice has paid once for one attempt.
    assert credits.balance_of(alice) == 48
    response = _action(staff_client, url, "retry", [job], apply="yes")
    assert any("already retried" in message for message in _messages(response))
    assert Job.objects.count() == 2


def test_retry_refuses_a_job_that_did_not_fail(staff_client, alice):
    job = make_job(alice, task_id="t1")
    response = _action(staff_client, reverse(CHANGELIST), "retry", [job], apply="yes")
    assert any("Only a job that ended without a picture" in message for message in _messages(response))
    assert Job.objects.count() == 1


def test_retry_without_credits_creates_nothing(staff_client, staff, make_user):
    poor = make_user("poor", credits_amount=2)
    job = _failed(poor)
    credits.adjust_by_staff(user=poor, amount=-2, reason="test", actor=staff)
    response = _action(staff_client, reverse(CHANGELIST), "retry", [job], apply="yes")
    assert any("costs 2 credits and you have 0" in message for message in _messages(response))
    assert Job.objects.count() == 1
    assert not AuditEntry.objects.filter(action="job.retried").exists()


# --- the ledger and balances ---


def test_the_ledger_is_read_only(staff_client, alice):
    row = CreditTransaction.objects.get(user=alice)
    assert staff_client.get(reverse("admin:gallery_credittransaction_add")).status_code == 403
    assert staff_client.get(reverse("admin:gallery_credittransaction_delete", args=[row.pk])).status_code == 403
    page = staff_client.get(reverse("admin:gallery_credittransaction_change", args=[row.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    staff_client.post(reverse("admin:gallery_credittransaction_change", args=[row.pk]), {"amount": 1000})
    row.refresh_from_db()
    assert row.amount == 50


def test_the_ledger_filters_by_kind_and_automatic(staff_client, staff, alice):
    credits.grant(user=alice, amount=5, reason="sorry", actor=staff)
    url = reverse("admin:gallery_credittransaction_changelist")
    manual = staff_client.get(url + "?is_automatic__exact=0").context["cl"].result_list
    assert [row.reason for row in manual] == ["sorry"]
    grants = staff_client.get(url + "?kind__exact=grant&q=alice").context["cl"].result_list
    assert len(grants) == 2


def test_grant_or_adjust_needs_a_reason_and_records_the_actor(staff_client, staff, alice, bob):
    url = reverse("admin:gallery_creditaccount_changelist")
    accounts = list(CreditAccount.objects.filter(user__in=[alice, bob]))
    form = _action(staff_client, url, "adjust_credits", accounts)
    assert 'name="amount"' in form.content.decode() and 'name="reason"' in form.content.decode()
    refused = _action(staff_client, url, "adjust_credits", accounts, apply="yes", mode="grant", amount=10, reason="")
    assert refused.status_code == 200 and not CreditTransaction.objects.filter(actor=staff).exists()
    _action(staff_client, url, "adjust_credits", accounts, apply="yes", mode="grant", amount=10, reason="outage")
    assert credits.balance_of(alice) == credits.balance_of(bob) == 60
    rows = CreditTransaction.objects.filter(actor=staff)
    assert {(row.user, row.kind, row.amount, row.reason) for row in rows} == {
        (alice, "grant", 10, "outage"),
        (bob, "grant", 10, "outage"),
    }
    assert AuditEntry.objects.filter(action="credits.granted", actor=staff).count() == 2


def test_an_adjustment_that_would_go_negative_is_refused_with_a_message(staff_client, staff, alice):
    url = reverse("admin:gallery_creditaccount_changelist")
    account = CreditAccount.objects.get(user=alice)
    response = _action(
        staff_client, url, "adjust_credits", [account], apply="yes", mode="adjust", amount=-80, reason="clawback"
    )
    assert any("negative" in message for message in _messages(response))
    assert credits.balance_of(alice) == 50
    _action(staff_client, url, "adjust_credits", [account], apply="yes", mode="adjust", amount=-8, reason="clawback")
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 42


def test_a_grant_cannot_be_negative(staff_client, alice):
    url = reverse("admin:gallery_creditaccount_changelist")
    account = CreditAccount.objects.get(user=alice)
    response = _action(staff_client, url, "adjust_credits", [account], apply="yes", mode="grant", amount=-5, reason="x")
    assert response.status_code == 200 and "use an adjustment" in response.content.decode()
    assert credits.balance_of(alice) == 50


def test_credits_can_be_granted_from_the_user_list(staff_client, staff, make_user):
    newcomer = make_user("newcomer", credits_amount=0)  # no account row yet
    url = reverse("admin:auth_user_changelist")
    assert "newcomer" in staff_client.get(url).content.decode()
    _action(staff_client, url, "adjust_credits", [newcomer], apply="yes", mode="grant", amount=7, reason="welcome")
    assert credits.balance_of(newcomer) == 7


# --- moderation ---


def test_sensitive_words_are_edited_in_the_list_and_audited(staff_client, staff):
    word = SensitiveWord.objects.get(word="violence")
    url = reverse("admin:gallery_sensitiveword_changelist") + f"?q={word.word}"
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(word.pk),
        "form-0-category": "violence",
        "form-0-mode": "block",
        "_save": "Save",
    }  # is_active left unticked: deactivated
    response = staff_client.post(url, data)
    assert response.status_code == 302
    word.refresh_from_db()
    assert (word.mode, word.is_active) == ("block", False)
    entry = AuditEntry.objects.get(action="sensitive_word.changed")
    assert entry.actor == staff and entry.data == {
        "word": "violence",
        "category": "violence",
        "mode": "block",
        "is_active": False,
    }


def test_the_moderation_queue_lists_open_reports_first(staff_client, alice, bob, staff):
    old = moderation.report_image(image=image_row(bob, is_public=True), reporter=alice, reason="old")
    moderation.resolve_report(report=old, hide=False, staff=staff)
    fresh = moderation.report_image(image=image_row(bob, is_public=True), reporter=alice, reason="fresh")
    response = staff_client.get(reverse("admin:gallery_report_changelist"))
    assert [report.pk for report in response.context["cl"].result_list] == [fresh.pk, old.pk]


def test_the_hide_action_hides_the_image_and_closes_the_report(staff_client, staff, alice, bob):
    image = image_row(bob, is_public=True)
    report = moderation.report_image(image=image, reporter=alice, reason="violence")
    response = _action(staff_client, reverse("admin:gallery_report_changelist"), "hide_image", [report], apply="1")
    assert response.status_code == 200
    assert Image.objects.get(id=image.id).is_hidden
    report.refresh_from_db()
    assert (report.status, report.handled_by) == (Report.Status.HIDDEN, staff)


def test_the_dismiss_action_keeps_the_image(staff_client, staff, alice, bob):
    image = image_row(bob, is_public=True)
    report = moderation.report_image(image=image, reporter=alice, reason="meh")
    _action(staff_client, reverse("admin:gallery_report_changelist"), "dismiss", [report], apply="1")
    assert not Image.objects.get(id=image.id).is_hidden
    assert Report.objects.get().status == Report.Status.DISMISSED


def test_images_can_be_searched_filtered_and_hidden(staff_client, staff, bob):
    public = image_row(bob, is_public=True, prompt="sunset over the sea")
    image_row(bob, prompt="a private cat")
    url = reverse("admin:gallery_image_changelist")
    found = staff_client.get(url + "?q=sunset").context["cl"].result_list
    assert list(found) == [public]
    assert len(staff_client.get(url + "?is_public__exact=1").context["cl"].result_list) == 1
    _action(staff_client, url, "hide", [public], apply="1")
    assert Image.objects.get(id=public.id).is_hidden
    assert AuditEntry.objects.filter(action="image.hidden", actor=staff).count() == 1
    assert len(staff_client.get(url + "?is_hidden__exact=1").context["cl"].result_list) == 1


def test_the_audit_trail_is_read_only_and_lists_staff_actions(staff_client, staff, alice):
    job = make_job(alice, task_id="t1")
    credits.refund_by_staff(job=job, reason="manual", actor=staff)
    response = staff_client.get(reverse("admin:gallery_auditentry_changelist") + "?action=job.refunded_manually")
    assert [entry.actor for entry in response.context["cl"].result_list] == [staff]
    entry = AuditEntry.objects.get()
    assert staff_client.get(reverse("admin:gallery_auditentry_delete", args=[entry.pk])).status_code == 403
    assert JobStatus(Job.objects.get(id=job.id).status) == JobStatus.SUBMITTED  # a refund is not a status
