"""Personal access tokens on the profile page: make one (shown once), revoke one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import api_tokens
from ..forms import ApiTokenForm
from ..models import ApiToken
from .accounts import render_profile


@never_cache
@login_required
@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    """Answered with the profile page itself, not a redirect: the token is in this one answer
    (never cached) and nowhere else, not even the session."""
    form = ApiTokenForm(request.POST)
    issued = None
    if form.is_valid():
        try:
            issued = api_tokens.issue(
                owner=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except api_tokens.TokenError as exc:
            form.add_error(None, str(exc))
        else:
            form = ApiTokenForm()
    return render_profile(request, token_form=form, issued=issued)


@login_required
@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(owner=request.user, pk=token_id).first()
    if token is None:
        raise Http404
    api_tokens.revoke(token=token, by=request.user)
    messages.success(request, _("The token “%(name)s” was revoked; it no longer works.") % {"name": token.name})
    return redirect("profile")
