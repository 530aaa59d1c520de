from django.conf import settings

from . import credits


def site(request):
    balance = None
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        balance = credits.balance_of(request.user)
    return {
        "credit_balance": balance,
        "engine_enabled": settings.ENGINE_ENABLED,
    }
