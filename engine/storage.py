"""The engine's own files on local disk: results it serves, sources it fetched.

The engine plays the provider, so it keeps its pictures apart from the site's S3 bucket, under
``VAR_DIR/engine/``; the site downloads a result over HTTP from ``/engine/files/<name>.png``
like it would from APISpace's CDN. Names are random 32-hex strings, so a URL reveals nothing
and cannot be guessed. Writes go through a temporary file and a rename, so a reader never sees
half a picture.

A result is served for ENGINE_RESULT_TTL seconds after it was written, then it is gone: the
site has its own copy by then, and a picture its owner deleted must not stay fetchable by
anyone holding the old URL. `result_path` stops serving it at that age, and
`delete_expired_results` (a scheduled task, engine/tasks.py) removes the file.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from PIL import Image

NAME = re.compile(r"^[0-9a-f]{32}$")


def root() -> Path:
    return Path(settings.VAR_DIR) / "engine"


def _folder(kind: str) -> Path:
    folder = root() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def png_bytes(image: Image.Image) -> bytes:
    """Encode a picture as PNG without metadata: the same pixels always give the same bytes."""
    buffer = io.BytesIO()
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGB")
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def save_result(*, data: bytes) -> str:
    """Store a result PNG; returns its name (the URL's last part without `.png`)."""
    name = uuid.uuid4().hex
    _write_atomically(_folder("results") / f"{name}.png", data)
    return name


def result_path(name: str) -> Path | None:
    """The file of a stored result, or None for a malformed or unknown name, or one older than
    ENGINE_RESULT_TTL (whether or not the sweep has deleted it yet)."""
    if not NAME.match(name or ""):
        return None
    path = root() / "results" / f"{name}.png"
    try:
        written = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return path if path.is_file() and not _has_expired(written, now=time.time()) else None


def _has_expired(written: float, *, now: float) -> bool:
    return now - written >= settings.ENGINE_RESULT_TTL


def delete_expired_results(*, now: float | None = None) -> list[str]:
    """Delete the result files (and temporary files a crash left behind) older than
    ENGINE_RESULT_TTL; returns the names deleted. Running it twice deletes nothing more."""
    folder = root() / "results"
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    deleted = []
    for path in folder.iterdir():
        try:
            if path.is_file() and _has_expired(path.stat().st_mtime, now=now):
                path.unlink()
                deleted.append(path.name)
        except FileNotFoundError:  # deleted by a sweep running beside this one
            continue
    return deleted


def save_source(*, uid: str, data: bytes) -> None:
    """Keep the source picture fetched at submission, so the run does not depend on the
    (short-lived) presigned URL still working when the task's turn comes."""
    _write_atomically(_folder("sources") / uid, data)


def read_source(uid: str) -> bytes | None:
    if not NAME.match(uid or ""):
        return None
    path = root() / "sources" / uid
    return path.read_bytes() if path.is_file() else None


def delete_source(uid: str) -> None:
    if NAME.match(uid or ""):
        (root() / "sources" / uid).unlink(missing_ok=True)
