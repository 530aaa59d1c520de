"""The studio: every kind's form as a tab, the owner's recent results beside it.

A submission made with htmx answers the form again (with its errors, or ready for the next
one) and the new group of cards out of band, at the top of the results; without JavaScript the
form posts the usual way and the studio opens again. Each unfinished group polls
`studio_group` until all its jobs have ended.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .. import jobs, kinds, notices, studio
from ..access import get_job_for_user
from ..models import Job
from .jobs import blank_form, bound_form, form_context, submit_form
from .navigation import safe_next

POLL_MS = 1500


def _kind(name: str) -> kinds.Kind:
    job_kind = kinds.get(name)
    if job_kind is None:
        raise Http404
    return job_kind


@login_required
def studio_page(request: HttpRequest, kind: str = "txt2img") -> HttpResponse:
    job_kind = _kind(kind)
    notes: list[str] = []
    new_group = None
    if request.method == "POST":
        form = bound_form(request, job_kind)
        started, notes = submit_form(request, form, job_kind)
        if started is not None:
            if not request.htmx:
                for note in notes:
                    messages.info(request, note)
                return redirect("studio_kind", kind=job_kind.name)
            # The form stays as it was sent (people try a prompt again with one word changed);
            # a browser does not keep an upload, so that one is chosen again.
            new_group = studio.group_of(started.job, now=timezone.now())
            notes.insert(
                0,
                ngettext("%(count)d picture started.", "%(count)d pictures started.", len(started.jobs))
                % {"count": len(started.jobs)},
            )
    else:
        form = blank_form(request, job_kind)
    context = {**form_context(request, form, job_kind), "notes": notes, "poll_ms": POLL_MS}
    if request.htmx and request.method == "POST":
        return render(request, "studio/_submitted.html", {**context, "group": new_group})
    context["groups"] = studio.recent_groups(owner=request.user, now=timezone.now())
    return render(request, "studio/studio.html", context)


@login_required
@require_POST
def cancel_batch(request: HttpRequest, batch: UUID) -> HttpResponse:
    """ "Cancel the rest": the batch's jobs still waiting are cancelled and refunded."""
    first = Job.objects.filter(owner=request.user, batch=batch).order_by("batch_index").first()
    if first is None:
        raise Http404
    cancelled = jobs.cancel_batch(owner=request.user, batch=batch, by=request.user)
    if cancelled:
        message = ngettext(
            "%(count)d picture was cancelled and its credits refunded.",
            "%(count)d pictures were cancelled and their credits refunded.",
            len(cancelled),
        ) % {"count": len(cancelled)}
    else:
        message = _("Nothing was left to cancel: the other pictures are already being made.")
    if request.htmx:
        group = studio.group_of(first, now=timezone.now())
        return render(request, "studio/_group.html", {"group": group, "poll_ms": POLL_MS, "note": message})
    messages.info(request, message)
    return redirect(safe_next(request, reverse("studio_kind", args=[first.kind])))


@login_required
@require_POST
def cancel_card(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """A card's "Cancel" with htmx: the job is cancelled and refunded (jobs.cancel, as on the job
    page), and its group comes back as it is now. Without JavaScript the card posts to the job
    page's cancel instead, which opens the studio again."""
    job = get_job_for_user(request, job_id)
    try:
        jobs.cancel(job=job, by=request.user)
        note = _("The job was cancelled and your credits refunded.")
    except jobs.JobNotCancellable as exc:
        note = str(exc)
    job.refresh_from_db()
    group = studio.group_of(job, now=timezone.now())
    return render(request, "studio/_group.html", {"group": group, "poll_ms": POLL_MS, "note": note})


@login_required
def studio_group(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """One group of cards as it is now (the poll of an unfinished group)."""
    job = get_job_for_user(request, job_id)
    group = studio.group_of(job, now=timezone.now())
    if group.is_finished:  # the cards show every end: the inbox need not tell them again
        notices.seen_jobs(user=request.user, job_ids=[card.job.id for card in group.cards])
    return render(request, "studio/_group.html", {"group": group, "poll_ms": POLL_MS})
