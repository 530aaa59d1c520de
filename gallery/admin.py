"""Staff tools in the Django admin: jobs, the ledger, credits, moderation and the audit trail.

Admin actions are ways in (STYLE.md section 1): they ask for what they need on an
intermediate page (a reason, a confirmation), then call one domain function per object —
credits.refund_by_staff, credits.grant / credits.adjust_by_staff, jobs.retry_by_staff,
moderation.resolve_report, moderation.set_image_hidden — which writes the audit entry in the
same transaction. Jobs, ledger rows, accounts and audit entries are read-only here: their
rows are written only by gallery.jobs and gallery.credits.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import audit, credits, jobs, media, moderation
from .models import AuditEntry, CallbackDelivery, CreditAccount, CreditTransaction, Image, Job, Report, SensitiveWord

User = get_user_model()

admin.site.site_header = _("Gallery AIGC staff")
admin.site.site_title = _("Gallery AIGC staff")
admin.site.index_title = _("Jobs, credits and moderation")


# --- helpers ---


def pretty_json(value: Any):
    if value in (None, "", {}, []):
        return "—"
    return format_html('<pre class="json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


def thumbnail(image: Image | None, size: int = 64):
    if image is None or not (image.thumb_key or image.original_key):
        return "—"
    return format_html(
        '<img src="{}" width="{}" height="{}" style="object-fit:cover;border-radius:6px" alt="" loading="lazy">',
        media.url(image.thumb_key or image.original_key),
        size,
        size,
    )


def admin_link(obj: Any, text: Any = None):
    if obj is None:
        return "—"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff with the view permission; never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required. The user sees it in their credit history; the audit keeps it with your name."),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


class CreditChangeForm(ReasonForm):
    GRANT, ADJUST = "grant", "adjust"
    mode = forms.ChoiceField(
        label=_("Kind"),
        choices=[(GRANT, _("Grant: add credits")), (ADJUST, _("Adjustment: a signed correction (may be negative)"))],
        initial=GRANT,
    )
    amount = forms.IntegerField(label=_("Credits"), min_value=-100_000, max_value=100_000)
    field_order = ["mode", "amount", "reason"]

    def clean(self):
        data = super().clean()
        amount, mode = data.get("amount"), data.get("mode")
        if amount == 0:
            self.add_error("amount", _("Zero credits changes nothing."))
        elif amount is not None and mode == self.GRANT and amount < 0:
            self.add_error("amount", _("A grant adds credits; use an adjustment to take credits away."))
        return data


def ask(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    intro: str,
    submit: str,
    form: forms.Form | None = None,
) -> TemplateResponse:
    """The intermediate page of an action: what will happen to which objects, and a form."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "submit_label": submit,
        "objects": list(queryset[:200]),
        "object_ids": list(queryset.values_list("pk", flat=True)),
        "form": form,
        "action": action,
        "opts": opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + (form.media if form is not None else forms.Media()),
    }
    return TemplateResponse(request, "admin/gallery/action_form.html", context)


