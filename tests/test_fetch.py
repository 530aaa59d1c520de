"""gallery/fetch.py against a real HTTP server on 127.0.0.1.

Every test records the addresses urllib3 really connects to, and fails if one is not loopback:
refused addresses (10.0.0.1, 169.254.169.254, ...) appear only in Location headers and fake DNS
answers, and the guard must stop before connecting to them.
"""

from __future__ import annotations

import io
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import urllib3.util.connection
from PIL import Image

import netguard
from gallery import fetch as fetch_module
from gallery import imaging
from gallery.fetch import Fetched, FetchError, FetchFailed, FetchRefused, fetch

LOOPBACK = "127.0.0.1"
MAX_BYTES = 1_000_000


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_hosts: list[str] = []

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        Handler.seen_hosts.append(self.headers.get("Host", ""))
        path = self.path
        port = self.server.server_address[1]
        if path == "/image.png":
            self.reply(200, PNG, "image/png")
        elif path == "/missing":
            self.reply(404, b"not found")
        elif path == "/broken":
            self.reply(500, b"oops")
        elif path == "/busy":
            self.reply(429, b"slow down")
        elif path == "/not-an-image":
            self.reply(200, b"<!doctype html><p>Sign in to continue</p>", "text/html")
        elif path == "/slow":
            self.drip()
        elif path == "/stall":
            self.stall()
        elif path == "/huge":
            self.huge(declared=True)
        elif path == "/huge-chunked":
            self.huge(declared=False)
        elif path == "/redirect":
            self.redirect("/image.png")
        elif path == "/redirect-absolute":
            self.redirect(f"http://{LOOPBACK}:{port}/image.png")
        elif path == "/redirect-private":
            self.redirect("http://10.0.0.1/image.png")
        elif path == "/redirect-metadata":
            self.redirect("http://169.254.169.254/latest/meta-data/")
        elif path == "/redirect-localhost":
            self.redirect(f"http://localhost:{port}/image.png")
        elif path == "/redirect-file":
            self.redirect("file:///etc/passwd")
        elif path == "/redirect-nowhere":
            self.reply(302, b"")
        elif path == "/loop":
            self.redirect("/loop")
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])  # /chain/N is N redirects from the image
            self.redirect(f"/chain/{left - 1}" if left > 1 else "/image.png")
        else:
            self.reply(404, b"no such route")

    def reply(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def drip(self):
        """A byte every 50 ms: never idle long enough for a read timeout, never done."""
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.survive_hangup(lambda: [self.write_slowly(byte) for byte in PNG])

    def write_slowly(self, byte):
        self.wfile.write(bytes([byte]))
        self.wfile.flush()
        time.sleep(0.05)

    def stall(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.flush()
        time.sleep(2)
        self.close_connection = True

    def huge(self, *, declared):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if declared:
            self.send_header("Content-Length", str(50 * MAX_BYTES))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b"\0" * 65536

        def send_forever():
            for _ in range(800):  # 50 MB at most, should nobody hang up
                self.wfile.write(piece if declared else b"%x\r\n%s\r\n" % (len(piece), piece))

        self.survive_hangup(send_forever)

    def survive_hangup(self, send):
        try:
            send()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping must not hold up teardown


@pytest.fixture(scope="module")
def server():
    httpd = Server((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every (host, port) urllib3 opens a socket to; anything but loopback fails the test."""
    opened: list[tuple[str, int]] = []
    real_create_connection = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        host, port = address
        assert host in (LOOPBACK, "::1"), f"connected to {host}"
        opened.append((host, port))
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return opened


@pytest.fixture
def fake_dns(monkeypatch):
    """Names we invent resolve to what a test says; other names resolve normally. Counts lookups."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in address else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (address, port, 0, 0) if ":" in address else (address, port),
                )
                for address in answers[host]
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers_and_lookups = answers, lookups
    return answers_and_lookups


def get(url, **overrides) -> Fetched:
    options = {
        "allowed_hosts": [LOOPBACK],
        "private_hosts_allowed": [LOOPBACK],
        "max_bytes": MAX_BYTES,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
    }
    options.update(overrides)
    return fetch(url, **options)


def refusal(url, **overrides) -> FetchRefused:
    with pytest.raises(FetchRefused) as caught:
        get(url, **overrides)
    assert caught.value.retryable is False
    assert str(caught.value)
    return caught.value


def failure(url, **overrides) -> FetchFailed:
    with pytest.raises(FetchFailed) as caught:
        get(url, **overrides)
    assert caught.value.retryable is True
    assert str(caught.value)
    return caught.value


# --- what it fetches --------------------------------------------------------------------------------


def test_it_downloads_an_image(server):
    result = get(f"{server}/image.png")

    assert result == Fetched(data=PNG, content_type="image/png", final_url=f"{server}/image.png")
    assert imaging.verify_image(result.data, max_pixels=10**6, max_bytes=MAX_BYTES).format == "PNG"


def test_it_follows_a_relative_redirect(server):
    assert get(f"{server}/redirect").final_url == f"{server}/image.png"


def test_it_follows_an_absolute_redirect(server):
    assert get(f"{server}/redirect-absolute").data == PNG


def test_it_follows_as_many_redirects_as_allowed(server):
    assert get(f"{server}/chain/3", max_redirects=3).data == PNG


def test_it_accepts_a_host_entry_with_the_right_port(server):
    host_and_port = server.removeprefix("http://")

    assert get(f"{server}/image.png", allowed_hosts=[host_and_port], private_hosts_allowed=[host_and_port]).data == PNG


def test_it_matches_host_names_ignoring_case(server, fake_dns):
    answers, _lookups = fake_dns
    answers["images.test"] = [LOOPBACK]
    url = server.replace(LOOPBACK, "Images.TEST") + "/image.png"

    assert get(url, allowed_hosts=["images.test"], private_hosts_allowed=["IMAGES.test"]).data == PNG


def test_it_connects_to_the_address_it_checked(server, fake_dns, connections):
    # DNS rebinding: the name is looked up once, and the socket goes to that checked address.
    answers, lookups = fake_dns
    answers["images.test"] = [LOOPBACK]
    url = server.replace(LOOPBACK, "images.test") + "/image.png"
    Handler.seen_hosts.clear()

    assert get(url, allowed_hosts=["images.test"], private_hosts_allowed=["images.test"]).data == PNG

    assert lookups.count("images.test") == 1
    assert [host for host, _port in connections] == [LOOPBACK]
    assert Handler.seen_hosts == [url.split("/")[2]]


def test_it_tries_the_next_checked_address(server, fake_dns, connections):
    # ::1 first and nobody listening there, as on a machine without IPv6 routing.
    answers, _lookups = fake_dns
    answers["images.test"] = ["::1", LOOPBACK]
    url = server.replace(LOOPBACK, "images.test") + "/image.png"

    assert get(url, allowed_hosts=["images.test"], private_hosts_allowed=["images.test"]).data == PNG
    assert [host for host, _port in connections] == ["::1", LOOPBACK]


def test_it_returns_what_is_not_an_image_for_imaging_to_refuse(server):
    result = get(f"{server}/not-an-image")

    assert result.content_type == "text/html"
    with pytest.raises(imaging.ImageRejected):
        imaging.verify_image(result.data, max_pixels=10**6, max_bytes=MAX_BYTES)


# --- what it refuses for good ----------------------------------------------------------------------


def test_it_refuses_loopback_unless_allowed_private(server, connections):
    error = refusal(f"{server}/image.png", private_hosts_allowed=[])

    assert error.code == "private_address"
    assert connections == []


def test_it_refuses_a_host_not_on_the_list(server, connections):
    url = server.replace(LOOPBACK, "localhost") + "/image.png"

    assert refusal(url).code == "host_not_allowed"
    assert connections == []


def test_it_refuses_an_allowed_host_on_another_port(server, connections):
    error = refusal(f"{server}/image.png", allowed_hosts=[f"{LOOPBACK}:1"], private_hosts_allowed=[f"{LOOPBACK}:1"])

    assert error.code == "host_not_allowed"
    assert connections == []


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", f"ftp://{LOOPBACK}/image.png", "gopher://127.0.0.1:70/", "javascript:alert(1)"],
)
def test_it_refuses_other_schemes(url, connections):
    assert refusal(url).code == "scheme"
    assert connections == []


def test_it_refuses_credentials_in_the_address(server, connections):
    url = server.replace(LOOPBACK, f"user:secret@{LOOPBACK}") + "/image.png"

    assert refusal(url).code == "host_not_allowed"
    assert connections == []


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.7"],
        ["93.184.216.34", "10.0.0.7"],  # every address counts, not just the first
        ["169.254.169.254"],
        ["::ffff:10.0.0.7"],
        ["fd00::1"],
        ["100.64.0.1"],
        ["0.0.0.0"],
    ],
)
def test_it_refuses_a_name_resolving_to_a_private_address(fake_dns, connections, addresses):
    answers, _lookups = fake_dns
    answers["cdn.example"] = addresses

    error = refusal("http://cdn.example/image.png", allowed_hosts=["cdn.example"], private_hosts_allowed=[])

    assert error.code == "private_address"
    assert connections == []
    for address in addresses:
        assert address not in str(error)


