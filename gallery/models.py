"""Data of the site: jobs and their callbacks, gallery images and albums, the credit ledger,
moderation and the inspiration gallery.

Rows here hold state; the rules that change it live in the domain modules (jobs.py,
credits.py, ingest.py, moderation.py). In particular nothing but `gallery.jobs` writes
`Job.status`, and nothing but `gallery.credits` writes the ledger or a balance.
"""

from __future__ import annotations

import functools
import operator
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import kinds

# The kinds of job as choices (JobKind.TXT2IMG, JobKind.choices...), made from gallery/kinds.py.
JobKind = models.TextChoices("JobKind", [(kind.name.upper(), (kind.name, kind.label)) for kind in kinds.KINDS])


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SUBMITTED = "submitted", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    UNSAFE = "unsafe", _("Unsafe content")
    TIMED_OUT = "timed_out", _("Timed out")
    CANCELLED = "cancelled", _("Cancelled")


# A job in one of these is still on its way: it counts against the user's limits and holds on to
# its source picture.
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.SUBMITTED)


class JobQuerySet(models.QuerySet):
    def saving(self) -> JobQuerySet:
        """Jobs whose picture is being saved: the same rule as Job.is_saving, as a query."""
        return self.filter(status=JobStatus.SUBMITTED, callback_received_at__isnull=False)


class Job(models.Model):
    """One call of the image API, from the form to the finished picture."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=16, choices=kinds.choices)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # The validated form parameters, in the provider's vocabulary (text, w, h, num_steps...).
    params = models.JSONField(default=dict)
    # The prompt as sent (after masking), kept apart for search and display.
    prompt = models.TextField(blank=True)
    # Where the input picture of img2img/anime/upscale lives in our storage.
    source_key = models.CharField(max_length=255, blank=True)
    source_image = models.ForeignKey(
        "Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived_jobs"
    )
    cost = models.PositiveIntegerField(default=0)
    provider_task_id = models.CharField(max_length=128, null=True, blank=True, unique=True)
    provider_response = models.JSONField(null=True, blank=True)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    # Set when a worker claims the job for the POST; see jobs.claim_for_submission.
    submit_claimed_at = models.DateTimeField(null=True, blank=True)
    error_reason = models.TextField(blank=True)
    provider_duration = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    callback_received_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # "my jobs", newest first
            models.Index(fields=["owner", "-created_at"], name="job_owner_recent"),
            # the timeout sweep: submitted jobs by age
            models.Index(fields=["status", "submitted_at"], name="job_status_submitted"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in ACTIVE_STATUSES

    @property
    def is_saving(self) -> bool:
        """The provider's success callback is recorded and the picture is not stored yet: ingest
        is downloading and storing it, or waiting for our object store to come back (retried
        with no limit, gallery/ingest.py). A way of showing `submitted`, not a status of its own
        (only gallery.jobs writes status). JobQuerySet.saving, above, is the same rule as a query."""
        return self.status == JobStatus.SUBMITTED and self.callback_received_at is not None

    @property
    def display_status(self) -> str:
        """What the status pill shows (its CSS class): "saving" while is_saving, else the status."""
        return "saving" if self.is_saving else self.status

    @property
    def display_status_label(self) -> str:
        return _("Saving your picture…") if self.is_saving else self.get_status_display()

    @property
    def elapsed_seconds(self) -> float | None:
        if not self.created_at:
            return None
        from django.utils import timezone

        end = self.finished_at or timezone.now()
        return max(0.0, (end - self.created_at).total_seconds())


class CallbackDelivery(models.Model):
    """Every POST the provider made to a job's callback URL, kept for the audit."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        EARLY = "early", _("Arrived before submission was recorded")
        DUPLICATE = "duplicate", _("Duplicate")
        LATE = "late", _("Late (after timeout)")

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField(auto_now_add=True)
    body = models.JSONField()
    success = models.BooleanField()
    safe = models.BooleanField(null=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        ordering = ["received_at", "id"]


# The one rule for who may see a picture: its owner, and anybody while it is public and staff
# have not hidden it. Written once, as field values, so the query and the check of a loaded
# picture cannot drift apart.
PUBLICLY_VISIBLE = {"is_public": True, "is_hidden": False}


def publicly_visible(prefix: str = "") -> Q:
    """The rule as a filter; `prefix` reaches it through a relation ("image__")."""
    return Q(**{prefix + field: value for field, value in PUBLICLY_VISIBLE.items()})


class ImageQuerySet(models.QuerySet):
    def public(self) -> ImageQuerySet:
        return self.filter(publicly_visible())

    def visible_to(self, user) -> ImageQuerySet:
        """What `user` may see: their own pictures and the public ones (anonymous: public only)."""
        if user is not None and user.is_authenticated:
            return self.filter(publicly_visible() | Q(owner_id=user.pk))
        return self.public()


# The Image columns that name objects in storage.
STORED_KEY_FIELDS = ("original_key", "preview_key", "thumb_key", "download_key")


class Image(models.Model):
    """A picture in a user's gallery, stored in object storage under random keys."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images")
    # One image per job at most: this constraint is what makes ingest idempotent.
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="image")
    kind = models.CharField(max_length=16, choices=kinds.choices)
    prompt = models.TextField(blank=True)
    negative_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict)
    source_image = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField(default=0)
    original_key = models.CharField(max_length=255)
    thumb_key = models.CharField(max_length=255, blank=True)
    preview_key = models.CharField(max_length=255, blank=True)
    # The original as a PNG with its parameters (gallery/downloads.py), made on the first
    # download and kept, so later downloads read it instead of re-encoding the original.
    download_key = models.CharField(max_length=255, blank=True)
    # Who made the pixels, shown on the image page: "APISpace", "Offline engine (procedural)",
    # "Real-ESRGAN animevideov3 x4"...
    made_by = models.CharField(max_length=128, blank=True)
    is_procedural = models.BooleanField(default=False)
    provider_duration = models.FloatField(null=True, blank=True)
    is_public = models.BooleanField(default=False)
    is_favourite = models.BooleanField(default=False)
    # Hidden by staff after a report: off the public and inspiration views, still the owner's.
    is_hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the personal gallery's keyset pagination: (owner, created_at, id)
            models.Index(fields=["owner", "-created_at", "-id"], name="image_owner_keyset"),
            # the explore page
            models.Index(fields=["is_public", "-created_at", "-id"], name="image_public_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"

    def stored_keys(self) -> list[str]:
        """Every object in storage that belongs to this picture (deletion, the orphan sweep and
        check_invariants all read this list)."""
        return [key for key in (getattr(self, field) for field in STORED_KEY_FIELDS) if key]

    @property
    def is_publicly_visible(self) -> bool:
        return all(getattr(self, field) == value for field, value in PUBLICLY_VISIBLE.items())

    def is_visible_to(self, user) -> bool:
        """The same rule as `Image.objects.visible_to`, for a picture already loaded."""
        owns = user is not None and user.is_authenticated and self.owner_id == user.pk
        return owns or self.is_publicly_visible


class Album(models.Model):
    """A board: a named set of one user's images. Deleting it keeps the images."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="albums")
    name = models.CharField(max_length=80)
    images = models.ManyToManyField(Image, through="AlbumItem", related_name="albums")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="album_unique_name_per_owner")]

    def __str__(self) -> str:
        return self.name


