"""Batches: one submission of 1 to BATCH_MAX pictures, each its own job and its own charge, all
or nothing; the per-user limits count pictures; the batch is one group in the studio and in the
gallery; "cancel the rest" and "run again with changes"."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from gallery import credits, intake, jobs
from gallery.forms import Txt2ImgForm, default_params
from gallery.models import CreditTransaction, Job
from tests.factories import make_job, stored_image
from tests.helpers import txt2img_form

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PARAMS = default_params(Txt2ImgForm, prompt="山间小屋 a cabin", seed=100)


def _batch(owner, count: int, **params) -> intake.Started:
    return intake.start_job(owner=owner, kind="txt2img", params={**PARAMS, **params}, count=count)


# --- domain ---


def test_a_batch_is_one_job_and_one_charge_per_picture_with_its_own_seed(alice):
    started = _batch(alice, 4)
    made = list(Job.objects.filter(owner=alice).order_by("batch_index"))
    assert [job.id for job in made] == [job.id for job in started.jobs]
    assert len({job.batch for job in made}) == 1 and made[0].batch is not None
    assert [job.batch_index for job in made] == [0, 1, 2, 3]
    assert [job.params["seed"] for job in made] == [100, 101, 102, 103]  # four different pictures
    assert all(job.params["text"] == "山间小屋 a cabin" and job.cost == 2 for job in made)
    debits = CreditTransaction.objects.filter(user=alice, kind="debit")
    assert sorted(debit.job_id for debit in debits) == sorted(job.id for job in made)
    assert credits.balance_of(alice) == 50 - 8 == credits.ledger_total(alice)


def test_one_picture_is_a_job_without_a_batch(alice):
    job = _batch(alice, 1).job
    assert job.batch is None and job.batch_index == 0


def test_a_batch_the_balance_does_not_cover_makes_nothing(make_user):
    """All or nothing: with credit for three pictures of four, none is made or charged."""
    poor = make_user("poor", credits_amount=7)
    with pytest.raises(credits.InsufficientCredits) as refused:
        _batch(poor, 4)
    assert str(refused.value) == "These 4 pictures cost 8 credits and you have 7."
    assert not Job.objects.filter(owner=poor).exists()
    assert credits.balance_of(poor) == 7 and CreditTransaction.objects.filter(user=poor, kind="debit").count() == 0


def test_the_balance_is_checked_for_the_whole_batch_under_the_lock(make_user):
    """create_batch itself refuses, not only intake's early read: a request racing past that read
    cannot start a batch it cannot pay for."""
    poor = make_user("poor", credits_amount=5)
    with pytest.raises(credits.InsufficientCredits):
        jobs.create_batch(owner=poor, kind="txt2img", params=[PARAMS, PARAMS, PARAMS])
    assert not Job.objects.filter(owner=poor).exists() and credits.balance_of(poor) == 5


def test_the_limits_count_pictures_not_submissions(alice, settings):
    settings.JOBS_MAX_IN_FLIGHT = 4
    make_job(alice)
    with pytest.raises(jobs.RateLimited) as refused:
        _batch(alice, 4)
    assert "4 more pictures would make 5 jobs running; at most 4 may run at once." in str(refused.value)
    assert Job.objects.filter(owner=alice).count() == 1
    _batch(alice, 3)  # exactly up to the limit
    assert Job.objects.filter(owner=alice).count() == 4
    settings.JOBS_MAX_IN_FLIGHT = 20
    settings.JOBS_MAX_PER_MINUTE = 6
    with pytest.raises(jobs.RateLimited, match="At most 6 jobs a minute"):
        _batch(alice, 3)  # 4 this minute + 3 > 6
    _batch(alice, 2)
    assert Job.objects.filter(owner=alice).count() == 6


def test_a_count_over_the_setting_is_refused(alice, settings):
    settings.BATCH_MAX = 2
    with pytest.raises(ValueError):
        _batch(alice, 3)
    assert not Job.objects.filter(owner=alice).exists()


def test_cancel_the_rest_cancels_and_refunds_only_the_waiting_jobs(alice):
    made = _batch(alice, 4).jobs
    jobs.claim_for_submission(job_id=made[0].id)  # a worker is sending the first one
    jobs.mark_submitted(job_id=made[1].id, task_id="t-1", response={})
    cancelled = jobs.cancel_batch(owner=alice, batch=made[0].batch, by=alice)
    assert sorted(job.batch_index for job in cancelled) == [2, 3]
    statuses = dict(Job.objects.filter(batch=made[0].batch).values_list("batch_index", "status"))
    assert statuses == {0: "queued", 1: "submitted", 2: "cancelled", 3: "cancelled"}
    assert credits.balance_of(alice) == 50 - 8 + 4
    assert jobs.cancel_batch(owner=alice, batch=made[0].batch, by=alice) == []  # nothing left


def test_another_user_cannot_cancel_a_batch(alice, bob):
    made = _batch(alice, 2).jobs
    assert jobs.cancel_batch(owner=bob, batch=made[0].batch, by=bob) == []
    assert set(Job.objects.filter(owner=alice).values_list("status", flat=True)) == {"queued"}


# --- views ---


def test_the_form_offers_a_count_and_shows_the_total_of_each(alice_client):
    html = alice_client.get(reverse("studio_kind", args=["txt2img"])).content.decode()
    assert [int(n) for n in re.findall(r'name="count" value="(\d)"', html)] == [1, 2, 3, 4]
    assert re.search(r'<span data-cost-for="1">Costs 2 credits</span>', html)
    assert re.search(r'<span data-cost-for="4" hidden>4 pictures cost 8 credits</span>', html)
    zh = alice_client.get(reverse("studio_kind", args=["txt2img"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "4 张图片共需 8 积分" in zh and "生成张数" in zh
    # Kinds whose pictures would all come out the same have no count.
    assert 'name="count"' not in alice_client.get(reverse("studio_kind", args=["upscale"])).content.decode()
    assert 'name="count"' in alice_client.get(reverse("studio_kind", args=["img2img"])).content.decode()


def test_the_count_follows_the_setting(alice_client, settings):
    settings.BATCH_MAX = 2
    html = alice_client.get(reverse("studio_kind", args=["txt2img"])).content.decode()
    assert re.findall(r'name="count" value="(\d)"', html) == ["1", "2"]
    response = alice_client.post(reverse("studio_kind", args=["txt2img"]), txt2img_form("fox", count=3), **HTMX)
    assert "Select a valid choice" in response.content.decode() and not Job.objects.exists()


def test_a_batch_from_the_studio_arrives_as_one_group_of_cards(alice_client, alice, settings):
    settings.JOBS_MAX_IN_FLIGHT = 10
    response = alice_client.post(reverse("studio_kind", args=["txt2img"]), txt2img_form("fox", count=4), **HTMX)
    html = response.content.decode()
    assert Job.objects.filter(owner=alice).count() == 4
    assert html.count('data-testid="result-group"') == 1 and html.count('data-testid="result-card"') == 4
    assert "Batch of 4 pictures" in html and 'data-testid="cancel-rest"' in html
    assert "4 pictures started." in html and 'href="#studio-results"' in html  # seen from a phone too
    assert re.search(r'<span data-cost-for="4">4 pictures cost 8 credits</span>', html)  # the form as sent
    zh = alice_client.post(
        reverse("studio_kind", args=["txt2img"]), txt2img_form("fox", count=2), HTTP_ACCEPT_LANGUAGE="zh-hans", **HTMX
    ).content.decode()
    assert "已开始生成 2 张图片。" in zh and "查看作品" in zh
    page = alice_client.get(reverse("studio"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert page.count('data-testid="result-group"') == 2 and "一批 4 张" in page


def test_a_batch_the_balance_does_not_cover_is_refused_on_the_form(make_user, client):
    poor = make_user("poor", credits_amount=5)
    client.force_login(poor)
    url = reverse("studio_kind", args=["txt2img"])
    response = client.post(url, txt2img_form("fox", count=3), **HTMX)
    assert "These 3 pictures cost 6 credits and you have 5." in response.content.decode()
    zh = client.post(url, txt2img_form("fox", count=3), HTTP_ACCEPT_LANGUAGE="zh-hans", **HTMX).content.decode()
    assert "这 3 张图片共需 6 积分，你有 5 积分。" in zh
    assert not Job.objects.filter(owner=poor).exists()


def test_a_batch_from_the_job_form_page_opens_the_studio(alice_client, alice):
    response = alice_client.post(reverse("new_job", args=["txt2img"]), txt2img_form("fox", count=2))
    assert response["Location"] == reverse("studio_kind", args=["txt2img"])
    assert Job.objects.filter(owner=alice).count() == 2


@pytest.mark.parametrize("htmx", [True, False])
def test_cancel_the_rest_from_the_studio(alice_client, alice, htmx):
    made = _batch(alice, 3).jobs
    jobs.mark_submitted(job_id=made[0].id, task_id="t-0", response={})
    url = reverse("cancel_batch", args=[made[0].batch])
    studio = reverse("studio_kind", args=["txt2img"])
    response = alice_client.post(url, {"next": studio}, **(HTMX if htmx else {}))
    if htmx:
        html = response.content.decode()
        assert "2 pictures were cancelled and their credits refunded." in html
        assert re.findall(r'data-status="([a-z_]+)"', html) == ["submitted", "cancelled", "cancelled"]
        assert 'data-testid="cancel-rest"' not in html and 'id="credit-balance"' in html
    else:
        assert response["Location"] == studio
    assert credits.balance_of(alice) == 50 - 6 + 4


def test_cancel_the_rest_of_another_users_batch_is_not_found(alice, bob, client):
    made = _batch(alice, 2).jobs
    client.force_login(bob)
    assert client.post(reverse("cancel_batch", args=[made[0].batch])).status_code == 404


def test_cancel_the_rest_says_so_in_chinese(alice_client, alice):
    made = _batch(alice, 2).jobs
    html = alice_client.post(
        reverse("cancel_batch", args=[made[0].batch]), HTTP_ACCEPT_LANGUAGE="zh-hans", **HTMX
    ).content.decode()
    assert "已取消 2 张图片，积分已退还。" in html


def test_run_again_with_changes_opens_the_form_with_the_batchs_parameters(alice_client, alice):
    _batch(alice, 3, text="湖边的小屋", w=768, h=448, seed=9)
    html = alice_client.get(reverse("studio")).content.decode()
    url = re.search(r'href="([^"]+)" data-testid="run-again"', html).group(1).replace("&amp;", "&")
    parts = urlsplit(url)
    assert parts.path == reverse("studio_kind", args=["txt2img"])
    query = parse_qs(parts.query)
    assert query["prompt"] == ["湖边的小屋"] and query["count"] == ["3"] and query["seed"] == ["9"]
    assert (query["width"], query["height"]) == (["768"], ["448"])
    form = alice_client.get(url).content.decode()
    assert re.search(r'name="prompt"[^>]*>\s*湖边的小屋</textarea>', form)
    assert re.search(r'name="count" value="3"[^>]*checked', form)
    assert '<option value="768" selected>' in form
    assert re.search(r'<span data-cost-for="3">3 pictures cost 6 credits</span>', form)


def test_the_gallery_shows_a_batch_as_one_group(alice_client, alice):
    made = _batch(alice, 3).jobs
    alone = stored_image(alice, prompt="alone")
    for job in made:
        stored_image(alice, prompt=f"batch {job.batch_index}", job=job)
    stored_image(alice, prompt="after")
    html = alice_client.get(reverse("gallery")).content.decode()
    assert html.count('data-testid="batch-run"') == 1
    run = html.split('data-testid="batch-run"', 1)[1].split("</section>", 1)[0]
    assert run.count('data-testid="image-card"') == 3 and "Batch of 3 pictures" in run
    assert "alone" not in run and "after" not in run
    again = re.search(r'href="([^"]+)" data-testid="batch-run-again"', run).group(1).replace("&amp;", "&")
    assert again.startswith(reverse("studio_kind", args=["txt2img"]) + "?") and "count=3" in again
    assert html.count('data-testid="image-card"') == 5
    zh = alice_client.get(reverse("gallery"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "一批 3 张" in zh
    assert alone.job is None


def test_a_form_sent_without_a_count_makes_one_picture(alice_client, alice):
    data = txt2img_form("fox")
    del data["count"]
    alice_client.post(reverse("studio_kind", args=["txt2img"]), data)
    assert Job.objects.filter(owner=alice).count() == 1
