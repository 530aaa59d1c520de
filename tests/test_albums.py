"""Albums ("boards"): create, rename, delete (images stay), add and remove, privacy."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gallery import albums
from gallery.models import Album, AlbumItem, Image
from tests.factories import image_row

pytestmark = pytest.mark.django_db


def ids_on(response) -> list[str]:
    return re.findall(r'data-testid="image-card" data-image-id="([0-9a-f-]+)"', response.content.decode())


def test_it_creates_an_album(alice_client, alice):
    response = alice_client.post(reverse("album_create"), {"name": "  Cats   and dogs "})
    album = Album.objects.get(owner=alice)
    assert album.name == "Cats and dogs"
    assert response["Location"] == reverse("album_detail", args=[album.id])
    assert "Cats and dogs" in alice_client.get(reverse("album_list")).content.decode()


def test_it_creates_an_album_with_a_picture(alice_client, alice):
    image = image_row(alice)
    page = reverse("image_detail", args=[image.id])
    response = alice_client.post(reverse("album_create"), {"name": "猫", "image": str(image.id), "next": page})
    assert response["Location"] == page
    assert list(Album.objects.get(owner=alice, name="猫").images.all()) == [image]


def test_it_refuses_an_empty_or_duplicate_name(alice_client, alice):
    albums.create_album(owner=alice, name="Cats")
    alice_client.post(reverse("album_create"), {"name": "   "})
    response = alice_client.post(reverse("album_create"), {"name": "Cats"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert Album.objects.filter(owner=alice).count() == 1
    assert "You already have an album with this name." in response.content.decode()


def test_two_users_may_use_the_same_name(alice, bob):
    albums.create_album(owner=alice, name="Cats")
    albums.create_album(owner=bob, name="Cats")
    assert Album.objects.filter(name="Cats").count() == 2


def test_it_renames_an_album(alice_client, alice):
    album = albums.create_album(owner=alice, name="Old")
    response = alice_client.post(reverse("album_rename", args=[album.id]), {"name": "New"})
    assert response.status_code == 302
    album.refresh_from_db()
    assert album.name == "New"


def test_renaming_onto_a_taken_name_keeps_the_old_one(alice_client, alice):
    albums.create_album(owner=alice, name="Taken")
    album = albums.create_album(owner=alice, name="Mine")
    alice_client.post(reverse("album_rename", args=[album.id]), {"name": "Taken"})
    album.refresh_from_db()
    assert album.name == "Mine"


def test_deleting_an_album_keeps_its_pictures(alice_client, alice):
    image = image_row(alice)
    album = albums.create_album(owner=alice, name="Board", images=[image])
    response = alice_client.post(reverse("album_delete", args=[album.id]))
    assert response["Location"] == reverse("album_list")
    assert not Album.objects.filter(id=album.id).exists()
    assert Image.objects.filter(id=image.id).exists()


def test_it_adds_and_removes_pictures(alice_client, alice):
    first, second = image_row(alice), image_row(alice)
    album = albums.create_album(owner=alice, name="Board")
    alice_client.post(reverse("album_add", args=[album.id]), {"image": [str(first.id), str(second.id)]})
    alice_client.post(reverse("album_add", args=[album.id]), {"image": [str(first.id)]})  # twice: no change
    assert AlbumItem.objects.filter(album=album).count() == 2
    alice_client.post(reverse("album_remove", args=[album.id]), {"image": [str(first.id)]})
    assert list(album.images.all()) == [second]
    assert Image.objects.filter(id=first.id).exists()


def test_the_album_page_lists_its_pictures(alice_client, alice):
    inside, outside = image_row(alice), image_row(alice)
    album = albums.create_album(owner=alice, name="Board", images=[inside])
    response = alice_client.get(reverse("album_detail", args=[album.id]))
    assert response.status_code == 200
    assert ids_on(response) == [str(inside.id)]
    assert str(outside.id) not in response.content.decode()


def test_the_album_list_shows_counts_and_covers(alice_client, alice):
    images = [image_row(alice), image_row(alice)]
    albums.create_album(owner=alice, name="Two", images=images)
    albums.create_album(owner=alice, name="Empty")
    html = alice_client.get(reverse("album_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 pictures" in html and "0 pictures" in html
    assert html.count('data-testid="album-card"') == 2
    assert images[1].thumb_key in html or images[0].thumb_key in html


def test_the_bulk_bar_removes_from_the_album(alice_client, alice):
    image = image_row(alice)
    album = albums.create_album(owner=alice, name="Board", images=[image])
    alice_client.post(reverse("gallery_bulk"), {"action": "remove", "album": album.id, "image": [str(image.id)]})
    assert not album.images.exists()


def test_another_users_album_is_a_404(client, alice, bob):
    image = image_row(alice)
    album = albums.create_album(owner=alice, name="Private board", images=[image])
    theirs = image_row(bob)
    client.force_login(bob)
    assert client.get(reverse("album_detail", args=[album.id])).status_code == 404
    assert client.get(reverse("gallery_zip"), {"album": album.id}).status_code == 404
    for name in ("album_rename", "album_delete", "album_add", "album_remove"):
        response = client.post(reverse(name, args=[album.id]), {"name": "mine now", "image": [str(theirs.id)]})
        assert response.status_code == 404, name
    bulk = client.post(reverse("gallery_bulk"), {"action": "album", "album": album.id, "image": [str(theirs.id)]})
    assert bulk.status_code == 404
    album.refresh_from_db()
    assert album.name == "Private board"
    assert list(album.images.all()) == [image]


def test_an_album_takes_only_its_owners_pictures(alice, bob):
    album = albums.create_album(owner=alice, name="Board")
    assert albums.add_to_album(album=album, images=[image_row(bob)]) == 0
    assert not album.images.exists()


def test_albums_need_a_login(client, alice):
    album = albums.create_album(owner=alice, name="Board")
    assert client.get(reverse("album_list")).status_code == 302
    assert client.get(reverse("album_detail", args=[album.id])).status_code == 302
    assert client.post(reverse("album_delete", args=[album.id])).status_code == 302
    assert Album.objects.filter(id=album.id).exists()


def test_the_remove_button_sits_inside_its_album_chip(alice_client, alice):
    """Fails before: the album chips were in a <p>, which a browser closes at the first <form>,
    so each × fell out of its chip onto a line of its own."""
    from tests.factories import image_row

    image = image_row(alice)
    albums.create_album(owner=alice, name="Foxes", images=[image])
    html = alice_client.get(reverse("image_detail", args=[image.id])).content.decode()
    opener = html[: html.index('class="in-albums"')].rsplit("<", 1)[1]
    assert opener.startswith("div")
    chip = html.split('<span class="chip">', 1)[1].split("</span>", 1)[0]
    assert "Foxes" in chip and 'data-testid="remove-from-album"' in chip
