"""The facet counts the database keeps (gallery/facet_summary.py): every way a picture comes,
changes and goes keeps them equal to a fresh count, the gallery's first page shows them, and
check_invariants says when they are wrong. On both databases (the triggers differ)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from gallery import facet_summary, trash
from gallery.management.commands.check_invariants import find_problems
from gallery.models import FacetCount, Image
from tests.factories import image_fields, image_row

pytestmark = pytest.mark.django_db


def kept(owner) -> dict[tuple, int]:
    rows = FacetCount.objects.filter(owner=owner, n__gt=0).values_list(*facet_summary.KEY, "n")
    return {tuple(row[:-1]): row[-1] for row in rows}


def kind_counts(client, **query) -> dict[str, str]:
    html = client.get(reverse("gallery"), query).content.decode()
    select = html.split('data-testid="filter-kind"', 1)[1].split("</select>", 1)[0]
    return dict(re.findall(r'<option value="(\w+)"[^>]*>[^<(]*\((\d+)\)</option>', select))


def test_every_change_to_a_picture_keeps_the_counts_equal_to_a_fresh_count(alice, make_user):
    """Fails before gallery/facet_summary.py: there was nothing kept to compare."""
    bob = make_user("bob", credits_amount=0)  # no ledger: an account that may be deleted
    first = image_row(alice, kind="txt2img", rating=2)
    image_row(alice, kind="txt2img", rating=2)
    image_row(bob, kind="upscale", params={"sr_model": "x4plus"})
    assert kept(alice) == {("txt2img", 2, False, 512, 512, ""): 2}
    assert kept(bob) == {("upscale", 0, False, 512, 512, "x4plus"): 1}

    Image.objects.bulk_create([Image(**image_fields(alice, kind="anime")) for _ in range(3)])
    first.rating, first.is_favourite = 5, True
    first.save()
    Image.objects.filter(owner=alice, kind="anime").update(rating=4)
    Image.objects.filter(pk=first.pk).update(params={"version": "v1.5"})  # the generated model name follows
    assert kept(alice) == {
        ("txt2img", 2, False, 512, 512, ""): 1,
        ("txt2img", 5, True, 512, 512, "v1.5"): 1,
        ("anime", 4, False, 512, 512, ""): 3,
    }
    assert facet_summary.differences() == []

    trash.trash_images(owner=alice, images=[first])
    assert ("txt2img", 5, True, 512, 512, "v1.5") not in kept(alice)
    Image.objects.filter(pk=first.pk).update(rating=1)  # changed in the trash: not counted
    trash.restore_images(owner=alice, images=[first])
    assert kept(alice)[("txt2img", 1, True, 512, 512, "v1.5")] == 1
    Image.objects.filter(owner=alice, kind="anime").first().delete()
    Image.objects.filter(pk=first.pk).update(is_public=True)  # not a counted facet
    assert kept(alice)[("anime", 4, False, 512, 512, "")] == 2
    assert facet_summary.differences() == []

    bob.delete()  # the cascade takes the counts and the pictures
    assert not FacetCount.objects.filter(owner_id=bob.pk).exists()
    assert facet_summary.differences() == []


def test_the_first_page_shows_the_kept_counts_and_they_follow_the_trash(alice_client, alice):
    pictures = [image_row(alice, kind="txt2img") for _ in range(3)] + [image_row(alice, kind="anime")]
    assert kind_counts(alice_client)["txt2img"] == "3"
    trash.trash_images(owner=alice, images=pictures[:2])
    counts = kind_counts(alice_client)
    assert counts["txt2img"] == "1" and counts["anime"] == "1"
    # A word narrows the pictures: counted from the pictures, the same rule.
    assert kind_counts(alice_client, q="cat")["txt2img"] == "1"
    assert kind_counts(alice_client, kind="anime")["txt2img"] == "1"  # a facet is still kept counts


def test_check_invariants_names_a_count_that_went_wrong_and_rebuild_mends_it(alice):
    image_row(alice, kind="txt2img")
    FacetCount.objects.filter(owner=alice).update(n=7)
    problems, _ = find_problems(check_storage=False)
    assert any(f"facet counts of user {alice.pk}" in p and "kept 7, counted 1" in p for p in problems)
    facet_summary.rebuild(connection)
    assert find_problems(check_storage=False)[0] == []


def test_the_triggers_come_back_after_they_were_dropped(alice):
    """SQLite drops a table's triggers when Django rebuilds it; post_migrate makes them again
    (apps.py). On PostgreSQL install() is the migration's, and idempotent."""
    facet_summary.remove(connection)
    image_row(alice)  # not counted: no triggers
    assert facet_summary.differences() != []
    if connection.vendor == "sqlite":
        facet_summary.ensure_sqlite_triggers(connection)  # what post_migrate runs: they were missing
    else:
        facet_summary.install(connection)  # the triggers, and a fresh count
    assert facet_summary.differences() == []
    image_row(alice)
    assert kept(alice) == {("txt2img", 0, False, 512, 512, ""): 2}
