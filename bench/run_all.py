"""`make bench`: every benchmark, on the embedded defaults and on PostgreSQL + Redis.

    .venv/bin/python bench/run_all.py            # the full run (~10-12 min on 2 shared cores)
    .venv/bin/python bench/run_all.py --quick    # smaller samples, a 20,000-image gallery (~4-5 min)
    .venv/bin/python bench/run_all.py --only loop,ingest --backends embedded

Each benchmark is a script of its own in bench/ and runs here as a subprocess with the
backend's environment: the embedded defaults (SQLite + the ORM broker), then — when PostgreSQL
answers at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 — again with
DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (each benchmark makes a fresh database
next to it and drops it) and REDIS_URL=redis://127.0.0.1:6379/8. One SeaweedFS serves the whole
run. The 4x upscale does not touch the database or the broker and runs once. The scale-out
(two web servers and two worker clusters beside one of each) and the Locust load (200 people
for 5 minutes on gunicorn) run on PostgreSQL + Redis only, and add ~12 minutes to a full run.

Prints a table, writes everything as JSON to artifacts/bench.json and prints that too. Figures
are printed, never asserted: the machines are shared and noisy (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, S3_ENV, log, ms, object_store, port_answers, shareable

BENCH = Path(__file__).resolve().parent
ARTIFACT = ROOT / "artifacts" / "bench.json"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/8"
PER_BACKEND = ("loop", "ingest", "gallery_page", "search", "callbacks", "browser_gallery")
# Several machines' worth of processes on one database and broker, and a production server under
# Locust: PostgreSQL + Redis only (the embedded SQLite file and ORM broker belong to one machine).
SHARED_BACKEND = ("scale_out", "load")
ONCE = ("upscale", "moderation")  # no database or broker of the backend involved
ALL = (*PER_BACKEND, *SHARED_BACKEND, *ONCE)
TIMEOUT = 1200


def postgres_and_redis() -> tuple[bool, str]:
    """Do PostgreSQL and Redis answer (and accept us), as the second backend needs?"""
    if not (port_answers("127.0.0.1", 5432) and port_answers("127.0.0.1", 6379)):
        return False, "PostgreSQL at 127.0.0.1:5432 or Redis at 127.0.0.1:6379 does not answer"
    try:
        import psycopg
        import redis

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=5):
            pass
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except Exception as exc:  # any refusal means: skip this backend and say why
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def backend_env(name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if name == "postgres+redis":
        env.update(DATABASE_URL=POSTGRES_URL, REDIS_URL=REDIS_URL)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_script(script: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run bench/<script>.py; its progress goes to our stderr, its JSON comes back."""
    with tempfile.TemporaryDirectory(prefix="aigc-bench-") as folder:
        out = Path(folder) / "result.json"
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, str(BENCH / f"{script}.py"), *args, "--out", str(out)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        tail: deque[str] = deque(maxlen=30)

        def relay() -> None:
            for line in process.stderr:
                tail.append(line)
                sys.stderr.write(f"    {line}")

        relay_thread = threading.Thread(target=relay, daemon=True)
        relay_thread.start()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        relay_thread.join(timeout=5)
        seconds = round(time.monotonic() - started, 1)
        if process.returncode == 0 and out.exists():
            return {**json.loads(out.read_text()), "seconds": seconds}
        return {"error": f"exit status {process.returncode}", "log_tail": "".join(tail)[-3000:], "seconds": seconds}


