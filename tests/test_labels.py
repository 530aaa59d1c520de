"""The labels of GB 45438-2025: the implicit TC260 label in every file we hand out, read back by
Debian's exiftool (an outside tool), its propagation from labelled uploads, and `aigc_label`.

Each test fails on the code before labelling: no file carried any XMP, so exiftool found no
TC260 tag, a labelled upload lost its label when it was cleaned, and there was no command."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image as PILImage
from PIL import ImageChops

from gallery import ingest, intake, labels, media
from gallery.models import Image
from tests.factories import record_callback, stored_image, submitted_job
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db

KEYS = ["Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID", "ReservedCode2"]


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def exiftool_label(data: bytes, tmp_path: Path, name: str = "picture") -> dict:
    """What exiftool reads as XMP-TC260:AIGC from these bytes (the JSON object, decoded)."""
    path = tmp_path / name
    path.write_bytes(data)
    run = subprocess.run(["exiftool", "-j", "-G1", "-XMP:all", str(path)], capture_output=True, text=True, check=True)
    found = json.loads(run.stdout)[0]
    assert "XMP-TC260:Aigc" in found, f"exiftool found no TC260 label in {name}: {found}"
    return json.loads(found["XMP-TC260:Aigc"])


def our_label(image: Image, *, source: str = "") -> dict:
    return {
        "Label": "1",
        "ContentProducer": "画廊 AIGC",
        "ProduceID": str(image.id),
        "ReservedCode1": source,
        "ContentPropagator": "",
        "PropagateID": "",
        "ReservedCode2": "",
    }


def media_bytes(client, image: Image, variant: str) -> bytes:
    response = client.get(reverse("image_media", args=[image.id, variant]))
    assert response.status_code == 302
    return requests.get(response["Location"], timeout=10).content


def zip_members(response) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    return {name: archive.read(name) for name in archive.namelist() if not name.endswith(".txt")}


# --- exiftool agrees ---


def test_exiftool_reads_the_label_from_a_downloaded_original_a_zip_member_and_a_webp_thumbnail(
    alice_client, alice, tmp_path
):
    image = stored_image(alice)
    expected = our_label(image)
    assert list(expected) == KEYS
    original = media_bytes(alice_client, image, "original")
    assert exiftool_label(original, tmp_path, "original.png") == expected
    response = alice_client.get(reverse("gallery_zip"), {"image": str(image.id)})
    (member,) = zip_members(response).values()
    assert exiftool_label(member, tmp_path, "member.png") == expected
    thumb = media_bytes(alice_client, image, "thumb")
    assert thumb[8:12] == b"WEBP"
    assert exiftool_label(thumb, tmp_path, "thumb.webp") == expected


def test_the_setting_names_the_producer_and_a_code_wins_over_the_name(alice, settings, tmp_path, client):
    settings.AIGC_PRODUCER_NAME = "Example 画廊"
    named = stored_image(alice, is_public=True)
    assert exiftool_label(media.read(named.original_key), tmp_path)["ContentProducer"] == "Example 画廊"
    settings.AIGC_PRODUCER_CODE = "GD-AIGC-0001"
    assert exiftool_label(media.read(stored_image(alice).original_key), tmp_path)["ContentProducer"] == "GD-AIGC-0001"
    # a picture keeps the producer it was stored with, and its page says that one (read back)
    page = client.get(reverse("image_detail", args=[named.id])).content.decode()
    assert f"producer Example 画廊 · content number {named.id}" in page


@pytest.mark.parametrize(("image_format", "extension"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_ingest_labels_originals_of_every_format_without_touching_png_or_jpeg_pixels(
    alice, image_host, tmp_path, image_format, extension
):
    buffer = io.BytesIO()
    PILImage.new("RGB", (96, 80), (30, 90, 200)).save(buffer, image_format)
    sent = buffer.getvalue()
    image_host.routes[f"/result.{extension}"] = lambda h, b: (200, {}, sent)
    job = submitted_job(alice)
    url = f"{image_host.url}/result.{extension}"
    record_callback(job, url, cdn=url)
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    image = Image.objects.get(job=job)
    for key in image.stored_keys():
        assert exiftool_label(media.read(key), tmp_path, key.rsplit("/", 1)[-1]) == our_label(image)
    stored = media.read(image.original_key)
    assert PILImage.open(io.BytesIO(stored)).format == image_format
    if image_format != "WEBP":
        # the label is spliced in: the compressed image data is the provider's, byte for byte
        marker = b"IDAT" if image_format == "PNG" else b"\xff\xda"
        assert stored[stored.index(marker) :] == sent[sent.index(marker) :]


# --- no serve path without the label ---


def test_every_way_a_picture_leaves_the_site_carries_its_label(alice_client, alice, client):
    """Walks each serve path: the media view's three variants, the download PNG (made, then read
    back from storage) and the same PNG at full size, the zip by selection, by album and by the bulk bar, and a public
    picture's media and download as a stranger sees them."""
    from gallery import albums

    image = stored_image(alice, is_public=True)
    album = albums.create_album(owner=alice, name="Board", images=[image])
    served: dict[str, bytes] = {}
    for variant in ("original", "preview", "thumb"):
        served[f"media {variant}"] = media_bytes(alice_client, image, variant)
        served[f"public media {variant}"] = media_bytes(client, image, variant)
    served["download (made)"] = body_of(alice_client.get(reverse("image_download", args=[image.id])))
    image.refresh_from_db()
    assert image.download_key
    served["download (stored)"] = body_of(alice_client.get(reverse("image_download", args=[image.id])))
    served["public download"] = body_of(client.get(reverse("image_download", args=[image.id])))
    served["full size"] = body_of(client.get(reverse("image_full_size", args=[image.id])))
    for name, data in zip_members(alice_client.get(reverse("gallery_zip"), {"image": str(image.id)})).items():
        served[f"zip {name}"] = data
    for name, data in zip_members(alice_client.get(reverse("gallery_zip"), {"album": album.id})).items():
        served[f"album zip {name}"] = data
    bulk = alice_client.post(reverse("gallery_bulk"), {"action": "zip", "image": [str(image.id)]})
    for name, data in zip_members(bulk).items():
        served[f"bulk zip {name}"] = data
    assert len(served) == 13
    expected = labels.AigcLabel.from_json_object(our_label(image))
    unlabelled = [name for name, data in served.items() if labels.read_label(data) != expected]
    assert unlabelled == []


