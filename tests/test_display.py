"""Stored values read in the page's language: the engine's "made by" labels and the parameters
that are form choices (style, model) are never shown raw on a Chinese page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from gallery import display
from tests.factories import image_row

pytestmark = pytest.mark.django_db


def _page(user, image, language: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client.get(reverse("image_detail", args=[image.id])).content.decode()


def test_an_anime_picture_reads_in_chinese(alice):
    """Fails before: the Chinese page showed "Offline engine (anime stylisation: watercolor)" and
    the style `watercolor` as stored."""
    image = image_row(
        alice,
        kind="anime",
        params={"style": "watercolor", "url": "https://example.com/x.png"},
        made_by="Offline engine (anime stylisation: watercolor)",
    )
    html = _page(alice, image, "zh-hans")
    text = re.sub(r"<[^>]+>", " ", html)  # what a reader sees (links may carry the code)
    assert "离线引擎（动漫风格化：柔和水彩）" in text
    assert "watercolor" not in text and "Offline engine" not in text
    english = _page(alice, image, "en")
    assert "Offline engine (anime stylisation: Soft watercolour)" in english


def test_model_choices_show_their_names(alice):
    image = image_row(alice, params={"text": "a cat", "w": 512, "h": 512, "version": "dreamlike_v1"})
    assert "Dreamlike（艺术）" in _page(alice, image, "zh-hans")
    upscale = image_row(alice, kind="upscale", params={"sr_model": "x4plus-anime"}, made_by="Real-ESRGAN x4plus-anime")
    html = _page(alice, upscale, "zh-hans")
    assert "动漫与插画（Real-ESRGAN x4plus-anime）" in html


def test_unknown_values_are_shown_as_they_are():
    assert display.made_by("Some Provider v2") == "Some Provider v2"
    assert display.parameter_value("style", "unheard-of") == "unheard-of"
    assert display.parameter_value("seed", 7) == 7


def _cards(client: Client, path: str) -> list[str]:
    html = client.get(path).content.decode()
    return re.findall(r'<figure class="image-card[^"]*".*?</figure>', html, flags=re.S)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_card_escapes_what_the_user_wrote_and_reads_in_the_page_language(alice, language):
    """The card is written in Python (display.image_card): a prompt is text, never markup; the
    thumbnail's presigned URL keeps its query intact as an attribute; the badges read in the
    page's language."""
    prompt = '<script>alert("x")</script> & 城堡 "quoted"'
    image = image_row(alice, prompt=prompt, is_public=True, is_favourite=True, is_procedural=True)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(alice)
    (card,) = _cards(client, reverse("gallery"))
    assert "<script>" not in card
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 城堡 &quot;quoted&quot;" in card
    src = re.search(r'<img src="([^"]+)"', card).group(1)
    assert "X-Amz-Signature=" in src and "&amp;" in src and "&X" not in src
    assert f'href="{reverse("image_detail", args=[image.id])}"' in card
    assert 'data-testid="aigc-mark"' in card and 'data-testid="favourite-mark"' in card
    chinese = ("公开", "离线", "AI 生成")
    public, offline, mark = chinese if language == "zh-hans" else ("public", "offline", "AI-generated")
    text = re.sub(r"<[^>]+>", " ", card)
    assert public in text and offline in text and mark in text


def test_the_explore_card_names_its_owner_escaped(make_user):
    owner = make_user("o<b>wner")
    image_row(owner, is_public=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    (card,) = _cards(client, reverse("explore"))
    assert '<span class="owner">o&lt;b&gt;wner</span>' in card
    assert 'data-testid="select-image"' not in card and "public" not in re.sub(r"<[^>]+>", " ", card)
