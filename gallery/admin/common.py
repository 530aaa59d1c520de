"""What the staff admin pages share: read-only admins, links, thumbnails, JSON, the
intermediate page of an action and its reason form."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import media
from ..models import Image


def pretty_json(value: Any):
    if value in (None, "", {}, []):
        return "—"
    return format_html('<pre class="json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


def thumbnail(image: Image | None, size: int = 64):
    if image is None or not (image.thumb_key or image.original_key):
        return "—"
    # The picture is often the only content of a link to it, so its text alternative names it.
    return format_html(
        '<img src="{}" width="{}" height="{}" class="admin-thumb" alt="{}" loading="lazy">',
        media.url(image.thumb_key or image.original_key),
        size,
        size,
        gettext("Picture %(id)s") % {"id": str(image.pk)[:8]},
    )


def admin_link(obj: Any, text: Any = None):
    if obj is None:
        return "—"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff with the view permission; never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required. The user sees it in their credit history; the audit keeps it with your name."),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


def ask(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    intro: str,
    submit: str,
    form: forms.Form | None = None,
) -> TemplateResponse:
    """The intermediate page of an action: what will happen to which objects, and a form."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "submit_label": submit,
        "objects": list(queryset[:200]),
        "object_ids": list(queryset.values_list("pk", flat=True)),
        "form": form,
        "action": action,
        "opts": opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + (form.media if form is not None else forms.Media()),
    }
    return TemplateResponse(request, "admin/gallery/action_form.html", context)


class JobLinkMixin:
    """The "Job" column of every admin whose rows belong to a job (ledger rows, pictures, audit
    entries): the job's first eight characters, linked to its admin page."""

    @admin.display(description=_("Job"))
    def job_link(self, obj: Any):
        return admin_link(obj.job, str(obj.job_id)[:8]) if obj.job_id else "—"
