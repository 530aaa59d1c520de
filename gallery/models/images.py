"""Pictures in galleries, the one rule for who may see them, and albums."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Left
from django.utils.translation import gettext_lazy as _

from .. import kinds
from .jobs import Job

# The one rule for who may see a picture: nobody while it is in the trash (its owner sees it
# on the trash page only); otherwise its owner, and anybody while it is public and staff have
# not hidden it. Written once, as field values, so the query and the check of a loaded picture
# cannot drift apart.
NOT_TRASHED = {"trashed_at": None}
PUBLICLY_VISIBLE = {"is_public": True, "is_hidden": False, **NOT_TRASHED}


def publicly_visible(prefix: str = "") -> Q:
    """The rule as a filter; `prefix` reaches it through a relation ("image__")."""
    return Q(**{prefix + field: value for field, value in PUBLICLY_VISIBLE.items()})


def not_trashed(prefix: str = "") -> Q:
    """Out of the trash, as a filter (album counts and covers reach it through "image__")."""
    return Q(**{prefix + field: value for field, value in NOT_TRASHED.items()})


class Triage(models.TextChoices):
    """Where the owner's triage left a picture: not looked at yet, kept, or discarded (to the
    trash: a discarded picture is always in the trash, a database check says so)."""

    UNDECIDED = "", _("not triaged")
    KEEP = "keep", _("kept")
    DISCARD = "discard", _("discarded")


class ImageQuerySet(models.QuerySet):
    def public(self) -> ImageQuerySet:
        return self.filter(publicly_visible())

    def visible_to(self, user) -> ImageQuerySet:
        """What `user` may see: their own pictures and the public ones (anonymous: public only),
        none of them in the trash."""
        if user is not None and user.is_authenticated:
            return self.filter(not_trashed() & (publicly_visible() | Q(owner_id=user.pk)))
        return self.public()

    def owned_by(self, user) -> ImageQuerySet:
        """The part of `visible_to(user)` that is `user`'s own: the same rule with the public
        branch left out, since it adds nothing to the owner's pictures. Written without it so the
        gallery's queries name only columns of the owner's search index (gallery/search.py)."""
        return self.filter(not_trashed(), owner_id=user.pk)

    def trashed(self) -> ImageQuerySet:
        return self.filter(trashed_at__isnull=False)


# The Image columns that name objects in storage.
STORED_KEY_FIELDS = ("original_key", "preview_key", "thumb_key", "download_key")


class Image(models.Model):
    """A picture in a user's gallery, stored in object storage under random keys."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images", verbose_name=_("owner")
    )
    # One image per job at most: this constraint is what makes ingest idempotent.
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="image", verbose_name=_("job")
    )
    kind = models.CharField(max_length=16, choices=kinds.choices, verbose_name=_("kind"))
    prompt = models.TextField(blank=True, verbose_name=_("prompt"))
    negative_prompt = models.TextField(blank=True, verbose_name=_("negative prompt"))
    params = models.JSONField(default=dict, verbose_name=_("parameters"))
    source_image = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("source picture")
    )
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    size_bytes = models.PositiveIntegerField(default=0, verbose_name=_("size (bytes)"))
    original_key = models.CharField(max_length=255, verbose_name=_("full-size object key"))
    thumb_key = models.CharField(max_length=255, blank=True, verbose_name=_("thumbnail object key"))
    preview_key = models.CharField(max_length=255, blank=True, verbose_name=_("preview object key"))
    # The original as a PNG with its parameters (gallery/downloads.py), made on the first
    # download and kept, so later downloads read it instead of re-encoding the original.
    download_key = models.CharField(max_length=255, blank=True, verbose_name=_("download object key"))
    # Who made the pixels, shown on the image page: "APISpace", "Offline engine (procedural)",
    # "Real-ESRGAN animevideov3 x4"...
    made_by = models.CharField(max_length=128, blank=True, verbose_name=_("made by"))
    # Its job's Job.source_label: what label the uploaded source picture carried, for the page.
    source_label = models.JSONField(null=True, blank=True)
    is_procedural = models.BooleanField(default=False, verbose_name=_("procedural (not AI)"))
    provider_duration = models.FloatField(null=True, blank=True, verbose_name=_("provider duration (s)"))
    is_public = models.BooleanField(default=False, verbose_name=_("public"))
    is_favourite = models.BooleanField(default=False, verbose_name=_("favourite"))
    # The owner's own 0–5 (0: not rated), for keeping the best of many.
    rating = models.PositiveSmallIntegerField(default=0, verbose_name=_("rating"))
    # Hidden by staff after a report: off the public and inspiration views, still the owner's.
    is_hidden = models.BooleanField(default=False, verbose_name=_("hidden by staff"))
    triage = models.CharField(max_length=8, blank=True, default="", choices=Triage.choices, verbose_name=_("triage"))
    # Deleted by its owner at this time: in the trash, seen by nobody outside the trash page,
    # its album memberships and stored objects kept until it is restored or purged
    # (gallery/trash.py). Indexed for the daily purge of the expired ones.
    trashed_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("in the trash since"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # The model it was made with (the generator's version, or the upscaler's model), kept by the
    # database from params so the search counts it from an index instead of reading params row
    # by row (gallery/search.py). Cut to 64 characters: it is a key column of that index.
    model_name = models.GeneratedField(
        expression=Left(
            Coalesce(KeyTextTransform("version", "params"), KeyTextTransform("sr_model", "params"), Value("")), 64
        ),
        output_field=models.CharField(max_length=64),
        db_persist=True,
        verbose_name=_("model"),
    )

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the personal gallery's keyset pagination: (owner, created_at, id)
            models.Index(fields=["owner", "-created_at", "-id"], name="image_owner_keyset"),
            # the gallery's "best rated first"
            models.Index(fields=["owner", "-rating", "-created_at", "-id"], name="image_owner_rating_keyset"),
            # the explore page
            models.Index(fields=["is_public", "-created_at", "-id"], name="image_public_keyset"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rating__lte=5), name="image_rating_0_to_5"),
            models.CheckConstraint(condition=Q(triage__in=Triage.values), name="image_triage_known"),
            # Discarding in triage is moving to the trash: never one without the other.
            models.CheckConstraint(
                condition=~Q(triage=Triage.DISCARD) | Q(trashed_at__isnull=False), name="image_discarded_in_trash"
            ),
        ]
        verbose_name = _("picture")
        verbose_name_plural = _("pictures")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"

    def stored_keys(self) -> list[str]:
        """Every object in storage that belongs to this picture (deletion, the orphan sweep and
        check_invariants all read this list)."""
        return [key for key in (getattr(self, field) for field in STORED_KEY_FIELDS) if key]

    @property
    def is_publicly_visible(self) -> bool:
        return all(getattr(self, field) == value for field, value in PUBLICLY_VISIBLE.items())

    def is_visible_to(self, user) -> bool:
        """The same rule as `Image.objects.visible_to`, for a picture already loaded."""
        if self.trashed_at is not None:
            return False
        owns = user is not None and user.is_authenticated and self.owner_id == user.pk
        return owns or self.is_publicly_visible


