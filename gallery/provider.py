"""The APISpace "AI 绘画" client: the only code that talks HTTP to the image API.

It knows the protocol (docs/provider-protocol.md) and nothing of views or models: it builds the
documented payloads, sends them with the token headers, and classifies what went wrong so the
task knows whether to try again. Base URL, token, per-kind paths and task names come from
settings, so the offline engine and APISpace are one configuration switch apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from django.conf import settings

# The documented payload repeats the parameters: once inside `params`, once flat at the top.
# The flat copy is what APISpace's gateway reads for the text-to-image example; we send both
# for every kind so either reading works.


class ProviderError(Exception):
    """A submission that did not succeed. Which subclass says what the task does next."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class NotSent(ProviderError):
    """The provider certainly did not take the job: no connection was made (refused, DNS,
    connect timeout), or it answered 429 (a rate limiter turns the request away before it is
    queued). The task sends it again later, with a backoff."""


class UnknownOutcome(ProviderError):
    """The request body went out and no trustworthy answer came back: a read timeout, a
    connection dropped after sending, a broken reply, or any 5xx (a gateway's 502/504 may
    sit in front of a backend that queued the job). The API has no idempotency key, so
    sending again could pay twice: the job counts as submitted and is never re-sent; its
    callback, the status call or the timeout sweep settles it (and the sweep refunds it)."""


class PermanentError(ProviderError):
    """Other 4xx, or a 2xx reply refusing the job or that we cannot read: sending it again
    would fail the same way. The job fails and is refunded."""


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


def _never_connected(exc: requests.ConnectionError) -> bool:
    """requests raises ConnectionError both when no connection was made and when one broke
    after the body was sent; only urllib3's NewConnectionError (refused, DNS) and a connect
    timeout mean nothing reached the provider."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError):
            return True
        reason = getattr(cause, "reason", None)
        cause = reason if isinstance(reason, BaseException) else (cause.__cause__ or cause.__context__)
        if cause is exc:
            break
    return False


def submit(*, kind: str, payload: dict[str, Any], session: requests.Session | None = None) -> Submission:
    """POST one job. Raises NotSent, UnknownOutcome or PermanentError."""
    http = session or requests
    try:
        response = http.post(_url(settings.APISPACE_PATHS[kind]), json=payload, headers=_headers(), timeout=_timeouts())
    except requests.ConnectionError as exc:
        if _never_connected(exc):
            raise NotSent(f"provider unreachable: {exc}") from exc
        raise UnknownOutcome(f"the connection to the provider broke after sending: {exc}") from exc
    except requests.ReadTimeout as exc:
        raise UnknownOutcome(f"provider did not answer in {_timeouts()[1]:.0f} s") from exc
    except requests.RequestException as exc:
        # Anything else (an unreadable answer, too many redirects...) happened after sending.
        raise UnknownOutcome(f"provider request failed after sending: {exc}") from exc
    return _read_reply(response)


def _read_reply(response: requests.Response) -> Submission:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    if status == 429:
        raise NotSent(f"provider answered HTTP {status}", status=status, body=body)
    if status >= 500:
        raise UnknownOutcome(f"provider answered HTTP {status}", status=status, body=body)
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


def has_interrupt_call() -> bool:
    return bool(settings.APISPACE_INTERRUPT_PATH)


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
