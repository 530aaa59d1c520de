"""Usage reports for staff: what people asked for, what came of it, what it cost, what was
refunded and why.

How things are counted (the report page's help text says the same; keep them in step):

- Jobs are counted on the local day they were created (submitted by their owner), with the
  status they have now. submitted = succeeded + failed + unsafe + timed out + cancelled +
  in flight (queued or running).
- Credits come straight from the ledger, on the local day each row was written: debits (at job
  creation) and refunds (automatic or manual, whenever they happened). A job created on Monday
  and refunded on Tuesday is in Tuesday's refunds, so a range shows exactly what the ledger
  moved in it, and the refund audit list for the same range adds up to the refunded column.
- net = debited − refunded, per group and in total. The total is computed by its own query,
  not by adding the groups, and `UsageReport.reconciles` checks that both agree.
- Provider time is the seconds the provider reported for a job (job.provider_duration, else its
  image's); mean and p95 (linear interpolation between closest ranks, as numpy's default) are
  computed in Python so SQLite and PostgreSQL give the same answer.
- Grants and staff adjustments are not usage; they are in the ledger admin and the users'
  credit histories.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CreditTransaction, Job, JobKind, JobStatus

MAX_RANGE_DAYS = 366


class GroupBy:
    DAY = "day"
    USER = "user"
    KIND = "kind"
    CHOICES = [(DAY, _("Day")), (USER, _("User")), (KIND, _("Kind"))]


S = JobStatus
# The outcome columns, in the order the page, the chart and the CSV show them.
OUTCOMES: tuple[tuple[str, Any], ...] = (
    ("succeeded", _("Succeeded")),
    ("failed", _("Failed")),
    ("unsafe", _("Unsafe")),
    ("timed_out", _("Timed out")),
    ("cancelled", _("Cancelled")),
    ("in_flight", _("In flight")),
)
_STATUS_TO_OUTCOME = {
    S.SUCCEEDED: "succeeded",
    S.FAILED: "failed",
    S.UNSAFE: "unsafe",
    S.TIMED_OUT: "timed_out",
    S.CANCELLED: "cancelled",
    S.QUEUED: "in_flight",
    S.SUBMITTED: "in_flight",
}


@dataclass
class UsageRow:
    """One group of the report (a day, a user or a kind), or the total."""

    key: Any
    label: str
    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    unsafe: int = 0
    timed_out: int = 0
    cancelled: int = 0
    in_flight: int = 0
    debited: int = 0
    refunded: int = 0
    refunds: int = 0
    durations: list[float] = field(default_factory=list, repr=False)

    @property
    def net(self) -> int:
        return self.debited - self.refunded

    @property
    def mean_seconds(self) -> float | None:
        return sum(self.durations) / len(self.durations) if self.durations else None

    @property
    def p95_seconds(self) -> float | None:
        return percentile(self.durations, 95)

    @property
    def finished(self) -> int:
        return self.submitted - self.in_flight

    def outcome(self, name: str) -> int:
        return getattr(self, name)


@dataclass
class UsageReport:
    start: date
    end: date
    group_by: str
    rows: list[UsageRow]
    total: UsageRow

    @property
    def reconciles(self) -> bool:
        """The groups add up to the separately computed total, and net = debited − refunded."""
        sums = {
            name: sum(getattr(row, name) for row in self.rows)
            for name in ("submitted", "debited", "refunded", "refunds", "net")
        }
        return (
            sums["submitted"] == self.total.submitted
            and sums["debited"] == self.total.debited
            and sums["refunded"] == self.total.refunded
            and sums["refunds"] == self.total.refunds
            and sums["net"] == self.total.net == self.total.debited - self.total.refunded
        )


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The pct-th percentile with linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def bounds(*, start: date, end: date) -> tuple[datetime, datetime]:
    """The aware datetimes [start 00:00, end+1 00:00) in the site's time zone."""
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(start, time.min), tz),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz),
    )


def default_range(*, today: date | None = None, days: int = 30) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


def _group_expression(group_by: str, *, user_field: str, kind_field: str):
    if group_by == GroupBy.DAY:
        return TruncDate("created_at", tzinfo=timezone.get_current_timezone())
    if group_by == GroupBy.USER:
        return F(user_field)
    if group_by == GroupBy.KIND:
        return F(kind_field)
    raise ValueError(f"unknown grouping {group_by!r}")