def run_upscale(quick: bool, env: dict[str, str]) -> dict[str, Any]:
    """bench/superres.py: every model at 512 and 768 px (x4plus at 512 only) beside a
    bare ncnn run and Lanczos; --quick: the default model at 512 px. bench/upscale.py if it fails."""
    if (BENCH / "superres.py").exists():
        args = ["--quick", "--sizes", "512"] if quick else []
        result = run_script("superres", args, env)
        row = next((r for r in result.get("rows", []) if r.get("size") == 512), None)
        if row:
            return {
                "source": "bench/superres.py",
                "model": row["model"],
                "label": row["label"],
                "threads": row["threads"],
                "tile": row["tile"],
                "runs": row["runs"],
                "upscale_seconds": row["engine"]["median_s"],
                "bare_ncnn_seconds": row["bare"]["median_s"],
                "lanczos_seconds": row["lanczos"]["median_s"],
                "peak_mb": row["engine"]["peak_mb"],
                "load_average_before": result.get("load_average_before"),
                "seconds": result.get("seconds"),
            }
        log("bench/superres.py gave no 512 px row; timing upscale_4x directly")
    result = run_script("upscale", ["--quick"] if quick else [], env)
    if "error" in result:
        return result
    return {"source": "bench/upscale.py", **result, "upscale_seconds": result["upscale"]["p50"]}


# --- the table ----------------------------------------------------------------------------------


def _pair(stats: dict) -> str:
    return f"{ms(stats['p50'])} / {ms(stats['p95'])}" if stats.get("n") else "-"


def _kib(value: float) -> str:
    return f"{value / 1024:.0f} KiB"


def _ingest(result: dict, side: str) -> str:
    size = result["ingest"]["sizes"][side]
    return f"{ms(size['ours']['p50'])} / {ms(size['floor']['p50'])} = {size['ratio_p50']}x"


def _deep_page(result: dict) -> tuple[str, dict]:
    return next((key, value) for key, value in result["gallery_page"].items() if key.startswith("page_"))


def _growth(result: dict, page: str) -> str:
    """p50 at each size of bench/gallery_page.py's growing database, then last / first."""
    growth = result["gallery_page"]["growth"]
    sizes = " / ".join(f"{ms(step[page]['server_time']['p50'])}" for step in growth["steps"])
    rows = " / ".join(f"{step['rows'] // 1000:,}k" for step in growth["steps"])
    return f"{sizes} at {rows} rows = {growth[page]['p50_ratio']}x"


def _page_cost(page: dict) -> str:
    return f"{page['queries']['max']} queries, {_kib(page['page_weight_bytes'])}"


def _throughput(result: dict) -> str:
    run = result["callbacks"]
    return (
        f"{run['ingests_per_second']:.1f}/s ({run['ingests_per_second_steady']:.1f}/s) / floor "
        f"{run['floor_per_second']:.1f}/s = {run['ratio']:.2f}x, {run['jobs']} jobs, {run['workers']} workers"
    )


def _browser(run: dict) -> str:
    first, second = run["first_visit"], run["second_visit"]
    return (
        f"{_kib(first['thumbnail_bytes'])} / {_kib(second['thumbnail_bytes'])} "
        f"({second['from_cache']} of {second['thumbnails']} from the browser cache)"
    )


def _search_cost(result: dict) -> str:
    run = result["search"]
    queries = max(data["queries"]["max"] for data in run["searches"].values())
    return f"{queries} queries, {run['rows']:,} ({run['owner_rows']:,})"


def _scale_out(result: dict) -> str:
    run = result["scale_out"]
    one, two = run["one_server_one_cluster"], run["two_servers_two_clusters"]
    return f"{two['jobs_per_second']:.2f} / {one['jobs_per_second']:.2f} jobs/s = {run['ratio']}x, {run['jobs']} jobs"


def _exactly_once(result: dict) -> str:
    run = result["scale_out"]
    return (
        f"once: {'yes' if run['exactly_once_ok'] else 'NO'}, invariants: {'ok' if run['invariants_ok'] else 'BROKEN'}"
    )


def _load(result: dict) -> str:
    run = result["load"]
    return (
        f"{run['requests_per_second']:.1f} req/s, {run['failures']} failures of {run['requests']:,} "
        f"({run['users']} people, {run['seconds']} s)"
    )


def _load_page(result: dict, name: str) -> str:
    """p50 / p95 over the whole run, then once every person had arrived (the log-ins' ramp over)."""
    whole, steady = result["load"]["pages"][name], result["load"]["steady"]["pages"].get(name)
    text = f"{whole['p50_ms']:.0f} ms / {whole['p95_ms']:.0f} ms"
    return text + (f" (steady {steady['p50_ms']:.0f} / {steady['p95_ms']:.0f})" if steady else "")


