"""Downloads: the original as a PNG with its parameters, streamed zips, permission-checked media."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import requests
from django.urls import reverse
from PIL import Image as PILImage

from gallery import albums, downloads, imaging, media, trash
from gallery.management.commands.check_invariants import find_problems
from gallery.models import Image
from tests.factories import stored_image

pytestmark = pytest.mark.django_db


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_png_download_carries_the_parameters(alice_client, alice):
    image = stored_image(alice, size=(64, 48))
    response = alice_client.get(reverse("image_download", args=[image.id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".png" in response["Content-Disposition"]
    picture = PILImage.open(io.BytesIO(body_of(response)))
    assert picture.format == "PNG" and picture.size == (64, 48)
    text = picture.text["parameters"]
    assert text.splitlines()[0] == "白色城堡，云海 a castle in the clouds"
    assert "Negative prompt: blurry" in text
    assert "Steps: 20, Sampler: k_euler, CFG scale: 7.5, Seed: 1234, Size: 64x48, Model: dreamlike_v1" in text
    document = json.loads(picture.text["aigc"])
    assert document["params"]["seed"] == 1234
    assert document["extra"]["id"] == str(image.id) and document["extra"]["kind"] == "txt2img"


def test_the_png_download_has_the_original_pixels(alice_client, alice, settings):
    settings.AIGC_MARK_DOWNLOADS = False  # the visible mark changes a corner (tests/test_labels.py)
    image = stored_image(alice, colour=(10, 200, 30))
    downloaded = PILImage.open(io.BytesIO(body_of(alice_client.get(reverse("image_download", args=[image.id])))))
    original = PILImage.open(io.BytesIO(media.read(image.original_key)))
    assert downloaded.convert("RGB").tobytes() == original.convert("RGB").tobytes()


def test_the_png_is_made_once_and_later_downloads_read_it_from_storage(alice_client, alice, bucket_keys):
    """Fails before the fix: every download re-encoded the original, so with the original gone
    from storage the second download broke."""
    image = stored_image(alice, size=(96, 64))
    expected = downloads.original_png(image=image)  # what a download has always contained
    first = alice_client.get(reverse("image_download", args=[image.id]))
    assert body_of(first) == expected and first["Content-Length"] == str(len(expected))
    image.refresh_from_db()
    assert image.download_key in bucket_keys(f"images/{alice.pk}/")
    assert media.read(image.download_key) == expected
    media.delete([image.original_key])
    second = alice_client.get(reverse("image_download", args=[image.id]))
    assert second.status_code == 200 and second.streaming
    assert body_of(second) == expected
    assert second["Content-Length"] == str(len(expected))
    assert second["Content-Disposition"] == first["Content-Disposition"]
    assert downloads.download_name(image, extension="png") in second["Content-Disposition"]


def test_a_stored_png_that_has_gone_missing_is_made_again(alice_client, alice):
    image = stored_image(alice)
    alice_client.get(reverse("image_download", args=[image.id]))
    image.refresh_from_db()
    lost = image.download_key
    media.delete([lost])
    response = alice_client.get(reverse("image_download", args=[image.id]))
    assert body_of(response) == downloads.original_png(image=image)
    image.refresh_from_db()
    assert image.download_key and image.download_key != lost
    assert media.exists(image.download_key)


def test_two_first_downloads_at_once_leave_one_stored_png(alice, bucket_keys):
    image = stored_image(alice)
    before = set(bucket_keys(f"images/{alice.pk}/"))
    early, late = Image.objects.get(id=image.id), Image.objects.get(id=image.id)  # both see no key yet
    first = b"".join(downloads.png_download(image=early).chunks)
    second = b"".join(downloads.png_download(image=late).chunks)
    assert first == second
    image.refresh_from_db()
    assert image.download_key == early.download_key
    assert set(bucket_keys(f"images/{alice.pk}/")) - before == {image.download_key}


def test_deleting_a_picture_deletes_its_stored_png(
    alice_client, alice, bucket_keys, django_capture_on_commit_callbacks
):
    image = stored_image(alice)
    alice_client.get(reverse("image_download", args=[image.id]))
    image.refresh_from_db()
    assert image.download_key in bucket_keys(f"images/{alice.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        trash.trash_images(owner=alice, images=[image])
        result = trash.empty_trash(owner=alice)
    assert image.download_key in result.keys
    assert not set(image.stored_keys()) & set(bucket_keys(f"images/{alice.pk}/"))


def test_a_first_download_racing_the_deletion_leaves_no_object_behind(alice, bucket_keys):
    image = stored_image(alice)
    before = set(bucket_keys(f"images/{alice.pk}/"))
    # The row goes while the PNG is being made (its stored objects go after that commit).
    Image.objects.filter(id=image.id).delete()
    assert b"".join(downloads.png_download(image=image).chunks) == downloads.original_png(image=image)
    assert set(bucket_keys(f"images/{alice.pk}/")) == before


def test_check_invariants_knows_the_stored_png(alice_client, alice):
    image = stored_image(alice)
    alice_client.get(reverse("image_download", args=[image.id]))
    image.refresh_from_db()
    assert not [p for p in find_problems(check_storage=True)[0] if str(image.id) in p]
    media.delete([image.download_key])
    assert f"image {image.id}: {image.download_key} missing from storage" in find_problems(check_storage=True)[0]


def test_anybody_may_download_a_public_picture(client, alice):
    image = stored_image(alice, is_public=True)
    assert client.get(reverse("image_download", args=[image.id])).status_code == 200


def test_another_user_gets_404_for_a_private_download(client, alice, bob):
    image = stored_image(alice)
    client.force_login(bob)
    assert client.get(reverse("image_download", args=[image.id])).status_code == 404
    assert client.get(reverse("gallery_zip"), {"image": str(image.id)}).status_code == 404
    bulk = client.post(reverse("gallery_bulk"), {"action": "zip", "image": [str(image.id)]})
    assert bulk.status_code == 302  # nothing of bob's selected: back to the gallery, no zip
    assert bulk.get("Content-Type") != "application/zip"


def test_the_media_view_redirects_to_a_presigned_url_that_works(alice_client, alice):
    image = stored_image(alice)
    response = alice_client.get(reverse("image_media", args=[image.id, "original"]))
    assert response.status_code == 302
    location = response["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=" in location
    assert requests.get(location, timeout=10).content == media.read(image.original_key)
    unsigned = location.split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code in (401, 403)


def test_the_media_view_knows_only_three_variants(alice_client, alice):
    image = stored_image(alice)
    assert alice_client.get(reverse("image_media", args=[image.id, "secret"])).status_code == 404


def test_the_zip_holds_each_download_png_and_its_parameters(alice_client, alice):
    """Each member is the picture's downloadable PNG (labelled, marked), as a single download."""
    first = stored_image(alice, colour=(250, 0, 0), prompt="红色")
    second = stored_image(alice, colour=(0, 0, 250), prompt="blue")
    response = alice_client.post(reverse("gallery_bulk"), {"action": "zip", "image": [str(first.id), str(second.id)]})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    assert archive.testzip() is None
    names = archive.namelist()
    for image in (first, second):
        name = downloads.download_name(image, extension="png")
        assert name in names
        assert archive.read(name) == downloads.original_png(image=image)
        assert archive.read(name.replace(".png", ".txt")).decode() == imaging.parameters_text(image.params)
    assert len(names) == 4


