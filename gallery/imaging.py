"""Image bytes in, safe image bytes out: uploads, provider results, thumbnails and metadata.

Pure functions over bytes. Nothing here touches models, storage or the network; `gallery/ingest.py`
and the upload view call these and decide what to store.

Two entry points check untrusted bytes, and both decode the whole first frame before they answer:

- `clean_image` is for what users upload. It re-encodes the pixels so nothing from the original
  file survives (EXIF with GPS, XMP, text chunks, trailing polyglot payloads) apart from a colour
  profile that still matches the pixels.
- `verify_image` is for what the image API returns. It applies the same checks but hands back the
  provider's bytes untouched: they were made by a model, not a phone, so carry no private metadata,
  and re-encoding a 2048x2048 super-resolution PNG costs time for nothing. The file we keep with our
  own metadata comes from `png_with_parameters`, which re-encodes anyway.

Truncated files are refused because Pillow's `ImageFile.LOAD_TRUNCATED_IMAGES` is False by default.
We do not set that flag (it is process-wide); nothing in this project may set it to True.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")

THUMBNAIL_SIDES = {"thumb": 384, "preview": 1024}

JPEG_QUALITY = 92
WEBP_QUALITY = 92
# libwebp's effort (Pillow's `method`) for thumbnails and previews: 2 encodes in less than half
# the time of the default 4 for 3-7% more bytes at quality 80 (libvips 8.18, the bench's 512² and
# 2048² pictures: a 1024 px preview 42 ms instead of 104 ms, 51.4 KB instead of 49.9 KB). The
# preview's encode was the longest step of an ingest after the decode.
THUMBNAIL_EFFORT = 2

_CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}

# Pillow opens phone JPEGs that carry a second picture (depth map, preview) as "MPO".
# They are JPEGs to every browser; we keep the first picture and write a plain JPEG.
_FORMAT_ALIASES = {"MPO": "JPEG"}

# Real images in formats we do not take. We recognise them by their magic bytes only (never by
# handing them to Pillow's other decoders) so the user hears "wrong format" instead of "not an image".
_OTHER_IMAGE_SIGNATURES = (
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),
    (0, b"II*\x00"),
    (0, b"MM\x00*"),
    (4, b"ftypheic"),
    (4, b"ftypheix"),
    (4, b"ftypmif1"),
    (4, b"ftypavif"),
)

# What Pillow's decoders raise on malformed input (besides UnidentifiedImageError).
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)

_EXIF_ORIENTATION = 0x0112
_ORIENTATIONS_THAT_SWAP_SIDES = {5, 6, 7, 8}

_PARAMETER_LABELS = (
    ("num_steps", "Steps"),
    ("sampler", "Sampler"),
    ("guidance_scale", "CFG scale"),
    ("seed", "Seed"),
    ("size", "Size"),
    ("version", "Model"),
    ("model", "Model type"),
    ("strength", "Denoising strength"),
    ("style", "Style"),
)


class ImageRejected(ValueError):
    """The bytes are not an image we accept. `str(error)` is safe to show the user.

    The message is formatted when it is rendered, so it comes out in the language active then.
    """

    def __init__(self, message: Any, *, code: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = dict(params or {})

    def __str__(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: str
    width: int
    height: int
    content_type: str
    extension: str


def clean_image(data: bytes, *, max_pixels: int, max_bytes: int) -> CleanImage:
    """Check an uploaded image and re-encode it without metadata, upright, first frame only.

    PNG stays PNG, JPEG stays JPEG (quality 92), WebP stays WebP. Raises `ImageRejected`.
    Pure: calling it again on its own output gives an equivalent image.
    """
    image = _decode(data, max_pixels=max_pixels, max_bytes=max_bytes)
    image_format = _canonical_format(image.format)
    image = _upright(image)
    icc_profile = image.info.get("icc_profile")
    image = _normalise_mode(image, image_format=image_format)
    encoded = _encode(
        image,
        image_format=image_format,
        icc_profile=_matching_icc_profile(icc_profile, mode=image.mode),
    )
    return CleanImage(
        data=encoded,
        format=image_format,
        width=image.width,
        height=image.height,
        content_type=_CONTENT_TYPES[image_format],
        extension=_EXTENSIONS[image_format],
    )


def fit_within(clean: CleanImage, *, max_side: int) -> CleanImage:
    """`clean` scaled down (never up) so neither side exceeds max_side, aspect ratio kept, in its
    own format. The input is clean_image's output: upright already, without metadata."""
    if max(clean.width, clean.height) <= max_side:
        return clean
    image = _open(clean.data)
    _load(image)
    icc_profile = image.info.get("icc_profile")
    image = _normalise_mode(image, image_format=clean.format)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    encoded = _encode(image, image_format=clean.format, icc_profile=_matching_icc_profile(icc_profile, mode=image.mode))
    return CleanImage(
        data=encoded,
        format=clean.format,
        width=image.width,
        height=image.height,
        content_type=clean.content_type,
        extension=clean.extension,
    )


