"""The job forms: documented limits, bad uploads refused with a clear message and nothing
lost or charged, EXIF/GPS stripped from what we store, and access between users."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image as PILImage

from gallery import credits, media
from gallery.models import Job
from tests.helpers import png_bytes, txt2img_form

pytestmark = pytest.mark.django_db

TXT2IMG = txt2img_form("玫瑰花")


def _upload(name: str, data: bytes, content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def _giant_png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 64


def _jpeg_with_gps() -> bytes:
    image = PILImage.new("RGB", (64, 64), (120, 30, 200))
    exif = PILImage.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (31.0, 14.0, 0.0)  # GPSLatitude
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_txt2img_creates_a_job_with_the_provider_vocabulary(alice_client, alice):
    response = alice_client.post(reverse("new_job", args=["txt2img"]), TXT2IMG)
    job = Job.objects.get(owner=alice)
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.id])
    assert job.params == {
        "text": "玫瑰花",
        "negative_prompt": "",
        "w": 512,
        "h": 512,
        "num_steps": 20,
        "guidance_scale": 7.5,
        "sampler": "k_euler",
        "seed": 7,
        "version": "dreamlike_v1",
    }


@pytest.mark.parametrize(
    "field,value",
    [
        ("width", 1024),
        ("height", 800),
        ("width", 500),
        ("steps", 101),
        ("steps", 4),
        ("sampler", "euler_magic"),
        ("seed", -2),
        ("prompt", "   "),
    ],
)
def test_out_of_limit_parameters_are_refused_and_nothing_is_charged(alice_client, alice, field, value):
    response = alice_client.post(reverse("new_job", args=["txt2img"]), {**TXT2IMG, field: value})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Job.objects.exists()
    assert credits.balance_of(alice) == 50


def test_the_prompt_length_is_capped(alice_client):
    response = alice_client.post(reverse("new_job", args=["txt2img"]), {**TXT2IMG, "prompt": "花" * 1001})
    assert "prompt" in response.context["form"].errors


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        ("archive.png", b"PK\x03\x04" + b"\x00" * 200, "image/png"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
        ("huge.png", _giant_png_header(20000, 20000), "image/png"),
        ("cut.jpg", _jpeg_with_gps()[:300], "image/jpeg"),
    ],
)
def test_bad_uploads_get_a_clear_error_and_store_nothing(alice_client, alice, bucket_keys, name, data, content_type):
    before = set(bucket_keys())
    response = alice_client.post(
        reverse("new_job", args=["upscale"]),
        {"sr_model": "animevideov3", "source_upload": _upload(name, data, content_type)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["source_upload"]
    assert errors and all(len(e) > 10 for e in errors)
    assert not Job.objects.exists()
    assert credits.balance_of(alice) == 50
    assert set(bucket_keys()) == before


def test_an_upload_too_big_to_upscale_is_refused(alice_client):
    response = alice_client.post(
        reverse("new_job", args=["upscale"]),
        {"sr_model": "animevideov3", "source_upload": _upload("big.png", png_bytes((800, 600)))},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "at most 768x768" in response.content.decode()
    assert not Job.objects.exists()


def test_gps_and_exif_are_stripped_from_the_stored_source(alice_client, alice):
    response = alice_client.post(
        reverse("new_job", args=["anime"]),
        {"style": "classic", "source_upload": _upload("me.jpg", _jpeg_with_gps(), "image/jpeg")},
    )
    assert response.status_code == 302
    job = Job.objects.get(owner=alice)
    stored = PILImage.open(io.BytesIO(media.read(job.source_key)))
    assert not stored.getexif()
    assert not stored.getexif().get_ifd(0x8825)
    assert job.params == {"style": "classic", "source_size": [64, 64]}


def test_another_users_job_page_is_404(client, alice, bob):
    from gallery import jobs

    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    client.force_login(bob)
    assert client.get(reverse("job_detail", args=[job.id])).status_code == 404
    assert client.post(reverse("cancel_job", args=[job.id])).status_code == 404
    job.refresh_from_db()
    assert job.status == "queued"


def test_a_form_post_without_the_csrf_token_is_refused(alice):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    response = csrf_client.post(reverse("new_job", args=["txt2img"]), TXT2IMG)
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_the_form_shows_the_cost_before_submitting(alice_client, settings):
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "upscale": 3}
    page = alice_client.get(reverse("new_job", args=["upscale"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Costs 3 credits" in page
    assert "you have 50" in page


def test_the_live_status_refreshes_the_balance_when_the_job_ends(alice_client, alice):
    from gallery import jobs

    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    polling = alice_client.get(reverse("job_detail", args=[job.id]), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-swap-oob" not in polling and 'hx-trigger="every' in polling
    jobs.cancel(job=job, by=alice)
    finished = alice_client.get(reverse("job_detail", args=[job.id]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every' not in finished  # polling stops
    assert finished.count('hx-swap-oob="true"') == 3  # the balance twice, and the inbox's bell
    assert "◎ 50" in finished  # the refunded balance, in the header and on phones


def test_the_gallery_picker_names_pictures_and_its_empty_choice_in_words(alice):
    """Fails before: the empty choice read "---------" and each picture "Text to image <uuid>"."""
    from gallery.forms import Img2ImgForm
    from tests.factories import image_row

    picture = image_row(alice, prompt="a lighthouse at dusk")
    with translation.override("zh-hans"):
        choices = [str(label) for _value, label in Img2ImgForm(owner=alice).fields["source_image"].choices]
    assert choices[0] == "不选：我上传一张"
    assert choices[1].startswith("a lighthouse at dusk · 512×512 · ")
    assert str(picture.id) not in " ".join(choices) and "---------" not in " ".join(choices)


def test_a_phone_photo_is_scaled_to_fit_image_to_image_and_the_user_is_told(alice_client, alice):
    """Fails before: a 4000×3000 photo was refused ("at most 768x768") for image→image and anime."""
    from PIL import Image as PILImage

    from gallery import media

    buffer = io.BytesIO()
    PILImage.new("RGB", (4000, 3000), (30, 120, 200)).save(buffer, "JPEG", quality=90)
    response = alice_client.post(
        reverse("new_job", args=["img2img"]),
        {
            **txt2img_form("a lake at dawn"),
            "strength": 0.6,
            "source_upload": _upload("phone.jpg", buffer.getvalue(), content_type="image/jpeg"),
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        follow=True,
    )
    job = Job.objects.get()
    assert job.params["source_size"] == [768, 576]
    with PILImage.open(io.BytesIO(media.read(job.source_key))) as stored:
        assert stored.size == (768, 576)
    assert "已缩放到 768×576" in response.content.decode()
