"""One row per task the offline engine accepted (the provider's side of a job)."""

from __future__ import annotations

import uuid

from django.db import models


def new_uid() -> str:
    # 32 hex characters, like the uid in the API document's callback example.
    return uuid.uuid4().hex


class EngineTask(models.Model):
    class Status(models.TextChoices):
        # The backend's vocabulary (docs/provider-protocol.md, "Status and interrupt").
        PENDING = "pending", "pending"
        WORKING = "working", "working"
        FINISHED = "finished", "finished"
        EXCEPTION = "exception", "exception"
        INTERRUPTED = "interrupted", "interrupted"

    uid = models.CharField(max_length=32, unique=True, default=new_uid, editable=False)
    kind = models.CharField(max_length=16)  # a name of engine/kinds.py: txt2img, upscale...
    task = models.CharField(max_length=32)  # txt2img.sd | img2img.sd | img2img.anime | img2img.sr
    # The validated parameters the task runs with (prompt masked, markers removed, seed resolved).
    params = models.JSONField(default=dict)
    faults = models.JSONField(default=dict, blank=True)
    notify_url = models.TextField(blank=True, default="")
    # Where this engine is reachable for the one who submitted ("http://host:port/engine"),
    # so the result URLs in the callback point back at us.
    public_base = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    result_name = models.CharField(max_length=32, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    # The callback body, kept so the status call can answer with the same `data`.
    callback_body = models.JSONField(null=True, blank=True)
    callback_attempts = models.PositiveIntegerField(default=0)
    callbacks_delivered = models.PositiveIntegerField(default=0)
    callback_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    called_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The queue position of a pending task counts the pending tasks created before it.
        indexes = [models.Index(fields=["status", "created_at"], name="engine_task_queue")]

    def __str__(self) -> str:
        return f"{self.task} {self.uid} ({self.status})"