@pytest.mark.parametrize("address", ["169.254.169.254", "0.0.0.0", "224.0.0.1"])
def test_it_refuses_metadata_multicast_and_unspecified_even_for_private_hosts(fake_dns, connections, address):
    answers, _lookups = fake_dns
    answers["engine.internal"] = [address]

    error = refusal(
        "http://engine.internal/image.png", allowed_hosts=["engine.internal"], private_hosts_allowed=["engine.internal"]
    )

    assert error.code == "private_address"
    assert connections == []


def test_it_refuses_a_redirect_to_a_host_not_on_the_list(server):
    assert refusal(f"{server}/redirect-private").code == "host_not_allowed"
    assert refusal(f"{server}/redirect-localhost").code == "host_not_allowed"


def test_it_refuses_a_redirect_to_a_private_address_before_connecting(server, connections):
    allowed = [LOOPBACK, "10.0.0.1", "169.254.169.254"]

    assert refusal(f"{server}/redirect-private", allowed_hosts=allowed).code == "private_address"
    assert refusal(f"{server}/redirect-metadata", allowed_hosts=allowed).code == "private_address"
    assert {host for host, _port in connections} == {LOOPBACK}


def test_it_refuses_a_redirect_to_a_file(server):
    assert refusal(f"{server}/redirect-file").code == "scheme"