class FacetCount(models.Model):
    """How many of an owner's pictures out of the trash share one combination of the facets the
    gallery counts. Kept by the database's triggers, never written by the site (gallery/facet_summary.py)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    kind = models.CharField(max_length=16, verbose_name=_("kind"))
    rating = models.PositiveSmallIntegerField(verbose_name=_("rating"))
    is_favourite = models.BooleanField(verbose_name=_("favourite"))
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    model_name = models.CharField(max_length=64, verbose_name=_("model"))
    n = models.PositiveIntegerField(verbose_name=_("pictures"))

    class Meta:
        constraints = [
            # The triggers' ON CONFLICT names exactly these columns.
            models.UniqueConstraint(
                fields=["owner", "kind", "rating", "is_favourite", "width", "height", "model_name"],
                name="facetcount_one_row_per_combination",
            ),
            models.CheckConstraint(condition=Q(n__gte=0), name="facetcount_never_negative"),
        ]
        verbose_name = _("facet count")
        verbose_name_plural = _("facet counts")


class Album(models.Model):
    """A board: a named set of one user's images. Deleting it keeps the images."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="albums", verbose_name=_("owner")
    )
    name = models.CharField(max_length=80, verbose_name=_("name"))
    images = models.ManyToManyField(Image, through="AlbumItem", related_name="albums", verbose_name=_("pictures"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="album_unique_name_per_owner")]
        verbose_name = _("album")
        verbose_name_plural = _("albums")

    def __str__(self) -> str:
        return self.name


class AlbumItem(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE, verbose_name=_("album"))
    image = models.ForeignKey(Image, on_delete=models.CASCADE, verbose_name=_("picture"))
    added_at = models.DateTimeField(auto_now_add=True, verbose_name=_("added at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["album", "image"], name="album_item_unique")]
        verbose_name = _("album item")
        verbose_name_plural = _("album items")
