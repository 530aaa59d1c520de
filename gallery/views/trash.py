"""The trash page and its actions: restore (one, many, or the last deletion: "Undo") and empty.

Thin ways in: the owner is request.user, gallery/trash.py does the rest and ignores ids that
are not the user's or not in the trash.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .. import pagination, trash
from .navigation import safe_next

# The ids of the user's last deletion, for the "Undo" button in its message.
UNDO_SESSION_KEY = "trash_undo"


def trashed_message(request: HttpRequest, ids: list[UUID]) -> None:
    """Say what went to the trash, with an "Undo" button (a form in the message: base.html
    draws it for messages tagged "undo"), and remember the ids for it."""
    if not ids:
        messages.error(request, _("Nothing was deleted: those pictures are not in your gallery."))
        return
    request.session[UNDO_SESSION_KEY] = [str(value) for value in ids]
    messages.success(
        request,
        ngettext(
            "Moved %(count)d picture to the trash.",
            "Moved %(count)d pictures to the trash.",
            len(ids),
        )
        % {"count": len(ids)},
        extra_tags="undo",
    )


def _restored_message(request: HttpRequest, restored: list[UUID]) -> None:
    if restored:
        messages.success(
            request,
            ngettext("Restored %(count)d picture.", "Restored %(count)d pictures.", len(restored))
            % {"count": len(restored)},
        )
    else:
        messages.error(request, _("Nothing to restore: those pictures are not in the trash."))


@login_required
@require_GET
def trash_page(request: HttpRequest) -> HttpResponse:
    """The user's trashed pictures, newest first, each with the day it goes for good."""
    page = pagination.paginate(
        trash.trashed_images(owner=request.user), after=request.GET.get("after"), before=request.GET.get("before")
    )
    for image in page.images:
        image.purge_date = trash.purge_date(image)
    return render(
        request,
        "gallery/trash.html",
        {
            "page": page,
            "retention_days": trash.retention().days,
            "total": trash.trashed_images(owner=request.user).count(),
        },
    )


@login_required
@require_POST
def trash_restore(request: HttpRequest) -> HttpResponse:
    """image=<id>...: back to the gallery and their albums."""
    restored = trash.restore_images(owner=request.user, images=request.POST.getlist("image"))
    _restored_message(request, restored)
    return redirect(safe_next(request, reverse("trash")))


@login_required
@require_POST
def trash_undo(request: HttpRequest) -> HttpResponse:
    """The "Undo" of the last deletion's message: restores what it moved to the trash."""
    ids = request.session.pop(UNDO_SESSION_KEY, [])
    _restored_message(request, trash.restore_images(owner=request.user, images=ids))
    return redirect(safe_next(request, reverse("gallery")))


@login_required
@require_POST
def trash_empty(request: HttpRequest) -> HttpResponse:
    """Delete every picture in the user's trash for good (the page asks first, in a fold)."""
    result = trash.empty_trash(owner=request.user)
    request.session.pop(UNDO_SESSION_KEY, None)
    messages.success(
        request,
        ngettext("Deleted %(count)d picture for good.", "Deleted %(count)d pictures for good.", result.deleted)
        % {"count": result.deleted},
    )
    if result.kept_in_use:
        messages.warning(
            request,
            ngettext(
                "%(count)d picture stays in the trash because a running job still uses it.",
                "%(count)d pictures stay in the trash because running jobs still use them.",
                result.kept_in_use,
            )
            % {"count": result.kept_in_use},
        )
    return redirect("trash")
