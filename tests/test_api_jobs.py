"""/api/v1/jobs: each kind created as its form creates it (same validation, moderation, limits
and charge), jobs read, listed and cancelled; another user's jobs are 404; errors are problem
details in the client's language."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery import credits
from gallery.forms import Txt2ImgForm, default_params
from gallery.models import ApiSubmission, CreditTransaction, Job, JobStatus, SensitiveWord
from tests.factories import api_token, bearer, stored_image
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(alice):
    return api_token(alice)


def post_json(client, path, body, token, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **bearer(token), **extra)


def test_txt2img_makes_the_job_the_form_makes_and_charges_once(client, alice, token):
    before = credits.balance_of(alice)
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "玫瑰花", "seed": 7}, token)
    assert response.status_code == 201
    body = response.json()
    job = Job.objects.get(id=body["id"])
    assert job.owner == alice and job.status == JobStatus.QUEUED and body["status"] == "queued"
    assert job.params == default_params(Txt2ImgForm, prompt="玫瑰花", negative_prompt="", seed=7)
    assert credits.balance_of(alice) == before - job.cost
    assert body["wait"]["position"] == 1 and body["image"] is None
    assert ApiSubmission.objects.get(job=job).token.owner == alice


def test_img2img_takes_an_upload(client, alice, token):
    upload = SimpleUploadedFile("cat.png", png_bytes((96, 64)), content_type="image/png")
    response = client.post(
        "/api/v1/jobs/img2img", {"prompt": "a cat in 水彩", "strength": "0.5", "source_upload": upload}, **bearer(token)
    )
    assert response.status_code == 201, response.content
    job = Job.objects.get(id=response.json()["id"])
    assert job.kind == "img2img" and job.source_key and job.params["strength"] == 0.5
    assert job.params["source_size"] == [96, 64]


def test_anime_takes_one_of_your_own_pictures(client, alice, token):
    picture = stored_image(alice)
    response = client.post("/api/v1/jobs/anime", {"source_image": str(picture.id)}, **bearer(token))
    assert response.status_code == 201, response.content
    job = Job.objects.get(id=response.json()["id"])
    assert job.source_image == picture and job.source_key == picture.original_key


def test_a_picture_of_another_user_is_not_a_source(client, alice, bob, token):
    picture = stored_image(bob)
    response = client.post("/api/v1/jobs/upscale", {"source_image": str(picture.id)}, **bearer(token))
    assert response.status_code == 422
    assert "source_image" in [error["field"] for error in response.json()["errors"]]
    assert not Job.objects.exists()


def test_upscale_refuses_a_picture_larger_than_it_takes(client, alice, token):
    upload = SimpleUploadedFile("big.png", png_bytes((800, 600)), content_type="image/png")
    response = client.post("/api/v1/jobs/upscale", {"source_upload": upload}, **bearer(token))
    assert response.status_code == 422 and "800x600" in response.json()["detail"]
    assert not Job.objects.exists() and credits.balance_of(alice) == 50


def test_a_kind_that_needs_a_picture_says_so(client, token):
    response = client.post("/api/v1/jobs/anime", {"style": "classic"}, **bearer(token))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "", "message": "Choose the picture to start from."}]


@pytest.mark.parametrize(
    "language,detail,field_message",
    [
        ("en", "The request is not valid; see errors.", "Ensure this value is less than or equal to 100."),
        ("zh-hans", "请求无效；详见 errors。", "确保该值小于或等于100。"),
    ],
)
def test_invalid_fields_are_a_translated_problem(client, token, language, detail, field_message):
    response = post_json(
        client, "/api/v1/jobs/txt2img", {"prompt": "x", "steps": 1000}, token, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/api/v1/problems/invalid" and problem["title"] == "Invalid request"
    assert problem["detail"] == detail
    assert problem["errors"] == [{"field": "steps", "message": field_message}]
    assert not Job.objects.exists()


def test_a_wrong_type_is_a_problem_too(client, token):
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": ["a", "list"], "steps": "many"}, token)
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert {error["field"] for error in response.json()["errors"]} == {"prompt", "steps"}


def test_a_blocked_prompt_is_refused_and_charges_nothing(client, alice, token):
    SensitiveWord.objects.update_or_create(word="恐怖袭击", defaults={"mode": SensitiveWord.Mode.BLOCK})
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "恐怖袭击现场"}, token)
    assert response.status_code == 422 and response.json()["type"] == "/api/v1/problems/prompt-blocked"
    assert not Job.objects.exists() and credits.balance_of(alice) == 50


def test_no_credit_is_402_and_no_job(client, make_user):
    poor = make_user("poor", credits_amount=1)
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "roses"}, api_token(poor))
    assert response.status_code == 402 and response.json()["type"] == "/api/v1/problems/insufficient-credits"
    assert not Job.objects.exists()


def test_the_per_minute_limit_answers_429_with_retry_after(client, token, settings):
    settings.JOBS_MAX_PER_MINUTE = 1
    assert post_json(client, "/api/v1/jobs/txt2img", {"prompt": "one"}, token).status_code == 201
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "two"}, token)
    assert response.status_code == 429 and response.json()["type"] == "/api/v1/problems/rate-limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert Job.objects.count() == 1


def test_the_in_flight_limit_answers_429(client, token, settings):
    settings.JOBS_MAX_IN_FLIGHT = 1
    post_json(client, "/api/v1/jobs/txt2img", {"prompt": "one"}, token)
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "two"}, token)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_a_body_over_the_limit_is_413_before_it_is_read(client, token, settings):
    settings.API_MAX_BODY_BYTES = 2000
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "x" * 3000}, token)
    assert response.status_code == 413 and response.json()["type"] == "/api/v1/problems/too-large"
    assert not Job.objects.exists()


def test_get_a_job_and_another_users_is_404(client, alice, bob, token):
    created = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "roses"}, token).json()
    assert client.get(f"/api/v1/jobs/{created['id']}", **bearer(token)).json()["id"] == created["id"]
    response = client.get(f"/api/v1/jobs/{created['id']}", **bearer(api_token(bob)))
    assert response.status_code == 404 and response.json()["type"] == "/api/v1/problems/not-found"
    assert client.post(f"/api/v1/jobs/{created['id']}/cancel", **bearer(api_token(bob))).status_code == 404


def test_jobs_are_listed_newest_first_by_cursor(client, alice, bob, token):
    ids = [post_json(client, "/api/v1/jobs/txt2img", {"prompt": f"p{n}"}, token).json()["id"] for n in range(3)]
    post_json(client, "/api/v1/jobs/txt2img", {"prompt": "bob's"}, api_token(bob))
    first = client.get("/api/v1/jobs?limit=2", **bearer(token)).json()
    assert [job["id"] for job in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = client.get(f"/api/v1/jobs?limit=2&after={first['next_cursor']}", **bearer(token)).json()
    assert [job["id"] for job in second["items"]] == [ids[0]] and second["next_cursor"] is None
    assert client.get("/api/v1/jobs?status=succeeded", **bearer(token)).json()["items"] == []


def test_cancel_a_queued_job_refunds_it_once(client, alice, token):
    created = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "roses"}, token).json()
    response = client.post(f"/api/v1/jobs/{created['id']}/cancel", **bearer(token))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["failure"]["refunded"] is True
    assert credits.balance_of(alice) == 50
    again = client.post(f"/api/v1/jobs/{created['id']}/cancel", **bearer(token))
    assert again.status_code == 409 and again.json()["type"] == "/api/v1/problems/conflict"
    assert CreditTransaction.objects.filter(job_id=created["id"], kind="refund").count() == 1


def test_a_webhook_to_a_private_address_is_refused_at_creation(client, token):
    response = post_json(
        client, "/api/v1/jobs/txt2img", {"prompt": "roses", "webhook_url": "http://127.0.0.1:6379/"}, token
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "webhook_url"
    assert "private network" in response.json()["detail"]
    assert not Job.objects.exists()


def test_the_openapi_document_and_the_docs_page_are_served_from_our_own_files(client):
    schema = client.get("/api/v1/openapi.json").json()
    for kind in ("txt2img", "img2img", "anime", "upscale"):
        assert f"/api/v1/jobs/{kind}" in schema["paths"]
    assert schema["paths"]["/api/v1/jobs/txt2img"]["post"]["responses"]["422"]["content"].keys() == {
        "application/problem+json"
    }
    page = client.get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200 and "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script: the policy would block it


def test_a_multipart_body_without_a_boundary_is_400_not_500(client, token):
    """Found by Schemathesis: Django's multipart parser raised and the API answered 500."""
    response = client.post("/api/v1/jobs/anime", b"x", content_type="multipart/form-data", **bearer(token))
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"


