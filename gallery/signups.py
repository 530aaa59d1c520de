"""Who may make an account, and when it gets its welcome credits.

Two brakes on people farming accounts for the sign-up grant: at most SIGNUP_RATE_PER_IP
accounts per address per window (`admit`), and, with SIGNUP_EMAIL_VERIFICATION=required, the
grant waits until a link mailed to the account's address is opened (`send_verification`,
`verify`): once per account, and not again for an address that already earned it on another
account. The link is signed with SECRET_KEY (django.core.signing), carries the account and the
address it was sent to, and expires after SIGNUP_VERIFICATION_DAYS; it does not depend on the
password or the last log-in, so logging in before opening it does not spoil it.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import credits
from .models import CreditTransaction, LedgerReason, SignupAttempt

log = logging.getLogger(__name__)
SALT = "gallery.signups.verify-email"


class SignupRefused(Exception):
    """A sign-up or a verification that cannot go ahead; the message is safe to show the user."""


class TooManySignups(SignupRefused):
    pass


class InvalidLink(SignupRefused):
    pass


def verification_required() -> bool:
    return settings.SIGNUP_EMAIL_VERIFICATION == "required"


def admit(*, ip: str) -> None:
    """Count one sign-up from `ip`, or raise TooManySignups when the window is full.

    The row is written and committed before counting (call this outside a transaction): two
    sign-ups at once both see each other, so a race can refuse one too many, never admit one."""
    limit, window = settings.SIGNUP_RATE_PER_IP
    now = timezone.now()
    since = now - timedelta(seconds=window)
    SignupAttempt.objects.filter(created_at__lt=since).delete()
    attempt = SignupAttempt.objects.create(ip=ip, created_at=now)
    if SignupAttempt.objects.filter(ip=ip, created_at__gte=since).count() > limit:
        attempt.delete()
        raise TooManySignups(_("Too many accounts were made from your network recently. Please try again later."))


def email_in_use(email: str) -> bool:
    return get_user_model().objects.filter(email__iexact=email.strip()).exists()


def awaits_verification(*, user: AbstractBaseUser) -> bool:
    """True while this account's welcome credits wait for its e-mail link."""
    return verification_required() and settings.CREDITS_SIGNUP_GRANT > 0 and not credits.has_signup_grant(user=user)


def verification_url(*, user: AbstractBaseUser) -> str:
    token = signing.dumps({"user": user.pk, "email": user.email.strip().lower()}, salt=SALT)
    # SITE_URL, not the request's Host header: a forged Host would otherwise put its own
    # address in the link we mail.
    return settings.SITE_URL + reverse("verify_email", args=[token])


def send_verification(*, user: AbstractBaseUser) -> bool:
    """Mail the link, in the language active now. False (and logged) when the mail server
    refused it or could not be reached: the account stays, and the profile page sends again."""
    context = {
        "user": user,
        "url": verification_url(user=user),
        "credits": settings.CREDITS_SIGNUP_GRANT,
        "days": settings.SIGNUP_VERIFICATION_DAYS,
    }
    subject = _("Confirm your e-mail address for 画廊 AIGC")
    body = render_to_string("registration/verify_email.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except (smtplib.SMTPException, OSError):
        log.exception("could not send the verification mail to user %s", user.pk)
        return False
    return True


def verify(*, token: str) -> tuple[AbstractBaseUser, CreditTransaction | None]:
    """The account a link names, and the welcome credits it granted now (None when they were
    granted before, or when the address already earned them on another account)."""
    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.SIGNUP_VERIFICATION_DAYS))
    except signing.SignatureExpired:
        raise InvalidLink(_("This link has expired. Log in and ask for a new one on your profile page.")) from None
    except signing.BadSignature:
        raise InvalidLink(_("This link is not valid.")) from None
    user = get_user_model().objects.filter(pk=data.get("user"), is_active=True).first()
    if user is None or user.email.strip().lower() != data.get("email"):
        raise InvalidLink(_("This link is not valid."))
    earned_elsewhere = (
        CreditTransaction.objects.filter(reason_code=LedgerReason.SIGNUP, user__email__iexact=user.email.strip())
        .exclude(user=user)
        .exists()
    )
    if earned_elsewhere:
        return user, None
    return user, credits.grant_signup_credits(user=user)