def verify_image(data: bytes, *, max_pixels: int, max_bytes: int) -> CleanImage:
    """Check an image the provider returned; the bytes come back unchanged.

    Same refusals as `clean_image` (size, format, pixel cap, full decode of the first frame).
    width and height are as displayed, i.e. after any EXIF rotation. Raises `ImageRejected`.
    """
    return verify_and_decode(data, max_pixels=max_pixels, max_bytes=max_bytes)[0]


def verify_and_decode(data: bytes, *, max_pixels: int, max_bytes: int) -> tuple[CleanImage, Image.Image]:
    """`verify_image`, and the decoded pixels it checked, so the thumbnails need no second decode."""
    image = _decode(data, max_pixels=max_pixels, max_bytes=max_bytes)
    width, height = image.size
    if _orientation(image) in _ORIENTATIONS_THAT_SWAP_SIDES:
        width, height = height, width
    return _clean_of(data, _canonical_format(image.format), width, height), image


# Ingest decodes and scales with libvips (pyvips, its bundled build): bench/ingest.py put Pillow's
# path for a 2048² PNG at 1.16-1.19x the floor of two `vipsthumbnail` runs, and cProfile of the
# ingest showed Pillow's PNG decode (~0.10 s), LANCZOS resizes (~0.09 s) and the copies around
# them as most of it. Pictures libvips would have to convert (16-bit, CMYK, palette with
# transparency...) keep the Pillow path, whose colour handling the tests pin down.
_VIPS_MODES = ("RGB", "RGBA", "L", "LA")


def _vips():
    """pyvips, imported on first use (never in a process before it forks its workers), with its
    operation cache off (every picture is new, cached results would only hold memory) and its
    log quiet."""
    import pyvips

    pyvips.cache_set_max(0)
    # libvips logs each operation's plan at INFO (a dozen lines an ingest in the worker's log).
    logging.getLogger("pyvips").setLevel(logging.WARNING)
    return pyvips


def verify_and_load(data: bytes, *, max_pixels: int, max_bytes: int) -> tuple[CleanImage, Any]:
    """`verify_and_decode` for ingest: the same header checks by Pillow, then the full decode of
    the first frame by libvips (a truncated or damaged file is refused the same way), kept in
    memory for the thumbnails. Returns Pillow's decoded image instead when its mode is not one
    of _VIPS_MODES; make_webp takes either."""
    if len(data) > max_bytes:
        return verify_and_decode(data, max_pixels=max_pixels, max_bytes=max_bytes)
    image = _open(data, max_pixels=max_pixels)
    if image.width * image.height > max_pixels:
        raise _too_many_pixels(max_pixels)
    if image.mode not in _VIPS_MODES or "transparency" in image.info:
        return verify_and_decode(data, max_pixels=max_pixels, max_bytes=max_bytes)
    image_format = _canonical_format(image.format)
    pyvips = _vips()
    try:
        # Upright as displayed; libvips reads the orientation itself (Pillow's getexif() on a PNG
        # decodes the whole picture first: cProfile showed 0.10 s of a 2048² PNG's ingest there).
        pixels = pyvips.Image.new_from_buffer(data, "", fail_on="error").autorot().copy_memory()
    except pyvips.Error as error:
        raise _truncated() from error
    return _clean_of(data, image_format, pixels.width, pixels.height), pixels


def _clean_of(data: bytes, image_format: str, width: int, height: int) -> CleanImage:
    return CleanImage(
        data=data,
        format=image_format,
        width=width,
        height=height,
        content_type=_CONTENT_TYPES[image_format],
        extension=_EXTENSIONS[image_format],
    )


def _vips_webp(pixels: Any, *, max_side: int, quality: int, xmp: bytes | None) -> tuple[bytes, int, int]:
    """make_webp of an image verify_and_load decoded (upright already): sRGB, 8 bits, alpha kept;
    an sRGB colour profile stays, as on the Pillow path; `xmp` becomes the XMP chunk."""
    pyvips = _vips()
    image = pixels.thumbnail_image(max_side, height=max_side, size="down")
    profile = image.get("icc-profile-data") if image.get_typeof("icc-profile-data") else None
    if image.interpretation != "srgb":  # greyscale or 16 bits: WebP is 8-bit colour only
        image, profile = image.colourspace("srgb"), None
    image = image.copy()  # its own metadata, so the decoded picture stays as it was
    keep = ["icc"] if _matching_icc_profile(profile, mode="RGB") else []
    if xmp:
        image.set_type(pyvips.GValue.blob_type, "xmp-data", xmp)
        keep.append("xmp")
    webp = image.webpsave_buffer(Q=quality, effort=THUMBNAIL_EFFORT, keep=",".join(keep) or "none")
    return webp, image.width, image.height


