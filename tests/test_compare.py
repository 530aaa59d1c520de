"""Compare two pictures: from the gallery selection or a parent and child, side by side and
with a slider, the parameters that differ highlighted; both must be visible to the visitor."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import image_row, stored_image

pytestmark = pytest.mark.django_db


def compare_url(a, b) -> str:
    return f"{reverse('compare')}?a={a.id}&b={b.id}"


def differing_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="differs" data-testid="differs"><th scope="row">([^<]+?)\s*<', html)


def test_a_picture_and_its_upscale_side_by_side_with_the_differences_highlighted(alice_client, alice):
    """Fails before: there was no compare page."""
    original = stored_image(alice, prompt="白色城堡 castle", size=(64, 48))
    upscale = stored_image(
        alice, kind="upscale", params={"sr_model": "animevideov3"}, size=(256, 192), source_image=original
    )
    response = alice_client.get(compare_url(original, upscale))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="compare-side"' in html and 'data-testid="compare-range"' in html
    assert 'type="range"' in html and 'src="/static/js/compare.js"' in html
    assert html.count('data-testid="compare-first"') == 1 and html.count('data-testid="compare-second"') == 1
    differs = differing_rows(html)
    for label in ("Kind", "Prompt", "Seed", "Super-resolution model", "Picture size"):
        assert label in differs
    assert "Made by" not in differs  # the same on both: not highlighted
    assert "64×48" in html and "256×192" in html
    zh = alice_client.get(compare_url(original, upscale), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "对比两张图片" in zh and "处不同已高亮" in zh and "种子" in differing_rows(zh)


def test_the_same_settings_differ_only_where_they_differ(alice_client, alice):
    params = {"text": "a cat", "w": 512, "h": 512, "seed": 1, "num_steps": 20, "version": "anime"}
    moment = timezone.now()
    a = image_row(alice, prompt="a cat", params=params, created_at=moment)
    b = image_row(alice, prompt="a cat", params={**params, "seed": 2}, created_at=moment)
    html = alice_client.get(compare_url(a, b)).content.decode()
    assert differing_rows(html) == ["Seed"]
    assert "1 difference is highlighted." in html


def test_both_pictures_must_be_visible(alice, bob):
    mine = image_row(alice)
    public = image_row(bob, is_public=True)
    private = image_row(bob)
    hidden = image_row(bob, is_public=True, is_hidden=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    assert client.get(compare_url(mine, public)).status_code == 200
    assert client.get(compare_url(mine, private)).status_code == 404
    assert client.get(compare_url(private, mine)).status_code == 404
    assert client.get(compare_url(mine, hidden)).status_code == 404
    anonymous = Client()
    assert anonymous.get(compare_url(mine, public)).status_code == 404
    assert anonymous.get(compare_url(public, image_row(bob, is_public=True))).status_code == 200


@pytest.mark.parametrize("query", ["", "?a=x&b=y", "?a=1", "SAME"])
def test_bad_ids_are_a_400(alice_client, alice, query):
    image = image_row(alice)
    if query == "SAME":
        query = f"?a={image.id}&b={image.id}"
    response = alice_client.get(reverse("compare") + query)
    assert response.status_code == 400


def test_the_gallery_selection_compares_exactly_two(alice_client, alice):
    older, newer, third = image_row(alice), image_row(alice), image_row(alice)
    url = reverse("gallery_bulk")
    response = alice_client.post(url, {"action": "compare", "image": [newer.id, older.id]})
    assert response.status_code == 302
    assert response["Location"] in (compare_url(older, newer), compare_url(newer, older))
    refused = alice_client.post(url, {"action": "compare", "image": [older.id, newer.id, third.id]}, follow=True)
    assert "Select exactly two pictures to compare." in refused.content.decode()
    zh = alice_client.post(
        url, {"action": "compare", "image": [older.id]}, follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "请选择两张图片进行对比" in zh
    gallery = alice_client.get(reverse("gallery")).content.decode()
    assert 'value="compare"' in gallery and "Compare two" in gallery


def test_a_child_and_its_parent_link_to_the_comparison(alice_client, alice):
    parent = image_row(alice)
    child = image_row(alice, kind="upscale", source_image=parent)
    child_page = alice_client.get(reverse("image_detail", args=[child.id])).content.decode()
    assert f'href="{reverse("compare")}?a={parent.id}&amp;b={child.id}" data-testid="compare-with-source"' in child_page
    parent_page = alice_client.get(reverse("image_detail", args=[parent.id])).content.decode()
    assert f'href="{reverse("compare")}?a={parent.id}&amp;b={child.id}" data-testid="compare-child"' in parent_page
