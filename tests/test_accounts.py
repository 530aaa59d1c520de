import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from gallery import credits
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_signs_up_logs_in_and_grants_the_signup_credits(client, settings):
    settings.CREDITS_SIGNUP_GRANT = 30
    response = client.post(
        reverse("signup"),
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD, "accept_terms": "on"},
        follow=True,
    )
    assert response.status_code == 200
    user = get_user_model().objects.get(username="carol")
    assert response.context["user"] == user
    assert credits.balance_of(user) == 30
    assert "30" in response.content.decode()  # the balance in the header


def test_it_rejects_mismatched_passwords_with_a_translated_error(client):
    response = client.post(
        reverse("signup"),
        {"username": "dave", "password1": PASSWORD, "password2": "other"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="dave").exists()
    assert "输入的两个密码不一致" in response.content.decode()


def test_it_logs_in_and_out(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.context["user"] == alice
    response = client.post(reverse("logout"), follow=True)
    assert not response.context["user"].is_authenticated


def test_it_changes_the_password(alice_client, alice):
    response = alice_client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another-long-passphrase")


def test_the_profile_shows_the_balance_and_saves_the_display_name(alice_client, alice):
    response = alice_client.get(reverse("profile"))
    assert response.status_code == 200
    assert 'data-testid="profile-balance">50<' in response.content.decode()
    alice_client.post(reverse("profile"), {"first_name": "Alice L.", "email": "alice@example.com"})
    alice.refresh_from_db()
    assert alice.first_name == "Alice L."


@pytest.mark.parametrize("name", ["profile", "job_list", "gallery", "credit_history"])
def test_private_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["home", "inspiration", "explore", "login", "signup"])
def test_public_pages_are_open(client, name):
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_sign_up_does_not_redirect_off_the_site(client, target):
    """Fails before the fix: sign-up redirected to any ?next= (an open redirect)."""
    response = client.post(
        reverse("signup") + "?next=" + target,
        {
            "username": "carol",
            "password1": "a-long-Passphrase-9",
            "password2": "a-long-Passphrase-9",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_sign_up_still_follows_a_next_inside_the_site(client):
    response = client.post(
        reverse("signup") + "?next=/gallery/",
        {
            "username": "carol",
            "password1": "a-long-Passphrase-9",
            "password2": "a-long-Passphrase-9",
            "accept_terms": "on",
        },
    )
    assert response["Location"] == "/gallery/"


@pytest.mark.parametrize(
    ("language", "error"),
    [("en", "Accept the terms of service to sign up."), ("zh-hans", "请先同意用户服务协议再注册。")],
)
def test_sign_up_requires_accepting_the_terms(client, language, error):
    """Fails before the terms: an account was made without any agreement to accept."""
    data = {"username": "carol", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(reverse("signup"), data, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not get_user_model().objects.filter(username="carol").exists()
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'name="accept_terms"' in page and f'href="{reverse("terms")}"' in page


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", ["Terms of service", "AI-generated", "TC260", "may not remove, alter, forge or hide"]),
        ("zh-hans", ["用户服务协议", "AI 生成", "TC260", "不得以任何方式删除、篡改、伪造或隐匿"]),
    ],
)
def test_the_terms_say_how_pictures_are_labelled_and_the_footer_links_them(client, language, says):
    """Fails before the terms: there was no such page and no link to it."""
    page = client.get(reverse("terms"), HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    text = page.content.decode()
    assert all(words in text for words in says)
    assert "画廊 AIGC" in text  # the provider the labels name
    home = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-testid="terms-link"' in home and f'href="{reverse("terms")}"' in home
