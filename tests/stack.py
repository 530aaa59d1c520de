"""The whole site as real processes, for end-to-end tests, browser journeys and benchmarks.

Like `make run`: a web server, a django-q2 worker cluster and the offline engine (mounted in
the web server), on the session's SeaweedFS. The database is a fresh SQLite file, or a fresh
PostgreSQL database when DATABASE_URL is set; the broker is the ORM, or Redis when REDIS_URL
is set. Tests talk to it only over HTTP, and ask it about invariants with manage.py commands.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from devstack import objectstore
from tests.helpers import txt2img_form

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ObjectStore:
    """A SeaweedFS of its own, for a stack whose object store a test stops and starts again
    (the session's, in tests/conftest.py, is shared by every test). Its data survives a stop."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="aigc-weed-"))
        self.ports = objectstore.Ports.free()
        self.endpoint = f"http://127.0.0.1:{self.ports.s3}"
        self.access_key, self.secret_key, self.bucket = "outageaccess", "outagesecret123", "aigc-outage"
        self.process: subprocess.Popen | None = None

    def s3(self) -> dict:
        """What Stack takes as its S3."""
        return {
            "endpoint": self.endpoint,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "bucket": self.bucket,
        }

    def start(self) -> ObjectStore:
        """Start it (again, on the same ports and data) and wait until a write and a read work."""
        log = open(self.dir / "weed.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.process = objectstore.start(self.dir, self.ports, self.access_key, self.secret_key, log_file=log)
        client = objectstore.client(self.endpoint, self.access_key, self.secret_key)
        objectstore.wait_until_ready(client, self.bucket, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            objectstore.stop(self.process)
            self.process = None


class Stack:
    def __init__(self, s3: dict, *, extra_env: dict[str, str] | None = None, workers: int = 3, debug: bool = True):
        """`debug=False` runs the site as production does (DEBUG off, static files collected and
        served by WhiteNoise, Django's own error pages never shown)."""
        self.debug = debug
        self.dir = Path(tempfile.mkdtemp(prefix="aigc-stack-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Where a test may run a webhook receiver: the one private address the site POSTs to.
        self.webhook_port = _free_port()
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
                "DEBUG": "1" if debug else "0",
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
                "WEBHOOK_PRIVATE_HOSTS_ALLOWED": f"127.0.0.1:{self.webhook_port}",
                "WEBHOOK_BACKOFF_SECONDS": "1",
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

    def manage(
        self, *args: str, check: bool = True, timeout: float = 120, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
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
        if not self.debug:
            self.manage("collectstatic", "--noinput")
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
    #
    # The site's database belongs to its processes (a SQLite file they hold, or a PostgreSQL
    # database of their own), so each question is one `manage.py shell` run in the site's
    # environment: a second or two. Tests ask these named questions; none builds Python source.

    def invariants(self) -> dict:
        result = self.manage("check_invariants", check=False)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def shell(self, code: str) -> str:
        """Run `code` in the site's Django shell; its output. For the benchmarks' own questions."""
        return self.manage("shell", "--no-imports", "-c", code).stdout

    def _query(self, code: str, **args: Any) -> Any:
        """Run `code` in the site's Django shell with `args` (JSON values) bound to the dict
        `args`; `code` sets `result`, which comes back through JSON. The values travel in the
        environment, never pasted into the source."""
        prologue = "import json, os\nargs = json.loads(os.environ['STACK_QUERY_ARGS'])\n"
        program = f"{prologue}{code}\nprint(json.dumps(result))"
        output = self.manage(
            "shell", "--no-imports", "-c", program, extra_env={"STACK_QUERY_ARGS": json.dumps(args)}
        ).stdout
        return json.loads(output.strip().splitlines()[-1])

    def create_user(self, username: str, password: str, *, credits_amount: int = 50, staff: bool = False) -> None:
        self._query(
            "from django.contrib.auth import get_user_model\n"
            "from gallery import credits\n"
            "u = get_user_model().objects.create_user(args['username'], password=args['password'], "
            "is_staff=args['staff'], is_superuser=args['staff'])\n"
            "if args['amount']:\n"
            "    credits.grant(user=u, amount=args['amount'], reason='test')\n"
            "result = u.pk",
            username=username,
            password=password,
            staff=staff,
            amount=credits_amount,
        )

    def seed_pictures(self, username: str, prompts: list[str]) -> list[str]:
        """Real pictures (PNG original and WebP thumbnail and preview in the stack's S3) in the
        user's gallery, made as tests.factories.stored_image makes them, the first prompt the
        newest; their ids."""
        return self._query(
            "from datetime import timedelta\n"
            "from django.contrib.auth import get_user_model\n"
            "from django.utils import timezone\n"
            "from tests.factories import stored_image\n"
            "owner = get_user_model().objects.get(username=args['username'])\n"
            "now = timezone.now()\n"
            "result = [str(stored_image(owner, prompt=text, size=(384, 288), colour=(40 + 20 * n, 120, 200 - 15 * n), "
            "created_at=now - timedelta(minutes=n)).id) for n, text in enumerate(args['prompts'])]",
            username=username,
            prompts=prompts,
        )

    def pictures_of(self, username: str) -> dict[str, dict]:
        """The user's pictures as stored: id -> rating, triage, favourite, whether in the trash."""
        return self._query(
            "from gallery.models import Image\n"
            "result = {str(i.id): {'rating': i.rating, 'triage': i.triage, 'favourite': i.is_favourite, "
            "'trashed': i.trashed_at is not None} for i in Image.objects.filter(owner__username=args['username'])}",
            username=username,
        )

    def api_token(self, username: str, *, scope: str = "write") -> dict:
        """A personal access token of `username`, as its profile page makes one: the token and
        the webhook signing secret."""
        return self._query(
            "from django.contrib.auth import get_user_model\n"
            "from gallery import api_tokens\n"
            "issued = api_tokens.issue(owner=get_user_model().objects.get(username=args['username']), "
            "name='stack test', scope=args['scope'])\n"
            "result = {'token': issued.plaintext, 'secret': issued.token.webhook_secret}",
            username=username,
            scope=scope,
        )

    def debits_of(self, username: str) -> int:
        """How many debits the user's ledger holds."""
        return self._query(
            "from gallery.models import CreditTransaction\n"
            "result = CreditTransaction.objects.filter(user__username=args['username'], kind='debit').count()",
            username=username,
        )

    def job_status(self, job_id: str) -> str:
        """The job's status as stored (Job.status)."""
        return self._query(
            "from gallery.models import Job\nresult = Job.objects.get(id=args['job']).status", job=job_id
        )

    def wait_for_status(self, job_id: str, wanted: set[str], *, timeout: float = 60) -> str:
        """Ask for the job's stored status until it is one of `wanted`; returns it."""
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            status = self.job_status(job_id)
            if status in wanted:
                return status
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} is {status}, wanted {wanted}\n{self.log('worker')[-2000:]}")

    def image_count(self, job_id: str) -> int:
        """How many gallery images the job has (one at most, if ingest is right)."""
        return self._query(
            "from gallery.models import Image\nresult = Image.objects.filter(job_id=args['job']).count()", job=job_id
        )

    def debit_count(self, job_id: str) -> int:
        """How many times the job was charged (its debit rows in the ledger)."""
        return self._query(
            "from gallery.models import CreditTransaction\n"
            "result = CreditTransaction.objects.filter(job_id=args['job'], kind='debit').count()",
            job=job_id,
        )

    def notify_url(self, job_id: str) -> str:
        """The job's callback URL with its token, as the site gave it to the provider."""
        return self._query("from gallery import tokens\nresult = tokens.notify_url(args['job'])", job=job_id)

    def first_callback_body(self, job_id: str) -> dict | None:
        """The body of the first callback the provider delivered for the job, as recorded."""
        return self._query(
            "from gallery.models import CallbackDelivery\n"
            "first = CallbackDelivery.objects.filter(job_id=args['job']).first()\n"
            "result = first.body if first else None",
            job=job_id,
        )

    def planned_ingest_retries(self, job_id: str) -> int:
        """How many later ingest attempts of the job are scheduled (django-q2 schedules)."""
        return self._query(
            "from django_q.models import Schedule\n"
            "result = Schedule.objects.filter(name__startswith=f\"gallery.tasks.ingest_result:{args['job']}\").count()",
            job=job_id,
        )

    def backdate_and_sweep(self, job_id: str, *, ask_provider: bool = True) -> str:
        """Pretend the job was submitted two hours ago, run the stale-job sweep once, in one go,
        and return the job's status after it. Without `ask_provider` the sweep runs as with
        APISpace's documented surface, which has no status call."""
        return self._query(
            "from datetime import timedelta\n"
            "from django.conf import settings\n"
            "from django.utils import timezone\n"
            "from gallery.models import Job\n"
            "from gallery.tasks import sweep_stale_jobs\n"
            "if not args['ask_provider']:\n"
            "    settings.APISPACE_STATUS_PATH = ''\n"
            "Job.objects.filter(id=args['job']).update(submitted_at=timezone.now() - timedelta(hours=2))\n"
            "sweep_stale_jobs()\n"
            "result = Job.objects.get(id=args['job']).status",
            job=job_id,
            ask_provider=ask_provider,
        )

    # --- a user's view of it, over HTTP ---

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

    def submit(self, http: requests.Session, prompt: str, **extra: Any) -> str:
        """Send the text-to-image form as the user would (seed 42); returns the new job's page URL."""
        url = f"{self.url}/jobs/new/txt2img/"
        http.get(url)
        response = self.post_form(http, url, txt2img_form(prompt, seed=42, **extra))
        assert response.status_code == 200, response.text[:500]
        assert "/jobs/" in response.url and response.url != url, "the form did not create a job"
        return response.url

    @staticmethod
    def job_id(job_url: str) -> str:
        return job_url.rstrip("/").rsplit("/", 1)[-1]

    def readiness(self) -> tuple[int, dict]:
        """/healthz/ready as a monitor holding HEALTH_TOKEN sees it: the status code and the body."""
        response = requests.get(
            f"{self.url}/healthz/ready", headers={"Authorization": f"Bearer {self.env['HEALTH_TOKEN']}"}, timeout=60
        )
        return response.status_code, response.json()

    def balance(self, http: requests.Session) -> int:
        """The balance the user's credits page shows."""
        page = http.get(f"{self.url}/credits/").text
        return int(re.search(r'data-testid="credit-balance">[^0-9]*(\d+)', page).group(1))
