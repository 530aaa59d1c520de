"""Downloading images from addresses someone else gave us, without becoming their proxy (SSRF).

The image API tells us where its result is in a callback; that URL, and every redirect after it,
is untrusted. The guard itself (allow-list, address checks pinned against DNS rebinding, each
redirect hop checked, size and time bounds) is `netguard/`, shared with the offline engine; this
module gives its errors the site's translated, user-safe wording. `fetch` returns bytes; whether
they are an image is `gallery/imaging.py`'s question.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import requests
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

import netguard
from netguard import Fetched

__all__ = ["FetchError", "FetchFailed", "FetchRefused", "Fetched", "fetch"]


class FetchError(Exception):
    """A download we could not complete. `str(error)` is safe to show the user.

    `retryable` tells the task whether trying again later can help. `code` is stable and meant for
    logs and tests; the message is formatted when rendered, in the language active then.
    """

    retryable: bool = False

    def __init__(
        self,
        message: Any,
        *,
        code: str,
        params: Mapping[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = dict(params or {})
        self.status_code = status_code

    def __str__(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)


class FetchRefused(FetchError):
    """Permanent: the address or the answer is not acceptable, and retrying gives the same result."""

    retryable = False


class FetchFailed(FetchError):
    """Temporary: timeouts, connection trouble, 5xx and 429. Retrying later may succeed."""

    retryable = True


# One message per netguard code (netguard.CODES; a test checks none is missing). The messages
# name no address: the user should not learn what our network looks like.
MESSAGES: dict[str, Any] = {
    "scheme": _("Only http and https image addresses can be fetched."),
    "bad_url": _("This image address is not valid."),
    "host_not_allowed": _("This image address is not on the list of allowed image hosts."),
    "private_address": _("This image address points to a private network and was refused."),
    "bad_redirect": _("The image server sent a redirect without a destination."),
    "too_many_redirects": _("The image address redirected too many times."),
    "client_error": _("The image server refused the request (HTTP %(status)s)."),
    "unexpected_status": _("The image server gave an unexpected answer (HTTP %(status)s)."),
    "too_large": _("The image is larger than %(max)s and was not downloaded."),
    "dns": _("Could not look up the image server's address; we will try again."),
    "connection": _("Could not connect to the image server; we will try again."),
    "connection_lost": _("The connection to the image server broke off; we will try again."),
    "timeout": _("The image server took too long to answer; we will try again."),
    "tls": _("The image server's secure connection could not be verified; we will try again."),
    "request": _("Could not download the image; we will try again."),
    "server_error": _("The image server is unavailable right now (HTTP %(status)s); we will try again."),
    "server_busy": _("The image server is unavailable right now (HTTP %(status)s); we will try again."),
    "too_slow": _("The image download was too slow and was stopped; we will try again."),
}
# Our codes are what logs and tests have always seen: a connection lost mid-body is "connection".
_CODES = {"connection_lost": "connection"}


def fetch(
    url: str,
    *,
    allowed_hosts: Collection[str],
    private_hosts_allowed: Collection[str],
    max_bytes: int,
    connect_timeout: float,
    read_timeout: float,
    max_redirects: int = 3,
    session: requests.Session | None = None,
    total_timeout: float | None = None,
) -> Fetched:
    """GET url and return its body, following at most max_redirects redirects.

    `netguard.fetch` does the work and documents the arguments; here allowed_hosts is required
    (the site never fetches from just any host). Raises FetchRefused (permanent) or FetchFailed
    (retryable). Safe to call again.
    """
    try:
        return netguard.fetch(
            url,
            allowed_hosts=allowed_hosts,
            private_hosts_allowed=private_hosts_allowed,
            max_bytes=max_bytes,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_redirects=max_redirects,
            session=session,
            total_timeout=total_timeout,
        )
    except netguard.GuardError as error:
        raise _worded(error) from error


def _worded(error: netguard.GuardError) -> FetchError:
    params = dict(error.params)
    if error.code == "too_large":
        params = {"max": filesizeformat(params["max_bytes"])}
    kind = FetchFailed if error.retryable else FetchRefused
    return kind(
        MESSAGES[error.code], code=_CODES.get(error.code, error.code), params=params, status_code=error.status_code
    )
