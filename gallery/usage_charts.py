"""The usage report's two charts, laid out as stacked bars for inline SVG.

Horizontal positions are percentages of the SVG's width and vertical ones are pixels, so the
chart fills any screen while its text keeps its real size (no viewBox scaling on phones).
`templates/gallery/_usage_chart.html` draws what is laid out here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from . import reports
from .reports import GroupBy, UsageReport, UsageRow

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
