"""The engine's kinds, one row each: the path it answers under /engine/, the backend's task
name, the check of a submitted body (engine/protocol.py) and the run that makes the picture.

urls.py (one submission path per row), views.py (submit and the index) and work.py (the run,
and whether its result is audited) read this table, as the site reads gallery/kinds.py. The
two tables meet only over HTTP: a row's `path` is the site's default API path of its kind,
under /engine/. The runs below adapt a task's stored parameters to the renderers of
engine/render/, which are imported when first used (OpenCV and ncnn are heavy).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from PIL import Image

from . import protocol, storage
from .models import EngineTask


class RenderFailed(Exception):
    """A run that went wrong; the message goes into the failure callback's reason."""


# A run's result: the picture, and the algorithm latencies the callback reports.
Rendered = tuple[Image.Image, dict[str, float]]


@dataclass(frozen=True)
class EngineKind:
    # The site's name of the kind, kept on EngineTask.kind.
    name: str
    # The submission path under /engine/.
    path: str
    # The backend's task name; a `task` in the body must agree with the path.
    task: str
    validate: Callable[[dict[str, Any], EngineKind], protocol.Submission]
    render: Callable[[EngineTask], Rendered]
    # The service does not audit super-resolution results: no audit time is reported for them.
    is_audited: bool = True


# --- the runs ---------------------------------------------------------------------------------


def _measured(started: float, got_model: float) -> dict[str, float]:
    """Latencies of a renderer without a model: `get_model` is the module and source load."""
    inferred = time.perf_counter()
    return {
        "get_model": got_model - started,
        "inference": inferred - got_model,
        "cleanup": 0.0,
        "__total": inferred - started,
    }


def _source(task: EngineTask) -> Image.Image:
    data = storage.read_source(task.uid)
    if data is None:
        raise RenderFailed("FileNotFoundError: the source image fetched at submission is gone")
    return protocol.open_source(data)


def render_txt2img(task: EngineTask) -> Rendered:
    started = time.perf_counter()
    from .render import procedural

    got_model = time.perf_counter()
    params = task.params
    image = procedural.render_text_to_image(
        params["text"],
        width=params["w"],
        height=params["h"],
        seed=params["seed"],
        negative_prompt=params.get("negative_prompt", ""),
    )
    return image, _measured(started, got_model)


def render_img2img(task: EngineTask) -> Rendered:
    started = time.perf_counter()
    from .render import transform

    source = _source(task)
    got_model = time.perf_counter()
    params = task.params
    image = transform.image_to_image(source, prompt=params["text"], strength=params["strength"], seed=params["seed"])
    return image, _measured(started, got_model)


def render_anime(task: EngineTask) -> Rendered:
    started = time.perf_counter()
    from .render import anime

    source = _source(task)
    got_model = time.perf_counter()
    image = anime.to_anime(source, style=task.params["style"])
    return image, _measured(started, got_model)


def render_upscale(task: EngineTask) -> Rendered:
    from .render import superres

    source = _source(task)
    model_id = task.params["sr_model"]
    tile = settings.ENGINE_SR_TILE if model_id == superres.DEFAULT_MODEL else settings.ENGINE_SR_TILE_LARGE
    try:
        return superres.upscale_4x(source, model_id=model_id, tile=tile, threads=settings.ENGINE_SR_THREADS)
    except superres.ModelUnavailable as exc:
        # No silent fallback to a plain resize: the job fails and says why.
        raise RenderFailed(f"ModelUnavailable: the super-resolution model cannot run here ({exc})") from exc


# --- the table --------------------------------------------------------------------------------

KINDS: dict[str, EngineKind] = {
    kind.name: kind
    for kind in (
        EngineKind("txt2img", "aigc/txt2img", "txt2img.sd", protocol.validate_txt2img, render_txt2img),
        EngineKind("img2img", "aigc/img2img", "img2img.sd", protocol.validate_img2img, render_img2img),
        EngineKind("anime", "aigc/anime", "img2img.anime", protocol.validate_anime, render_anime),
        EngineKind(
            "upscale",
            "aigc/super-resolution",
            "img2img.sr",
            protocol.validate_upscale,
            render_upscale,
            is_audited=False,
        ),
    )
}


def get(name: str) -> EngineKind | None:
    return KINDS.get(name)
