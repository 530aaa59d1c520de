"""The engine's side of the APISpace protocol: what a submission must contain.

`validate_submission` turns a POSTed body into the parameters a task runs with, or raises
`PayloadInvalid` (answered 400 with a JSON error). The body carries the parameters twice, in
``params`` and flat at the top (docs/provider-protocol.md); ``params`` wins, the flat copy fills
gaps. Limits are the backend's (the same page): sides 64..768, ``num_steps`` 5..100,
the seven samplers, ``seed`` -1 or 0..2^32-1. Like the real service it masks configured
sensitive words in the prompt, and, unlike it, it fetches a source image at submission so an
unreachable or broken URL is a 400 at once rather than a failure callback later.

The parameters kept on the task are exactly what the callback's ``request.model`` echoes,
plus the engine's honest label (``engine_label``; ``procedural`` for text-to-image).
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from PIL import Image, UnidentifiedImageError

import netguard

from . import faults as faults_module

if TYPE_CHECKING:
    from .kinds import EngineKind

SAMPLERS = ("ddim", "plms", "klms", "solver", "k_euler", "k_euler_a", "k_heun")
MIN_SIDE = 64
MAX_SIDE = 768  # the API document's cap on generated sides; also the largest 4x source
# The image-processing renderers need a little room (filters, 16 colour clusters).
MIN_SOURCE_SIDE = 16
MIN_STEPS, MAX_STEPS = 5, 100
MAX_SEED = 2**32 - 1
MAX_PROMPT = 2000
DEFAULT_ANIME_STYLE = "classic"

TXT2IMG_LABEL = "Offline engine (procedural)"
IMG2IMG_LABEL = "Offline engine (image-to-image, palette transfer)"


class PayloadInvalid(Exception):
    """A submission the engine refuses; `str()` says why, `field` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {
            "success": False,
            "msg": f"{self.field}: {self.message}",
            "error": {"field": self.field, "message": self.message},
        }


@dataclass(frozen=True)
class Submission:
    kind: str
    task: str
    params: dict[str, Any]
    faults: faults_module.Faults
    notify_url: str
    source: bytes | None = None


# --- reading values -------------------------------------------------------------------------

_MISSING = object()


def _get(body: dict, name: str) -> Any:
    params = body.get("params")
    if isinstance(params, dict) and name in params:
        return params[name]
    return body.get(name, _MISSING)


