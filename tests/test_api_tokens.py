"""Personal access tokens: made and revoked on the profile page, shown once, stored hashed,
scoped, expiring; the API takes them and nothing else (not the site's session)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery import api_tokens
from gallery.models import ApiToken, AuditEntry
from tests.factories import api_token, bearer

pytestmark = pytest.mark.django_db


def _txt2img(client, token, **body):
    return client.post(
        "/api/v1/jobs/txt2img",
        json.dumps({"prompt": "玫瑰花", **body}),
        content_type="application/json",
        **bearer(token),
    )


@pytest.mark.parametrize(
    "language,heading,shown_once",
    [("en", "API tokens", "shown only this once"), ("zh-hans", "API 令牌", "只显示这一次")],
)
def test_a_token_made_on_the_profile_page_is_shown_once_and_stored_hashed(
    alice_client, alice, language, heading, shown_once
):
    page = alice_client.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert heading in page and 'data-testid="token-form"' in page
    response = alice_client.post(
        reverse("api_token_create"),
        {"name": "shop bot", "scope": "write", "expires_in_days": "30"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    page = response.content.decode()
    assert response.status_code == 200 and shown_once in page
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    plaintext = page.split('data-testid="token-plaintext"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert plaintext.startswith("aigc_") and len(plaintext) > 40
    token = ApiToken.objects.get(owner=alice)
    assert token.digest == api_tokens.digest_of(plaintext) and plaintext not in {token.digest, token.prefix}
    assert token.expires_at is not None and token.expires_at - timezone.now() > timedelta(days=29)
    # The next visit lists it by name and prefix, never the token again.
    again = alice_client.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "shop bot" in again and token.prefix in again and plaintext not in again
    assert _txt2img(alice_client.__class__(), plaintext).status_code == 201
    assert AuditEntry.objects.filter(action="api_token.created", subject_id=str(token.pk)).exists()


def test_a_token_needs_a_name(alice_client, alice):
    response = alice_client.post(reverse("api_token_create"), {"name": "   ", "scope": "read"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not ApiToken.objects.filter(owner=alice).exists()


def test_revoking_on_the_profile_page_stops_the_token_at_once(alice_client, alice, client):
    plaintext = api_token(alice)
    assert client.get("/api/v1/credits", **bearer(plaintext)).status_code == 200
    token = ApiToken.objects.get(owner=alice)
    response = alice_client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    refused = client.get("/api/v1/credits", **bearer(plaintext))
    assert refused.status_code == 401 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "/api/v1/problems/unauthenticated"
    assert AuditEntry.objects.filter(action="api_token.revoked", subject_id=str(token.pk)).exists()


def test_nobody_revokes_another_users_token(client, alice, bob):
    plaintext = api_token(alice)
    token = ApiToken.objects.get(owner=alice)
    client.force_login(bob)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert client.get("/api/v1/credits", **bearer(plaintext)).status_code == 200


def test_an_expired_token_is_refused(client, alice):
    plaintext = api_token(alice)
    ApiToken.objects.filter(owner=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/credits", **bearer(plaintext)).status_code == 401


def test_a_deactivated_users_token_is_refused(client, alice):
    plaintext = api_token(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/api/v1/credits", **bearer(plaintext)).status_code == 401


def test_a_read_token_reads_but_does_not_create(client, alice):
    plaintext = api_token(alice, scope="read")
    assert client.get("/api/v1/jobs", **bearer(plaintext)).status_code == 200
    response = _txt2img(client, plaintext)
    assert response.status_code == 403 and response.json()["type"] == "/api/v1/problems/forbidden"


def test_the_sites_session_is_not_accepted_by_the_api(alice_client):
    """A logged-in browser gets no API access from its cookie: a page could otherwise make it
    create jobs for its visitor."""
    assert alice_client.get("/api/v1/jobs").status_code == 401
    assert alice_client.post("/api/v1/jobs/txt2img", {"prompt": "x"}).status_code == 401


def test_a_made_up_or_malformed_token_is_refused(client):
    for value in ("aigc_" + "x" * 43, "not-a-token", "aigc_" + "é" * 10, "Bearer"):
        assert client.get("/api/v1/jobs", HTTP_AUTHORIZATION=f"Bearer {value}").status_code == 401


def test_last_used_is_recorded(client, alice):
    plaintext = api_token(alice)
    assert ApiToken.objects.get(owner=alice).last_used_at is None
    client.get("/api/v1/credits", **bearer(plaintext))
    assert ApiToken.objects.get(owner=alice).last_used_at is not None


def test_too_many_tokens_are_refused_with_a_message(alice_client, alice, settings):
    settings.API_TOKENS_MAX_PER_USER = 2
    api_token(alice)
    api_token(alice)
    response = alice_client.post(reverse("api_token_create"), {"name": "third", "scope": "read"})
    assert "revoke one you no longer use first" in response.content.decode()
    assert ApiToken.objects.filter(owner=alice).count() == 2


def test_staff_see_and_revoke_tokens_in_the_admin(client, staff, alice):
    plaintext = api_token(alice, name="alice's bot")
    token = ApiToken.objects.get(owner=alice)
    client.force_login(staff)
    listing = client.get(reverse("admin:gallery_apitoken_changelist")).content.decode()
    assert "alice&#x27;s bot" in listing and plaintext not in listing and token.webhook_secret not in listing
    client.post(reverse("admin:gallery_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert client.get("/api/v1/credits", **bearer(plaintext)).status_code == 401
