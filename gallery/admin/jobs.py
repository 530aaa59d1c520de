"""Jobs in the admin: read-only, with their callbacks, ledger rows and audit entries inline;
refund and retry as actions."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import credits, jobs
from ..models import AuditEntry, CallbackDelivery, CreditTransaction, Image, Job
from .common import ReadOnlyAdmin, ReadOnlyInline, ReasonForm, admin_link, ask, pretty_json, thumbnail


class CallbackDeliveryInline(ReadOnlyInline):
    model = CallbackDelivery
    fields = ("received_at", "outcome", "success", "safe", "body_json")
    readonly_fields = fields
    verbose_name_plural = _("Callback deliveries (raw, as received)")

    @admin.display(description=_("Body"))
    def body_json(self, obj: CallbackDelivery):
        return pretty_json(obj.body)


class JobLedgerInline(ReadOnlyInline):
    model = CreditTransaction
    fields = ("created_at", "kind", "amount", "balance_after", "reason_code", "reason", "is_automatic", "actor")
    readonly_fields = fields
    verbose_name_plural = _("Ledger rows of this job")


class JobAuditInline(ReadOnlyInline):
    model = AuditEntry
    fields = ("created_at", "action", "actor", "data_json")
    readonly_fields = fields
    verbose_name_plural = _("Audit entries of this job")

    @admin.display(description=_("Data"))
    def data_json(self, obj: AuditEntry):
        return pretty_json(obj.data)


class SavingFilter(admin.SimpleListFilter):
    """Jobs whose picture has arrived and is not stored yet (Job.is_saving): ingest is retrying,
    usually because our object store is down. They are not stuck at the provider, and nothing
    is refunded; they finish by themselves once the store is back."""

    title = _("saving")
    parameter_name = "saving"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return [("yes", _("saving (callback received, picture not stored yet)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.saving() if self.value() == "yes" else queryset


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "short_id", "owner", "kind", "status", "cost", "refunded", "provider_task_id")
    list_filter = (
        "status",
        SavingFilter,
        "kind",
        ("created_at", admin.DateFieldListFilter),
        ("owner", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("prompt", "provider_task_id", "owner__username")
    search_help_text = _("Prompt, provider task id, owner's username, or a job id.")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    actions = ["refund_with_reason", "retry"]
    inlines = [CallbackDeliveryInline, JobLedgerInline, JobAuditInline]
    fieldsets = (
        (None, {"fields": ("id", "owner", "kind", "status", "cost", "refund_state", "prompt", "image_link")}),
        (
            _("Provider"),
            {
                "fields": (
                    "provider_task_id",
                    "submit_attempts",
                    "provider_duration",
                    "error_reason",
                    "source_key",
                    "params_json",
                    "provider_response_json",
                )
            },
        ),
        (
            _("Times"),
            {"fields": ("created_at", "submit_claimed_at", "submitted_at", "callback_received_at", "finished_at")},
        ),
    )
    # Everything shown is read-only: the fields are exactly those of the fieldsets.
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        refunds = CreditTransaction.objects.filter(job=OuterRef("pk"), kind=CreditTransaction.Kind.REFUND)
        return super().get_queryset(request).annotate(has_refund=Exists(refunds))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        # The backlog /healthz/ready reports, where staff look (templates/admin/gallery/job/change_list.html).
        backlog = {"saving_count": Job.objects.saving().count()}
        return super().changelist_view(request, extra_context={**backlog, **(extra_context or {})})

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Job], search_term: str):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            job_id = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(id=job_id), may_have_duplicates

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gallery.change_job")

    has_retry_permission = has_refund_permission

    @admin.display(description=_("Job"), ordering="id")
    def short_id(self, obj: Job) -> str:
        return str(obj.id)[:8]

    @admin.display(description=_("Refunded"), boolean=True, ordering="has_refund")
    def refunded(self, obj: Job) -> bool:
        return bool(getattr(obj, "has_refund", False))

    @admin.display(description=_("Refund"))
    def refund_state(self, obj: Job):
        row = obj.credit_transactions.filter(kind=CreditTransaction.Kind.REFUND).select_related("actor").first()
        if row is None:
            return gettext("not refunded")
        who = row.actor.get_username() if row.actor else gettext("automatic")
        return f"+{row.amount} · {who} · {row.reason}"

    @admin.display(description=_("Image"))
    def image_link(self, obj: Job):
        image = Image.objects.filter(job=obj).first()
        return admin_link(image, thumbnail(image)) if image else "—"

    @admin.display(description=_("Parameters (raw)"))
    def params_json(self, obj: Job):
        return pretty_json(obj.params)

    @admin.display(description=_("Provider response (raw)"))
    def provider_response_json(self, obj: Job):
        return pretty_json(obj.provider_response)

    @admin.action(description=_("Refund with reason…"), permissions=["refund"])
    def refund_with_reason(self, request: HttpRequest, queryset: QuerySet[Job]):
        """Ask for a reason, then refund each selected job once (credits.refund_by_staff).

        A job refunded before (automatically or by staff) gets no second row; the message
        says so. The job's status does not change: a refund is a ledger row."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = already = uncharged = 0
            for job in queryset.select_related("owner"):
                result = credits.refund_by_staff(job=job, reason=form.cleaned_data["reason"], actor=request.user)
                if result.created:
                    done += 1
                elif result.transaction is not None:
                    already += 1
                else:
                    uncharged += 1
            if done:
                self.message_user(
                    request, ngettext("Refunded %d job.", "Refunded %d jobs.", done) % done, messages.SUCCESS
                )
            if already:
                self.message_user(
                    request,
                    ngettext(
                        "%d job was already refunded; nothing was written.",
                        "%d jobs were already refunded; nothing was written.",
                        already,
                    )
                    % already,
                    messages.WARNING,
                )
            if uncharged:
                self.message_user(
                    request,
                    ngettext("%d job was never charged.", "%d jobs were never charged.", uncharged) % uncharged,
                    messages.WARNING,
                )
            return None
        return ask(
            self,
            request,
            queryset,
            action="refund_with_reason",
            title=gettext("Refund jobs"),
            intro=gettext(
                "Each selected job's owner gets back what the job was charged, once. Jobs already refunded "
                "are left alone. Your name and the reason are recorded."
            ),
            submit=gettext("Refund"),
            form=form,
        )

    @admin.action(description=_("Retry as a new job (charged normally)…"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Job]):
        """Re-run failed or timed-out jobs: each becomes a NEW job with the same parameters for
        the same owner, debited its normal cost (see jobs.retry for why that is no
        double charge: the original was refunded). Owners without the credits are reported
        and nothing is created for them; grant credits first if the retry should be free."""
        if "apply" not in request.POST:
            return ask(
                self,
                request,
                queryset,
                action="retry",
                title=gettext("Retry jobs"),
                intro=gettext(
                    "Each selected failed or timed-out job is submitted again as a new job for the same owner. "
                    "The original was refunded, so the new job is charged its normal cost from the owner's "
                    "balance, as an ordinary ledger row they can see. To make a retry free, grant the credits "
                    "first (Credit accounts → Grant or adjust). Each job can be retried once."
                ),
                submit=gettext("Retry"),
            )
        for job in queryset:
            try:
                new_job = jobs.retry(job_id=job.id, by=request.user)
            except (jobs.JobError, credits.CreditError) as exc:
                self.message_user(request, f"{str(job.id)[:8]}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    format_html(
                        "{}: {} {}",
                        str(job.id)[:8],
                        gettext("retried as"),
                        admin_link(new_job, str(new_job.id)[:8]),
                    ),
                    messages.SUCCESS,
                )
        return None
