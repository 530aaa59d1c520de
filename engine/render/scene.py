"""What a prompt asks the procedural painter for: its families, palette, motifs, time of day and
tints, and the sky that goes with them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .canvas import Color, _c, _mix, _vertical_gradient
from .keywords import PALETTE_KEYWORDS, RGB, _palette_of, _stable_hash, match_families


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
