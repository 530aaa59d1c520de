"""Ingest: turn a recorded callback into a finished job.

Runs in a worker after the callback view has answered. The slow part (download, verify,
thumbnails, upload to S3) happens outside any transaction; then, under the job's row lock,
the image row is written and the job moves on. Safe to run any number of times: the second
run finds the job finished (or its image present) and deletes what it had just uploaded, and
the one-to-one Image.job column makes two images for one job impossible.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from PIL import Image as PILImage

from . import fetch, imaging, jobs, kinds, labels, media, provenance
from .callbacks import Callback, CallbackInvalid, from_body
from .models import Image, Job, JobFailure, JobStatus
from .retrying import Retry, backoff

logger = logging.getLogger(__name__)


class IngestRetry(Exception):
    """Try again later. `ours` is True when our own object store failed: that must never
    fail a job (tasks.ingest_result retries it with no limit on the count); otherwise the
    provider's image host was busy or slow, which is retried a bounded number of times."""

    def __init__(self, message: str, *, ours: bool = False):
        super().__init__(message)
        self.ours = ours


@dataclass(frozen=True)
class StoredObjects:
    # The id the Image row will have: it is the ProduceID in the label of all three files.
    image_id: UUID
    original_key: str
    thumb_key: str
    preview_key: str
    width: int
    height: int
    size_bytes: int

    def keys(self) -> list[str]:
        return [self.original_key, self.thumb_key, self.preview_key]


def ingest_result(*, job_id: UUID | str) -> str:
    """Apply the job's recorded callback; returns what happened (for logs and tests)."""
    job = Job.objects.get(id=job_id)
    delivery = jobs.delivery_to_apply(job)
    if delivery is None:
        return "nothing to apply"
    if job.status not in (JobStatus.SUBMITTED, JobStatus.TIMED_OUT):
        return f"already {job.status}"
    try:
        callback = from_body(delivery.body)
    except CallbackInvalid as exc:  # recorded bodies were validated; keep going if one was not
        jobs.fail(job_id=job.id, reason=f"unreadable callback: {exc}", failure=JobFailure.SERVICE_FAILED)
        return "failed"
    if not callback.success:
        if job.status == JobStatus.SUBMITTED:
            jobs.fail(job_id=job.id, reason=callback.reason or "the provider reported a failure")
        return "failed"
    if callback.safe is False:
        if job.status == JobStatus.SUBMITTED:
            jobs.mark_unsafe(job_id=job.id, reason=callback.reason or "unsafe content")
        return "unsafe"
    if hasattr(job, "image"):
        return "already has its image"
    return _deliver(job=job, callback=callback)


def _deliver(*, job: Job, callback: Callback) -> str:
    """Store the picture from the first of its copies (cos, then cdn) that works. Only when
    every copy failed on the provider's side is the job failed; if any failure may pass (a
    busy host), ingest is retried; our own store failing raises IngestRetry(ours=True)."""
    stored, retryable, permanent = None, None, ""
    for url in callback.image_urls:
        try:
            stored = download_and_store(
                url=url,
                folder=f"images/{job.owner_id}",
                source_produce_id=source_produce_id(job),
                generator=made_by(job=job, callback=callback)[0],
            )
            break
        except fetch.FetchError as exc:
            if exc.retryable:
                retryable = exc
            else:
                permanent = f"the result image could not be fetched: {exc}"
        except imaging.ImageRejected as exc:
            permanent = f"the result is not a usable image: {exc}"
    if stored is None:
        if retryable is not None:
            raise IngestRetry(str(retryable)) from retryable
        jobs.fail(job_id=job.id, reason=permanent, failure=JobFailure.DOWNLOAD_FAILED)
        return "failed"
    try:
        created = attach_image(job_id=job.id, stored=stored, callback=callback)
    except Exception:
        media.delete(stored.keys())
        raise
    if not created:
        media.delete(stored.keys())
        return "duplicate"
    return "succeeded"


def source_produce_id(job: Job) -> str:
    """The ProduceID of the job's source picture, which the result's label names in ReservedCode1:
    the uploaded source's own label, or our id of the gallery picture it started from."""
    if job.source_label and job.source_label.get("ProduceID"):
        return str(job.source_label["ProduceID"])
    return str(job.source_image_id) if job.source_image_id else ""


