"""Strict parsing of the provider's callback body (docs/provider-protocol.md).

Three shapes arrive: the documented success body, the unsafe body (success true, safe false,
empty URLs) and the smaller failure body (no cdn/cos/safe). Time fields come spelled
`createtime`/`starttime` (the document) or `create_time`/`start_time` (the backend).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class CallbackInvalid(ValueError):
    """The body is not a callback we understand; answered with a 400."""


@dataclass(frozen=True)
class Callback:
    uid: str
    success: bool
    safe: bool | None
    cdn: str
    cos: str
    reason: str
    create_time: float | None
    start_time: float | None
    end_time: float | None
    duration: float | None
    elapsed_times: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def image_url(self) -> str:
        """`cos` (the object store) first, else the CDN copy."""
        return self.cos or self.cdn

    @property
    def image_urls(self) -> tuple[str, ...]:
        """Every copy of the picture, `cos` first: one failing (a 403 on cos) is no reason to
        give up while the other (cdn) may still serve it."""
        return tuple(dict.fromkeys(url for url in (self.cos, self.cdn) if url))

    @property
    def carries_image(self) -> bool:
        return self.success and self.safe is not False and bool(self.image_url)


def _number(data: dict, *names: str) -> float | None:
    for name in names:
        value = data.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CallbackInvalid(f"{name} must be a number")
        return float(value)
    return None


def _string(data: dict, name: str, *, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise CallbackInvalid(f"{name} is missing")
        return ""
    if not isinstance(value, str):
        raise CallbackInvalid(f"{name} must be a string")
    return value


# The documented body is three levels deep; anything far deeper is not a callback, and a
# very deep one would exhaust the recursion of the JSON encoder when the delivery is stored.
MAX_DEPTH = 16


def _no_constant(name: str) -> None:
    """NaN, Infinity and -Infinity are not JSON (the database's JSON column refuses them), but
    Python's parser accepts them. They become null: a field we need then fails validation
    with a 400, and one we do not need (a `duration: NaN`) no longer costs the picture."""
    return None


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse(raw: bytes) -> tuple[Callback, dict]:
    """Parse and validate a callback body; returns the typed view and the decoded JSON, which
    can always be stored (no NaN or Infinity, bounded depth)."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CallbackInvalid("body is not JSON") from exc
    if _depth(body) > MAX_DEPTH:
        raise CallbackInvalid("body is nested too deeply")
    return from_body(body), body


def from_body(body: Any) -> Callback:
    """Validate an already decoded body (a request's, or one recorded earlier)."""
    if not isinstance(body, dict):
        raise CallbackInvalid("body must be a JSON object")
    success = body.get("success")
    if not isinstance(success, bool):
        raise CallbackInvalid("success must be true or false")
    data = body.get("data")
    if not isinstance(data, dict):
        raise CallbackInvalid("data must be an object")
    uid = _string(body, "uid") or _string(data, "uid")
    if not uid:
        raise CallbackInvalid("uid is missing")
    safe = data.get("safe")
    if safe is not None and not isinstance(safe, bool):
        raise CallbackInvalid("safe must be true or false")
    if success and safe is None:
        raise CallbackInvalid("a success body must say whether it is safe")
    for name in ("elapsed_times", "request"):
        if data.get(name) is not None and not isinstance(data.get(name), dict):
            raise CallbackInvalid(f"{name} must be an object")
    callback = Callback(
        uid=uid,
        success=success,
        safe=safe,
        cdn=_string(data, "cdn"),
        cos=_string(data, "cos"),
        reason=_string(data, "reason"),
        create_time=_number(data, "createtime", "create_time"),
        start_time=_number(data, "starttime", "start_time"),
        end_time=_number(data, "end_time", "endtime"),
        duration=_number(data, "duration"),
        elapsed_times=data.get("elapsed_times") or {},
        request=data.get("request") or {},
    )
    if callback.success and callback.safe and not callback.image_url:
        raise CallbackInvalid("a safe success body must carry cdn or cos")
    return callback
