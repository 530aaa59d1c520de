"""The inspiration gallery: curated prompts, featured works and their tags."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .images import Image


class Tag(models.Model):
    slug = models.SlugField(unique=True, verbose_name=_("slug"))
    name_zh = models.CharField(max_length=32, verbose_name=_("Chinese name"))
    name_en = models.CharField(max_length=32, verbose_name=_("English name"))

    class Meta:
        ordering = ["slug"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.slug


class InspirationEntry(models.Model):
    """A prompt worth borrowing: one of the curated seven, or a public work staff featured."""

    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))
    prompt_zh = models.TextField(blank=True, verbose_name=_("Chinese prompt"))
    prompt_en = models.TextField(blank=True, verbose_name=_("English prompt"))
    is_curated = models.BooleanField(default=False, verbose_name=_("curated"))
    # The rendered picture (curated entries: rendered by `render_inspiration`; featured: the work).
    image = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="inspirations", verbose_name=_("picture")
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="entries", verbose_name=_("tags"))
    featured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("featured by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["position", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["image"], condition=Q(is_curated=False), name="inspiration_feature_once"),
        ]
        verbose_name_plural = _("inspiration entries")
        verbose_name = _("inspiration entry")

    def __str__(self) -> str:
        return (self.prompt_zh or self.prompt_en)[:40]
