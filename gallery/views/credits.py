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
from ..models import CreditTransaction

Kind = CreditTransaction.Kind
FILTERS = [
    ("", gettext_lazy("All")),
    (Kind.DEBIT, gettext_lazy("Spent")),
    (Kind.REFUND, gettext_lazy("Refunds")),
    (Kind.GRANT, gettext_lazy("Grants")),
    (Kind.ADJUSTMENT, gettext_lazy("Adjustments")),
]
Reason = CreditTransaction.Reason
# Codes whose title is the kind's label alone; the free-text reason beside them is internal.
SYSTEM_CODES = {Reason.SIGNUP, Reason.DAILY_TOPUP, Reason.SYSTEM_GRANT}


@dataclass(frozen=True)
class Entry:
    row: CreditTransaction
    title: str
    detail: str


def describe(row: CreditTransaction) -> Entry:
    """What a ledger row means to its owner: a title from its reason code, and the detail
    (the provider's words for an automatic refund, the staff's note for a manual move)."""
    if row.reason_code == Reason.JOB_CHARGE:
        job = row.job
        return Entry(row, _("%(kind)s job") % {"kind": job.get_kind_display()} if job else _("Job"), "")
    title = str(Reason(row.reason_code).label) if row.reason_code in Reason.values else _("Credits")
    return Entry(row, title, "" if row.reason_code in SYSTEM_CODES else row.reason)


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
