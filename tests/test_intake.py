"""Intake (gallery/intake.py): from a valid job form to a queued, paid job. The checks come
before the work: a user with no credit or over the rate limit is refused before an upload is
decoded or stored; the debit still happens in the transaction that creates the job."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gallery import credits, intake, jobs, media, moderation
from gallery.models import Job, SensitiveWord
from tests.factories import image_row
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db

NOT_A_PICTURE = b"PK\x03\x04" + b"\x00" * 200


def _upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("in.png", data, content_type="image/png")


def _post_upscale(client, data: bytes):
    return client.post(
        reverse("new_job", args=["upscale"]), {"sr_model": "animevideov3", "source_upload": _upload(data)}
    )


# --- checks before work ---


def test_a_user_without_enough_credit_is_refused_before_the_upload_is_decoded(
    alice_client, alice, settings, bucket_keys
):
    """Fails before the fix: the form decoded (and, for a picture, re-encoded and stored) the
    upload before the credit check, so this user was told the file is not a picture, and could
    make us decode and store uploads forever without a credit to spend."""
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "upscale": 51}
    before = set(bucket_keys())
    response = _post_upscale(alice_client, NOT_A_PICTURE)
    form = response.context["form"]
    assert form.non_field_errors() == ["This job costs 51 credits and you have 50."]
    assert "source_upload" not in form.errors  # never looked at
    assert not Job.objects.exists()
    assert credits.balance_of(alice) == 50
    assert set(bucket_keys()) == before


def test_a_user_over_the_rate_limit_is_refused_before_the_upload_is_decoded(alice_client, alice, settings):
    """Fails before the fix: the upload was decoded first, so the picture's error came back
    instead of the rate limit, however fast the user repeated it."""
    settings.JOBS_MAX_PER_MINUTE = 1
    jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    response = _post_upscale(alice_client, NOT_A_PICTURE)
    form = response.context["form"]
    assert form.non_field_errors() == ["At most 1 jobs a minute; please wait a moment."]
    assert "source_upload" not in form.errors
    assert Job.objects.count() == 1


def test_a_picture_without_enough_credit_is_not_stored(alice_client, alice, settings, bucket_keys):
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "upscale": 51}
    before = set(bucket_keys())
    response = _post_upscale(alice_client, png_bytes())
    assert response.context["form"].non_field_errors() == ["This job costs 51 credits and you have 50."]
    assert set(bucket_keys()) == before
    assert not Job.objects.exists()


def test_the_early_check_counts_todays_top_up(alice_client, alice, staff, settings):
    """A balance of 0 that the daily top-up will refill is not refused early."""
    settings.CREDITS_DAILY_TOPUP = 10
    credits.adjust_by_staff(user=alice, amount=-50, reason="test", actor=staff)
    response = _post_upscale(alice_client, png_bytes())
    assert response.status_code == 302
    assert Job.objects.get(owner=alice).kind == "upscale"
    assert credits.balance_of(alice) == 10 - 1


def test_a_bad_upload_is_still_refused_with_a_clear_error_when_the_user_can_pay(alice_client, alice):
    response = _post_upscale(alice_client, NOT_A_PICTURE)
    errors = response.context["form"].errors["source_upload"]
    assert errors and "image" in errors[0].lower()
    assert not Job.objects.exists()
    assert credits.balance_of(alice) == 50


def test_the_stored_upload_is_deleted_when_the_job_cannot_be_created(alice, settings, bucket_keys, monkeypatch):
    """Two requests can both pass the early check and race for the last credits: the one
    whose debit is refused (under the account lock) leaves no stored source behind. The
    early check is skipped here to stand for the request that passed it first."""
    monkeypatch.setattr(jobs, "check_can_start", lambda **kwargs: None)
    settings.CREDIT_COSTS = {**settings.CREDIT_COSTS, "upscale": 51}
    before = set(bucket_keys())
    with pytest.raises(credits.InsufficientCredits):
        intake.start_job(owner=alice, kind="upscale", params={"sr_model": "animevideov3"}, upload=_upload(png_bytes()))
    assert set(bucket_keys()) == before
    assert not Job.objects.exists()
    assert credits.balance_of(alice) == credits.ledger_total(alice) == 50


# --- the domain function ---


def test_it_creates_the_job_with_the_cleaned_stored_source_and_its_debit(alice):
    started = intake.start_job(
        owner=alice, kind="anime", params={"style": "classic"}, upload=_upload(png_bytes((96, 64)))
    )
    job = started.job
    assert (job.status, job.kind, job.cost, job.source_image) == ("queued", "anime", 2, None)
    assert job.params == {"style": "classic", "source_size": [96, 64]}
    assert media.exists(job.source_key) and job.source_key.startswith(f"sources/{alice.pk}/")
    assert job.credit_transactions.get().amount == -2
    assert not started.masked_words


def test_a_gallery_picture_is_used_as_it_is_stored(alice):
    picture = image_row(alice)
    job = intake.start_job(
        owner=alice, kind="img2img", params={"text": "a castle", "strength": 0.5}, source_image=picture
    ).job
    assert (job.source_key, job.source_image) == (picture.original_key, picture)
    assert job.params["source_size"] == [picture.width, picture.height]


def test_a_gallery_picture_too_large_for_the_kind_is_refused(alice):
    picture = image_row(alice, kind="upscale")
    picture.width = picture.height = 2048
    with pytest.raises(intake.SourceTooLarge, match="at most 768x768"):
        intake.start_job(owner=alice, kind="upscale", params={"sr_model": "animevideov3"}, source_image=picture)
    assert not Job.objects.exists()


def test_it_masks_the_prompts_and_says_so(alice):
    SensitiveWord.objects.update_or_create(word="violence", defaults={"mode": SensitiveWord.Mode.MASK})
    started = intake.start_job(
        owner=alice, kind="txt2img", params={"text": "a violence scene", "negative_prompt": "violence"}
    )
    assert started.masked_words
    assert "violence" not in started.job.prompt and started.job.params["text"] == started.job.prompt
    assert "violence" not in started.job.params["negative_prompt"]


def test_a_blocked_prompt_creates_and_charges_nothing(alice):
    SensitiveWord.objects.update_or_create(word="terrorist attack", defaults={"mode": SensitiveWord.Mode.BLOCK})
    with pytest.raises(moderation.PromptBlocked):
        intake.start_job(owner=alice, kind="txt2img", params={"text": "a terrorist attack"})
    assert not Job.objects.exists()
    assert credits.balance_of(alice) == 50


def test_a_big_gallery_picture_is_scaled_for_image_to_image_and_kept_as_it_is(alice, bucket_keys):
    """Fails before: an upscaled 2048² picture could not be restyled ("at most 768x768")."""
    from PIL import Image as PILImage

    from tests.factories import stored_image

    picture = stored_image(alice, size=(1536, 1024))
    job = intake.start_job(
        owner=alice, kind="img2img", params={"text": "in autumn", "strength": 0.5}, source_image=picture
    ).job
    assert job.source_key != picture.original_key and job.params["source_size"] == [768, 512]
    with PILImage.open(io.BytesIO(media.read(job.source_key))) as copy:
        assert copy.size == (768, 512)
    assert media.exists(picture.original_key)  # the picture itself is untouched
