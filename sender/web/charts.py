"""Charts of the staff pages: server-side SVG drawn by pygal, each with the table of its figures.

A chart is a `Chart`: its title, the labels of its x axis (or funnel steps), its series and the SVG.
Templates show it with the `chart(...)` macro of `templates/admin/_chart.html`, which puts the SVG and
its data table together: the figures are there for screen readers, and the drawing is hidden from them.

The staff CSP forbids inline script and style: pygal's scripts are turned off (`js=[]`) and its inline
`<style>` and `style` attributes are taken out of the SVG (`_no_inline_style`). The rules they held are
in `static/admin/charts.css`, which is `stylesheet()` written out (a test checks they agree).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

# One palette for every chart, chosen for contrast on white; a series keeps its colour by position.
COLOURS = (
    "#1f5fa8",
    "#c2561a",
    "#2e7d32",
    "#8e24aa",
    "#b71c1c",
    "#00838f",
    "#6d4c41",
    "#455a64",
)
STYLE = Style(
    background="transparent",
    plot_background="#ffffff",
    foreground="#222222",
    foreground_strong="#111111",
    foreground_subtle="#767676",
    opacity=".85",
    opacity_hover=".95",
    colors=COLOURS,
    font_family="inherit",
    title_font_size=15,
    legend_font_size=13,
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=12,
    tooltip_font_size=12,
)
WIDTH, HEIGHT = 720, 320
# Every chart's root element carries this class (pygal's own): the stylesheet's rules are scoped to it.
ROOT_CLASS = "pygal-chart"


class ChartKind(StrEnum):
    """How a chart draws its series."""

    LINE = "line"
    BAR = "bar"
    STACKED_BAR = "stacked_bar"
    FUNNEL = "funnel"


@dataclass(frozen=True)
class Series:
    """One named row of figures, one per label of the chart."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    """A chart ready for the `chart(...)` macro: its SVG and the figures of its table."""

    kind: ChartKind
    title: str
    # The heading of the labels' column in the table (what the x axis counts: days, links, steps).
    axis: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    svg: Markup

    @property
    def empty(self) -> bool:
        """Nothing to draw: no label or no figure other than zero."""
        return not self.labels or not any(v for s in self.series for v in s.values)

    @property
    def rows(self) -> list[tuple[str, tuple[float, ...]]]:
        """The table's rows: each label with its figure in every series."""
        return [(label, tuple(s.values[i] for s in self.series)) for i, label in enumerate(self.labels)]


def line(
    title: str, axis: str, labels: Sequence[str], series: Sequence[Series], *, whole: bool = True
) -> Chart:
    """A line per series over the labels (figures over time); `whole`: counts, not rates."""
    return _chart(ChartKind.LINE, title, axis, labels, series, whole=whole)


def bar(
    title: str, axis: str, labels: Sequence[str], series: Sequence[Series], *, whole: bool = True
) -> Chart:
    """Bars side by side per label (counts by category); `whole`: counts, not rates."""
    return _chart(ChartKind.BAR, title, axis, labels, series, whole=whole)


def stacked_bar(title: str, axis: str, labels: Sequence[str], series: Sequence[Series]) -> Chart:
    """Bars stacked per label (parts of a whole over time)."""
    return _chart(ChartKind.STACKED_BAR, title, axis, labels, series)


def funnel(title: str, axis: str, steps: Sequence[tuple[str, float]], name: str) -> Chart:
    """Steps that narrow (people at each step of a flow): one series named `name`."""
    labels = [step for step, _ in steps]
    return _chart(ChartKind.FUNNEL, title, axis, labels, [Series(name, tuple(v for _, v in steps))])


def _chart(
    kind: ChartKind,
    title: str,
    axis: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    whole: bool = True,
) -> Chart:
    """Check the shape, draw the SVG, keep the figures."""
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
    svg = _render(kind, title, labels, series, whole=whole)
    return Chart(kind, title, axis, tuple(labels), tuple(series), svg)


