"""`fetch`: one bounded GET of an untrusted URL, every redirect hop checked before it is followed.

It only talks to allowed hosts, refuses private, loopback, link-local and other non-public
addresses unless a host is explicitly allowed to have them, and bounds the size and the
wall-clock time of the download. It returns bytes; whether they are an image is the caller's
question.

DNS rebinding: we resolve each hostname once, check every address it resolves to, and then connect
to one of exactly those checked addresses (the URL is rewritten to the IP, the Host header and the
TLS server name stay the hostname, see `_PinnedAdapter`). A second lookup never happens, so a name
that answers "public" to the check and "169.254.169.254" to the connect gains nothing.

Residual limits, on purpose: getaddrinfo() has no timeout of its own (the resolver's applies); the
wall-clock deadline is checked between reads, so it can be overshot by up to one read timeout, and
response headers are bounded by the read timeout per packet and http.client's header limits rather
than by the deadline. The caller's own timeout (a task's, a request's) is the final backstop.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import addresses as addr

_SCHEMES = {"http": 80, "https": 443}
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_CHUNK_SIZE = 64 * 1024

# Every code a GuardError can carry; callers word each one (tests check they all do).
CODES = frozenset(
    {
        # Refused: the address or the answer is not acceptable; retrying gives the same result.
        "scheme",
        "bad_url",
        "host_not_allowed",
        "private_address",
        "bad_redirect",
        "too_many_redirects",
        "client_error",  # params: status
        "unexpected_status",  # params: status
        "too_large",  # params: max_bytes
        # Unavailable: retrying later may succeed.
        "dns",
        "connection",  # could not connect (refused, connect timeout, no route)
        "connection_lost",  # the connection broke off while the body was read
        "timeout",  # connected, then no answer within the read timeout
        "tls",
        "request",
        "server_error",  # params: status
        "server_busy",  # params: status (429)
        "too_slow",
    }
)


class GuardError(Exception):
    """A download we could not complete. `code` (one of CODES) and `params` say why.

    `str()` is the code and params, for logs; it is not worded for a person. `retryable` tells
    whether trying again later can help. `status_code` is the HTTP status when there was one.
    """

    retryable: bool = False

    def __init__(self, code: str, *, params: Mapping[str, Any] | None = None, status_code: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.params = dict(params or {})
        self.status_code = status_code

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


class Refused(GuardError):
    """Permanent: the address or the answer is not acceptable, and retrying gives the same result."""

    retryable = False


class Unavailable(GuardError):
    """Temporary: DNS, timeouts, connection trouble, 5xx and 429. Retrying later may succeed."""

    retryable = True


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    final_url: str


def fetch(
    url: str,
    *,
    allowed_hosts: Collection[str] | None,
    private_hosts_allowed: Collection[str],
    max_bytes: int,
    connect_timeout: float,
    read_timeout: float,
    max_redirects: int = 3,
    session: requests.Session | None = None,
    total_timeout: float | None = None,
) -> Fetched:
    """GET url and return its body, following at most max_redirects redirects.

    allowed_hosts / private_hosts_allowed hold hostnames ("cdn.example.com", any port) or
    host:port entries ("127.0.0.1:8000", that port only); matching ignores case. A host must be in
    allowed_hosts to be fetched at all (None: any host, as a public fetcher like the offline
    engine takes), and in private_hosts_allowed to be reachable on a private or loopback address
    (with allowed_hosts=None, those hosts are fetchable too). Link-local (cloud metadata),
    multicast and unspecified addresses are refused for every host.

    The whole download, redirects included, must finish within total_timeout seconds (default
    connect_timeout + 2 * read_timeout), so a server that drips bytes cannot hold a worker.

    A given session is used for its headers and connection pool; fetch mounts its pinning adapter
    on it for http:// and https://. Without one, a private session ignores proxy variables and
    .netrc: a proxy would resolve names itself and undo the address check.

    We ask for Accept-Encoding: identity and return the body as sent (images are compressed
    already, and not inflating means no gzip bomb); max_bytes counts the bytes on the wire.

    Raises Refused (permanent) or Unavailable (retryable), both GuardError. Safe to call again.
    """
    deadline = time.monotonic() + (total_timeout if total_timeout is not None else connect_timeout + 2 * read_timeout)
    allowed = None if allowed_hosts is None else addr.host_entries(allowed_hosts)
    private_allowed = addr.host_entries(private_hosts_allowed)
    own_session = session is None
    if session is None:
        session = requests.Session()
        session.trust_env = False
    _mount_pinning(session)
    try:
        current_url = url
        for hop in range(max_redirects + 1):
            response = _request(
                session,
                url=current_url,
                allowed=allowed,
                private_allowed=private_allowed,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                deadline=deadline,
            )
            try:
                if response.status_code in _REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise Refused("bad_redirect", status_code=response.status_code)
                    if hop == max_redirects:
                        break
                    current_url = urljoin(current_url, location)
                    continue
                _check_status(response.status_code)
                data = _read_body(response, max_bytes=max_bytes, deadline=deadline)
                return Fetched(
                    data=data,
                    content_type=response.headers.get("Content-Type", ""),
                    final_url=current_url,
                )
            finally:
                response.close()
        raise Refused("too_many_redirects")
    finally:
        if own_session:
            session.close()


class _PinnedAdapter(HTTPAdapter):
    """Sends to the IP in the URL while TLS checks the certificate against the Host header's name.

    fetch() rewrites https://cdn.example/x to https://203.0.113.7:443/x with "Host: cdn.example".
    For TLS we then tell urllib3 the real name for SNI and hostname verification. Both are part of
    urllib3's pool key, so connections for different names on one IP are never shared.
    """

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_header = request.headers.get("Host")
        if host_params.get("scheme") == "https" and host_header:
            server_name = urlsplit(f"//{host_header}").hostname
            if server_name and not addr.is_ip_literal(server_name):
                pool_kwargs["server_hostname"] = server_name
                pool_kwargs["assert_hostname"] = server_name
        return host_params, pool_kwargs


def _mount_pinning(session: requests.Session) -> None:
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), _PinnedAdapter):
            session.mount(prefix, _PinnedAdapter())


def checked_addresses(
    url: str, *, allowed: addr.HostEntries | None, private_allowed: addr.HostEntries
) -> tuple[SplitResult, int, list[addr.Address]]:
    """The URL's parts, port and every address its host resolves to, each checked; raises Refused
    (scheme, malformed, host not allowed, a forbidden address) or Unavailable (DNS)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise Refused("scheme")
    try:
        hostname = addr.normalise_host(parts.hostname or "")
        port = parts.port or _SCHEMES[scheme]
    except ValueError as error:
        raise Refused("bad_url") from error
    if not hostname:
        raise Refused("bad_url")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL are never part of an image address and only confuse host checks.
        raise Refused("host_not_allowed")
    may_be_private = addr.host_matches(hostname, port, private_allowed)
    if allowed is not None and not addr.host_matches(hostname, port, allowed):
        raise Refused("host_not_allowed")
    try:
        addresses = addr.resolve(hostname, port)
    except addr.LookupFailed as error:
        raise Unavailable("dns") from error
    for address in addresses:
        if addr.is_forbidden(address, may_be_private=may_be_private):
            # The code names no address: whoever reads the error should not learn our network.
            raise Refused("private_address")
    return parts, port, addresses


