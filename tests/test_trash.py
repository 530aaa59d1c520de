"""The trash: deleting moves pictures there with an undo, every page stops showing them at once,
restoring puts them back in their albums, emptying and the daily purge delete their stored
objects for good; check_invariants reconciles the database with the bucket."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from gallery import albums, housekeeping, inspiration, tasks, trash
from gallery.management.commands.check_invariants import find_problems
from gallery.models import AlbumItem, AuditEntry, Image, InspirationEntry, Job, JobStatus, Reconciliation
from tests.factories import image_row, stored_image

pytestmark = pytest.mark.django_db


def ids_on(response) -> list[str]:
    return re.findall(r'data-image-id="([0-9a-f-]+)"', response.content.decode())


def trash_ids(client) -> list[str]:
    return re.findall(
        r'data-testid="trash-card" data-image-id="([0-9a-f-]+)"', client.get(reverse("trash")).content.decode()
    )


# --- deleting moves to the trash, with an undo ---


def test_deleting_a_picture_moves_it_to_the_trash_with_an_undo_in_the_message(alice_client, alice, bucket_keys):
    image = stored_image(alice)
    response = alice_client.post(reverse("image_delete", args=[image.id]), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("gallery")
    assert "Moved 1 picture to the trash." in html
    assert f'action="{reverse("trash_undo")}"' in html and 'data-testid="undo"' in html
    assert str(image.id) not in ids_on(response)
    image.refresh_from_db()
    assert image.trashed_at is not None
    # Nothing is deleted yet: the row and the stored objects wait in the trash.
    assert set(image.stored_keys()) <= set(bucket_keys(f"images/{alice.pk}/"))
    assert trash_ids(alice_client) == [str(image.id)]


def test_the_undo_works_without_javascript_and_puts_the_pictures_back_in_their_albums(alice_client, alice):
    kept, doomed = image_row(alice), [image_row(alice), image_row(alice)]
    album = albums.create_album(owner=alice, name="Board", images=[kept, *doomed])
    data = {"action": "delete", "image": [str(i.id) for i in doomed], "next": reverse("album_detail", args=[album.id])}
    page = alice_client.post(reverse("gallery_bulk"), data, follow=True)
    assert "Moved 2 pictures to the trash." in page.content.decode()
    assert ids_on(page) == [str(kept.id)]
    # The memberships are kept while trashed, but the album shows and counts only the rest.
    assert AlbumItem.objects.filter(album=album).count() == 3
    assert albums.albums_of(alice).get().image_count == 1

    undone = alice_client.post(reverse("trash_undo"), {"next": reverse("album_detail", args=[album.id])}, follow=True)
    assert "Restored 2 pictures." in undone.content.decode()
    assert set(ids_on(undone)) == {str(i.id) for i in [kept, *doomed]}
    assert albums.albums_of(alice).get().image_count == 3
    assert not Image.objects.trashed().exists()


def test_the_message_reads_in_chinese(alice_client, alice):
    image = image_row(alice)
    html = alice_client.post(
        reverse("image_delete", args=[image.id]), follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "已将 1 张图片移到回收站。" in html and "撤销" in html
    html = alice_client.post(reverse("trash_undo"), follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已恢复 1 张图片。" in html


def test_the_image_page_says_the_picture_goes_to_the_trash(alice_client, alice, settings):
    settings.TRASH_RETENTION_DAYS = 7
    image = image_row(alice)
    html = alice_client.get(reverse("image_detail", args=[image.id])).content.decode()
    assert "restorable for 7 days" in html and "Move to trash" in html
    zh = alice_client.get(reverse("image_detail", args=[image.id]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "移到回收站" in zh and "7 天" in zh


def test_nobody_can_trash_or_restore_another_users_pictures(alice_client, alice, bob):
    theirs = image_row(bob)
    assert alice_client.post(reverse("image_delete", args=[theirs.id])).status_code == 404
    alice_client.post(reverse("gallery_bulk"), {"action": "delete", "image": [str(theirs.id)]})
    assert trash.trash_images(owner=alice, images=[theirs]) == []
    trash.trash_images(owner=bob, images=[theirs])
    alice_client.post(reverse("trash_restore"), {"image": [str(theirs.id)]})
    theirs.refresh_from_db()
    assert theirs.trashed_at is not None
    assert trash_ids(alice_client) == []


def test_trashing_twice_moves_nothing_more_and_restoring_twice_restores_nothing_more(alice):
    image = image_row(alice)
    assert trash.trash_images(owner=alice, images=[image]) == [image.id]
    assert trash.trash_images(owner=alice, images=[image]) == []
    assert trash.restore_images(owner=alice, images=[image]) == [image.id]
    assert trash.restore_images(owner=alice, images=[image]) == []


def test_trash_and_restore_are_audited(alice):
    images = [image_row(alice), image_row(alice)]
    trash.trash_images(owner=alice, images=images)
    trash.restore_images(owner=alice, images=images[:1])
    entries = {entry.action: entry for entry in AuditEntry.objects.all()}
    assert entries["images.trashed"].data["count"] == 2 and entries["images.trashed"].actor == alice
    assert entries["images.restored"].data["images"] == [str(images[0].id)]


# --- a trashed picture is seen by nobody, at once ---


def test_a_trashed_public_picture_leaves_every_page_and_share_link_at_once(client, alice_client, alice, staff):
    image = stored_image(alice, is_public=True)
    inspiration.feature(image=image, by=staff)
    album = albums.create_album(owner=alice, name="Board", images=[image])
    trash.trash_images(owner=alice, images=[image])

    for url in (
        reverse("image_detail", args=[image.id]),
        reverse("image_media", args=[image.id, "thumb"]),
        reverse("image_download", args=[image.id]),
    ):
        assert client.get(url).status_code == 404, url  # the share link and its files
        assert alice_client.get(url).status_code == 404, url  # the owner too: it is in the trash
    assert str(image.id) not in ids_on(client.get(reverse("explore")))
    assert str(image.id) not in client.get(reverse("inspiration")).content.decode()
    assert str(image.id) not in ids_on(alice_client.get(reverse("gallery")))
    assert str(image.id) not in ids_on(alice_client.get(reverse("album_detail", args=[album.id])))
    assert alice_client.get(reverse("gallery_zip"), {"image": str(image.id)}).status_code == 404
    assert alice_client.get(reverse("gallery_zip"), {"album": album.id}).status_code == 404
    image.refresh_from_db()
    assert not image.is_visible_to(alice) and not Image.objects.visible_to(alice).exists()

    trash.restore_images(owner=alice, images=[image])
    assert client.get(reverse("image_detail", args=[image.id])).status_code == 200
    assert str(image.id) in client.get(reverse("inspiration")).content.decode()
    assert InspirationEntry.objects.filter(image=image).exists()


def test_a_child_of_a_trashed_parent_stays_and_its_page_no_longer_links_the_parent(alice_client, alice):
    parent = image_row(alice)
    child = image_row(alice, kind="upscale", source_image=parent)
    trash.trash_images(owner=alice, images=[parent])
    page = alice_client.get(reverse("image_detail", args=[child.id])).content.decode()
    assert reverse("image_detail", args=[parent.id]) not in page


# --- the trash page ---


def test_the_trash_page_lists_the_trashed_pictures_with_their_last_day(alice_client, alice, settings):
    settings.TRASH_RETENTION_DAYS = 30
    old, new = image_row(alice), image_row(alice)
    image_row(alice)
    trash.trash_images(owner=alice, images=[old, new])
    html = alice_client.get(reverse("trash")).content.decode()
    assert set(trash_ids(alice_client)) == {str(old.id), str(new.id)}
    # The page dates in the site's time zone (Asia/Shanghai): from 16:00 UTC it is already tomorrow there.
    day = timezone.localtime(timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"Deleted for good on {day}" in html and "2 pictures in the trash." in html
    assert "wait here for 30 days" in html
    zh = alice_client.get(reverse("trash"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "回收站" in zh and "30 天" in zh and f"{day} 永久删除" in zh
    assert 'data-testid="trash-link"' in alice_client.get(reverse("gallery")).content.decode()


def test_the_trash_page_restores_one_or_many(alice_client, alice):
    images = [image_row(alice) for _ in range(3)]
    trash.trash_images(owner=alice, images=images)
    alice_client.post(reverse("trash_restore"), {"image": [str(images[0].id)]})
    response = alice_client.post(reverse("trash_restore"), {"image": [str(i.id) for i in images[1:]]}, follow=True)
    assert "Restored 2 pictures." in response.content.decode()
    assert trash_ids(alice_client) == []
    assert set(ids_on(alice_client.get(reverse("gallery")))) == {str(i.id) for i in images}


def test_the_trash_page_is_the_owners_only(client, alice, bob):
    assert client.get(reverse("trash")).status_code == 302
    trash.trash_images(owner=bob, images=[image_row(bob)])
    client.force_login(alice)
    assert "The trash is empty." in client.get(reverse("trash")).content.decode()


# --- for good: emptying and the daily purge ---


def test_emptying_the_trash_deletes_the_rows_then_the_stored_objects(
    alice_client, alice, bucket_keys, django_capture_on_commit_callbacks
):
    doomed, kept = stored_image(alice), stored_image(alice)
    alice_client.get(reverse("image_download", args=[doomed.id]))  # makes its stored PNG too
    doomed.refresh_from_db()
    trash.trash_images(owner=alice, images=[doomed])
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("trash_empty"), follow=True)
    assert "Deleted 1 picture for good." in response.content.decode()
    assert not Image.objects.filter(id=doomed.id).exists()
    remaining = set(bucket_keys(f"images/{alice.pk}/"))
    assert doomed.download_key and not set(doomed.stored_keys()) & remaining
    assert set(kept.stored_keys()) <= remaining
    assert AuditEntry.objects.get(action="images.purged").data["reason"] == "emptied"


def test_emptying_keeps_a_picture_a_running_job_still_reads(
    alice_client, alice, bucket_keys, django_capture_on_commit_callbacks
):
    image = stored_image(alice)
    Job.objects.create(
        owner=alice, kind="upscale", status=JobStatus.SUBMITTED, source_key=image.original_key, source_image=image
    )
    trash.trash_images(owner=alice, images=[image])
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("trash_empty"), follow=True)
    assert "1 picture stays in the trash because a running job still uses it." in response.content.decode()
    assert Image.objects.trashed().filter(id=image.id).exists()
    assert image.original_key in bucket_keys(f"images/{alice.pk}/")


def test_the_daily_purge_deletes_what_is_past_the_retention_and_keeps_the_rest(
    alice, bucket_keys, settings, django_capture_on_commit_callbacks
):
    settings.TRASH_RETENTION_DAYS = 30
    expired, recent, live = stored_image(alice), stored_image(alice), stored_image(alice)
    trash.trash_images(owner=alice, images=[expired, recent])
    Image.objects.filter(id=expired.id).update(trashed_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.purge_trash() == 1
        assert tasks.purge_trash() == 0  # a second run finds nothing more
    assert set(Image.objects.values_list("id", flat=True)) == {recent.id, live.id}
    remaining = set(bucket_keys(f"images/{alice.pk}/"))
    assert not set(expired.stored_keys()) & remaining
    assert set(recent.stored_keys()) | set(live.stored_keys()) <= remaining
    entry = AuditEntry.objects.get(action="images.purged")
    assert entry.actor is None and entry.data["reason"] == "retention"


def test_the_purge_is_scheduled_daily_by_a_migration():
    schedule = Schedule.objects.get(name="purge-trash")
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == ("gallery.tasks.purge_trash", "D", -1)


def test_purging_a_parent_never_deletes_its_children(alice, django_capture_on_commit_callbacks):
    parent = stored_image(alice)
    child = stored_image(alice, kind="upscale", source_image=parent)
    trash.trash_images(owner=alice, images=[parent])
    with django_capture_on_commit_callbacks(execute=True):
        trash.empty_trash(owner=alice)
    child.refresh_from_db()
    assert child.source_image is None and child.trashed_at is None


def test_the_purge_works_in_batches(alice, monkeypatch):
    monkeypatch.setattr(trash, "PURGE_BATCH", 2)
    images = [image_row(alice) for _ in range(5)]
    trash.trash_images(owner=alice, images=images)
    assert trash.empty_trash(owner=alice).deleted == 5
    assert AuditEntry.objects.filter(action="images.purged").count() == 3


# --- the database reconciled with the bucket ---


def test_check_invariants_reports_a_missing_object_and_records_the_run(alice):
    image = stored_image(alice)
    trash.trash_images(owner=alice, images=[image])  # a trashed picture's objects must exist too
    housekeeping.media.delete([image.thumb_key])
    problems, counts = find_problems(check_storage=True)
    assert f"image {image.id}: {image.thumb_key} missing from storage" in problems
    last = Reconciliation.objects.first()
    assert not last.ok and image.thumb_key in last.missing and last.missing_count >= 1
    assert counts["storage"]["referenced"] == last.referenced


def test_reconciliation_finds_old_unreferenced_objects_and_spares_young_ones(alice):
    image = stored_image(alice)
    orphan = housekeeping.media.put(folder=f"images/{alice.pk}", extension="png", data=b"x")
    young = housekeeping.reconcile()
    assert orphan not in young.unreferenced and young.record.in_grace >= 1
    old = housekeeping.reconcile(older_than=timedelta(0))
    assert orphan in old.unreferenced and old.record.unreferenced_count == len(old.unreferenced)
    # The record keeps the first keys only; earlier tests may have left objects of their own.
    assert old.record.unreferenced == sorted(old.unreferenced)[: housekeeping.RECORDED_KEYS]
    assert not set(image.stored_keys()) & set(old.unreferenced)
    assert image.original_key not in old.missing


def test_the_admin_shows_the_last_reconciliation(client, staff, alice):
    stored_image(alice)
    housekeeping.reconcile()
    client.force_login(staff)
    html = client.get(reverse("admin:gallery_reconciliation_changelist")).content.decode()
    last = Reconciliation.objects.first()
    assert "storage reconciliation" in html.lower()
    assert f"{last.referenced}</td>" in html
    index = client.get(reverse("admin:index")).content.decode()
    assert "Storage reconciliations" in index and 'data-testid="last-reconciliation"' in index
    assert f"Last run {timezone.localtime(last.checked_at):%Y-%m-%d %H:%M}" in index
    zh = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "存储核对" in zh and "最近一次" in zh


def test_the_admin_index_says_when_no_reconciliation_ran(client, staff):
    client.force_login(staff)
    assert "Not run yet" in client.get(reverse("admin:index")).content.decode()


def test_the_home_page_and_the_source_picker_leave_trashed_pictures_out(alice_client, alice):
    kept, gone = image_row(alice, prompt="kept castle"), image_row(alice, prompt="gone castle")
    trash.trash_images(owner=alice, images=[gone])
    home = alice_client.get(reverse("home")).content.decode()
    assert str(kept.id) in home and str(gone.id) not in home
    form = alice_client.get(reverse("new_job", args=["img2img"])).content.decode()
    assert str(kept.id) in form and str(gone.id) not in form
