"""An upgraded site: pictures stored before labelling existed carry no label in any object, and
`manage.py aigc_relabel` writes it in (new keys, old objects deleted after the commit).

Each test fails on the code before the backfill: there was no `aigc_relabel` command (and no
gallery/relabel.py), so the old pictures' originals, thumbnails, previews and stored download
PNGs kept being served without the TC260 label."""

from __future__ import annotations

import ast
import html
import io
import re

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from gallery import albums, jobs, labels, media
from gallery.management.commands.check_invariants import find_problems
from gallery.models import STORED_KEY_FIELDS, Image, Job, JobStatus
from tests.factories import stored_image, unlabelled_image
from tests.test_labels import body_of, corner_pixels, exiftool_label, media_bytes, our_label, zip_members

pytestmark = pytest.mark.django_db


def relabel(capsys, *args: str) -> list[str]:
    call_command("aigc_relabel", *args)
    return capsys.readouterr().out.splitlines()


def keys_of(image: Image) -> dict[str, str]:
    image.refresh_from_db()
    return {name: getattr(image, name) for name in STORED_KEY_FIELDS}


def share_page_pictures(client, image: Image) -> list[bytes]:
    """The pictures the share page shows, fetched through their presigned URLs on the S3 server."""
    page = client.get(reverse("image_detail", args=[image.id])).content.decode()
    sources = [html.unescape(src) for src in re.findall(r'<img[^>]* src="([^"]+)"', page)]
    pictures = [requests.get(src, timeout=10) for src in sources if src.startswith("http")]
    assert pictures and all(response.status_code == 200 for response in pictures)
    return [response.content for response in pictures]


def test_after_the_backfill_every_serve_path_of_an_old_picture_carries_the_label(
    alice_client, alice, client, capsys, tmp_path, django_capture_on_commit_callbacks
):
    """Walks every way a picture leaves the site, for pictures stored the old way: the media view's
    three variants (presigned URLs on the real S3 server), the stored download PNG (also at full
    size), the zip by
    selection, by album and by the bulk bar, and the public share page's pictures as a stranger
    sees them. Before the backfill none of them carried a label."""
    image = unlabelled_image(alice, size=(320, 240), is_public=True)
    derived = unlabelled_image(alice, kind="img2img", source_image=image, with_download=False, is_public=True)
    album = albums.create_album(owner=alice, name="Old board", images=[image, derived])
    assert labels.read_label(media_bytes(alice_client, image, "original")) is None  # as an upgraded site serves it
    assert labels.read_label(body_of(alice_client.get(reverse("image_download", args=[image.id])))) is None
    old_keys = {key for picture in (image, derived) for key in picture.stored_keys()}

    with django_capture_on_commit_callbacks(execute=True):
        out = relabel(capsys)
    assert f"relabelled {image.id}: original, preview, thumbnail, download PNG" in out
    assert f"relabelled {derived.id}: original, preview, thumbnail" in out
    assert out[-1].startswith("2 of 2 pictures checked: 2 relabelled (7 objects), 0 already labelled")

    for picture in (image, derived):
        new_keys = set(keys_of(picture).values()) - {""}
        assert not new_keys & old_keys  # new keys: cached URLs of the old ones never show new bytes
        assert not [key for key in old_keys if media.exists(key)]  # the old objects are gone
    served: dict[tuple[Image, str], bytes] = {}
    for picture in (image, derived):
        for variant in ("original", "preview", "thumb"):
            served[picture, f"media {variant}"] = media_bytes(alice_client, picture, variant)
            served[picture, f"public media {variant}"] = media_bytes(client, picture, variant)
        served[picture, "download"] = body_of(alice_client.get(reverse("image_download", args=[picture.id])))
        served[picture, "public download"] = body_of(client.get(reverse("image_download", args=[picture.id])))
        served[picture, "full size"] = body_of(client.get(reverse("image_full_size", args=[picture.id])))
    zips = {
        "zip": alice_client.get(reverse("gallery_zip"), {"image": [str(image.id), str(derived.id)]}),
        "album zip": alice_client.get(reverse("gallery_zip"), {"album": album.id}),
        "bulk zip": alice_client.post(reverse("gallery_bulk"), {"action": "zip", "image": [str(image.id)]}),
    }
    by_name = {name: picture for picture in (image, derived) for name in [f"{picture.id.hex[:8]}.png"]}
    for kind, response in zips.items():
        for name, data in zip_members(response).items():
            served[by_name[name.rsplit("-", 1)[-1]], f"{kind} {name}"] = data
    share = share_page_pictures(client, image)
    assert len(share) == 2  # the picture's preview, and the thumbnail of the one made from it
    served[image, "share page preview"], served[derived, "share page derived thumbnail"] = share
    assert len(served) == 2 * 9 + 2 + 2 + 1 + 2
    wrong = [what for (picture, what), data in served.items() if labels.read_label(data) != _expected(picture)]
    assert wrong == []
    # the stored download PNG was made again, so it also has the visible mark now
    original = PILImage.open(io.BytesIO(served[image, "media original"])).convert("RGB")
    downloaded = PILImage.open(io.BytesIO(served[image, "download"])).convert("RGB")
    assert corner_pixels(downloaded, "bottom-right") != corner_pixels(original, "bottom-right")
    assert corner_pixels(downloaded, "top-left") == corner_pixels(original, "top-left")
    # an outside tool agrees, on the relabelled original and the rewritten WebP thumbnail
    assert exiftool_label(served[image, "media original"], tmp_path, "original.png") == our_label(image)
    assert exiftool_label(served[derived, "media thumb"], tmp_path, "thumb.webp") == our_label(
        derived, source=str(image.id)
    )


