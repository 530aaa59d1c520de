"""The callback: the documented JSON body, delivered the way the real service delivers it.

Bodies (docs/provider-protocol.md; examples in tests/data/callbacks/):

* success: ``{"uid", "success": true, "data": {uid, cdn, cos, safe, reason, createtime,
  starttime, end_time, duration, elapsed_times {pending, run_algorithm, algorithm_latencies
  {get_model, inference, cleanup, __total}, upload, audit}, request {task, model}}}``, with
  ``create_time``/``start_time`` instead under the ``[[backend-spelling]]`` fault;
* unsafe: the same with ``safe: false``, empty ``cdn``/``cos`` and the audit's ``reason``;
* failure: the backend's smaller body ``{"uid", "success": false, "data": {uid, reason,
  end_time, duration, request, create_time, start_time}}``.

Delivery: POST the JSON to ``notify_url``, wait ``ENGINE_CALLBACK_TIMEOUT`` (3 s) for the
answer and parse it as JSON; a failed request, a timeout, a non-2xx status or an answer that is
not JSON is tried again, up to ``ENGINE_CALLBACK_ATTEMPTS`` (10) times ``ENGINE_CALLBACK_INTERVAL``
(3 s) apart. After that the callback is lost, as it is with the real service.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings


@dataclass(frozen=True)
class Timing:
    """Unix times and measured seconds of one run."""

    created: float
    started: float
    ended: float
    run_algorithm: float = 0.0
    latencies: dict[str, float] = field(default_factory=dict)
    upload: float = 0.0
    audit: float = 0.0

    @property
    def pending(self) -> float:
        return max(0.0, self.started - self.created)

    @property
    def duration(self) -> float:
        # As in the document's example: end_time - createtime.
        return max(0.0, self.ended - self.created)


def _latencies(latencies: dict[str, float]) -> dict[str, float]:
    keys = ("get_model", "inference", "cleanup", "__total")
    return {key: float(latencies.get(key, 0.0)) for key in keys}


def success_body(
    *,
    uid: str,
    task: str,
    model: dict[str, Any],
    timing: Timing,
    cdn: str,
    cos: str,
    safe: bool = True,
    reason: str = "",
    backend_spelling: bool = False,
) -> dict[str, Any]:
    """A success (or, with safe=False, unsafe) body; an unsafe body never carries URLs."""
    if not safe:
        cdn = cos = ""
    data: dict[str, Any] = {"uid": uid, "cdn": cdn, "cos": cos, "safe": safe, "reason": reason}
    if not backend_spelling:
        data["createtime"] = timing.created
        data["starttime"] = timing.started
    data.update(
        {
            "end_time": timing.ended,
            "duration": timing.duration,
            "elapsed_times": {
                "pending": timing.pending,
                "run_algorithm": timing.run_algorithm,
                "algorithm_latencies": _latencies(timing.latencies),
                "upload": timing.upload,
                "audit": timing.audit,
            },
            "request": {"task": task, "model": dict(model)},
        }
    )
    if backend_spelling:
        data["create_time"] = timing.created
        data["start_time"] = timing.started
    return {"uid": uid, "success": True, "data": data}


def failure_body(*, uid: str, task: str, model: dict[str, Any], timing: Timing, error: str) -> dict[str, Any]:
    """The backend's failure body; the reason reads "<task> -> start -> run_algorithm : <error>"."""
    return {
        "uid": uid,
        "success": False,
        "data": {
            "uid": uid,
            "create_time": timing.created,
            "start_time": timing.started,
            "reason": failure_reason(task=task, error=error),
            "end_time": timing.ended,
            "duration": timing.duration,
            "request": {"task": task, "model": dict(model)},
        },
    }


def failure_reason(*, task: str, error: str) -> str:
    return f"{task} -> start -> run_algorithm : {error}"


@dataclass(frozen=True)
class Delivery:
    attempts: int
    delivered: bool
    error: str = ""
    answer: Any = None


def deliver(*, url: str, body: dict[str, Any], session: requests.Session | None = None) -> Delivery:
    """POST `body` to `url` until the answer is 2xx JSON or the attempts run out (blocking)."""
    attempts = max(1, settings.ENGINE_CALLBACK_ATTEMPTS)
    interval = settings.ENGINE_CALLBACK_INTERVAL
    timeout = settings.ENGINE_CALLBACK_TIMEOUT
    http = session or requests.Session()
    error = ""
    try:
        for attempt in range(1, attempts + 1):
            try:
                response = http.post(url, json=body, timeout=(timeout, timeout), allow_redirects=False)
                if 200 <= response.status_code < 300:
                    return Delivery(attempts=attempt, delivered=True, answer=response.json())
                error = f"HTTP {response.status_code}"
            except requests.JSONDecodeError:  # also a RequestException, so caught first
                error = "the answer is not JSON"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            if attempt < attempts:
                time.sleep(interval)
    finally:
        if session is None:
            http.close()
    return Delivery(attempts=attempts, delivered=False, error=error)
