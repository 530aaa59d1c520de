"""Procedural text-to-image: an honest, deterministic stand-in for a diffusion model.

No text-to-image model can be installed on this machine, so the offline engine paints a flat
"vector illustration" from the words of the prompt: keyword families (Chinese and English)
choose a palette, a time of day and motifs (roses, castles, clouds, water, mountains, trees,
animals, a city, dunes...), which are layered back to front over gradients and finished with a
soft grain. The same (prompt, seed, size) always gives byte-identical pixels: every random draw
comes from one numpy Generator seeded from the seed and a stable hash of the prompt.

Shapes are drawn with Pillow on a 2x supersampled RGBA layer and downsampled (antialiasing);
gradients, noise, reflections and compositing are numpy/OpenCV array work. The parts:
`keywords.py` (words to families and palettes), `canvas.py` (drawing primitives), `scene.py`
(the plan of a picture), `motifs.py` (what is painted); this module puts them together.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .canvas import _c, _fbm, _mix
from .flora import _paint_bloom, _paint_meadow_flowers, _rose_color
from .keywords import PALETTE_KEYWORDS, _stable_hash, match_families, palette_for_prompt
from .motifs import (
    _paint_animal,
    _paint_castle,
    _paint_city,
    _paint_cloud_sea,
    _paint_clouds,
    _paint_dunes,
    _paint_far_shore,
    _paint_hills,
    _paint_mountains,
    _paint_particles,
    _paint_stars,
    _paint_sun,
    _paint_trees,
    _paint_water,
)
from .scene import _plan, _Scene, _sky

# The names transform.py, the engine and the tests read from here.
__all__ = ["MAX_SIDE", "MIN_SIDE", "PALETTE_KEYWORDS", "match_families", "palette_for_prompt", "render_text_to_image"]

MIN_SIDE = 16
MAX_SIDE = 4096


def _finish(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Painterly finish: a soft bloom, a paper-like texture, fine grain and a light vignette."""
    h, w = canvas.shape[:2]
    unit = min(w, h)
    bright = np.clip(canvas - 0.72, 0, 1)
    canvas += cv2.GaussianBlur(bright, (0, 0), unit / 40) * 0.5
    paper = _fbm(rng, h, w, cells=24, octaves=3) - 0.5
    canvas *= (1.0 + paper * 0.06)[..., None]
    canvas += rng.normal(0.0, 0.012, size=(h, w, 1)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2.0
    canvas *= (1.0 - 0.22 * r2**1.5)[..., None]
    return (np.clip(canvas, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def _paint_landscape(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator) -> None:
    h, w = canvas.shape[:2]
    motifs = scene.motifs
    has_castle = "castle" in motifs
    in_clouds = has_castle and "clouds" in motifs
    horizon = rng.uniform(0.58, 0.68) if "water" in motifs else rng.uniform(0.6, 0.72)
    horizon_y = h * horizon
    canvas[:] = _sky(scene, h, w, horizon)
    if scene.time == "night":
        _paint_stars(canvas, rng, horizon_y)
    light_x, _ = _paint_sun(canvas, scene, rng, horizon_y)
    if "clouds" in motifs or scene.time != "night" or not scene.families:
        _paint_clouds(canvas, scene, rng, h * 0.08, horizon_y * (0.55 if in_clouds else 0.75))
    if "mountains" in motifs or not scene.families or ("snow" in motifs and not has_castle):
        _paint_mountains(canvas, scene, rng, horizon_y)
    unit = min(w, h)
    if "water" in motifs and not in_clouds:
        _paint_far_shore(canvas, scene, rng, horizon_y)
    if has_castle:
        base = horizon_y + h * 0.04 if in_clouds else horizon_y + h * 0.02
        _paint_castle(canvas, scene, rng, base, w * rng.uniform(0.4, 0.6), unit * rng.uniform(0.5, 0.62))
    if "city" in motifs:
        _paint_city(canvas, scene, rng, horizon_y)
    if in_clouds:
        _paint_cloud_sea(canvas, scene, rng, horizon_y)
        ground = np.full(w, float(h), np.float32)
    elif "water" in motifs:
        _paint_water(canvas, scene, rng, horizon_y, light_x)
        ground = np.full(w, float(h), np.float32)
    elif "dunes" in motifs:
        ground = _paint_dunes(canvas, scene, rng, horizon_y)
    else:
        ground = _paint_hills(canvas, scene, rng, horizon_y)
    on_land = not in_clouds and "water" not in motifs
    if on_land and "dunes" not in motifs and ("trees" in motifs or not scene.families or "meadow" in motifs):
        _paint_trees(canvas, scene, rng, ground)
    if on_land and ("flowers" in motifs or "flowers_small" in motifs):
        _paint_meadow_flowers(canvas, scene, rng, ground)
    animal = next((m.split("_", 1)[1] for m in sorted(motifs) if m.startswith("animal_")), None)
    if animal is not None:
        x = w * rng.choice([0.25, 0.72])
        ground_y = float(ground[int(x)]) if on_land else h * 0.93
        _paint_animal(canvas, scene, rng, animal, x, min(ground_y + unit * 0.08, h * 0.97))
    if "snow" in motifs:
        _paint_particles(canvas, rng, _c((255, 255, 255)), int(w * h / 3000), unit * 0.004, unit / 400)
    if "flowers" in motifs and scene.time != "night":
        _paint_particles(canvas, rng, _mix(_rose_color(scene, rng), _c((255, 230, 235)), 0.3), 14, unit * 0.01, 0.6)


def _rng_for(prompt: str, seed: int, negative_prompt: str) -> np.random.Generator:
    return np.random.default_rng(
        [seed & 0xFFFFFFFF, seed >> 32, _stable_hash(prompt) & 0xFFFFFFFF, _stable_hash(negative_prompt) & 0xFFFF]
    )


def render_text_to_image(prompt: str, *, width: int, height: int, seed: int, negative_prompt: str = "") -> Image.Image:
    """Paint an RGB picture for ``prompt`` at width x height; same inputs -> same pixels.

    ``seed`` must already be resolved (callers turn the API's -1 into a concrete seed), so a
    negative seed is a caller bug and raises ValueError.
    """
    if seed < 0:
        raise ValueError("seed must be >= 0 (resolve -1 to a random seed before rendering)")
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(f"width and height must be within {MIN_SIDE}..{MAX_SIDE}, got {width}x{height}")
    scene = _plan(prompt, negative_prompt)
    rng = _rng_for(prompt, seed, negative_prompt)
    canvas = np.zeros((height, width, 3), np.float32)
    landscape_words = {"castle", "water", "mountains", "city", "dunes", "clouds", "night", "sunset"}
    animal = any(m.startswith("animal_") for m in scene.motifs)
    if (
        "flowers" in scene.motifs
        and not (scene.motifs & landscape_words)
        and not animal
        and "meadow" not in scene.motifs
    ):
        _paint_bloom(canvas, scene, rng)
    else:
        _paint_landscape(canvas, scene, rng)
    return Image.fromarray(_finish(canvas, rng), "RGB")