def test_the_zip_of_an_album(alice_client, alice):
    inside, outside = stored_image(alice), stored_image(alice)
    album = albums.create_album(owner=alice, name="Board", images=[inside])
    response = alice_client.get(reverse("gallery_zip"), {"album": album.id})
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    assert archive.namelist() == [
        downloads.download_name(inside, extension="png"),
        downloads.download_name(inside, extension="txt"),
    ]
    assert downloads.download_name(outside, extension="png") not in archive.namelist()


def test_the_zip_arrives_in_pieces(alice):
    images = [stored_image(alice, size=(256, 256)) for _ in range(3)]
    chunks = list(downloads.stream_zip(downloads.zip_members(images)))
    assert len(chunks) > 3
    assert all(chunks)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert {archive.read(downloads.download_name(i, extension="png")) for i in images} == {
        downloads.original_png(image=i) for i in images
    }


def test_a_zip_needs_a_login(client, alice):
    image = stored_image(alice, is_public=True)
    assert client.get(reverse("gallery_zip"), {"image": str(image.id)}).status_code == 302


def test_the_zip_leaves_out_a_picture_whose_object_is_gone(alice_client, alice):
    present = stored_image(alice)
    gone = stored_image(alice)
    media.delete([gone.original_key])
    response = alice_client.post(reverse("gallery_bulk"), {"action": "zip", "image": [str(present.id), str(gone.id)]})
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    assert archive.testzip() is None
    assert downloads.download_name(present, extension="png") in archive.namelist()
    assert downloads.download_name(gone, extension="png") not in archive.namelist()
