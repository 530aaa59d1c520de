"""Procedural text-to-image: an honest, deterministic stand-in for a diffusion model.

No text-to-image model can be installed on this machine, so the offline engine paints a flat
"vector illustration" from the words of the prompt: keyword families (Chinese and English)
choose a palette, a time of day and motifs (roses, castles, clouds, water, mountains, trees,
animals, a city, dunes...), which are layered back to front over gradients and finished with a
soft grain. The same (prompt, seed, size) always gives byte-identical pixels: every random draw
comes from one numpy Generator seeded from the seed and a stable hash of the prompt.

Shapes are drawn with Pillow on a 2x supersampled RGBA layer and downsampled (antialiasing);
gradients, noise, reflections and compositing are numpy/OpenCV array work.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
Color = np.ndarray  # float32 shape (3,), 0..1

MIN_SIDE = 16
MAX_SIDE = 4096
_SUPERSAMPLE = 2


@dataclass(frozen=True)
class KeywordFamily:
    """Words that mean one thing for the painter: its colours and the motifs it asks for."""

    name: str
    english: tuple[str, ...]  # whole words; a trailing plural "s"/"es" also matches
    chinese: tuple[str, ...]  # substrings (Chinese has no spaces between words)
    colors: tuple[RGB, ...]  # the first colour is the family's main colour
    motifs: frozenset[str] = field(default_factory=frozenset)


def _family(name: str, english: str, chinese: str, colors: Sequence[RGB], motifs: str = "") -> KeywordFamily:
    return KeywordFamily(name, tuple(english.split()), tuple(chinese.split()), tuple(colors), frozenset(motifs.split()))


_FAMILIES: tuple[KeywordFamily, ...] = (
    _family(
        "flower",
        "rose flower blossom bloom bouquet peony tulip petal",
        "玫瑰 花 蔷薇 牡丹 樱 郁金香",
        [(196, 30, 58), (226, 70, 96), (240, 130, 150), (122, 12, 36)],
        "flowers",
    ),
    _family(
        "castle",
        "castle palace fortress kingdom tower",
        "城堡 宫殿 塔 王国",
        [(186, 178, 200), (98, 104, 150), (64, 84, 150), (232, 226, 236)],
        "castle",
    ),
    _family(
        "sky",
        "sky cloud heaven cloudy",
        "云 天空 蓝天 苍穹",
        [(104, 164, 228), (196, 222, 248), (246, 248, 255)],
        "clouds",
    ),
    _family(
        "water",
        "river water sea ocean lake wave beach shore",
        "河 海 湖 水 浪 江 溪",
        [(36, 118, 150), (18, 60, 108), (120, 200, 212)],
        "water",
    ),
    _family(
        "mountain",
        "mountain hill peak valley alps",
        "山 峰 峦",
        [(92, 104, 146), (154, 164, 196), (58, 68, 94)],
        "mountains",
    ),
    _family(
        "sunset",
        "sunset sunrise dusk dawn sun evening",
        "夕阳 日落 黄昏 日出 太阳 晚霞 朝霞",
        [(255, 140, 64), (246, 92, 76), (255, 204, 120), (122, 62, 122)],
        "sun sunset",
    ),
    _family(
        "night",
        "night moon star galaxy midnight starry moonlight",
        "夜 月 星",
        [(16, 22, 62), (52, 42, 112), (204, 212, 255)],
        "moon stars night",
    ),
    _family(
        "forest",
        "forest tree wood woods pine jungle green leaf",
        "森林 树 林 绿 松",
        [(40, 112, 62), (112, 172, 82), (200, 230, 150)],
        "trees",
    ),
    _family(
        "garden",
        "garden meadow grass field spring park",
        "花园 草 庭院 春 田野",
        [(92, 160, 76), (170, 214, 120), (246, 170, 190)],
        "meadow flowers_small",
    ),
    _family(
        "snow",
        "snow winter ice frost snowy frozen",
        "雪 冬 冰 霜",
        [(236, 242, 255), (182, 202, 232), (140, 160, 204)],
        "snow",
    ),
    _family("gold", "gold golden amber", "金", [(212, 172, 56), (255, 214, 102), (158, 108, 30)], "tint"),
    _family("blue", "blue azure sapphire", "蓝", [(42, 92, 204), (92, 150, 240), (20, 40, 112)], "tint"),
    _family("pink", "pink sakura", "粉", [(255, 168, 198), (240, 128, 168), (255, 222, 232)], "tint"),
    _family("red", "red crimson scarlet", "红 赤", [(204, 32, 42), (240, 82, 62), (120, 12, 22)], "tint"),
    _family("white", "white ivory pearl silver", "白 银", [(250, 250, 252), (226, 228, 240), (200, 206, 226)], "tint"),
    _family("purple", "purple violet lavender", "紫", [(132, 82, 182), (182, 142, 222), (72, 40, 112)], "tint"),
    _family("cat", "cat kitten kitty", "猫", [(232, 150, 80), (250, 226, 190), (112, 70, 40)], "animal_cat"),
    _family("fox", "fox", "狐", [(232, 112, 40), (250, 182, 102), (92, 40, 20)], "animal_fox"),
    _family("rabbit", "rabbit bunny hare", "兔", [(246, 236, 226), (232, 190, 182), (162, 132, 122)], "animal_rabbit"),
    _family(
        "city",
        "city cyberpunk neon street skyline town",
        "城市 赛博 霓虹 街 都市",
        [(255, 60, 180), (60, 222, 255), (40, 20, 82)],
        "city night",
    ),
    _family("desert", "desert dune sand", "沙漠 沙丘 沙", [(232, 190, 130), (200, 140, 80), (250, 222, 170)], "dunes"),
)

# Public: family name -> family (tests and the UI read the word lists and colours from here).
PALETTE_KEYWORDS: dict[str, KeywordFamily] = {family.name: family for family in _FAMILIES}

# Used when no keyword matches; one is picked from a stable hash of the prompt.
_DEFAULT_PALETTES: tuple[tuple[RGB, ...], ...] = (
    ((250, 196, 142), (236, 120, 120), (120, 96, 170), (62, 70, 128)),  # dusk
    ((148, 206, 196), (244, 214, 160), (92, 140, 120), (42, 78, 92)),  # mint morning
    ((186, 206, 240), (240, 196, 214), (120, 150, 200), (70, 80, 130)),  # pastel
    ((252, 220, 150), (226, 150, 90), (130, 110, 90), (60, 70, 60)),  # autumn
)
_WORD_RE = re.compile(r"[a-z]+")


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; a job must render the same picture in any worker.
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _english_hit(word: str, keywords: tuple[str, ...]) -> bool:
    """Whole-word match, tolerating an English plural ("roses", "foxes", "skies" -> "sky")."""
    if word in keywords:
        return True
    if word.endswith("ies") and word[:-3] + "y" in keywords:
        return True
    return word.endswith("s") and (word[:-1] in keywords or (word.endswith("es") and word[:-2] in keywords))


def match_families(prompt: str) -> list[str]:
    """Names of the keyword families in ``prompt``, ordered by where they first appear."""
    text = prompt.lower()
    words = [(m.start(), m.group()) for m in _WORD_RE.finditer(text)]
    found: list[tuple[int, str]] = []
    for family in _FAMILIES:
        positions = [pos for pos, word in words if _english_hit(word, family.english)]
        positions += [idx for idx in (text.find(zh) for zh in family.chinese) if idx >= 0]
        if positions:
            found.append((min(positions), family.name))
    return [name for _, name in sorted(found)]


def palette_for_prompt(prompt: str) -> list[RGB]:
    """The prompt's colours: its families' colours, first-mentioned first; a default otherwise."""
    return _palette_of(match_families(prompt), prompt)


def _palette_of(families: list[str], prompt: str) -> list[RGB]:
    colors: list[RGB] = []
    for name in families:
        colors += [c for c in PALETTE_KEYWORDS[name].colors if c not in colors]
    if not colors:
        colors = list(_DEFAULT_PALETTES[_stable_hash(prompt) % len(_DEFAULT_PALETTES)])
    return colors[:10]


# ---------------------------------------------------------------------------------------------
# Small colour / array helpers


def _c(rgb: Sequence[float]) -> Color:
    return np.asarray(rgb, dtype=np.float32) / 255.0


def _mix(a: Color, b: Color, t: float) -> Color:
    return (a * (1.0 - t) + b * t).astype(np.float32)


def _to255(color: Color, alpha: float = 1.0) -> tuple[int, int, int, int]:
    r, g, b = (int(round(float(v) * 255)) for v in np.clip(color, 0, 1))
    return (r, g, b, int(round(alpha * 255)))


def _shade(color: Color, factor: float) -> Color:
    """Darken (<1) or lighten (>1, towards white) a colour."""
    if factor <= 1.0:
        return (color * factor).astype(np.float32)
    return _mix(color, np.ones(3, np.float32), min(1.0, factor - 1.0))


def _vertical_gradient(h: int, w: int, stops: Sequence[tuple[float, Color]]) -> np.ndarray:
    """HxWx3 gradient through (position 0..1, colour) stops, smoothstepped between stops."""
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)
    column = np.empty((h, 3), np.float32)
    for i in range(3):
        column[:, i] = np.interp(ys, [p for p, _ in stops], [float(c[i]) for _, c in stops])
    return np.broadcast_to(column[:, None, :], (h, w, 3)).copy()


def _value_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth noise: a coarse random grid upsampled bicubically (cheap, no pixel loops)."""
    gh = max(2, int(round(cells * h / max(h, w))) + 2)
    gw = max(2, int(round(cells * w / max(h, w))) + 2)
    grid = rng.random((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _fbm(rng: np.random.Generator, h: int, w: int, cells: int = 4, octaves: int = 4) -> np.ndarray:
    """Fractal noise normalised to 0..1 (clouds, paper texture, ripples)."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amp * _value_noise(rng, h, w, cells * 2**octave)
        norm += amp
        amp *= 0.5
    total /= norm
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def _ridge(
    rng: np.random.Generator, w: int, base: float, amplitude: float, roughness: int, smooth: bool = False
) -> np.ndarray:
    """A 1-D skyline (y per column) from layered noise: angular for mountains, smooth for hills."""
    xs = np.arange(w, dtype=np.float32)
    y = np.full(w, base, np.float32)
    amp = amplitude
    for octave in range(roughness):
        knots = 3 + 3 * 2**octave
        values = rng.uniform(-1.0, 1.0, knots + 1).astype(np.float32)
        if smooth:  # cubic through the knots: rolling hills and dunes without kinks
            y += amp * cv2.resize(values.reshape(1, -1), (w, 1), interpolation=cv2.INTER_CUBIC).ravel()
        else:
            y += amp * np.interp(xs, np.linspace(0, w, knots + 1), values).astype(np.float32)
        amp *= 0.45
    return cv2.GaussianBlur(y.reshape(1, -1), (0, 0), sigmaX=max(1.0, w / 300)).ravel()


def _shifted(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Mask moved down/right by (dy, dx) >= 0, zero-filled (np.roll would wrap edges around)."""
    out = np.zeros_like(mask)
    out[dy:, dx:] = mask[: mask.shape[0] - dy, : mask.shape[1] - dx]
    return out


def _composite(canvas: np.ndarray, color: np.ndarray | Color, alpha: np.ndarray) -> None:
    """In place: canvas = canvas*(1-a) + color*a (alpha HxW in 0..1)."""
    a = alpha[..., None]
    canvas *= 1.0 - a
    canvas += np.asarray(color, np.float32) * a


def _fill_below(h: int, w: int, line: np.ndarray, feather: float = 1.0) -> np.ndarray:
    """Mask (HxW) that is 1 below a per-column y line, antialiased over ``feather`` px."""
    ys = np.arange(h, dtype=np.float32)[:, None]
    return np.clip((ys - line[None, :]) / feather + 0.5, 0.0, 1.0)


class _Layer:
    """A transparent RGBA layer drawn at 2x with Pillow, composited down for antialiasing."""

    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.image = Image.new("RGBA", (w * _SUPERSAMPLE, h * _SUPERSAMPLE), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    @staticmethod
    def _pts(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * _SUPERSAMPLE, y * _SUPERSAMPLE) for x, y in points]

    def polygon(self, points: Sequence[tuple[float, float]], fill: Color, alpha: float = 1.0) -> None:
        self.draw.polygon(self._pts(points), fill=_to255(fill, alpha))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: Color, alpha: float = 1.0) -> None:
        s = _SUPERSAMPLE
        self.draw.ellipse([(cx - rx) * s, (cy - ry) * s, (cx + rx) * s, (cy + ry) * s], fill=_to255(fill, alpha))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: Color, alpha: float = 1.0) -> None:
        s = _SUPERSAMPLE
        # tiny pictures give sub-pixel rectangles; Pillow refuses x1 < x0, so order and clamp
        left, right = sorted((x0 * s, x1 * s - 1))
        top, bottom = sorted((y0 * s, y1 * s - 1))
        self.draw.rectangle([left, top, max(left, right), max(top, bottom)], fill=_to255(fill, alpha))

    def line(self, points: Sequence[tuple[float, float]], fill: Color, width: float, alpha: float = 1.0) -> None:
        self.draw.line(self._pts(points), fill=_to255(fill, alpha), width=max(1, int(width * _SUPERSAMPLE)))

    def composite_onto(self, canvas: np.ndarray, blur: float = 0.0) -> None:
        small = self.image.resize((self.w, self.h), Image.Resampling.LANCZOS)
        rgba = np.asarray(small, dtype=np.float32) / 255.0
        if blur > 0:
            # blur premultiplied colour so transparent pixels do not pull edges towards black
            premul = rgba[..., :3] * rgba[..., 3:4]
            premul = cv2.GaussianBlur(premul, (0, 0), blur)
            alpha = cv2.GaussianBlur(rgba[..., 3], (0, 0), blur)
            color = premul / np.maximum(alpha[..., None], 1e-4)
            _composite(canvas, np.clip(color, 0, 1), alpha)
        else:
            _composite(canvas, rgba[..., :3], rgba[..., 3])