def download_and_store(*, url: str, folder: str, source_produce_id: str = "", generator: str = "") -> StoredObjects:
    """Fetch (SSRF-guarded), verify, make WebP thumbnails and upload all three, labelled.

    Raises fetch.FetchError, imaging.ImageRejected, or IngestRetry when the object store
    cannot take the upload (nothing is left half-written: uploaded keys are removed)."""
    fetched = fetch.fetch(
        url,
        allowed_hosts=settings.INGEST_ALLOWED_HOSTS,
        private_hosts_allowed=settings.INGEST_PRIVATE_HOSTS_ALLOWED,
        max_bytes=settings.INGEST_MAX_BYTES,
        connect_timeout=settings.INGEST_CONNECT_TIMEOUT,
        read_timeout=settings.INGEST_READ_TIMEOUT,
        max_redirects=settings.INGEST_MAX_REDIRECTS,
    )
    # One decode serves the check and both thumbnails: cProfile of a 2048² PNG showed PNG decoding
    # as 0.30 s of 0.41 s when each step decoded again; libvips does that decode and the scaling
    # now (gallery/imaging.py says why).
    clean, pixels = imaging.verify_and_load(
        fetched.data, max_pixels=settings.IMAGE_MAX_PIXELS, max_bytes=settings.INGEST_MAX_BYTES
    )
    return store_labelled(
        clean=clean, pixels=pixels, folder=folder, source_produce_id=source_produce_id, generator=generator
    )


def store_labelled(
    *,
    clean: imaging.CleanImage,
    pixels: PILImage.Image | Any,
    folder: str,
    source_produce_id: str = "",
    generator: str = "",
) -> StoredObjects:
    """Label a verified picture (GB 45438-2025, gallery/labels.py) and upload it with its WebP
    thumbnail and preview (made from `pixels`, its decoded first frame, by Pillow or libvips),
    each carrying the same label; with a C2PA certificate configured the original also gets a signed manifest naming
    `generator` (gallery/provenance.py). Raises IngestRetry(ours=True)."""
    image_id = uuid.uuid4()
    label = labels.for_generated(produce_id=str(image_id), source_produce_id=source_produce_id)
    original = labels.embed(clean.data, label=label, image_format=clean.format)
    if provenance.enabled():
        title = f"{image_id}.{clean.extension}"
        original = provenance.sign(original, image_format=clean.format, generator=generator or "AI", title=title)
    packet = labels.xmp_packet(label)
    pool = _upload_pool()
    # The original goes out while the two thumbnails are made, each in a thread of its own and
    # uploaded there as soon as it is ready (libvips lets go of the GIL while it encodes).
    futures = [pool.submit(_put, folder, clean.extension, original)]
    for name in ("thumb", "preview"):
        futures.append(pool.submit(_make_and_put, pixels, imaging.THUMBNAIL_SIDES[name], packet, folder))
    uploaded = [future.result() for future in futures if future.exception() is None]
    errors = [future.exception() for future in futures if future.exception() is not None]
    if errors:
        _delete_quietly(uploaded)
        not_the_store = next((error for error in errors if not isinstance(error, _StoreFailed)), None)
        if not_the_store is not None:
            raise not_the_store
        cause = errors[0].__cause__
        raise IngestRetry(f"object storage unavailable: {cause}", ours=True) from cause
    return StoredObjects(
        image_id=image_id,
        original_key=uploaded[0],
        thumb_key=uploaded[1],
        preview_key=uploaded[2],
        width=clean.width,
        height=clean.height,
        size_bytes=len(original),
    )


# The three uploads go out from threads kept for the life of the process. django-storages keeps
# one boto3 connection per thread (S3Storage.connection is thread-local), so the pool made per
# ingest before built three boto3 sessions every time: cProfile of gallery.tasks.ingest_result on
# a 512² PNG (PostgreSQL + Redis, idle) showed 0.80 s of its 0.90 s waiting for those threads; a
# put from a fresh thread took 132 ms, from a kept one 15 ms. All three threads are started and
# connected when the pool is made, so only a process's first ingest pays for that.
_UPLOAD_THREADS = 3
_uploads: tuple[int, ThreadPoolExecutor] | None = None
_uploads_lock = threading.Lock()


def _upload_pool() -> ThreadPoolExecutor:
    """This process's upload threads, made on first use (a forked worker makes its own)."""
    global _uploads
    with _uploads_lock:
        if _uploads is None or _uploads[0] != os.getpid():
            pool = ThreadPoolExecutor(_UPLOAD_THREADS, thread_name_prefix="ingest-upload")
            started = threading.Barrier(_UPLOAD_THREADS)
            for future in [pool.submit(_connect, started) for _ in range(_UPLOAD_THREADS)]:
                future.result()
            _uploads = (os.getpid(), pool)
        return _uploads[1]