def make_webp(
    data_or_image: bytes | CleanImage | Image.Image | Any,
    *,
    max_side: int,
    quality: int = 80,
    xmp: bytes | None = None,
) -> tuple[bytes, int, int]:
    """A WebP no larger than max_side on either side, upright, aspect ratio kept, never upscaled.

    `xmp` is written as the file's XMP chunk (the picture's label, gallery/labels.py).
    Expects bytes that `clean_image` or `verify_image` already accepted, or the decoded pixels of
    `verify_and_decode` / `verify_and_load`. Returns (webp, width, height).
    """
    if not isinstance(data_or_image, bytes | CleanImage | Image.Image):
        return _vips_webp(data_or_image, max_side=max_side, quality=quality, xmp=xmp)
    if isinstance(data_or_image, Image.Image):
        image = data_or_image.copy()
    else:
        data = data_or_image.data if isinstance(data_or_image, CleanImage) else data_or_image
        image = _open(data)
        # Let the JPEG decoder scale down while decoding (a no-op for other formats): decoding a
        # 4096px photo at 1/4 scale is far cheaper, and LANCZOS below still has 3x the pixels it needs.
        image.draft(None, (max_side * 3, max_side * 3))
        _load(image)
    image = _upright(image)
    icc_profile = image.info.get("icc_profile")
    image = _normalise_mode(image, image_format="WEBP")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": quality, "method": THUMBNAIL_EFFORT}
    if profile := _matching_icc_profile(icc_profile, mode=image.mode):
        options["icc_profile"] = profile
    if xmp:
        options["xmp"] = xmp
    image.save(buffer, "WEBP", **options)
    return buffer.getvalue(), image.width, image.height


def parameters_text(params: Mapping[str, Any]) -> str:
    """The "parameters" text AUTOMATIC1111 writes into PNGs, from the provider's parameter names.

    Prompt line(s), then "Negative prompt: ..." and one "Key: value, ..." line, each only when
    there is something to say. Values with a comma, colon or newline are JSON-quoted, as A1111 does,
    so tools that parse this text split it correctly.
    """
    lines = []
    prompt = params.get("text")
    if _is_present(prompt):
        lines.append(str(prompt))
    negative = params.get("negative_prompt")
    if _is_present(negative):
        lines.append(f"Negative prompt: {negative}")
    settings = []
    for key, label in _PARAMETER_LABELS:
        if key == "size":
            has_size = _is_present(params.get("w")) and _is_present(params.get("h"))
            value = f"{params['w']}x{params['h']}" if has_size else None
        else:
            value = params.get(key)
        if _is_present(value):
            settings.append(f"{label}: {_setting_value(value)}")
    if settings:
        lines.append(", ".join(settings))
    return "\n".join(lines)


def png_with_parameters(
    data: bytes,
    *,
    params: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    xmp: bytes | None = None,
    draw: Callable[[Image.Image], Image.Image] | None = None,
) -> bytes:
    """The image as a PNG carrying its generation parameters, for people who download it.

    Writes "parameters" (A1111 text; tEXt when it is Latin-1, otherwise iTXt so Chinese prompts
    survive) and "aigc", an iTXt chunk with JSON {"params": ..., "extra": ...}; `xmp` goes into
    the iTXt chunk "XML:com.adobe.xmp", and `draw` may change the upright pixels first (the
    visible label). No other metadata from the input is kept. Expects bytes that `clean_image`
    or `verify_image` already accepted.
    """
    image = _open(data)
    _load(image)
    image = _upright(image)
    icc_profile = image.info.get("icc_profile")
    image = _normalise_mode(image, image_format="PNG")
    if draw is not None:
        image = draw(image)
        image.info = {}
    chunks = PngInfo()
    if xmp:
        chunks.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
    chunks.add_text("parameters", parameters_text(params))
    document = {"params": dict(params), "extra": dict(extra or {})}
    chunks.add_itxt("aigc", json.dumps(document, ensure_ascii=False, sort_keys=True, default=str))
    buffer = io.BytesIO()
    options: dict[str, Any] = {"pnginfo": chunks}
    if profile := _matching_icc_profile(icc_profile, mode=image.mode):
        options["icc_profile"] = profile
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _decode(data: bytes, *, max_pixels: int, max_bytes: int) -> Image.Image:
    """Open, check the header against our limits, then decode the first frame fully."""
    if len(data) > max_bytes:
        raise ImageRejected(
            _("Images larger than %(max)s are refused."),
            code="too_large",
            params={"max": filesizeformat(max_bytes)},
        )
    image = _open(data, max_pixels=max_pixels)
    # Image.open has read the header only; nothing is decoded yet, so a 20000x20000 PNG or a
    # zlib bomb costs us a few hundred bytes of parsing before we refuse it here.
    if image.width * image.height > max_pixels:
        raise _too_many_pixels(max_pixels)
    _load(image)
    return image


