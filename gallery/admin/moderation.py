"""Moderation in the admin: the sensitive-word list (its categories, CSV import and export),
the report queue and the pictures."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import audit, moderation, wordlist
from ..models import Image, Report, SensitiveCategory, SensitiveWord
from .common import JobLinkMixin, ReadOnlyAdmin, pretty_json, thumbnail


class WordListUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns word, category, mode (and optionally is_active: 1 or 0), as the export writes them. "
            "New words are added, known words updated; one bad line and nothing is changed."
        ),
    )


@admin.register(SensitiveCategory)
class SensitiveCategoryAdmin(admin.ModelAdmin):
    """The categories are fixed (migration 0010); staff switch them on or off and choose their mode."""

    list_display = ("code", "is_active", "mode", "word_count", "changed_at")
    list_editable = ("is_active", "mode")
    fields = ("code", "is_active", "mode")
    readonly_fields = ("code",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SensitiveCategory]:
        return super().get_queryset(request).annotate(active_words=Count("words", filter=Q(words__is_active=True)))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("Active words"), ordering="active_words")
    def word_count(self, obj: SensitiveCategory) -> int:
        return getattr(obj, "active_words", 0)

    def save_model(self, request: HttpRequest, obj: SensitiveCategory, form, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                request.user, audit.Action.SENSITIVE_CATEGORY_CHANGED, obj, is_active=obj.is_active, mode=obj.mode
            )


@admin.register(SensitiveWord)
class SensitiveWordAdmin(admin.ModelAdmin):
    list_display = ("word", "category", "mode", "is_active", "created_at")
    list_editable = ("category", "mode", "is_active")
    list_filter = ("category", "mode", "is_active")
    search_fields = ("word",)
    fields = ("word", "category", "mode", "is_active")
    actions = ["export_selected"]
    change_list_template = "admin/gallery/sensitiveword/change_list.html"

    def get_urls(self):
        urls = [
            path("import/", self.admin_site.admin_view(self.import_view), name="gallery_sensitiveword_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name="gallery_sensitiveword_export"),
        ]
        return urls + super().get_urls()

    # Changes to the list are staff actions too: each one is audited.
    def save_model(self, request: HttpRequest, obj: SensitiveWord, form, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            action = audit.Action.SENSITIVE_WORD_CHANGED if change else audit.Action.SENSITIVE_WORD_ADDED
            audit.record(
                request.user,
                action,
                obj,
                word=obj.word,
                category=obj.category_id,
                mode=obj.mode,
                is_active=obj.is_active,
            )

    def delete_model(self, request: HttpRequest, obj: SensitiveWord) -> None:
        with transaction.atomic():
            audit.record(request.user, audit.Action.SENSITIVE_WORD_DELETED, obj, word=obj.word)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SensitiveWord]) -> None:
        with transaction.atomic():
            for word in queryset:
                audit.record(request.user, audit.Action.SENSITIVE_WORD_DELETED, word, word=word.word)
            super().delete_queryset(request, queryset)

    @staticmethod
    def _csv_response(words: QuerySet[SensitiveWord]) -> HttpResponse:
        response = HttpResponse(
            wordlist.export_csv(words.order_by("category", "word")), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="sensitive-words-{timezone.localdate()}.csv"'
        return response

    @admin.action(description=_("Export the selected words as CSV"), permissions=["view"])
    def export_selected(self, request: HttpRequest, queryset: QuerySet[SensitiveWord]) -> HttpResponse:
        return self._csv_response(queryset)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._csv_response(SensitiveWord.objects.all())

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        errors: list[str] = []
        form = WordListUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows, errors = wordlist.parse_csv(upload.read(wordlist.MAX_BYTES + 1))
            except wordlist.ImportRefused as exc:
                errors = [str(exc)]
            if not errors:
                result = wordlist.import_rows(rows=rows, staff=request.user, filename=upload.name)
                self.message_user(
                    request,
                    gettext("Imported: %(added)d added, %(updated)d updated, %(unchanged)d unchanged.")
                    % {"added": len(result.added), "updated": len(result.updated), "unchanged": result.unchanged},
                    messages.SUCCESS,
                )
                return redirect("admin:gallery_sensitiveword_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Import sensitive words"),
            "form": form,
            "import_errors": errors,
        }
        return TemplateResponse(request, "admin/gallery/sensitiveword/import.html", context)


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    """The moderation queue: open reports first, oldest open report at the top."""

    list_display = (
        "created_at",
        "picture",
        "image_link",
        "image_owner",
        "reporter",
        "reason",
        "status",
        "handled_by",
        "open_reports",
    )
    list_display_links = ("created_at",)
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reason", "reporter__username", "image__owner__username", "image__prompt")
    list_select_related = ("image", "image__owner", "reporter", "handled_by")
    actions = ["hide_image", "dismiss"]
    fields = (
        "picture",
        "image_link",
        "image_owner",
        "reporter",
        "reason",
        "status",
        "handled_by",
        "handled_at",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        # ModelAdmin.get_queryset orders before we could annotate, so order here ourselves.
        open_reports = Count("image__reports", filter=Q(image__reports__status=Report.Status.OPEN))
        return Report.objects.annotate(
            open_first=Case(
                When(status=Report.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            open_count=open_reports,
        ).order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["open_first", "created_at"]

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gallery.change_report")

    @admin.display(description=_("Picture"))
    def picture(self, obj: Report):
        return thumbnail(obj.image)

    @admin.display(description=_("Image"))
    def image_link(self, obj: Report):
        url = reverse("image_detail", args=[obj.image_id])
        state = (
            gettext("hidden")
            if obj.image.is_hidden
            else gettext("public")
            if obj.image.is_public
            else gettext("private")
        )
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a> ({})', url, str(obj.image_id)[:8], state)

    @admin.display(description=_("Owner"))
    def image_owner(self, obj: Report):
        return obj.image.owner

    @admin.display(description=_("Open reports on this image"), ordering="open_count")
    def open_reports(self, obj: Report) -> int:
        return getattr(obj, "open_count", 0)

    def _resolve(self, request: HttpRequest, queryset: QuerySet[Report], *, hide: bool) -> None:
        """Decide each open report (moderation.resolve_report); handled ones are left alone.
        Hiding settles the other open reports on the same image too."""
        reports = list(queryset)
        already = sum(report.status != Report.Status.OPEN for report in reports)
        for report in reports:
            if report.status == Report.Status.OPEN:
                moderation.resolve_report(report=report, hide=hide, staff=request.user)
        done = len(reports) - already
        if hide:
            text = ngettext(
                "%d report closed and its image hidden.", "%d reports closed and their images hidden.", done
            )
        else:
            text = ngettext("%d report dismissed.", "%d reports dismissed.", done)
        self.message_user(request, text % done, messages.SUCCESS)
        if already:
            self.message_user(
                request,
                ngettext(
                    "%d report was already handled and left as it was.",
                    "%d reports were already handled and left as they were.",
                    already,
                )
                % already,
                messages.WARNING,
            )

    @admin.action(description=_("Hide the image from public and inspiration views"), permissions=["moderate"])
    def hide_image(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._resolve(request, queryset, hide=True)

    @admin.action(description=_("Dismiss the report"), permissions=["moderate"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._resolve(request, queryset, hide=False)


@admin.register(Image)
class ImageAdmin(JobLinkMixin, ReadOnlyAdmin):
    list_display = ("created_at", "picture", "owner", "kind", "short_prompt", "is_public", "is_hidden", "report_count")
    list_filter = ("is_public", "is_hidden", ("trashed_at", admin.EmptyFieldListFilter), "kind", "is_procedural")
    search_fields = ("prompt", "owner__username")
    list_select_related = ("owner",)
    actions = ["hide", "unhide"]
    fields = (
        "picture_large",
        "owner",
        "kind",
        "prompt",
        "negative_prompt",
        "params_json",
        "job_link",
        "width",
        "height",
        "size_bytes",
        "made_by",
        "provider_duration",
        "is_public",
        "is_hidden",
        "trashed_at",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Image]:
        return super().get_queryset(request).annotate(reports_total=Count("reports"))

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gallery.change_image")

    @admin.display(description=_("Picture"))
    def picture(self, obj: Image):
        return thumbnail(obj)

    @admin.display(description=_("Picture"))
    def picture_large(self, obj: Image):
        return thumbnail(obj, size=256)

    @admin.display(description=_("Prompt"))
    def short_prompt(self, obj: Image) -> str:
        return (obj.prompt[:60] + "…") if len(obj.prompt) > 60 else obj.prompt

    @admin.display(description=_("Reports"), ordering="reports_total")
    def report_count(self, obj: Image) -> int:
        return getattr(obj, "reports_total", 0)

    @admin.display(description=_("Parameters"))
    def params_json(self, obj: Image):
        return pretty_json(obj.params)

    def _set_hidden(self, request: HttpRequest, queryset: QuerySet[Image], *, hidden: bool) -> None:
        changed = sum(moderation.set_image_hidden(image=image, hidden=hidden, staff=request.user) for image in queryset)
        self.message_user(
            request, ngettext("%d image changed.", "%d images changed.", changed) % changed, messages.SUCCESS
        )

    @admin.action(description=_("Hide from public and inspiration views"), permissions=["moderate"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        self._set_hidden(request, queryset, hidden=True)

    @admin.action(description=_("Show again in public views"), permissions=["moderate"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        self._set_hidden(request, queryset, hidden=False)