def usage(*, start: date, end: date, group_by: str = GroupBy.DAY) -> UsageReport:
    """The usage report for the local days start..end (inclusive), grouped by day, user or
    kind. Days without activity are included (as zeros) when grouping by day."""
    if end < start:
        raise ValueError("end before start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError("range too long")
    since, until = bounds(start=start, end=end)
    jobs = Job.objects.filter(created_at__gte=since, created_at__lt=until)
    ledger = CreditTransaction.objects.filter(
        kind__in=[CreditTransaction.Kind.DEBIT, CreditTransaction.Kind.REFUND],
        created_at__gte=since,
        created_at__lt=until,
    )

    rows: dict[Any, UsageRow] = {}
    if group_by == GroupBy.DAY:
        day = start
        while day <= end:
            rows[day] = UsageRow(key=day, label=day.isoformat())
            day += timedelta(days=1)

    def row_for(key: Any) -> UsageRow:
        if key not in rows:
            rows[key] = UsageRow(key=key, label=str(key))
        return rows[key]

    job_group = _group_expression(group_by, user_field="owner_id", kind_field="kind")
    for item in jobs.annotate(g=job_group).values("g", "status").annotate(n=Count("id")).order_by():
        _add_status(row_for(item["g"]), item["status"], item["n"])
    durations = (
        jobs.annotate(g=job_group, seconds=Coalesce("provider_duration", "image__provider_duration"))
        .filter(seconds__isnull=False)
        .values_list("g", "seconds")
        .order_by()
    )
    for key, seconds in durations:
        row_for(key).durations.append(float(seconds))

    ledger_group = _group_expression(group_by, user_field="user_id", kind_field="job__kind")
    for item in (
        ledger.annotate(g=ledger_group).values("g", "kind").annotate(total=Sum("amount"), n=Count("id")).order_by()
    ):
        _add_money(row_for(item["g"]), item["kind"], item["total"], item["n"])

    total = _total(jobs=jobs, ledger=ledger)
    ordered = _label_and_order(list(rows.values()), group_by)
    return UsageReport(start=start, end=end, group_by=group_by, rows=ordered, total=total)


def _add_status(row: UsageRow, status: str, count: int) -> None:
    row.submitted += count
    name = _STATUS_TO_OUTCOME[status]
    setattr(row, name, getattr(row, name) + count)


def _add_money(row: UsageRow, kind: str, total: int, count: int) -> None:
    if kind == CreditTransaction.Kind.DEBIT:
        row.debited += -total
    else:
        row.refunded += total
        row.refunds += count


def _total(*, jobs: QuerySet[Job], ledger: QuerySet[CreditTransaction]) -> UsageRow:
    """The total by its own queries (not by adding the groups), so the two can be compared."""
    total = UsageRow(key=None, label=str(_("Total")))
    for item in jobs.values("status").annotate(n=Count("id")).order_by():
        _add_status(total, item["status"], item["n"])
    money = ledger.aggregate(
        debited=Coalesce(Sum("amount", filter=Q(kind=CreditTransaction.Kind.DEBIT)), 0),
        refunded=Coalesce(Sum("amount", filter=Q(kind=CreditTransaction.Kind.REFUND)), 0),
        refunds=Count("id", filter=Q(kind=CreditTransaction.Kind.REFUND)),
    )
    total.debited = -money["debited"]
    total.refunded = money["refunded"]
    total.refunds = money["refunds"]
    total.durations = [
        float(seconds)
        for seconds in jobs.annotate(seconds=Coalesce("provider_duration", "image__provider_duration"))
        .filter(seconds__isnull=False)
        .values_list("seconds", flat=True)
        .order_by()
    ]
    return total


def _label_and_order(rows: list[UsageRow], group_by: str) -> list[UsageRow]:
    if group_by == GroupBy.DAY:
        return sorted(rows, key=lambda row: row.key)
    if group_by == GroupBy.KIND:
        labels = dict(JobKind.choices)
        order = [value for value, _label in JobKind.choices]
        for row in rows:
            row.label = str(labels.get(row.key, row.key))
        return sorted(rows, key=lambda row: order.index(row.key) if row.key in order else len(order))
    names = dict(get_user_model().objects.filter(pk__in=[row.key for row in rows]).values_list("pk", "username"))
    for row in rows:
        row.label = names.get(row.key, f"#{row.key}")
    # Biggest spenders first; ties by name, so the order is stable.
    return sorted(rows, key=lambda row: (-row.debited, -row.submitted, row.label))


def refund_audit(*, start: date, end: date) -> QuerySet[CreditTransaction]:
    """Every refund written in the local days start..end, newest first, with its job, user and
    (for a manual refund) the staff member who made it."""
    since, until = bounds(start=start, end=end)
    return (
        CreditTransaction.objects.filter(
            kind=CreditTransaction.Kind.REFUND, created_at__gte=since, created_at__lt=until
        )
        .select_related("user", "job", "actor")
        .order_by("-created_at", "-id")
    )


# --- CSV ---

USAGE_CSV_HEADER = [
    "group",
    "jobs_submitted",
    "succeeded",
    "failed",
    "unsafe",
    "timed_out",
    "cancelled",
    "in_flight",
    "credits_debited",
    "credits_refunded",
    "net_usage",
    "refunds",
    "mean_provider_seconds",
    "p95_provider_seconds",
]
# reason_code (why, as a stable code: job_failed, staff_refund...) was added last so the earlier
# columns keep their places for spreadsheets already built on them.
REFUNDS_CSV_HEADER = [
    "refunded_at",
    "user",
    "job",
    "job_kind",
    "job_status",
    "credits",
    "reason",
    "mode",
    "by",
    "reason_code",
]


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) is quoted with a '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _write(header: list[str], rows: Iterable[list[Any]]) -> str:
    # A byte-order mark first, so spreadsheet programs read the Chinese text as UTF-8.
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


def usage_csv(report: UsageReport) -> str:
    """The report as CSV: one line per group, then a "total" line."""

    def line(row: UsageRow, label: str) -> list[Any]:
        return [
            label,
            row.submitted,
            row.succeeded,
            row.failed,
            row.unsafe,
            row.timed_out,
            row.cancelled,
            row.in_flight,
            row.debited,
            row.refunded,
            row.net,
            row.refunds,
            _seconds(row.mean_seconds),
            _seconds(row.p95_seconds),
        ]

    return _write(USAGE_CSV_HEADER, [*(line(row, row.label) for row in report.rows), line(report.total, "total")])


def refunds_csv(refunds: Iterable[CreditTransaction]) -> str:
    def line(row: CreditTransaction) -> list[Any]:
        return [
            timezone.localtime(row.created_at).isoformat(timespec="seconds"),
            row.user.get_username(),
            str(row.job_id or ""),
            row.job.kind if row.job else "",
            row.job.status if row.job else "",
            row.amount,
            row.reason,
            "automatic" if row.is_automatic else "manual",
            row.actor.get_username() if row.actor else "",
            row.reason_code,
        ]

    return _write(REFUNDS_CSV_HEADER, (line(row) for row in refunds))
