"""Job forms, the live job page and "my jobs"."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import credits, jobs, kinds, media, moderation, reuse
from ..access import get_job_for_user
from ..models import Job


@login_required
def new_job(request: HttpRequest, kind: str) -> HttpResponse:
    job_kind = kinds.get(kind)
    if job_kind is None:
        raise Http404
    form_class = job_kind.form_class
    form_kwargs = {"owner": request.user} if job_kind.takes_source else {}
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, **form_kwargs)
        if form.is_valid():
            job = _create_from_form(request, job_kind.name, form)
            if job is not None:
                return redirect("job_detail", job_id=job.id)
    else:
        initial = reuse.initial_values(kind=job_kind, query=request.GET, owner=request.user)
        form = form_class(initial=initial, **form_kwargs)
    return render(
        request,
        "jobs/new.html",
        {
            "form": form,
            "kind": job_kind,
            "kinds": kinds.KINDS,
            "cost": job_kind.cost,
            "balance": credits.balance_of(request.user),
        },
    )


def _create_from_form(request: HttpRequest, kind: str, form) -> Job | None:
    params = form.to_params()
    prompt = params.get("text", "")
    try:
        if prompt:
            screened = moderation.screen_prompt(prompt)
            params["text"] = prompt = screened.text
            if params.get("negative_prompt"):
                params["negative_prompt"] = moderation.screen_prompt(params["negative_prompt"]).text
            if screened.masked_words:
                messages.info(request, _("Some words in your prompt were masked."))
    except moderation.PromptBlocked as exc:
        form.add_error("prompt", str(exc))
        return None
    source_key = ""
    source_image = None
    if getattr(form, "cleaned_source", None) is not None:
        clean = form.cleaned_source
        source_key = media.put(folder=f"sources/{request.user.pk}", extension=clean.extension, data=clean.data)
        params["source_size"] = [clean.width, clean.height]
    elif form.cleaned_data.get("source_image") is not None:
        source_image = form.cleaned_data["source_image"]
        source_key = source_image.original_key
        params["source_size"] = [source_image.width, source_image.height]
    try:
        return jobs.create_job(
            owner=request.user,
            kind=kind,
            params=params,
            prompt=prompt,
            source_key=source_key,
            source_image=source_image,
        )
    except (credits.InsufficientCredits, jobs.RateLimited) as exc:
        if source_key and source_image is None:
            media.delete([source_key])
        form.add_error(None, str(exc))
        return None


@login_required
def job_detail(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The live job page; an htmx poll gets just the status partial, which stops polling
    once the job has finished."""
    job = get_job_for_user(request, job_id)
    context = {"job": job, "image": getattr(job, "image", None), "poll_ms": 1000}
    if request.htmx:
        return render(request, "jobs/_status.html", context)
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
    return redirect("job_detail", job_id=job.id)
