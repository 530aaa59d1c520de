"""The address a request comes from, for the log-in lockout and the sign-up rate.

Behind a reverse proxy every request arrives from the proxy, so REMOTE_ADDR alone would put
every visitor under one address (one failed log-in count, one sign-up allowance for the whole
site). X-Forwarded-For is written by whoever sends the request, though: only the entries that
the operator's own proxies appended can be believed. TRUSTED_PROXY_COUNT says how many proxies
stand in front of the site; each appends the address it received the request from, so the
client is that many entries from the right. With 0 (the default) the header is ignored.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        forwarded = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
        # Fewer entries than proxies: the request did not come through all of them (someone
        # reached a proxy behind the first, or the site directly), so the header is not ours.
        if len(forwarded) >= trusted:
            found = _address(forwarded[-trusted])
            if found:
                return found
    return _address(remote) or remote
