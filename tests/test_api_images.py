"""/api/v1/images and /api/v1/credits: your pictures with working presigned URLs and their
labels, delete one; the balance and the ledger. Another user's are 404."""

from __future__ import annotations

import json

import pytest
import requests

from gallery import labels
from gallery.models import Image
from tests.factories import api_token, bearer, image_row, stored_image

pytestmark = pytest.mark.django_db


def test_a_picture_comes_with_urls_that_work_and_its_label(client, alice):
    picture = stored_image(alice, prompt="白色城堡")
    body = client.get(f"/api/v1/images/{picture.id}", **bearer(api_token(alice, scope="read"))).json()
    assert body["id"] == str(picture.id) and body["prompt"] == "白色城堡" and body["width"] == 64
    original = requests.get(body["urls"]["original"], timeout=10)
    assert original.status_code == 200
    label = labels.read_label(original.content)
    assert label is not None and label.is_ai_generated and label.produce_id == str(picture.id)
    assert body["label"]["ProduceID"] == str(picture.id) and body["label"]["Label"] == "1"
    assert requests.get(body["urls"]["thumbnail"], timeout=10).content[:4] == b"RIFF"
    # Without the signature the bucket refuses.
    assert requests.get(body["urls"]["original"].split("?")[0], timeout=10).status_code == 403


def test_another_users_picture_is_404(client, alice, bob):
    picture = image_row(bob)
    token = api_token(alice)
    assert client.get(f"/api/v1/images/{picture.id}", **bearer(token)).status_code == 404
    assert client.delete(f"/api/v1/images/{picture.id}", **bearer(token)).status_code == 404
    assert Image.objects.filter(id=picture.id).exists()


def test_pictures_are_listed_by_cursor_and_filtered(client, alice, bob):
    mine = [image_row(alice, prompt=f"猫 {n}") for n in range(3)] + [image_row(alice, prompt="a dog", kind="anime")]
    image_row(bob, prompt="猫 bob")
    token = api_token(alice, scope="read")
    first = client.get("/api/v1/images?limit=3", **bearer(token)).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = client.get(f"/api/v1/images?limit=3&after={first['next_cursor']}", **bearer(token)).json()
    listed = {item["id"] for item in first["items"] + rest["items"]}
    assert listed == {str(image.id) for image in mine}
    cats = client.get("/api/v1/images?q=猫", **bearer(token)).json()["items"]
    assert len(cats) == 3 and all("猫" in item["prompt"] for item in cats)
    assert [item["kind"] for item in client.get("/api/v1/images?kind=anime", **bearer(token)).json()["items"]] == [
        "anime"
    ]


def test_delete_a_picture_as_the_gallery_does(client, alice):
    picture = stored_image(alice)
    assert client.delete(f"/api/v1/images/{picture.id}", **bearer(api_token(alice, scope="read"))).status_code == 403
    response = client.delete(f"/api/v1/images/{picture.id}", **bearer(api_token(alice)))
    assert response.status_code == 204
    assert client.get(f"/api/v1/images/{picture.id}", **bearer(api_token(alice))).status_code == 404
    assert client.get("/api/v1/images", **bearer(api_token(alice))).json()["items"] == []
    assert Image.objects.get(id=picture.id).trashed_at is not None  # restorable from the trash page


def test_balance_and_ledger(client, alice):
    token = api_token(alice)
    assert client.get("/api/v1/credits", **bearer(token)).json() == {"balance": 50}
    client.post(
        "/api/v1/jobs/txt2img", json.dumps({"prompt": "roses"}), content_type="application/json", **bearer(token)
    )
    ledger = client.get("/api/v1/credits/ledger?limit=1", **bearer(token)).json()
    assert [row["amount"] for row in ledger["items"]] == [-2] and ledger["next_cursor"]
    rest = client.get(f"/api/v1/credits/ledger?after={ledger['next_cursor']}", **bearer(token)).json()
    assert [row["amount"] for row in rest["items"]] == [50] and rest["next_cursor"] is None
    assert client.get("/api/v1/credits", **bearer(token)).json() == {"balance": 48}
