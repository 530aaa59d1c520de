"""What the API answers, as schemas for the OpenAPI document. The values themselves are made
by gallery/representations.py (the same JSON the webhooks send)."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ImageUrls(Schema):
    thumbnail: str | None
    preview: str | None
    original: str


class ImageOut(Schema):
    id: str
    job_id: str | None
    kind: str
    prompt: str
    negative_prompt: str
    params: dict[str, Any]
    width: int
    height: int
    size_bytes: int
    created_at: str
    is_public: bool
    is_favourite: bool
    rating: int
    source_image_id: str | None
    made_by: str
    is_procedural: bool
    label: dict[str, str]
    urls: ImageUrls


class Wait(Schema):
    position: int | None
    typical_seconds: float | None
    overdue: bool
    gives_up_at: str | None
    saving: bool
    # Queued behind the owner's own jobs (the fair queue): sent when one of them ends.
    waiting_for_share: bool


class Failure(Schema):
    category: str
    message: str
    details: str
    refunded: bool


class JobOut(Schema):
    id: str
    kind: str
    status: str
    prompt: str
    params: dict[str, Any]
    cost: int
    created_at: str
    submitted_at: str | None
    finished_at: str | None
    retry_of: str | None
    webhook_url: str | None
    wait: Wait | None
    failure: Failure | None
    image: ImageOut | None


class JobPage(Schema):
    items: list[JobOut]
    next_cursor: str | None


class ImagePage(Schema):
    items: list[ImageOut]
    next_cursor: str | None


class Balance(Schema):
    balance: int


class LedgerRow(Schema):
    id: int
    kind: str
    reason_code: str
    amount: int
    balance_after: int
    job_id: str | None
    created_at: str


class LedgerPage(Schema):
    items: list[LedgerRow]
    next_cursor: str | None


class WebhookAttemptOut(Schema):
    number: int
    at: str
    status_code: int | None
    error: str
    duration_ms: int


class WebhookDeliveryOut(Schema):
    id: str
    event: str
    url: str
    state: str
    attempts: list[WebhookAttemptOut]
    created_at: str
    next_attempt_at: str | None
    delivered_at: str | None
