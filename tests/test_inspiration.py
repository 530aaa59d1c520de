"""The inspiration gallery: the seeded prompts, the page, featuring by staff, and rendering."""

from __future__ import annotations

import json
import re
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import call_command
from django.urls import reverse

from gallery import credits, galleries, ingest, inspiration, jobs, trash
from gallery.models import AuditEntry, Image, InspirationEntry, Job, JobStatus, Tag
from tests.factories import image_row
from tests.helpers import DATA, callback_body

pytestmark = pytest.mark.django_db

# The curated prompts of the API document (tests/data/curated_prompts.json):
# position -> (Chinese prompt, English rendering)
CURATED = {
    item["position"]: (item["prompt"], item["english"])
    for item in json.loads((DATA / "curated_prompts.json").read_text(encoding="utf-8"))
}


def cards_on(response) -> list[str]:
    return re.findall(r'data-testid="inspiration-card" data-entry-id="(\d+)"', response.content.decode())


def use_prompt_links(response) -> list[str]:
    links = re.findall(r'href="([^"]+)" data-testid="use-prompt"', response.content.decode())
    return [link.replace("&amp;", "&") for link in links]


# --- the data migration ---


def test_the_migration_seeds_exactly_the_seven_curated_prompts():
    entries = list(InspirationEntry.objects.filter(is_curated=True).order_by("position"))
    assert [(e.position, e.prompt_zh, e.prompt_en) for e in entries] == [
        (position, zh, en) for position, (zh, en) in sorted(CURATED.items())
    ]
    assert InspirationEntry.objects.count() == 7
    assert all(e.image is None for e in entries)


def test_the_migration_tags_the_prompts():
    assert {"cute", "animals", "fantasy", "architecture", "portrait", "landscape", "flowers"} <= set(
        Tag.objects.values_list("slug", flat=True)
    )
    tagged = {e.position: {t.slug for t in e.tags.all()} for e in InspirationEntry.objects.filter(is_curated=True)}
    assert all(tagged.values())
    assert {"cute", "animals"} <= tagged[1]
    assert "architecture" in tagged[3] and "flowers" in tagged[6]
    assert Tag.objects.get(slug="animals").name_zh == "动物"


# --- the page ---


def test_it_shows_the_seven_prompts_in_order_with_placeholders(client):
    response = client.get(reverse("inspiration"))
    assert response.status_code == 200
    positions = re.findall(r'data-position="(\d+)"', response.content.decode())
    assert positions == ["1", "2", "3", "4", "5", "6", "7"]
    assert response.content.decode().count('data-testid="inspiration-placeholder"') == 7


