"""The site as production runs it, for the scale-out and load benchmarks: gunicorn web servers
(aigc_site/gunicorn_conf.py, as Procfile.prod starts them) and django-q2 worker clusters,
spawned as separate processes into a tests/stack.Stack with DEBUG off, and users seeded in bulk.

Each web server has its own address, and the worker cluster paired with it uses that address
as SITE_URL: the offline engine it posts to and the callback URL it hands out are that
server's, as each machine of a pair would use its own. Every process allows ingest from every
web server's engine (a job posted by one cluster may be ingested by the other).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from common import ROOT, log

GUNICORN = Path(sys.executable).parent / "gunicorn"
FINISHED = ("succeeded", "failed", "unsafe", "timed_out", "cancelled")


def production_stack(s3: dict[str, Any], *, servers: int, workers: int, extra_env: dict[str, str] | None = None):
    """A Stack with DEBUG off, migrated and its static files collected, no process started yet;
    its web servers' URLs (the first one is stack.url)."""
    from tests.stack import Stack, _free_port

    ports = [None, *(_free_port() for _ in range(servers - 1))]
    stack = Stack(s3, extra_env=extra_env, workers=workers, debug=False)
    ports[0] = stack.port
    hosts = ",".join(f"127.0.0.1:{port}" for port in ports)
    stack.env.update(INGEST_ALLOWED_HOSTS=hosts, INGEST_PRIVATE_HOSTS_ALLOWED=hosts)
    stack.manage("migrate", "--noinput", timeout=600)
    stack.manage("collectstatic", "--noinput", timeout=600)
    return stack, [f"http://127.0.0.1:{port}" for port in ports]


def start_web(stack, name: str, url: str, *, extra_env: dict[str, str] | None = None) -> None:
    """gunicorn at `url`, its output in the stack's folder; stack.stop() ends it."""
    port = url.rsplit(":", 1)[1]
    log_file = open(stack.dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    stack.processes[name] = subprocess.Popen(
        [str(GUNICORN), "--config", "aigc_site/gunicorn_conf.py"],
        cwd=ROOT,
        env={**stack.env, "WEB_BIND": f"127.0.0.1:{port}", "SITE_URL": url, **(extra_env or {})},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_cluster(stack, name: str, site_url: str) -> None:
    stack._spawn(name, "qcluster", extra_env={"SITE_URL": site_url})


def start(stack, urls: list[str], *, clusters: int) -> None:
    """One gunicorn per URL and `clusters` worker clusters (the n-th paired with the n-th
    server), then wait until every server answers /healthz/ready."""
    for number, url in enumerate(urls):
        start_web(stack, f"web{number}", url)
    for number in range(clusters):
        start_cluster(stack, f"worker{number}", urls[number % len(urls)])
    for url in urls:
        wait_ready(stack, url)


def wait_ready(stack, url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{stack.log(name)[-3000:]}")
        try:
            response = requests.get(
                f"{url}/healthz/ready", headers={"Authorization": f"Bearer {stack.env['HEALTH_TOKEN']}"}, timeout=10
            )
            last = response.text[:500]
            if response.status_code == 200:
                return response.json()
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout} s: {last}\n{stack.log('web0')[-3000:]}")


SEED_USERS = """
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from gallery import credits
User = get_user_model()
hashed = make_password(args['password'])
names = [f"{args['prefix']}{n:04d}" for n in range(args['count'])]
User.objects.bulk_create([User(username=name, password=hashed) for name in names])
for user in User.objects.filter(username__in=names):
    credits.grant(user=user, amount=args['amount'], reason='benchmark')
result = names
"""


def seed_users(stack, prefix: str, count: int, *, password: str, credits_amount: int) -> list[str]:
    """`count` users with one password (hashed once: hashing it per user would take minutes)
    and `credits_amount` credits each, granted through the ledger; their names."""
    started = time.monotonic()
    names = stack._query(SEED_USERS, prefix=prefix, count=count, password=password, amount=credits_amount)
    log(f"seeded {count} users in {time.monotonic() - started:.1f} s")
    return names


def login(url: str, username: str, password: str) -> requests.Session:
    """A session logged in through the login form of the server at `url`."""
    http = requests.Session()
    http.headers["Accept-Language"] = "en"
    http.get(f"{url}/accounts/login/", timeout=60)
    response = http.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=60,
    )
    response.raise_for_status()
    if "sessionid" not in http.cookies:
        raise RuntimeError(f"login of {username} at {url} failed")
    return http


def form_defaults(stack) -> dict:
    """What a person submits on the text-to-image form by default (tests/helpers.py), asked of
    the site's Django: the prompt and the seed are the caller's to set."""
    return stack._query("from tests.helpers import txt2img_form\nresult = txt2img_form('a garden')")
