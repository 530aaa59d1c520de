"""Abuse protection: the log-in lockout (django-axes), the sign-up rate per address,
and the optional e-mail verification that holds back the welcome credits, with its mail sent
over SMTP to a real local server (aiosmtpd)."""

from __future__ import annotations

import email
import re
import socket
import time
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse

from gallery import credits
from gallery.clientip import client_ip
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


def _log_in(client: Client, username: str, password: str, *, url: str | None = None, **extra):
    return client.post(url or reverse("login"), {"username": username, "password": password}, **extra)


def _fail_five_times(client: Client, username: str = "alice", **extra) -> None:
    for attempt in range(4):
        response = _log_in(client, username, WRONG, **extra)
        assert response.status_code == 200, f"attempt {attempt + 1} was not an ordinary refusal"
    # The fifth wrong password reaches the limit: that answer is already the lockout page.
    assert _log_in(client, username, WRONG, **extra).status_code == 429


# --- the log-in lockout ---


def test_five_wrong_passwords_lock_the_login_even_with_the_right_one(client, alice):
    """Fails before the fix: there was no lockout, so guessing went on for ever and the sixth
    try with the right password logged in."""
    _fail_five_times(client)
    response = _log_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert 'data-testid="lockout"' in body
    assert "Too many failed log-ins" in body
    assert "You can try again after" in body
    assert "_auth_user_id" not in client.session


