"""The orphan sweep deletes only what nothing refers to, and only once it is old enough."""

from datetime import timedelta

import pytest

from gallery import downloads, jobs, media
from gallery.housekeeping import sweep_orphans
from tests.factories import stored_image
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db


def test_it_deletes_unreferenced_objects_and_keeps_referenced_ones(alice, bucket_keys):
    image = stored_image(alice)
    job = jobs.create_job(
        owner=alice,
        kind="upscale",
        params={},
        source_key=media.put(folder=f"sources/{alice.pk}", extension="png", data=png_bytes()),
    )
    orphan_image = media.put(folder=f"images/{alice.pk}", extension="png", data=png_bytes())
    orphan_source = media.put(folder=f"sources/{alice.pk}", extension="png", data=png_bytes())

    report = sweep_orphans(older_than=timedelta(0))

    keys = set(bucket_keys())
    assert {orphan_image, orphan_source} <= set(report.deleted)
    assert orphan_image not in keys and orphan_source not in keys
    assert {image.original_key, image.thumb_key, image.preview_key, job.source_key} <= keys


def test_young_orphans_are_left_for_an_ingest_that_may_still_attach_them(alice, bucket_keys):
    young = media.put(folder=f"images/{alice.pk}", extension="png", data=png_bytes())
    report = sweep_orphans(older_than=timedelta(hours=1))
    assert young not in report.deleted
    assert young in bucket_keys()


def test_a_dry_run_deletes_nothing(alice, bucket_keys):
    orphan = media.put(folder=f"images/{alice.pk}", extension="png", data=png_bytes())
    report = sweep_orphans(older_than=timedelta(0), dry_run=True)
    assert orphan in report.deleted
    assert orphan in bucket_keys()


def test_a_stored_download_png_is_referenced(alice, bucket_keys):
    """Fails before the fix: the sweep knew only the original, preview and thumbnail keys, so a
    day later it deleted every picture's stored download PNG."""
    image = stored_image(alice)
    b"".join(downloads.png_download(image=image).chunks)
    report = sweep_orphans(older_than=timedelta(0))
    assert image.download_key and image.download_key not in report.deleted
    assert image.download_key in bucket_keys()
