"""Ingest's picture pipeline: libvips decodes and scales (gallery/imaging.verify_and_load), the
uploads go out from threads kept for the process (gallery/ingest._upload_pool)."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from gallery import imaging, ingest, labels, media
from tests.test_imaging import astronaut, encode, photo_with_gps

LIMITS = {"max_pixels": 10**8, "max_bytes": 10**8}


def test_the_uploads_of_two_ingests_go_out_from_the_same_threads(alice, image_host, monkeypatch):
    """Fails before the kept pool: each ingest made three new threads, and django-storages a new
    boto3 session in each (132 ms a put instead of 15)."""
    threads: list[threading.Thread] = []
    put = media.put

    def spy(**kwargs):
        threads.append(threading.current_thread())
        return put(**kwargs)

    monkeypatch.setattr(media, "put", spy)
    url = f"{image_host.url}/result.png"
    first = ingest.download_and_store(url=url, folder=f"images/{alice.pk}")
    second = ingest.download_and_store(url=url, folder=f"images/{alice.pk}")
    media.delete(first.keys() + second.keys())
    assert len(threads) == 6
    assert {id(thread) for thread in threads[3:]} <= {id(thread) for thread in threads[:3]}


def test_libvips_refuses_a_truncated_png_like_pillow():
    data = encode(astronaut(), "PNG")
    with pytest.raises(imaging.ImageRejected) as refused:
        imaging.verify_and_load(data[: len(data) // 2], **LIMITS)
    assert refused.value.code == "truncated"


def test_an_upright_photo_is_measured_and_scaled_as_displayed():
    clean, pixels = imaging.verify_and_load(photo_with_gps(orientation=6), **LIMITS)
    webp, width, height = imaging.make_webp(pixels, max_side=imaging.THUMBNAIL_SIDES["thumb"])
    shown = Image.open(io.BytesIO(webp))
    assert clean.height > clean.width and height > width
    assert shown.size == (width, height) and max(shown.size) == imaging.THUMBNAIL_SIDES["thumb"]


def test_a_greyscale_png_gets_a_colour_webp_with_the_label_and_no_metadata_of_its_own():
    grey = astronaut().convert("L")
    clean, pixels = imaging.verify_and_load(encode(grey, "PNG"), **LIMITS)
    label = labels.for_generated(produce_id="p-1")
    webp, width, height = imaging.make_webp(pixels, max_side=64, xmp=labels.xmp_packet(label))
    shown = Image.open(io.BytesIO(webp))
    assert (clean.format, shown.format, shown.mode, shown.size) == ("PNG", "WEBP", "RGB", (64, 64))
    assert labels.read_label(webp) == label
    assert "icc_profile" not in shown.info and "exif" not in shown.info


def test_pictures_libvips_would_convert_keep_the_pillow_path():
    palette = astronaut().convert("P")
    _clean, pixels = imaging.verify_and_load(encode(palette, "PNG"), **LIMITS)
    assert isinstance(pixels, Image.Image)