def test_a_json_false_is_not_a_seed(client, token):
    """Found by Schemathesis: `"seed": false` was taken as seed 0."""
    response = post_json(client, "/api/v1/jobs/txt2img", {"prompt": "roses", "seed": False}, token)
    assert response.status_code == 422 and not Job.objects.exists()


def test_an_address_under_api_that_does_not_exist_is_a_problem_not_a_page(client, token):
    for path in ("/api/v1/nothing", "/api/v1/jobs/not-a-uuid/cancel/extra", "/api/v2/jobs"):
        response = client.get(path, **bearer(token))
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json", path
    malformed = client.get("/api/v1/jobs/null,null", **bearer(token))
    assert malformed.status_code == 422 and malformed["Content-Type"] == "application/problem+json"


def test_scale_down_as_documented_takes_a_too_large_source_for_upscaling(client, alice, token):
    """Fails before the change: the schema listed `scale_down` (from the form) but the API never
    passed it on, so an 800×600 upload for 4x upscaling was refused however it was asked."""
    upload = SimpleUploadedFile("big.png", png_bytes((800, 600)), content_type="image/png")
    response = client.post("/api/v1/jobs/upscale", {"source_upload": upload, "scale_down": "true"}, **bearer(token))
    assert response.status_code == 201, response.content
    assert Job.objects.get(id=response.json()["id"]).params["source_size"] == [768, 576]


def test_a_job_whose_picture_is_in_the_trash_shows_no_picture(client, alice, token):
    """Fails before the change: the job's JSON still carried a trashed picture and its URLs."""
    from gallery import trash
    from gallery.models import Image
    from tests.factories import submitted_job

    job = submitted_job(alice)
    picture = stored_image(alice)
    Image.objects.filter(id=picture.id).update(job=job)
    Job.objects.filter(id=job.id).update(status=JobStatus.SUCCEEDED)
    assert client.get(f"/api/v1/jobs/{job.id}", **bearer(token)).json()["image"]["id"] == str(picture.id)
    trash.trash_images(owner=alice, images=[picture])
    assert client.get(f"/api/v1/jobs/{job.id}", **bearer(token)).json()["image"] is None
    assert client.get("/api/v1/jobs", **bearer(token)).json()["items"][0]["image"] is None
    assert (
        "kept_source"
        not in client.get("/api/v1/openapi.json").json()["components"]["schemas"]["UpscaleRequest"]["properties"]
    )
