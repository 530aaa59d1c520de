"""One rule for who may see a picture: `Image.objects.visible_to(user)` (and the same rule for a
picture already loaded, `Image.is_visible_to`), used by every page that shows one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gallery.models import Image
from tests.factories import image_row

pytestmark = pytest.mark.django_db

GALLERY = Path(__file__).resolve().parent.parent / "gallery"


@pytest.fixture
def pictures(alice):
    return {
        "private": image_row(alice, prompt="private"),
        "public": image_row(alice, prompt="public", is_public=True),
        "hidden": image_row(alice, prompt="hidden", is_public=True, is_hidden=True),
    }


@pytest.mark.parametrize(
    ("who", "sees"),
    [("alice", {"private", "public", "hidden"}), ("bob", {"public"}), ("anonymous", {"public"})],
)
def test_the_owner_sees_all_of_theirs_others_only_what_is_public_and_not_hidden(pictures, alice, bob, who, sees):
    user = {"alice": alice, "bob": bob, "anonymous": AnonymousUser()}[who]
    seen = set(Image.objects.visible_to(user).values_list("prompt", flat=True))
    assert seen == sees
    assert {name for name, image in pictures.items() if image.is_visible_to(user)} == sees


def test_owned_by_is_the_rule_for_the_owners_own_pictures(pictures, alice, bob):
    """`owned_by(user)` is `visible_to(user)` narrowed to the user's pictures (the gallery's queries
    use it so they name only columns of the search index), the trash left out as by the rule."""
    image_row(bob, prompt="bob's public", is_public=True)
    image_row(alice, prompt="in the trash", trashed_at=timezone.now())
    for user in (alice, bob):
        rule = set(Image.objects.visible_to(user).filter(owner=user).values_list("id", flat=True))
        assert set(Image.objects.owned_by(user).values_list("id", flat=True)) == rule
    assert set(Image.objects.owned_by(alice).values_list("prompt", flat=True)) == {"private", "public", "hidden"}


def test_the_image_page_follows_the_rule(alice, bob, pictures):
    owner, other, anonymous = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="en"), Client()
    owner.force_login(alice)
    other.force_login(bob)
    for name, image in pictures.items():
        url = reverse("image_detail", args=[image.id])
        assert owner.get(url).status_code == 200
        assert other.get(url).status_code == anonymous.get(url).status_code == (200 if name == "public" else 404)


def test_the_public_condition_is_written_only_in_the_model():
    """Fails before the rule had one home: `is_public=True, is_hidden=False` and its negations were
    written in six places (access.py, views/galleries.py, galleries.py and three in inspiration.py)."""
    places = []
    for path in GALLERY.rglob("*.py"):
        if "migrations" in path.parts or path.name == "models.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "is_hidden":
                places.append(f"{path.relative_to(GALLERY)}:{node.lineno}")
            if isinstance(node, ast.keyword) and node.arg and node.arg.endswith("is_hidden"):
                places.append(f"{path.relative_to(GALLERY)}:{node.lineno}")
    # Staff's own hide/unhide writes and the admin's columns are not the rule of who sees what.
    allowed = ("moderation.py", "admin/")
    assert [place for place in places if not place.startswith(allowed)] == []
