"""The generation loop end to end over real HTTP: a user's form → a django-q2 worker →
the offline engine → the callback → ingest into the S3 bucket → the gallery.
Runs against real processes (tests/stack.py); each fault marker of the engine is observed
through what the user sees, and the invariants are checked after each."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.helpers import png_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def user(stack):
    stack.create_user("erin", PASSWORD, credits_amount=200)
    return stack.session("erin", PASSWORD)


def test_text_to_image_lands_in_the_gallery_and_the_bucket(stack, user, s3_server):
    before = stack.balance(user)
    job_url = stack.submit(user, "玫瑰花 in a garden")
    assert stack.wait_for_job(user, job_url) == "succeeded"
    page = user.get(job_url).text
    assert 'data-testid="job-result"' in page
    assert stack.balance(user) == before - 2
    gallery = user.get(f"{stack.url}/gallery/").text
    assert 'data-testid="image-card"' in gallery
    image_src = re.search(r'<img class="result" src="([^"]+)"', page).group(1).replace("&amp;", "&")
    picture = user.get(image_src)
    assert picture.status_code == 200 and picture.content[:4] == b"RIFF"  # a WebP preview from S3
    assert stack.invariants()["ok"]


@pytest.mark.parametrize(
    "marker,status,shown",
    [
        ("[[fail]]", "failed", "The image service failed."),
        ("[[unsafe]]", "unsafe", "The picture was withheld."),
        ("[[img404]]", "failed", "The picture could not be downloaded."),
        ("[[notimage]]", "failed", "The picture could not be downloaded."),
        ("[[redirect-private]]", "failed", "The picture could not be downloaded."),
        ("[[bomb]]", "failed", "The picture could not be downloaded."),
    ],
)
def test_faults_end_as_the_user_is_told_and_are_refunded(stack, user, marker, status, shown):
    before = stack.balance(user)
    job_url = stack.submit(user, f"a castle {marker}")
    assert stack.wait_for_job(user, job_url) == status
    assert shown in user.get(job_url).text
    assert stack.balance(user) == before
    assert stack.invariants()["ok"], stack.invariants()


def test_duplicate_callbacks_give_one_image(stack, user):
    job_url = stack.submit(user, "white clouds [[dup:5]]")
    assert stack.wait_for_job(user, job_url) == "succeeded"
    assert stack.image_count(stack.job_id(job_url)) == 1
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
