from django.conf import settings

from . import credits, notices


def site(request):
    balance = unread = None
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        balance = credits.balance_of(request.user)
        # One query on a partial index: the bell's count, and the newest id the tab's poll compares with.
        unread = notices.unread(user=request.user)
    return {
        "credit_balance": balance,
        "unread_notices": unread,
        "inbox_poll_seconds": settings.INBOX_POLL_SECONDS,
        "engine_enabled": settings.ENGINE_ENABLED,
    }
