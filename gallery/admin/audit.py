"""The audit trail and the storage reconciliations in the admin, read-only."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import AuditEntry, Reconciliation
from .common import JobLinkMixin, ReadOnlyAdmin, pretty_json


@admin.register(AuditEntry)
class AuditEntryAdmin(JobLinkMixin, ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "subject", "job_link", "summary")
    list_filter = ("action", "subject_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("action", "actor__username", "subject_id")
    date_hierarchy = "created_at"
    list_select_related = ("actor", "job")
    fields = ("created_at", "action", "actor", "subject", "job_link", "data_json")
    readonly_fields = fields

    @admin.display(description=_("Subject"))
    def subject(self, obj: AuditEntry) -> str:
        return f"{obj.subject_type} {obj.subject_id[:8]}" if obj.subject_type else "—"

    @admin.display(description=_("Details"))
    def summary(self, obj: AuditEntry) -> str:
        text = json.dumps(obj.data, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description=_("Data"))
    def data_json(self, obj: AuditEntry):
        return pretty_json(obj.data)


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    """The runs of check_invariants' storage reconciliation, newest first: the top row is the last."""

    list_display = (
        "checked_at",
        "ok",
        "referenced",
        "stored",
        "in_grace",
        "missing_count",
        "unreferenced_count",
    )
    list_filter = ("ok",)
    date_hierarchy = "checked_at"
    # The row's figures, then the keys themselves.
    fields = (*list_display, "missing_json", "unreferenced_json")
    readonly_fields = fields

    @admin.display(description=_("Missing keys"))
    def missing_json(self, obj: Reconciliation):
        return pretty_json(obj.missing)

    @admin.display(description=_("Unreferenced keys"))
    def unreferenced_json(self, obj: Reconciliation):
        return pretty_json(obj.unreferenced)