def _whole_ticks(kind: ChartKind, series: Sequence[Series]) -> list[int]:
    """Whole-number marks of the y axis (pygal would mark 0.4 of a message), about five of them."""
    if kind is ChartKind.STACKED_BAR:
        top = max((sum(column) for column in zip(*(s.values for s in series), strict=True)), default=0)
    else:
        top = max((v for s in series for v in s.values), default=0)
    step = max(1, math.ceil(top / 5))
    return list(range(0, int(top) + step + 1, step))


def _render(
    kind: ChartKind, title: str, labels: Sequence[str], series: Sequence[Series], *, whole: bool
) -> Markup:
    """The chart's SVG element, without script or inline style, for inclusion in a page."""
    graph = _graph(kind)
    graph.title = title
    # pygal fails on y labels without a series (it prepares values only when there are some).
    if whole and kind is not ChartKind.FUNNEL and series:
        graph.y_labels = _whole_ticks(kind, series)
    if kind is ChartKind.FUNNEL:
        # pygal's funnel takes one series per step; the table keeps them as one series of steps.
        for label, value in zip(labels, series[0].values, strict=True) if series else ():
            graph.add(label, [value])
    else:
        graph.x_labels = list(labels)
        for s in series:
            graph.add(s.name, list(s.values))
    svg = graph.render(is_unicode=True)
    # Drawn from our figures and labels, which pygal escapes as XML text.
    return Markup(svg)  # noqa: S704


def _graph(kind: ChartKind, **extra: Any) -> Any:
    """A pygal chart of `kind` with the house configuration."""
    cls = {
        ChartKind.LINE: pygal.Line,
        ChartKind.BAR: pygal.Bar,
        ChartKind.STACKED_BAR: pygal.StackedBar,
        ChartKind.FUNNEL: pygal.Funnel,
    }[kind]
    graph = cls(
        style=STYLE,
        width=WIDTH,
        height=HEIGHT,
        # The SVG scales with the page (viewBox only) instead of a fixed size.
        explicit_size=False,
        no_prefix=True,
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        x_label_rotation=30,
        truncate_label=24,
        truncate_legend=30,
        print_values=False,
        show_minor_x_labels=True,
        min_scale=1,
        max_scale=8,
        **extra,
    )
    graph.add_xml_filter(_no_inline_style)
    return graph


def _no_inline_style(root: Any) -> Any:
    """Drop what the staff CSP would block: `<style>` elements, `style` attributes, the JS tooltip."""
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag.endswith("}style") or tag == "style" or tag.endswith("}script") or tag == "script":
                parent.remove(child)
            elif "tooltip" in (child.get("class") or "").split():
                # Shown by pygal's script only; without it, it is an empty box.
                parent.remove(child)
        parent.attrib.pop("style", None)
    root.attrib.pop("id", None)  # empty without pygal's prefix
    # The table beside it says the same to screen readers, with the figures; the drawing adds nothing.
    root.set("aria-hidden", "true")
    return root


def stylesheet() -> str:
    """The CSS pygal would have put inline, scoped to `svg.pygal-chart` (the content of charts.css)."""
    graph = pygal.Bar(style=STYLE, width=WIDTH, height=HEIGHT, js=[], disable_xml_declaration=True)
    graph.uuid = "house"
    for i in range(len(COLOURS)):
        graph.add(str(i), [1])
    svg = graph.render(is_unicode=True)
    css = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", svg, flags=re.S))
    css = re.sub(r"#chart-house\b ?", f"svg.{ROOT_CLASS} ", css.replace("&gt;", ">")).replace(" {", "{")
    rules = [line.strip() for line in re.split(r"(?<=})", css) if line.strip()]
    header = "/* pygal's chart styles for the staff CSP (sender.web.charts.stylesheet()); do not edit. */"
    return "\n".join([header, *rules]) + "\n"