class AlbumItem(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE)
    image = models.ForeignKey(Image, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["album", "image"], name="album_item_unique")]


# --- credits: an append-only ledger and a cached balance, both written by gallery.credits ---


class CreditAccount(models.Model):
    """The cached balance of one user; changed only with its ledger row, under a row lock."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_account")
    balance = models.IntegerField(default=0)
    last_daily_topup = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_non_negative")]

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

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_transactions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.IntegerField()
    balance_after = models.IntegerField()
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_transactions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason_code = models.CharField(max_length=24, choices=Reason.choices)
    reason = models.CharField(max_length=255, blank=True)
    is_automatic = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

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

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} → {self.balance_after}"


class SignupAttempt(models.Model):
    """One sign-up from one address, counted by gallery.signups for SIGNUP_RATE_PER_IP; rows
    older than the window are deleted as new ones come."""

    ip = models.GenericIPAddressField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["ip", "created_at"], name="signup_attempt_ip_recent")]


# --- moderation and audit ---


class SensitiveCategory(models.Model):
    """A kind of content the sensitive-word list refuses, switched on or off as a whole by staff.

    The rows are the codes below, made by migration 0010; staff change only `is_active` and
    `mode`. Minors are always screened and always blocked (`clean` refuses anything else, and
    gallery.moderation enforces it too, whatever the row says)."""

    class Code(models.TextChoices):
        SEXUAL = "sexual", _("Sexual content")
        MINORS = "minors", _("Sexualisation of minors")
        VIOLENCE = "violence", _("Violence and gore")
        SELF_HARM = "self_harm", _("Self-harm and suicide")
        DRUGS_WEAPONS = "drugs_weapons", _("Drugs, weapons and explosives")
        GAMBLING = "gambling", _("Gambling")
        FRAUD = "fraud", _("Fraud and counterfeiting")
        HATE = "hate", _("Hate and discrimination")
        OTHER = "other", _("Other (staff's own words)")

    class Mode(models.TextChoices):
        PER_WORD = "", _("Each word's own mode")
        BLOCK = "block", _("Block every word")
        MASK = "mask", _("Mask every word")

    code = models.CharField(_("category"), max_length=16, primary_key=True, choices=Code.choices)
    is_active = models.BooleanField(_("screened"), default=True)
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, blank=True, default=Mode.PER_WORD)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("sensitive-word category")
        verbose_name_plural = _("sensitive-word categories")

    def __str__(self) -> str:
        return str(self.Code(self.code).label) if self.code in self.Code.values else self.code

    def clean(self) -> None:
        if self.code == self.Code.MINORS and (not self.is_active or self.mode == self.Mode.MASK):
            raise ValidationError(_("Sexualisation of minors is always screened and always blocked."))


class SensitiveWord(models.Model):
    class Mode(models.TextChoices):
        BLOCK = "block", _("Block the prompt")
        MASK = "mask", _("Mask the word")
        # An exception: a longer phrase that contains a listed word but is harmless ("路口交通"
        # contains "口交", "rape flowers" contains "rape"); a match inside it is ignored.
        ALLOW = "allow", _("Allow (an exception)")

    word = models.CharField(_("word"), max_length=64, unique=True)
    category = models.ForeignKey(
        SensitiveCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        default=SensitiveCategory.Code.OTHER,
        related_name="words",
    )
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.MASK)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    # With the row counts, tells gallery.moderation that its matcher is out of date.
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["word"]
        verbose_name = _("sensitive word")
        verbose_name_plural = _("sensitive words")

    def __str__(self) -> str:
        return self.word


class Report(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("report status", "Open")
        HIDDEN = "hidden", _("Image hidden")
        DISMISSED = "dismissed", _("Dismissed")

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["image", "reporter"], name="report_once_per_user")]


class AuditAction(models.TextChoices):
    """What an audit entry records; `gallery.audit` is the only writer."""

    JOB_REFUNDED = "job.refunded", _("Job refunded")
    JOB_REFUNDED_MANUALLY = "job.refunded_manually", _("Job refunded by staff")
    JOB_RETRIED = "job.retried", _("Job retried")
    CREDITS_GRANTED = "credits.granted", _("Credits granted by staff")
    CREDITS_ADJUSTED = "credits.adjusted", _("Credits adjusted by staff")
    REPORT_HIDDEN = "report.hidden", _("Report upheld, picture hidden")
    REPORT_DISMISSED = "report.dismissed", _("Report dismissed")
    IMAGE_HIDDEN = "image.hidden", _("Picture hidden")
    IMAGE_UNHIDDEN = "image.unhidden", _("Picture shown again")
    INSPIRATION_FEATURED = "inspiration.featured", _("Picture featured")
    INSPIRATION_UNFEATURED = "inspiration.unfeatured", _("Picture no longer featured")
    SENSITIVE_WORD_ADDED = "sensitive_word.added", _("Sensitive word added")
    SENSITIVE_WORD_CHANGED = "sensitive_word.changed", _("Sensitive word changed")
    SENSITIVE_WORD_DELETED = "sensitive_word.deleted", _("Sensitive word deleted")
    SENSITIVE_WORDS_IMPORTED = "sensitive_words.imported", _("Sensitive words imported")
    SENSITIVE_CATEGORY_CHANGED = "sensitive_category.changed", _("Sensitive-word category changed")


class AuditEntry(models.Model):
    """Who did what to which object, for staff actions and money moves. Written only by
    `gallery.audit.record`; action names are dotted and stable."""

    Action = AuditAction

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, choices=Action.choices)
    # What the action was done to, as pretix's log entries name it: the model's label and the
    # primary key. `job` is kept beside it as a real foreign key for the job pages and the admin.
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="audit_subject")]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="audit_action_known"),
        ]


# --- inspiration gallery ---


class Tag(models.Model):
    slug = models.SlugField(unique=True)
    name_zh = models.CharField(max_length=32)
    name_en = models.CharField(max_length=32)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class InspirationEntry(models.Model):
    """A prompt worth borrowing: one of the curated seven, or a public work staff featured."""

    position = models.PositiveIntegerField(default=0)
    prompt_zh = models.TextField(blank=True)
    prompt_en = models.TextField(blank=True)
    is_curated = models.BooleanField(default=False)
    # The rendered picture (curated entries: rendered by `render_inspiration`; featured: the work).
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="inspirations")
    tags = models.ManyToManyField(Tag, blank=True, related_name="entries")
    featured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["image"], condition=Q(is_curated=False), name="inspiration_feature_once"),
        ]
        verbose_name_plural = "inspiration entries"

    def __str__(self) -> str:
        return (self.prompt_zh or self.prompt_en)[:40]
