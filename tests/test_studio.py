"""The studio: every kind's form as a tab, with the owner's recent results beside it; a submission
adds its card at once (htmx) or opens the studio again (no JavaScript); an unfinished card asks
for itself until its job has ended, and a finished one leads on to what can be done with it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from gallery import credits, imaging, jobs, kinds, media
from gallery.models import Image, Job
from tests.factories import image_row, make_job, stored_image, submitted_job
from tests.helpers import png_bytes, txt2img_form

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _studio(client, kind="txt2img", language="en", **query) -> str:
    url = reverse("studio_kind", args=[kind])
    return client.get(url, query, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="result-card[^"]*"[^>]*data-status="([a-z_]+)"', html)


@pytest.mark.parametrize(
    ("language", "words"), [("en", ("Studio", "Your results")), ("zh-hans", ("工作室", "你的作品"))]
)
def test_the_studio_has_every_kind_as_a_tab_and_is_the_headers_place_to_create(alice_client, language, words):
    html = alice_client.get(reverse("studio"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for word in words:
        assert word in html
    for kind in kinds.KINDS:
        assert f'href="{reverse("studio_kind", args=[kind.name])}"' in html
    assert 'aria-current="page" class="active" data-testid="tab-txt2img"' in html
    assert re.search(r'<a href="/studio/" data-testid="nav-studio">', html)
    home = alice_client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'href="{reverse("studio_kind", args=["img2img"])}"' in home  # the home page's kind cards
    assert f'action="{reverse("studio_kind", args=["txt2img"])}"' in home  # and its quick prompt


def test_each_tab_holds_its_kinds_form(alice_client):
    assert 'name="sr_model"' in _studio(alice_client, "upscale")
    assert 'name="style"' in _studio(alice_client, "anime")
    assert 'name="strength"' in _studio(alice_client, "img2img")
    assert alice_client.get("/studio/nope/").status_code == 404


def test_the_studio_needs_a_log_in():
    response = Client().get(reverse("studio"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_without_javascript_a_submission_opens_the_studio_again_with_its_card(alice_client, alice):
    response = alice_client.post(reverse("studio_kind", args=["txt2img"]), txt2img_form("湖边的小屋"))
    assert response.status_code == 302 and response["Location"] == reverse("studio_kind", args=["txt2img"])
    job = Job.objects.get(owner=alice)
    html = _studio(alice_client)
    assert _cards(html) == ["queued"] and f'data-job-id="{job.id}"' in html
    assert "湖边的小屋" in html


def test_with_htmx_a_submission_answers_the_form_and_the_new_card_at_the_top(alice_client, alice):
    make_job(alice, "an older one")
    response = alice_client.post(reverse("studio_kind", args=["txt2img"]), txt2img_form("red fox"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    job = Job.objects.filter(owner=alice).latest("created_at")
    assert html.startswith('<form id="studio-form"')
    assert 'hx-swap-oob="afterbegin:#studio-results"' in html and f'data-job-id="{job.id}"' in html
    assert "an older one" not in html  # only the new group travels
    assert "red fox" in html.split("</form>", 1)[0]  # the form keeps what was sent, for the next try
    assert 'id="credit-balance"' in html  # the header's balance follows the charge
    assert _cards(html) == ["queued"]


def test_a_refused_submission_answers_the_form_with_its_error_and_adds_no_card(alice_client, alice, settings):
    settings.JOBS_MAX_IN_FLIGHT = 1
    make_job(alice)
    response = alice_client.post(reverse("studio_kind", args=["txt2img"]), txt2img_form("red fox"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "You already have 1 jobs running" in html
    assert "hx-swap-oob" not in html and Job.objects.filter(owner=alice).count() == 1


def test_an_unfinished_card_polls_its_group_and_says_where_it_stands(alice_client, alice):
    queued = make_job(alice)
    html = _studio(alice_client)
    assert f'hx-get="{reverse("studio_group", args=[queued.id])}"' in html
    assert "Number 1 in our queue." in html
    running = submitted_job(alice)
    part = alice_client.get(reverse("studio_group", args=[running.id]), **HTMX).content.decode()
    assert _cards(part) == ["submitted"] and "The image service is painting." in part
    assert "hx-get" in part
    zh = alice_client.get(reverse("studio_group", args=[queued.id]), HTTP_ACCEPT_LANGUAGE="zh-hans", **HTMX)
    assert "排第 1 位" in zh.content.decode()


def test_a_finished_card_shows_the_picture_and_everything_to_do_with_it(alice_client, alice):
    job = submitted_job(alice, "a castle", seed=5)
    image = stored_image(alice, prompt="a castle", size=(512, 512), job=job)
    Job.objects.filter(id=job.id).update(status="succeeded")
    part = alice_client.get(reverse("studio_group", args=[job.id]), **HTMX).content.decode()
    assert "hx-get" not in part  # it stops asking
    assert 'data-testid="result-picture"' in part
    for testid in ("card-open", "card-use-again", "card-variation", "card-from-upscale", "card-from-img2img"):
        assert f'data-testid="{testid}"' in part, testid
    assert 'data-testid="card-from-anime"' in part and 'data-testid="favourite-toggle"' in part
    assert 'data-testid="card-delete"' in part
    # "Use again" and the rest stay in the studio.
    use_again = re.search(r'href="([^"]+)" data-testid="card-use-again"', part).group(1)
    assert use_again.startswith(reverse("studio_kind", args=["txt2img"]) + "?")
    upscale = re.search(r'href="([^"]+)" data-testid="card-from-upscale"', part).group(1).replace("&amp;", "&")
    assert upscale == f"{reverse('studio_kind', args=['upscale'])}?from_image={image.id}"
    form = _studio(alice_client, "upscale", from_image=str(image.id))
    assert re.search(rf'name="source_image" value="{image.id}"[^>]*checked', form)


def test_favourite_and_delete_from_a_card_come_back_to_the_studio(alice_client, alice):
    job = submitted_job(alice)
    image = stored_image(alice, job=job)
    studio = reverse("studio_kind", args=["txt2img"])
    response = alice_client.post(reverse("image_favourite", args=[image.id]), {"value": "1", "next": studio})
    assert response["Location"] == studio
    image.refresh_from_db()
    assert image.is_favourite
    response = alice_client.post(reverse("image_delete", args=[image.id]), {"next": studio})
    assert response["Location"] == studio and Image.objects.trashed().filter(id=image.id).exists()
    page = _studio(alice_client)  # it is in the trash: gone from the studio, with an undo
    assert "Moved 1 picture to the trash." in page and 'data-testid="undo"' in page
    assert 'data-testid="result-picture"' not in page


def test_cancel_from_a_card_refunds_and_comes_back_to_the_studio(alice_client, alice):
    job = make_job(alice)
    studio = reverse("studio_kind", args=["txt2img"])
    assert 'data-testid="card-cancel"' in _studio(alice_client)
    response = alice_client.post(reverse("cancel_job", args=[job.id]), {"next": studio})
    assert response["Location"] == studio
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert _cards(_studio(alice_client)) == ["cancelled"]


@pytest.mark.parametrize(("language", "label"), [("en", "Try again"), ("zh-hans", "再试一次")])
def test_a_failed_card_offers_try_again_which_makes_a_new_linked_job(alice_client, alice, language, label):
    """Fails before the change: a failed card in the studio led only to its details."""
    job = submitted_job(alice)
    jobs.fail(job_id=job.id, reason="engine exploded")
    page = alice_client.get(reverse("studio"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-testid="card-retry"' in page and label in page
    response = alice_client.post(reverse("retry_job", args=[job.id]))
    again = Job.objects.get(retry_of=job)
    assert response["Location"] == reverse("job_detail", args=[again.id]) and again.status == "queued"
    assert 'data-testid="card-retry"' not in _studio(alice_client).split(str(job.id))[0]


@pytest.mark.parametrize(("language", "label"), [("en", "Tried again"), ("zh-hans", "已再试")])
def test_a_card_tried_again_links_to_the_new_job_instead_of_offering_it_again(alice_client, alice, language, label):
    """Fails before: the old card still offered "Try again", whose click only said it was retried."""
    job = submitted_job(alice)
    jobs.fail(job_id=job.id, reason="engine exploded")
    again = jobs.retry(job_id=job.id, by=alice)
    cards = _studio(alice_client, language=language).split('data-testid="result-card"')[1:]
    old = next(card for card in cards if f'data-job-id="{job.id}"' in card)
    assert 'data-testid="card-retry"' not in old
    assert f'href="{reverse("job_detail", args=[again.id])}" data-testid="card-retried-as">{label}</a>' in old


@pytest.mark.parametrize(("language", "said"), [("en", "The job was cancelled"), ("zh-hans", "任务已取消")])
def test_cancel_from_a_card_with_htmx_answers_its_group(alice_client, alice, bob, language, said):
    job = make_job(alice)
    url = reverse("cancel_card", args=[job.id])
    assert f'hx-post="{url}"' in _studio(alice_client)
    html = alice_client.post(url, HTTP_ACCEPT_LANGUAGE=language, **HTMX).content.decode()
    assert _cards(html) == ["cancelled"] and said in html and 'id="credit-balance"' in html
    assert re.search(r'id="form-balance"[^>]*hx-swap-oob="true">[^<]*50', html)  # and the form's "you have"
    assert credits.balance_of(alice) == 50
    again = alice_client.post(url, **HTMX).content.decode()
    assert "Only a job that is still queued can be cancelled." in again
    client = Client()
    client.force_login(bob)
    assert client.post(url, **HTMX).status_code == 404


def test_another_users_group_is_not_found(alice, bob):
    job = make_job(alice)
    client = Client()
    client.force_login(bob)
    assert client.get(reverse("studio_group", args=[job.id])).status_code == 404
    assert str(job.id) not in _studio(client)


def test_the_job_page_stays_for_deep_links(alice_client, alice):
    job = make_job(alice)
    assert alice_client.get(reverse("job_detail", args=[job.id])).status_code == 200
    jobs.cancel(job=job, by=alice)
    assert alice_client.get(reverse("job_detail", args=[job.id])).status_code == 200


# --- the source picker, and "scale it to 768 first" ---


def _upload(size: tuple[int, int], name: str = "photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png_bytes(size), content_type="image/png")


@pytest.mark.parametrize(
    ("language", "legend"), [("en", "…or pick one from your gallery"), ("zh-hans", "…或从我的画廊中选择")]
)
def test_pick_from_my_gallery_is_a_grid_of_thumbnails_with_prompts(alice_client, alice, bob, language, legend):
    mine = stored_image(alice, prompt="白色城堡 a white castle")
    stored_image(bob, prompt="bob's secret")
    html = _studio(alice_client, "img2img", language)
    picker = html.split('data-testid="picture-picker"', 1)[1].split("</fieldset>", 1)[0]
    assert "<select" not in picker and legend in picker
    option = re.search(r'<label class="picker-option"[^>]*>(.*?)</label>', picker, re.S).group(1)
    assert f'type="radio" name="source_image" value="{mine.id}"' in option
    assert 'src="http' in option and "白色城堡 a white castle · 64×48" in option  # thumbnail and prompt
    assert 'data-testid="pick-none"' in picker  # "none: I upload one"
    assert "bob's secret" not in html


def test_the_picker_is_left_out_when_there_is_nothing_to_pick(alice_client):
    assert 'data-testid="picture-picker"' not in _studio(alice_client, "anime")


def test_a_picture_picked_without_javascript_starts_the_job(alice_client, alice):
    picture = stored_image(alice, size=(64, 48))
    response = alice_client.post(
        reverse("studio_kind", args=["anime"]), {"style": "classic", "source_image": picture.id}
    )
    assert response.status_code == 302
    job = Job.objects.get(owner=alice)
    assert (job.kind, job.source_image) == ("anime", picture)


def test_the_picker_shows_the_latest_pictures_and_the_one_a_link_names(alice_client, alice, settings):
    from gallery import forms

    old = stored_image(alice, prompt="the oldest one")
    for n in range(forms.PICKER_SIZE):
        image_row(alice, prompt=f"newer {n}")
    html = _studio(alice_client, "img2img")
    assert html.count('data-testid="pick-picture"') == forms.PICKER_SIZE and "the oldest one" not in html
    html = _studio(alice_client, "upscale", from_image=str(old.id))
    assert re.search(rf'value="{old.id}"[^>]*checked', html) and "the oldest one" in html


@pytest.mark.parametrize("htmx", [True, False])
def test_an_upload_too_large_to_upscale_is_scaled_in_one_click(alice_client, alice, bucket_keys, htmx):
    url = reverse("studio_kind", args=["upscale"])
    extra = HTMX if htmx else {}
    response = alice_client.post(url, {"sr_model": "animevideov3", "source_upload": _upload((1200, 900))}, **extra)
    html = response.content.decode()
    assert "The picture is 1200x900; at most 768x768 is accepted here." in html
    assert 'name="scale_down" value="1"' in html and "Scale it to 768 first" in html
    assert not Job.objects.exists() and credits.balance_of(alice) == 50
    token = re.search(r'name="kept_source" value="([^"]+)"', html).group(1)
    # The button sends the form again, without the file: the kept upload is used.
    response = alice_client.post(url, {"sr_model": "animevideov3", "kept_source": token, "scale_down": "1"}, **extra)
    job = Job.objects.get(owner=alice)
    assert job.params["source_size"] == [768, 576]  # the shape kept
    assert credits.balance_of(alice) == 49
    assert job.source_key in bucket_keys("sources/")
    stored = imaging.verify_image(media.read(job.source_key), max_pixels=10**8, max_bytes=10**8)
    assert (stored.width, stored.height) == (768, 576)
    if htmx:
        assert "was scaled to 768×576 to fit" in response.content.decode()


def test_a_gallery_picture_too_large_to_upscale_is_scaled_in_one_click(alice_client, alice):
    big = stored_image(alice, size=(1024, 512))
    url = reverse("studio_kind", args=["upscale"])
    data = {"sr_model": "animevideov3", "source_image": big.id}
    html = alice_client.post(url, data, HTTP_ACCEPT_LANGUAGE="zh-hans", **HTMX).content.decode()
    assert "先缩小到 768" in html and not re.search(r'name="kept_source" value="[^"]+"', html)  # nothing kept
    alice_client.post(url, {**data, "scale_down": "1"}, **HTMX)
    job = Job.objects.get(owner=alice)
    assert job.params["source_size"] == [768, 384] and job.source_key != big.original_key


def test_a_kept_upload_is_only_its_owners(alice, bob, alice_client):
    from gallery import intake

    key = media.put(folder=f"sources/{alice.pk}", extension="png", data=png_bytes((1200, 900)))
    token = intake.keep_token(key=key, owner=alice)
    assert intake.kept_key(token, owner=alice) == key
    assert intake.kept_key(token, owner=bob) is None
    assert intake.kept_key(token + "x", owner=alice) is None
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(bob)
    data = {"sr_model": "animevideov3", "kept_source": token, "scale_down": "1"}
    html = client.post(reverse("studio_kind", args=["upscale"]), data, **HTMX).content.decode()
    assert "The picture you sent is no longer kept; upload it again." in html
    assert not Job.objects.exists()
