"""netguard/ on its own, against real HTTP servers on 127.0.0.1: the address checks, the checks of
every redirect hop, and host:port allowances.

These fail before the change: there was no netguard package. The guard lived in
gallery/fetch.py, which imports Django and the site, so the engine could not use it and fetched
its sources with plain requests. tests/test_fetch.py covers the rest of the guard through the
site's wrapper.
"""

from __future__ import annotations

import threading
import time

import pytest

import netguard
from tests.helpers import Recorder, png_bytes

PNG = png_bytes((20, 10))


def _server() -> Recorder:
    recorder = Recorder()
    recorder.routes["/in.png"] = lambda handler, body: (200, {"Content-Type": "image/png"}, PNG)
    # serve_forever polls for shutdown every 0.5 s by default; each test would wait for it.
    recorder.thread = threading.Thread(
        target=recorder.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    return recorder


@pytest.fixture
def server():
    with _server() as recorder:
        yield recorder


@pytest.fixture
def other():
    """A second server on another port of the same address."""
    with _server() as recorder:
        yield recorder


def _host_port(recorder: Recorder) -> str:
    return recorder.url.removeprefix("http://")


def get(url: str, **overrides) -> netguard.Fetched:
    options = {
        "allowed_hosts": None,
        "private_hosts_allowed": [],
        "max_bytes": 1_000_000,
        "connect_timeout": 0.5,
        "read_timeout": 0.5,
    }
    return netguard.fetch(url, **{**options, **overrides})


def refusal(url: str, **overrides) -> netguard.Refused:
    started = time.monotonic()
    with pytest.raises(netguard.Refused) as caught:
        get(url, **overrides)
    assert time.monotonic() - started < 0.5  # refused before any connect could time out
    assert caught.value.retryable is False
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/in.png",
        "http://192.168.1.1/in.png",
        "http://100.64.0.1/in.png",  # carrier-grade NAT
        "http://[fd00::1]/in.png",
        "http://[::ffff:10.0.0.7]/in.png",
        "http://[64:ff9b::a00:7]/in.png",  # NAT64 of 10.0.0.7
        "http://[64:ff9b::7f00:1]/in.png",  # NAT64 of 127.0.0.1
        "http://[2002:a00:7::]/in.png",  # 6to4 of 10.0.0.7
        "http://0.0.0.0/in.png",
    ],
)
def test_it_refuses_private_addresses(url):
    assert refusal(url).code == "private_address"


def test_it_refuses_loopback_without_connecting(server):
    assert refusal(f"{server.url}/in.png").code == "private_address"
    assert refusal(f"http://[::ffff:127.0.0.1]:{server.server.server_address[1]}/in.png").code == "private_address"
    assert server.requests == []


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://224.0.0.1/"])
def test_it_refuses_link_local_and_multicast_even_when_private_is_allowed(url):
    host = url.split("/")[2]
    error = refusal(url, private_hosts_allowed=[host, host.strip("[]")], allowed_hosts=[host, host.strip("[]")])

    assert error.code == "private_address"
    assert "169.254" not in str(error)


def test_a_host_port_allowance_opens_that_port_only(server, other):
    allowance = [_host_port(server)]

    assert get(f"{server.url}/in.png", private_hosts_allowed=allowance).data == PNG
    assert refusal(f"{other.url}/in.png", private_hosts_allowed=allowance).code == "private_address"
    assert other.requests == []


def test_a_host_allowance_opens_every_port(server, other):
    assert get(f"{other.url}/in.png", private_hosts_allowed=["127.0.0.1"]).data == PNG


def test_the_allow_list_matches_host_and_port(server):
    allowance = [_host_port(server)]

    assert get(f"{server.url}/in.png", allowed_hosts=allowance, private_hosts_allowed=allowance).data == PNG
    error = refusal(f"{server.url}/in.png", allowed_hosts=["127.0.0.1:1"], private_hosts_allowed=["127.0.0.1"])
    assert error.code == "host_not_allowed"
    assert len(server.requests) == 1  # the first, allowed GET only


def test_every_redirect_hop_is_checked(server, other):
    server.routes["/to-private"] = lambda handler, body: (302, {"Location": "http://10.0.0.1/in.png"}, b"")
    server.routes["/to-metadata"] = lambda handler, body: (302, {"Location": "http://169.254.169.254/"}, b"")
    server.routes["/to-other-port"] = lambda handler, body: (302, {"Location": f"{other.url}/in.png"}, b"")
    server.routes["/to-self"] = lambda handler, body: (302, {"Location": "/in.png"}, b"")
    allowance = [_host_port(server)]

    assert get(f"{server.url}/to-self", private_hosts_allowed=allowance).final_url == f"{server.url}/in.png"
    for path in ("/to-private", "/to-metadata", "/to-other-port"):
        assert refusal(f"{server.url}{path}", private_hosts_allowed=allowance).code == "private_address", path
    assert other.requests == []


def test_a_closed_port_is_unavailable_not_refused():
    with _server() as gone:
        url = f"{gone.url}/in.png"
    with pytest.raises(netguard.Unavailable) as caught:
        get(url, private_hosts_allowed=["127.0.0.1"])
    assert (caught.value.code, caught.value.retryable) == ("connection", True)
    assert caught.value.code in netguard.CODES
