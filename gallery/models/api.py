"""Data of the JSON API: personal access tokens, the jobs made through them, remembered
idempotency keys and webhook deliveries. The rules live in gallery/api_tokens.py,
gallery/idempotency.py and gallery/webhooks.py."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .jobs import Job


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and create jobs")


class ApiToken(models.Model):
    """A personal access token. Only its SHA-256 digest is stored: the token itself is shown
    once, when it is made. The webhook secret signs the callbacks of the jobs it creates, so
    it is kept as it is (a signature cannot be made from a digest)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("owner")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    scope = models.CharField(max_length=8, choices=TokenScope.choices, verbose_name=_("scope"))
    # The first characters of the token, so a person can tell their tokens apart in a list.
    prefix = models.CharField(max_length=16, verbose_name=_("starts with"))
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("SHA-256 digest"))
    webhook_secret = models.CharField(max_length=64, editable=False, verbose_name=_("webhook signing secret"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="apitoken_owner_recent")]
        constraints = [
            models.CheckConstraint(condition=models.Q(scope__in=TokenScope.values), name="apitoken_scope_known"),
            models.CheckConstraint(condition=~models.Q(name=""), name="apitoken_named"),
        ]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def can_create(self) -> bool:
        return self.scope == TokenScope.WRITE


class ApiSubmission(models.Model):
    """A job created through the API: the token that made it and where to tell when it ends."""

    job = models.OneToOneField(
        Job, on_delete=models.CASCADE, primary_key=True, related_name="api_submission", verbose_name=_("job")
    )
    token = models.ForeignKey(
        ApiToken, null=True, on_delete=models.SET_NULL, related_name="submissions", verbose_name=_("token")
    )
    webhook_url = models.URLField(max_length=2000, blank=True, verbose_name=_("webhook URL"))
    # The language the job was asked for in (Accept-Language): its webhook bodies speak it too.
    language = models.CharField(max_length=16, blank=True, verbose_name=_("language"))

    class Meta:
        verbose_name = _("API submission")
        verbose_name_plural = _("API submissions")


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a user sent with a create, and the answer it got. `status_code` is
    null while the first request with the key is still being handled."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the operation and its canonical body: the same key with another body is refused.
    fingerprint = models.CharField(max_length=64)
    job = models.ForeignKey(Job, null=True, on_delete=models.CASCADE, related_name="+")
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_once_per_owner")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_age")]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")


class WebhookState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Gave up")


class WebhookDelivery(models.Model):
    """One event (a job ended) to be POSTed to the job's webhook URL, with its attempts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="webhook_deliveries", verbose_name=_("job"))
    url = models.URLField(max_length=2000, verbose_name=_("URL"))
    event = models.CharField(max_length=32, verbose_name=_("event"))
    # The JSON sent, fixed when the event happened, so every retry sends the same body.
    body = models.TextField(verbose_name=_("body"))
    state = models.CharField(
        max_length=16, choices=WebhookState.choices, default=WebhookState.PENDING, verbose_name=_("state")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_due")]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=WebhookState.values), name="webhook_state_known"),
            models.CheckConstraint(
                condition=~models.Q(state=WebhookState.DELIVERED) | models.Q(delivered_at__isnull=False),
                name="webhook_delivered_has_time",
            ),
        ]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")


class WebhookAttempt(models.Model):
    """One POST of a delivery: what the receiver answered, or why there was no answer."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    number = models.PositiveSmallIntegerField(verbose_name=_("attempt"))
    at = models.DateTimeField(auto_now_add=True, verbose_name=_("at"))
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("HTTP status"))
    error = models.CharField(max_length=200, blank=True, verbose_name=_("error"))
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=_("duration (ms)"))

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
