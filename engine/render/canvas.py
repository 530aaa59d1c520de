"""Drawing primitives of the procedural painter: colours, gradients, noise, compositing and a
2x supersampled Pillow layer for antialiased shapes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw

Color = np.ndarray  # float32 shape (3,), 0..1
_SUPERSAMPLE = 2


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
