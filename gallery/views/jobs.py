"""Job forms, the live job page and "my jobs"."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import credits, jobs, media, moderation
from ..access import get_job_for_user
from ..forms import JOB_FORMS
from ..models import Image, Job, JobKind

KIND_TITLES = dict(JobKind.choices)


def _prefill(request: HttpRequest, kind: str) -> dict:
    """Initial values from the query string: "use again", "use this prompt", "variation"."""
    form_class = JOB_FORMS[kind]
    initial = {name: request.GET[name] for name in form_class.base_fields if name in request.GET}
    if "from_image" in request.GET:
        try:
            image = Image.objects.get(id=request.GET["from_image"], owner=request.user)
        except (Image.DoesNotExist, ValueError, ValidationError):  # unknown, not theirs, or not a UUID
            image = None
        if image is not None:
            initial["source_image"] = image.pk
    return initial


@login_required
def new_job(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in JOB_FORMS:
        raise Http404
    form_class = JOB_FORMS[kind]
    kwargs = {"owner": request.user} if kind != "txt2img" else {}
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            job = _create_from_form(request, kind, form)
            if job is not None:
                return redirect("job_detail", job_id=job.id)
    else:
        form = form_class(initial=_prefill(request, kind), **kwargs)
    return render(
        request,
        "jobs/new.html",
        {
            "form": form,
            "kind": kind,
            "kind_title": KIND_TITLES[kind],
            "kinds": JobKind.choices,
            "cost": credits.cost_of(kind),
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