def test_it_refuses_a_redirect_without_location(server):
    assert refusal(f"{server}/redirect-nowhere").code == "bad_redirect"


def test_it_refuses_a_redirect_loop(server):
    assert refusal(f"{server}/loop").code == "too_many_redirects"


def test_it_refuses_one_redirect_too_many(server):
    assert refusal(f"{server}/chain/4", max_redirects=3).code == "too_many_redirects"


def test_it_refuses_any_redirect_when_none_allowed(server):
    assert refusal(f"{server}/redirect", max_redirects=0).code == "too_many_redirects"


def test_it_refuses_404(server):
    error = refusal(f"{server}/missing")

    assert (error.code, error.status_code) == ("client_error", 404)
    assert "404" in str(error)


def test_it_refuses_a_declared_oversized_body_before_reading(server):
    started = time.monotonic()

    assert refusal(f"{server}/huge").code == "too_large"
    assert time.monotonic() - started < 0.5


def test_it_stops_an_undeclared_oversized_body(server):
    started = time.monotonic()

    assert refusal(f"{server}/huge-chunked").code == "too_large"
    assert time.monotonic() - started < 1


def test_it_counts_bytes_even_when_the_declared_length_fits(server):
    assert refusal(f"{server}/image.png", max_bytes=len(PNG) - 1).code == "too_large"


# --- what it may get next time ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/broken", 500), ("/busy", 429)])
def test_it_fails_retryably_on_5xx_and_429(server, path, status):
    error = failure(f"{server}{path}")

    assert error.status_code == status


def test_it_gives_up_on_a_slow_drip(server):
    started = time.monotonic()

    error = failure(f"{server}/slow", connect_timeout=0.2, read_timeout=0.3)

    assert error.code == "too_slow"
    assert time.monotonic() - started < 1.5


def test_it_fails_retryably_on_a_read_timeout(server):
    assert failure(f"{server}/stall", read_timeout=0.2).code == "timeout"


def test_it_fails_retryably_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        closed_port = probe.getsockname()[1]

    assert failure(f"http://{LOOPBACK}:{closed_port}/image.png").code == "connection"


def test_its_errors_share_a_base(server):
    with pytest.raises(FetchError):
        get(f"{server}/missing")
    with pytest.raises(FetchError):
        get(f"{server}/broken")


def test_it_uses_a_given_session(server):
    with requests.Session() as session:
        session.headers["User-Agent"] = "aigc-test"
        first = get(f"{server}/image.png", session=session)
        second = get(f"{server}/redirect", session=session)

    assert first.data == second.data == PNG


# --- HTTPS: the certificate is checked against the name, not the pinned IP -------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=images.test",
            "-addext",
            "subjectAltName=DNS:images.test",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    httpd = Server((LOOPBACK, 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"port": httpd.server_address[1], "cert": str(cert)}
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(("name", "code"), [("images.test", None), ("other.test", "tls")])
def test_https_checks_the_certificate_against_the_name(tls_server, fake_dns, connections, name, code):
    answers, _lookups = fake_dns
    answers[name] = [LOOPBACK]
    url = f"https://{name}:{tls_server['port']}/image.png"

    with requests.Session() as session:
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        session.verify = tls_server["cert"]
        if code is None:
            assert get(url, allowed_hosts=[name], private_hosts_allowed=[name], session=session).data == PNG
        else:
            with pytest.raises(FetchFailed) as caught:
                get(url, allowed_hosts=[name], private_hosts_allowed=[name], session=session)
            assert caught.value.code == code
    assert [host for host, _port in connections] == [LOOPBACK]


def test_every_netguard_code_has_a_message():
    """Fails before the change: there was no netguard. Now a new code of the guard that the site
    has not worded would be a KeyError in the middle of an ingest."""
    assert set(fetch_module.MESSAGES) == netguard.CODES
