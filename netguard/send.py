"""`post`: one bounded POST to an untrusted URL (a user's webhook), with the checks of `fetch`.

The same address rules as a download (private, loopback, link-local and other non-public
addresses refused unless a host:port is allowed; the checked address pinned against DNS
rebinding), no redirect followed (a 3xx is the receiver's answer, not a new destination), and
at most a little of the answer read: only its status matters.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import requests

from . import addresses as addr
from .download import _mount_pinning, _request, checked_addresses

_ANSWER_BYTES = 4096


@dataclass(frozen=True)
class Sent:
    status_code: int


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    private_hosts_allowed: Collection[str],
    timeout: float,
) -> Sent:
    """POST body to url and return the status of the answer. Raises Refused (the address is not
    acceptable: scheme, private address...) or Unavailable (DNS, connection, timeout), both
    GuardError."""
    deadline = time.monotonic() + 2 * timeout
    session = requests.Session()
    session.trust_env = False
    _mount_pinning(session)
    try:
        response = _request(
            session,
            url=url,
            allowed=None,
            private_allowed=addr.host_entries(private_hosts_allowed),
            connect_timeout=timeout,
            read_timeout=timeout,
            deadline=deadline,
            method="POST",
            body=body,
            headers=headers,
        )
        # The status is what we wanted; a broken body after it changes nothing.
        with contextlib.suppress(Exception):
            response.raw.read(_ANSWER_BYTES)
        response.close()
        return Sent(status_code=response.status_code)
    finally:
        session.close()


def check_destination(url: str, *, private_hosts_allowed: Collection[str]) -> None:
    """Refuse now an address `post` would refuse later (scheme, credentials, private address).
    DNS trouble raises Unavailable. Connects to nothing."""
    checked_addresses(url, allowed=None, private_allowed=addr.host_entries(private_hosts_allowed))
