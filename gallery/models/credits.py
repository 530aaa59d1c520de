"""The credit ledger and balances (written only by `gallery.credits`), and sign-up attempts."""

from __future__ import annotations

import functools
import operator

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .jobs import Job


class CreditAccount(models.Model):
    """The cached balance of one user; changed only with its ledger row, under a row lock."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_account", verbose_name=_("user")
    )
    balance = models.IntegerField(default=0, verbose_name=_("balance"))
    last_daily_topup = models.DateField(null=True, blank=True, verbose_name=_("last daily top-up"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_non_negative")]
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")

    def __str__(self) -> str:
        return f"{self.user} {self.balance}"


class LedgerReason(models.TextChoices):
    """Why credits moved, as a stable code: the credit history and the reports are written from
    it (the free-text `reason` beside it is the staff's note or the provider's words)."""

    SIGNUP = "signup", _("Welcome credits")
    DAILY_TOPUP = "daily_topup", _("Daily top-up")
    SYSTEM_GRANT = "system_grant", _("Credits granted")
    STAFF_GRANT = "staff_grant", _("Granted by staff")
    JOB_CHARGE = "job_charge", _("Job")
    JOB_FAILED = "job_failed", _("Refund — the job failed")
    JOB_UNSAFE = "job_unsafe", _("Refund — the picture was unsafe")
    JOB_TIMED_OUT = "job_timed_out", _("Refund — the job timed out")
    JOB_CANCELLED = "job_cancelled", _("Refund — the job was cancelled")
    STAFF_REFUND = "staff_refund", _("Refunded by staff")
    STAFF_ADJUSTMENT = "staff_adjustment", _("Adjusted by staff")


# Which reason codes each kind of ledger row may carry; a database constraint holds it.
LEDGER_REASONS_BY_KIND: dict[str, tuple[LedgerReason, ...]] = {
    "grant": (LedgerReason.SIGNUP, LedgerReason.DAILY_TOPUP, LedgerReason.SYSTEM_GRANT, LedgerReason.STAFF_GRANT),
    "debit": (LedgerReason.JOB_CHARGE,),
    "refund": (
        LedgerReason.JOB_FAILED,
        LedgerReason.JOB_UNSAFE,
        LedgerReason.JOB_TIMED_OUT,
        LedgerReason.JOB_CANCELLED,
        LedgerReason.STAFF_REFUND,
    ),
    "adjustment": (LedgerReason.STAFF_ADJUSTMENT,),
}


def _any_of(conditions: list[Q]) -> Q:
    return functools.reduce(operator.or_, conditions)


class CreditTransaction(models.Model):
    """One immutable ledger row. Debits are negative, grants and refunds positive."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Grant")
        DEBIT = "debit", _("Debit")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    Reason = LedgerReason

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_transactions", verbose_name=_("user")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    amount = models.IntegerField(verbose_name=_("amount"))
    balance_after = models.IntegerField(verbose_name=_("balance after"))
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_transactions", verbose_name=_("job")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    reason_code = models.CharField(max_length=24, choices=Reason.choices, verbose_name=_("reason code"))
    reason = models.CharField(max_length=255, blank=True, verbose_name=_("reason"))
    is_automatic = models.BooleanField(default=True, verbose_name=_("automatic"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_non_negative"),
            models.UniqueConstraint(fields=["job"], condition=Q(kind="debit"), name="ledger_one_debit_per_job"),
            models.UniqueConstraint(fields=["job"], condition=Q(kind="refund"), name="ledger_one_refund_per_job"),
            models.UniqueConstraint(
                fields=["user"], condition=Q(reason_code="signup"), name="ledger_one_signup_grant_per_user"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="debit", amount__lt=0, job__isnull=False)
                    | Q(kind="refund", amount__gt=0, job__isnull=False)
                    | Q(kind="grant", amount__gt=0)
                    | Q(kind="adjustment")
                ),
                name="ledger_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=_any_of(
                    [
                        Q(kind=kind, reason_code__in=[reason.value for reason in reasons])
                        for kind, reasons in LEDGER_REASONS_BY_KIND.items()
                    ]
                ),
                name="ledger_reason_code_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="ledger_user_recent")]
        verbose_name = _("ledger row")
        verbose_name_plural = _("ledger")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} → {self.balance_after}"


class SignupAttempt(models.Model):
    """One sign-up from one address, counted by gallery.signups for SIGNUP_RATE_PER_IP; rows
    older than the window are deleted as new ones come."""

    ip = models.GenericIPAddressField(verbose_name=_("IP address"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        indexes = [models.Index(fields=["ip", "created_at"], name="signup_attempt_ip_recent")]
        verbose_name = _("sign-up attempt")
        verbose_name_plural = _("sign-up attempts")
