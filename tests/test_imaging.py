"""gallery/imaging.py: what we accept from uploads and the provider, and what we write back out."""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
import zlib
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageFile
from PIL.PngImagePlugin import PngInfo
from skimage import data as skdata

from gallery.imaging import (
    ALLOWED_FORMATS,
    THUMBNAIL_SIDES,
    CleanImage,
    ImageRejected,
    clean_image,
    make_webp,
    parameters_text,
    png_with_parameters,
    verify_image,
)

MAX_PIXELS = 4096 * 4096
MAX_BYTES = 20 * 1024 * 1024

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


@cache
def astronaut() -> Image.Image:
    return Image.fromarray(skdata.astronaut())  # 512x512 RGB


@cache
def chelsea() -> Image.Image:
    return Image.fromarray(skdata.chelsea())  # 451x300 RGB, landscape


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_claiming_size(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR says width x height (CRC fixed), so only the header is believable."""
    data = bytearray(encode(Image.new("1", (1, 1)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def photo_with_gps(*, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[MAKE] = "Phonemaker"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 1.5), 3: "E", 4: (4.0, 53.0, 2.0)}
    if orientation:
        exif[ORIENTATION] = orientation
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>52,22N</exif:GPSLatitude></x:xmpmeta>'
    return encode(chelsea(), "JPEG", quality=90, exif=exif, xmp=xmp, comment=b"taken at home")


def clean(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> CleanImage:
    return clean_image(data, max_pixels=max_pixels, max_bytes=max_bytes)


def rejection(data: bytes, **limits: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        clean(data, **limits)
    assert str(caught.value)  # a message the user can read
    return caught.value


# --- clean_image: what comes out --------------------------------------------------------------


def test_it_keeps_png_as_png():
    result = clean(encode(astronaut(), "PNG"))

    assert (result.format, result.content_type, result.extension) == ("PNG", "image/png", "png")
    assert (result.width, result.height) == (512, 512)
    assert np.array_equal(np.asarray(decode(result.data)), skdata.astronaut())


def test_it_keeps_jpeg_as_jpeg():
    result = clean(encode(chelsea(), "JPEG", quality=80))

    assert (result.format, result.content_type, result.extension) == ("JPEG", "image/jpeg", "jpg")
    assert decode(result.data).format == "JPEG"
    assert (result.width, result.height) == (451, 300)


def test_it_keeps_webp_as_webp():
    result = clean(encode(chelsea(), "WEBP", quality=80))

    assert (result.format, result.content_type, result.extension) == ("WEBP", "image/webp", "webp")
    assert decode(result.data).format == "WEBP"


def test_it_strips_exif_gps_xmp_and_comments():
    result = clean(photo_with_gps())

    cleaned = decode(result.data)
    assert len(cleaned.getexif()) == 0
    assert cleaned.getexif().get_ifd(GPS_IFD) == {}
    assert not {"exif", "xmp", "comment"} & set(cleaned.info)
    for marker in (b"Exif", b"Phonemaker", b"GPSLatitude", b"xmpmeta", b"taken at home"):
        assert marker not in result.data


def test_it_strips_png_text_and_exif():
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 1.5)}
    chunks = PngInfo()
    chunks.add_text("Comment", "my address")
    source = encode(astronaut(), "PNG", pnginfo=chunks, exif=exif)
    assert b"my address" in source

    result = clean(source)

    cleaned = decode(result.data)
    assert cleaned.text == {}
    assert len(cleaned.getexif()) == 0
    assert b"my address" not in result.data


def test_it_applies_exif_orientation():
    # Orientation 6: stored landscape, shown rotated 90 degrees clockwise.
    result = clean(photo_with_gps(orientation=6))

    assert (result.width, result.height) == (300, 451)
    upright = np.asarray(chelsea().transpose(Image.Transpose.ROTATE_270), dtype=float)
    assert np.abs(np.asarray(decode(result.data), dtype=float) - upright).mean() < 6


def test_it_keeps_an_rgb_colour_profile():
    profile = bytes(16) + b"RGB " + bytes(108)  # header-only stand-in for an sRGB/P3 profile
    result = clean(encode(chelsea(), "JPEG", icc_profile=profile))

    assert decode(result.data).info.get("icc_profile") == profile


def test_it_takes_the_first_frame_of_an_animation():
    red, blue = Image.new("RGB", (32, 32), "red"), Image.new("RGB", (32, 32), "blue")
    source = encode(red, "PNG", save_all=True, append_images=[blue], duration=100)
    assert getattr(decode(source), "n_frames", 1) == 2

    result = clean(source)

    cleaned = decode(result.data)
    assert getattr(cleaned, "n_frames", 1) == 1
    assert cleaned.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def test_it_converts_cmyk_jpeg_to_rgb():
    result = clean(encode(chelsea().convert("CMYK"), "JPEG"))

    assert decode(result.data).mode == "RGB"


def test_it_keeps_palette_transparency_as_rgba():
    image = Image.new("P", (16, 16), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (8, 0, 16, 16))
    result = clean(encode(image, "PNG", transparency=0))

    cleaned = decode(result.data)
    assert cleaned.mode == "RGBA"
    assert cleaned.getpixel((0, 0))[3] == 0
    assert cleaned.getpixel((12, 0)) == (0, 0, 255, 255)


def test_it_keeps_16_bit_greyscale_visible():
    grey = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    result = clean(encode(grey, "PNG"))

    cleaned = decode(result.data)
    assert cleaned.mode == "L"
    assert cleaned.getpixel((0, 0)) == 128


def test_cleaning_twice_changes_nothing_visible():
    once = clean(encode(astronaut(), "PNG"))
    twice = clean(once.data)

    assert np.array_equal(np.asarray(decode(once.data)), np.asarray(decode(twice.data)))


# --- clean_image: what it refuses -------------------------------------------------------------


def test_it_refuses_a_zip_renamed_png():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("image.png", encode(astronaut(), "PNG"))

    assert rejection(buffer.getvalue()).code == "not_image"


def test_it_refuses_svg():
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'

    assert rejection(svg).code == "not_image"


def test_it_refuses_html():
    assert rejection(b"<!doctype html><html><script>alert(1)</script></html>").code == "not_image"


def test_it_refuses_gif_as_wrong_format():
    assert "GIF" not in ALLOWED_FORMATS
    assert rejection(encode(astronaut(), "GIF")).code == "format"


def test_it_refuses_a_truncated_jpeg():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    whole = encode(chelsea(), "JPEG")

    assert rejection(whole[: len(whole) * 2 // 3]).code == "truncated"


def test_it_refuses_a_truncated_png():
    whole = encode(astronaut(), "PNG")

    assert rejection(whole[: len(whole) // 2]).code == "truncated"


def test_it_refuses_more_bytes_than_allowed():
    error = rejection(encode(astronaut(), "PNG"), max_bytes=10_000)

    assert error.code == "too_large"


def test_it_refuses_a_20000_square_png_without_decoding(monkeypatch):
    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    started = time.monotonic()

    error = rejection(png_claiming_size(20000, 20000))

    assert error.code == "too_many_pixels"
    assert time.monotonic() - started < 0.5


def test_it_refuses_pixels_over_our_cap(monkeypatch):
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels were decoded"))

    error = rejection(png_claiming_size(2000, 1000), max_pixels=1_000_000)

    assert error.code == "too_many_pixels"
    assert "1,000,000" in str(error)


def test_it_refuses_what_pillow_calls_a_bomb_even_under_a_looser_cap():
    # 100 Mpx is over Pillow's MAX_IMAGE_PIXELS (warning range) but under our cap here.
    assert Image.MAX_IMAGE_PIXELS < 10000 * 10000 < 2 * Image.MAX_IMAGE_PIXELS

    assert rejection(png_claiming_size(10000, 10000), max_pixels=10**9).code == "too_many_pixels"


# --- verify_image -------------------------------------------------------------------------------


def test_verify_keeps_the_provider_bytes():
    source = encode(astronaut(), "PNG")

    result = verify_image(source, max_pixels=MAX_PIXELS, max_bytes=MAX_BYTES)

    assert result.data == source
    assert (result.format, result.width, result.height) == ("PNG", 512, 512)


def test_verify_reports_displayed_dimensions():
    result = verify_image(photo_with_gps(orientation=6), max_pixels=MAX_PIXELS, max_bytes=MAX_BYTES)

    assert (result.width, result.height) == (300, 451)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (b"<html>Not found</html>", "not_image"),
        (png_claiming_size(5000, 5000), "too_many_pixels"),
    ],
)
def test_verify_refuses_what_clean_refuses(source, code):
    with pytest.raises(ImageRejected) as caught:
        verify_image(source, max_pixels=MAX_PIXELS, max_bytes=MAX_BYTES)

    assert caught.value.code == code


def test_verify_refuses_a_truncated_png():
    whole = encode(astronaut(), "PNG")

    with pytest.raises(ImageRejected) as caught:
        verify_image(whole[:-5000], max_pixels=MAX_PIXELS, max_bytes=MAX_BYTES)

    assert caught.value.code == "truncated"


# --- make_webp ----------------------------------------------------------------------------------


def test_thumbnail_is_webp_within_the_side():
    webp, width, height = make_webp(encode(astronaut(), "PNG"), max_side=THUMBNAIL_SIDES["thumb"])

    thumb = decode(webp)
    assert thumb.format == "WEBP"
    assert (width, height) == thumb.size == (384, 384)


def test_thumbnail_keeps_the_aspect_ratio():
    webp, width, height = make_webp(encode(chelsea(), "JPEG"), max_side=THUMBNAIL_SIDES["thumb"])

    assert width == 384
    assert abs(height - 384 * 300 / 451) <= 1
    assert decode(webp).size == (width, height)


def test_thumbnail_never_upscales():
    _webp, width, height = make_webp(clean(encode(chelsea(), "PNG")), max_side=THUMBNAIL_SIDES["preview"])

    assert (width, height) == (451, 300)


def test_thumbnail_is_upright():
    _webp, width, height = make_webp(photo_with_gps(orientation=6), max_side=THUMBNAIL_SIDES["thumb"])

    assert height == 384
    assert abs(width - 384 * 300 / 451) <= 1


def test_thumbnail_keeps_transparency():
    image = astronaut().convert("RGBA")
    image.putalpha(0)

    webp, _width, _height = make_webp(image, max_side=64)

    assert decode(webp).getpixel((0, 0))[3] == 0


# --- parameters_text and png_with_parameters -------------------------------------------------------

PARAMS = {
    "text": "玫瑰花, oil painting",
    "negative_prompt": "cropped",
    "num_steps": 20,
    "sampler": "k_euler",
    "guidance_scale": 7.5,
    "seed": 123,
    "w": 512,
    "h": 512,
    "version": "dreamlike_v1",
}


def test_parameters_text_reads_like_a1111():
    assert parameters_text(PARAMS) == (
        "玫瑰花, oil painting\n"
        "Negative prompt: cropped\n"
        "Steps: 20, Sampler: k_euler, CFG scale: 7.5, Seed: 123, Size: 512x512, Model: dreamlike_v1"
    )


def test_parameters_text_leaves_out_what_is_missing():
    assert parameters_text({"text": "Roses", "negative_prompt": "", "seed": 5, "w": 512}) == "Roses\nSeed: 5"


def test_parameters_text_quotes_values_with_commas():
    text = parameters_text({"text": "a cat", "style": "ink, wash", "strength": 0.6})

    assert text.splitlines()[-1] == 'Denoising strength: 0.6, Style: "ink, wash"'


def test_png_keeps_chinese_prompt_and_json():
    extra = {"job": "4b5c", "provider_uid": "b50fd9dc"}

    result = png_with_parameters(encode(chelsea(), "JPEG"), params=PARAMS, extra=extra)

    image = decode(result)
    assert image.format == "PNG"
    assert image.text["parameters"] == parameters_text(PARAMS)
    assert "玫瑰花" in image.text["parameters"]
    assert json.loads(image.text["aigc"]) == {"params": PARAMS, "extra": extra}
    assert b"iTXtaigc" in result


def test_png_drops_metadata_of_its_source():
    result = png_with_parameters(photo_with_gps(orientation=6), params={"text": "Roses"})

    image = decode(result)
    assert set(image.text) == {"parameters", "aigc"}
    assert len(image.getexif()) == 0
    assert image.size == (300, 451)