def _int(body: dict, name: str, *, default: int, low: int, high: int) -> int:
    value = _get(body, name)
    if value is _MISSING or value is None or value == "":
        return default
    if isinstance(value, bool):
        raise PayloadInvalid(name, "value is not a valid integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise PayloadInvalid(name, "value is not a valid integer")
    if not low <= value <= high:
        raise PayloadInvalid(name, f"must be between {low} and {high}, got {value}")
    return value


def _number(body: dict, name: str, *, default: float, low: float, high: float) -> float:
    value = _get(body, name)
    if value is _MISSING or value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise PayloadInvalid(name, "value is not a valid number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise PayloadInvalid(name, "value is not a valid number")
    if not low <= value <= high:
        raise PayloadInvalid(name, f"must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def _string(body: dict, name: str, *, default: str = "", max_length: int = MAX_PROMPT) -> str:
    value = _get(body, name)
    if value is _MISSING or value is None:
        return default
    if not isinstance(value, str):
        raise PayloadInvalid(name, "must be a string")
    if len(value) > max_length:
        raise PayloadInvalid(name, f"is longer than {max_length} characters")
    return value


def _bool(body: dict, name: str) -> bool:
    value = _get(body, name)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value) if value is not _MISSING else False


# --- the prompt -------------------------------------------------------------------------------


def mask_sensitive(text: str) -> str:
    """Replace each configured sensitive word (any case) by as many `*`, like the service does."""
    for word in settings.ENGINE_SENSITIVE_WORDS:
        if word:
            text = re.sub(re.escape(word), "*" * len(word), text, flags=re.IGNORECASE)
    return text


def _prompt(body: dict, *, fault_param: Any) -> tuple[str, faults_module.Faults]:
    raw = _string(body, "text")
    if not raw.strip():
        raise PayloadInvalid("text", "a prompt is required")
    text, found = faults_module.extract(text=raw, fault_param=fault_param)
    return mask_sensitive(" ".join(text.split())), found


def _seed(body: dict) -> int:
    seed = _int(body, "seed", default=-1, low=-1, high=MAX_SEED)
    # -1 means "random": resolve it now so the callback says which seed made the picture.
    return secrets.randbelow(MAX_SEED + 1) if seed == -1 else seed


def _notify_url(body: dict) -> str:
    value = body.get("notify_url")
    if value is None and isinstance(body.get("params"), dict):
        value = body["params"].get("notify_url")
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
        raise PayloadInvalid("notify_url", "must be an http(s) URL or empty")
    return value


def _generation(body: dict) -> dict[str, Any]:
    sampler = _string(body, "sampler", default="k_euler") or "k_euler"
    if sampler not in SAMPLERS:
        raise PayloadInvalid("sampler", f"unknown sampler {sampler!r}; one of {', '.join(SAMPLERS)}")
    return {
        "seed": _seed(body),
        "num_steps": _int(body, "num_steps", default=20, low=MIN_STEPS, high=MAX_STEPS),
        "guidance_scale": _number(body, "guidance_scale", default=7.5, low=0.0, high=50.0),
        "negative_prompt": mask_sensitive(_string(body, "negative_prompt")),
        "version": _string(body, "version", default="dreamlike_v1", max_length=64) or "dreamlike_v1",
        "sampler": sampler,
    }


# --- the source image -------------------------------------------------------------------------


def fetch_source(url: Any) -> tuple[bytes, int, int]:
    """GET the source picture through netguard/ (the address checks, timeouts, size cap) and
    check it decodes; (bytes, width, height).

    Raises PayloadInvalid for a missing, unreachable, refused, oversized or undecodable source."""
    if url is _MISSING or url in (None, ""):
        raise PayloadInvalid("url", "an image URL is required")
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        raise PayloadInvalid("url", "must be an http(s) URL")
    try:
        fetched = netguard.fetch(
            url,
            allowed_hosts=None,  # like the real service: any host, as long as its address is public
            private_hosts_allowed=settings.ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED,
            max_bytes=settings.ENGINE_SOURCE_MAX_BYTES,
            connect_timeout=settings.ENGINE_FETCH_CONNECT_TIMEOUT,
            read_timeout=settings.ENGINE_FETCH_READ_TIMEOUT,
            # The submitter waits for our answer, so a source that drips slowly is cut off too.
            total_timeout=settings.ENGINE_FETCH_DEADLINE,
            max_redirects=3,
        )
    except netguard.GuardError as error:
        raise PayloadInvalid("url", _source_error(error)) from error
    width, height = _image_size(fetched.data)
    return fetched.data, width, height


# One answer for every way of not getting through (refused, timed out, no such name, broken off,
# too slow): whoever submits must not be able to tell a closed port from a silent one.
SOURCE_UNREACHABLE = "the image URL is unreachable (no such host, no connection, or no answer in time)"


def _source_error(error: netguard.GuardError) -> str:
    if error.code in ("private_address", "host_not_allowed"):
        return "the image URL points to an address the engine may not fetch from"
    if error.code in ("scheme", "bad_url"):
        return "the image URL (or a redirect) is not a valid http(s) URL"
    if error.code in ("bad_redirect", "too_many_redirects"):
        return "the image URL redirects too many times or to nowhere"
    if error.code == "too_large":
        return f"the image is larger than {error.params['max_bytes'] // 2**20} MB"
    if "status" in error.params:
        return f"the image URL answered HTTP {error.params['status']}"
    return SOURCE_UNREACHABLE


def _image_size(data: bytes) -> tuple[int, int]:
    max_pixels = settings.IMAGE_MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            # Check the declared size before decoding: a tiny file may claim a huge canvas.
            if width * height > max_pixels:
                raise PayloadInvalid("url", f"the image is {width}x{height}, too many pixels")
            image.load()
    except PayloadInvalid:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PayloadInvalid("url", f"the URL does not serve a readable image ({type(exc).__name__})") from exc
    return width, height


def open_source(data: bytes) -> Image.Image:
    """The stored source as a loaded PIL image (it decoded once at submission)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _source(body: dict, *, limit: int, what: str, minimum: int = 1) -> tuple[bytes, dict[str, Any]]:
    url = _get(body, "url")
    data, width, height = fetch_source(url)
    if max(width, height) > limit:
        raise PayloadInvalid("url", f"the picture is {width}x{height}; {what} takes at most {limit}x{limit}")
    if min(width, height) < minimum:
        raise PayloadInvalid("url", f"the picture is {width}x{height}; {what} needs at least {minimum}x{minimum}")
    # The measured size, whatever the submitter declared in `source_size`.
    return data, {"url": url, "source_size": [width, height]}


# --- the kinds (engine/kinds.py names the validator of each) --------------------------------------


def validate_txt2img(body: dict, kind: EngineKind) -> Submission:
    text, found = _prompt(body, fault_param=_get(body, "fault"))
    width = _int(body, "w", default=512, low=MIN_SIDE, high=MAX_SIDE)
    height = _int(body, "h", default=512, low=MIN_SIDE, high=MAX_SIDE)
    generation = _generation(body)
    # The documented request.model, key for key, then our label.
    model = {
        "callback_url": "",
        "use_circular": "",
        "seed": generation["seed"],
        "variation_seed": _int(body, "variation_seed", default=0, low=0, high=MAX_SEED),
        "variation_strength": _number(body, "variation_strength", default=0, low=0.0, high=1.0),
        "variations": [],
        "num_steps": generation["num_steps"],
        "guidance_scale": generation["guidance_scale"],
        "negative_prompt": generation["negative_prompt"],
        "is_anime": "",
        "version": generation["version"],
        "sampler": generation["sampler"],
        "clip_skip": _int(body, "clip_skip", default=-1, low=-1, high=8),
        "custom_embeddings": {},
        "max_wh": 1024,
        "text": text,
        "w": width,
        "h": height,
        "engine_label": TXT2IMG_LABEL,
        "procedural": True,
    }
    return Submission(kind=kind.name, task=kind.task, params=model, faults=found, notify_url=_notify_url(body))


def validate_img2img(body: dict, kind: EngineKind) -> Submission:
    text, found = _prompt(body, fault_param=_get(body, "fault"))
    generation = _generation(body)
    strength = _number(body, "strength", default=0.6, low=0.0, high=1.0)
    data, echo = _source(body, limit=MAX_SIDE, what="image-to-image", minimum=MIN_SOURCE_SIDE)
    model = {
        "callback_url": "",
        "seed": generation["seed"],
        "num_steps": generation["num_steps"],
        "guidance_scale": generation["guidance_scale"],
        "negative_prompt": generation["negative_prompt"],
        "is_anime": "",
        "version": generation["version"],
        "sampler": generation["sampler"],
        "text": text,
        "strength": strength,
        **echo,
        "w": echo["source_size"][0],
        "h": echo["source_size"][1],
        "engine_label": IMG2IMG_LABEL,
        "procedural": False,
    }
    return Submission(
        kind=kind.name, task=kind.task, params=model, faults=found, notify_url=_notify_url(body), source=data
    )


def anime_styles() -> tuple[str, ...]:
    from .render import anime

    return tuple(anime.STYLES)


def validate_anime(body: dict, kind: EngineKind) -> Submission:
    _, found = faults_module.extract(fault_param=_get(body, "fault"))
    style = _string(body, "style", default=DEFAULT_ANIME_STYLE, max_length=64) or DEFAULT_ANIME_STYLE
    styles = anime_styles()
    if style not in styles:
        raise PayloadInvalid("style", f"unknown style {style!r}; one of {', '.join(styles)}")
    data, echo = _source(body, limit=MAX_SIDE, what="portrait-to-anime", minimum=MIN_SOURCE_SIDE)
    model = {
        "callback_url": "",
        "style": style,
        **echo,
        "engine_label": f"Offline engine (anime stylisation: {style})",
        "procedural": False,
    }
    return Submission(
        kind=kind.name, task=kind.task, params=model, faults=found, notify_url=_notify_url(body), source=data
    )


def validate_upscale(body: dict, kind: EngineKind) -> Submission:
    from .render import superres

    _, found = faults_module.extract(fault_param=_get(body, "fault"))
    is_anime = _bool(body, "is_anime")
    model_id = _string(body, "sr_model", max_length=64) or superres.pick_model(is_anime=is_anime)
    if model_id not in superres.MODELS:
        raise PayloadInvalid("sr_model", f"unknown model {model_id!r}; one of {', '.join(superres.MODELS)}")
    data, echo = _source(body, limit=MAX_SIDE, what="4x super-resolution")
    model = {
        "callback_url": "",
        "is_anime": is_anime,
        "sr_model": model_id,
        **echo,
        "engine_label": superres.MODELS[model_id]["label"],
        "procedural": False,
    }
    return Submission(
        kind=kind.name, task=kind.task, params=model, faults=found, notify_url=_notify_url(body), source=data
    )


def validate_submission(*, kind: EngineKind, body: Any) -> Submission:
    """Check a POSTed body for `kind` (a row of engine/kinds.py, chosen by the URL path);
    raises PayloadInvalid with a message for the 400."""
    if not isinstance(body, dict):
        raise PayloadInvalid("body", "must be a JSON object")
    task = body.get("task")
    if task not in (None, "") and task != kind.task:
        raise PayloadInvalid("task", f"this endpoint runs {kind.task!r}, not {task!r}")
    if "params" in body and not isinstance(body["params"], dict):
        raise PayloadInvalid("params", "must be an object")
    return kind.validate(body, kind)
