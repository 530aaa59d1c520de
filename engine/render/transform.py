"""Image-to-image without a diffusion model: move a picture towards the prompt's palette.

What a real img2img does at a given ``strength`` is keep the source's composition and repaint
it more or less freely in the prompt's direction. Our stand-in does the same with classic
image processing, every step scaled by ``strength`` (0 = the source, 1 = strongly restyled):

1. a Reinhard colour transfer in Lab towards the statistics of the prompt's palette,
2. a gradient map (luminance -> the palette ordered dark to light): the "repainted" look,
3. edge-preserving smoothing (OpenCV), flattening textures into brush-like areas,
4. a faint ghost of the procedural text-to-image picture, so motifs of the prompt (and the
   seed) show through at high strength, as new content does in a real img2img.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageOps

from .procedural import MAX_SIDE, MIN_SIDE, palette_for_prompt, render_text_to_image


def _output_size(source: Image.Image, width: int | None, height: int | None) -> tuple[int, int]:
    """Requested size; a missing side keeps the source's aspect ratio."""
    src_w, src_h = source.size
    if width is None and height is None:
        return src_w, src_h
    if width is None:
        width = max(1, round(src_w * height / src_h))  # type: ignore[operator]
    if height is None:
        height = max(1, round(src_h * width / src_w))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(f"width and height must be within {MIN_SIDE}..{MAX_SIDE}, got {width}x{height}")
    return width, height


def _flatten(source: Image.Image) -> Image.Image:
    """RGB; transparency goes on white (as the site shows transparent uploads)."""
    if source.mode in ("RGBA", "LA", "PA") or (source.mode == "P" and "transparency" in source.info):
        rgba = source.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return source.convert("RGB")


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    """float32 RGB 0..1 -> Lab (OpenCV's float convention: L 0..100, a/b about -127..127)."""
    return cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2LAB)


def _from_lab(lab: np.ndarray) -> np.ndarray:
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0.0, 1.0)


def _palette_array(palette: list[tuple[int, int, int]]) -> np.ndarray:
    return np.asarray(palette, dtype=np.float32).reshape(-1, 3) / 255.0


def colour_transfer(rgb: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Reinhard transfer: shift/scale each Lab channel of the image to the palette's mean/std.

    A handful of palette colours has a noisy std, so the target spread is blended with the
    source's own (lightness keeps most of the source contrast, so faces stay readable).
    """
    lab = _to_lab(rgb)
    pal = _to_lab(palette.reshape(1, -1, 3)).reshape(-1, 3)
    src_mean, src_std = lab.reshape(-1, 3).mean(0), lab.reshape(-1, 3).std(0) + 1e-3
    keep = np.array([0.8, 0.45, 0.45], np.float32)  # share of the source's own spread kept
    target_std = keep * src_std + (1 - keep) * (pal.std(0) + 4.0)
    out = (lab - src_mean) / src_std * target_std + pal.mean(0)
    return _from_lab(out)


def gradient_map(rgb: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map luminance onto the palette sorted dark -> light (with a deep shadow and a highlight)."""
    lum_of = palette @ np.array([0.299, 0.587, 0.114], np.float32)
    ordered = palette[np.argsort(lum_of)]
    ramp = np.vstack([ordered[:1] * 0.25, ordered, ordered[-1:] * 0.5 + 0.5])
    lum = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    stops = np.linspace(0.0, 1.0, len(ramp))
    out = np.empty_like(rgb)
    for channel in range(3):
        out[..., channel] = np.interp(lum, stops, ramp[:, channel])
    return out


def painterly(rgb: np.ndarray, amount: float) -> np.ndarray:
    """Edge-preserving smoothing that grows with ``amount``: textures flatten, edges stay."""
    if amount <= 0.01:
        return rgb
    u8 = (rgb * 255.0 + 0.5).astype(np.uint8)
    smooth = cv2.edgePreservingFilter(
        u8, flags=cv2.RECURS_FILTER, sigma_s=10 + 50 * amount, sigma_r=0.15 + 0.3 * amount
    )
    return smooth.astype(np.float32) / 255.0


def image_to_image(
    source: Image.Image,
    *,
    prompt: str,
    strength: float,
    seed: int,
    width: int | None = None,
    height: int | None = None,
) -> Image.Image:
    """Restyle ``source`` towards ``prompt`` by ``strength`` (0..1); RGB at width x height.

    A different output size is reached by a centre crop that covers it (no distortion).
    """
    if not (isinstance(strength, int | float) and math.isfinite(strength) and 0.0 <= strength <= 1.0):
        raise ValueError(f"strength must be within 0..1, got {strength!r}")
    if seed < 0:
        raise ValueError("seed must be >= 0 (resolve -1 to a random seed before rendering)")
    size = _output_size(source, width, height)
    base = _flatten(source)
    if base.size != size:
        base = ImageOps.fit(base, size, Image.Resampling.LANCZOS)
    if strength == 0:
        return base

    rgb = np.asarray(base, dtype=np.float32) / 255.0
    palette = _palette_array(palette_for_prompt(prompt))
    # Colour transfer keeps the picture's own shading; the gradient map repaints it in the
    # palette. Mixing them more towards the map as strength grows gives a smooth progression.
    styled = colour_transfer(rgb, palette) * (1 - 0.5 * strength) + gradient_map(rgb, palette) * (0.5 * strength)
    styled = painterly(styled, strength)
    ghost = 0.22 * strength**2  # motifs emerge only when the user asks for a strong change
    if ghost > 0.01:
        dream = render_text_to_image(prompt, width=size[0], height=size[1], seed=seed)
        styled = styled * (1 - ghost) + (np.asarray(dream, dtype=np.float32) / 255.0) * ghost
    # smoothstep on strength: small strengths stay subtle, as with a real img2img
    weight = strength * strength * (3 - 2 * strength) * 0.35 + strength * 0.65
    out = rgb * (1 - weight) + styled * weight
    return Image.fromarray((np.clip(out, 0, 1) * 255.0 + 0.5).astype(np.uint8), "RGB")