# (label, how to render one backend's results); a KeyError or the like renders as "-".
ROWS: list[tuple[str, Any]] = [
    ("1. submit → provider received, p50 / p95", lambda r: _pair(r["loop"]["submit_to_provider"])),
    (
        "2. callback → image visible (512² PNG), p50 / p95 (target 75 / 150 ms; ORM p50 150)",
        lambda r: _pair(r["loop"]["callback_to_visible"]),
    ),
    ("   (form POST → image visible, end to end)", lambda r: _pair(r["loop"]["submit_to_visible"])),
    ("3. ingest 512² PNG: ours / floor (p50) = ratio (target <= 1.0x)", lambda r: _ingest(r, "512")),
    ("3. ingest 2048² PNG: ours / floor (p50) = ratio (target <= 1.0x)", lambda r: _ingest(r, "2048")),
    (
        "4. gallery, first page: server p50 / p95 (target p95 30 ms)",
        lambda r: _pair(r["gallery_page"]["first_page"]["server_time"]),
    ),
    (
        "   first page, signing all 48 URLs: p50 / p95",
        lambda r: _pair(r["gallery_page"]["first_page"]["server_time_signing_all"]),
    ),
    ("   first page: SQL queries (target 6), page weight", lambda r: _page_cost(r["gallery_page"]["first_page"])),
    (
        "   deep page (keyset cursor): server p50 / p95",
        lambda r: f"{_pair(_deep_page(r)[1]['server_time'])} ({_deep_page(r)[0].replace('_', ' ')})",
    ),
    ("   deep page: SQL queries, page weight", lambda r: _page_cost(_deep_page(r)[1])),
    (
        "   rows in the database (the owner's)",
        lambda r: f"{r['gallery_page']['rows']:,} ({r['gallery_page']['owner_rows']:,})",
    ),
    ("   as it grows, first page p50 (PostgreSQL; target 1.2x)", lambda r: _growth(r, "first_page")),
    ("   as it grows, middle page p50 (PostgreSQL; target 1.2x)", lambda r: _growth(r, "middle_page")),
    ("5. offline engine 4x upscale 512→2048", None),
    ("6. sustained ingests/s: whole run (steady) / floor = ratio (target >= 0.8x)", _throughput),
    ("7. screening a 1,000-char prompt, full word list", None),
    ("8. gallery in chromium, thumbnail bytes: 1st / 2nd visit (target 0)", lambda r: _browser(r["browser_gallery"])),
    (
        "   last thumbnail painted: 1st / 2nd visit",
        lambda r: "{:.0f} ms / {:.0f} ms".format(
            r["browser_gallery"]["first_visit"]["last_thumbnail_painted_ms"],
            r["browser_gallery"]["second_visit"]["last_thumbnail_painted_ms"],
        ),
    ),
    (
        "9. search 城堡 + kind + rating, first page: p50 / p95 (target 50 ms)",
        lambda r: _pair(r["search"]["searches"]["城堡"]["server_time"]),
    ),
    (
        "   search 白色城堡 (trigram-indexed): p50 / p95",
        lambda r: _pair(r["search"]["searches"]["白色城堡"]["server_time"]),
    ),
    ("   search: SQL queries (target 8), rows (the owner's)", _search_cost),
    ("10. scale-out jobs/s: 2 servers + 2 clusters / 1 + 1 = ratio", _scale_out),
    ("    each job 1 POST, 1 image, 1 debit; check_invariants", _exactly_once),
    ("11. Locust on gunicorn: requests/s, failures (target 0)", _load),
    ("    gallery under load p50 / p95 (target p95 100 ms)", lambda r: _load_page(r, "gallery")),
    (
        "    image page / thumbnail (S3) under load p50 / p95",
        lambda r: _load_page(r, "image page") + " · " + _load_page(r, "thumbnail (S3, presigned)"),
    ),
    (
        "    submit job under load p50 / p95; invariants after",
        lambda r: _load_page(r, "submit job") + f", invariants {'ok' if r['load']['invariants_ok'] else 'BROKEN'}",
    ),
]