class _StoreFailed(Exception):
    """An upload failed (the cause says why), as opposed to making the thumbnail."""


def _put(folder: str, extension: str, data: bytes) -> str:
    try:
        return media.put(folder=folder, extension=extension, data=data)
    except Exception as exc:
        raise _StoreFailed() from exc


def _make_and_put(pixels: PILImage.Image | Any, side: int, packet: bytes, folder: str) -> str:
    webp, _, _ = imaging.make_webp(pixels, max_side=side, xmp=packet)
    return _put(folder, "webp", webp)


def _connect(started: threading.Barrier) -> None:
    """Make this thread's storage connection (one HEAD of a key that is not there). A pool starts
    a thread only when none is idle, so the barrier keeps each busy until all three run; without
    it one thread could stay unconnected and one later ingest in eight took 0.4-0.9 s."""
    started.wait(timeout=30)
    try:
        media.exists(f"connect/{uuid.uuid4().hex}")
    except Exception:  # the store is down: the ingest's own uploads will say so
        logger.info("upload thread: the object store did not answer", exc_info=True)


def _delete_quietly(keys: list[str]) -> None:
    try:
        media.delete(keys)
    except Exception:  # the store is down; the orphans are random keys nobody references
        logger.warning("could not remove %d orphaned objects", len(keys))


def made_by(*, job: Job, callback: Callback) -> tuple[str, bool]:
    """Who made the pixels, for an honest label on the image page."""
    model = (callback.request or {}).get("model") or {}
    label = model.get("engine_label") if isinstance(model, dict) else None
    if label:
        return str(label), bool(model.get("procedural"))
    if settings.ENGINE_ENABLED and settings.APISPACE_BASE_URL.startswith(settings.SITE_URL):
        kind = kinds.get(job.kind)
        return "Offline engine", kind is not None and kind.is_procedural_offline
    return "APISpace AI 绘画", False


def attach_image(*, job_id: UUID | str, stored: StoredObjects, callback: Callback) -> bool:
    """Write the Image and finish the job, under the lock; False if it was done already."""
    with transaction.atomic():
        job = jobs.lock_with_account(job_id=job_id)
        if job.status not in (JobStatus.SUBMITTED, JobStatus.TIMED_OUT) or Image.objects.filter(job=job).exists():
            return False
        label, procedural = made_by(job=job, callback=callback)
        params = dict(job.params)
        try:
            with transaction.atomic():
                Image.objects.create(
                    id=stored.image_id,
                    owner_id=job.owner_id,
                    job=job,
                    kind=job.kind,
                    prompt=job.prompt,
                    negative_prompt=str(params.get("negative_prompt", "")),
                    params=params,
                    source_image=job.source_image,
                    width=stored.width,
                    height=stored.height,
                    size_bytes=stored.size_bytes,
                    original_key=stored.original_key,
                    thumb_key=stored.thumb_key,
                    preview_key=stored.preview_key,
                    made_by=label,
                    is_procedural=procedural,
                    source_label=job.source_label,
                    provider_duration=callback.duration,
                )
        except IntegrityError:
            return False
        jobs.succeed(job=job, duration=callback.duration)
        return True


# The provider's image host is given this many tries; our own object store is retried with no
# limit on the count (the picture is safe at the provider), at most every
# INGEST_MAX_RETRY_SECONDS (5 minutes by default).
INGEST_ATTEMPTS = 6


def retry_after(exc: IngestRetry, *, job_id: UUID | str, attempt: int) -> Retry | None:
    """When to try an ingest again after `exc`, or None when the job has been failed (the
    provider's host kept failing for INGEST_ATTEMPTS tries). Our own outage never fails a job:
    it is logged as an error for the operator and retried; meanwhile the owner sees the job as
    "Saving your picture…" and /healthz/ready counts it (Job.is_saving)."""
    if exc.ours:
        logger.error("object storage unavailable, ingest of %s waits (attempt %d): %s", job_id, attempt, exc)
        return backoff(attempt, base=10, cap=settings.INGEST_MAX_RETRY_SECONDS)
    if attempt >= INGEST_ATTEMPTS:
        reason = f"the result image could not be fetched: {exc}"
        jobs.fail(job_id=job_id, reason=reason, failure=JobFailure.DOWNLOAD_FAILED)
        return None
    logger.warning("ingest of %s will be retried: %s", job_id, exc)
    return backoff(attempt, base=10)
