"""Downloading images from addresses someone else gave us, without becoming their proxy (SSRF).

The image API tells us where its result is in a callback; that URL, and every redirect after it,
is untrusted. `fetch` only talks to allow-listed hosts, refuses private, loopback, link-local and
other non-public addresses unless a host is explicitly allowed to have them, and bounds the size
and the wall-clock time of the download. It returns bytes; whether they are an image is
`gallery/imaging.py`'s question.

DNS rebinding: we resolve each hostname once, check every address it resolves to, and then connect
to one of exactly those checked addresses (the URL is rewritten to the IP, the Host header and the
TLS server name stay the hostname, see `_PinnedAdapter`). A second lookup never happens, so a name
that answers "public" to the check and "169.254.169.254" to the connect gains nothing.

Residual limits, on purpose: getaddrinfo() has no timeout of its own (the resolver's applies); the
wall-clock deadline is checked between reads, so it can be overshot by up to one read timeout, and
response headers are bounded by the read timeout per packet and http.client's header limits rather
than by the deadline. The task's own timeout is the final backstop.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from requests.adapters import HTTPAdapter

_SCHEMES = {"http": 80, "https": 443}
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_CHUNK_SIZE = 64 * 1024

# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; a gateway would forward to it.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


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


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    final_url: str


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

    allowed_hosts / private_hosts_allowed hold hostnames ("cdn.example.com", any port) or
    host:port entries ("127.0.0.1:8000", that port only); matching ignores case. A host must be in
    allowed_hosts to be fetched at all, and also in private_hosts_allowed to be reachable on a
    private or loopback address. Link-local (cloud metadata), multicast and unspecified addresses
    are refused for every host.

    The whole download, redirects included, must finish within total_timeout seconds (default
    connect_timeout + 2 * read_timeout), so a server that drips bytes cannot hold a worker.

    A given session is used for its headers and connection pool; fetch mounts its pinning adapter
    on it for http:// and https://. Without one, a private session ignores proxy variables and
    .netrc: a proxy would resolve names itself and undo the address check.

    We ask for Accept-Encoding: identity and return the body as sent (images are compressed
    already, and not inflating means no gzip bomb); max_bytes counts the bytes on the wire.

    Raises FetchRefused (permanent) or FetchFailed (retryable). Safe to call again.
    """
    deadline = time.monotonic() + (total_timeout if total_timeout is not None else connect_timeout + 2 * read_timeout)
    allowed = _host_entries(allowed_hosts)
    private_allowed = _host_entries(private_hosts_allowed)
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
                        raise FetchRefused(
                            _("The image server sent a redirect without a destination."),
                            code="bad_redirect",
                            status_code=response.status_code,
                        )
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
        raise FetchRefused(_("The image address redirected too many times."), code="too_many_redirects")
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
            if server_name and not _is_ip_literal(server_name):
                pool_kwargs["server_hostname"] = server_name
                pool_kwargs["assert_hostname"] = server_name
        return host_params, pool_kwargs


def _mount_pinning(session: requests.Session) -> None:
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), _PinnedAdapter):
            session.mount(prefix, _PinnedAdapter())