def _expected(image: Image) -> labels.AigcLabel:
    return labels.AigcLabel.from_json_object(our_label(image, source=str(image.source_image_id or "")))


def test_a_second_run_writes_nothing_and_labelled_pictures_keep_their_objects(
    alice, capsys, bucket_keys, django_capture_on_commit_callbacks
):
    labelled = stored_image(alice)
    before = keys_of(labelled)
    old = unlabelled_image(alice)
    old_keys, objects = set(old.stored_keys()), set(bucket_keys())
    with django_capture_on_commit_callbacks(execute=True):
        relabel(capsys)
    after_first = set(bucket_keys())
    # each old object was replaced by one new one, and nothing else changed
    assert after_first == (objects - old_keys) | set(keys_of(old).values())
    with django_capture_on_commit_callbacks(execute=True):
        out = relabel(capsys)
    assert out == [
        "2 of 2 pictures checked: 0 relabelled (0 objects), 2 already labelled, 0 left for a later run, "
        "0 objects missing, 0 could not be labelled"
    ]
    assert set(bucket_keys()) == after_first  # the second run wrote and deleted nothing
    assert keys_of(labelled) == before
    assert not find_problems(check_storage=True)[0]
    assert labels.read_label(media.read(keys_of(old)["original_key"])) == _expected(old)


def test_the_dry_run_lists_what_it_would_do_and_writes_nothing(alice, capsys, bucket_keys):
    old = unlabelled_image(alice)
    before_keys, before_objects = keys_of(old), set(bucket_keys())
    out = relabel(capsys, "--dry-run")
    assert out[0] == f"would relabel {old.id}: original, preview, thumbnail, download PNG"
    assert out[-1].endswith("(dry run: nothing was written)")
    assert keys_of(old) == before_keys and set(bucket_keys()) == before_objects


def test_storage_failing_half_way_loses_no_picture_and_the_next_run_finishes(
    alice, alice_client, capsys, monkeypatch, storage_down, django_capture_on_commit_callbacks
):
    """The store goes away after the first new object of a picture was uploaded: the command
    stops and says so, the row still names the old objects and they are all there (served as
    before); once the store is back, a second run relabels the picture."""
    old = unlabelled_image(alice)
    before = keys_of(old)
    outage, real_put, puts = storage_down(), media.put, []

    def put_then_fail(**kwargs):
        puts.append(kwargs)
        if len(puts) == 2:
            outage.__enter__()
        return real_put(**kwargs)

    monkeypatch.setattr(media, "put", put_then_fail)
    with pytest.raises(CommandError, match="stopped: object storage unavailable.*Nothing was lost"):
        call_command("aigc_relabel")
    outage.__exit__(None, None, None)
    monkeypatch.setattr(media, "put", real_put)
    assert len(puts) == 2
    assert keys_of(old) == before
    assert all(media.exists(key) for key in before.values())
    assert media_bytes(alice_client, old, "original") == media.read(before["original_key"])
    assert not find_problems(check_storage=True)[0]

    with storage_down(), pytest.raises(CommandError, match="Nothing was lost"):
        call_command("aigc_relabel")  # down from the start: nothing read, nothing changed
    assert keys_of(old) == before

    with django_capture_on_commit_callbacks(execute=True):
        out = relabel(capsys)
    assert f"relabelled {old.id}: original, preview, thumbnail, download PNG" in out
    assert all(labels.read_label(media.read(key)) == _expected(old) for key in keys_of(old).values())