def test_a_download_made_before_labelling_is_made_again(alice_client, alice):
    """The migration forgets stored PNGs made without a label; here: a recorded PNG with no label
    is what an old row points at, and after forgetting it the download carries the label."""
    image = stored_image(alice)
    Image.objects.filter(id=image.id).update(download_key="")
    data = body_of(alice_client.get(reverse("image_download", args=[image.id])))
    assert labels.read_label(data).produce_id == str(image.id)


# --- propagation ---


def _labelled_png(label: labels.AigcLabel, size=(96, 64)) -> bytes:
    return labels.embed(png_bytes(size), label=label, image_format="PNG")


def test_a_labelled_upload_keeps_its_producer_and_names_us_as_propagator(alice, tmp_path):
    theirs = labels.AigcLabel(content_producer="Other AI Co", produce_id="other-42", reserved_code1="x")
    upload = SimpleUploadedFile("in.png", _labelled_png(theirs), content_type="image/png")
    job = intake.start_job(owner=alice, kind="anime", params={"style": "classic"}, upload=upload).job
    stored = exiftool_label(media.read(job.source_key), tmp_path, "source.png")
    assert stored["ContentProducer"] == "Other AI Co" and stored["ProduceID"] == "other-42"
    assert stored["ReservedCode1"] == "x" and stored["Label"] == "1"
    assert stored["ContentPropagator"] == "画廊 AIGC" and stored["PropagateID"]
    assert job.source_label == stored


def test_the_result_of_a_labelled_upload_references_the_source_in_reserved_code1(alice, image_host, tmp_path):
    theirs = labels.AigcLabel(content_producer="Other AI Co", produce_id="other-42")
    upload = SimpleUploadedFile("in.png", _labelled_png(theirs), content_type="image/png")
    job = intake.start_job(owner=alice, kind="anime", params={"style": "classic"}, upload=upload).job
    job = ingest.jobs.mark_submitted(job_id=job.id, task_id=f"t-{job.id}", response={})
    url = f"{image_host.url}/result.png"
    record_callback(job, url, cdn=url)
    assert ingest.ingest_result(job_id=job.id) == "succeeded"
    image = Image.objects.get(job=job)
    assert exiftool_label(media.read(image.original_key), tmp_path) == our_label(image, source="other-42")
    assert image.source_label["ProduceID"] == "other-42"


