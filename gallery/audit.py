"""The audit log: who did what to which object, for staff actions and money moves.

`record` is the only writer of `AuditEntry` (pretix's `LoggedModel.log_action` is the model:
one call, a named action, the object it was done to and a little structured data). Call it
inside the transaction that makes the change, so an entry exists exactly when the change does.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .models import AuditAction, AuditEntry, Job

Action = AuditAction


def _job_of(subject: models.Model | None) -> Job | None:
    """The job an entry concerns, kept as a foreign key so the job's page and the admin can
    list its history: the subject itself, or the job it came from (a picture, a ledger row)."""
    if subject is None:
        return None
    if isinstance(subject, Job):
        return subject
    job_id = getattr(subject, "job_id", None)
    return Job(pk=job_id) if job_id else None


def record(
    actor: AbstractBaseUser | None,
    action: AuditAction,
    subject: models.Model | None = None,
    **data: Any,
) -> AuditEntry:
    """Write one audit entry. `data` is stored as JSON (UUIDs, dates and decimals as strings)."""
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        job=_job_of(subject),
        data=json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
    )


def latest(action: AuditAction, subject: models.Model) -> AuditEntry | None:
    """The newest entry of `action` done to `subject`, or None."""
    return (
        AuditEntry.objects.filter(action=action, subject_type=subject._meta.label_lower, subject_id=str(subject.pk))
        .order_by("-created_at", "-id")
        .first()
    )


def history(subject: models.Model):
    """Every entry about `subject`, newest first."""
    return AuditEntry.objects.filter(subject_type=subject._meta.label_lower, subject_id=str(subject.pk)).order_by(
        "-created_at", "-id"
    )
