"""Our own error pages, translated and in the site's style, with DEBUG off (as the tests run):
Django's bare "Not Found" and "Server Error" pages are never what a visitor sees."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views import defaults

from tests.factories import image_row

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "headline"), [("en", "We could not find that page"), ("zh-hans", "找不到这个页面")]
)
def test_an_unknown_address_gets_the_sites_404_page(language, headline):
    """Fails before: there was no 404.html, so DEBUG off showed Django's bare "Not Found"."""
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-page"' in html and 'data-status="404"' in html
    assert headline in html
    assert reverse("home") in html and "site-header" in html


def test_another_users_private_picture_is_the_same_friendly_404(alice, bob):
    picture = image_row(alice, prompt="private")
    other = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    other.force_login(bob)
    response = other.get(reverse("image_detail", args=[picture.id]))
    assert response.status_code == 404
    assert "找不到这个页面" in response.content.decode()


def test_a_staff_page_refused_to_a_user_is_the_sites_403(alice, bob):
    picture = image_row(alice, prompt="shared", is_public=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(bob)
    response = client.post(reverse("inspiration_feature", args=[picture.id]))
    assert response.status_code == 403
    assert "You may not open this page" in response.content.decode()


def test_an_expired_form_says_so_in_chinese():
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "表单已过期" in response.content.decode()


@pytest.mark.parametrize(("language", "headline"), [("en", "Something went wrong on our side"), ("zh-hans", "出错了")])
def test_the_500_page_stands_alone_and_is_translated(language, headline):
    """Rendered as Django renders it after a crash: without the request's context."""
    request = RequestFactory().get("/")
    with translation.override(language):
        response = defaults.server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert headline in html and 'data-status="500"' in html


def test_a_bad_request_gets_the_sites_400_page():
    request = RequestFactory().get("/")
    response = defaults.bad_request(request, exception=None)
    assert response.status_code == 400
    assert "That request did not make sense to us" in response.content.decode()
