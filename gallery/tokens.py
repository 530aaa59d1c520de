"""Per-job callback tokens.

The provider does not sign its callbacks, so the notify_url itself carries the secret: an
HMAC of the job id under CALLBACK_SECRET. Only we and the provider know the URL; a forger
would have to guess 256 bits.
"""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from django.conf import settings
from django.urls import reverse


def callback_token(job_id: UUID | str) -> str:
    message = f"callback:{job_id}".encode()
    return hmac.new(settings.CALLBACK_SECRET.encode(), message, hashlib.sha256).hexdigest()


def is_valid_callback_token(job_id: UUID | str, token: str) -> bool:
    # compare_digest takes the same time wherever the strings differ. It refuses str with
    # non-ASCII characters (TypeError), so both sides are compared as UTF-8 bytes: a forged
    # token of any characters is simply wrong, never an error.
    return hmac.compare_digest(callback_token(job_id).encode(), token.encode("utf-8", "surrogatepass"))


def notify_url(job_id: UUID | str) -> str:
    path = reverse("callback", kwargs={"job_id": job_id, "token": callback_token(job_id)})
    return f"{settings.SITE_URL}{path}"
