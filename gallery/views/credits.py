"""The user's credit history: every grant, debit, refund and adjustment, with its reason."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import credits
from ..models import CreditTransaction, JobStatus

Kind = CreditTransaction.Kind
FILTERS = [
    ("", gettext_lazy("All")),
    (Kind.DEBIT, gettext_lazy("Spent")),
    (Kind.REFUND, gettext_lazy("Refunds")),
    (Kind.GRANT, gettext_lazy("Grants")),
    (Kind.ADJUSTMENT, gettext_lazy("Adjustments")),
]
# Reasons credits.py writes for automatic grants; anything else is shown as written.
GRANT_TITLES = {"signup": gettext_lazy("Welcome credits"), "daily top-up": gettext_lazy("Daily top-up")}


@dataclass(frozen=True)
class Entry:
    row: CreditTransaction
    title: str
    detail: str


def describe(row: CreditTransaction) -> Entry:
    """What a ledger row means to its owner: a short title and the reason, if any."""
    job = row.job
    if row.kind == Kind.DEBIT:
        return Entry(row, _("%(kind)s job") % {"kind": job.get_kind_display()} if job else _("Job"), "")
    if row.kind == Kind.REFUND:
        if not row.is_automatic:
            return Entry(row, _("Refunded by staff"), row.reason)
        detail = row.reason
        if job is not None:
            # Automatic refunds are written as "job <status>: <why>"; the title says the status.
            prefix = f"job {job.status}: "
            detail = detail.removeprefix(prefix)
            status = JobStatus(job.status).label if job.status in JobStatus.values else job.status
            return Entry(row, _("Refund — %(status)s") % {"status": status}, detail)
        return Entry(row, _("Refund"), detail)
    if row.kind == Kind.GRANT:
        if row.is_automatic and row.reason in GRANT_TITLES:
            return Entry(row, str(GRANT_TITLES[row.reason]), "")
        return Entry(row, _("Granted by staff") if not row.is_automatic else _("Credits granted"), row.reason)
    return Entry(row, _("Adjusted by staff"), row.reason)


@login_required
def credit_history(request: HttpRequest) -> HttpResponse:
    mine = CreditTransaction.objects.filter(user=request.user)
    kind = request.GET.get("kind", "")
    if kind not in Kind.values:
        kind = ""
    rows = mine.filter(kind=kind) if kind else mine
    rows = rows.select_related("job").order_by("-created_at", "-id")
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    totals = mine.aggregate(
        spent=Sum("amount", filter=Q(kind=Kind.DEBIT), default=0),
        refunded=Sum("amount", filter=Q(kind=Kind.REFUND), default=0),
        refunds=Count("id", filter=Q(kind=Kind.REFUND)),
        granted=Sum("amount", filter=Q(kind__in=[Kind.GRANT, Kind.ADJUSTMENT]), default=0),
    )
    return render(
        request,
        "gallery/credits.html",
        {
            "page": page,
            "entries": [describe(row) for row in page.object_list],
            "balance": credits.balance_of(request.user),
            "spent": -totals["spent"],
            "refunded": totals["refunded"],
            "refunds": totals["refunds"],
            "granted": totals["granted"],
            "filters": FILTERS,
            "kind": kind,
        },
    )
