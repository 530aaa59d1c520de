"""Moderation (sensitive words, reports) and the audit log (written only by `gallery.audit`)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .images import Image
from .jobs import Job


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

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="reports", verbose_name=_("picture"))
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("reporter")
    )
    reason = models.CharField(max_length=255, verbose_name=_("reason"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, verbose_name=_("status"))
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("handled at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["image", "reporter"], name="report_once_per_user")]
        verbose_name = _("report")
        verbose_name_plural = _("reports")


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
    IMAGES_TRASHED = "images.trashed", _("Pictures moved to the trash")
    IMAGES_RESTORED = "images.restored", _("Pictures restored from the trash")
    IMAGES_PURGED = "images.purged", _("Pictures deleted for good")
    API_TOKEN_CREATED = "api_token.created", _("API token created")
    API_TOKEN_REVOKED = "api_token.revoked", _("API token revoked")


class AuditEntry(models.Model):
    """Who did what to which object, for staff actions and money moves. Written only by
    `gallery.audit.record`; action names are dotted and stable."""

    Action = AuditAction

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(max_length=64, choices=Action.choices, verbose_name=_("action"))
    # What the action was done to, as pretix's log entries name it: the model's label and the
    # primary key. `job` is kept beside it as a real foreign key for the job pages and the admin.
    subject_type = models.CharField(max_length=64, blank=True, verbose_name=_("subject type"))
    subject_id = models.CharField(max_length=64, blank=True, verbose_name=_("subject id"))
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries", verbose_name=_("job")
    )
    data = models.JSONField(default=dict, verbose_name=_("data"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="audit_subject")]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="audit_action_known"),
        ]
