"""The credit ledger: debits with the job, constraints that make mistakes impossible, staff
moves with reasons and audit entries, and the user's credit history page."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from gallery import credits, jobs
from gallery.models import AuditEntry, CreditAccount, CreditTransaction, Job
from tests.factories import make_job

pytestmark = pytest.mark.django_db

PARAMS = {"text": "Roses", "w": 512, "h": 512}


# --- the ledger ---


def test_it_debits_a_job_once_when_creating_it(alice, settings):
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "txt2img": 3}
    job = make_job(alice)
    debit = CreditTransaction.objects.get(job=job)
    assert (debit.kind, debit.amount, debit.balance_after, debit.is_automatic) == ("debit", -3, 47, True)
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 47


def test_it_refuses_a_job_it_cannot_pay_for_and_creates_nothing(make_user):
    poor = make_user("poor", credits_amount=1)
    with pytest.raises(credits.InsufficientCredits) as info:
        make_job(poor)
    assert "costs 2 credits and you have 1" in str(info.value)
    assert not Job.objects.filter(owner=poor).exists()
    assert list(CreditTransaction.objects.filter(user=poor).values_list("kind", flat=True)) == ["grant"]
    assert credits.balance_of(poor) == 1


def test_the_database_refuses_a_negative_balance(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.filter(user=alice).update(balance=-1)


def test_the_database_refuses_a_second_debit_for_a_job(alice):
    job = make_job(alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditTransaction.objects.create(
            user=alice, kind="debit", reason_code="job_charge", amount=-2, balance_after=46, job=job
        )


def test_the_database_refuses_a_second_refund_for_a_job(alice):
    job = make_job(alice)
    credits.refund_job(job=job, code=credits.Reason.JOB_FAILED, reason="test")
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditTransaction.objects.create(
            user=alice, kind="refund", reason_code="job_failed", amount=2, balance_after=52, job=job
        )


CODE_OF_KIND = {"debit": "job_charge", "refund": "job_failed", "grant": "system_grant"}


@pytest.mark.parametrize(
    ("kind", "amount", "with_job"),
    [("debit", 2, True), ("refund", -2, True), ("grant", -5, False), ("debit", -2, False)],
)
def test_the_database_refuses_an_amount_whose_sign_does_not_match_its_kind(alice, kind, amount, with_job):
    job = make_job(alice, prompt="other") if with_job else None
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditTransaction.objects.create(
            user=alice, kind=kind, reason_code=CODE_OF_KIND[kind], amount=amount, balance_after=10, job=job
        )


@pytest.mark.parametrize(
    ("kind", "code", "amount"),
    [("refund", "signup", 2), ("grant", "job_charge", 2), ("debit", "staff_refund", -2), ("grant", "", 2)],
)
def test_the_database_refuses_a_reason_code_that_does_not_fit_the_kind(alice, kind, code, amount):
    """Fails before reason codes existed (the column did not)."""
    job = make_job(alice, prompt="coded")
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditTransaction.objects.create(
            user=alice, kind=kind, reason_code=code, amount=amount, balance_after=60, job=job
        )


def test_a_refund_gives_back_exactly_what_was_debited(alice, settings):
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "txt2img": 5}
    job = make_job(alice)
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "txt2img": 1}  # the price changed since
    result = credits.refund_job(job=job, code=credits.Reason.JOB_FAILED)
    assert result.created and result.transaction.amount == 5
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 50


def test_the_daily_top_up_happens_once_a_day(make_user, settings):
    settings.CREDITS_DAILY_TOPUP = 10
    user = make_user("daily", credits_amount=3)
    first = credits.top_up_daily(user=user)
    assert (first.amount, first.reason_code) == (7, "daily_topup")
    assert credits.top_up_daily(user=user) is None
    assert credits.balance_of(user) == 10


# --- staff moves ---


def test_a_staff_adjustment_records_actor_reason_and_an_audit_entry(alice, staff):
    row = credits.adjust_by_staff(user=alice, amount=-20, reason="duplicate sign-up", actor=staff)
    assert (row.kind, row.amount, row.balance_after, row.actor, row.is_automatic) == (
        "adjustment",
        -20,
        30,
        staff,
        False,
    )
    entry = AuditEntry.objects.get(action="credits.adjusted")
    assert entry.actor == staff
    assert entry.data == {"user": alice.pk, "amount": -20, "balance_after": 30, "reason": "duplicate sign-up"}


def test_a_staff_adjustment_needs_a_reason(alice, staff):
    with pytest.raises(credits.CreditError, match="reason"):
        credits.adjust_by_staff(user=alice, amount=5, reason="  ", actor=staff)
    assert not CreditTransaction.objects.filter(kind="adjustment").exists()


def test_a_staff_adjustment_cannot_make_a_balance_negative(alice, staff):
    with pytest.raises(credits.CreditError, match="negative"):
        credits.adjust_by_staff(user=alice, amount=-51, reason="oops", actor=staff)
    assert credits.balance_of(alice) == 50
    assert not AuditEntry.objects.exists()


def test_a_staff_grant_is_audited_and_an_automatic_one_is_not(alice, staff):
    credits.grant(user=alice, amount=10, reason="apology for the outage", actor=staff)
    credits.grant(user=alice, amount=1, reason="signup")
    assert list(AuditEntry.objects.values_list("action", "actor")) == [("credits.granted", staff.pk)]
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 61


# --- the credit history page ---


def test_the_history_needs_a_login(client):
    response = client.get(reverse("credit_history"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_history_shows_each_refund_with_its_reason_and_a_link_to_the_job(alice_client, alice, staff):
    failed = make_job(alice, prompt="a lighthouse at dusk")
    jobs.fail(job_id=failed.id, reason="the provider ran out of memory")
    kept = make_job(alice, prompt="a fox in the snow")
    credits.refund_by_staff(job=kept, reason="blurry result, sorry", actor=staff)
    response = alice_client.get(reverse("credit_history"))
    html = response.content.decode()
    assert response.status_code == 200
    rows = html.count('data-testid="credit-row"')
    assert rows == 5  # grant, two debits, two refunds
    assert "the provider ran out of memory" in html
    assert "blurry result, sorry" in html
    assert reverse("job_detail", args=[failed.id]) in html
    assert reverse("job_detail", args=[kept.id]) in html
    assert "a lighthouse at dusk" in html
    assert 'data-testid="credits-balance">50<' in html


def test_the_history_shows_only_the_users_own_rows(alice_client, alice, bob):
    make_job(bob, prompt="bob's secret castle")
    html = alice_client.get(reverse("credit_history")).content.decode()
    assert "bob&#x27;s secret castle" not in html and "bob's secret castle" not in html
    assert html.count('data-testid="credit-row"') == 1


def test_the_history_filters_by_kind(alice_client, alice):
    job = make_job(alice)
    jobs.fail(job_id=job.id, reason="boom")
    html = alice_client.get(reverse("credit_history") + "?kind=refund").content.decode()
    assert html.count('data-testid="credit-row"') == 1
    assert 'data-kind="refund"' in html


def test_the_header_shows_the_balance(alice_client, alice):
    make_job(alice)
    html = alice_client.get(reverse("credit_history")).content.decode()
    header = html.split('data-testid="credit-balance"', 1)[1].split("</a>", 1)[0]
    assert "48" in header
