"""Objects in storage: random keys, presigned URLs, deletion.

Everything goes through Django's default storage (the S3 backend), so the embedded SeaweedFS,
MinIO and AWS S3 are one setting apart. Keys are random UUIDs: they reveal nothing and cannot
be guessed, and the bucket refuses anonymous reads; a browser only ever sees presigned URLs
that expire (MEDIA_URL_EXPIRY).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def new_key(folder: str, extension: str) -> str:
    return f"{folder}/{uuid.uuid4().hex}.{extension.lstrip('.')}"


def put(*, folder: str, extension: str, data: bytes) -> str:
    """Store bytes under a fresh random key; returns the key."""
    return default_storage.save(new_key(folder, extension), ContentFile(data))


def read(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def url(key: str, *, expire: int | None = None) -> str:
    """A presigned GET URL for a private object."""
    if not key:
        return ""
    if expire is None:
        return default_storage.url(key)
    return default_storage.url(key, expire=expire)


def delete(keys: Iterable[str]) -> None:
    for key in keys:
        if key:
            default_storage.delete(key)


def exists(key: str) -> bool:
    return bool(key) and default_storage.exists(key)


def size(key: str) -> int | None:
    """The stored object's size in bytes, or None when there is no such object."""
    if not key:
        return None
    try:
        return default_storage.size(key)
    except FileNotFoundError:
        return None


def iter_objects(prefix: str):
    """(key, last_modified) of every object under a prefix, straight from the bucket."""
    for summary in default_storage.bucket.objects.filter(Prefix=prefix):
        yield summary.key, summary.last_modified


def iter_chunks(key: str, chunk_size: int) -> Iterator[bytes]:
    """The stored object in chunks, straight from S3 (one object at a time, never whole in memory)."""
    handle = default_storage.open(key, "rb")
    try:
        s3_object = getattr(handle, "obj", None)
        if s3_object is not None:
            body = s3_object.get()["Body"]
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()
        else:  # another storage backend: read it through the file API
            while chunk := handle.read(chunk_size):
                yield chunk
    finally:
        handle.close()
