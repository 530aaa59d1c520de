"""The credit ledger: every credit that moves is one immutable CreditTransaction row.

The cached balance on CreditAccount changes only here, inside the same transaction as its
ledger row and under a row lock on the account, so concurrent debits serialise on that lock.
Database constraints back the rules (non-negative balance, one debit and one refund per job),
so a bug here raises instead of overdrawing or refunding twice.

Lock order, everywhere: the credit account first, then the job, so two moves never wait on
each other in opposite orders (no deadlock).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit, notices
from .models import CreditAccount, CreditTransaction, Job, JobStatus, LedgerReason

Kind = CreditTransaction.Kind
Reason = LedgerReason

# The reason code of an automatic refund, by the status the job was moved to.
REFUND_REASONS = {
    JobStatus.FAILED: Reason.JOB_FAILED,
    JobStatus.UNSAFE: Reason.JOB_UNSAFE,
    JobStatus.TIMED_OUT: Reason.JOB_TIMED_OUT,
    JobStatus.CANCELLED: Reason.JOB_CANCELLED,
}


class CreditError(Exception):
    """A credit operation that cannot happen; the message is safe to show the user."""


class InsufficientCredits(CreditError):
    def __init__(self, *, needed: int, balance: int, count: int = 1):
        self.needed = needed
        self.balance = balance
        if count > 1:
            message = _("These %(count)d pictures cost %(needed)d credits and you have %(balance)d.")
        else:
            message = _("This job costs %(needed)d credits and you have %(balance)d.")
        super().__init__(message % {"needed": needed, "balance": balance, "count": count})


def cost_of(kind: str) -> int:
    return int(settings.CREDIT_COSTS[kind])


def balance_of(user: AbstractBaseUser) -> int:
    account = CreditAccount.objects.filter(user=user).only("balance").first()
    return account.balance if account else 0


def balance_of_user() -> dict[str, Subquery]:
    """`balance_of` as an expression over a user queryset (OuterRef "pk"; None: no account, 0)."""
    return {"balance": Subquery(CreditAccount.objects.filter(user=OuterRef("pk")).values("balance")[:1])}


def check_affordable(*, user: AbstractBaseUser, amount: int, count: int = 1) -> None:
    """Raise InsufficientCredits when the balance is below `amount` (for `count` pictures) now.
    A plain read, to refuse early: the debit itself (debit_for_job, under the account lock) is
    the check that counts."""
    balance = balance_of(user)
    if balance < amount:
        raise InsufficientCredits(needed=amount, balance=balance, count=count)


def require_balance(*, account: CreditAccount, amount: int, count: int) -> None:
    """Under the account lock (`lock_account`): refuse a batch the balance does not cover as a
    whole, before any of its jobs is debited, so that a batch is charged all or not at all and
    the refusal names the batch's total rather than the one job that would have failed."""
    assert transaction.get_connection().in_atomic_block, "the balance is checked under the account lock"
    if account.balance < amount:
        raise InsufficientCredits(needed=amount, balance=account.balance, count=count)


def lock_account(*, user: AbstractBaseUser | None = None, user_id: int | None = None) -> CreditAccount:
    """The user's account row, locked until this transaction ends; created on first use.

    Every credit move, and every job state change that may refund, takes this lock first,
    so the lock order is always account → job."""
    assert transaction.get_connection().in_atomic_block, "credit moves need a transaction"
    user_id = user_id if user_id is not None else user.pk
    CreditAccount.objects.get_or_create(user_id=user_id)
    return CreditAccount.objects.select_for_update().get(user_id=user_id)


def _record(
    account: CreditAccount,
    *,
    kind: str,
    code: LedgerReason,
    amount: int,
    job: Job | None = None,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    is_automatic: bool = True,
) -> CreditTransaction:
    account.balance += amount
    if account.balance < 0:
        raise InsufficientCredits(needed=-amount, balance=account.balance - amount)
    account.save(update_fields=["balance", "updated_at"])
    return CreditTransaction.objects.create(
        user_id=account.user_id,
        kind=kind,
        amount=amount,
        balance_after=account.balance,
        job=job,
        actor=actor,
        reason_code=code,
        reason=str(reason)[:255],
        is_automatic=is_automatic,
    )


def grant(
    *,
    user: AbstractBaseUser,
    amount: int,
    reason: str = "",
    actor: AbstractBaseUser | None = None,
    code: LedgerReason = Reason.SYSTEM_GRANT,
) -> CreditTransaction:
    """Add credits (sign-up grant, daily top-up, staff grant). A staff grant (with an actor)
    needs a reason, is coded STAFF_GRANT and audited as "credits.granted"; a grant without
    one is the system's own (SYSTEM_GRANT unless `code` says which)."""
    if amount <= 0:
        raise CreditError(_("A grant must be a positive number of credits."))
    if actor is not None and not str(reason).strip():
        raise CreditError(_("A reason is required."))
    with transaction.atomic():
        account = lock_account(user=user)
        code = Reason.STAFF_GRANT if actor is not None else code
        row = _record(
            account, kind=Kind.GRANT, code=code, amount=amount, actor=actor, reason=reason, is_automatic=actor is None
        )
        if actor is not None:
            _audit_staff_move(row, action=audit.Action.CREDITS_GRANTED)
        return row


def _audit_staff_move(row: CreditTransaction, *, action: audit.Action) -> None:
    """Staff credit moves are audited in the transaction that writes their ledger row, and
    announced in the user's inbox once it is committed."""
    audit.record(
        row.actor, action, row, user=row.user_id, amount=row.amount, balance_after=row.balance_after, reason=row.reason
    )
    transaction.on_commit(lambda: notices.credits_moved(row.pk), robust=True)


