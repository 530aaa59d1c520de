"""Triage: one picture large with its prompt; rate, keep, discard (to the trash), favourite,
move and undo, as forms that work without JavaScript and as JSON for static/js/triage.js."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from gallery import trash
from gallery.models import Image, Triage
from tests.factories import image_row

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def three(owner):
    """Three pictures a minute apart: (oldest, middle, newest)."""
    now = timezone.now()
    return tuple(
        image_row(owner, prompt=f"城堡 castle {n}", created_at=now - timedelta(minutes=3 - n)) for n in range(3)
    )


def act(client, image, **data):
    response = client.post(reverse("triage_act", args=[image.id]), data, **JSON)
    assert response.status_code == 200, response.content
    return response.json()


def page_state(response) -> dict:
    found = re.search(r'<script id="triage-state" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(found.group(1))


def test_the_page_shows_the_newest_untriaged_picture_large_with_its_prompt(alice_client, alice):
    oldest, middle, newest = three(alice)
    Image.objects.filter(id=newest.id).update(triage=Triage.KEEP)
    response = alice_client.get(reverse("triage"))
    html = response.content.decode()
    assert f'data-testid="triage-picture" data-image-id="{middle.id}"' in html
    assert "城堡 castle 1" in html and "Picture 2 of 3" in html
    assert "Keys: 1–5 rate, k keep, x discard" in html and 'aria-live="polite"' in html
    assert page_state(response)["id"] == str(middle.id)
    assert 'src="/static/js/triage.js"' in html and 'data-testid="aigc-mark"' in html
    zh = alice_client.get(reverse("triage"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "分拣" in zh and "第 2 张，共 3 张" in zh and "按键：1–5 评分" in zh
    assert 'data-testid="triage-link"' in alice_client.get(reverse("gallery")).content.decode()


def test_rating_keeping_and_favouriting_answer_the_new_state(alice_client, alice):
    image = image_row(alice)
    state = act(alice_client, image, action="rate", value=4)
    assert (state["rating"], state["announce"]) == (4, "Rated 4 stars.")
    state = act(alice_client, image, action="keep")
    assert (state["triage"], state["triage_text"], state["announce"]) == ("keep", "kept", "Kept.")
    state = act(alice_client, image, action="favourite")
    assert state["is_favourite"] and state["announce"] == "Marked as a favourite."
    image.refresh_from_db()
    assert (image.rating, image.triage, image.is_favourite) == (4, "keep", True)
    assert act(alice_client, image, action="keep")["triage"] == ""  # k again: undecided
    assert act(alice_client, image, action="rate", value=0)["announce"] == "Rating cleared."


def test_the_announcements_read_in_chinese(alice_client, alice):
    image = image_row(alice)
    response = alice_client.post(
        reverse("triage_act", args=[image.id]), {"action": "rate", "value": 3}, HTTP_ACCEPT_LANGUAGE="zh-hans", **JSON
    )
    assert response.json()["announce"] == "已评为 3 星。"
    response = alice_client.post(
        reverse("triage_act", args=[image.id]), {"action": "discard"}, HTTP_ACCEPT_LANGUAGE="zh-hans", **JSON
    )
    assert response.json()["announce"] == "已舍弃：已移到回收站。按 z 撤销。"


def test_discard_moves_to_the_trash_shows_the_next_and_the_undo_puts_everything_back(alice_client, alice):
    oldest, middle, newest = three(alice)
    act(alice_client, middle, action="rate", value=2)
    state = act(alice_client, middle, action="discard")
    assert state["id"] == str(oldest.id) and state["position_text"] == "Picture 2 of 2"
    middle.refresh_from_db()
    assert middle.trashed_at is not None and middle.triage == Triage.DISCARD
    assert f'data-image-id="{middle.id}"' in alice_client.get(reverse("trash")).content.decode()

    state = act(alice_client, middle, action="set", value=2, triage="", favourite=0, restore=1)
    assert state["id"] == str(middle.id) and state["announce"] == "Undone." and state["rating"] == 2
    middle.refresh_from_db()
    assert middle.trashed_at is None and middle.triage == Triage.UNDECIDED


def test_the_undo_of_a_rating_puts_the_old_one_back(alice_client, alice):
    image = image_row(alice, rating=5, is_favourite=True)
    act(alice_client, image, action="rate", value=1)
    state = act(alice_client, image, action="set", value=5, triage="", favourite=1)
    assert (state["rating"], state["is_favourite"]) == (5, True)


def test_discarding_the_last_picture_leaves_an_empty_queue(alice_client, alice):
    image = image_row(alice)
    state = act(alice_client, image, action="discard")
    assert state["empty"] is True
    assert 'data-testid="triage-empty"' in alice_client.get(reverse("triage")).content.decode()


def test_moving_goes_through_the_pictures_by_age(alice_client, alice):
    oldest, middle, newest = three(alice)
    state = alice_client.get(reverse("triage_state", args=[newest.id])).json()
    assert state["previous_url"] == "" and state["next_url"] == reverse("triage_state", args=[middle.id])
    state = alice_client.get(state["next_url"]).json()
    assert state["id"] == str(middle.id) and state["announce"] == "Picture 2 of 3: 城堡 castle 1"
    state = alice_client.get(state["next_url"]).json()
    assert state["id"] == str(oldest.id) and state["next_url"] == ""


def test_without_javascript_every_action_posts_and_comes_back(alice_client, alice):
    oldest, middle, newest = three(alice)
    response = alice_client.post(reverse("triage_act", args=[newest.id]), {"action": "rate", "value": 5})
    assert response.status_code == 302 and response["Location"] == f"{reverse('triage')}?image={newest.id}"
    response = alice_client.post(reverse("triage_act", args=[newest.id]), {"action": "discard"}, follow=True)
    html = response.content.decode()
    assert f'data-testid="triage-picture" data-image-id="{middle.id}"' in html
    assert "Moved 1 picture to the trash." in html and 'data-testid="undo"' in html
    newest.refresh_from_db()
    assert newest.rating == 5 and newest.trashed_at is not None


def test_other_peoples_and_trashed_pictures_are_404(alice_client, alice, bob):
    theirs, gone = image_row(bob), image_row(alice)
    trash.trash_images(owner=alice, images=[gone])
    for image in (theirs, gone):
        assert alice_client.get(reverse("triage_state", args=[image.id])).status_code == 404
        assert alice_client.post(reverse("triage_act", args=[image.id]), {"action": "keep"}).status_code == 404
    response = alice_client.post(reverse("triage_act", args=[theirs.id]), {"action": "set", "restore": "1"})
    assert response.status_code == 404
    assert alice_client.get(f"{reverse('triage')}?image={theirs.id}").status_code == 200  # falls back to her own


def test_a_bad_action_is_refused(alice_client, alice):
    image = image_row(alice)
    assert alice_client.post(reverse("triage_act", args=[image.id]), {"action": "explode"}).status_code == 400
    assert alice_client.post(reverse("triage_act", args=[image.id]), {"action": "rate", "value": 9}).status_code == 400
    assert alice_client.post(reverse("triage_act", args=[image.id]), {"action": "rate"}).status_code == 400


def test_the_database_keeps_a_discarded_picture_in_the_trash(alice):
    image = image_row(alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(id=image.id).update(triage=Triage.DISCARD)
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(id=image.id).update(triage="maybe")


def test_restoring_a_discarded_picture_from_the_trash_makes_it_undecided(alice_client, alice):
    image = image_row(alice)
    act(alice_client, image, action="discard")
    alice_client.post(reverse("trash_restore"), {"image": [str(image.id)]})
    image.refresh_from_db()
    assert image.trashed_at is None and image.triage == Triage.UNDECIDED


def test_triage_needs_a_login(client):
    assert client.get(reverse("triage")).status_code == 302


# --- the gallery sorts and filters by rating ---


def card_ids(response) -> list[str]:
    return re.findall(r'data-testid="image-card" data-image-id="([0-9a-f-]+)"', response.content.decode())


def test_the_gallery_sorts_best_rated_first_and_pages_through_ties(alice_client, alice, monkeypatch):
    from gallery import pagination

    monkeypatch.setattr(pagination, "PAGE_SIZE", 2)
    now = timezone.now()
    ratings = [3, 5, 0, 5, 3]  # oldest first
    rows = [image_row(alice, rating=r, created_at=now - timedelta(minutes=10 - n)) for n, r in enumerate(ratings)]
    expected = [str(rows[i].id) for i in (3, 1, 4, 0, 2)]  # by rating, then newest
    seen, url = [], reverse("gallery") + "?sort=rating"
    for _ in range(5):
        response = alice_client.get(url)
        seen += card_ids(response)
        found = re.search(r'href="([^"]+)" rel="next"', response.content.decode())
        if not found:
            break
        url = reverse("gallery") + found.group(1).replace("&amp;", "&")
    assert seen == expected
    back = re.search(r'href="([^"]+)" rel="prev"', response.content.decode()).group(1).replace("&amp;", "&")
    assert card_ids(alice_client.get(reverse("gallery") + back)) == expected[2:4]
    html = alice_client.get(reverse("gallery") + "?sort=rating").content.decode()
    assert '<option value="rating" selected>Best rated first</option>' in html
    zh = alice_client.get(reverse("gallery") + "?sort=rating", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "评分最高在前" in zh
    assert card_ids(alice_client.get(reverse("gallery") + "?rating=5")) == expected[:2]


def test_a_cursor_of_the_other_order_means_the_first_page(alice, monkeypatch):
    from gallery import pagination

    rows = [image_row(alice, rating=n) for n in range(3)]
    newest_cursor = pagination.Cursor.of(rows[0]).encode()
    page = pagination.paginate(Image.objects.filter(owner=alice), sort="rating", after=newest_cursor, limit=2)
    assert [image.rating for image in page.images] == [2, 1]
    assert pagination.Cursor.decode("9r123-" + rows[0].id.hex, by_rating=True) is None
