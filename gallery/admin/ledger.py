"""The ledger and balances in the admin: read-only rows, and the grant/adjust credits action
on accounts and users."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import credits
from ..models import CreditAccount, CreditTransaction
from .common import JobLinkMixin, ReadOnlyAdmin, ReasonForm, ask

User = get_user_model()


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


@admin.register(CreditTransaction)
class CreditTransactionAdmin(JobLinkMixin, ReadOnlyAdmin):
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
        return format_html('<strong class="ledger-mismatch">{} ≠ {}</strong>', total, obj.balance)

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
