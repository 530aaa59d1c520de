"""/api/v1/jobs: create a job of each kind, get, list and cancel jobs, and see their webhooks.

A create is the site's job form and intake, reached over JSON (text→image) or multipart
(the kinds that start from a picture: an upload in `source_upload`, or `source_image`, the id
of one of your pictures), with the same validation, moderation, limits and charge.
"""

import json
from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from .. import credits, idempotency, imaging, intake, jobs, kinds, moderation, pagination, representations, webhooks
from ..models import ApiSubmission, Job, JobStatus, WebhookDelivery
from ..views.jobs import form_kwargs
from . import form_schemas, problems, schemas

router = Router(tags=["jobs"])

PROBLEM_RESPONSES = {code: problems.Problem for code in (400, 401, 402, 403, 404, 409, 413, 422, 429)}
READ_PROBLEMS = {code: problems.Problem for code in (401, 404, 422)}
WEBHOOK_FIELD = {
    "webhook_url": (
        str | None,
        form_schemas.pydantic.Field(
            None,
            json_schema_extra={"maxLength": 2000, "description": "POSTed the job's JSON, signed, when it ends."},
        ),
    )
}


def _created(request: HttpRequest, *, kind: kinds.Kind, payload: Any, upload: UploadedFile | None) -> HttpResponse:
    """Validate with the kind's form, then start the job (idempotently when a key is sent)."""
    if not request.api_token.can_create:
        return problems.problem("forbidden", _("This token may only read; make one that may create jobs."))
    fields = form_schemas.form_data(payload)
    webhook_url = fields.pop("webhook_url", "") or ""
    files = {"source_upload": upload} if upload is not None else {}
    form = kind.form_class(data=fields, files=files, **form_kwargs(request, kind))
    if not form.is_valid():
        return problems.problem(
            "invalid", _("The request is not valid; see errors."), errors=problems.form_errors(form)
        )
    if webhook_url:
        try:
            webhooks.check_url(webhook_url)
        except webhooks.WebhookUrlRefused as exc:
            return problems.problem("invalid", str(exc), errors=[{"field": "webhook_url", "message": str(exc)}])

    key = request.headers.get("Idempotency-Key")
    claimed = None
    if key is not None:
        try:
            idempotency.check_key(key)
        except idempotency.KeyInvalid:
            return problems.problem("bad-request", _("An Idempotency-Key is 1 to 255 printable ASCII characters."))
        data = upload.read() if upload is not None else b""
        if upload is not None:
            upload.seek(0)
        fingerprint = idempotency.fingerprint(
            operation=f"create {kind.name}",
            fields={**fields, "webhook_url": webhook_url},
            files={"source_upload": data} if upload is not None else {},
        )
        try:
            found = idempotency.claim(owner=request.user, key=key, fingerprint=fingerprint)
        except idempotency.KeyReused:
            return problems.problem(
                "idempotency-key-reused", _("This Idempotency-Key was used with a different request.")
            )
        except idempotency.KeyInProgress:
            return problems.problem(
                "idempotency-key-in-use",
                _("A request with this Idempotency-Key is still being handled."),
                Retry_After="1",
            )
        if isinstance(found, idempotency.Replay):
            response = _json(found.body, status=found.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        claimed = found

    try:
        job, refused = _start(request, kind=kind, form=form, webhook_url=webhook_url)
    except BaseException:
        if claimed is not None:
            idempotency.release(claimed)
        raise
    if job is None:
        if claimed is not None:
            idempotency.release(claimed)
        return refused
    body = representations.job_json(job)
    if claimed is not None:
        idempotency.complete(claimed, status_code=201, body=body, job=job)
    return _json(body, status=201)


def _start(
    request: HttpRequest, *, kind: kinds.Kind, form: Any, webhook_url: str
) -> tuple[Job, None] | tuple[None, HttpResponse]:
    """The new job, or no job and the problem that refused it."""
    try:
        with transaction.atomic():
            started = intake.start_from_form(owner=request.user, kind=kind, form=form)
            ApiSubmission.objects.create(
                job=started.job,
                token=request.api_token,
                webhook_url=webhook_url,
                language=translation.get_language() or "",
            )
    except moderation.PromptBlocked as exc:
        return None, problems.problem("prompt-blocked", str(exc), errors=[{"field": "prompt", "message": str(exc)}])
    except imaging.ImageRejected as exc:
        return None, problems.problem("invalid", str(exc), errors=[{"field": "source_upload", "message": str(exc)}])
    except intake.SourceTooLarge as exc:
        return None, problems.problem("invalid", str(exc), errors=[{"field": "source", "message": str(exc)}])
    except credits.InsufficientCredits as exc:
        return None, problems.problem("insufficient-credits", str(exc))
    except jobs.RateLimited as exc:
        return None, problems.problem("rate-limited", str(exc), Retry_After=str(exc.retry_after))
    return started.job, None


def _json(body: Any, *, status: int) -> HttpResponse:
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


def _add_create_endpoint(kind: kinds.Kind) -> None:
    body_schema = form_schemas.schema_from_form(
        kind.form_class,
        name=f"{kind.name.capitalize()}Request",
        extra_fields=WEBHOOK_FIELD,
        strict=not kind.takes_source,  # text→image takes JSON; the others multipart
        # One job a request: a batch is several requests (each with its own Idempotency-Key).
        # kept_source is the web form's own note of an upload it refused (a page round trip).
        exclude=("count", "kept_source"),
    )
    responses = {201: schemas.JobOut, **PROBLEM_RESPONSES}
    with translation.override("en"):
        summary = f"New job: {kind.label}"
    if kind.takes_source:

        def create(request, payload: Form[body_schema], source_upload: File[UploadedFile] = None):  # type: ignore[valid-type]
            return _created(request, kind=kind, payload=payload, upload=source_upload)
    else:

        def create(request, payload: body_schema):  # type: ignore[valid-type]
            return _created(request, kind=kind, payload=payload, upload=None)

    router.post(f"/{kind.name}", response=responses, summary=summary, operation_id=f"create_{kind.name}")(create)


for _kind in kinds.KINDS:
    _add_create_endpoint(_kind)


def _own_job(request: HttpRequest, job_id: UUID) -> Job:
    return get_object_or_404(Job.objects.select_related("api_submission", "owner"), id=job_id, owner=request.user)


@router.get("/{job_id}", response={200: schemas.JobOut, **READ_PROBLEMS})
def get_job(request, job_id: UUID):
    """A job: its status, where it stands while it waits, its picture when done."""
    return _json(representations.job_json(_own_job(request, job_id)), status=200)


class JobFilters(Schema):
    status: JobStatus | None = None
    kind: str | None = None
    after: str | None = None
    limit: int = form_schemas.pydantic.Field(25, ge=1, le=100)


@router.get("", response={200: schemas.JobPage, 401: problems.Problem, 422: problems.Problem})
def list_jobs(request, filters: Query[JobFilters]):
    """Your jobs, newest first; pass `next_cursor` as `after` for the next page."""
    queryset = Job.objects.filter(owner=request.user).select_related("api_submission", "image", "owner")
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    page = pagination.paginate(queryset, after=filters.after, limit=filters.limit)
    items = [representations.job_json(job, image=getattr(job, "image", None)) for job in page.images]
    return _json({"items": items, "next_cursor": page.next_cursor}, status=200)


@router.post("/{job_id}/cancel", response={200: schemas.JobOut, **PROBLEM_RESPONSES})
def cancel_job(request, job_id: UUID):
    """Cancel a job that is still queued, or one with the image service while it can still
    interrupt it (it waits in the service's queue); its credits are refunded."""
    if not request.api_token.can_create:
        return problems.problem("forbidden", _("This token may only read; make one that may create jobs."))
    job = _own_job(request, job_id)
    try:
        job = jobs.cancel(job=job, by=request.user)
    except jobs.JobNotCancellable as exc:
        return problems.problem("conflict", str(exc))
    return _json(representations.job_json(_own_job(request, job.id)), status=200)


@router.get("/{job_id}/webhooks", response={200: list[schemas.WebhookDeliveryOut], **READ_PROBLEMS})
def job_webhooks(request, job_id: UUID):
    """Every webhook delivery of a job, with each attempt and the answer it got."""
    job = _own_job(request, job_id)
    deliveries = WebhookDelivery.objects.filter(job=job).prefetch_related("attempt_log").order_by("created_at")
    return _json([representations.webhook_json(delivery) for delivery in deliveries], status=200)
