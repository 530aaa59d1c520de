import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_default_language_follows_accept_language(client):
    english = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    chinese = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "Turn words into pictures" in english
    assert '<html lang="en">' in english
    assert '<html lang="zh-hans">' in chinese
    assert "Turn words into pictures" not in chinese


def test_the_switcher_persists_the_choice_in_a_cookie(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 302
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in page
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in page


def test_form_errors_are_translated(alice_client):
    alice_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = alice_client.post(reverse("new_job", args=["txt2img"]), {"prompt": "", "width": 4096})
    body = response.content.decode()
    assert "这个字段是必填项" in body
