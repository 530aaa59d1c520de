from django.conf import settings
from django.contrib.auth import get_user_model

from . import credits, notices


def _header(user) -> tuple[int, dict[str, int]]:
    """The header's balance and the bell's unread count with the newest unread id: one query for
    both on every page (the gallery's first page is held to six)."""
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values(**credits.balance_of_user(), **notices.unread_of_user())
        .first()
    )
    if row is None:
        return 0, {"count": 0, "latest": 0}
    return row["balance"] or 0, notices.unread_from(row)


def site(request):
    balance = unread = None
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        balance, unread = _header(request.user)
    return {
        "credit_balance": balance,
        "unread_notices": unread,
        "inbox_poll_seconds": settings.INBOX_POLL_SECONDS,
        "engine_enabled": settings.ENGINE_ENABLED,
    }
