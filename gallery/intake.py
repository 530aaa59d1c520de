"""Intake: from a valid job form to a queued, paid job.

The steps run cheapest first, so that a job which will be refused costs us nothing:

1. the prompt and the negative prompt are screened against the sensitive-word list;
2. the owner's limits and balance are checked (`jobs.check_can_start`: reads, no lock), so
   a user with no credit, or over the rate limit, is refused before step 3, however often
   they try;
3. only then is an uploaded source decoded, cleaned (upright, metadata stripped, re-encoded)
   and stored, and the source checked against the kind's largest side;
4. `jobs.create_job` creates the job and debits it in one transaction, checking the limits
   and the balance again under the account lock (step 2 only refuses early; two requests
   racing past it still cannot overdraw). If that fails, the stored upload is deleted.

Errors are the domain's own, with messages safe to show: moderation.PromptBlocked,
imaging.ImageRejected (the upload is not a picture we take), SourceTooLarge,
credits.InsufficientCredits and jobs.RateLimited. Nothing is charged or kept when one is raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.files import File
from django.utils.translation import gettext_lazy as _

from . import imaging, jobs, kinds, labels, media, moderation
from .models import Image, Job

logger = logging.getLogger(__name__)

SEED_RANGE = 2**32  # the API's seeds are 0 .. 2**32-1


# How long a refused upload is kept for "scale it first" (the orphan sweep removes it later).
KEPT_SOURCE_SECONDS = 3600
_KEPT_SALT = "gallery.intake.kept-source"


class SourceTooLarge(jobs.JobError):
    """The source is larger than the kind takes. The same source scaled down keeping its shape
    is offered instead (`scale_down=True`); `kept_key` is where a refused upload was kept so that
    the offer needs no second upload (see `keep_token`)."""

    def __init__(self, *, width: int, height: int, max_side: int, kept_key: str = ""):
        super().__init__(
            _("The picture is %(w)dx%(h)d; at most %(max)dx%(max)d is accepted here.")
            % {"w": width, "h": height, "max": max_side}
        )
        self.max_side, self.kept_key = max_side, kept_key


def keep_token(*, key: str, owner: AbstractBaseUser) -> str:
    """A signed note of a kept upload for the form to send back: only its owner, and only for
    KEPT_SOURCE_SECONDS, can start a job from it."""
    return signing.dumps({"key": key, "owner": owner.pk}, salt=_KEPT_SALT, compress=True)


def kept_key(token: str, *, owner: AbstractBaseUser) -> str | None:
    """The key of the upload a `keep_token` names, or None (forged, expired, someone else's)."""
    try:
        found = signing.loads(token, salt=_KEPT_SALT, max_age=KEPT_SOURCE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(found, dict) or found.get("owner") != owner.pk:
        return None
    key = str(found.get("key", ""))
    return key if key.startswith(f"sources/{owner.pk}/") else None


@dataclass(frozen=True)
class Started:
    # The jobs made, in order: one, or the pictures of a batch.
    jobs: tuple[Job, ...]
    # Some words of the prompt were masked (the user is told so).
    masked_words: bool
    # The source was larger than the kind takes and was scaled down: (from, to) sizes.
    scaled: tuple[tuple[int, int], tuple[int, int]] | None = None

    @property
    def job(self) -> Job:
        return self.jobs[0]


def start_from_form(*, owner: AbstractBaseUser, kind: kinds.Kind, form: Any) -> Started:
    """`start_job` with what a valid job form of `kind` holds: the one reading of a form's
    fields for the job form page, the studio and the API (which submits the same forms)."""
    data = form.cleaned_data
    return start_job(
        owner=owner,
        kind=kind.name,
        params=form.to_params(),
        upload=data.get("source_upload"),
        source_image=data.get("source_image"),
        count=data.get("count") or 1,
        kept_source=data.get("kept_source") or "",
        scale_down=bool(data.get("scale_down")),
    )


def start_job(
    *,
    owner: AbstractBaseUser,
    kind: str,
    params: dict[str, Any],
    upload: File | None = None,
    source_image: Image | None = None,
    count: int = 1,
    kept_source: str = "",
    scale_down: bool = False,
) -> Started:
    """Screen, check, store the source and create the job (the steps above), or `count` jobs
    of one batch, all or none (each its own job and charge).

    `params` are the form's, in the provider's vocabulary (`text` is the prompt); `upload`
    is the file as received, `source_image` one of the owner's pictures (one of the two for
    the kinds that start from a picture). Each call makes new jobs. The pictures of a batch
    differ by their seed: the n-th (from 0) has the form's seed + n, so each one can be made
    again exactly from its own page.

    A source larger than the kind takes is scaled down keeping its shape when the kind fits
    large sources or the user asked (`scale_down`), else refused (SourceTooLarge; an upload is
    kept first, and `kept_source`, its key from `kept_key`, starts the job from it later)."""
    job_kind = kinds.get(kind)
    if job_kind is None:
        raise ValueError(f"unknown kind {kind!r}")
    if upload is not None and source_image is not None:
        raise ValueError("an upload or a gallery picture, not both")
    if not 1 <= count <= settings.BATCH_MAX:
        raise ValueError(f"a batch of {count} pictures; at most {settings.BATCH_MAX}")
    params = dict(params)
    masked_words = _screen(params)
    jobs.check_can_start(owner=owner, kind=kind, count=count)
    source_key, stored_key, scaled = "", "", None
    source_label: dict[str, str] | None = None
    folder = f"sources/{owner.pk}"
    if upload is not None:
        data = upload.read()
        clean = imaging.clean_image(data, max_pixels=settings.UPLOAD_MAX_PIXELS, max_bytes=settings.UPLOAD_MAX_BYTES)
        if _too_large(job_kind, clean.width, clean.height) and not (job_kind.fits_large_sources or scale_down):
            # Kept as received (cleaned, labelled), so "scale it first" is one click, not a second upload.
            stored_data, _label = _passed_on(data=data, clean=clean)
            kept = media.put(folder=folder, extension=clean.extension, data=stored_data)
            raise SourceTooLarge(
                width=clean.width, height=clean.height, max_side=job_kind.max_source_side, kept_key=kept
            )
        clean, scaled = _fitted(job_kind, clean, scale_down=scale_down)
        stored_data, source_label = _passed_on(data=data, clean=clean)
        source_key = stored_key = media.put(folder=folder, extension=clean.extension, data=stored_data)
        params["source_size"] = [clean.width, clean.height]
    elif kept_source:
        kept_data = media.read(kept_source)
        clean = imaging.verify_image(
            kept_data, max_pixels=settings.UPLOAD_MAX_PIXELS, max_bytes=settings.INGEST_MAX_BYTES
        )
        if _too_large(job_kind, clean.width, clean.height) and not (job_kind.fits_large_sources or scale_down):
            raise SourceTooLarge(
                width=clean.width, height=clean.height, max_side=job_kind.max_source_side, kept_key=kept_source
            )
        clean, scaled = _fitted(job_kind, clean, scale_down=scale_down)
        # It carries the label we passed on when it was kept; scaling drops it, so it is put back.
        label = labels.read_label(kept_data)
        source_label = label.as_json_object() if label else {}
        if scaled:
            data = labels.embed(clean.data, label=label, image_format=clean.format) if label else clean.data
            source_key = stored_key = media.put(folder=folder, extension=clean.extension, data=data)
        else:
            source_key = kept_source
        params["source_size"] = [clean.width, clean.height]
    elif source_image is not None:
        too_large = _too_large(job_kind, source_image.width, source_image.height)
        if too_large and (job_kind.fits_large_sources or scale_down):
            # A big picture of the gallery (an upscale, say): a scaled copy is the job's source.
            original = media.read(source_image.original_key)
            clean = imaging.verify_image(
                original, max_pixels=settings.IMAGE_MAX_PIXELS, max_bytes=settings.INGEST_MAX_BYTES
            )
            clean, scaled = _fitted(job_kind, clean, scale_down=True)
            # Scaling drops the metadata; the copy keeps our picture's label.
            label = labels.read_label(original)
            data = labels.embed(clean.data, label=label, image_format=clean.format) if label else clean.data
            source_key = stored_key = media.put(folder=folder, extension=clean.extension, data=data)
            params["source_size"] = [clean.width, clean.height]
        else:
            _check_side(job_kind, source_image.width, source_image.height)
            source_key = source_image.original_key
            params["source_size"] = [source_image.width, source_image.height]
    try:
        made = jobs.create_batch(
            owner=owner,
            kind=kind,
            params=[_nth(params, index) for index in range(count)],
            prompt=params.get("text", ""),
            source_key=source_key,
            source_image=source_image,
            source_label=source_label,
        )
    except BaseException:
        if stored_key:
            _delete_quietly(stored_key)
        raise
    if kept_source and source_key != kept_source:
        _delete_quietly(kept_source)  # replaced by its scaled copy
    return Started(jobs=tuple(made), masked_words=masked_words, scaled=scaled)


def _nth(params: dict[str, Any], index: int) -> dict[str, Any]:
    """The parameters of a batch's picture `index`: its own seed, so the pictures differ."""
    if index == 0 or "seed" not in params:
        return dict(params)
    return {**params, "seed": (int(params["seed"]) + index) % SEED_RANGE}


def _passed_on(*, data: bytes, clean: imaging.CleanImage) -> tuple[bytes, dict[str, str]]:
    """The source as we store it, and the label it carried as we pass it on ({}: it had none).

    Cleaning strips every piece of metadata, the label too; a labelled source gets its producer's
    label back with ourselves added as propagator (GB 45438-2025), so the copy the provider
    fetches from us still says where it came from."""
    received = labels.read_label(data)
    if received is None:
        return clean.data, {}
    passed_on = labels.propagated(received, propagate_id=labels.new_propagate_id())
    return labels.embed(clean.data, label=passed_on, image_format=clean.format), passed_on.as_json_object()


def _screen(params: dict[str, Any]) -> bool:
    """Screen the prompts in place (masked words replaced); True if the prompt had any.
    Raises moderation.PromptBlocked."""
    if not params.get("text"):
        return False
    screened = moderation.screen_prompt(params["text"])
    params["text"] = screened.text
    if params.get("negative_prompt"):
        params["negative_prompt"] = moderation.screen_prompt(params["negative_prompt"]).text
    return bool(screened.masked_words)


def _too_large(kind: kinds.Kind, width: int, height: int) -> bool:
    return kind.max_source_side is not None and max(width, height) > kind.max_source_side


def _check_side(kind: kinds.Kind, width: int, height: int) -> None:
    if _too_large(kind, width, height):
        raise SourceTooLarge(width=width, height=height, max_side=kind.max_source_side)


def _fitted(
    kind: kinds.Kind, clean: imaging.CleanImage, *, scale_down: bool = False
) -> tuple[imaging.CleanImage, tuple[tuple[int, int], tuple[int, int]] | None]:
    """The source as the kind takes it: scaled down when the kind fits large sources or the user
    asked for it, refused (SourceTooLarge) otherwise."""
    if not _too_large(kind, clean.width, clean.height):
        return clean, None
    if not (kind.fits_large_sources or scale_down):
        _check_side(kind, clean.width, clean.height)
    fitted = imaging.fit_within(clean, max_side=kind.max_source_side)
    return fitted, ((clean.width, clean.height), (fitted.width, fitted.height))


def _delete_quietly(key: str) -> None:
    try:
        media.delete([key])
    except Exception:  # the store is down; the daily orphan sweep removes the random key later
        logger.warning("could not remove the source %s of a job that was not created", key)
