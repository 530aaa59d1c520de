"""What the benchmarks share: statistics, the object store, sample images, a local HTTP server,
direct read-only database polling, and the JSON hand-over to bench/run_all.py.

Each benchmark is a script that runs on its own (`.venv/bin/python bench/loop.py --quick`) and
reads the backend from the environment like the site does: the embedded defaults (SQLite, the
ORM broker), or PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set. Everything binds
to 127.0.0.1. Figures are printed, never asserted: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Set by bench/run_all.py so all benchmarks of a run share one object store.
S3_ENV = "BENCH_S3"
PASSWORD = "bench-password-2026"
# Benchmarks submit faster than a person may; the per-user limits would only measure themselves.
NO_LIMITS = {"JOBS_MAX_IN_FLIGHT": "100000", "JOBS_MAX_PER_MINUTE": "100000"}


# --- statistics ---------------------------------------------------------------------------------


def percentile(values: Iterable[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Iterable[float]) -> dict[str, float | int]:
    """n, p50, p95, mean, min, max of a list of seconds (or any numbers)."""
    values = list(values)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50), 6),
        "p95": round(percentile(values, 0.95), 6),
        "mean": round(sum(values) / len(values), 6),
        "min": round(min(values), 6),
        "max": round(max(values), 6),
    }


def ms(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


# --- command line and hand-over -----------------------------------------------------------------


def arguments(description: str, **extra: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sample counts")
    parser.add_argument("--out", type=Path, help="write the result as JSON here (bench/run_all.py reads it)")
    for name, options in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", **options)
    return parser.parse_args()


def backend_name() -> str:
    database = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    broker = "redis" if os.environ.get("REDIS_URL") else "orm"
    return f"{database}+{broker}"


def finish(result: dict[str, Any], out: Path | None) -> None:
    result.setdefault("backend", backend_name())
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print(text)


_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


# --- the object store ---------------------------------------------------------------------------


@contextmanager
def object_store() -> Iterator[dict[str, Any]]:
    """The S3 server of this run: the one bench/run_all.py started (BENCH_S3), else a fresh
    SeaweedFS on free ports, stopped on exit. Yields the dict tests/stack.Stack expects."""
    from devstack import objectstore

    given = os.environ.get(S3_ENV)
    if given:
        server = json.loads(given)
        server["client"] = objectstore.client(server["endpoint"], server["access_key"], server["secret_key"])
        yield server
        return
    data_dir = Path(tempfile.mkdtemp(prefix="aigc-bench-weed-"))
    ports = objectstore.Ports.free()
    access, secret, bucket = "benchaccess", "benchsecret123", "aigc-bench"
    with open(data_dir / "weed.log", "wb") as weed_log:
        process = objectstore.start(data_dir, ports, access, secret, log_file=weed_log)
        endpoint = f"http://127.0.0.1:{ports.s3}"
        client = objectstore.client(endpoint, access, secret)
        try:
            objectstore.wait_until_ready(client, bucket, process=process)
            yield {"endpoint": endpoint, "access_key": access, "secret_key": secret, "bucket": bucket, "client": client}
        finally:
            objectstore.stop(process)
            shutil.rmtree(data_dir, ignore_errors=True)


def shareable(server: dict[str, Any]) -> str:
    return json.dumps({k: server[k] for k in ("endpoint", "access_key", "secret_key", "bucket")})


# --- sample pictures ----------------------------------------------------------------------------

_CACHE = Path(tempfile.gettempdir()) / "aigc-bench-samples"


def sample_png(side: int = 512, *, prompt: str = "玫瑰花 in a garden, mountains at sunset", seed: int = 42) -> bytes:
    """A picture like the offline engine's: its procedural renderer at 512x512; bigger sides are
    a Lanczos enlargement of that (what an upscale delivers), PNG-encoded. Cached between runs."""
    from PIL import Image as PILImage

    _CACHE.mkdir(exist_ok=True)
    digest = hashlib.sha256(f"{side}:{seed}:{prompt}".encode()).hexdigest()[:16]
    path = _CACHE / f"sample-{side}-{digest}.png"
    if path.exists():
        return path.read_bytes()
    from engine.render import procedural

    image = procedural.render_text_to_image(prompt, width=512, height=512, seed=seed)
    if side != 512:
        image = image.resize((side, side), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


# --- a local HTTP server (image host, fake provider) --------------------------------------------

Route = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes]]


class LocalHTTP:
    """A threaded HTTP server on 127.0.0.1 with exact-path routes (GET and POST).

    `fallback` answers any path without a route (the fake provider's /aigc/... paths)."""

    def __init__(self, routes: dict[str, Route] | None = None, *, fallback: Route | None = None):
        self.routes = dict(routes or {})
        self.fallback = fallback
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                route = owner.routes.get(self.path.split("?")[0]) or owner.fallback
                if route is None:
                    status, headers, payload = 404, {}, b""
                else:
                    status, headers, payload = route(self, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LocalHTTP:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def file_route(data: bytes, content_type: str = "image/png") -> Route:
    return lambda handler, body: (200, {"Content-Type": content_type}, data)


# --- the stack and its database -----------------------------------------------------------------


def make_stack(s3: dict[str, Any], *, extra_env: dict[str, str] | None = None, workers: int = 3):
    from tests.stack import Stack

    return Stack(s3, extra_env={**NO_LIMITS, **(extra_env or {})}, workers=workers)


def discard_stack(stack: Any) -> None:
    """Stop its processes, drop its PostgreSQL database and remove its temporary folder."""
    try:
        stack.stop()
    finally:
        shutil.rmtree(stack.dir, ignore_errors=True)


def setup_django_in_process(stack: Any, **overrides: str) -> None:
    """Configure Django in this process exactly like the stack's processes (same database, same
    object store), migrated, then apply `overrides` (DEBUG=0 for honest server timings...)."""
    stack.manage("migrate", "--noinput", timeout=600)
    for key in [k for k in os.environ if k.startswith(("APISPACE_", "ENGINE_", "S3_", "Q_"))]:
        os.environ.pop(key)
    os.environ.update(stack.env)
    os.environ.update(overrides)
    import django

    django.setup()


class DirectDB:
    """Read-only polling of a stack's database without starting a Django process each time
    (stack.shell costs a second or two). SQL uses %s placeholders; UUIDs are passed as hex."""

    def __init__(self, stack: Any):
        self.postgres = bool(stack.database_url)
        if self.postgres:
            import psycopg

            self.connection = psycopg.connect(stack.database_url, autocommit=True)
        else:
            self.connection = sqlite3.connect(f"file:{stack.dir / 'db.sqlite3'}?mode=ro", uri=True, timeout=20)

    def uuid(self, value: Any) -> Any:
        """A UUID as the column stores it: uuid on PostgreSQL, 32 hex characters on SQLite."""
        import uuid

        value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return value if self.postgres else value.hex

    def scalar(self, sql: str, *params: Any) -> Any:
        if not self.postgres:
            sql = sql.replace("%s", "?")
        row = self.connection.execute(sql, params).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.connection.close()


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str = "") -> float:
    """Poll until predicate() is true; returns the time.time() it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.time()
        time.sleep(interval)
    raise TimeoutError(f"gave up waiting after {timeout:.0f} s: {what}")


def stack_json(stack: Any, code: str) -> Any:
    """Run code in `manage.py shell` on the stack; it must print one JSON document last."""
    out = stack.shell(code)
    return json.loads(out.strip().splitlines()[-1])


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
