"""The staff usage report: a date range grouped by day, user or kind, as two charts, a table,
CSV exports, and the refund audit list. The numbers come from gallery.reports."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import reports, usage_charts
from ..reports import GroupBy


class IsoDateInput(forms.DateInput):
    """A browser date picker. Its value is always ISO 8601 (YYYY-MM-DD), whatever the language:
    the localized format (2026/11/03 in Chinese) is one a date input cannot read."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class UsageReportForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), widget=IsoDateInput())
    end = forms.DateField(label=gettext_lazy("To"), widget=IsoDateInput())
    group_by = forms.ChoiceField(label=gettext_lazy("Group by"), choices=GroupBy.CHOICES)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(gettext_lazy("The end date is before the start date."))
            if (end - start).days >= reports.MAX_RANGE_DAYS:
                raise forms.ValidationError(
                    gettext_lazy("Choose at most %(days)d days.") % {"days": reports.MAX_RANGE_DAYS}
                )
        return data


def _parse(request: HttpRequest) -> tuple[UsageReportForm, date, date, str]:
    start, end = reports.default_range()
    defaults = {"start": start, "end": end, "group_by": GroupBy.DAY}
    if not any(name in request.GET for name in defaults):
        return UsageReportForm(initial=defaults), start, end, GroupBy.DAY
    data = {
        name: request.GET.get(name) or (value.isoformat() if isinstance(value, date) else value)
        for name, value in defaults.items()
    }
    form = UsageReportForm(data)
    if form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["group_by"]
    return form, start, end, GroupBy.DAY


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_member_required
def usage_report(request: HttpRequest) -> HttpResponse:
    form, start, end, group_by = _parse(request)
    report = reports.usage(start=start, end=end, group_by=group_by)
    refunds = reports.refund_audit(start=start, end=end)
    export = request.GET.get("export")
    if export == "usage":
        return _csv_response(reports.usage_csv(report), f"usage-{start}-{end}-by-{group_by}.csv")
    if export == "refunds":
        return _csv_response(reports.refunds_csv(refunds), f"refunds-{start}-{end}.csv")
    page = Paginator(refunds, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "gallery/usage_report.html",
        {
            "form": form,
            "report": report,
            "start": start,
            "end": end,
            "group_by": group_by,
            "outcomes": reports.OUTCOMES,
            "credit_chart": usage_charts.credit_chart(report),
            "job_chart": usage_charts.job_chart(report),
            "refund_page": page,
            "quick_ranges": _quick_ranges(group_by),
        },
    )


def _quick_ranges(group_by: str) -> list[tuple[str, dict[str, str]]]:
    today = timezone.localdate()
    ranges = [
        (_("Last 7 days"), today - timedelta(days=6), today),
        (_("Last 30 days"), today - timedelta(days=29), today),
        (_("This month"), today.replace(day=1), today),
        (_("Last 365 days"), today - timedelta(days=364), today),
    ]
    return [
        (label, {"start": start.isoformat(), "end": end.isoformat(), "group_by": group_by})
        for label, start, end in ranges
    ]
