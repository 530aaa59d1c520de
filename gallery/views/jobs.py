"""Job forms, the live job page and "my jobs"."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import credits, galleries, imaging, intake, jobs, kinds, moderation, notices, presets, reuse, waiting
from ..access import get_job_for_user
from ..models import ApiSubmission, Job
from .navigation import safe_next


def submit_form(request: HttpRequest, form, job_kind: kinds.Kind) -> tuple[intake.Started | None, list[str]]:
    """Start the job(s) of a valid-looking form: the started jobs and the notes for the user, or
    None with the reason added to the form. The job form page and the studio both submit here."""
    if not form.is_valid():
        return None, []
    try:
        started = intake.start_from_form(owner=request.user, kind=job_kind, form=form)
    except moderation.PromptBlocked as exc:
        form.add_error("prompt", str(exc))
    except imaging.ImageRejected as exc:
        form.add_error("source_upload", str(exc))
    except intake.SourceTooLarge as exc:
        form.add_error(None, str(exc))
        offer_scale_down(request, form, exc)
    except (credits.InsufficientCredits, jobs.RateLimited) as exc:
        form.add_error(None, str(exc))
    else:
        notes = []
        if started.masked_words:
            notes.append(_("Some words in your prompt were masked."))
        if started.scaled:
            (w, h), (fw, fh) = started.scaled
            notes.append(
                _("Your picture (%(w)d×%(h)d) was scaled to %(fw)d×%(fh)d to fit; its shape is kept.")
                % {"w": w, "h": h, "fw": fw, "fh": fh}
            )
        return started, notes
    return None, []


def offer_scale_down(request: HttpRequest, form, refused: intake.SourceTooLarge) -> None:
    """Beside the refusal, the button that sends the form again asking for the source scaled to
    the largest side taken; a refused upload goes back as the signed note of where it is kept,
    so nothing is uploaded twice."""
    if "scale_down" not in form.fields:
        return
    form.offer_scale_down = refused.max_side
    if refused.kept_key:
        form.data = form.data.copy()
        form.data[form.add_prefix("kept_source")] = intake.keep_token(key=refused.kept_key, owner=request.user)


def form_context(request: HttpRequest, form, job_kind: kinds.Kind) -> dict:
    """What a page with a job form shows beside the fields: the kinds as tabs, cost, balance, presets."""
    counts = [n for n, _label in form.fields["count"].choices] if "count" in form.fields else [1]
    try:
        chosen = int(form["count"].value()) if "count" in form.fields else 1
    except (TypeError, ValueError):
        chosen = 1
    return {
        "form": form,
        "kind": job_kind,
        "kinds": kinds.KINDS,
        "cost": job_kind.cost,
        # What each count of pictures costs; the browser shows the one chosen (static/js/site.js).
        "batch_costs": [(n, n * job_kind.cost, n == chosen) for n in counts],
        "aspects": presets.ASPECTS,
        "styles": presets.STYLES,
        "keywords": presets.KEYWORDS,
        "prompt_separator": presets.separator(),
    }


def blank_form(request: HttpRequest, job_kind: kinds.Kind):
    """The kind's form, filled from a "use again" link's query when there is one."""
    initial = reuse.initial_values(kind=job_kind, query=request.GET, owner=request.user)
    return job_kind.form_class(initial=initial, **form_kwargs(request, job_kind))


def bound_form(request: HttpRequest, job_kind: kinds.Kind):
    return job_kind.form_class(request.POST, request.FILES, **form_kwargs(request, job_kind))


def form_kwargs(request: HttpRequest, job_kind: kinds.Kind) -> dict:
    return {"owner": request.user} if job_kind.takes_source else {}


@login_required
def new_job(request: HttpRequest, kind: str) -> HttpResponse:
    job_kind = kinds.get(kind)
    if job_kind is None:
        raise Http404
    if request.method == "POST":
        form = bound_form(request, job_kind)
        started, notes = submit_form(request, form, job_kind)
        if started is not None:
            for note in notes:
                messages.info(request, note)
            if len(started.jobs) > 1:  # a batch is watched in the studio, all its pictures together
                return redirect("studio_kind", kind=job_kind.name)
            return redirect("job_detail", job_id=started.job.id)
    else:
        form = blank_form(request, job_kind)
    return render(request, "jobs/new.html", form_context(request, form, job_kind))


@login_required
def job_detail(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The live job page; an htmx poll gets just the status partial, which stops polling
    once the job has finished."""
    job = get_job_for_user(request, job_id)
    context = {
        "job": job,
        "image": image if (image := getattr(job, "image", None)) and image.is_visible_to(request.user) else None,
        "poll_ms": 1000,
        "retryable_statuses": jobs.RETRYABLE_STATUSES,
        "can_cancel": jobs.can_cancel(job),
    }
    if job.is_finished:
        notices.seen_jobs(user=request.user, job_ids=[job.id])
    else:
        context["wait"] = waiting.of(job, now=timezone.now())
    if request.htmx:
        return render(request, "jobs/_status.html", context)
    context["api_submission"] = ApiSubmission.objects.filter(job=job).first()
    if context["api_submission"] is not None:
        context["webhook_deliveries"] = job.webhook_deliveries.prefetch_related("attempt_log").order_by("created_at")
    return render(request, "jobs/detail.html", context)


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    queryset = Job.objects.filter(owner=request.user).select_related("image").order_by("-created_at")
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    return render(request, "jobs/list.html", {"page": page})


@login_required
@require_POST
def cancel_job(request: HttpRequest, job_id: UUID) -> HttpResponse:
    job = get_job_for_user(request, job_id)
    try:
        jobs.cancel(job=job, by=request.user)
        messages.success(request, _("The job was cancelled and your credits refunded."))
    except jobs.JobNotCancellable as exc:
        messages.error(request, str(exc))
    return redirect(safe_next(request, reverse("job_detail", args=[job.id])))


@login_required
@require_POST
def retry_job(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """ "Try again": a new job with the same parameters, charged as usual; its page opens."""
    job = get_job_for_user(request, job_id)
    try:
        new_job = jobs.retry(job_id=job.id, by=request.user)
    except (jobs.JobError, credits.CreditError) as exc:
        messages.error(request, str(exc))
        return redirect("job_detail", job_id=job.id)
    return redirect("job_detail", job_id=new_job.id)


@login_required
def prompt_history(request: HttpRequest) -> HttpResponse:
    """The prompts the user wrote before, searchable, each one click from the form again."""
    words = galleries.search_text(request.GET.get("q", ""))
    entries = [
        {**entry, "use_url": reuse.prompt_url(entry["prompt"])}
        for entry in jobs.recent_prompts(owner=request.user, words=words)
    ]
    return render(request, "jobs/prompts.html", {"entries": entries, "q": words})
