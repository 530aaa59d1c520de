"""The staff usage report: a date range grouped by day, user or kind, as two charts, a table,
CSV exports, and the refund audit list. The numbers come from gallery.reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import reports
from ..reports import GroupBy, UsageReport, UsageRow


class UsageReportForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))
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
            "credit_chart": credit_chart(report),
            "job_chart": job_chart(report),
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


# --- charts: stacked bars as inline SVG, laid out here, drawn by gallery/_usage_chart.html ---
# Horizontal positions are percentages of the SVG's width and vertical ones are pixels, so the
# chart fills any screen while its text keeps its real size (no viewBox scaling on phones).

PLOT_HEIGHT = 180  # columns (by day): pixels from the top gridline to the baseline
PLOT_TOP = 18
ROW_HEIGHT = 40  # bars (by user or kind): one row per group
MAX_BARS = 20


@dataclass
class Rect:
    series: str
    x: float  # percent
    width: float  # percent
    y: float  # px
    height: float  # px


@dataclass
class Bar:
    label: str
    title: str
    total: int
    rects: list[Rect] = field(default_factory=list)
    label_x: float = 0  # percent
    label_y: float = 0  # px
    show_label: bool = True
    value_y: float = 0


@dataclass
class Gridline:
    y: float
    value: int


@dataclass
class Chart:
    orientation: str  # "columns" or "bars"
    height: int
    series: list[tuple[str, str]]
    bars: list[Bar]
    gridlines: list[Gridline] = field(default_factory=list)
    baseline: float = 0
    hidden: int = 0
    is_empty: bool = False


def _nice_ceiling(value: int) -> int:
    """A round number at least value: 1, 2, 5, 10, 20, 50, ..."""
    if value <= 0:
        return 1
    magnitude = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _stacked_chart(*, rows: list[UsageRow], series: list[tuple[str, str]], values, title, orientation: str) -> Chart:
    hidden = 0
    if orientation == "bars" and len(rows) > MAX_BARS:
        hidden = len(rows) - MAX_BARS
        rows = rows[:MAX_BARS]
    stacks = [values(row) for row in rows]
    top = _nice_ceiling(max((sum(stack) for stack in stacks), default=0))
    is_empty = not any(sum(stack) for stack in stacks)
    bars: list[Bar] = []
    if orientation == "columns":
        slot = 100 / max(len(rows), 1)
        every = max(1, math.ceil(len(rows) / 7))
        baseline = PLOT_TOP + PLOT_HEIGHT
        for index, (row, stack) in enumerate(zip(rows, stacks, strict=True)):
            bar = Bar(label=row.label[5:] if len(row.label) == 10 else row.label, title=title(row), total=sum(stack))
            bar.label_x = round(slot * (index + 0.5), 3)
            bar.label_y = baseline + 16
            bar.show_label = index % every == 0
            y = baseline
            for (name, _label), value in zip(series, stack, strict=True):
                height = PLOT_HEIGHT * value / top
                if value:
                    y -= height
                    bar.rects.append(
                        Rect(name, round(slot * (index + 0.15), 3), round(slot * 0.7, 3), round(y, 2), round(height, 2))
                    )
            bars.append(bar)
        gridlines = [Gridline(y=PLOT_TOP + PLOT_HEIGHT * (1 - part), value=round(top * part)) for part in (0.5, 1)]
        return Chart("columns", baseline + 24, series, bars, gridlines, baseline, hidden, is_empty)
    for index, (row, stack) in enumerate(zip(rows, stacks, strict=True)):
        top_y = index * ROW_HEIGHT
        bar = Bar(label=row.label, title=title(row), total=sum(stack), label_y=top_y + 13, value_y=top_y + 13)
        x = 0.0
        for (name, _label), value in zip(series, stack, strict=True):
            width = 100 * value / top
            if value:
                bar.rects.append(Rect(name, round(x, 3), round(width, 3), top_y + 19, 14))
                x += width
        bars.append(bar)
    return Chart("bars", max(len(rows), 1) * ROW_HEIGHT, series, bars, [], 0, hidden, is_empty)


def _orientation(report: UsageReport) -> str:
    return "columns" if report.group_by == GroupBy.DAY else "bars"


def credit_chart(report: UsageReport) -> Chart:
    """Debited credits per group, split into what was kept (net) and what went back."""
    series = [("net", _("Net usage")), ("refunded", _("Refunded"))]

    def title(row: UsageRow) -> str:
        return _("%(group)s: debited %(debited)d, refunded %(refunded)d, net %(net)d") % {
            "group": row.label,
            "debited": row.debited,
            "refunded": row.refunded,
            "net": row.net,
        }

    def values(row: UsageRow) -> list[int]:
        # The bar is as tall as the debits, split into net and refunded. A day's refunds can
        # exceed its debits (refunds of earlier jobs): then the bar is all refund.
        return [max(row.net, 0), row.refunded]

    return _stacked_chart(rows=report.rows, series=series, values=values, title=title, orientation=_orientation(report))


def job_chart(report: UsageReport) -> Chart:
    """Jobs per group, stacked by outcome."""
    series = [(name, str(label)) for name, label in reports.OUTCOMES]

    def title(row: UsageRow) -> str:
        parts = ", ".join(f"{label} {row.outcome(name)}" for name, label in series if row.outcome(name))
        return f"{row.label}: {row.submitted} — {parts}" if parts else f"{row.label}: 0"

    def values(row: UsageRow) -> list[int]:
        return [row.outcome(name) for name, _label in series]

    return _stacked_chart(rows=report.rows, series=series, values=values, title=title, orientation=_orientation(report))