def _request(
    session: requests.Session,
    *,
    url: str,
    allowed: set[tuple[str, int | None]],
    private_allowed: set[tuple[str, int | None]],
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
) -> requests.Response:
    """Check one hop, then GET it from one of its checked addresses. Headers read, body not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise FetchRefused(_("Only http and https image addresses can be fetched."), code="scheme")
    try:
        hostname = _normalise_host(parts.hostname or "")
        port = parts.port or _SCHEMES[scheme]
    except ValueError as error:
        raise FetchRefused(_("This image address is not valid."), code="bad_url") from error
    if not hostname:
        raise FetchRefused(_("This image address is not valid."), code="bad_url")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL are never part of a provider result and only confuse host checks.
        raise FetchRefused(_("This image address is not on the list of allowed image hosts."), code="host_not_allowed")
    if not _host_matches(hostname, port, allowed):
        raise FetchRefused(_("This image address is not on the list of allowed image hosts."), code="host_not_allowed")
    addresses = _resolve(hostname, port)
    may_be_private = _host_matches(hostname, port, private_allowed)
    for address in addresses:
        _check_address(address, may_be_private=may_be_private)

    host_header = parts.netloc
    path = parts.path or "/"
    last_error: Exception | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _too_slow()
        netloc = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
        try:
            return session.get(
                urlunsplit((scheme, netloc, path, parts.query, "")),
                headers={"Host": host_header, "Accept": "image/*", "Accept-Encoding": "identity"},
                allow_redirects=False,
                stream=True,
                timeout=(min(connect_timeout, remaining), min(read_timeout, remaining)),
            )
        except requests.exceptions.SSLError as error:
            last_error = FetchFailed(
                _("The image server's secure connection could not be verified; we will try again."),
                code="tls",
            )
            last_error.__cause__ = error
        except requests.exceptions.ConnectionError as error:
            # Includes connect timeouts. The next address of the same name may work (IPv6 listed
            # first on a host without IPv6 routing is the usual case).
            last_error = error
        except requests.exceptions.Timeout as error:
            raise FetchFailed(
                _("The image server took too long to answer; we will try again."), code="timeout"
            ) from error
        except requests.exceptions.RequestException as error:
            raise FetchFailed(_("Could not download the image; we will try again."), code="request") from error
    if isinstance(last_error, FetchError):
        raise last_error
    raise FetchFailed(_("Could not connect to the image server; we will try again."), code="connection") from last_error


def _check_status(status: int) -> None:
    if status == 200:
        return
    if status in (408, 429) or status >= 500:
        raise FetchFailed(
            _("The image server is unavailable right now (HTTP %(status)s); we will try again."),
            code="server_busy" if status == 429 else "server_error",
            params={"status": status},
            status_code=status,
        )
    if 400 <= status < 500:
        raise FetchRefused(
            _("The image server refused the request (HTTP %(status)s)."),
            code="client_error",
            params={"status": status},
            status_code=status,
        )
    raise FetchRefused(
        _("The image server gave an unexpected answer (HTTP %(status)s)."),
        code="unexpected_status",
        params={"status": status},
        status_code=status,
    )


def _read_body(response: requests.Response, *, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.strip().isascii() and declared.strip().isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
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
                raise _too_large(max_bytes)
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _too_slow()
    except urllib3.exceptions.ReadTimeoutError as error:
        raise FetchFailed(_("The image server took too long to answer; we will try again."), code="timeout") from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise FetchFailed(
            _("The connection to the image server broke off; we will try again."), code="connection"
        ) from error
    return b"".join(chunks)


def _host_entries(entries: Collection[str]) -> set[tuple[str, int | None]]:
    """("host", None) for "host" entries, ("host", port) for "host:port" and "[v6]:port"."""
    parsed = set()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if entry.count(":") > 1 and not entry.startswith("["):
            parsed.add((_normalise_host(entry), None))  # a bare IPv6 address
            continue
        parts = urlsplit(f"//{entry}")
        parsed.add((_normalise_host(parts.hostname or ""), parts.port))
    return parsed


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if _is_ip_literal(host):
        return str(ipaddress.ip_address(host))
    return host


def _host_matches(hostname: str, port: int, entries: set[tuple[str, int | None]]) -> bool:
    return (hostname, None) in entries or (hostname, port) in entries


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(hostname: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchFailed(_("Could not look up the image server's address; we will try again."), code="dns") from error
    addresses = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Drop an IPv6 zone ("fe80::1%eth0"); the address itself decides.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchFailed(_("Could not look up the image server's address; we will try again."), code="dns")
    return addresses


def _check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, may_be_private: bool) -> None:
    """Refuse an address we must not connect to.

    Hosts in private_hosts_allowed (the offline engine in development, a service on the internal
    network) may use any non-public address, loopback included. Every host is refused link-local
    (169.254.169.254 is where cloud machines keep their credentials), multicast and unspecified
    (0.0.0.0 reaches this very machine) addresses.
    """
    for candidate in _embedded_addresses(address):
        if candidate.is_unspecified or candidate.is_multicast or candidate.is_link_local:
            raise _private_address()
        is_public = candidate.is_global and not candidate.is_reserved
        if not is_public and not may_be_private:
            raise _private_address()


def _embedded_addresses(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address itself plus any IPv4 address it tunnels to, which is where packets end up."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            found.append(address.ipv4_mapped)
        if address.sixtofour:
            found.append(address.sixtofour)
        if address.teredo:
            found.extend(address.teredo)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _private_address() -> FetchRefused:
    # The message names no address: the user should not learn what our network looks like.
    return FetchRefused(_("This image address points to a private network and was refused."), code="private_address")


def _too_large(max_bytes: int) -> FetchRefused:
    return FetchRefused(
        _("The image is larger than %(max)s and was not downloaded."),
        code="too_large",
        params={"max": filesizeformat(max_bytes)},
    )


def _too_slow() -> FetchFailed:
    return FetchFailed(_("The image download was too slow and was stopped; we will try again."), code="too_slow")
