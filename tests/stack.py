"""The whole site as real processes, for end-to-end tests, browser journeys and benchmarks.

Like `make run`: a web server, a django-q2 worker cluster and the offline engine (mounted in
the web server), on the session's SeaweedFS. The database is a fresh SQLite file, or a fresh
PostgreSQL database when DATABASE_URL is set; the broker is the ORM, or Redis when REDIS_URL
is set. Tests talk to it only over HTTP, and ask it about invariants with manage.py commands.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(self, s3: dict, *, extra_env: dict[str, str] | None = None, workers: int = 3):
        self.dir = Path(tempfile.mkdtemp(prefix="aigc-stack-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = f"stack{secrets.token_hex(3)}"
        self.database_url = self._fresh_database()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("APISPACE_", "ENGINE_", "S3_", "Q_", "PYTEST", "DJANGO_ALLOW"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "aigc_site.settings",
                "DEBUG": "1",
                "SECRET_KEY": "stack-" + secrets.token_hex(16),
                # wait_healthy asks /healthz/ready, which answers staff or this token only.
                "HEALTH_TOKEN": "stack-ready-" + secrets.token_hex(8),
                "VAR_DIR": str(self.dir),
                "SITE_URL": self.url,
                "S3_ENDPOINT_URL": s3["endpoint"],
                "S3_ACCESS_KEY": s3["access_key"],
                "S3_SECRET_KEY": s3["secret_key"],
                "S3_BUCKET": s3["bucket"],
                "ENGINE_FAULTS_ENABLED": "1",
                "ENGINE_TOKEN": "stack-engine-" + secrets.token_hex(16),
                "ENGINE_CALLBACK_INTERVAL": "0.5",
                # A slow image host is given up on after connect + 2 x read = 9 s, not 65 s.
                "INGEST_READ_TIMEOUT": "3",
                "Q_SYNC": "0",
                "Q_CLUSTER_NAME": self.name,
                "Q_WORKERS": str(workers),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        else:
            env.pop("DATABASE_URL", None)
        env.update(extra_env or {})
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    # --- database ---

    def _fresh_database(self) -> str:
        base = os.environ.get("DATABASE_URL")
        if not base:
            return ""
        import psycopg

        parts = urlsplit(base)
        self.pg_name = f"aigc_{self.name}"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.pg_name}"')
        return urlunsplit(parts._replace(path=f"/{self.pg_name}"))

    def _drop_database(self) -> None:
        if not self.database_url:
            return
        import psycopg

        admin = urlunsplit(urlsplit(self.database_url)._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    # --- processes ---

    def manage(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def _spawn(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> None:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.processes[name] = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            # its own process group, so a kill takes the cluster's worker children too
            start_new_session=True,
        )

    def start(self) -> Stack:
        self.manage("migrate", "--noinput")
        self._spawn("web", "runserver", f"127.0.0.1:{self.port}", "--noreload")
        self.start_worker()
        self.wait_healthy()
        return self

    def start_worker(self, *, extra_env: dict[str, str] | None = None) -> None:
        self._spawn("worker", "qcluster", extra_env=extra_env)

    def stop_worker(self, *, kill: bool = False) -> None:
        process = self.processes.pop("worker", None)
        if process is None:
            return
        if kill:  # like a machine losing the process: no chance to finish or acknowledge
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def wait_healthy(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log(name)}")
            try:
                response = requests.get(
                    f"{self.url}/healthz/ready",
                    headers={"Authorization": f"Bearer {self.env['HEALTH_TOKEN']}"},
                    timeout=10,
                )
                last = response.json()
                if response.status_code == 200:
                    return last
            except (requests.RequestException, ValueError) as exc:
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"stack not healthy after {timeout} s: {last}\n{self.log('web')[-3000:]}")

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        processes = list(self.processes.values())
        self.processes.clear()
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + 10
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._drop_database()

    # --- questions to the running site ---

    def invariants(self) -> dict:
        result = self.manage("check_invariants", check=False)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def shell(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code).stdout

    def create_user(self, username: str, password: str, *, credits_amount: int = 50, staff: bool = False) -> None:
        self.shell(
            "from django.contrib.auth import get_user_model; from gallery import credits; "
            f"u = get_user_model().objects.create_user({username!r}, password={password!r}, "
            f"is_staff={staff}, is_superuser={staff}); "
            f"credits.grant(user=u, amount={credits_amount}, reason='test') if {credits_amount} else None"
        )

    def session(self, username: str, password: str) -> requests.Session:
        """A logged-in browser-like session (cookies, CSRF) using the real login form."""
        http = requests.Session()
        http.headers["Accept-Language"] = "en"  # the tests read English; Chinese is the default
        http.get(f"{self.url}/accounts/login/")
        response = http.post(
            f"{self.url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
            headers={"Referer": f"{self.url}/accounts/login/"},
        )
        response.raise_for_status()
        assert "sessionid" in http.cookies, "login failed"
        return http

    @staticmethod
    def post_form(http: requests.Session, url: str, data: dict, files: dict | None = None) -> requests.Response:
        return http.post(
            url, data={**data, "csrfmiddlewaretoken": http.cookies["csrftoken"]}, files=files, headers={"Referer": url}
        )

    def wait_for_job(self, http: requests.Session, job_url: str, *, timeout: float = 60) -> str:
        """Poll the job page like the browser's htmx does; returns the final status."""
        deadline = time.monotonic() + timeout
        status = "?"
        while time.monotonic() < deadline:
            page = http.get(job_url, headers={"HX-Request": "true"}).text
            marker = 'data-status="'
            status = page[page.index(marker) + len(marker) :].split('"', 1)[0]
            if status not in ("queued", "submitted"):
                return status
            time.sleep(0.3)
        raise AssertionError(f"job still {status} after {timeout} s\n{self.log('worker')[-3000:]}")