def test_it_shows_the_prompt_in_chinese_by_default(client):
    html = client.get(reverse("inspiration"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert CURATED[1][0] in html
    assert CURATED[1][1] not in html


def test_it_shows_the_english_rendering_to_english_visitors(client):
    html = client.get(reverse("inspiration"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert CURATED[4][1] in html
    assert CURATED[4][0] not in html


def test_use_this_prompt_opens_the_form_prefilled_after_login(client, alice):
    link = use_prompt_links(client.get(reverse("inspiration"), HTTP_ACCEPT_LANGUAGE="zh-CN"))[0]
    assert link.startswith(reverse("new_job", args=["txt2img"]))
    assert parse_qs(urlsplit(link).query)["prompt"] == [CURATED[1][0]]
    anonymous = client.get(link)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    client.force_login(alice)
    assert client.get(link).context["form"].initial["prompt"] == CURATED[1][0]


def test_use_this_prompt_is_in_the_visitors_language(client):
    link = use_prompt_links(client.get(reverse("inspiration"), HTTP_ACCEPT_LANGUAGE="en"))[1]
    assert parse_qs(urlsplit(link).query)["prompt"] == [CURATED[2][1]]


def test_it_filters_by_tag(client):
    response = client.get(reverse("inspiration"), {"tag": "architecture"})
    positions = {int(p) for p in re.findall(r'data-position="(\d+)"', response.content.decode())}
    expected = set(InspirationEntry.objects.filter(tags__slug="architecture").values_list("position", flat=True))
    assert positions == expected and 3 in positions and 1 not in positions


def test_an_unknown_tag_shows_everything(client):
    assert len(cards_on(client.get(reverse("inspiration"), {"tag": "nope"}))) == 7


def test_a_rendered_entry_shows_its_picture(client, alice):
    image = image_row(alice, is_public=True)
    InspirationEntry.objects.filter(position=1, is_curated=True).update(image=image)
    html = client.get(reverse("inspiration")).content.decode()
    assert html.count('data-testid="inspiration-placeholder"') == 6
    assert image.thumb_key in html


# --- featuring by staff ---


def test_staff_feature_a_public_picture_with_an_audit_entry(client, staff, alice):
    image = image_row(alice, prompt="a lighthouse at dawn", is_public=True)
    client.force_login(staff)
    detail = client.get(reverse("image_detail", args=[image.id])).content.decode()
    assert 'data-testid="feature-form"' in detail
    response = client.post(reverse("inspiration_feature", args=[image.id]), {"tag": ["landscape"]})
    assert response.status_code == 302
    entry = InspirationEntry.objects.get(image=image)
    assert not entry.is_curated and entry.prompt_en == "a lighthouse at dawn" and entry.featured_by == staff
    assert [t.slug for t in entry.tags.all()] == ["landscape"]
    audit = AuditEntry.objects.get(action="inspiration.featured")
    assert audit.actor == staff and audit.data["image"] == str(image.id)
    page = client.get(reverse("inspiration"))
    assert str(entry.id) in cards_on(page)
    assert str(entry.id) in cards_on(client.get(reverse("inspiration"), {"tag": "landscape"}))
    assert 'data-testid="unfeature"' in client.get(reverse("image_detail", args=[image.id])).content.decode()


def test_a_chinese_prompt_is_featured_as_the_chinese_rendering(staff, alice):
    image = image_row(alice, prompt="灯塔，黎明", is_public=True)
    entry = inspiration.feature(image=image, by=staff)
    assert (entry.prompt_zh, entry.prompt_en) == ("灯塔，黎明", "")


def test_featuring_twice_makes_one_entry_and_one_audit_entry(staff, alice):
    image = image_row(alice, is_public=True)
    inspiration.feature(image=image, by=staff)
    inspiration.feature(image=image, by=staff)
    assert InspirationEntry.objects.filter(image=image).count() == 1
    assert AuditEntry.objects.filter(action="inspiration.featured").count() == 1


def test_staff_unfeature_with_an_audit_entry(client, staff, alice):
    image = image_row(alice, is_public=True)
    entry = inspiration.feature(image=image, by=staff)
    client.force_login(staff)
    assert client.post(reverse("inspiration_unfeature", args=[image.id])).status_code == 302
    assert not InspirationEntry.objects.filter(id=entry.id).exists()
    assert Image.objects.filter(id=image.id).exists()
    assert AuditEntry.objects.get(action="inspiration.unfeatured").actor == staff
    client.post(reverse("inspiration_unfeature", args=[image.id]))
    assert AuditEntry.objects.filter(action="inspiration.unfeatured").count() == 1


def test_only_staff_may_feature(client, alice, bob):
    image = image_row(alice, is_public=True)
    client.force_login(bob)
    assert client.post(reverse("inspiration_feature", args=[image.id])).status_code == 403
    assert client.post(reverse("inspiration_unfeature", args=[image.id])).status_code == 403
    assert 'data-testid="feature-form"' not in client.get(reverse("image_detail", args=[image.id])).content.decode()
    assert not InspirationEntry.objects.filter(image=image).exists()


def test_a_private_picture_cannot_be_featured(client, staff, alice):
    image = image_row(alice)
    client.force_login(staff)
    assert client.post(reverse("inspiration_feature", args=[image.id])).status_code == 404
    with pytest.raises(inspiration.InspirationError):
        inspiration.feature(image=image, by=staff)
    assert not InspirationEntry.objects.filter(image=image).exists()


def test_hidden_pictures_never_appear(client, staff, alice):
    image = image_row(alice, is_public=True)
    entry = inspiration.feature(image=image, by=staff)
    Image.objects.filter(id=image.id).update(is_hidden=True)
    assert str(entry.id) not in cards_on(client.get(reverse("inspiration")))
    curated = InspirationEntry.objects.get(is_curated=True, position=2)
    curated.image = image
    curated.save()
    html = client.get(reverse("inspiration")).content.decode()
    assert image.thumb_key not in html
    assert len(cards_on(client.get(reverse("inspiration")))) == 7


def test_making_a_featured_picture_private_takes_it_out(client, staff, alice):
    image = image_row(alice, is_public=True)
    inspiration.feature(image=image, by=staff)
    galleries.set_visibility(image=image, is_public=False)
    assert not InspirationEntry.objects.filter(image=image).exists()


def test_deleting_a_featured_picture_removes_its_entry(staff, alice, django_capture_on_commit_callbacks):
    image = image_row(alice, is_public=True)
    inspiration.feature(image=image, by=staff)
    curated = InspirationEntry.objects.get(is_curated=True, position=1)
    curated.image = image
    curated.save()
    with django_capture_on_commit_callbacks(execute=True):
        trash.trash_images(owner=alice, images=[image])
        trash.empty_trash(owner=alice)
    assert InspirationEntry.objects.filter(is_curated=False).count() == 0
    curated.refresh_from_db()
    assert curated.image is None


# --- render_inspiration ---


def render(*args) -> str:
    out = StringIO()
    call_command("render_inspiration", *args, stdout=out)
    return out.getvalue()


def finish(job: Job, url: str) -> None:
    """The provider's side, through the real state machine and ingest: submitted, called back, stored."""
    jobs.mark_submitted(job_id=job.id, task_id=f"t-{job.id}", response={})
    body = callback_body("success-documented")
    body["data"]["cos"] = url
    jobs.record_callback(job_id=job.id, body=body, success=True, safe=True)
    assert ingest.ingest_result(job_id=job.id) == "succeeded"


def system_jobs():
    return Job.objects.filter(owner__username=inspiration.SYSTEM_USERNAME)


def test_it_creates_one_job_per_curated_prompt_and_pays_for_them(settings):
    settings.JOBS_MAX_IN_FLIGHT = 10
    output = render()
    assert "0/7" in output
    created = system_jobs()
    assert created.count() == 7
    assert {job.prompt for job in created} == {zh for zh, _en in CURATED.values()}
    assert all(job.kind == "txt2img" and job.status == JobStatus.QUEUED for job in created)
    assert {job.params["text"] for job in created} == {zh for zh, _en in CURATED.values()}
    user = created.first().owner
    assert not user.has_usable_password()
    assert credits.ledger_total(user) == credits.balance_of(user) == 0


def test_running_it_again_creates_no_second_job(settings):
    settings.JOBS_MAX_IN_FLIGHT = 10
    render()
    render()
    assert system_jobs().count() == 7


def test_it_respects_the_job_limit_and_continues_later(settings, image_host):
    settings.JOBS_MAX_IN_FLIGHT = 4
    render()
    assert system_jobs().count() == 4
    render()
    assert system_jobs().count() == 4
    for job in system_jobs():
        finish(job, f"{image_host.url}/result.png")
    render()
    assert system_jobs().count() == 7
    assert InspirationEntry.objects.filter(is_curated=True, image__isnull=False).count() == 4


def test_it_links_finished_pictures_and_makes_them_public(settings, image_host, client):
    settings.JOBS_MAX_IN_FLIGHT = 10
    render()
    first = system_jobs().get(prompt=CURATED[1][0])
    finish(first, f"{image_host.url}/result.png")
    output = render()
    assert "1/7" in output
    entry = InspirationEntry.objects.get(is_curated=True, position=1)
    assert entry.image == first.image and entry.image.is_public
    assert system_jobs().count() == 7
    html = client.get(reverse("inspiration")).content.decode()
    assert html.count('data-testid="inspiration-placeholder"') == 6
    assert client.get(reverse("image_detail", args=[entry.image.id])).status_code == 200
    render()
    entry.refresh_from_db()
    assert entry.image == first.image


def test_it_tries_a_failed_prompt_again(settings):
    settings.JOBS_MAX_IN_FLIGHT = 10
    render()
    job = system_jobs().get(prompt=CURATED[3][0])
    jobs.fail(job_id=job.id, reason="the provider refused it")
    render()
    assert system_jobs().filter(prompt=CURATED[3][0]).count() == 2
    assert system_jobs().filter(prompt=CURATED[3][0], status=JobStatus.QUEUED).count() == 1


def test_it_refuses_to_render_as_a_persons_account(make_user):
    make_user(inspiration.SYSTEM_USERNAME)
    with pytest.raises(Exception, match="person"):
        render()
    assert not Job.objects.exists()


@pytest.mark.slow
def test_the_command_renders_every_prompt_through_the_running_stack(stack):
    """What `make run` does: the worker cluster submits, the engine paints and calls back, the
    command links the pictures; a second run changes nothing."""
    first = stack.manage("render_inspiration", "--wait", "150", timeout=200).stdout
    assert "7/7" in first, first + stack.log("worker")[-3000:]
    page = requests.get(f"{stack.url}/inspiration/", timeout=10).text
    assert page.count('data-testid="inspiration-image"') == 7
    assert 'data-testid="inspiration-placeholder"' not in page
    second = stack.manage("render_inspiration").stdout
    assert "7/7" in second and "0 jobs created" in second
    assert stack.invariants()["ok"]
