"""Jobs and the callbacks that end them; `gallery.jobs` alone writes `Job.status`."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import kinds

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


class JobFailure(models.TextChoices):
    """Why a failed job failed, in words a user understands (the provider's own are kept in
    `error_reason`, shown behind "details")."""

    REFUSED = "refused", _("The image service refused the request")
    SERVICE_FAILED = "service_failed", _("The image service failed")
    UNAVAILABLE = "unavailable", _("The image service could not be reached")
    DOWNLOAD_FAILED = "download_failed", _("The picture could not be downloaded")


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
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs", verbose_name=_("owner")
    )
    kind = models.CharField(max_length=16, choices=kinds.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, verbose_name=_("status")
    )
    # The validated form parameters, in the provider's vocabulary (text, w, h, num_steps...).
    params = models.JSONField(default=dict, verbose_name=_("parameters"))
    # The prompt as sent (after masking), kept apart for search and display.
    prompt = models.TextField(blank=True, verbose_name=_("prompt"))
    # Where the input picture of img2img/anime/upscale lives in our storage.
    source_key = models.CharField(max_length=255, blank=True, verbose_name=_("source object key"))
    source_image = models.ForeignKey(
        "Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_jobs",
        verbose_name=_("source picture"),
    )
    # The TC260 label (GB 45438-2025) an uploaded source carried, as we passed it on (the
    # producer's fields with ourselves as propagator; gallery/labels.py): None when the source
    # was not uploaded, {} when the upload carried no label.
    source_label = models.JSONField(null=True, blank=True)
    cost = models.PositiveIntegerField(default=0, verbose_name=_("cost"))
    provider_task_id = models.CharField(
        max_length=128, null=True, blank=True, unique=True, verbose_name=_("provider task id")
    )
    provider_response = models.JSONField(null=True, blank=True, verbose_name=_("provider response"))
    submit_attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("submission attempts"))
    # Set when a worker claims the job for the POST; see jobs.claim_for_submission.
    submit_claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed for submission at"))
    error_reason = models.TextField(blank=True, verbose_name=_("error"))
    failure = models.CharField(max_length=16, choices=JobFailure.choices, blank=True, verbose_name=_("failure"))
    # A user's "Try again" (or staff's retry) makes a new job; it points back here.
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        verbose_name=_("new try of"),
    )
    # The jobs of one submission of several pictures share a batch (each its own job and charge),
    # numbered from 0 in the order they were made; a job made alone has none.
    batch = models.UUIDField(null=True, blank=True, verbose_name=_("batch"))
    batch_index = models.PositiveSmallIntegerField(default=0, verbose_name=_("place in its batch"))
    provider_duration = models.FloatField(null=True, blank=True, verbose_name=_("provider duration (s)"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    submitted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("submitted at"))
    callback_received_at = models.DateTimeField(null=True, blank=True, verbose_name=_("callback received at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # "my jobs", newest first
            models.Index(fields=["owner", "-created_at"], name="job_owner_recent"),
            # the timeout sweep: submitted jobs by age
            models.Index(fields=["status", "submitted_at"], name="job_status_submitted"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "batch_index"], condition=models.Q(batch__isnull=False), name="job_batch_place_unique"
            ),
        ]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")

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

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("job"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))
    body = models.JSONField(verbose_name=_("body"))
    success = models.BooleanField(verbose_name=_("success"))
    safe = models.BooleanField(null=True, verbose_name=_("safe"))
    outcome = models.CharField(max_length=16, choices=Outcome.choices, verbose_name=_("outcome"))

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("callback delivery")
        verbose_name_plural = _("callback deliveries")