def test_an_original_a_running_job_reads_waits_for_a_later_run(alice, capsys, django_capture_on_commit_callbacks):
    """The provider may still fetch a queued job's source by its key: its thumbnails are labelled
    at once, the original when the job has ended; the job then names the new original."""
    old = unlabelled_image(alice, with_download=False)
    job = jobs.create_job(
        owner=alice,
        kind="img2img",
        params={"text": "again"},
        prompt="again",
        source_key=old.original_key,
        source_image=old,
    )
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError, match="1 pictures were left"):
        call_command("aigc_relabel")
    out = capsys.readouterr().out.splitlines()
    assert f"left for a later run {old.id}: a running job reads its original" in out
    first = keys_of(old)
    assert first["original_key"] == job.source_key and media.exists(job.source_key)
    assert labels.read_label(media.read(first["original_key"])) is None
    assert labels.read_label(media.read(first["thumb_key"])) == _expected(old)

    jobs.fail(job_id=job.id, reason="test")
    assert Job.objects.get(id=job.id).status == JobStatus.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        out = relabel(capsys)
    assert f"relabelled {old.id}: original" in out
    second = keys_of(old)
    assert second["thumb_key"] == first["thumb_key"]
    assert labels.read_label(media.read(second["original_key"])) == _expected(old)
    assert Job.objects.get(id=job.id).source_key == second["original_key"]
    assert not media.exists(first["original_key"])


def test_the_upgrade_schedules_the_backfill_which_hands_itself_on_until_done(
    alice, monkeypatch, storage_down, django_capture_on_commit_callbacks
):
    """The migration plans one run in the worker; each slice plans the next from where it got to,
    and a failing store only postpones it. Fails before: nothing was scheduled, no such task."""
    from django_q.models import Schedule

    from gallery import tasks

    planned = Schedule.objects.get(name="relabel-stored-pictures")
    assert planned.func == "gallery.tasks.relabel_stored_pictures" and planned.schedule_type == Schedule.ONCE
    pictures = [unlabelled_image(alice, with_download=False) for _ in range(3)]
    monkeypatch.setattr(tasks, "RELABEL_SLICE_SECONDS", 0)  # one picture per slice

    def run_planned() -> str:
        (task,) = Schedule.objects.filter(func="gallery.tasks.relabel_stored_pictures")
        task.delete()  # what the cluster does with a ONCE schedule it has run
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.relabel_stored_pictures(*ast.literal_eval(task.args or "()"))

    with storage_down():
        assert run_planned().startswith("stopped: object storage unavailable")
    retry = Schedule.objects.get(func="gallery.tasks.relabel_stored_pictures")
    assert ast.literal_eval(retry.args) == ("", 2, 0) and retry.next_run > timezone.now()
    results = [run_planned() for _ in range(4)]
    assert [result.split(":")[0] for result in results] == ["continues"] * 3 + ["done"]
    assert not Schedule.objects.filter(func="gallery.tasks.relabel_stored_pictures").exists()
    for picture in pictures:
        assert all(labels.read_label(media.read(key)) == _expected(picture) for key in keys_of(picture).values() if key)


@pytest.mark.parametrize(
    ("language", "before"),
    [("en", "This picture was stored before labelling"), ("zh-hans", "此图片保存于标识功能上线之前")],
)
def test_the_image_page_says_what_the_files_really_carry(
    client, alice, storage_down, django_capture_on_commit_callbacks, language, before
):
    """Fails before: the page claimed the label for an old picture whose files carried none."""
    old = unlabelled_image(alice, is_public=True)

    def label_on_page() -> str:
        page = client.get(reverse("image_detail", args=[old.id]), HTTP_ACCEPT_LANGUAGE=language)
        assert page.status_code == 200
        return html.unescape(re.search(r'data-testid="aigc-label">(.*?)</dd>', page.content.decode()).group(1))

    assert before in label_on_page() and str(old.id) not in label_on_page()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("aigc_relabel")
    assert "画廊 AIGC" in label_on_page() and str(old.id) in label_on_page()
    with storage_down():
        assert ("could not be read" if language == "en" else "暂时无法读取") in label_on_page()


def test_a_picture_with_a_lost_original_is_reported_and_its_last_copies_labelled(
    alice, alice_client, capsys, django_capture_on_commit_callbacks
):
    """The stored download PNG may be the last full-size copy: it is made again from itself."""
    old = unlabelled_image(alice)
    media.delete([old.original_key])
    before = PILImage.open(io.BytesIO(media.read(old.download_key))).convert("RGB")
    with django_capture_on_commit_callbacks(execute=True):
        out = relabel(capsys)
    assert f"relabelled {old.id}: preview, thumbnail, download PNG" in out
    assert f"missing object {old.original_key} of {old.id}" in out
    keys = keys_of(old)
    assert labels.read_label(media.read(keys["thumb_key"])) == _expected(old)
    download = body_of(alice_client.get(reverse("image_download", args=[old.id])))
    assert labels.read_label(download) == _expected(old)
    pixels = PILImage.open(io.BytesIO(download)).convert("RGB")
    assert corner_pixels(pixels, "bottom-right", 20) != corner_pixels(before, "bottom-right", 20)  # the mark
    assert corner_pixels(pixels, "top-left", 20) == corner_pixels(before, "top-left", 20)