def test_an_unlabelled_upload_is_recorded_as_such(alice):
    upload = SimpleUploadedFile("in.png", png_bytes((96, 64)), content_type="image/png")
    job = intake.start_job(owner=alice, kind="anime", params={"style": "classic"}, upload=upload).job
    assert job.source_label == {}
    assert labels.read_label(media.read(job.source_key)) is None


def test_a_result_of_a_gallery_picture_names_it_in_reserved_code1(alice, tmp_path):
    source = stored_image(alice)
    result = stored_image(alice, kind="img2img", source_image=source)
    assert exiftool_label(media.read(result.original_key), tmp_path)["ReservedCode1"] == str(source.id)


# --- reading labels ---


def test_the_command_prints_the_label_of_any_file(alice, tmp_path, capsys):
    image = stored_image(alice)
    labelled = tmp_path / "ours.png"
    labelled.write_bytes(media.read(image.original_key))
    plain = tmp_path / "plain.png"
    plain.write_bytes(png_bytes())
    with pytest.raises(SystemExit) as exited:
        call_command("aigc_label", str(labelled), str(plain))
    assert exited.value.code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{labelled}: " + json.dumps(our_label(image), ensure_ascii=False)
    assert lines[1] == f"{plain}: no TC260 label"


def test_labels_written_by_others_are_read_as_attributes_too():
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:tc="http://www.tc260.org.cn/ns/AIGC/1.0/" '
        'tc:AIGC="{&quot;Label&quot;:&quot;1&quot;,&quot;ContentProducer&quot;:&quot;X&quot;,'
        '&quot;ProduceID&quot;:&quot;7&quot;}"/></rdf:RDF></x:xmpmeta>'
    )
    label = labels.label_from_xmp(packet)
    assert (label.content_producer, label.produce_id, label.reserved_code2) == ("X", "7", "")
    entity = packet.replace("&quot;X&quot;", "&quot;&a;&quot;")
    assert labels.label_from_xmp('<!DOCTYPE x:xmpmeta [<!ENTITY a "lol">]>' + entity) is None


# --- the explicit label ---


def _marks(html: str) -> int:
    return html.count('data-testid="aigc-mark"')


def test_every_page_that_shows_a_generated_picture_shows_the_ai_mark(client, alice, staff):
    """Fails before the explicit label: no page said a picture was generated by AI."""
    from gallery import inspiration

    public = stored_image(alice, is_public=True, prompt="a lighthouse at dawn")
    inspiration.feature(image=public, by=staff)
    client.force_login(alice)
    for name, args in (("gallery", []), ("explore", []), ("inspiration", []), ("image_detail", [public.id])):
        html = client.get(reverse(name, args=args)).content.decode()
        assert _marks(html) >= 1, name
    client.logout()
    share_page = client.get(reverse("image_detail", args=[public.id])).content.decode()
    assert _marks(share_page) == 1
    assert "AI-generated" in share_page


