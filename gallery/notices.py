"""The inbox: a notice when a job ends (a picture, or a refund) and when staff move credits for
someone, read in the header's bell, on /inbox/, in the tab's title and, for those who chose it,
by e-mail. The one writer of Notice and NoticePreference rows.

Notices are written after the move they announce is committed (gallery.jobs and gallery.credits
call in through `transaction.on_commit`), so a rolled-back move never announces itself, and a
notice that cannot be written never undoes a move. Their words are made when they are read, in
the reader's language.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import CreditTransaction, Job, JobFailure, JobStatus, Notice, NoticeKind, NoticePreference

log = logging.getLogger(__name__)

Kind = NoticeKind
# The staff credit moves that are announced, by their ledger reason code.
STAFF_CODES = {
    CreditTransaction.Reason.STAFF_REFUND: Kind.STAFF_REFUND,
    CreditTransaction.Reason.STAFF_GRANT: Kind.STAFF_GRANT,
    CreditTransaction.Reason.STAFF_ADJUSTMENT: Kind.STAFF_ADJUSTMENT,
}
LATEST_SHOWN = 5


# --- writing ---


def job_ended(job_id: UUID | str) -> Notice | None:
    """The notice of a job's end, once per end (a second call finds it). None for a job that
    has not ended and for a cancelled one: only its owner cancels a job, and they know."""
    job = Job.objects.filter(id=job_id).first()
    if job is None or job.status in (JobStatus.QUEUED, JobStatus.SUBMITTED, JobStatus.CANCELLED):
        return None
    kind = Kind.JOB_SUCCEEDED if job.status == JobStatus.SUCCEEDED else Kind.JOB_REFUNDED
    existing = Notice.objects.filter(job=job, status=job.status).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            notice = Notice.objects.create(recipient_id=job.owner_id, kind=kind, job=job, status=job.status)
    except IntegrityError:  # the same end reported twice at once: the constraint kept one
        return Notice.objects.get(job=job, status=job.status)
    if wants_email(user_id=job.owner_id):
        from django_q.tasks import async_task

        async_task("gallery.tasks.mail_notice", notice.pk)
    return notice


def credits_moved(transaction_id: int) -> Notice | None:
    """The notice of a staff refund, grant or correction (by its ledger row), once."""
    row = CreditTransaction.objects.filter(pk=transaction_id).first()
    if row is None or row.reason_code not in STAFF_CODES:
        return None
    notice, _created = Notice.objects.get_or_create(
        credit_transaction=row,
        defaults={"recipient_id": row.user_id, "kind": STAFF_CODES[row.reason_code], "job": row.job},
    )
    return notice


def mark_read(*, user: AbstractBaseUser, notice_id: int) -> Notice:
    """The user's notice, read from now on (Notice.DoesNotExist for anyone else's)."""
    notice = Notice.objects.select_related("job").get(pk=notice_id, recipient=user)
    if notice.read_at is None:
        notice.read_at = timezone.now()
        Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=notice.read_at)
    return notice


def seen_jobs(*, user: AbstractBaseUser, job_ids: list[UUID]) -> int:
    """The user's unread notices about these jobs, read: a page that shows a job's end tells it
    as well as the inbox would (the job page, or the studio's cards seeing their end). Someone
    else looking (staff) reads nothing of the owner's. How many there were."""
    return Notice.objects.filter(recipient=user, job_id__in=job_ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def mark_all_read(*, user: AbstractBaseUser) -> int:
    """Every unread notice of the user read; how many there were."""
    return Notice.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def set_email(*, user: AbstractBaseUser, on: bool, language: str) -> NoticePreference:
    preference, _created = NoticePreference.objects.update_or_create(
        user=user, defaults={"email_job_ends": on, "language": language}
    )
    return preference


# --- reading ---


def unread(*, user: AbstractBaseUser) -> dict[str, int]:
    """The unread count and the newest unread notice's id (0: none), in one query on the
    partial index."""
    found = Notice.objects.filter(recipient=user, read_at__isnull=True).aggregate(n=Count("id"), latest=Max("id"))
    return {"count": found["n"], "latest": found["latest"] or 0}


def unread_of_user() -> dict[str, Subquery]:
    """`unread` as expressions over a user queryset (OuterRef "pk"), so the header of every
    page reads it in the same query as the balance (gallery/context_processors.py)."""
    mine = Notice.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True).order_by().values("recipient")
    return {
        "unread_count": Subquery(mine.annotate(n=Count("id")).values("n")),
        "unread_latest": Subquery(mine.annotate(latest=Max("id")).values("latest")),
    }


def unread_from(row: dict[str, Any]) -> dict[str, int]:
    """`unread`'s answer from a row annotated with `unread_of_user`."""
    return {"count": row["unread_count"] or 0, "latest": row["unread_latest"] or 0}


def inbox(*, user: AbstractBaseUser) -> QuerySet[Notice]:
    return (
        Notice.objects.filter(recipient=user).select_related("job", "credit_transaction").order_by("-created_at", "-id")
    )


def wants_email(*, user_id: int) -> bool:
    return NoticePreference.objects.filter(user_id=user_id, email_job_ends=True).exists()


@dataclass(frozen=True)
class Shown:
    notice: Notice
    title: str
    detail: str
    target: str  # where the notice leads: the job's page or the credit history


def describe(notice: Notice) -> Shown:
    """A notice in words of the active language."""
    job, row = notice.job, notice.credit_transaction
    target = reverse("job_detail", args=[job.id]) if job is not None else reverse("credit_history")
    if notice.kind == Kind.JOB_SUCCEEDED:
        return Shown(notice, _("Your picture is ready"), _job_line(job), target)
    if notice.kind == Kind.JOB_REFUNDED:
        n = job.cost
        if notice.status == JobStatus.UNSAFE:
            title = ngettext(
                "The picture was unsafe; %(n)d credit was refunded",
                "The picture was unsafe; %(n)d credits were refunded",
                n,
            )
        elif notice.status == JobStatus.TIMED_OUT:
            title = ngettext(
                "The image service did not answer in time; %(n)d credit was refunded",
                "The image service did not answer in time; %(n)d credits were refunded",
                n,
            )
        else:
            title = ngettext(
                "Your job failed; %(n)d credit was refunded", "Your job failed; %(n)d credits were refunded", n
            )
        why = str(JobFailure(job.failure).label) if job.failure in JobFailure.values else ""
        detail = " · ".join(part for part in (why, _job_line(job)) if part)
        return Shown(notice, title % {"n": n}, detail, target)
    n = abs(row.amount)
    if notice.kind == Kind.STAFF_REFUND:
        title = ngettext("Staff refunded %(n)d credit to you", "Staff refunded %(n)d credits to you", n)
    elif notice.kind == Kind.STAFF_GRANT:
        title = ngettext("Staff granted you %(n)d credit", "Staff granted you %(n)d credits", n)
    elif row.amount > 0:
        title = ngettext("Staff added %(n)d credit to your balance", "Staff added %(n)d credits to your balance", n)
    else:
        title = ngettext("Staff took %(n)d credit from your balance", "Staff took %(n)d credits from your balance", n)
    return Shown(notice, title % {"n": n}, row.reason, reverse("credit_history"))


def _job_line(job: Job) -> str:
    prompt = job.prompt if len(job.prompt) <= 60 else job.prompt[:59] + "…"
    return " · ".join(part for part in (str(job.get_kind_display()), prompt) if part)


def latest_json(*, user: AbstractBaseUser) -> dict[str, Any]:
    """What the tab polls while in the background: the unread count and the newest unread
    notices (id, words, where opening it leads)."""
    count = unread(user=user)["count"]
    newest = Notice.objects.filter(recipient=user, read_at__isnull=True).select_related("job", "credit_transaction")
    latest = []
    for notice in newest.order_by("-created_at", "-id")[:LATEST_SHOWN]:
        shown = describe(notice)
        latest.append(
            {
                "id": notice.pk,
                "title": shown.title,
                "detail": shown.detail,
                "url": reverse("notice_open", args=[notice.pk]),
                "created_at": notice.created_at.isoformat(),
            }
        )
    return {"unread": count, "latest": latest}


# --- e-mail ---


def send_email(*, notice_id: int) -> bool:
    """Mail a job-end notice to its recipient, at most once (the claim is a conditional update;
    two workers running the task: one sends). False when nothing was sent: mail is off, there
    is no address, it was sent already, or the server refused it (the claim is then released so
    a re-run can try again)."""
    notice = Notice.objects.select_related("recipient", "job", "credit_transaction").filter(pk=notice_id).first()
    if notice is None or notice.job is None:
        return False
    user = notice.recipient
    preference = NoticePreference.objects.filter(user=user, email_job_ends=True).first()
    if preference is None or not user.email or not user.is_active:
        return False
    now = timezone.now()
    if not Notice.objects.filter(pk=notice.pk, emailed_at__isnull=True).update(emailed_at=now):
        return False
    with translation.override(preference.language or settings.LANGUAGE_CODE):
        shown = describe(notice)
        context = {"shown": shown, "user": user, "url": settings.SITE_URL + reverse("notice_open", args=[notice.pk])}
        body = render_to_string("notices/notice_email.txt", context)
        subject = f"{shown.title} · 画廊 AIGC"
    try:
        send_mail(subject, body, None, [user.email])
    except (smtplib.SMTPException, OSError):
        log.exception("could not mail notice %s to user %s", notice.pk, user.pk)
        Notice.objects.filter(pk=notice.pk).update(emailed_at=None)
        return False
    return True
