"""What the last comparisons of the database with the bucket found (check_invariants)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Reconciliation(models.Model):
    """One run of the storage reconciliation: every key a row names exists in the bucket, and
    every object in the bucket is named by a row or still within its grace period. Written by
    gallery/housekeeping.py only; the admin lists them, newest first."""

    checked_at = models.DateTimeField(auto_now_add=True, verbose_name=_("checked at"))
    ok = models.BooleanField(verbose_name=_("consistent"))
    referenced = models.PositiveIntegerField(default=0, verbose_name=_("keys referenced"))
    stored = models.PositiveIntegerField(default=0, verbose_name=_("objects stored"))
    in_grace = models.PositiveIntegerField(default=0, verbose_name=_("unreferenced, in grace period"))
    missing_count = models.PositiveIntegerField(default=0, verbose_name=_("missing objects"))
    unreferenced_count = models.PositiveIntegerField(default=0, verbose_name=_("unreferenced objects"))
    # The first keys of each kind (at most 100), for whoever looks into it.
    missing = models.JSONField(default=list, blank=True, verbose_name=_("missing keys"))
    unreferenced = models.JSONField(default=list, blank=True, verbose_name=_("unreferenced keys"))

    class Meta:
        ordering = ["-checked_at", "-id"]
        verbose_name = _("storage reconciliation")
        verbose_name_plural = _("storage reconciliations")

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'problems'}"
