from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import credits
from ..models import CreditTransaction


@login_required
def credit_history(request: HttpRequest) -> HttpResponse:
    rows = CreditTransaction.objects.filter(user=request.user).select_related("job").order_by("-created_at", "-id")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "gallery/credits.html", {"page": page, "balance": credits.balance_of(request.user)})
