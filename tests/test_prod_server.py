"""`make serve`, the production command, started as the README says: DEBUG off, the operator's
environment, gunicorn and the worker cluster, the session's real SeaweedFS, and PostgreSQL +
Redis when DATABASE_URL / REDIS_URL are set (`.ci/run`'s second run), SQLite + the ORM broker
otherwise. A person signs up and gets a picture through it over HTTP.

Fails before the fix: there was no `serve` target, no Procfile.prod and no WSGI server.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.helpers import txt2img_form
from tests.stack import _free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# The README's command. `-o .venv/.installed`: the virtualenv `make test` installed is used as
# it is (make would otherwise reinstall it whenever requirements.txt is newer).
SERVE = ["make", "--no-print-directory", "-o", ".venv/.installed", "serve"]
# Over plain HTTP on the loopback, `check --deploy` rightly warns about HSTS, the SSL redirect
# and the two cookies; a deployment behind TLS has none of these (tests/test_settings.py).
PLAIN_HTTP_CHECKS = "security.W004,security.W008,security.W012,security.W016"
PASSWORD = "prod-serve-horse-battery-9"


def _operator_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """What an operator's environment holds: only the variables the README asks for (none of
    the test suite's own: no Q_SYNC, no fault markers, no STATIC_MANIFEST=0)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        {
            # on purpose: `make serve` must turn it off whatever the environment says
            "DEBUG": "1",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def _serve(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(SERVE, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _descendants(root: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below root: honcho starts each of its processes in a
    session of its own, so killing make's process group alone would not reach them."""
    children: dict[int, list[tuple[int, str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append((int(stat.parent.name), fields[19]))
    found: set[tuple[int, str]] = set()
    todo = [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            found.add((pid, started))
            todo.append(pid)
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _stop(process: subprocess.Popen) -> None:
    below = _descendants(process.pid)
    try:
        os.killpg(process.pid, signal.SIGTERM)  # make and honcho; honcho stops gunicorn and the cluster
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    for pid, started in below | _descendants(process.pid):
        try:
            still_it = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19] == started
        except (OSError, IndexError):
            continue
        if still_it:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _fresh_database(name: str) -> str:
    base = os.environ.get("DATABASE_URL")
    if not base:
        return ""
    import psycopg

    parts = urlsplit(base)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
def server(s3_server):
    var_dir = Path(tempfile.mkdtemp(prefix="aigc-serve-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    name = f"prodserve_{secrets.token_hex(3)}"
    database_url = _fresh_database(name)
    env = _operator_env(
        var_dir,
        SITE_URL=url,
        ALLOWED_HOSTS="127.0.0.1",
        WEB_BIND=f"127.0.0.1:{port}",
        S3_ENDPOINT_URL=s3_server["endpoint"],
        S3_ACCESS_KEY=s3_server["access_key"],
        S3_SECRET_KEY=s3_server["secret_key"],
        S3_BUCKET=s3_server["bucket"],
        ENGINE_TOKEN=secrets.token_urlsafe(32),
        HEALTH_TOKEN=secrets.token_urlsafe(16),
        Q_CLUSTER_NAME=name,
        Q_WORKERS="2",
        SILENCED_SYSTEM_CHECKS=PLAIN_HTTP_CHECKS,
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    log_path = var_dir / "serve.log"
    process = _serve(env, log_path)
    try:
        ready = _wait_ready(process, url, env["HEALTH_TOKEN"], log_path)
        yield {"url": url, "ready": ready, "log": log_path, "process": process}
    finally:
        _stop(process)
        if database_url:
            _drop_database(database_url, name)
        shutil.rmtree(var_dir, ignore_errors=True)


def _wait_ready(process: subprocess.Popen, url: str, token: str, log_path: Path, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make serve exited ({process.returncode}):\n{log_path.read_text()[-4000:]}")
        try:
            response = requests.get(f"{url}/healthz/ready", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            last = response.text[:1000]
            if response.status_code == 200:
                return response.json()
        except requests.RequestException as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"not ready after {timeout} s: {last}\n{log_path.read_text()[-4000:]}")


def test_a_person_gets_a_picture_through_the_production_server(server):
    url, log = server["url"], server["log"]
    checks = server["ready"]["checks"]
    assert checks["database"]["detail"] == ("postgresql" if os.environ.get("DATABASE_URL") else "sqlite")
    assert ("Redis" in checks["broker"]["detail"]) == bool(os.environ.get("REDIS_URL")), checks["broker"]

    http = requests.Session()
    http.headers["Accept-Language"] = "en"
    signup = f"{url}/accounts/signup/"
    page = http.get(signup)
    assert page.headers["Server"].startswith("gunicorn"), page.headers  # not runserver
    response = http.post(
        signup,
        data={
            "username": "prodserve",
            "email": "",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "accept_terms": "on",
            "csrfmiddlewaretoken": _csrf(page.text),
        },
        headers={"Referer": signup},
    )
    assert response.status_code == 200 and "sessionid" in http.cookies, response.text[:1000]

    form = f"{url}/jobs/new/txt2img/"
    page = http.get(form)
    response = http.post(
        form,
        data={**txt2img_form("灯塔 a lighthouse at dawn", seed=11), "csrfmiddlewaretoken": _csrf(page.text)},
        headers={"Referer": form},
    )
    assert response.status_code == 200 and re.search(r"/jobs/[0-9a-f-]{36}/$", response.url), response.text[:1000]
    job_url = response.url

    deadline = time.monotonic() + 180
    status = "?"
    while time.monotonic() < deadline:
        fragment = http.get(job_url, headers={"HX-Request": "true"}).text
        status = re.search(r'data-status="([^"]+)"', fragment).group(1)
        if status not in ("queued", "submitted"):
            break
        time.sleep(0.5)
    assert status == "succeeded", f"job {status}\n{log.read_text()[-4000:]}"
    page = http.get(job_url).text
    picture = http.get(re.search(r'<img class="result" src="([^"]+)"', page).group(1).replace("&amp;", "&"))
    assert picture.status_code == 200 and picture.content[:4] == b"RIFF"  # the WebP preview, from S3

    health = requests.get(f"{url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json() == {"ok": True}

    # The stylesheet: collected, hashed, compressed and served by WhiteNoise through gunicorn.
    home = http.get(f"{url}/").text
    css = re.search(r'<link rel="stylesheet" href="(/static/css/site\.[0-9a-f]{12}\.css)"', home)
    assert css, "the page does not link a hashed stylesheet"
    response = requests.get(url + css.group(1), headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/css")
    assert response.headers.get("Content-Encoding") == "gzip" and "immutable" in response.headers["Cache-Control"]
    assert "body" in response.text

    # DEBUG is off although the environment said DEBUG=1: no debug page for a missing URL.
    missing = requests.get(f"{url}/no-such-page/", timeout=10)
    assert missing.status_code == 404 and "URLconf" not in missing.text


def test_a_connection_stays_open_through_a_pause_between_pages(server):
    """Fails before `keepalive = 75` in aigc_site/gunicorn_conf.py: gunicorn closed an idle
    connection after 2 s, shorter than a person's pause, and Locust's people (bench/load.py) saw
    "connection reset by peer" when a request met the closing. One raw connection, two requests
    3 s apart: the second is answered on the same socket."""
    host, port = server["url"].removeprefix("http://").split(":")
    request = f"GET /accounts/login/ HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        for pause in (0, 3):
            time.sleep(pause)
            connection.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = connection.recv(65536)
                assert chunk, f"the server closed the connection after a {pause} s pause"
                head += chunk
            assert head.startswith(b"HTTP/1.1 200"), head[:200]
            headers, _, body = head.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", headers).group(1))
            while len(body) < length:
                body += connection.recv(65536)


def test_stopping_it_stops_gunicorn_and_the_cluster(server):
    """Last in the module: stop the server the way the fixture does and look for survivors."""
    process = server["process"]
    below = _descendants(process.pid)
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid, _ in below}
    assert any(b"gunicorn" in cmd for cmd in commands.values()), commands
    assert any(b"qcluster" in cmd for cmd in commands.values()), commands
    _stop(process)
    deadline = time.monotonic() + 10  # a process killed a moment ago is a zombie until init reaps it
    while (survivors := [pid for pid in commands if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not survivors, {pid: commands[pid] for pid in survivors}


def test_it_refuses_to_start_without_a_secret_key(tmp_path):
    env = _operator_env(tmp_path)
    env.pop("SECRET_KEY")
    out = subprocess.run(SERVE, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in out.stderr
    assert not (tmp_path / "db.sqlite3").exists(), "it migrated before refusing"


def test_it_refuses_to_start_on_a_deploy_check_warning(tmp_path):
    """Plain HTTP with nothing silenced: `check --deploy` warns and nothing is started."""
    env = _operator_env(
        tmp_path,
        SITE_URL="http://aigc.example.com",
        S3_ACCESS_KEY="AKIAPRODUCTIONKEY",
        S3_SECRET_KEY="production-secret-" + "s" * 30,
        ENGINE_TOKEN=secrets.token_urlsafe(32),
    )
    out = subprocess.run(SERVE, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "security.W008" in out.stderr
    assert not (tmp_path / "db.sqlite3").exists(), "it migrated before refusing"
