"""The users' inbox notices in the admin, read-only: what someone was told, and whether they read
it or had it mailed (rows are written only by gallery.notices)."""

from __future__ import annotations

from django.contrib import admin

from ..models import Notice
from .common import JobLinkMixin, ReadOnlyAdmin


@admin.register(Notice)
class NoticeAdmin(JobLinkMixin, ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "status", "job_link", "read_at", "emailed_at")
    list_filter = ("kind", ("created_at", admin.DateFieldListFilter))
    search_fields = ("recipient__username", "job__id")
    date_hierarchy = "created_at"
    list_select_related = ("recipient", "job")
    fields = ("created_at", "recipient", "kind", "status", "job_link", "credit_transaction", "read_at", "emailed_at")
    readonly_fields = fields
