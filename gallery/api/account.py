"""/api/v1/credits: the balance and the ledger of your credits."""

from __future__ import annotations

from ninja import Query, Router, Schema

from .. import credits, representations
from ..models import CreditTransaction
from . import form_schemas, problems, schemas
from .jobs import _json

router = Router(tags=["credits"])


@router.get("/credits", response={200: schemas.Balance, 401: problems.Problem})
def balance(request):
    """Your credit balance."""
    return _json({"balance": credits.balance_of(request.user)}, status=200)


class LedgerQuery(Schema):
    after: int | None = form_schemas.pydantic.Field(None, ge=1, le=2**62)
    limit: int = form_schemas.pydantic.Field(25, ge=1, le=100)


@router.get("/credits/ledger", response={200: schemas.LedgerPage, 401: problems.Problem, 422: problems.Problem})
def ledger(request, query: Query[LedgerQuery]):
    """Every move of your credits, newest first; pass `next_cursor` as `after` for more."""
    rows = CreditTransaction.objects.filter(user=request.user).order_by("-id")
    if query.after:
        rows = rows.filter(id__lt=query.after)
    found = list(rows[: query.limit + 1])
    items = [representations.ledger_json(row) for row in found[: query.limit]]
    next_cursor = str(found[query.limit - 1].id) if len(found) > query.limit else None
    return _json({"items": items, "next_cursor": next_cursor}, status=200)
