"""Every URL of the site, walked with hostile path parts and query values: never a 500.

Malformed input is the caller's fault: it gets a 400 or 404 (or the page with the value
ignored), never a server error. The walk reads the URL resolver, so a new page is covered the
day it is added.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gallery import jobs, tokens

pytestmark = pytest.mark.django_db

HOSTILE_VALUES = ["²", "٣", "1" * 40, "x" * 5000, "a\x00b", "../../etc/passwd", "-1", "😀", "%00", " 1"]
# Query parameters the views read, each given every hostile value.
QUERY_NAMES = ["album", "kind", "q", "sort", "after", "before", "next", "image", "favourites", "start", "end",
               "period", "format", "tag", "page", "o", "p", "language"]  # fmt: skip
SKIPPED_PREFIXES = ("admin/", "healthz", "engine/")  # the admin is Django's; health and engine are below


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every route as a pattern string, e.g. 'images/<uuid:image_id>/download/'."""
    resolver = resolver or get_resolver()
    found: list[str] = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(_routes(entry, route))
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def _paths_for(route: str) -> list[str]:
    """Concrete paths for a route: its converters filled with real-looking and hostile values."""
    import re

    route = route.lstrip("^").rstrip("$")
    fillers = {
        "uuid": [str(uuid.uuid4())],
        "int": ["1", "9" * 30],
        "slug": ["txt2img", "thumb", "x" * 300, "--"],
        "str": ["²", "😀", "a" * 300],
        "path": ["../../etc/passwd"],
    }
    parts = re.split(r"(<(?:(\w+):)?\w+>|\(\?P<\w+>[^)]*\))", route)
    paths = [""]
    index = 0
    while index < len(parts):
        piece = parts[index]
        if piece and piece.startswith("<"):
            converter = parts[index + 1] or "str"
            paths = [p + value for p in paths for value in fillers.get(converter, fillers["str"])]
            index += 2
        elif piece and piece.startswith("(?P<"):
            paths = [p + "0" * 32 for p in paths]
            index += 2
        else:
            paths = [p + (piece or "").replace("\\.", ".") for p in paths]
            index += 1
    return ["/" + p for p in paths]


def _walk(client: Client) -> list[tuple[str, str, int]]:
    errors = []
    for route in _routes():
        if route.startswith(SKIPPED_PREFIXES):
            continue
        for path in _paths_for(route):
            queries = [{name: value} for name in QUERY_NAMES for value in HOSTILE_VALUES[:4]]
            queries.append({name: HOSTILE_VALUES[4] for name in QUERY_NAMES})
            for query in [{}, *queries[::3]]:
                for method in ("get", "post"):
                    response = getattr(client, method)(path, query)
                    if response.status_code >= 500:
                        errors.append((method, path, response.status_code, query))
    return errors


@pytest.fixture
def quiet_client():
    client = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    return client


def test_no_url_answers_500_to_anonymous_callers(quiet_client):
    """Fails before the fix: /explore/?album=² and /gallery/?album=² raised ValueError (500)."""
    assert _walk(quiet_client) == []


def test_no_url_answers_500_to_a_signed_in_user(quiet_client, alice):
    """Fails before the fix: /gallery/?album=² and a 30-digit album id crashed for a user."""
    quiet_client.force_login(alice)
    assert _walk(quiet_client) == []


def test_no_url_answers_500_to_staff(quiet_client, staff):
    quiet_client.force_login(staff)
    assert _walk(quiet_client) == []


def test_the_album_filter_ignores_unicode_digits(alice_client):
    """Fails before the fix: "²".isdigit() is true but int("²") raises (500)."""
    assert alice_client.get("/gallery/?album=²").status_code == 200
    assert alice_client.get("/explore/?album=²").status_code == 200


def test_a_non_ascii_callback_token_is_a_plain_404(alice):
    """Fails before the fix: hmac.compare_digest raised TypeError on a non-ASCII str (500)."""
    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    client = Client(raise_request_exception=False)
    url = reverse("callback", kwargs={"job_id": job.id, "token": "é" * 64})
    response = client.post(url, data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert tokens.is_valid_callback_token(job.id, "²") is False


def test_a_malformed_content_length_is_a_400(alice):
    """Fails before the fix: int("abc") on the Content-Length header raised (500)."""
    job = jobs.create_job(owner=alice, kind="txt2img", params={"text": "x"}, prompt="x")
    client = Client(raise_request_exception=False)
    url = reverse("callback", kwargs={"job_id": job.id, "token": tokens.callback_token(job.id)})
    response = client.generic("POST", url, json.dumps({}).encode(), "application/json", CONTENT_LENGTH="abc")
    assert response.status_code == 400


def test_a_nul_in_the_search_is_dropped_not_sent_to_the_database(alice_client):
    """Fails before the fix on PostgreSQL, which refuses NUL in a string parameter (500)."""
    from gallery import galleries

    assert galleries.Filters.from_query({"q": "a\x00b\u200b c"}).query == "a b c"
    assert alice_client.get("/explore/?q=a%00b").status_code == 200
    assert alice_client.get("/gallery/?q=a%00b").status_code == 200
