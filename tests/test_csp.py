"""The Content-Security-Policy: every page, the admin's included, carries it, and our own markup
satisfies it (no inline script, event handler or style anywhere in it). The browser journeys
(tests/test_browser_journeys.py) check that chromium reports no violation on any page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from gallery import credits
from gallery.models import CreditAccount
from tests.factories import image_row

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# What script-src 'self' / style-src 'self' refuse when written in a template.
INLINE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "inline event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def _expected() -> dict[str, list[str]]:
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", settings.CSP_MEDIA_ORIGIN],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


class _InlineFinder(HTMLParser):
    """Inline code in rendered HTML; a JSON data block (json_script) is data, not script."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def _inline_code(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def test_no_template_has_inline_script_handler_or_style():
    """Fails before the fix: base.html's language menu had onchange=, and the share-link fields
    of image_detail.html and _visibility_form.html had onclick=."""
    found = [
        f"{path.relative_to(TEMPLATES)}: {what}: {match.group(0).strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for what, pattern in INLINE.items()
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.django_db
def test_a_page_carries_the_policy(client):
    """Fails before the fix: no Content-Security-Policy header was sent."""
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert _directives(response["Content-Security-Policy"]) == _expected()
    assert _inline_code(response.content.decode()) == []


@pytest.mark.django_db
def test_a_signed_in_page_with_the_language_menu_satisfies_it(alice_client):
    response = alice_client.get(reverse("gallery"))
    assert _directives(response["Content-Security-Policy"]) == _expected()
    html = response.content.decode()
    assert "data-submit-on-change" in html  # the language menu's behaviour now lives in static/js/site.js
    assert _inline_code(html) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "admin:index",
        "admin:gallery_job_changelist",
        "admin:gallery_sensitiveword_add",
        "admin:gallery_creditaccount_changelist",
        "admin:gallery_image_changelist",
        "usage_report",
    ],
)
def test_an_admin_page_carries_the_policy_and_satisfies_it(client, staff, alice, name):
    """Fails before the fix: no header, and gallery/admin/ wrote style attributes (the
    pictures' thumbnails, a balance that disagrees with its ledger)."""
    image_row(alice)
    CreditAccount.objects.filter(user=alice).update(balance=credits.ledger_total(alice) + 1)
    client.force_login(staff)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert _directives(response["Content-Security-Policy"]) == _expected()
    html = response.content.decode()
    if name == "admin:gallery_creditaccount_changelist":
        assert "ledger-mismatch" in html
    if name == "admin:gallery_image_changelist":
        assert "admin-thumb" in html
    if name.startswith("admin:"):
        assert "css/admin.css" in html
    assert _inline_code(html) == []
