"""Objects in storage: random keys, presigned URLs, deletion.

Everything goes through Django's default storage (the S3 backend), so the embedded SeaweedFS,
MinIO and AWS S3 are one setting apart. Keys are random UUIDs: they reveal nothing and cannot
be guessed, and the bucket refuses anonymous reads; a browser only ever sees presigned URLs
that expire (MEDIA_URL_EXPIRY).

A presigned URL is reused for MEDIA_URL_REUSE_SECONDS (per process): the same page then shows
the same URLs on a second visit, so the browser takes the pictures from its cache (objects are
stored with MEDIA_CACHE_CONTROL) and the server skips signing them again. Profiling the gallery
page showed signing as its largest cost (about 0.2 ms a URL with botocore, 48 on a page); a URL
is now signed by gallery/presign.py, the same URL as botocore's without its client machinery.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from . import presign


def new_key(folder: str, extension: str) -> str:
    return f"{folder}/{uuid.uuid4().hex}.{extension.lstrip('.')}"


# Fresh keys tried before giving up; a second one is needed only if a random key was taken.
_PUT_TRIES = 3


class KeyTaken(Exception):
    """The store refused to overwrite an existing object (only ever seen when forced in tests)."""


def put(*, folder: str, extension: str, data: bytes) -> str:
    """Store bytes under a fresh random key, never over an existing object; returns the key.

    On S3 this is one conditional PUT (`If-None-Match: *`), so the store itself refuses to replace
    an object, even for two writers racing. django-storages' `save` asks first whether the name is
    free (a HEAD, with file_overwrite off), which leaves a race open, and then uploads through
    s3transfer's machinery: timed against SeaweedFS, 14.2 ms a 20 KB put, against 5.5 ms for the
    one PUT (and the ingest's three puts share two cores). Other storages keep `save`."""
    storage = default_storage
    if not isinstance(storage, S3Storage):
        return storage.save(new_key(folder, extension), ContentFile(data))
    for _ in range(_PUT_TRIES):
        key = new_key(folder, extension)
        try:
            _put_new_object(storage, key, data)
            return key
        except KeyTaken:
            continue
    raise KeyTaken(f"no free key under {folder} after {_PUT_TRIES} tries")


def _put_new_object(storage: S3Storage, key: str, data: bytes) -> None:
    # The parameters django-storages' own save() writes (object_parameters' Cache-Control, the
    # content type from the name, the default ACL), from its own method rather than a copy; its
    # gzip option is not set here (STORAGES in settings), so the bytes go as they are.
    params = storage._get_write_parameters(key)
    try:
        storage.connection.meta.client.put_object(
            Bucket=storage.bucket_name,
            # As django-storages names objects (gallery/presign.py does the same).
            Key=storage._normalize_name(clean_name(key)),
            Body=data,
            IfNoneMatch="*",
            **params,
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
            raise KeyTaken(key) from exc
        raise


def read(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


# key -> {expire: (signed at, url)}, least recently used first.
_SIGNED: OrderedDict[str, dict[int, tuple[float, str]]] = OrderedDict()
_SIGNED_MAX = 20_000  # keys kept (a few MB); the least recently used go first
_SIGNED_LOCK = threading.Lock()


def url(key: str, *, expire: int | None = None) -> str:
    """A presigned GET URL for a private object, valid for `expire` seconds (MEDIA_URL_EXPIRY)
    from when it was signed; the same URL comes back for MEDIA_URL_REUSE_SECONDS."""
    if not key:
        return ""
    expire = settings.MEDIA_URL_EXPIRY if expire is None else expire
    reuse = min(settings.MEDIA_URL_REUSE_SECONDS, expire // 2)
    now = time.time()
    with _SIGNED_LOCK:
        found = _SIGNED.get(key, {}).get(expire)
        if found is not None and now - found[0] < reuse:
            _SIGNED.move_to_end(key)
            return found[1]
    signed = presign.storage_url(default_storage, key, expire=expire)
    with _SIGNED_LOCK:
        _SIGNED.setdefault(key, {})[expire] = (now, signed)
        _SIGNED.move_to_end(key)
        while len(_SIGNED) > _SIGNED_MAX:
            _SIGNED.popitem(last=False)
    return signed


def forget_signed_urls() -> None:
    """Drop the reused URLs (after the storage settings changed, and in tests)."""
    with _SIGNED_LOCK:
        _SIGNED.clear()


def delete(keys: Iterable[str]) -> None:
    for key in keys:
        if key:
            default_storage.delete(key)
            with _SIGNED_LOCK:  # a deleted picture's URL is not handed out again
                _SIGNED.pop(key, None)


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


def read_head(key: str, length: int) -> tuple[bytes, int]:
    """The first `length` bytes of a stored object and its whole size, without reading the rest
    (one ranged GET on S3). Raises FileNotFoundError when there is no such object."""
    handle = default_storage.open(key, "rb")
    try:
        s3_object = getattr(handle, "obj", None)
        if s3_object is None:  # another storage backend: read it through the file API
            return handle.read(length), handle.size
        total = s3_object.content_length
        if not total:
            return b"", 0
        body = s3_object.get(Range=f"bytes=0-{length - 1}")["Body"]
        try:
            return body.read(), total
        finally:
            body.close()
    finally:
        handle.close()


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
