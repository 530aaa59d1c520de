"""Prompt screening against the full shipped sensitive-word list: microseconds per prompt.

Django runs in this process on a fresh SQLite file, migrated (so the list is the one
migration 0010 ships, ~690 entries). Timed, each over many rounds:

- `match`: gallery.moderation.Matcher.screen on a 1,000-character prompt (Chinese and English
  mixed, with two words that are masked and several exceptions, none that blocks) — the
  Aho–Corasick pass, the folding and the masking; also an all-English and an all-Chinese
  1,000-character prompt;
- `screen_prompt`: what the form pays, the above plus the one aggregate query that checks the
  automaton is still the list in the database;
- `build`: compiling the whole list from the database (once per process and per change).

The target is 1 ms for the 1,000-character prompt (the issue asks for "microseconds"); it is
printed beside the figure, never asserted.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from common import ROOT, arguments, finish, log, summary

TARGET_SECONDS = 0.001
MIXED = (
    "a quiet village at dawn, 白色城堡，云海，日落，油画, a sexy dancer by the river, 繁忙的十字路口交通，"
    "月色情侣在桥上散步, the Milky Way seen with the naked eye, 投射精美的光影，教堂彩窗, 性感的晚礼服, "
    "cherry blossoms, koi pond, volumetric light, 8k, highly detailed, 竹林里的熊猫，水墨画, "
)
ENGLISH = (
    "a lighthouse in a storm, dramatic lighting, oil painting, a field of rape flowers under a blue sky, "
    "a murder of crows at dusk, cyberpunk city street with neon signs, a dragon over a medieval village, "
)
CHINESE = (
    "夕阳下的海边灯塔，花园里的小女孩，水彩画，一只在窗台上睡觉的猫，史诗性交响乐团的演出，熙熙攘攘的人群交织在广场上，"
)


def to_length(text: str, length: int = 1000) -> str:
    return (text * (length // len(text) + 1))[:length]


def timed(function, rounds: int) -> dict:
    function()  # warm: the automaton, the per-character fold cache
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return summary(times)


def run(*, rounds: int, folder: Path) -> dict:
    os.environ.update(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        VAR_DIR=str(folder),
        DEBUG="1",  # the embedded settings; queries are not logged outside a request anyway
        DJANGO_SETTINGS_MODULE="aigc_site.settings",
    )
    os.environ.pop("REDIS_URL", None)
    os.chdir(ROOT)
    import django

    django.setup()
    from django.core.management import call_command

    log("moderation: migrating a fresh SQLite database (loads the shipped list)")
    call_command("migrate", "--noinput", verbosity=0)
    from gallery import moderation
    from gallery.models import SensitiveWord

    state = moderation._list_state()
    started = time.perf_counter()
    matcher = moderation._build(state[1])
    build = time.perf_counter() - started
    prompts = {"mixed": to_length(MIXED), "english": to_length(ENGLISH), "chinese": to_length(CHINESE)}
    for name, prompt in prompts.items():
        screened = matcher.screen(prompt)  # raises if a prompt of the benchmark were blocked
        log(f"moderation: {name} prompt, {len(prompt)} characters, {len(screened.masked_words)} words masked")
    result = {
        "words": SensitiveWord.objects.count(),
        "needles": matcher.size,
        "prompt_characters": len(prompts["mixed"]),
        "build_seconds": round(build, 6),
        "target_seconds": TARGET_SECONDS,
        "match": {name: timed(lambda p=prompt: matcher.screen(p), rounds) for name, prompt in prompts.items()},
        "screen_prompt": timed(lambda: moderation.screen_prompt(prompts["mixed"]), max(rounds // 10, 50)),
    }
    p50 = result["match"]["mixed"]["p50"]
    log(
        f"moderation: {result['words']} words; 1,000-character prompt p50 {p50 * 1e6:.0f} µs "
        f"(target {TARGET_SECONDS * 1e6:.0f} µs); with the freshness query "
        f"{result['screen_prompt']['p50'] * 1e6:.0f} µs; compiling the list {build * 1000:.1f} ms"
    )
    return result


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory(prefix="aigc-bench-moderation-") as folder:
        result = run(rounds=500 if args.quick else 5000, folder=Path(folder))
    finish({"benchmark": "moderation", **result}, args.out)


if __name__ == "__main__":
    main()
