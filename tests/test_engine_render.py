"""Fast tests of the offline engine's pure image code: txt2img, img2img, anime styles."""

import numpy as np
import pytest
from PIL import Image
from skimage import data

from engine.render import anime, transform
from engine.render.procedural import PALETTE_KEYWORDS, match_families, palette_for_prompt, render_text_to_image


def _arr(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def _mad(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference in grey levels (0..255)."""
    return float(np.abs(_arr(a) - _arr(b)).mean())


def _redness(image: Image.Image) -> float:
    a = _arr(image)
    return float((a[..., 0] - (a[..., 1] + a[..., 2]) / 2).mean())


def _blueness(image: Image.Image) -> float:
    a = _arr(image)
    return float((a[..., 2] - (a[..., 0] + a[..., 1]) / 2).mean())


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    # scikit-image's bundled NASA portrait (public domain), 512x512 RGB
    return Image.fromarray(data.astronaut())


# --- txt2img ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["玫瑰花", "white castle in the clouds", "a fox in a flower garden", ""])
def test_same_seed_gives_identical_bytes(prompt):
    a = render_text_to_image(prompt, width=256, height=192, seed=1234)
    b = render_text_to_image(prompt, width=256, height=192, seed=1234)
    assert a.mode == "RGB"
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("prompt", ["玫瑰花", "castle by the river at night"])
def test_different_seed_gives_a_different_picture(prompt):
    a = render_text_to_image(prompt, width=256, height=192, seed=1)
    b = render_text_to_image(prompt, width=256, height=192, seed=2)
    assert _mad(a, b) > 3.0


def test_different_prompt_gives_a_different_picture():
    a = render_text_to_image("rose", width=128, height=128, seed=5)
    b = render_text_to_image("castle", width=128, height=128, seed=5)
    assert _mad(a, b) > 10.0


@pytest.mark.parametrize("size", [(768, 512), (512, 768), (512, 512), (100, 37)])
def test_requested_size_is_honoured(size):
    image = render_text_to_image("sea 海 sky 云 castle", width=size[0], height=size[1], seed=9)
    assert image.size == size
    assert image.mode == "RGB"


def test_negative_seed_is_rejected():
    with pytest.raises(ValueError):
        render_text_to_image("rose", width=64, height=64, seed=-1)


@pytest.mark.parametrize("size", [(0, 64), (64, 5), (99999, 64)])
def test_absurd_sizes_are_rejected(size):
    with pytest.raises(ValueError):
        render_text_to_image("rose", width=size[0], height=size[1], seed=1)


def test_there_are_at_least_twelve_keyword_families_with_colours():
    assert len(PALETTE_KEYWORDS) >= 12
    for family in PALETTE_KEYWORDS.values():
        assert family.english and family.chinese and family.colors
        assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in family.colors)


@pytest.mark.parametrize(
    ("prompt", "family"),
    [
        ("玫瑰花", "flower"),
        ("a bouquet of roses", "flower"),
        ("Rose", "flower"),
        ("白色城堡", "castle"),
        ("a castle", "castle"),
        ("云和天空", "sky"),
        ("clouds over the sky", "sky"),
        ("river", "water"),
        ("大海", "water"),
        ("猫", "cat"),
        ("kitten", "cat"),
        ("狐狸", "fox"),
        ("兔子", "rabbit"),
        ("golden hour", "gold"),
        ("金色", "gold"),
        ("蓝色", "blue"),
        ("粉色", "pink"),
        ("white", "white"),
        ("花园", "garden"),
        ("green forest", "forest"),
        ("夜晚的月亮", "night"),
        ("sunset", "sunset"),
    ],
)
def test_keywords_map_to_families(prompt, family):
    assert family in match_families(prompt)


def test_words_inside_other_words_do_not_match():
    # "prose" contains "rose", "scatter" and "cate" contain "cat": whole English words only
    assert match_families("prose scatter cate") == []
    assert match_families("foxes under cloudy skies") == ["fox", "sky"]


def test_palette_follows_the_order_of_the_prompt():
    rose_first = palette_for_prompt("roses and a castle")
    castle_first = palette_for_prompt("a castle and roses")
    assert rose_first[0] == PALETTE_KEYWORDS["flower"].colors[0]
    assert castle_first[0] == PALETTE_KEYWORDS["castle"].colors[0]
    assert palette_for_prompt("玫瑰")[0] == palette_for_prompt("rose")[0]


def test_unknown_words_still_get_a_stable_palette():
    assert palette_for_prompt("zzz qqq") == palette_for_prompt("zzz qqq")
    assert len(palette_for_prompt("zzz qqq")) >= 3


@pytest.mark.parametrize("seed", [3, 11])
def test_roses_are_redder_than_a_castle_in_the_sky(seed):
    kwargs = {"width": 192, "height": 128, "seed": seed}
    for rose in ("玫瑰花", "red roses"):
        for other in ("white castle in the clouds", "城堡 天空 云"):
            assert _redness(render_text_to_image(rose, **kwargs)) > _redness(render_text_to_image(other, **kwargs)) + 15


def test_sky_and_sea_are_bluer_than_roses():
    kwargs = {"width": 192, "height": 128, "seed": 4}
    assert (
        _blueness(render_text_to_image("蓝天 大海", **kwargs)) > _blueness(render_text_to_image("roses", **kwargs)) + 20
    )


def test_night_is_darker_than_day():
    kwargs = {"width": 192, "height": 128, "seed": 4}
    night = _arr(render_text_to_image("moon and stars at night", **kwargs)).mean()
    day = _arr(render_text_to_image("white castle in the clouds", **kwargs)).mean()
    assert night < day - 40


def test_colour_words_tint_the_picture():
    kwargs = {"width": 192, "height": 128, "seed": 4}
    plain = _arr(render_text_to_image("castle", **kwargs))
    golden = _arr(render_text_to_image("金色的城堡", **kwargs))
    # gold is red+green heavy, low blue
    assert (golden[..., :2].mean() - golden[..., 2].mean()) > (plain[..., :2].mean() - plain[..., 2].mean()) + 10


def test_negative_prompt_leaves_a_motif_out():
    kwargs = {"width": 192, "height": 128, "seed": 4}
    with_clouds = render_text_to_image("castle in the clouds", **kwargs)
    without = render_text_to_image("castle in the clouds", negative_prompt="clouds", **kwargs)
    assert _mad(with_clouds, without) > 5.0


# --- img2img ---------------------------------------------------------------------------------


def test_strength_zero_keeps_the_source(astronaut):
    out = transform.image_to_image(astronaut, prompt="玫瑰花", strength=0.0, seed=1)
    assert out.size == astronaut.size and out.mode == "RGB"
    assert _mad(out, astronaut) < 1.0


def test_strength_grows_the_change(astronaut):
    diffs = [
        _mad(transform.image_to_image(astronaut, prompt="玫瑰花", strength=s, seed=1), astronaut)
        for s in (0.1, 0.5, 1.0)
    ]
    assert diffs[0] < diffs[1] < diffs[2]
    assert diffs[0] < 12
    assert diffs[2] > 25


@pytest.mark.parametrize(("prompt", "measure"), [("red roses 玫瑰", _redness), ("blue sea 蓝色的海", _blueness)])
def test_img2img_moves_towards_the_palette(astronaut, prompt, measure):
    out = transform.image_to_image(astronaut, prompt=prompt, strength=0.8, seed=2)
    assert measure(out) > measure(astronaut) + 10


def test_img2img_mean_colour_approaches_the_palette_mean(astronaut):
    palette_mean = np.asarray(palette_for_prompt("golden sunset"), dtype=np.float64).mean(0)
    out = transform.image_to_image(astronaut, prompt="golden sunset", strength=1.0, seed=2)
    before = np.linalg.norm(_arr(astronaut).reshape(-1, 3).mean(0) - palette_mean)
    after = np.linalg.norm(_arr(out).reshape(-1, 3).mean(0) - palette_mean)
    assert after < before * 0.6


def test_img2img_output_size_and_modes(astronaut):
    out = transform.image_to_image(astronaut, prompt="castle", strength=0.5, seed=3, width=768, height=512)
    assert out.size == (768, 512) and out.mode == "RGB"
    half = transform.image_to_image(astronaut, prompt="castle", strength=0.5, seed=3, width=256)
    assert half.size == (256, 256)
    rgba = astronaut.convert("RGBA")
    rgba.putalpha(128)
    assert transform.image_to_image(rgba, prompt="sky", strength=0.3, seed=3).mode == "RGB"
    grey = astronaut.convert("L")
    assert transform.image_to_image(grey, prompt="sky", strength=0.3, seed=3).mode == "RGB"


def test_img2img_is_deterministic_and_seeded(astronaut):
    a = transform.image_to_image(astronaut, prompt="castle", strength=0.9, seed=3)
    b = transform.image_to_image(astronaut, prompt="castle", strength=0.9, seed=3)
    c = transform.image_to_image(astronaut, prompt="castle", strength=0.9, seed=4)
    assert a.tobytes() == b.tobytes()
    assert _mad(a, c) > 0.5


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan")])
def test_img2img_rejects_bad_strength(astronaut, strength):
    with pytest.raises(ValueError):
        transform.image_to_image(astronaut, prompt="rose", strength=strength, seed=1)


# --- anime -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anime_outputs(astronaut) -> dict[str, Image.Image]:
    return {style: anime.to_anime(astronaut, style=style) for style in anime.STYLES}


def test_there_are_three_or_more_styles_with_labels():
    assert len(anime.STYLES) >= 3
    assert {"classic", "watercolor", "manga"} <= set(anime.STYLES)
    assert all(isinstance(label, str) and label for label in anime.STYLES.values())


def test_each_style_keeps_size_and_mode(anime_outputs, astronaut):
    for out in anime_outputs.values():
        assert out.size == astronaut.size
        assert out.mode == "RGB"


def test_each_style_changes_the_photo(anime_outputs, astronaut):
    for style, out in anime_outputs.items():
        assert _mad(out, astronaut) > 8.0, style


def test_styles_differ_from_each_other(anime_outputs):
    styles = list(anime_outputs)
    for i, first in enumerate(styles):
        for second in styles[i + 1 :]:
            assert _mad(anime_outputs[first], anime_outputs[second]) > 8.0, (first, second)


def test_classic_has_few_flat_colours_and_manga_is_monochrome(anime_outputs, astronaut):
    def colours(image: Image.Image) -> int:
        return len(np.unique(np.asarray(image).reshape(-1, 3), axis=0))

    # cel shading: k-means flattens the photo's ~100k colours to a few dozen (plus ink blends)
    assert colours(anime_outputs["classic"]) < colours(astronaut) / 20
    manga = _arr(anime_outputs["manga"])
    saturation = manga.max(-1) - manga.min(-1)
    assert saturation.mean() < 12  # ink on (slightly warm) paper


def test_anime_is_deterministic(astronaut, anime_outputs):
    for style, out in anime_outputs.items():
        assert anime.to_anime(astronaut, style=style).tobytes() == out.tobytes(), style


def test_unknown_style_raises(astronaut):
    with pytest.raises(ValueError):
        anime.to_anime(astronaut, style="ghibli-deluxe")


def test_anime_accepts_odd_sizes_and_alpha(astronaut):
    small = astronaut.resize((301, 177)).convert("RGBA")
    for style in anime.STYLES:
        out = anime.to_anime(small, style=style)
        assert out.size == (301, 177) and out.mode == "RGB"
