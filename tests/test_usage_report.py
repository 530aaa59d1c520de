"""The staff usage report against a known fixture: counts, credits, reconciliation, provider
time, grouping by day/user/kind in the site's time zone, the page, its chart and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse

from gallery import credits, jobs, reports
from gallery.models import CreditTransaction, Job
from tests.factories import image_row, make_job

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
D1, D2 = date(2025, 3, 10), date(2025, 3, 11)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=TZ)


def _submit(job: Job) -> Job:
    return jobs.mark_submitted(job_id=job.id, task_id=f"t-{job.id}", response={})


def _succeed(job: Job, duration: float | None) -> Job:
    _submit(job)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(id=job.id)
        jobs.succeed(job=locked, duration=duration)
    return locked


def _place(job: Job, created: datetime, refunded: datetime | None = None) -> None:
    """Move a job and its ledger rows to fixed times (created_at is auto_now_add)."""
    Job.objects.filter(id=job.id).update(created_at=created)
    CreditTransaction.objects.filter(job=job, kind="debit").update(created_at=created)
    if refunded is not None:
        CreditTransaction.objects.filter(job=job, kind="refund").update(created_at=refunded)


@pytest.fixture
def fixture(settings, make_user, staff):
    """Two days of activity (see the table in each test) plus noise outside the range."""
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.CREDIT_COSTS = {"txt2img": 2, "img2img": 2, "anime": 2, "upscale": 1}
    settings.JOBS_MAX_IN_FLIGHT = settings.JOBS_MAX_PER_MINUTE = 100
    alice, bob = make_user("alice", credits_amount=100), make_user("bob", credits_amount=100)

    a1 = _succeed(make_job(alice, "a1", kind="txt2img"), 2.0)
    _place(a1, at(D1, 10))
    a2 = _succeed(make_job(alice, "a2", kind="txt2img"), 4.0)
    _place(a2, at(D1, 11))
    a3 = _submit(make_job(alice, "a3", kind="txt2img"))
    jobs.fail(job_id=a3.id, reason="out of memory")
    _place(a3, at(D1, 12), at(D1, 12, 5))
    # Created just before midnight, refunded just after: its refund belongs to the next day.
    a4 = _submit(make_job(alice, "a4", kind="upscale"))
    jobs.time_out(job_id=a4.id)
    _place(a4, at(D1, 23, 50), at(D2, 0, 10))

    b1 = _submit(make_job(bob, "b1", kind="txt2img"))
    jobs.mark_unsafe(job_id=b1.id, reason="unsafe image content")
    _place(b1, at(D2, 9), at(D2, 9, 1))
    # Its time comes from the image (the job's own is missing).
    b2 = _succeed(make_job(bob, "b2", kind="anime"), None)
    image_row(bob, job=b2, kind="anime", provider_duration=10.0)
    _place(b2, at(D2, 10))
    b3 = make_job(bob, "b3", kind="txt2img")
    jobs.cancel(job=b3, by=bob)
    _place(b3, at(D2, 11), at(D2, 11))
    b4 = _submit(make_job(bob, "b4", kind="txt2img"))
    _place(b4, at(D2, 12))

    # A manual refund of a succeeded job, on the second day.
    credits.refund_by_staff(job=a1, reason="blurry", actor=staff)
    CreditTransaction.objects.filter(job=a1, kind="refund").update(created_at=at(D2, 13))

    # Noise: before the range, at the first instant after it, and money that is not usage.
    early = _submit(make_job(bob, "early", kind="txt2img"))
    jobs.fail(job_id=early.id, reason="x")
    _place(early, at(date(2025, 3, 9), 23, 59, 59), at(date(2025, 3, 9), 23, 59, 59))
    late = make_job(alice, "late", kind="txt2img")
    _place(late, at(date(2025, 3, 12), 0))
    adjustment = credits.adjust_by_staff(user=alice, amount=-3, reason="noise", actor=staff)
    CreditTransaction.objects.filter(id=adjustment.id).update(created_at=at(D1, 15))
    CreditTransaction.objects.filter(kind="grant").update(created_at=at(D1, 0))
    return {"alice": alice, "bob": bob, "staff": staff}


def _row(report, label):
    return next(row for row in report.rows if row.label == label)


def test_it_counts_by_day_in_the_sites_time_zone(fixture):
    report = reports.usage(start=D1, end=D2, group_by="day")
    assert [row.label for row in report.rows] == ["2025-03-10", "2025-03-11"]
    first, second = report.rows
    assert (first.submitted, first.succeeded, first.failed, first.timed_out) == (4, 2, 1, 1)
    assert (first.debited, first.refunded, first.net, first.refunds) == (7, 2, 5, 1)
    assert (second.submitted, second.succeeded, second.unsafe, second.cancelled, second.in_flight) == (4, 1, 1, 1, 1)
    assert (second.debited, second.refunded, second.net, second.refunds) == (8, 7, 1, 4)
    assert first.mean_seconds == pytest.approx(3.0) and first.p95_seconds == pytest.approx(3.9)
    assert second.mean_seconds == pytest.approx(10.0) and second.p95_seconds == pytest.approx(10.0)


def test_the_total_reconciles(fixture):
    report = reports.usage(start=D1, end=D2, group_by="day")
    total = report.total
    assert (
        total.submitted,
        total.succeeded,
        total.failed,
        total.unsafe,
        total.timed_out,
        total.cancelled,
        total.in_flight,
    ) == (8, 3, 1, 1, 1, 1, 1)
    assert (total.debited, total.refunded, total.net, total.refunds) == (15, 9, 6, 5)
    assert total.mean_seconds == pytest.approx(16 / 3) and total.p95_seconds == pytest.approx(9.4)
    assert report.reconciles


def test_it_groups_by_user_biggest_spender_first(fixture):
    report = reports.usage(start=D1, end=D2, group_by="user")
    assert [row.label for row in report.rows] == ["bob", "alice"]
    bob, alice = report.rows
    assert (bob.submitted, bob.debited, bob.refunded, bob.net) == (4, 8, 4, 4)
    assert (alice.submitted, alice.debited, alice.refunded, alice.net) == (4, 7, 5, 2)
    assert bob.net + alice.net == report.total.net == 6
    assert report.reconciles


def test_it_groups_by_kind(fixture):
    report = reports.usage(start=D1, end=D2, group_by="kind")
    keys = [row.key for row in report.rows]
    assert keys == ["txt2img", "anime", "upscale"]
    txt2img, anime, upscale = report.rows
    assert (txt2img.submitted, txt2img.debited, txt2img.refunded, txt2img.net) == (6, 12, 8, 4)
    assert (anime.submitted, anime.debited, anime.refunded, anime.net, anime.mean_seconds) == (1, 2, 0, 2, 10.0)
    assert (upscale.submitted, upscale.debited, upscale.refunded, upscale.net) == (1, 1, 1, 0)
    assert report.reconciles


def test_a_day_without_activity_is_shown_as_zero(fixture):
    report = reports.usage(start=date(2025, 3, 5), end=D1, group_by="day")
    assert len(report.rows) == 6
    assert report.rows[0].label == "2025-03-05" and report.rows[0].submitted == report.rows[0].debited == 0
    # The 9th has the noise job, failed and refunded that day.
    assert (_row(report, "2025-03-09").debited, _row(report, "2025-03-09").refunded) == (2, 2)


def test_the_refund_audit_lists_every_refund_in_the_range(fixture):
    refunds = list(reports.refund_audit(start=D1, end=D2))
    assert len(refunds) == 5
    assert sum(row.amount for row in refunds) == reports.usage(start=D1, end=D2).total.refunded
    manual = [row for row in refunds if not row.is_automatic]
    assert [(row.reason, row.actor) for row in manual] == [("blurry", fixture["staff"])]
    assert refunds[0].created_at == at(D2, 13)  # newest first


@pytest.mark.parametrize(
    ("values", "expected"), [([], None), ([5.0], 5.0), ([1, 2, 3, 4], 3.85), (list(range(1, 101)), 95.05)]
)
def test_percentile_interpolates_between_ranks(values, expected):
    result = reports.percentile(values, 95)
    assert result == (pytest.approx(expected) if expected is not None else None)


# --- the page ---


@pytest.fixture
def staff_client(client, fixture):
    client.force_login(fixture["staff"])
    return client


def _page(client, **params) -> str:
    response = client.get(reverse("usage_report"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_totals_chart_and_reconciliation(staff_client):
    html = _page(staff_client, start="2025-03-10", end="2025-03-11", group_by="user")
    assert 'data-testid="total-debited">15<' in html
    assert 'data-testid="total-refunded">9<' in html
    assert 'data-testid="total-net">6<' in html
    assert '<svg class="chart chart-bars"' in html and 'data-testid="credit-chart"' in html
    assert 'data-testid="job-chart"' in html
    reconciliation = html.split('data-testid="reconciliation"', 1)[1].split("</p>", 1)[0]
    assert "✓" in reconciliation and "15" in reconciliation and "9" in reconciliation and "6" in reconciliation
    assert html.count('data-testid="usage-row"') == 2
    assert "cdn" not in html.lower()  # no chart library from anywhere


def test_the_page_lists_refunds_with_mode_and_actor(staff_client, fixture):
    html = _page(staff_client, start="2025-03-10", end="2025-03-11")
    assert html.count('data-testid="refund-row"') == 5
    assert html.count('data-mode="manual"') == 1
    manual = html.split('data-mode="manual"', 1)[1].split("</tr>", 1)[0]
    assert "blurry" in manual and ">staff<" in manual and "alice" in manual


def test_the_day_chart_draws_one_column_per_day(staff_client):
    html = _page(staff_client, start="2025-03-01", end="2025-03-31", group_by="day")
    chart = html.split('data-testid="credit-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('<g class="bar">') == 31
    assert chart.count('class="s-refunded"') == 3  # three days had refunds (9th, 10th, 11th)


def test_a_bad_range_shows_an_error_and_the_default_report(staff_client):
    html = _page(staff_client, start="2025-03-11", end="2025-03-10", group_by="kind")
    assert 'class="errors"' in html
    start, end = reports.default_range()
    assert f'value="{start.isoformat()}"' not in html  # the form keeps what was typed...
    assert 'value="2025-03-11"' in html
    assert 'data-testid="usage-table"' in html  # ...and the page still shows the default report


def _csv(client, **params) -> list[list[str]]:
    response = client.get(reverse("usage_report"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_usage_csv_has_one_line_per_group_and_a_total(staff_client):
    rows = _csv(staff_client, start="2025-03-10", end="2025-03-11", group_by="user", export="usage")
    assert rows[0] == reports.USAGE_CSV_HEADER
    assert rows[1] == ["bob", "4", "1", "0", "1", "0", "1", "1", "8", "4", "4", "2", "10.000", "10.000"]
    assert rows[2] == ["alice", "4", "2", "1", "0", "1", "0", "0", "7", "5", "2", "3", "3.000", "3.900"]
    assert rows[3] == ["total", "8", "3", "1", "1", "1", "1", "1", "15", "9", "6", "5", "5.333", "9.400"]
    assert len(rows) == 4


def test_the_refunds_csv_lists_each_refund(staff_client, fixture):
    rows = _csv(staff_client, start="2025-03-10", end="2025-03-11", export="refunds")
    assert rows[0] == reports.REFUNDS_CSV_HEADER
    assert len(rows) == 6
    manual = [row for row in rows[1:] if row[7] == "manual"]
    assert len(manual) == 1
    assert manual[0][0] == "2025-03-11T13:00:00+08:00"
    assert manual[0][1:2] + manual[0][3:] == [
        "alice",
        "txt2img",
        "succeeded",
        "2",
        "blurry",
        "manual",
        "staff",
        "staff_refund",
    ]
    automatic = [row for row in rows[1:] if row[7] == "automatic"]
    assert {row[8] for row in automatic} == {""}
    assert {row[9] for row in automatic} <= {"job_failed", "job_unsafe", "job_timed_out", "job_cancelled"}


def test_the_csv_defuses_spreadsheet_formulas(staff_client, fixture):
    job = jobs.create_job(owner=fixture["alice"], kind="txt2img", params={"text": "x"}, prompt="x")
    credits.refund_by_staff(job=job, reason='=HYPERLINK("http://evil")', actor=fixture["staff"])
    today = datetime.now(TZ).date().isoformat()
    rows = _csv(staff_client, start=today, end=today, export="refunds")
    assert rows[1][6] == '\'=HYPERLINK("http://evil")'


def test_the_date_fields_carry_iso_dates_in_chinese_too(staff_client):
    """Fails before: in Chinese the fields carried 2026/11/03 (the localized format), which a
    browser's date input cannot read, so it showed them empty and refused to submit."""
    start, end = reports.default_range()
    html = staff_client.get(reverse("usage_report"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in html and 'type="date"' in html
    assert f'value="{start.isoformat()}"' in html and f'value="{end.isoformat()}"' in html
    assert start.strftime("%Y/%m/%d") not in html