# --- jobs ---


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


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "short_id", "owner", "kind", "status", "cost", "refunded", "provider_task_id")
    list_filter = (
        "status",
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
    readonly_fields = (
        "id",
        "owner",
        "kind",
        "status",
        "cost",
        "refund_state",
        "prompt",
        "image_link",
        "provider_task_id",
        "submit_attempts",
        "provider_duration",
        "error_reason",
        "source_key",
        "params_json",
        "provider_response_json",
        "created_at",
        "submit_claimed_at",
        "submitted_at",
        "callback_received_at",
        "finished_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        refunds = CreditTransaction.objects.filter(job=OuterRef("pk"), kind=CreditTransaction.Kind.REFUND)
        return super().get_queryset(request).annotate(has_refund=Exists(refunds))

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
        the same owner, debited its normal cost (see jobs.retry_by_staff for why that is no
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
                new_job = jobs.retry_by_staff(job_id=job.id, actor=request.user)
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


# --- the ledger and balances ---


@admin.register(CreditTransaction)
class CreditTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "user",
        "kind",
        "signed_amount",
        "balance_after",
        "job_link",
        "is_automatic",
        "actor",
        "reason_code",
        "reason",
    )
    list_filter = ("kind", "reason_code", "is_automatic", ("created_at", admin.DateFieldListFilter))
    search_fields = ("user__username", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("user", "actor", "job")

    @admin.display(description=_("Credits"), ordering="amount")
    def signed_amount(self, obj: CreditTransaction) -> str:
        return f"{obj.amount:+d}"

    @admin.display(description=_("Job"))
    def job_link(self, obj: CreditTransaction):
        return admin_link(obj.job, str(obj.job_id)[:8]) if obj.job_id else "—"


class CreditChangeActionMixin:
    """The "grant or adjust credits" action, shared by the account and user admins."""

    def has_adjust_credits_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gallery.change_creditaccount")

    def users_of(self, queryset: QuerySet) -> list:
        raise NotImplementedError

    @admin.action(description=_("Grant or adjust credits…"), permissions=["adjust_credits"])
    def adjust_credits(self, request: HttpRequest, queryset: QuerySet):
        form = CreditChangeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            data = form.cleaned_data
            for user in self.users_of(queryset):
                try:
                    if data["mode"] == CreditChangeForm.GRANT:
                        row = credits.grant(user=user, amount=data["amount"], reason=data["reason"], actor=request.user)
                    else:
                        row = credits.adjust_by_staff(
                            user=user, amount=data["amount"], reason=data["reason"], actor=request.user
                        )
                except credits.CreditError as exc:
                    self.message_user(request, f"{user.get_username()}: {exc}", messages.ERROR)
                else:
                    self.message_user(
                        request,
                        gettext("%(user)s: %(amount)+d credits, balance now %(balance)d.")
                        % {"user": user.get_username(), "amount": row.amount, "balance": row.balance_after},
                        messages.SUCCESS,
                    )
            return None
        return ask(
            self,
            request,
            queryset,
            action="adjust_credits",
            title=gettext("Grant or adjust credits"),
            intro=gettext(
                "The change is applied to each selected user as one ledger row with your name and the reason. "
                "A balance can never go below zero."
            ),
            submit=gettext("Apply"),
            form=form,
        )


def _ledger_total_subquery():
    rows = CreditTransaction.objects.filter(user=OuterRef("user")).order_by().values("user")
    return Coalesce(Subquery(rows.annotate(total=Sum("amount")).values("total")), 0)


@admin.register(CreditAccount)
class CreditAccountAdmin(CreditChangeActionMixin, ReadOnlyAdmin):
    list_display = ("user", "balance", "ledger_sum", "last_daily_topup", "updated_at")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    actions = ["adjust_credits"]
    fields = ("user", "balance", "ledger_sum", "last_daily_topup", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditAccount]:
        return super().get_queryset(request).annotate(ledger=_ledger_total_subquery())

    @admin.display(description=_("Ledger total"), ordering="ledger")
    def ledger_sum(self, obj: CreditAccount):
        total = getattr(obj, "ledger", None)
        if total is None:
            total = credits.ledger_total(obj.user)
        if total == obj.balance:
            return format_html("{} ✓", total)
        return format_html('<strong style="color:#b91c1c">{} ≠ {}</strong>', total, obj.balance)

    def users_of(self, queryset: QuerySet[CreditAccount]) -> list:
        return [account.user for account in queryset.select_related("user")]


try:
    admin.site.unregister(User)
except admin.sites.NotRegistered:  # pragma: no cover - a custom user model without an admin
    pass


@admin.register(User)
class GalleryUserAdmin(CreditChangeActionMixin, UserAdmin):
    """Django's user admin, plus the balance and the credit action."""

    list_display = (*UserAdmin.list_display, "credit_balance")
    actions = ["adjust_credits"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(balance=Coalesce("credit_account__balance", 0))

    @admin.display(description=_("Credits"), ordering="balance")
    def credit_balance(self, obj) -> int:
        return obj.balance

    def users_of(self, queryset: QuerySet) -> list:
        return list(queryset)


# --- moderation ---


@admin.register(SensitiveWord)
class SensitiveWordAdmin(admin.ModelAdmin):
    list_display = ("word", "mode", "is_active", "created_at")
    list_editable = ("mode", "is_active")
    list_filter = ("mode", "is_active")
    search_fields = ("word",)
    fields = ("word", "mode", "is_active")

    # Changes to the list are staff actions too: each one is audited.
    def save_model(self, request: HttpRequest, obj: SensitiveWord, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        action = audit.Action.SENSITIVE_WORD_CHANGED if change else audit.Action.SENSITIVE_WORD_ADDED
        audit.record(request.user, action, obj, word=obj.word, mode=obj.mode, is_active=obj.is_active)

    def delete_model(self, request: HttpRequest, obj: SensitiveWord) -> None:
        audit.record(request.user, audit.Action.SENSITIVE_WORD_DELETED, obj, word=obj.word)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SensitiveWord]) -> None:
        with transaction.atomic():
            for word in queryset:
                audit.record(request.user, audit.Action.SENSITIVE_WORD_DELETED, word, word=word.word)
            super().delete_queryset(request, queryset)


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    """The moderation queue: open reports first, oldest open report at the top."""

    list_display = (
        "created_at",
        "picture",
        "image_link",
        "image_owner",
        "reporter",
        "reason",
        "status",
        "handled_by",
        "open_reports",
    )
    list_display_links = ("created_at",)
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reason", "reporter__username", "image__owner__username", "image__prompt")
    list_select_related = ("image", "image__owner", "reporter", "handled_by")
    actions = ["hide_image", "dismiss"]
    fields = (
        "picture",
        "image_link",
        "image_owner",
        "reporter",
        "reason",
        "status",
        "handled_by",
        "handled_at",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        # ModelAdmin.get_queryset orders before we could annotate, so order here ourselves.
        open_reports = Count("image__reports", filter=Q(image__reports__status=Report.Status.OPEN))
        return Report.objects.annotate(
            open_first=Case(
                When(status=Report.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            open_count=open_reports,
        ).order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["open_first", "created_at"]

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gallery.change_report")

    @admin.display(description=_("Picture"))
    def picture(self, obj: Report):
        return thumbnail(obj.image)

    @admin.display(description=_("Image"))
    def image_link(self, obj: Report):
        url = reverse("image_detail", args=[obj.image_id])
        state = (
            gettext("hidden")
            if obj.image.is_hidden
            else gettext("public")
            if obj.image.is_public
            else gettext("private")
        )
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a> ({})', url, str(obj.image_id)[:8], state)

    @admin.display(description=_("Owner"))
    def image_owner(self, obj: Report):
        return obj.image.owner

    @admin.display(description=_("Open reports on this image"), ordering="open_count")
    def open_reports(self, obj: Report) -> int:
        return getattr(obj, "open_count", 0)

    def _resolve(self, request: HttpRequest, queryset: QuerySet[Report], *, hide: bool) -> None:
        """Decide each open report (moderation.resolve_report); handled ones are left alone.
        Hiding settles the other open reports on the same image too."""
        reports = list(queryset)
        already = sum(report.status != Report.Status.OPEN for report in reports)
        for report in reports:
            if report.status == Report.Status.OPEN:
                moderation.resolve_report(report=report, hide=hide, staff=request.user)
        done = len(reports) - already
        if hide:
            text = ngettext(
                "%d report closed and its image hidden.", "%d reports closed and their images hidden.", done
            )
        else:
            text = ngettext("%d report dismissed.", "%d reports dismissed.", done)
        self.message_user(request, text % done, messages.SUCCESS)
        if already:
            self.message_user(
                request,
                ngettext(
                    "%d report was already handled and left as it was.",
                    "%d reports were already handled and left as they were.",
                    already,
                )
                % already,
                messages.WARNING,
            )

    @admin.action(description=_("Hide the image from public and inspiration views"), permissions=["moderate"])
    def hide_image(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._resolve(request, queryset, hide=True)

    @admin.action(description=_("Dismiss the report"), permissions=["moderate"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._resolve(request, queryset, hide=False)


@admin.register(Image)
class ImageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "picture", "owner", "kind", "short_prompt", "is_public", "is_hidden", "report_count")
    list_filter = ("is_public", "is_hidden", "kind", "is_procedural")
    search_fields = ("prompt", "owner__username")
    list_select_related = ("owner",)
    actions = ["hide", "unhide"]
    fields = (
        "picture_large",
        "owner",
        "kind",
        "prompt",
        "negative_prompt",
        "params_json",
        "job_link",
        "width",
        "height",
        "size_bytes",
        "made_by",
        "provider_duration",
        "is_public",
        "is_hidden",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Image]:
        return super().get_queryset(request).annotate(reports_total=Count("reports"))

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gallery.change_image")

    @admin.display(description=_("Picture"))
    def picture(self, obj: Image):
        return thumbnail(obj)

    @admin.display(description=_("Picture"))
    def picture_large(self, obj: Image):
        return thumbnail(obj, size=256)

    @admin.display(description=_("Prompt"))
    def short_prompt(self, obj: Image) -> str:
        return (obj.prompt[:60] + "…") if len(obj.prompt) > 60 else obj.prompt

    @admin.display(description=_("Reports"), ordering="reports_total")
    def report_count(self, obj: Image) -> int:
        return getattr(obj, "reports_total", 0)

    @admin.display(description=_("Parameters"))
    def params_json(self, obj: Image):
        return pretty_json(obj.params)

    @admin.display(description=_("Job"))
    def job_link(self, obj: Image):
        return admin_link(obj.job, str(obj.job_id)[:8]) if obj.job_id else "—"

    def _set_hidden(self, request: HttpRequest, queryset: QuerySet[Image], *, hidden: bool) -> None:
        changed = sum(moderation.set_image_hidden(image=image, hidden=hidden, staff=request.user) for image in queryset)
        self.message_user(
            request, ngettext("%d image changed.", "%d images changed.", changed) % changed, messages.SUCCESS
        )

    @admin.action(description=_("Hide from public and inspiration views"), permissions=["moderate"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        self._set_hidden(request, queryset, hidden=True)

    @admin.action(description=_("Show again in public views"), permissions=["moderate"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        self._set_hidden(request, queryset, hidden=False)


# --- the audit trail ---


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "subject", "job_link", "summary")
    list_filter = ("action", "subject_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("action", "actor__username", "subject_id")
    date_hierarchy = "created_at"
    list_select_related = ("actor", "job")
    fields = ("created_at", "action", "actor", "subject", "job_link", "data_json")
    readonly_fields = fields

    @admin.display(description=_("Job"))
    def job_link(self, obj: AuditEntry):
        return admin_link(obj.job, str(obj.job_id)[:8]) if obj.job_id else "—"

    @admin.display(description=_("Subject"))
    def subject(self, obj: AuditEntry) -> str:
        return f"{obj.subject_type} {obj.subject_id[:8]}" if obj.subject_type else "—"

    @admin.display(description=_("Details"))
    def summary(self, obj: AuditEntry) -> str:
        text = json.dumps(obj.data, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description=_("Data"))
    def data_json(self, obj: AuditEntry):
        return pretty_json(obj.data)
