"""API tokens and webhook deliveries: staff see them and revoke tokens (never read a token:
only its digest is stored)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import api_tokens
from ..models import ApiToken, WebhookAttempt, WebhookDelivery


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "prefix", "scope", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "owner__username")
    readonly_fields = [field.name for field in ApiToken._meta.fields if field.name != "webhook_secret"]
    exclude = ("webhook_secret",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # made by their owners on the profile page, shown once

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: the audit and the jobs keep pointing at it

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            api_tokens.revoke(token=token, by=request.user)
        count = queryset.count()
        self.message_user(
            request, ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", count) % {"n": count}, messages.SUCCESS
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "at", "status_code", "error", "duration_ms")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "job", "url", "state", "attempts", "created_at", "delivered_at")
    list_filter = ("state", "event")
    search_fields = ("job__id", "url")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request):
        return False
