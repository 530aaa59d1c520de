"""Faults on demand: markers that make the offline engine misbehave like a real service can.

They work only when ``settings.ENGINE_FAULTS_ENABLED`` is on (on in tests and ``make run``,
off by default, so production ignores them and a marker is just text). A marker is written
in the prompt (``text``) as ``[[name]]`` or ``[[name:N]]``; for the kinds without a prompt
(``img2img.anime``, ``img2img.sr``) put it in a ``fault`` parameter instead (``"[[fail]]"``,
``"fail"`` or several: ``"twice, late:3"``). Markers are removed from the prompt before it is
rendered or echoed back in ``request.model.text``. Several markers may be combined.

What the task does:

==========================  ============================================================================
``[[fail]]``                ``success: false`` with the reason
                            ``"<task> -> start -> run_algorithm : RuntimeError: simulated failure ..."``
``[[unsafe]]``              ``success: true, safe: false``, ``cdn``/``cos`` empty, a ``reason`` naming
                            the audit (nothing is stored)
``[[late:N]]``              the callback is sent N seconds after the work ends (N <= 600)
``[[queued:N]]``            the task waits N seconds (N <= 600, default 30) in the engine's queue before
                            a worker runs it, as on a busy service: the status call says ``pending``
                            and the interrupt call can drop it meanwhile
``[[silent]]``              no callback at all; the status call still reports ``finished``
``[[twice]]``               the same callback body is delivered twice
``[[dup:N]]``               ... N times (1 <= N <= 20)
``[[img404]]``              ``cdn``/``cos`` point at a file the engine does not have (HTTP 404)
``[[notimage]]``            the URLs answer 200 ``image/png`` with bytes that are not an image
``[[oversize]]``            the URLs stream a body 10 MB larger than the site's ``INGEST_MAX_BYTES``
                            (PNG signature first, no Content-Length; generated, never stored)
``[[slowimg]]``             the URLs drip the real PNG a few bytes at a time over
                            ``ENGINE_SLOWIMG_SECONDS`` (default 120 s); ``[[slowimg:N]]`` over N s
``[[redirect-private]]``    the URLs answer ``302`` to ``http://10.255.255.1/x.png`` (a private address
                            the site must refuse to follow; the engine never connects there)
``[[bomb]]``                the URLs serve a ~100-byte PNG whose header declares 60000x60000 pixels
``[[backend-spelling]]``    the success body spells the times ``create_time``/``start_time`` (the
                            backend's way) instead of the document's ``createtime``/``starttime``
==========================  ============================================================================

Unknown marker names are left in the text untouched. The URL faults apply to successful,
safe results only. Super-resolution results are never audited (``safe`` is always true),
except that an explicit ``[[unsafe]]`` is honoured so the unsafe path can be shown for every
kind. Example, an upscale that is reported twice, 3 s late:
``{"task": "img2img.sr", "params": {"url": "...", "fault": "twice, late:3"}, ...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

MARKER = re.compile(r"\[\[\s*([a-z][a-z0-9-]*)\s*(?::\s*(\d{1,4}))?\s*\]\]", re.IGNORECASE)
# A `fault` parameter may also be written without brackets: "fail", "late:3, twice".
BARE = re.compile(r"^\s*([a-z][a-z0-9-]*)\s*(?::\s*(\d{1,4}))?\s*$", re.IGNORECASE)

URL_FAULTS = ("img404", "notimage", "oversize", "slowimg", "redirect-private", "bomb")
FLAG_FAULTS = ("fail", "unsafe", "silent", "twice", "backend-spelling")
NUMBER_FAULTS = ("late", "dup", "slowimg", "queued")
KNOWN = frozenset(URL_FAULTS + FLAG_FAULTS + NUMBER_FAULTS)

MAX_LATE_SECONDS = 600
MAX_COPIES = 20
# Where [[redirect-private]] points: a private (RFC 1918) address nobody should fetch.
PRIVATE_REDIRECT_TARGET = "http://10.255.255.1/x.png"


@dataclass(frozen=True)
class Faults:
    """The faults asked for by one task (all off by default)."""

    fail: bool = False
    unsafe: bool = False
    late_seconds: int = 0
    silent: bool = False
    copies: int = 1
    url_fault: str = ""
    slow_seconds: int = 0
    backend_spelling: bool = False
    queued_seconds: int = 0

    @property
    def names(self) -> list[str]:
        """The markers in their written form (kept on the task row for the record)."""
        out = [name for name in ("fail", "unsafe", "silent") if getattr(self, name)]
        if self.late_seconds:
            out.append(f"late:{self.late_seconds}")
        if self.copies > 1:
            out.append(f"dup:{self.copies}")
        if self.url_fault:
            out.append(f"{self.url_fault}:{self.slow_seconds}" if self.slow_seconds else self.url_fault)
        if self.backend_spelling:
            out.append("backend-spelling")
        if self.queued_seconds:
            out.append(f"queued:{self.queued_seconds}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "fail": self.fail,
            "unsafe": self.unsafe,
            "late_seconds": self.late_seconds,
            "silent": self.silent,
            "copies": self.copies,
            "url_fault": self.url_fault,
            "slow_seconds": self.slow_seconds,
            "backend_spelling": self.backend_spelling,
            "queued_seconds": self.queued_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Faults:
        data = data or {}
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


NONE = Faults()


def are_enabled() -> bool:
    return settings.ENGINE_FAULTS_ENABLED


def _apply(found: dict[str, Any], name: str, number: str | None) -> bool:
    """Record one marker in `found`; False when the name is not a fault we know."""
    name = name.lower()
    if name not in KNOWN:
        return False
    value = int(number) if number else None
    if name == "late":
        found["late_seconds"] = min(value if value is not None else 5, MAX_LATE_SECONDS)
    elif name == "queued":
        found["queued_seconds"] = min(value if value is not None else 30, MAX_LATE_SECONDS)
    elif name == "dup":
        found["copies"] = max(1, min(value if value is not None else 2, MAX_COPIES))
    elif name == "twice":
        found["copies"] = max(found.get("copies", 1), 2)
    elif name in URL_FAULTS:
        found["url_fault"] = name
        if name == "slowimg" and value:
            found["slow_seconds"] = min(value, MAX_LATE_SECONDS)
    elif name == "backend-spelling":
        found["backend_spelling"] = True
    else:
        found[name] = True
    return True


def extract(*, text: str = "", fault_param: Any = None) -> tuple[str, Faults]:
    """Split the fault markers off a prompt (and read a `fault` parameter).

    Returns the text with the known markers removed (whitespace tidied) and the faults. When
    fault injection is disabled the text comes back unchanged and no fault is active.
    """
    if not are_enabled():
        return text, NONE
    found: dict[str, Any] = {}

    def strip(match: re.Match) -> str:
        return "" if _apply(found, match.group(1), match.group(2)) else match.group(0)

    cleaned = MARKER.sub(strip, text or "")
    if (text or "") != cleaned:
        cleaned = " ".join(cleaned.split())
    if isinstance(fault_param, str) and fault_param.strip():
        markers = MARKER.findall(fault_param)
        if not markers:
            for part in re.split(r"[,\s]+", fault_param):
                bare = BARE.match(part)
                if bare:
                    markers.append((bare.group(1), bare.group(2)))
        for name, number in markers:
            _apply(found, name, number or None)
    return cleaned, Faults(**found)