def _ellipse_points(cx: float, cy: float, rx: float, ry: float, angle: float, n: int = 28) -> list[tuple[float, float]]:
    """Polygon of a rotated ellipse (Pillow only draws axis-aligned ones)."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    ca, sa = math.cos(angle), math.sin(angle)
    return list(zip((cx + x * ca - y * sa).tolist(), (cy + x * sa + y * ca).tolist(), strict=True))


def _leaf_points(x: float, y: float, length: float, width: float, angle: float) -> list[tuple[float, float]]:
    """A pointed leaf (two arcs) from (x, y) along ``angle``."""
    t = np.linspace(0.0, 1.0, 14)
    half = np.sin(np.pi * t) * width / 2
    xs = np.concatenate([t, t[::-1]]) * length
    ys = np.concatenate([half, -half[::-1]])
    ca, sa = math.cos(angle), math.sin(angle)
    return list(zip((x + xs * ca - ys * sa).tolist(), (y + xs * sa + ys * ca).tolist(), strict=True))


# ---------------------------------------------------------------------------------------------
# Scene planning


@dataclass
class _Scene:
    families: list[str]
    palette: list[RGB]
    motifs: set[str]
    time: str  # "day" | "sunset" | "night"
    tint: Color | None  # mean colour of the colour words (gold, pink...), if any
    sky_tint: Color | None  # the same without white/silver, which would only wash the sky out


def _plan(prompt: str, negative_prompt: str) -> _Scene:
    families = match_families(prompt)
    # Whatever the negative prompt names is left out (e.g. "clouds" -> no clouds).
    banned = set(match_families(negative_prompt)) if negative_prompt.strip() else set()
    families = [f for f in families if f not in banned]
    motifs: set[str] = set()
    for name in families:
        motifs |= PALETTE_KEYWORDS[name].motifs
    palette = _palette_of(families, prompt)

    time = "day"
    for name in families:  # the first-mentioned time word wins
        if name in ("sunset", "night", "city"):
            time = "night" if name in ("night", "city") else "sunset"
            break
    if not families:
        time = ("day", "sunset")[_stable_hash(prompt) % 2]

    tint_names = [n for n in families if "tint" in PALETTE_KEYWORDS[n].motifs]
    tints = [_c(PALETTE_KEYWORDS[n].colors[0]) for n in tint_names]
    tint = np.mean(tints, axis=0).astype(np.float32) if tints else None
    sky_tints = [_c(PALETTE_KEYWORDS[n].colors[0]) for n in tint_names if n != "white"]
    sky_tint = np.mean(sky_tints, axis=0).astype(np.float32) if sky_tints else None
    return _Scene(families, palette, motifs, time, tint, sky_tint)


_SKIES: dict[str, list[tuple[float, RGB]]] = {
    "day": [(0.0, (62, 118, 200)), (0.55, (150, 196, 238)), (1.0, (214, 232, 246))],
    "sunset": [(0.0, (46, 42, 104)), (0.35, (150, 84, 140)), (0.7, (246, 128, 100)), (1.0, (255, 196, 120))],
    "night": [(0.0, (6, 10, 32)), (0.6, (22, 28, 72)), (1.0, (58, 52, 112))],
}


def _sky(scene: _Scene, h: int, w: int, horizon: float) -> np.ndarray:
    stops = []
    for pos, rgb in _SKIES[scene.time]:
        color = _c(rgb)
        if scene.sky_tint is not None:  # colour words tint the sky, most near the horizon
            color = _mix(color, scene.sky_tint, 0.12 + 0.2 * pos)
        stops.append((pos * horizon, color))
    stops.append((1.0, stops[-1][1]))
    return _vertical_gradient(h, w, stops)


# ---------------------------------------------------------------------------------------------
# Motifs (each paints onto the float canvas, back to front)


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