def _request(
    session: requests.Session,
    *,
    url: str,
    allowed: addr.HostEntries | None,
    private_allowed: addr.HostEntries,
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """Check one hop, then send the request (a GET for an image unless told otherwise) to one of
    its checked addresses. Headers read, body not."""
    parts, port, addresses = checked_addresses(url, allowed=allowed, private_allowed=private_allowed)
    scheme = parts.scheme.lower()

    host_header = parts.netloc
    path = parts.path or "/"
    last_error: Exception | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Unavailable("too_slow")
        netloc = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
        try:
            return session.request(
                method,
                urlunsplit((scheme, netloc, path, parts.query, "")),
                data=body,
                headers={"Host": host_header, **(headers or {"Accept": "image/*", "Accept-Encoding": "identity"})},
                allow_redirects=False,
                stream=True,
                timeout=(min(connect_timeout, remaining), min(read_timeout, remaining)),
            )
        except requests.exceptions.SSLError as error:
            last_error = Unavailable("tls")
            last_error.__cause__ = error
        except requests.exceptions.ConnectionError as error:
            # Includes connect timeouts. The next address of the same name may work (IPv6 listed
            # first on a host without IPv6 routing is the usual case).
            last_error = error
        except requests.exceptions.Timeout as error:
            raise Unavailable("timeout") from error
        except requests.exceptions.RequestException as error:
            raise Unavailable("request") from error
    if isinstance(last_error, GuardError):
        raise last_error
    raise Unavailable("connection") from last_error


def _check_status(status: int) -> None:
    if status == 200:
        return
    params = {"status": status}
    if status in (408, 429) or status >= 500:
        raise Unavailable("server_busy" if status == 429 else "server_error", params=params, status_code=status)
    if 400 <= status < 500:
        raise Refused("client_error", params=params, status_code=status)
    raise Refused("unexpected_status", params=params, status_code=status)


def _read_body(response: requests.Response, *, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.strip().isascii() and declared.strip().isdigit() and int(declared) > max_bytes:
        raise Refused("too_large", params={"max_bytes": max_bytes})
    chunks: list[bytes] = []
    received = 0
    try:
        while True:
            # read1 returns whatever one socket read brings. iter_content(n) would block until n
            # bytes arrive, and a server sending a byte per second never trips the read timeout,
            # so the deadline check below would not run for hours.
            chunk = response.raw.read1(_CHUNK_SIZE)
            if not chunk:
                break
            received += len(chunk)
            if received > max_bytes:
                raise Refused("too_large", params={"max_bytes": max_bytes})
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise Unavailable("too_slow")
    except urllib3.exceptions.ReadTimeoutError as error:
        raise Unavailable("timeout") from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise Unavailable("connection_lost") from error
    return b"".join(chunks)