def _once(label: str, upscale: dict, moderation: dict) -> str:
    """The figures measured once for the machine (shown in the first column)."""
    if label.startswith("5."):
        seconds = upscale.get("upscale_seconds")
        return f"{seconds:.2f} s ({upscale.get('label', upscale.get('model'))})" if seconds else "-"
    try:
        match, screen = moderation["match"]["mixed"]["p50"], moderation["screen_prompt"]["p50"]
        return (
            f"{match * 1e6:.0f} µs p50 (target {moderation['target_seconds'] * 1e6:.0f} µs; "
            f"{screen * 1e6:.0f} µs with the freshness query), {moderation['words']} words"
        )
    except (KeyError, TypeError):
        return "-"


def table_rows(backends: dict[str, dict], upscale: dict, moderation: dict) -> list[tuple[str, list[str]]]:
    rows = []
    for label, render in ROWS:
        if render is None:  # one figure for the machine, shown in the first column
            rows.append((label, [_once(label, upscale, moderation)] + [""] * (len(backends) - 1)))
            continue
        cells = []
        for result in backends.values():
            try:
                cells.append(render(result))
            except (KeyError, TypeError, StopIteration, ZeroDivisionError):  # failed: the error is in the JSON
                cells.append("-")
        rows.append((label, cells))
    return rows


def print_table(backends: dict[str, dict], upscale: dict, moderation: dict) -> str:
    rows = table_rows(backends, upscale, moderation)
    names = list(backends)
    width0 = max(len(label) for label, _ in rows)
    widths = [max(len(name), *(len(cells[i]) for _, cells in rows)) for i, name in enumerate(names)]
    lines = [
        " | ".join([" " * width0, *(name.ljust(w) for name, w in zip(names, widths, strict=True))]),
        "-+-".join(["-" * width0, *("-" * w for w in widths)]),
    ]
    for label, cells in rows:
        lines.append(" | ".join([label.ljust(width0), *(c.ljust(w) for c, w in zip(cells, widths, strict=True))]))
    text = "\n".join(lines)
    print(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples and a 20,000-image gallery (~4-5 min)")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of: {', '.join(ALL)}")
    parser.add_argument("--backends", default="embedded,postgres+redis", help="embedded, postgres+redis")
    parser.add_argument("--out", type=Path, default=ARTIFACT)
    args = parser.parse_args()
    only = [name for name in args.only.split(",") if name]
    unknown = set(only) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")

    started = time.monotonic()
    load_before = [round(v, 2) for v in os.getloadavg()]
    wanted = [name.strip() for name in args.backends.split(",") if name.strip()]
    backends: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    if "postgres+redis" in wanted:
        available, why = postgres_and_redis()
        if not available:
            skipped["postgres+redis"] = why
            wanted.remove("postgres+redis")
            log(f"skipping PostgreSQL + Redis: {why}")
    flags = ["--quick"] if args.quick else []
    upscale: dict[str, Any] = {}
    with object_store() as s3:
        for name in wanted:
            env = {**backend_env(name), S3_ENV: shareable(s3)}
            backends[name] = {}
            for script in PER_BACKEND + (SHARED_BACKEND if name == "postgres+redis" else ()):
                if script in only:
                    log(f"== {name}: {script}")
                    backends[name][script] = run_script(script, flags, env)
        if "upscale" in only:
            log("== upscale (no database or broker involved; runs once)")
            upscale = run_upscale(args.quick, backend_env("embedded"))
        moderation: dict[str, Any] = {}
        if "moderation" in only:
            log("== moderation (its own SQLite file; runs once)")
            moderation = run_script("moderation", flags, backend_env("embedded"))

    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "seconds": round(time.monotonic() - started, 1),
        "backends": backends,
        "skipped_backends": skipped,
        "upscale": upscale,
        "moderation": moderation,
    }
    print()
    result["table"] = print_table(backends, upscale, moderation)
    for name, benches in backends.items():
        for script, data in benches.items():
            if "error" in data:
                print(f"!! {name} {script} failed ({data['error']}); see the JSON for its log", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nwritten to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