def _open(data: bytes, *, max_pixels: int | None = None) -> Image.Image:
    """Image.open restricted to our formats, so Pillow never tries its other parsers on our input.

    Pillow warns between Image.MAX_IMAGE_PIXELS and twice that, and raises above. We make the
    warning an error too, so our own cap is never looser than Pillow's. catch_warnings() swaps a
    process-wide filter list; the worst a concurrent thread can see is this one extra filter.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels(max_pixels or Image.MAX_IMAGE_PIXELS or 0) from error
        except UnidentifiedImageError as error:
            if _looks_like_other_image(data):
                raise ImageRejected(_("Only PNG, JPEG and WebP images are accepted."), code="format") from error
            raise ImageRejected(_("This file is not an image we can read."), code="not_image") from error
        except _DECODER_ERRORS as error:
            # A known signature followed by a broken header.
            raise ImageRejected(_("This file is not an image we can read."), code="not_image") from error


def _load(image: Image.Image) -> None:
    """Decode the current (first) frame completely; a short file is an error, not grey pixels."""
    try:
        image.load()
    except _DECODER_ERRORS as error:
        raise _truncated() from error


def _looks_like_other_image(data: bytes) -> bool:
    return any(data[offset : offset + len(magic)] == magic for offset, magic in _OTHER_IMAGE_SIGNATURES)


def _canonical_format(image_format: str | None) -> str:
    canonical = _FORMAT_ALIASES.get(image_format or "", image_format or "")
    if canonical not in ALLOWED_FORMATS:
        raise ImageRejected(_("Only PNG, JPEG and WebP images are accepted."), code="format")
    return canonical


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # EXIF only decides rotation; see _upright
        return 1


def _upright(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation; always returns a new image, so callers may change it freely."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # EXIF is attacker-controlled and Pillow's parser can fail in many ways on it. It only
        # decides rotation here, so a broken block means "as stored", not "refuse the photo".
        return image.copy()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _normalise_mode(image: Image.Image, *, image_format: str) -> Image.Image:
    """RGB, RGBA or L, with no metadata attached.

    Encoders fall back to image.info for some metadata (Pillow's PNG writer takes the ICC profile
    and transparency from it), so we hand them an empty info and pass what we keep explicitly.
    """
    if image_format == "JPEG":
        # A JPEG source never has alpha; CMYK and YCbCr become RGB.
        target = "L" if image.mode in ("L", "1") else "RGB"
    elif _has_alpha(image):
        target = "RGBA"
    elif image.mode in ("L", "1"):
        # Pillow's WebP writer has no greyscale mode and would convert on its own; we do it here so
        # a greyscale colour profile is dropped rather than attached to RGB pixels.
        target = "RGB" if image_format == "WEBP" else "L"
    elif image.mode.startswith("I"):
        # 16-bit greyscale PNG: Pillow's convert("L") clips at 255, which turns it white.
        image = image.convert("I").point(lambda value: value * (1 / 256))
        target = "RGB" if image_format == "WEBP" else "L"
    else:
        target = "RGB"
    converted = image.convert(target) if image.mode != target else image.copy()
    converted.info = {}
    return converted


def _matching_icc_profile(profile: bytes | None, *, mode: str) -> bytes | None:
    """The colour profile, if it still describes these pixels.

    We keep it because dropping a wide-gamut phone photo's profile visibly shifts its colours, and a
    profile holds colour tables and a description, not who or where. After CMYK->RGB or
    grey->colour conversion the profile no longer fits the pixels, so it goes.
    """
    if not profile or len(profile) < 20:
        return None
    colour_space = profile[16:20]
    if colour_space == b"RGB " and mode in ("RGB", "RGBA"):
        return profile
    if colour_space == b"GRAY" and mode == "L":
        return profile
    return None


def _encode(image: Image.Image, *, image_format: str, icc_profile: bytes | None) -> bytes:
    options: dict[str, Any] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if image_format == "JPEG":
        options["quality"] = JPEG_QUALITY
    elif image_format == "WEBP":
        options.update(quality=WEBP_QUALITY, method=4)
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected(
        _("Images larger than %(max)s pixels are refused."),
        code="too_many_pixels",
        params={"max": f"{max_pixels:,}"},
    )


def _truncated() -> ImageRejected:
    return ImageRejected(_("This image file is incomplete or damaged."), code="truncated")


def _is_present(value: Any) -> bool:
    return value is not None and value != ""


def _setting_value(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if any(mark in text for mark in (",", ":", "\n")):
        return json.dumps(text, ensure_ascii=False)
    return text
