"""Scale-out: two web servers and two worker clusters against one PostgreSQL + Redis + S3,
beside one server and one cluster — jobs/s, the ratio, and every job processed exactly once.

Each configuration is a fresh production-like site (bench/fleet.py: gunicorn, DEBUG off, the
offline engine inside the web servers and the clusters) on its own PostgreSQL database, the
shared Redis and the run's SeaweedFS; the processes share nothing but those three, as separate
machines would. Many users (logged in through the login form) post the text-to-image form over
HTTP, spread over the web servers, from 8 client threads; the per-user limits are lifted so the
figure is the site's, not the limits'. A few warm-up jobs per cluster come first and are not
timed. Throughput = measured jobs / (first form POST sent → last picture's Image.created_at).

Afterwards, per job: exactly one provider POST (the offline engine's task rows naming the
job's callback URL), one image and one debit; and `check_invariants` (ledger, balances, images,
the bucket). Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): the embedded SQLite file and
ORM broker belong to one machine, so without them it prints a note and exits 0.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from common import NO_LIMITS, PASSWORD, DirectDB, arguments, discard_stack, finish, log, object_store, wait_until
from fleet import FINISHED, form_defaults, login, production_stack, seed_users, start

CLIENT_THREADS = 8
WORKERS_PER_CLUSTER = 2

PER_JOB = """
SELECT j.id::text, j.status,
  (SELECT count(*) FROM engine_enginetask t WHERE t.notify_url LIKE '%/' || j.id::text || '/%'),
  (SELECT count(*) FROM gallery_image i WHERE i.job_id = j.id),
  (SELECT count(*) FROM gallery_credittransaction c WHERE c.job_id = j.id AND c.kind = 'debit')
