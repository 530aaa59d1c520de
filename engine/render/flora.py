"""The plants of the procedural painter: roses in bloom, leaves and meadow flowers."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from .canvas import (
    Color,
    _c,
    _composite,
    _ellipse_points,
    _Layer,
    _leaf_points,
    _mix,
    _shade,
    _shifted,
    _vertical_gradient,
)
from .keywords import PALETTE_KEYWORDS
from .scene import _Scene


def _draw_rose(layer: _Layer, rng: np.random.Generator, cx: float, cy: float, r: float, base: Color) -> None:
    """A stylised rose seen from above: rings of rotated petals, a spiral heart."""
    rot = rng.uniform(0, 2 * math.pi)
    outline = _shade(base, 0.62)
    # outer petals catch the most light; the cupped heart sits in its own shadow
    rings = (
        (7, 0.58, 0.52, 0.36, 1.0),
        (6, 0.42, 0.44, 0.3, 0.92),
        (5, 0.26, 0.34, 0.24, 0.84),
        (4, 0.12, 0.24, 0.18, 0.74),
    )
    rim_color = _mix(base, _c((255, 150, 160)), 0.45)
    for ring, (count, dist, rx, ry, light) in enumerate(rings):
        for i in range(count):
            a = rot + ring * 0.45 + i * 2 * math.pi / count
            px, py = cx + math.cos(a) * dist * r, cy + math.sin(a) * dist * r
            petal = _ellipse_points(px, py, rx * r, ry * r, a + math.pi / 2)
            layer.polygon(
                _ellipse_points(px + r * 0.02, py + r * 0.03, rx * r * 1.04, ry * r * 1.08, a + math.pi / 2), outline
            )
            layer.polygon(petal, _shade(base, light * rng.uniform(0.94, 1.06)))
            # a lighter rim on each petal's outer edge catches the light
            rim = _ellipse_points(
                px + math.cos(a) * r * ry * 0.5,
                py + math.sin(a) * r * ry * 0.5,
                rx * r * 0.7,
                ry * r * 0.35,
                a + math.pi / 2,
            )
            layer.polygon(rim, _shade(rim_color, light), alpha=0.6)
    spiral = [
        (cx + math.cos(rot + t) * r * 0.02 * t, cy + math.sin(rot + t) * r * 0.02 * t) for t in np.linspace(0, 9, 40)
    ]
    layer.line(spiral, _shade(base, 0.5), r * 0.035)


def _draw_leaf(layer: _Layer, x: float, y: float, length: float, angle: float, green: Color) -> None:
    layer.polygon(_leaf_points(x, y, length, length * 0.45, angle), green)
    layer.polygon(
        _leaf_points(x, y, length, length * 0.22, angle + 0.12), _mix(green, _c((96, 178, 72)), 0.7), alpha=0.7
    )
    end = (x + math.cos(angle) * length * 0.9, y + math.sin(angle) * length * 0.9)
    layer.line([(x, y), end], _shade(green, 0.6), max(1.0, length * 0.03))


def _rose_color(scene: _Scene, rng: np.random.Generator) -> Color:
    base = _c(PALETTE_KEYWORDS["flower"].colors[int(rng.integers(0, 3))])
    if scene.tint is not None:
        base = _mix(base, scene.tint, 0.75)
    return base


def _paint_bloom(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator) -> None:
    """Close-up composition for flower prompts: roses and leaves over a bokeh background."""
    h, w = canvas.shape[:2]
    unit = min(w, h)
    main = _rose_color(scene, rng)
    back_top = _mix(_shade(main, 0.35), _c((40, 10, 30)), 0.3)
    back_bottom = _mix(main, _c((255, 200, 210)), 0.45)
    canvas[:] = _vertical_gradient(h, w, [(0.0, back_top), (1.0, back_bottom)])
    bokeh = _Layer(w, h)
    for _ in range(int(18 + w * h / 30000)):
        color = _mix(
            _c(scene.palette[int(rng.integers(0, len(scene.palette)))]), _c((255, 236, 240)), rng.uniform(0.2, 0.7)
        )
        r = unit * rng.uniform(0.02, 0.09)
        bokeh.ellipse(rng.uniform(0, w), rng.uniform(0, h), r, r, color, alpha=rng.uniform(0.15, 0.45))
    bokeh.composite_onto(canvas, blur=unit / 70)
    layer = _Layer(w, h)
    green = _c((46, 112, 60)) if scene.tint is None else _mix(_c((46, 112, 60)), scene.tint, 0.15)
    count = int(rng.integers(5, 8))
    # a loose bouquet: roses spread across the width on a gentle wave, lower ones in front
    phase = rng.uniform(0, 2 * math.pi)
    xs = (np.arange(count) + rng.uniform(0.2, 0.8, count)) / count * 0.84 + 0.08
    spots = [
        (x * w, h * (0.58 + 0.14 * math.sin(phase + x * 5.0) + rng.uniform(-0.12, 0.12)), unit * rng.uniform(0.11, 0.2))
        for x in xs
    ]
    spots.sort(key=lambda s: s[1])
    for x, y, r in spots:
        for _ in range(3):
            ang = rng.uniform(0, 2 * math.pi)
            _draw_leaf(
                layer, x + math.cos(ang) * r * 0.6, y + math.sin(ang) * r * 0.6, r * rng.uniform(0.9, 1.3), ang, green
            )
    for x, y, r in spots:
        _draw_rose(layer, rng, x, y, r, _rose_color(scene, rng))
    shadow = np.asarray(layer.image.resize((w, h), Image.Resampling.BILINEAR), np.float32)[..., 3] / 255.0
    shadow = _shifted(cv2.GaussianBlur(shadow, (0, 0), unit / 60), int(unit * 0.02), int(unit * 0.015))
    _composite(canvas, _c((30, 0, 10)), shadow * 0.45)  # a soft drop shadow lifts the flowers
    layer.composite_onto(canvas)


def _paint_meadow_flowers(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, ground: np.ndarray) -> None:
    """Five-petal flowers scattered over the grass, bigger towards the viewer; for rose
    prompts the near ones are roses."""
    h, w = canvas.shape[:2]
    unit = min(w, h)
    layer = _Layer(w, h)
    roses = "flowers" in scene.motifs
    # green petals on green grass read as cabbages: flowers take the prompt's non-green colours
    flower_colors = [c for c in scene.palette if not (c[1] > c[0] and c[1] > c[2])] or [(246, 170, 190)]
    spots = []
    for _ in range(int(70 * w / max(w, h))):
        x = rng.uniform(0, w)
        top = float(ground[int(np.clip(x, 0, w - 1))])
        y = rng.uniform(top + unit * 0.02, h + unit * 0.02)
        spots.append((y, x, (y - top) / max(1.0, h - top)))  # depth 0 far .. 1 near
    for y, x, near in sorted(spots):  # far first, so near flowers overlap far ones
        r = unit * (0.006 + 0.03 * near**1.6)
        if roses and rng.random() < 0.75:
            color = _rose_color(scene, rng)
        else:
            color = _c(flower_colors[int(rng.integers(0, len(flower_colors)))])
        if scene.time == "night":
            color = color * 0.5
        layer.line(
            [(x, y), (x + r * 0.2, y + r * 2.2)], _c((50, 110, 50)) * (0.5 if scene.time == "night" else 1), r * 0.18
        )
        if roses and r > unit * 0.028 and rng.random() < 0.4:
            _draw_rose(layer, rng, x, y, r * 1.3, color)
            continue
        for k in range(5):
            a = k * 2 * math.pi / 5 + rng.uniform(0, 0.6)
            layer.ellipse(
                x + math.cos(a) * r * 0.55, y + math.sin(a) * r * 0.55, r * 0.5, r * 0.5, _shade(color, 0.92 + 0.04 * k)
            )
        layer.ellipse(x, y, r * 0.3, r * 0.3, _c((255, 214, 110)))
    layer.composite_onto(canvas)
