"""The makers tests share: jobs, and gallery images (real pictures in the test bucket, or rows).

`make_job` makes a paid job as the job form does (`jobs.create_job` debits it), and
`submitted_job` one the provider has accepted. `stored_image` puts a real PNG original and its
WebP thumbnail and preview into S3 (the session's SeaweedFS), labelled, exactly as ingest does;
`unlabelled_image` one stored as before labelling (no label in any object, an upgraded site's);
`image_row` makes a row with made-up keys, for tests of listing and pagination that never
fetch pixels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gallery import imaging, ingest, jobs, media
from gallery.forms import Txt2ImgForm, default_params
from gallery.models import Image, Job
from tests.helpers import callback_body, png_bytes

# What the text-to-image form makes of its defaults, drawn small (64x48) to keep the tests fast.
TXT2IMG_PARAMS = {
    **default_params(Txt2ImgForm, prompt="白色城堡，云海 a castle in the clouds", negative_prompt="blurry", seed=1234),
    "w": 64,
    "h": 48,
}


def make_job(owner, prompt: str = "Roses", *, kind: str = "txt2img", task_id: str | None = None, **params: Any) -> Job:
    """A paid job, queued; with `task_id` also accepted by the provider (submitted)."""
    job = jobs.create_job(owner=owner, kind=kind, params={"text": prompt, "w": 512, "h": 512, **params}, prompt=prompt)
    if task_id is not None:
        job = jobs.mark_submitted(job_id=job.id, task_id=task_id, response={"uid": task_id})
    return job


def submitted_job(owner, prompt: str = "Roses", **params: Any) -> Job:
    """A paid job the provider has accepted, with a task id of its own."""
    job = make_job(owner, prompt, **params)
    return jobs.mark_submitted(job_id=job.id, task_id=f"t-{job.id}", response={"uid": f"t-{job.id}"})


def record_callback(job, url: str, name: str = "success-documented", *, cdn: str | None = None) -> None:
    """Record the provider's callback `name` for `job`, its picture at `url` (cos; the cdn copy
    is the same URL with "?cdn" unless `cdn` names another)."""
    body = callback_body(name)
    if url:
        body["data"]["cos"] = url
        body["data"]["cdn"] = cdn if cdn is not None else url + "?cdn"
    jobs.record_callback(job_id=job.id, body=body, success=body["success"], safe=body["data"].get("safe"))


def stored_image(
    owner,
    *,
    kind: str = "txt2img",
    prompt: str | None = None,
    params: dict[str, Any] | None = None,
    size: tuple[int, int] = (64, 48),
    colour: tuple[int, int, int] = (200, 40, 60),
    **fields: Any,
) -> Image:
    params = dict(TXT2IMG_PARAMS if params is None else params)
    if prompt is not None:
        params["text"] = prompt
    clean, pixels = imaging.verify_and_decode(png_bytes(size, colour), max_pixels=10**8, max_bytes=10**8)
    source_label = fields.get("source_label") or {}
    source = source_label.get("ProduceID") or (str(fields["source_image"].id) if fields.get("source_image") else "")
    stored = ingest.store_labelled(clean=clean, pixels=pixels, folder=f"images/{owner.pk}", source_produce_id=source)
    created_at = fields.pop("created_at", None)
    image = Image.objects.create(
        id=stored.image_id,
        owner=owner,
        kind=kind,
        prompt=params.get("text", ""),
        negative_prompt=params.get("negative_prompt", ""),
        params=params,
        width=size[0],
        height=size[1],
        size_bytes=stored.size_bytes,
        original_key=stored.original_key,
        thumb_key=stored.thumb_key,
        preview_key=stored.preview_key,
        made_by=fields.pop("made_by", "Offline engine"),
        **fields,
    )
    if created_at is not None:
        set_created_at(image, created_at)
    return image


def unlabelled_image(
    owner,
    *,
    size: tuple[int, int] = (64, 48),
    colour: tuple[int, int, int] = (200, 40, 60),
    with_download: bool = True,
    **fields: Any,
) -> Image:
    """A picture as a site stored it before labelling: a PNG original, WebP thumbnail and preview
    and (with `with_download`) a stored download PNG, real objects in S3 that carry no label and
    no visible mark. What an upgraded site's rows point at."""
    params = dict(TXT2IMG_PARAMS)
    clean, pixels = imaging.verify_and_decode(png_bytes(size, colour), max_pixels=10**8, max_bytes=10**8)
    folder = f"images/{owner.pk}"
    thumb, _, _ = imaging.make_webp(pixels, max_side=imaging.THUMBNAIL_SIDES["thumb"])
    preview, _, _ = imaging.make_webp(pixels, max_side=imaging.THUMBNAIL_SIDES["preview"])
    download = imaging.png_with_parameters(clean.data, params=params) if with_download else b""
    return Image.objects.create(
        owner=owner,
        kind=fields.pop("kind", "txt2img"),
        prompt=params["text"],
        params=params,
        width=size[0],
        height=size[1],
        size_bytes=len(clean.data),
        original_key=media.put(folder=folder, extension="png", data=clean.data),
        thumb_key=media.put(folder=folder, extension="webp", data=thumb),
        preview_key=media.put(folder=folder, extension="webp", data=preview),
        download_key=media.put(folder=folder, extension="png", data=download) if with_download else "",
        made_by="Offline engine",
        **fields,
    )


def image_fields(
    owner, *, prompt: str = "a cat", kind: str = "txt2img", params: dict[str, Any] | None = None, **fields
) -> dict[str, Any]:
    """An Image row's fields with no stored objects behind it (image_row saves one; bulk_create
    takes Image(**image_fields(...)))."""
    return {
        "owner": owner,
        "kind": kind,
        "prompt": prompt,
        "params": {"text": prompt, "w": 512, "h": 512, "seed": 1} if params is None else params,
        "width": 512,
        "height": 512,
        "original_key": f"images/{owner.pk}/missing-original.png",
        "thumb_key": f"images/{owner.pk}/missing-thumb.webp",
        "preview_key": f"images/{owner.pk}/missing-preview.webp",
        **fields,
    }


def image_row(
    owner,
    *,
    prompt: str = "a cat",
    kind: str = "txt2img",
    created_at: datetime | None = None,
    params: dict[str, Any] | None = None,
    **fields,
) -> Image:
    image = Image.objects.create(**image_fields(owner, prompt=prompt, kind=kind, params=params, **fields))
    if created_at is not None:
        set_created_at(image, created_at)
    return image


def set_created_at(image: Image, created_at: datetime) -> None:
    # created_at is auto_now_add, so create() ignores a given value; update() does not.
    Image.objects.filter(id=image.id).update(created_at=created_at)
    image.created_at = created_at


def saving_job(owner, prompt: str = "Roses", **params: Any) -> Job:
    """A job whose success callback has been recorded and whose picture is not stored yet
    (its ingest task has not run: in a test, on_commit callbacks do not fire)."""
    from tests.helpers import callback_body

    job = submitted_job(owner, prompt, **params)
    jobs.record_callback(job_id=job.id, body=callback_body("success-documented"), success=True, safe=True)
    job.refresh_from_db()
    return job


def api_token(owner, *, scope: str = "write", name: str = "test script") -> str:
    """A personal access token of `owner`, as the profile page makes one; returns the token."""
    from gallery import api_tokens

    return api_tokens.issue(owner=owner, name=name, scope=scope).plaintext


def bearer(token: str) -> dict[str, str]:
    """The test client's keyword arguments for an API request with `token`."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
