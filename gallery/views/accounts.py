"""Sign-up, e-mail verification, the lockout page and the profile page; log in/out and password
change are Django's own views (django-axes guards the log-ins)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import api_tokens, credits, notices, signups
from ..clientip import client_ip
from ..forms import ApiTokenForm, NoticePreferenceForm, ProfileForm, SignupForm
from ..models import ApiToken, CreditTransaction, Image, Job
from .navigation import safe_next


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            signups.admit(ip=client_ip(request))
        except signups.TooManySignups as refused:
            form.add_error(None, str(refused))
            return render(request, "registration/signup.html", {"form": form}, status=429)
        with transaction.atomic():
            user = form.save()
            if not signups.verification_required():
                credits.grant_signup_credits(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if not signups.verification_required():
            messages.success(
                request, _("Welcome! You have %(n)d credits to start with.") % {"n": credits.balance_of(user)}
            )
        else:
            _send_verification(request, user)
        return redirect(safe_next(request, reverse("home")))
    return render(request, "registration/signup.html", {"form": form})


def _send_verification(request: HttpRequest, user) -> None:
    if signups.send_verification(user=user):
        messages.info(
            request,
            _("We sent a link to %(email)s: open it to receive your %(n)d welcome credits.")
            % {"email": user.email, "n": settings.CREDITS_SIGNUP_GRANT},
        )
    else:
        messages.warning(
            request, _("We could not send the e-mail just now. Ask for it again on your profile page in a while.")
        )


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed link: grants the welcome credits the first time it is opened. A GET, because
    that is what a mail client opens; opening it again (or a mail scanner opening it first)
    changes nothing."""
    try:
        user, granted = signups.verify(token=token)
    except signups.InvalidLink as refused:
        return render(request, "registration/verify_email.html", {"error": str(refused)}, status=400)
    return render(request, "registration/verify_email.html", {"verified_user": user, "granted": granted})


@login_required
@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    if signups.awaits_verification(user=request.user) and request.user.email:
        _send_verification(request, request.user)
    return redirect("profile")


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE), for the site's log-in and the admin's.
    Every try while locked starts the cool-off again, so the lock ends one cool-off from now."""
    retry_at = timezone.now() + settings.AXES_COOLOFF_TIME
    return render(request, "registration/lockout.html", {"retry_at": retry_at}, status=429)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=request.user)
        if form.is_valid():
            form.save()
            messages.success(request, _("Your profile was saved."))
            return redirect("profile")
    else:
        form = ProfileForm(instance=request.user)
    return render_profile(request, form=form)


def render_profile(
    request: HttpRequest,
    *,
    form: ProfileForm | None = None,
    token_form: ApiTokenForm | None = None,
    issued: api_tokens.Issued | None = None,
    status: int = 200,
) -> HttpResponse:
    """The profile page: the account, its numbers, whether job endings are mailed, and its API
    tokens (`issued`: one just made, shown this once)."""
    stats = {
        "jobs": Job.objects.filter(owner=request.user).count(),
        "images": Image.objects.owned_by(request.user).count(),
        "balance": credits.balance_of(request.user),
        "recent_credits": CreditTransaction.objects.filter(user=request.user)[:5],
        "awaits_verification": bool(request.user.email) and signups.awaits_verification(user=request.user),
    }
    context = {
        "form": form or ProfileForm(instance=request.user),
        "token_form": token_form or ApiTokenForm(),
        "notice_form": NoticePreferenceForm(initial={"email_job_ends": notices.wants_email(user_id=request.user.pk)}),
        "tokens": ApiToken.objects.filter(owner=request.user).order_by("-created_at")[:50],
        "issued": issued,
        "api_docs_url": reverse("api-v1:openapi-view"),
        **stats,
    }
    return render(request, "registration/profile.html", context, status=status)
