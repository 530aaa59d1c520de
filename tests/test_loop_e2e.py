"""The generation loop end to end over real HTTP: a user's form → a django-q2 worker →
the offline engine → the callback → ingest into the S3 bucket → the gallery.
Runs against real processes (tests/stack.py); each fault marker of the engine is observed
through what the user sees, and the invariants are checked after each."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.helpers import png_bytes, txt2img_form

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def user(stack):
    stack.create_user("erin", PASSWORD, credits_amount=200)
    return stack.session("erin", PASSWORD)


def _submit(stack, http, prompt: str, **extra) -> str:
    url = f"{stack.url}/jobs/new/txt2img/"
    http.get(url)
    data = txt2img_form(prompt, seed=42, **extra)
    response = stack.post_form(http, url, data)
    assert response.status_code == 200, response.text[:500]
    assert "/jobs/" in response.url and response.url != url, "the form did not create a job"
    return response.url


def _balance(stack, http) -> int:
    page = http.get(f"{stack.url}/credits/").text
    return int(re.search(r'data-testid="credit-balance">[^0-9]*(\d+)', page).group(1))


def test_text_to_image_lands_in_the_gallery_and_the_bucket(stack, user, s3_server):
    before = _balance(stack, user)
    job_url = _submit(stack, user, "玫瑰花 in a garden")
    assert stack.wait_for_job(user, job_url) == "succeeded"
    page = user.get(job_url).text
    assert 'data-testid="job-result"' in page
    assert _balance(stack, user) == before - 2
    gallery = user.get(f"{stack.url}/gallery/").text
    assert 'data-testid="image-card"' in gallery
    image_src = re.search(r'<img class="result" src="([^"]+)"', page).group(1).replace("&amp;", "&")
    picture = user.get(image_src)
    assert picture.status_code == 200 and picture.content[:4] == b"RIFF"  # a WebP preview from S3
    assert stack.invariants()["ok"]


@pytest.mark.parametrize(
    "marker,status,shown",
    [
        ("[[fail]]", "failed", "The job failed."),
        ("[[unsafe]]", "unsafe", "The picture was withheld."),
        ("[[img404]]", "failed", "could not be fetched"),
        ("[[notimage]]", "failed", "not a usable image"),
        ("[[redirect-private]]", "failed", "could not be fetched"),
        ("[[bomb]]", "failed", "not a usable image"),
    ],
)
def test_faults_end_as_the_user_is_told_and_are_refunded(stack, user, marker, status, shown):
    before = _balance(stack, user)
    job_url = _submit(stack, user, f"a castle {marker}")
    assert stack.wait_for_job(user, job_url) == status
    assert shown in user.get(job_url).text
    assert _balance(stack, user) == before
    assert stack.invariants()["ok"], stack.invariants()


def test_duplicate_callbacks_give_one_image(stack, user):
    job_url = _submit(stack, user, "white clouds [[dup:5]]")
    assert stack.wait_for_job(user, job_url) == "succeeded"
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    counts = stack.shell(
        "from gallery.models import Image, CallbackDelivery; "
        f"print(Image.objects.filter(job_id={job_id!r}).count(), "
        f"CallbackDelivery.objects.filter(job_id={job_id!r}).count())"
    ).split()
    assert counts[0] == "1"
    assert stack.invariants()["ok"]


def test_upscale_of_an_upload_is_exactly_four_times(stack, user):
    url = f"{stack.url}/jobs/new/upscale/"
    user.get(url)
    response = stack.post_form(
        user, url, {"sr_model": "animevideov3"}, files={"source_upload": ("in.png", png_bytes((128, 96)), "image/png")}
    )
    assert response.url != url, response.text[:1000]
    assert stack.wait_for_job(user, response.url, timeout=120) == "succeeded"
    page = user.get(response.url).text
    assert "512×384" in page
    assert "Real-ESRGAN" in page