def grant_signup_credits(*, user: AbstractBaseUser) -> CreditTransaction | None:
    """The welcome credits, at most once per account (a verification link opened twice, or two
    tabs at once, grant once: the check runs under the account lock, and a database constraint
    holds it too). None when nothing was granted."""
    amount = settings.CREDITS_SIGNUP_GRANT
    if amount <= 0:
        return None
    with transaction.atomic():
        lock_account(user=user)
        if has_signup_grant(user=user):
            return None
        return grant(user=user, amount=amount, code=Reason.SIGNUP)


def has_signup_grant(*, user: AbstractBaseUser) -> bool:
    return CreditTransaction.objects.filter(user=user, reason_code=Reason.SIGNUP).exists()


def top_up_daily(*, user: AbstractBaseUser) -> CreditTransaction | None:
    """Once a day, bring the balance up to CREDITS_DAILY_TOPUP (never down). A second call
    on the same day does nothing."""
    target = settings.CREDITS_DAILY_TOPUP
    if target <= 0:
        return None
    today = timezone.localdate()
    with transaction.atomic():
        account = lock_account(user=user)
        if account.last_daily_topup == today:
            return None
        account.last_daily_topup = today
        account.save(update_fields=["last_daily_topup", "updated_at"])
        if account.balance >= target:
            return None
        return _record(account, kind=Kind.GRANT, code=Reason.DAILY_TOPUP, amount=target - account.balance)


def debit_for_job(*, job: Job) -> CreditTransaction:
    """Charge a new job its cost. Must run in the transaction that creates the job, so a job
    never exists without its debit. Raises InsufficientCredits and leaves everything as it was."""
    account = lock_account(user_id=job.owner_id)
    if account.balance < job.cost:
        raise InsufficientCredits(needed=job.cost, balance=account.balance)
    return _record(account, kind=Kind.DEBIT, code=Reason.JOB_CHARGE, amount=-job.cost, job=job)


@dataclass(frozen=True)
class RefundResult:
    transaction: CreditTransaction | None
    created: bool


def refund_job(
    *, job: Job, code: LedgerReason, reason: str = "", actor: AbstractBaseUser | None = None
) -> RefundResult:
    """Give back what a job was charged, exactly once. `code` says why (REFUND_REASONS for the
    automatic ones, STAFF_REFUND); `reason` is the detail shown under it.

    A second call (a duplicate callback, the sweep racing a late callback, a staff click)
    finds the existing refund and returns it with created=False. The unique constraint on
    (job, kind=refund) is the final guard if two transactions race past the check.
    """
    with transaction.atomic():
        account = lock_account(user_id=job.owner_id)
        existing = CreditTransaction.objects.filter(job=job, kind=Kind.REFUND).first()
        if existing:
            return RefundResult(existing, created=False)
        debit = CreditTransaction.objects.filter(job=job, kind=Kind.DEBIT).first()
        if debit is None:
            return RefundResult(None, created=False)
        try:
            with transaction.atomic():
                row = _record(
                    account,
                    kind=Kind.REFUND,
                    code=code,
                    amount=-debit.amount,
                    job=job,
                    actor=actor,
                    reason=reason,
                    is_automatic=actor is None,
                )
        except IntegrityError:
            account.refresh_from_db()
            return RefundResult(CreditTransaction.objects.get(job=job, kind=Kind.REFUND), created=False)
        return RefundResult(row, created=True)


def adjust_by_staff(*, user: AbstractBaseUser, amount: int, reason: str, actor: AbstractBaseUser) -> CreditTransaction:
    """A signed correction by staff; the reason is required, the actor recorded and the move
    audited as "credits.adjusted". Refused (CreditError) if it would make the balance negative."""
    if not str(reason).strip():
        raise CreditError(_("A reason is required."))
    if amount == 0:
        raise CreditError(_("An adjustment of zero credits changes nothing."))
    with transaction.atomic():
        account = lock_account(user=user)
        if account.balance + amount < 0:
            raise CreditError(
                _("This would make the balance negative (%(balance)d %(amount)+d).")
                % {"balance": account.balance, "amount": amount}
            )
        row = _record(
            account,
            kind=Kind.ADJUSTMENT,
            code=Reason.STAFF_ADJUSTMENT,
            amount=amount,
            actor=actor,
            reason=reason,
            is_automatic=False,
        )
        _audit_staff_move(row, action=audit.Action.CREDITS_ADJUSTED)
        return row


def refund_by_staff(*, job: Job, reason: str, actor: AbstractBaseUser) -> RefundResult:
    """A manual refund of a job by staff, with a required reason; the actor is recorded.

    Any job that was charged may be refunded this way, whatever its status (a refund is a
    ledger row, not a status). Exactly once, like refund_job: if the job was refunded
    already (automatically or by staff) nothing is written and created=False comes back.
    The audit entry "job.refunded_manually" is written in the refund's transaction."""
    if not str(reason).strip():
        raise CreditError(_("A reason is required."))
    with transaction.atomic():
        result = refund_job(job=job, code=Reason.STAFF_REFUND, reason=reason, actor=actor)
        if result.created:
            _audit_staff_move(result.transaction, action=audit.Action.JOB_REFUNDED_MANUALLY)
        return result


def ledger_total(user: AbstractBaseUser) -> int:
    """The balance recomputed from the ledger; equals the cached balance when all is well."""
    return CreditTransaction.objects.filter(user=user).aggregate(total=Sum("amount"))["total"] or 0
