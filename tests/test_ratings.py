"""The owner rates pictures 0–5 on their page and filters the gallery by rating."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from gallery.models import Image
from tests.factories import image_row

pytestmark = pytest.mark.django_db


def test_the_owner_rates_a_picture_and_clears_it(alice_client, alice):
    """Fails before: pictures had no rating."""
    image = image_row(alice)
    url = reverse("image_rating", args=[image.id])
    assert alice_client.post(url, {"value": "4"}).status_code == 302
    assert Image.objects.get(id=image.id).rating == 4
    html = alice_client.get(reverse("image_detail", args=[image.id])).content.decode()
    form = html.split('data-testid="rating-form"', 1)[1].split("</form>", 1)[0]
    assert form.count('class="star on"') == 4 and 'aria-label="4 stars"' in form
    alice_client.post(url, {"value": "0"})
    assert Image.objects.get(id=image.id).rating == 0


def test_bad_ratings_and_other_peoples_pictures_are_refused(alice_client, alice, bob):
    image = image_row(alice)
    url = reverse("image_rating", args=[image.id])
    assert alice_client.post(url, {"value": "6"}).status_code == 400
    assert alice_client.post(url, {"value": "²"}).status_code == 400
    other = Client()
    other.force_login(bob)
    assert other.post(url, {"value": "5"}).status_code == 404
    assert Image.objects.get(id=image.id).rating == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(id=image.id).update(rating=9)


def test_the_gallery_filters_by_rating(alice_client, alice):
    for n, prompt in ((5, "five"), (3, "three"), (0, "none")):
        image_row(alice, prompt=prompt, rating=n)
    html = alice_client.get(reverse("gallery"), {"rating": "3"}).content.decode()
    assert "five" in html and "three" in html and ">none<" not in html
    zh = alice_client.get(reverse("gallery"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "3 星及以上" in zh
