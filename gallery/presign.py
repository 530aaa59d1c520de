"""Presigned GET URLs (AWS Signature Version 4 in the query string), made without botocore's
client machinery: the same URL, byte for byte, as botocore's generate_presigned_url("get_object")
for the same time (tests/test_presign.py compares them; tests/test_media.py fetches them from the
real S3 server).

cProfile of 192 `default_storage.url` calls (bench/gallery_page.py's stack, SeaweedFS) showed
430 us a URL, of which the signature itself (the HMACs and hashes) is about a twentieth: the rest is
botocore's generic path for any operation (endpoint rule set, parameter validation, request
serialisation, event hooks), which no option of the client turns off. A page that signs its 48
thumbnails anew paid about 20 ms for it.

Only the storage this site configures is signed here (path-style addressing, s3v4, an endpoint
URL, no session token, no custom domain); anything else goes to the storage's own `url`.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from storages.backends.s3 import S3Storage
from storages.utils import clean_name

ALGORITHM = "AWS4-HMAC-SHA256"


def supports(storage: Any) -> bool:
    """Whether `storage` is the S3 set-up this module signs for exactly as botocore does."""
    try:
        return (
            isinstance(storage, S3Storage)
            and storage.querystring_auth
            and not storage.custom_domain
            and not storage.cloudfront_signer
            and not storage.security_token
            and storage.addressing_style == "path"
            and storage.signature_version == "s3v4"
            and bool(storage.endpoint_url)
            and bool(storage.access_key and storage.secret_key)
        )
    except AttributeError:
        return False


@lru_cache(maxsize=32)
def _signing_key(secret_key: str, day: str, region: str) -> bytes:
    key = hmac.digest(f"AWS4{secret_key}".encode(), day.encode(), "sha256")
    for part in (region, "s3", "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def presigned_get(
    *,
    endpoint: str,
    bucket: str,
    key: str,
    region: str,
    access_key: str,
    secret_key: str,
    expires: int,
    now: datetime.datetime,
) -> str:
    """A GET URL for s3://bucket/key, valid `expires` seconds from `now` (UTC)."""
    parts = urlsplit(endpoint)
    path = quote(f"{parts.path.rstrip('/')}/{bucket}/{key}", safe="/~")
    timestamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = timestamp[:8]
    scope = f"{day}/{region}/s3/aws4_request"
    query = (
        f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={_encode(f'{access_key}/{scope}')}"
        f"&X-Amz-Date={timestamp}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
    )
    canonical = f"GET\n{path}\n{query}\nhost:{parts.netloc}\n\nhost\nUNSIGNED-PAYLOAD"
    to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(_signing_key(secret_key, day, region), to_sign.encode(), "sha256").hexdigest()
    return f"{parts.scheme}://{parts.netloc}{path}?{query}&X-Amz-Signature={signature}"


def storage_url(storage: Any, name: str, *, expire: int, now: datetime.datetime | None = None) -> str:
    """What `storage.url(name, expire=expire)` answers, signed here when `supports(storage)`."""
    if not supports(storage):
        return storage.url(name, expire=expire)
    return presigned_get(
        endpoint=storage.endpoint_url,
        bucket=storage.bucket_name,
        key=storage._normalize_name(clean_name(name)),
        region=storage.region_name or "us-east-1",
        access_key=storage.access_key,
        secret_key=storage.secret_key,
        expires=expire,
        now=now or datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
    )
