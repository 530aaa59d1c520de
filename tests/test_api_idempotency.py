"""Idempotency-Key on the API's creates (Stripe's rule): the same key and body answer the first
answer again and charge once; the same key with another body is 422; a refused first try
leaves the key free. (Ten parallel retries on the live stack: tests/test_api_live.py.)"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gallery import credits, idempotency, tasks
from gallery.models import CreditTransaction, IdempotencyKey, Job
from tests.factories import api_token, bearer
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db


def create(client, token, body, key):
    return client.post(
        "/api/v1/jobs/txt2img",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **bearer(token),
    )


def test_a_retry_with_the_same_key_gets_the_first_answer_and_pays_once(client, alice):
    token = api_token(alice)
    first = create(client, token, {"prompt": "roses", "seed": 3}, "order-1")
    again = create(client, token, {"seed": 3, "prompt": "roses"}, "order-1")  # same body, other order
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Job.objects.count() == 1
    assert CreditTransaction.objects.filter(user=alice, kind="debit").count() == 1
    assert credits.balance_of(alice) == 48


def test_the_same_key_with_another_body_is_422(client, alice):
    token = api_token(alice)
    create(client, token, {"prompt": "roses"}, "order-2")
    response = create(client, token, {"prompt": "tulips"}, "order-2")
    assert response.status_code == 422 and response.json()["type"] == "/api/v1/problems/idempotency-key-reused"
    assert Job.objects.count() == 1


def test_keys_are_per_user(client, alice, bob):
    create(client, api_token(alice), {"prompt": "roses"}, "shared-name")
    assert create(client, api_token(bob), {"prompt": "roses"}, "shared-name").status_code == 201
    assert Job.objects.count() == 2


def test_a_refused_first_try_leaves_the_key_free(client, make_user):
    user = make_user("poor", credits_amount=1)
    token = api_token(user)
    assert create(client, token, {"prompt": "roses"}, "order-3").status_code == 402
    credits.grant(user=user, amount=10, reason="test")
    assert create(client, token, {"prompt": "roses"}, "order-3").status_code == 201
    assert Job.objects.count() == 1


def test_uploads_are_compared_by_content_not_by_multipart_boundary(client, alice):
    token = api_token(alice)
    data = png_bytes((80, 60))

    def send(content: bytes):
        upload = SimpleUploadedFile("p.png", content, content_type="image/png")
        return client.post(
            "/api/v1/jobs/anime", {"source_upload": upload}, HTTP_IDEMPOTENCY_KEY="anime-1", **bearer(token)
        )

    assert send(data).status_code == 201
    assert send(data).json()["id"] == Job.objects.get().id.__str__()
    assert send(png_bytes((80, 60), colour=(1, 2, 3))).status_code == 422


def test_a_key_is_forgotten_after_a_day(client, alice):
    token = api_token(alice)
    create(client, token, {"prompt": "roses"}, "order-4")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert create(client, token, {"prompt": "roses"}, "order-4").status_code == 201
    assert Job.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert tasks.forget_idempotency_keys() == 1 and not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "with space"])
def test_a_malformed_key_is_400(client, alice, key):
    response = create(client, api_token(alice), {"prompt": "roses"}, key)
    assert response.status_code == 400 and not Job.objects.exists()


def test_a_request_still_in_progress_makes_the_second_wait_then_409(client, alice, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    token = api_token(alice)
    create(client, token, {"prompt": "roses"}, "busy")
    # As if that first request were still being handled (its answer not yet recorded):
    IdempotencyKey.objects.update(status_code=None, response=None, created_at=timezone.now())
    response = create(client, token, {"prompt": "roses"}, "busy")
    assert response.status_code == 409 and response["Retry-After"] == "1"
    assert Job.objects.count() == 1