FROM gallery_job j
"""


def post_job(http, url: str, data: dict) -> tuple[str, float]:
    """POST the text-to-image form at the server `url`; (job id, time the POST was sent)."""
    form = f"{url}/jobs/new/txt2img/"
    sent = time.time()
    response = http.post(
        form,
        data={**data, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": form},
        allow_redirects=False,
        timeout=120,
    )
    location = response.headers.get("Location", "")
    if response.status_code != 302 or "/jobs/" not in location:
        raise RuntimeError(f"the form did not create a job: {response.status_code} {response.text[:500]}")
    return location.rstrip("/").rsplit("/", 1)[-1], sent


def push(sessions: list, urls: list[str], form: dict, jobs: int, label: str) -> tuple[list[str], float]:
    """`jobs` form posts, job n by user n % users at server n % servers, each user's posts in
    order from one client thread; (job ids, first POST sent)."""
    plan: dict[int, list[int]] = {}
    for number in range(jobs):
        plan.setdefault(number % len(sessions), []).append(number)

    def one_user(user: int) -> list[tuple[str, float]]:
        done = []
        for number in plan[user]:
            data = {**form, "prompt": f"{label} 玫瑰花 lantern {number}", "seed": 5000 + number}
            done.append(post_job(sessions[user], urls[number % len(urls)], data))
        return done

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        results = [item for batch in pool.map(one_user, sorted(plan)) for item in batch]
    return [job_id for job_id, _ in results], min(sent for _, sent in results)


def run_configuration(s3: dict, *, servers: int, clusters: int, jobs: int, users: int) -> dict:
    label = f"{servers}x{clusters}"
    load_before = [round(v, 2) for v in os.getloadavg()]
    stack, urls = production_stack(s3, servers=servers, workers=WORKERS_PER_CLUSTER, extra_env=NO_LIMITS)
    try:
        log(f"scale-out {label}: {servers} gunicorn + {clusters} clusters x {WORKERS_PER_CLUSTER} workers")
        start(stack, urls, clusters=clusters)
        names = seed_users(stack, f"scale{label}-", users, password=PASSWORD, credits_amount=50 * jobs)
        sessions = [login(urls[n % len(urls)], name, PASSWORD) for n, name in enumerate(names)]
        form = form_defaults(stack)
        db = DirectDB(stack)
        finished = f"SELECT count(*) FROM gallery_job WHERE status IN ({', '.join(repr(s) for s in FINISHED)})"

        warmup = 2 * clusters * WORKERS_PER_CLUSTER
        push(sessions, urls, form, warmup, f"warm-up {label}")
        wait_until(lambda: db.scalar(finished) >= warmup, timeout=180, what=f"warm-up of {label}")
        log(f"scale-out {label}: pushing {jobs} jobs over {len(urls)} server(s) from {users} users")
        ids, first_post = push(sessions, urls, form, jobs, label)
        posted = time.time()
        wait_until(
            lambda: db.scalar(finished) >= warmup + jobs,
            timeout=120 + 3 * jobs,
            interval=0.2,
            what=f"{jobs} jobs of {label}\n{stack.log('worker0')[-2000:]}",
        )
        last_picture = db.scalar(
            "SELECT extract(epoch FROM max(created_at))::float FROM gallery_image WHERE job_id::text = ANY(%s)",
            [str(i) for i in ids],
        )
        time.sleep(2)  # the engines' last callbacks and acknowledgements settle
        rows = db.connection.execute(PER_JOB).fetchall()
        engine_tasks = db.scalar("SELECT count(*) FROM engine_enginetask")
        db.close()
        invariants = stack.invariants()
    finally:
        discard_stack(stack)
    seconds = last_picture - first_post
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row[1]] = statuses.get(row[1], 0) + 1
    wrong = [
        {"job": row[0], "status": row[1], "posts": row[2], "images": row[3], "debits": row[4]}
        for row in rows
        if (row[1], row[2], row[3], row[4]) != ("succeeded", 1, 1, 1)
    ]
    return {
        "servers": servers,
        "clusters": clusters,
        "workers_per_cluster": WORKERS_PER_CLUSTER,
        "users": users,
        "jobs": jobs,
        "warmup_jobs": warmup,
        "posting_seconds": round(posted - first_post, 2),
        "seconds": round(seconds, 2),
        "jobs_per_second": round(jobs / seconds, 2),
        "exactly_once": {
            "jobs": len(rows),
            "engine_tasks": engine_tasks,
            "statuses": statuses,
            "ok": not wrong and engine_tasks == len(rows),
            "wrong": wrong[:20],
        },
        "invariants_ok": invariants.get("ok"),
        "invariants": invariants,
        "load_average_before": load_before,
    }


def run(*, jobs: int, users: int) -> dict:
    with object_store() as s3:
        one = run_configuration(s3, servers=1, clusters=1, jobs=jobs, users=users)
        log(f"scale-out 1x1: {one['jobs_per_second']} jobs/s")
        two = run_configuration(s3, servers=2, clusters=2, jobs=jobs, users=users)
        log(f"scale-out 2x2: {two['jobs_per_second']} jobs/s")
    return {
        "jobs": jobs,
        "one_server_one_cluster": one,
        "two_servers_two_clusters": two,
        "ratio": round(two["jobs_per_second"] / one["jobs_per_second"], 2),
        "exactly_once_ok": one["exactly_once"]["ok"] and two["exactly_once"]["ok"],
        "invariants_ok": bool(one["invariants_ok"] and two["invariants_ok"]),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0], jobs={"type": int, "default": None}, users={"type": int, "default": None})
    jobs = args.jobs or (20 if args.quick else 200)
    users = args.users or (10 if args.quick else 40)
    if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
        note = "needs PostgreSQL and Redis (DATABASE_URL=postgres://..., REDIS_URL=redis://...): not run"
        print(note)
        finish({"benchmark": "scale_out", "skipped": note}, args.out)
        return
    finish({"benchmark": "scale_out", **run(jobs=jobs, users=users)}, args.out)


if __name__ == "__main__":
    main()
