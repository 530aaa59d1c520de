"""Personal access tokens of the JSON API: made, recognised and revoked here only.

A token is `aigc_` and 43 random URL-safe characters (256 bits). We keep its SHA-256 digest and
its first characters: a stolen database gives no working token, and a fast hash is enough for a
secret this long (a slow password hash is for secrets people choose). The token itself is shown
to its owner once, when it is made. (Callback tokens of the image service are another thing:
gallery/tokens.py.)
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import ApiToken, AuditAction, TokenScope

TOKEN_PREFIX = "aigc_"
_SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
# last_used_at is written at most this often per token, not on every request.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(Exception):
    """A token operation that cannot happen; the message is safe to show the user."""


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    # Shown once and never stored.
    plaintext: str


def digest_of(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def issue(*, owner: AbstractBaseUser, name: str, scope: str, expires_in_days: int | None = None) -> Issued:
    """Make a token for `owner`. Raises TokenError past API_TOKENS_MAX_PER_USER active tokens."""
    if scope not in TokenScope.values:
        raise ValueError(f"unknown scope {scope!r}")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        active = active_tokens(owner=owner).select_for_update().count()
        if active >= settings.API_TOKENS_MAX_PER_USER:
            raise TokenError(_("You have %(count)d tokens; revoke one you no longer use first.") % {"count": active})
        token = ApiToken.objects.create(
            owner=owner,
            name=name.strip(),
            scope=scope,
            prefix=plaintext[:_SHOWN_PREFIX_LENGTH],
            digest=digest_of(plaintext),
            webhook_secret="whsec_" + secrets.token_urlsafe(32),
            expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        audit.record(owner, AuditAction.API_TOKEN_CREATED, token, name=token.name, scope=scope)
    return Issued(token=token, plaintext=plaintext)


def active_tokens(*, owner: AbstractBaseUser):
    now = timezone.now()
    return ApiToken.objects.filter(owner=owner, revoked_at__isnull=True).exclude(expires_at__lte=now)


def authenticate(plaintext: str) -> ApiToken | None:
    """The active token `plaintext` is, with its owner loaded, or None (unknown, revoked,
    expired, or its owner deactivated). Records when it was last used."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    token = ApiToken.objects.select_related("owner").filter(digest=digest_of(plaintext)).first()
    if token is None or not token.is_active or not token.owner.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke(*, token: ApiToken, by: AbstractBaseUser) -> ApiToken:
    """Revoke a token (a second call changes nothing). Its jobs' webhooks are still delivered."""
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit.record(by, AuditAction.API_TOKEN_REVOKED, locked, name=locked.name, owner=locked.owner_id)
    return locked
