"""The in-app inbox: one notice per thing a user should hear about (a job that ended, credits
staff moved for them), and whether they want job endings mailed too. The rules live in
gallery/notices.py, which alone writes these rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .credits import CreditTransaction
from .jobs import Job


class NoticeKind(models.TextChoices):
    JOB_SUCCEEDED = "job_succeeded", _("Picture ready")
    JOB_REFUNDED = "job_refunded", _("Job ended without a picture")
    STAFF_REFUND = "staff_refund", _("Refund by staff")
    STAFF_GRANT = "staff_grant", _("Credits from staff")
    STAFF_ADJUSTMENT = "staff_adjustment", _("Credit correction by staff")


JOB_NOTICE_KINDS = (NoticeKind.JOB_SUCCEEDED, NoticeKind.JOB_REFUNDED)
CREDIT_NOTICE_KINDS = (NoticeKind.STAFF_REFUND, NoticeKind.STAFF_GRANT, NoticeKind.STAFF_ADJUSTMENT)


class Notice(models.Model):
    """A line in a user's inbox. Its words are made when it is shown (in the reader's language)
    from what it points at; `status` keeps which end of the job it announces, since a timed-out
    job may still succeed later and then has a second notice."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices", verbose_name=_("recipient")
    )
    kind = models.CharField(max_length=24, choices=NoticeKind.choices, verbose_name=_("kind"))
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.CASCADE, related_name="notices", verbose_name=_("job")
    )
    status = models.CharField(max_length=16, blank=True, verbose_name=_("status"))
    credit_transaction = models.OneToOneField(
        CreditTransaction,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notice",
        verbose_name=_("credit transaction"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))
    emailed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("e-mailed at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notice_inbox"),
            # The header's unread count on every page reads only this.
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notice_unread"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=NoticeKind.values), name="notice_kind_known"),
            models.CheckConstraint(
                condition=~models.Q(kind__in=JOB_NOTICE_KINDS) | (models.Q(job__isnull=False) & ~models.Q(status="")),
                name="notice_job_end_names_job",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=CREDIT_NOTICE_KINDS) | models.Q(credit_transaction__isnull=False),
                name="notice_credits_name_ledger_row",
            ),
            # One notice per end of a job, however often the end is reported.
            models.UniqueConstraint(
                fields=["job", "status"], condition=models.Q(kind__in=JOB_NOTICE_KINDS), name="notice_once_per_job_end"
            ),
        ]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient_id}"


class NoticePreference(models.Model):
    """A user's choice to have job endings mailed as well, and the language to mail them in (the
    one the page was in when they chose it: mail is sent outside any request)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notice_preference",
        verbose_name=_("user"),
    )
    email_job_ends = models.BooleanField(default=False, verbose_name=_("E-mail me when a job ends"))
    language = models.CharField(max_length=16, blank=True, verbose_name=_("language"))

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")
