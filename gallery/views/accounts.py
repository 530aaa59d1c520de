"""Sign-up and the profile page; log in/out and password change are Django's own views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import credits
from ..forms import ProfileForm, SignupForm
from ..models import CreditTransaction, Image, Job
from .navigation import safe_next


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                user = form.save()
                credits.grant_signup_credits(user=user)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Welcome! You have %(n)d credits to start with.") % {"n": credits.balance_of(user)}
            )
            return redirect(safe_next(request, reverse("home")))
    else:
        form = SignupForm()
    return render(request, "registration/signup.html", {"form": form})


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
    stats = {
        "jobs": Job.objects.filter(owner=request.user).count(),
        "images": Image.objects.filter(owner=request.user).count(),
        "balance": credits.balance_of(request.user),
        "recent_credits": CreditTransaction.objects.filter(user=request.user)[:5],
    }
    return render(request, "registration/profile.html", {"form": form, **stats})
