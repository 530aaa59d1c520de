"""The motifs of the procedural painter, each painted onto the float canvas, back to front:
sky objects, land and water, buildings, animals, particles (plants are `flora.py`)."""

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
    _fill_below,
    _Layer,
    _leaf_points,
    _mix,
    _ridge,
    _shade,
)
from .keywords import PALETTE_KEYWORDS
from .scene import _Scene


def _paint_stars(canvas: np.ndarray, rng: np.random.Generator, horizon_y: float) -> None:
    h, w = canvas.shape[:2]
    count = int(w * h / 2500)
    layer = np.zeros((h, w), np.float32)
    ys = (rng.random(count) ** 1.6 * horizon_y * 0.95).astype(int)
    xs = rng.integers(0, w, count)
    layer[ys, xs] = rng.uniform(0.3, 1.0, count).astype(np.float32)
    glow = cv2.GaussianBlur(layer, (0, 0), 0.8) * 2.5 + layer  # a soft halo around each point
    _composite(canvas, _c((255, 250, 235)), np.clip(glow, 0, 1))


def _paint_sun(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> tuple[float, float]:
    h, w = canvas.shape[:2]
    unit = min(w, h)
    night = scene.time == "night"
    cx = w * rng.uniform(0.2, 0.8)
    cy = horizon_y * (rng.uniform(0.15, 0.4) if night else rng.uniform(0.45, 0.8) if scene.time == "sunset" else 0.25)
    radius = unit * (0.06 if night else 0.085)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / radius
    disc_color = _c((244, 240, 222)) if night else _c((255, 246, 214)) if scene.time == "day" else _c((255, 224, 150))
    glow_color = _c((150, 160, 230)) if night else _c((255, 214, 150))
    _composite(canvas, glow_color, 0.55 * np.exp(-((dist / 3.2) ** 2)))
    disc = np.clip((1.0 - dist) * radius / 1.5, 0, 1)
    _composite(canvas, disc_color, disc)
    if night:  # a crescent: a sky-coloured disc nibbles the moon
        off = np.sqrt((xx - cx - radius * 0.45) ** 2 + (yy - cy + radius * 0.2) ** 2) / radius
        bite = np.clip((0.95 - off) * radius / 1.5, 0, 1) * 0.85
        sky_here = canvas[int(min(h - 1, cy)), int(min(w - 1, cx + radius * 2.5))].copy()
        _composite(canvas, sky_here, bite * disc)
    return cx, cy


def _cloud_blobs(
    layer: _Layer, rng: np.random.Generator, cx: float, cy: float, size: float, light: Color, shadow: Color
) -> None:
    """A cumulus: overlapping circles, bulging in the middle, flat-ish base, lit from above."""
    n = int(rng.integers(5, 9))
    puffs = []
    for off in np.linspace(-1.0, 1.0, n):
        r = size * (0.55 - 0.3 * abs(off)) * rng.uniform(0.8, 1.2)
        puffs.append((cx + off * size * 1.1, cy - r * 0.55 + rng.uniform(-0.05, 0.05) * size, r))
    # shadowed undersides first, a flat base, then the sunlit tops over them: no stripes
    for x, y, r in puffs:
        layer.ellipse(x, y + r * 0.12, r, r, shadow)
    layer.ellipse(cx, cy - size * 0.08, size * 1.25, size * 0.12, shadow)
    for k, (x, y, r) in enumerate(puffs):
        layer.ellipse(x - r * 0.08, y - r * 0.1, r * 0.9, r * 0.86, light if k % 2 == 0 else _mix(light, shadow, 0.12))


def _paint_clouds(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, top: float, bottom: float) -> None:
    h, w = canvas.shape[:2]
    unit = min(w, h)
    light = {"day": _c((252, 252, 255)), "sunset": _c((255, 214, 190)), "night": _c((96, 100, 150))}[scene.time]
    shadow = {"day": _c((196, 210, 232)), "sunset": _c((200, 120, 140)), "night": _c((52, 56, 100))}[scene.time]
    if scene.tint is not None:
        light, shadow = _mix(light, scene.tint, 0.12), _mix(shadow, scene.tint, 0.25)
    layer = _Layer(w, h)
    for _ in range(int(rng.integers(3, 6))):
        _cloud_blobs(
            layer,
            rng,
            rng.uniform(-0.05, 1.05) * w,
            rng.uniform(top, bottom),
            unit * rng.uniform(0.08, 0.16),
            light,
            shadow,
        )
    layer.composite_onto(canvas, blur=unit / 180)
    # a few thin streaks of high cloud, softly blurred, give the sky depth
    streaks = _Layer(w, h)
    for _ in range(int(rng.integers(2, 5))):
        y = rng.uniform(top * 0.5, bottom)
        x = rng.uniform(0, w)
        streaks.ellipse(x, y, unit * rng.uniform(0.15, 0.35), unit * 0.008, light, alpha=0.5)
    streaks.composite_onto(canvas, blur=unit / 90)


def _paint_cloud_sea(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, level: float) -> None:
    """A bank of clouds filling the bottom of the picture ("in the clouds")."""
    h, w = canvas.shape[:2]
    unit = min(w, h)
    light = {"day": _c((255, 255, 255)), "sunset": _c((255, 220, 200)), "night": _c((120, 124, 176))}[scene.time]
    shadow = {"day": _c((188, 204, 232)), "sunset": _c((210, 140, 160)), "night": _c((60, 64, 110))}[scene.time]
    if scene.tint is not None:
        shadow = _mix(shadow, scene.tint, 0.2)
    for row in range(3):
        layer = _Layer(w, h)
        y = level + row * (h - level) * 0.3
        row_light = _mix(shadow, light, 0.55 + 0.22 * row)
        x = -unit * 0.1
        while x < w + unit * 0.1:
            r = unit * rng.uniform(0.05, 0.1)
            layer.ellipse(x, y + r * 0.1, r, r, shadow)
            layer.ellipse(x - r * 0.1, y - r * 0.06, r * 0.9, r * 0.88, row_light)
            x += r * rng.uniform(1.1, 1.5)
        layer.rect(-2, y, w + 2, h + 2, _mix(shadow, row_light, 0.5))
        layer.composite_onto(canvas, blur=unit / 200)


def _paint_mountains(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    h, w = canvas.shape[:2]
    haze = canvas[int(horizon_y) - 1, w // 2].copy()
    base = _c(PALETTE_KEYWORDS["mountain"].colors[0])
    if scene.time == "night":
        base = _c((30, 34, 70))
    elif scene.time == "sunset":
        base = _c((110, 70, 120))
    snowy = "snow" in scene.motifs
    for layer_idx, depth in enumerate((0.65, 0.35, 0.0)):
        line = _ridge(rng, w, horizon_y - h * (0.14 + 0.06 * depth), h * (0.1 + 0.05 * depth), 4)
        color = _mix(base * (0.8 + 0.1 * layer_idx), haze, 0.25 + 0.6 * depth)
        mask = _fill_below(h, w, line)
        _composite(canvas, color, mask)
        if snowy and layer_idx < 2:  # snow caps: a band under the ridge above a noisy snow line
            cap = mask * np.clip(1.0 - (np.arange(h)[:, None] - line[None, :]) / (h * 0.05), 0, 1)
            _composite(canvas, _mix(_c((248, 250, 255)), haze, 0.3 * depth), cap * 0.9)


def _paint_hills(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> np.ndarray:
    """Rolling foreground hills; returns the front hill line (where things stand)."""
    h, w = canvas.shape[:2]
    if "city" in scene.motifs:
        grass = _c((70, 60, 100))
    elif "dunes" in scene.motifs:
        grass = _c(PALETTE_KEYWORDS["desert"].colors[0])
    elif "snow" in scene.motifs:
        grass = _c((226, 234, 248))
    else:
        grass = _c(PALETTE_KEYWORDS["garden"].colors[0])
    if scene.time == "night":
        grass = grass * 0.35
    elif scene.time == "sunset":
        grass = _mix(grass * 0.7, _c((160, 90, 80)), 0.3)
    line = horizon_y
    haze = canvas[int(horizon_y) - 1, w // 2].copy()
    for idx, depth in enumerate((0.5, 0.0)):
        line = _ridge(rng, w, horizon_y + h * (0.02 + 0.1 * (1 - depth)), h * 0.035, 2, smooth=True)
        shade = _mix(grass * (0.9 + 0.15 * idx), haze, 0.35 * depth)
        ys = np.arange(h, dtype=np.float32)[:, None]
        grad = np.clip((ys - line[None, :]) / (h * 0.4), 0, 1)[..., None]  # darker towards the bottom
        color = shade[None, None, :] * (1.0 - 0.35 * grad)
        _composite(canvas, color, _fill_below(h, w, line))
    return line


def _paint_water(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, horizon_y: float, light_x: float) -> None:
    """Water below the horizon: a rippled, softened mirror of the scene, deepening towards the
    viewer, with a glitter path of thin dashes under the sun or moon."""
    h, w = canvas.shape[:2]
    hy = int(horizon_y)
    rows = h - hy
    if rows <= 2:
        return
    ys = np.arange(hy, h, dtype=np.float32)
    dist = (ys - hy) / rows  # 0 at the horizon, 1 at the bottom
    # Horizontally stretched noise (cells ~40 px wide, ~3 px tall) reads as ripples on water.
    ripple = cv2.resize(
        rng.standard_normal((max(2, rows // 3), max(2, w // 40))).astype(np.float32),
        (w, rows),
        interpolation=cv2.INTER_CUBIC,
    )
    map_x = np.arange(w, dtype=np.float32)[None, :] + ripple * (1.0 + dist[:, None] * w * 0.01)
    map_y = (2 * hy - ys - 1).clip(0, h - 1)[:, None] + ripple * (0.5 + dist[:, None] * 3.0)
    reflection = cv2.remap(
        canvas, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    reflection = cv2.GaussianBlur(reflection, (0, 0), sigmaX=1.0, sigmaY=2.0)
    water = _c(PALETTE_KEYWORDS["water"].colors[0])
    deep = _c(PALETTE_KEYWORDS["water"].colors[1])
    glow = _c((255, 236, 190))
    if scene.time == "night":
        water, deep, glow = water * 0.35, deep * 0.3, _c((210, 215, 255))
    elif scene.time == "sunset":
        water, glow = _mix(water, _c((170, 90, 110)), 0.45), _c((255, 200, 120))
    if scene.tint is not None:
        water = _mix(water, scene.tint, 0.2)
    tone = water[None, None, :] * (1 - dist[:, None, None]) + deep[None, None, :] * dist[:, None, None]
    mix = (0.3 + 0.45 * dist)[:, None, None]
    region = reflection * (1 - mix) + tone * mix
    # glitter: the brightest ripple crests, concentrated in a widening path under the light
    crest = np.clip((ripple - 1.1) * 1.5, 0, 1)
    path_width = w * (0.03 + 0.12 * dist[:, None])
    path = np.exp(-(((np.arange(w, dtype=np.float32)[None, :] - light_x) / path_width) ** 2))
    sparkle = crest * (0.25 + 0.75 * path) * (0.5 + 0.5 * (1 - dist[:, None]))
    region += sparkle[..., None] * glow * (0.9 if scene.time != "day" else 0.6)
    canvas[hy:] = np.clip(region, 0, 1)
    # a thin bright line where water meets the far shore
    canvas[max(0, hy - 1) : hy + 1] = _mix(canvas[max(0, hy - 1) : hy + 1], glow, 0.25)


def _paint_far_shore(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """A low strip of land on the far side of the water, for things to stand on and mirror."""
    h, w = canvas.shape[:2]
    land = (
        _c((70, 110, 80)) if scene.time == "day" else _c((60, 50, 80)) if scene.time == "sunset" else _c((18, 22, 44))
    )
    if "snow" in scene.motifs:
        land = _mix(land, _c((230, 236, 250)), 0.6)
    haze = canvas[int(horizon_y) - 1, w // 2].copy()
    line = _ridge(rng, w, horizon_y - h * 0.02, h * 0.012, 3, smooth=True)
    _composite(canvas, _mix(land, haze, 0.4), _fill_below(h, w, line))


def _paint_castle(
    canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, base_y: float, cx: float, size: float
) -> None:
    """A fairy-tale castle: a keep, towers with conical roofs, crenellations, windows, a flag."""
    h, w = canvas.shape[:2]
    wall = _c(PALETTE_KEYWORDS["castle"].colors[0])
    if scene.tint is not None:  # "white castle", "金色的城堡": colour words paint the walls
        wall = _mix(wall, scene.tint, 0.8)
    haze = canvas[int(min(h - 1, base_y - size * 0.5)), w // 2].copy()
    if scene.time == "night":
        wall = _mix(wall * 0.45, haze, 0.2)
    elif scene.time == "sunset":
        wall = _mix(wall, _c((250, 160, 120)), 0.3)
    wall = _mix(wall, haze, 0.12)  # a little atmosphere: the castle is not in our face
    shade = _shade(wall, 0.74)
    # roofs keep a colour of their own (a white castle with white roofs would vanish in the sky)
    roof_words = [n for n in scene.families if n in ("red", "pink", "purple", "blue")]
    roof = _c((64, 86, 172)) if not roof_words else _shade(_c(PALETTE_KEYWORDS[roof_words[0]].colors[0]), 0.85)
    if scene.time == "night":
        roof = roof * 0.5
    roof_shade = _shade(roof, 0.7)
    window = _c((255, 214, 120)) if scene.time != "day" else _shade(wall, 0.45)
    layer = _Layer(w, h)

    def tower(x: float, width: float, height: float, pointed: bool) -> None:
        top = base_y - height
        layer.rect(x - width / 2, top, x + width / 2, base_y, wall)
        layer.rect(x + width * 0.15, top, x + width / 2, base_y, shade)  # light from the left
        if pointed:
            peak = top - width * rng.uniform(1.3, 1.9)
            layer.polygon([(x - width * 0.62, top + 1), (x, peak), (x + width * 0.62, top + 1)], roof)
            layer.polygon([(x, peak), (x + width * 0.62, top + 1), (x + width * 0.1, top + 1)], roof_shade)
            layer.rect(x - width * 0.62, top, x + width * 0.62, top + width * 0.12, _shade(wall, 0.9))
        else:
            teeth = 4
            for i in range(teeth):
                tx = x - width / 2 + i * width / (teeth - 0.5)
                layer.rect(tx, top - width * 0.18, tx + width / (2 * teeth - 1), top + 1, wall)
        for k in range(int(height / (width * 1.3))):  # windows with arched tops
            wy = top + width * (0.5 + 1.3 * k)
            if wy + width * 0.35 > base_y - width * 0.3:
                break
            ww = width * 0.16
            layer.rect(x - ww, wy, x + ww, wy + width * 0.32, window)
            layer.ellipse(x, wy, ww, ww, window)

    # the wall between the towers, then the keep, then towers from the outside in
    layer.rect(cx - size * 0.48, base_y - size * 0.32, cx + size * 0.48, base_y + size, wall)
    layer.rect(cx + size * 0.2, base_y - size * 0.32, cx + size * 0.48, base_y + size, shade)
    gate_w = size * 0.09
    layer.rect(cx - gate_w, base_y - size * 0.16, cx + gate_w, base_y + size, _shade(wall, 0.35))
    layer.ellipse(cx, base_y - size * 0.16, gate_w, gate_w, _shade(wall, 0.35))
    positions = sorted(rng.uniform(-0.42, 0.42, int(rng.integers(2, 4))).tolist() + [-0.5, 0.5], key=abs, reverse=True)
    for pos in positions:
        width = size * rng.uniform(0.09, 0.13)
        height = size * (0.45 + 0.35 * (1 - abs(pos))) * rng.uniform(0.85, 1.1)
        tower(cx + pos * size, width, height, pointed=bool(rng.random() < 0.8))
    tower(cx, size * 0.2, size * 0.95, pointed=True)  # the keep
    flag_x, flag_top = cx, base_y - size * 0.95 - size * 0.2 * 1.6
    layer.line([(flag_x, flag_top + size * 0.02), (flag_x, flag_top - size * 0.1)], _shade(wall, 0.4), size * 0.006)
    layer.polygon(
        [
            (flag_x, flag_top - size * 0.1),
            (flag_x + size * 0.08, flag_top - size * 0.08),
            (flag_x, flag_top - size * 0.055),
        ],
        _c(scene.palette[0]) if scene.palette else roof,
    )
    layer.composite_onto(canvas)


def _paint_city(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, base_y: float) -> None:
    h, w = canvas.shape[:2]
    neon = [_c(rgb) for rgb in PALETTE_KEYWORDS["city"].colors[:2]]
    for depth in (0.6, 0.0):
        layer = _Layer(w, h)
        glow = _Layer(w, h)
        x = -rng.uniform(0, 30)
        body = _mix(_c((24, 18, 52)), canvas[int(base_y) - 1, w // 2], 0.45 * depth)
        while x < w:
            bw = w * rng.uniform(0.05, 0.11)
            bh = h * rng.uniform(0.18, 0.5) * (1 - 0.35 * depth)
            top = base_y - bh
            layer.rect(x, top, x + bw - 2, base_y + 2, body)
            for wy in np.arange(top + 8, base_y - 6, 9):
                for wx in np.arange(x + 5, x + bw - 8, 7):
                    if rng.random() < 0.35:
                        layer.rect(
                            wx, wy, wx + 3, wy + 4, _mix(neon[int(rng.integers(0, 2))], _c((255, 240, 200)), 0.5)
                        )
            if rng.random() < 0.5:  # a neon sign
                color = neon[int(rng.integers(0, 2))]
                sy = top + bh * rng.uniform(0.15, 0.5)
                glow.rect(x + bw * 0.2, sy, x + bw * 0.7, sy + bh * 0.06, color)
            x += bw + rng.uniform(0, 6)
        glow_small = glow.image.resize((w, h), Image.Resampling.LANCZOS)
        layer.composite_onto(canvas)
        arr = np.asarray(glow_small, np.float32) / 255.0
        halo = cv2.GaussianBlur(arr, (0, 0), min(w, h) / 60)
        canvas += halo[..., :3] * halo[..., 3:4] * 1.2  # additive light: neon glows
        _composite(canvas, arr[..., :3], arr[..., 3])
    np.clip(canvas, 0, 1, out=canvas)


def _paint_trees(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, ground: np.ndarray) -> None:
    h, w = canvas.shape[:2]
    unit = min(w, h)
    green = _c(PALETTE_KEYWORDS["forest"].colors[0])
    if scene.time == "night":
        green = green * 0.35
    elif scene.time == "sunset":
        green = _mix(green * 0.6, _c((90, 50, 70)), 0.4)
    if "snow" in scene.motifs:
        green = _mix(green, _c((60, 90, 90)), 0.4)
    layer = _Layer(w, h)
    count = int(rng.integers(6, 12)) if "trees" in scene.motifs else int(rng.integers(2, 5))
    xs = np.sort(rng.uniform(0, w, count))
    for x in xs:
        gy = float(ground[int(np.clip(x, 0, w - 1))]) + unit * 0.01
        size = unit * rng.uniform(0.08, 0.16)
        tone = green * rng.uniform(0.8, 1.15)
        if rng.random() < 0.55:  # a pine: stacked triangles
            layer.rect(x - size * 0.04, gy - size * 0.2, x + size * 0.04, gy + 2, _c((70, 46, 30)) * 0.8)
            for k in range(3):
                y = gy - size * (0.15 + 0.3 * k)
                half = size * (0.32 - 0.07 * k)
                layer.polygon([(x - half, y), (x, y - size * 0.5), (x + half, y)], tone)
                layer.polygon([(x, y - size * 0.5), (x + half, y), (x + half * 0.1, y)], _shade(tone, 0.75))
                if "snow" in scene.motifs:
                    layer.polygon(
                        [(x - half * 0.35, y - size * 0.33), (x, y - size * 0.5), (x + half * 0.35, y - size * 0.33)],
                        _c((240, 246, 255)),
                    )
        else:  # a round tree: a trunk and a few overlapping crowns
            layer.rect(x - size * 0.04, gy - size * 0.45, x + size * 0.04, gy + 2, _c((90, 60, 40)) * 0.8)
            for dx, dy, r, f in ((-0.14, -0.5, 0.2, 0.95), (0.14, -0.52, 0.2, 0.8), (0.0, -0.68, 0.24, 1.05)):
                layer.ellipse(x + dx * size, gy + dy * size, r * size, r * size, _shade(tone, f))
    layer.composite_onto(canvas)


def _paint_animal(
    canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, kind: str, x: float, ground_y: float
) -> None:
    """A sitting cat / fox / rabbit seen from behind-three-quarters; a silhouette at dusk."""
    h, w = canvas.shape[:2]
    s = min(w, h) * 0.22
    fur = _c(PALETTE_KEYWORDS[kind].colors[0])
    belly = _c(PALETTE_KEYWORDS[kind].colors[1])
    ear_inside = belly if kind == "rabbit" else _shade(fur, 0.7)
    if kind == "rabbit":  # cream belly; the pink is for the inside of the ears
        belly = _c((255, 250, 242))
    if scene.tint is not None:
        fur = _mix(fur, scene.tint, 0.35)
    if scene.time in ("night", "sunset"):  # backlit by the sky: a silhouette reads best
        fur, belly = _mix(fur * 0.18, _c((20, 10, 30)), 0.5), _mix(fur * 0.3, _c((40, 20, 40)), 0.5)
        ear_inside = _shade(fur, 0.7)
    dark = ear_inside
    layer = _Layer(w, h)
    y = ground_y
    # tail first (behind the body)
    if kind == "fox":
        layer.polygon(_leaf_points(x + s * 0.25, y - s * 0.08, s * 0.75, s * 0.32, -0.25), fur)
        layer.polygon(_leaf_points(x + s * 0.75, y - s * 0.21, s * 0.25, s * 0.2, -0.25), belly)
    elif kind == "cat":
        tail = [(x + s * 0.25 + s * 0.45 * math.sin(t), y - s * 0.05 - s * 0.5 * t) for t in np.linspace(0, 1.2, 16)]
        layer.line(tail, fur, s * 0.08)
    else:
        layer.ellipse(x + s * 0.32, y - s * 0.12, s * 0.09, s * 0.09, belly)
    layer.ellipse(x, y - s * 0.35, s * 0.34, s * 0.36, fur)  # body
    layer.ellipse(x - s * 0.06, y - s * 0.28, s * 0.16, s * 0.24, belly, alpha=0.9)
    head_y = y - s * 0.8
    layer.ellipse(x - s * 0.02, head_y, s * 0.22, s * 0.2, fur)
    if kind == "rabbit":
        for dx, tilt in ((-0.1, -0.15), (0.08, 0.2)):
            layer.polygon(_ellipse_points(x + dx * s, head_y - s * 0.32, s * 0.07, s * 0.26, tilt), fur)
            layer.polygon(_ellipse_points(x + dx * s, head_y - s * 0.3, s * 0.035, s * 0.18, tilt), ear_inside)
    else:
        ear_h = 0.3 if kind == "fox" else 0.22
        for side in (-1, 1):
            bx = x - s * 0.02 + side * s * 0.13
            layer.polygon(
                [
                    (bx - s * 0.08, head_y - s * 0.1),
                    (bx + side * s * 0.03, head_y - s * ear_h - s * 0.1),
                    (bx + s * 0.08, head_y - s * 0.12),
                ],
                fur,
            )
            layer.polygon(
                [
                    (bx - s * 0.04, head_y - s * 0.12),
                    (bx + side * s * 0.02, head_y - s * ear_h - s * 0.04),
                    (bx + s * 0.04, head_y - s * 0.13),
                ],
                dark,
            )
    if kind == "fox":
        layer.polygon(
            [(x - s * 0.2, head_y + s * 0.02), (x - s * 0.02, head_y + s * 0.2), (x + s * 0.16, head_y + s * 0.02)],
            belly,
        )
    layer.composite_onto(canvas)


def _paint_dunes(canvas: np.ndarray, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> np.ndarray:
    """Three rows of smooth dunes, each lit on its crest and darkening down its flank."""
    h, w = canvas.shape[:2]
    sand = _c(PALETTE_KEYWORDS["desert"].colors[0])
    if scene.time == "sunset":
        sand = _mix(sand, _c((230, 120, 90)), 0.35)
    elif scene.time == "night":
        sand = _mix(sand * 0.3, _c((40, 40, 90)), 0.3)
    haze = canvas[int(horizon_y) - 1, w // 2].copy()
    ys = np.arange(h, dtype=np.float32)[:, None]
    line = np.full(w, horizon_y, np.float32)
    for idx in range(3):
        line = _ridge(rng, w, horizon_y + h * 0.08 * idx, h * 0.06, 2, smooth=True)
        near = idx / 2.0
        lit = _mix(_shade(sand, 1.08), haze, 0.35 * (1 - near))
        dark = _mix(_shade(sand, 0.62), haze, 0.25 * (1 - near))
        below = np.clip((ys - line[None, :]) / (h * 0.12), 0, 1)[..., None]  # 0 on the crest
        color = lit[None, None, :] * (1 - below) + dark[None, None, :] * below
        _composite(canvas, color, _fill_below(h, w, line))
    return line


def _paint_particles(
    canvas: np.ndarray, rng: np.random.Generator, color: Color, count: int, size: float, blur: float
) -> None:
    h, w = canvas.shape[:2]
    layer = _Layer(w, h)
    for _ in range(count):
        r = size * rng.uniform(0.4, 1.2)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        layer.polygon(
            _ellipse_points(x, y, r, r * 0.55, rng.uniform(0, math.pi), 12), color, alpha=rng.uniform(0.5, 0.95)
        )
    layer.composite_onto(canvas, blur=blur)