def test_the_mark_is_in_chinese_for_chinese_visitors(client, alice):
    public = stored_image(alice, is_public=True)
    html = client.get(reverse("image_detail", args=[public.id]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">AI 生成</span>" in html


def test_the_image_page_shows_our_label_and_what_an_upload_carried(client, alice):
    """Fails before: the page said nothing of labels, nor whether an upload was labelled."""
    client.force_login(alice)
    plain = stored_image(alice)
    html = client.get(reverse("image_detail", args=[plain.id])).content.decode()
    assert f"producer 画廊 AIGC · content number {plain.id}" in html
    assert 'data-testid="source-label"' not in html
    unlabelled = stored_image(alice, kind="anime", source_label={})
    html = client.get(reverse("image_detail", args=[unlabelled.id])).content.decode()
    assert "unlabelled: the uploaded picture carried no AI-generation label" in html
    received = labels.propagated(
        labels.AigcLabel(content_producer="Other AI Co", produce_id="other-42"), propagate_id="p"
    )
    labelled = stored_image(alice, kind="anime", source_label=received.as_json_object())
    html = client.get(reverse("image_detail", args=[labelled.id])).content.decode()
    assert "labelled as AI-generated by Other AI Co (content number other-42)" in html


def corner_pixels(picture: PILImage.Image, corner: str, size: int = 60) -> bytes:
    width, height = picture.size
    left = 0 if corner.endswith("left") else width - size
    top = 0 if corner.startswith("top") else height - size
    return picture.convert("RGB").crop((left, top, left + size, top + size)).tobytes()


def test_downloads_carry_a_visible_mark_in_the_corner_the_settings_name(alice_client, alice, settings):
    """Fails before: the download PNG's pixels were the original's everywhere."""
    image = stored_image(alice, size=(640, 480), colour=(200, 200, 200))
    original = PILImage.open(io.BytesIO(media.read(image.original_key)))
    downloaded = PILImage.open(io.BytesIO(body_of(alice_client.get(reverse("image_download", args=[image.id])))))
    assert corner_pixels(downloaded, "bottom-right") != corner_pixels(original, "bottom-right")
    for corner in ("top-left", "top-right", "bottom-left"):
        assert corner_pixels(downloaded, corner) == corner_pixels(original, corner)
    # the mark is small: the rest of the picture is untouched
    changed = sum(a != b for a, b in zip(downloaded.convert("L").tobytes(), original.convert("L").tobytes()))
    assert 0 < changed < 0.02 * 640 * 480
    (member,) = zip_members(alice_client.get(reverse("gallery_zip"), {"image": str(image.id)})).values()
    zipped = PILImage.open(io.BytesIO(member))
    assert corner_pixels(zipped, "bottom-right") == corner_pixels(downloaded, "bottom-right")

    settings.AIGC_MARK_POSITION = "top-left"
    moved = labels.draw_mark(original.convert("RGB"))
    assert corner_pixels(moved, "top-left") != corner_pixels(original, "top-left")
    assert corner_pixels(moved, "bottom-right") == corner_pixels(original, "bottom-right")
    faint = labels.draw_mark(original.convert("RGB"), opacity=0.3)
    strong = labels.draw_mark(original.convert("RGB"), opacity=1.0)
    assert min(faint.convert("L").tobytes()) > min(strong.convert("L").tobytes())


@pytest.mark.parametrize("side", [64, 128])
def test_small_pictures_are_downloaded_with_a_smaller_mark_in_their_corner(alice_client, alice, side):
    """Fails before: a picture under ~150 pixels was downloaded with no visible mark at all."""
    image = stored_image(alice, size=(side, side), colour=(128, 128, 128))
    original = PILImage.open(io.BytesIO(media.read(image.original_key))).convert("RGB")
    response = alice_client.get(reverse("image_download", args=[image.id]))
    downloaded = PILImage.open(io.BytesIO(body_of(response))).convert("RGB")
    changed = ImageChops.difference(original, downloaded).getbbox()
    assert changed is not None
    left, top, right, bottom = changed
    # only the bottom-right corner changed: the rest of the picture is as it was
    assert left >= side / 2 and top >= side * 0.7 and right <= side and bottom <= side
    # light letters on a plate darker than the picture: a mark one can read, not a smudge
    darkest, lightest = downloaded.convert("L").crop(changed).getextrema()
    assert darkest < 100 and lightest > 180
    assert (right - left) * (bottom - top) < 0.1 * side * side


def test_open_at_full_size_shows_the_marked_labelled_png_in_the_browser(client, alice):
    """Fails before: the image page's "Open at full size" led to the stored original, which has
    no visible mark, so a picture saved from there carried none."""
    image = stored_image(alice, size=(320, 240), colour=(128, 128, 128), is_public=True)
    page = client.get(reverse("image_detail", args=[image.id])).content.decode()
    link = reverse("image_full_size", args=[image.id])
    assert f'href="{link}" target="_blank"' in page
    response = client.get(link)
    assert response["Content-Type"] == "image/png" and response["Content-Disposition"].startswith("inline")
    shown = body_of(response)
    assert labels.read_label(shown).produce_id == str(image.id)
    original = PILImage.open(io.BytesIO(media.read(image.original_key)))
    opened = PILImage.open(io.BytesIO(shown))
    assert corner_pixels(opened, "bottom-right") != corner_pixels(original, "bottom-right")
