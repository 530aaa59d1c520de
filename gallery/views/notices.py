"""The inbox: the list of a user's notices, opening one, "mark all read", the count a background
tab polls, and the e-mail choice on the profile page. The rules are gallery/notices.py's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import notices
from ..forms import NoticePreferenceForm
from ..models import Notice

PAGE_SIZE = 30


@login_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(notices.inbox(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notices/inbox.html",
        {"page": page, "shown": [notices.describe(notice) for notice in page.object_list]},
    )


@login_required
@require_GET
def notice_open(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Opening a notice marks it read and leads where it points. A GET, because a link is what
    the inbox, the browser's notification and the e-mail open; reading twice changes nothing."""
    try:
        notice = notices.mark_read(user=request.user, notice_id=notice_id)
    except Notice.DoesNotExist:
        raise Http404 from None
    return redirect(notices.describe(notice).target)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notices.mark_all_read(user=request.user)
    return redirect("inbox")


@never_cache
@require_GET
def unread_json(request: HttpRequest) -> JsonResponse:
    """What a tab in the background polls. Not logged in: nothing unread (a 200, so a tab left
    open after logging out polls quietly)."""
    if not request.user.is_authenticated:
        return JsonResponse({"unread": 0, "latest": []})
    return JsonResponse(notices.latest_json(user=request.user))


@login_required
@require_POST
def notice_settings(request: HttpRequest) -> HttpResponse:
    form = NoticePreferenceForm(request.POST)
    if form.is_valid():
        on = form.cleaned_data["email_job_ends"]
        notices.set_email(user=request.user, on=on, language=get_language() or "")
        if on and not request.user.email:
            messages.warning(request, _("Add an e-mail address above, or there is nowhere to send it."))
        else:
            messages.success(request, _("Your notice settings were saved."))
    return redirect("profile")
