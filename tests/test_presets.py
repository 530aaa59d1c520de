"""The creation form's presets: shape chips with sizes the API takes, style chips with words in
the page's language; both are markup for static/js/site.js and hidden without it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gallery import forms, presets

pytestmark = pytest.mark.django_db


def test_every_shape_is_a_size_the_form_and_the_api_take():
    sides = {value for value, _label in forms.SIZE_CHOICES}
    assert {a.label for a in presets.ASPECTS} == {"1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2"}
    for aspect in presets.ASPECTS:
        assert aspect.width in sides and aspect.height in sides and max(aspect.width, aspect.height) <= 768
        ratio_w, ratio_h = (int(n) for n in aspect.label.split(":"))
        assert abs(aspect.width / aspect.height - ratio_w / ratio_h) < 0.07  # the nearest multiples of 64


def test_the_text_to_image_form_offers_them_in_the_pages_language(alice_client):
    """Fails before: sizes were two number lists and there were no style presets."""
    url = reverse("new_job", args=["txt2img"])
    html = alice_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    box = html.split("data-presets", 1)[1].split("</div>\n</div>", 1)[0]
    assert html.split("data-presets", 1)[1].startswith(" hidden")  # shown by the script only
    assert re.findall(r'data-size="(\d+x\d+)"', box) == [f"{a.width}x{a.height}" for a in presets.ASPECTS]
    assert "水彩画，柔和晕染，纸张质感" in box and "像素风" in box
    assert "data-presets" not in alice_client.get(reverse("new_job", args=["upscale"])).content.decode()


def test_keyword_chips_come_from_the_curated_prompts_in_both_languages():
    """Fails before the change: there were no keyword chips. Every chip is a phrase the curated
    prompts of the inspiration gallery use, in their English and in their Chinese wording."""
    from django.utils import translation

    from gallery.models import InspirationEntry

    curated = list(InspirationEntry.objects.filter(is_curated=True).values_list("prompt_en", "prompt_zh"))
    assert {str(group.name) for group in presets.KEYWORDS} == {"Quality", "Lighting", "Composition"}
    for group in presets.KEYWORDS:
        for word in group.words:
            with translation.override("en"):
                english = str(word).lower()
            with translation.override("zh-hans"):
                chinese = str(word)
            assert any(english in en.lower() for en, _zh in curated), english
            assert any(chinese.replace(" ", "") in zh.replace(" ", "") for _en, zh in curated), chinese


@pytest.mark.parametrize(
    ("language", "word", "join"), [("en", "cinematic lighting", ", "), ("zh-hans", "电影照明", "，")]
)
def test_keyword_chips_are_on_the_form_in_the_pages_language(alice_client, language, word, join):
    html = alice_client.get(reverse("new_job", args=["txt2img"]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'data-append="{word}"' in html and f'data-join="{join}"' in html