def test_the_lockout_page_is_translated(client, alice):
    """Fails before the fix: there was no lockout page."""
    _fail_five_times(client)
    chinese = _log_in(client, "alice", PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "登录失败次数过多" in chinese
    assert "之后" in chinese and "再试" in chinese
    english = _log_in(client, "alice", PASSWORD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Too many failed log-ins" in english


def test_the_lock_is_on_the_name_and_address_together(client, alice, bob):
    """Fails before the fix (no lockout at all). The same address may still log in as someone
    else, and the locked name from another address: nobody locks out a user by name alone."""
    _fail_five_times(client, REMOTE_ADDR="203.0.113.7")
    assert _log_in(Client(), "bob", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 302
    assert _log_in(Client(), "alice", PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, alice, settings):
    """Fails before the fix: with no lockout there was nothing to expire (the first assertion
    fails: the right password logged in at once)."""
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    _fail_five_times(client)
    assert _log_in(client, "alice", PASSWORD).status_code == 429
    time.sleep(1.2)
    response = _log_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == alice.pk


def test_a_good_log_in_clears_the_count(client, alice):
    """Four mistakes, then the right password, then four more mistakes do not lock: the count
    starts again after a success (a person who mistypes now and then is never locked)."""
    for _ in range(4):
        _log_in(client, "alice", WRONG)
    assert _log_in(client, "alice", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert _log_in(client, "alice", WRONG).status_code == 200
    assert _log_in(client, "alice", PASSWORD).status_code == 302


def test_the_admin_log_in_is_locked_too(client, staff):
    """Fails before the fix: the admin's log-in form could be guessed at for ever."""
    url = reverse("admin:login")
    _fail_five_times(client, "staff", url=url)
    response = _log_in(client, "staff", PASSWORD, url=url)
    assert response.status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302  # still sent to the log-in


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(client, alice, settings):
    """Fails before the fix (no lockout). With TRUSTED_PROXY_COUNT=0 a client cannot escape
    the lock by sending a different X-Forwarded-For each time."""
    for n in range(5):
        _log_in(client, "alice", WRONG, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert _log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_trusted_proxies_the_client_is_read_from_the_right_of_forwarded_for(settings):
    """The address a proxy appended is believed, what the client wrote before it is not."""
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4, 10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "198.51.100.4"
    settings.TRUSTED_PROXY_COUNT = 4  # fewer entries than proxies: the header is not the proxies'
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")) == "10.0.0.2"


def test_behind_a_trusted_proxy_each_client_has_its_own_count(alice, settings):
    """Fails before the fix: everyone behind the proxy shared one address (REMOTE_ADDR is the
    proxy's), so with a lock by address one attacker would have locked out the whole site."""
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client()
    for _ in range(5):
        _log_in(attacker, "alice", WRONG, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert (
        _log_in(attacker, "alice", PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code
        == 429
    )
    other = _log_in(Client(), "alice", PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert other.status_code == 302


# --- the sign-up rate per address ---


def _sign_up(username: str, *, email_address: str = "", **extra):
    client = Client(HTTP_ACCEPT_LANGUAGE=extra.pop("language", "en"))
    data = {
        "username": username,
        "email": email_address,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_terms": "on",
    }
    return client, client.post(reverse("signup"), data, **extra)


def test_a_sixth_sign_up_from_one_address_in_the_window_is_refused(settings):
    """Fails before the fix: any number of accounts (each with the sign-up grant) could be made
    from one address."""
    settings.SIGNUP_RATE_PER_IP = (5, 3600)
    for n in range(5):
        assert _sign_up(f"farm{n}", REMOTE_ADDR="203.0.113.7")[1].status_code == 302
    _, refused = _sign_up("farm5", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429
    assert "Too many accounts were made from your network recently" in refused.content.decode()
    assert not get_user_model().objects.filter(username="farm5").exists()
    _, chinese = _sign_up("farm6", REMOTE_ADDR="203.0.113.7", language="zh-hans")
    assert "你所在的网络最近注册的账号过多" in chinese.content.decode()
    assert not get_user_model().objects.filter(username="farm6").exists()
    # Another address is not affected.
    assert _sign_up("elsewhere", REMOTE_ADDR="198.51.100.9")[1].status_code == 302


def test_the_sign_up_window_slides(settings):
    """Sign-ups older than the window no longer count."""
    settings.SIGNUP_RATE_PER_IP = (1, 1)
    assert _sign_up("first")[1].status_code == 302
    assert _sign_up("second")[1].status_code == 429
    time.sleep(1.2)
    assert _sign_up("third")[1].status_code == 302


def test_an_invalid_form_does_not_use_up_the_allowance(settings):
    """A mistyped password confirmation is not a sign-up: the person can correct it."""
    settings.SIGNUP_RATE_PER_IP = (1, 3600)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    data = {"username": "carol", "password1": PASSWORD, "password2": "other"}
    for _ in range(3):
        assert client.post(reverse("signup"), data).status_code == 200
    assert _sign_up("carol")[1].status_code == 302


# --- e-mail verification over real SMTP ---


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free port, and the site's SMTP backend pointed at it."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.DEFAULT_FROM_EMAIL = "noreply@aigc.example"
    yield inbox
    controller.stop()


@pytest.fixture
def verification(settings, smtp_server):
    settings.SIGNUP_EMAIL_VERIFICATION = "required"
    settings.CREDITS_SIGNUP_GRANT = 30
    return smtp_server


def _link_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https?://[^/\s]+(/accounts/verify/[^\s]+/)", text)
    assert found, text
    return found.group(1)


def test_the_verification_mail_arrives_and_its_link_grants_the_credits_once(verification):
    """Fails before the fix: every account got the sign-up grant at once, no mail was sent,
    and there was no link to open."""
    client, response = _sign_up("carol", email_address="carol@example.com")
    assert response.status_code == 302
    carol = get_user_model().objects.get(username="carol")
    assert credits.balance_of(carol) == 0  # nothing before the link is opened
    assert len(verification.messages) == 1
    message = verification.messages[0]
    assert message["To"] == "carol@example.com"
    assert message["From"] == "noreply@aigc.example"
    assert "Confirm your e-mail address" in message["Subject"]
    link = _link_in(message)

    opened = Client(HTTP_ACCEPT_LANGUAGE="en").get(link)  # any browser: the link needs no log-in
    assert opened.status_code == 200
    assert "30 welcome credits were added" in opened.content.decode()
    assert credits.balance_of(carol) == 30

    again = client.get(link)
    assert again.status_code == 200
    assert "granted once" in again.content.decode()
    assert credits.balance_of(carol) == 30
    assert carol.credit_transactions.filter(reason_code="signup").count() == 1


def test_the_verification_mail_is_in_the_language_of_the_sign_up(verification):
    """Fails before the fix: no mail was sent."""
    _sign_up("chen", email_address="chen@example.com", language="zh-hans")
    message = verification.messages[0]
    assert message["Subject"] == "确认你在画廊 AIGC 的邮箱地址"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "chen，你好" in text
    assert "领取 30 个新人积分" in text


def test_with_verification_the_form_needs_an_address_not_used_before(verification, alice):
    """Fails before the fix: the address was optional, so nothing tied the grant to a mailbox."""
    _, response = _sign_up("carol")
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    alice.email = "Alice@Example.com"
    alice.save()
    _, response = _sign_up("carol", email_address="alice@example.com")
    assert "An account already uses this e-mail address." in response.content.decode()
    assert not get_user_model().objects.filter(username="carol").exists()
    assert verification.messages == []


def test_an_address_earns_the_grant_on_one_account_only(verification):
    """Fails before the fix (no verification). A second account moved to an address that
    already earned the grant gets a link, but no second grant."""
    _sign_up("carol", email_address="carol@example.com")
    Client().get(_link_in(verification.messages[0]))
    client, _ = _sign_up("carol2", email_address="carol2@example.com")
    carol2 = get_user_model().objects.get(username="carol2")
    client.post(reverse("profile"), {"first_name": "", "email": "CAROL@example.com"})
    client.post(reverse("resend_verification"))
    assert len(verification.messages) == 3
    assert verification.messages[2]["To"] == "CAROL@example.com"
    Client().get(_link_in(verification.messages[2]))
    assert credits.balance_of(carol2) == 0


def test_a_link_for_an_old_address_or_a_forged_one_is_refused(verification):
    """Fails before the fix: there were no links."""
    client, _ = _sign_up("carol", email_address="carol@example.com")
    link = _link_in(verification.messages[0])
    client.post(reverse("profile"), {"first_name": "", "email": "other@example.com"})
    carol = get_user_model().objects.get(username="carol")
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(link)
    assert response.status_code == 400
    assert "This link is not valid." in response.content.decode()
    assert Client().get(link[:-3] + "xx/").status_code == 400
    assert credits.balance_of(carol) == 0


def test_the_link_expires(verification, settings):
    """Fails before the fix: there were no links."""
    settings.SIGNUP_VERIFICATION_DAYS = 0
    _sign_up("carol", email_address="carol@example.com")
    time.sleep(1.1)
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(_link_in(verification.messages[0]))
    assert response.status_code == 400
    assert "This link has expired." in response.content.decode()


def test_a_mail_server_that_is_down_leaves_the_account_and_the_profile_sends_again(verification, settings):
    """Fails before the fix: there was no mail to send. Here the SMTP port is closed at sign-up:
    the account is made, the person is told, and the profile page's button sends the link once
    the server answers."""
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = _free_port()  # nothing listens there
    client, response = _sign_up("carol", email_address="carol@example.com")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "We could not send the e-mail just now" in page
    profile = client.get(reverse("profile")).content.decode()
    assert 'data-testid="verify-again"' in profile
    settings.EMAIL_PORT = working_port
    client.post(reverse("resend_verification"))
    assert len(verification.messages) == 1
    Client().get(_link_in(verification.messages[0]))
    assert 'data-testid="verify-again"' not in client.get(reverse("profile")).content.decode()


def test_without_verification_the_grant_comes_at_sign_up_and_no_mail_is_sent(smtp_server, settings):
    settings.CREDITS_SIGNUP_GRANT = 30
    _sign_up("carol", email_address="carol@example.com")
    assert credits.balance_of(get_user_model().objects.get(username="carol")) == 30
    assert smtp_server.messages == []


def test_the_sign_up_grant_is_given_once_per_account(alice):
    """Fails before the fix: grant_signup_credits granted again on every call."""
    first = credits.grant_signup_credits(user=alice)
    assert first is not None
    assert credits.grant_signup_credits(user=alice) is None
    assert alice.credit_transactions.filter(reason_code="signup").count() == 1
