"""The APISpace "AI 绘画" client: the only code that talks HTTP to the image API.

It knows the protocol (seed/apispace-aigc.md) and nothing of views or models: it builds the
documented payloads, sends them with the token headers, and classifies what went wrong so the
task knows whether to try again. Base URL, token, per-kind paths and task names come from
settings, so the offline engine and APISpace are one configuration switch apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

# The documented payload repeats the parameters: once inside `params`, once flat at the top.
# The flat copy is what APISpace's gateway reads for the text-to-image example; we send both
# for every kind so either reading works.


class ProviderError(Exception):
    """A submission that did not succeed. `retryable` tells the task whether to try again;
    `sent` tells whether the request may have reached the provider (see tasks.submit_job)."""

    retryable = False
    sent = True

    def __init__(self, message: str, *, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class RetryableError(ProviderError):
    """Timeouts, connection errors, 5xx and 429: the provider did not take the job."""

    retryable = True
    sent = False


class UnknownOutcome(RetryableError):
    """The request went out but no answer came back: the provider may have taken it."""

    sent = True


class PermanentError(ProviderError):
    """Other 4xx, or a reply we cannot read: sending it again would fail the same way."""


@dataclass(frozen=True)
class Submission:
    task_id: str | None
    raw: Any


def build_payload(*, kind: str, params: dict[str, Any], notify_url: str, source_url: str = "") -> dict[str, Any]:
    """The documented body for a kind: task, params, the flat duplicates and notify_url."""
    params = dict(params)
    if source_url:
        params["url"] = source_url
    body: dict[str, Any] = {"task": settings.APISPACE_TASKS[kind], "params": params}
    body.update(params)
    body["notify_url"] = notify_url
    return body


def _headers() -> dict[str, str]:
    return {
        "X-APISpace-Token": settings.PROVIDER_TOKEN,
        "Authorization-Type": "apikey",
        "Content-Type": "application/json",
    }


def _url(path: str) -> str:
    return f"{settings.APISPACE_BASE_URL}{path}"


def _timeouts() -> tuple[float, float]:
    return (settings.PROVIDER_CONNECT_TIMEOUT, settings.PROVIDER_READ_TIMEOUT)


def extract_task_id(reply: Any) -> str | None:
    """The immediate reply is undocumented; the backend answers {"uid", "success", "msg"}.
    Look for the id where the known shapes put it, and accept none (the callback URL
    identifies the job anyway)."""
    if not isinstance(reply, dict):
        return None
    candidates = [reply.get("uid"), reply.get("task_id"), reply.get("id")]
    data = reply.get("data")
    if isinstance(data, dict):
        candidates += [data.get("uid"), data.get("task_id"), data.get("id")]
    elif isinstance(data, str):
        candidates.append(data)
    for value in candidates:
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:128]
    return None


def submit(*, kind: str, payload: dict[str, Any], session: requests.Session | None = None) -> Submission:
    """POST one job. Raises RetryableError, UnknownOutcome or PermanentError."""
    http = session or requests
    try:
        response = http.post(_url(settings.APISPACE_PATHS[kind]), json=payload, headers=_headers(), timeout=_timeouts())
    except requests.ConnectTimeout as exc:
        raise RetryableError(f"provider connect timeout: {exc}") from exc
    except requests.ConnectionError as exc:
        # A refused or reset connection before any answer. requests also raises this for a
        # connection dropped after sending; we treat both as not taken, as the backend only
        # queues a job after it has read the whole body and answers at once.
        raise RetryableError(f"provider unreachable: {exc}") from exc
    except requests.ReadTimeout as exc:
        raise UnknownOutcome(f"provider did not answer in {_timeouts()[1]:.0f} s") from exc
    except requests.RequestException as exc:
        raise RetryableError(f"provider request failed: {exc}") from exc
    return _read_reply(response)


def _read_reply(response: requests.Response) -> Submission:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    if status == 429 or status >= 500:
        raise RetryableError(f"provider answered HTTP {status}", status=status, body=body)
    if status >= 400:
        raise PermanentError(f"provider refused the job (HTTP {status}): {_message(body)}", status=status, body=body)
    if not isinstance(body, dict):
        raise PermanentError("provider reply is not a JSON object", status=status, body=body)
    if body.get("success") is False:
        raise PermanentError(f"provider refused the job: {_message(body)}", status=status, body=body)
    return Submission(task_id=extract_task_id(body), raw=body)


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("msg", "message", "error", "detail", "reason"):
            if body.get(key):
                return str(body[key])[:500]
    return str(body)[:500]


# --- status and interrupt: the backend's calls, absent from APISpace's documented surface ---


def has_status_call() -> bool:
    return bool(settings.APISPACE_STATUS_PATH)


def status(*, task_id: str, session: requests.Session | None = None) -> dict[str, Any] | None:
    """The provider's view of a job ({"status": pending|working|finished|exception|
    interrupted|not_found, "data": ...}), or None when the call is unavailable or fails."""
    if not has_status_call() or not task_id:
        return None
    http = session or requests
    try:
        response = http.post(
            _url(settings.APISPACE_STATUS_PATH), json={"uid": task_id}, headers=_headers(), timeout=_timeouts()
        )
        body = response.json()
    except (requests.RequestException, ValueError):
        return None
    return body if response.ok and isinstance(body, dict) else None


def interrupt(*, task_id: str, session: requests.Session | None = None) -> bool:
    """Ask the provider to drop a job still pending; False when unavailable or refused."""
    if not settings.APISPACE_INTERRUPT_PATH or not task_id:
        return False
    http = session or requests
    try:
        response = http.post(
            _url(settings.APISPACE_INTERRUPT_PATH), json={"uid": task_id}, headers=_headers(), timeout=_timeouts()
        )
        return response.ok and bool(response.json().get("success"))
    except (requests.RequestException, ValueError):
        return False


def ping(*, session: requests.Session | None = None) -> tuple[bool, str]:
    """Is the provider reachable? Any HTTP answer counts (the base URL may 404)."""
    http = session or requests
    try:
        response = http.get(settings.APISPACE_BASE_URL + "/", timeout=(3, 3), allow_redirects=False)
    except requests.RequestException as exc:
        return False, type(exc).__name__
    return True, f"HTTP {response.status_code}"
