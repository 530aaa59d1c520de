"""The prompt's words the procedural painter understands: keyword families (Chinese and
English) with their colours and motifs, and the palette a prompt gets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

RGB = tuple[int, int, int]


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
