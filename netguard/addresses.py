"""Which hosts and addresses a download may reach: allow-list entries, DNS, address classes."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
HostEntries = set[tuple[str, int | None]]

# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; a gateway would forward to it.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class LookupFailed(Exception):
    """The name did not resolve to any IPv4 or IPv6 address."""


def host_entries(entries: Collection[str]) -> HostEntries:
    """("host", None) for "host" entries, ("host", port) for "host:port" and "[v6]:port"."""
    parsed = set()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if entry.count(":") > 1 and not entry.startswith("["):
            parsed.add((normalise_host(entry), None))  # a bare IPv6 address
            continue
        parts = urlsplit(f"//{entry}")
        parsed.add((normalise_host(parts.hostname or ""), parts.port))
    return parsed


def normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if is_ip_literal(host):
        return str(ipaddress.ip_address(host))
    return host


def host_matches(hostname: str, port: int, entries: HostEntries) -> bool:
    return (hostname, None) in entries or (hostname, port) in entries


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(hostname: str, port: int) -> list[Address]:
    """Every IPv4/IPv6 address the name has, in the resolver's order; raises LookupFailed."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise LookupFailed(hostname) from error
    addresses: list[Address] = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Drop an IPv6 zone ("fe80::1%eth0"); the address itself decides.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise LookupFailed(hostname)
    return addresses


def is_forbidden(address: Address, *, may_be_private: bool) -> bool:
    """Whether we must not connect to this address.

    Hosts allowed private addresses (the offline engine in development, a service on the internal
    network) may use any non-public address, loopback included. Every host is refused link-local
    (169.254.169.254 is where cloud machines keep their credentials), multicast and unspecified
    (0.0.0.0 reaches this very machine) addresses.
    """
    for candidate in embedded_addresses(address):
        if candidate.is_unspecified or candidate.is_multicast or candidate.is_link_local:
            return True
        is_public = candidate.is_global and not candidate.is_reserved
        if not is_public and not may_be_private:
            return True
    return False


def embedded_addresses(address: Address) -> list[Address]:
    """The address itself plus any IPv4 address it tunnels to, which is where packets end up."""
    found: list[Address] = [address]
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
