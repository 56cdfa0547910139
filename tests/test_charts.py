"""The chart presenter: SVG the staff CSP allows, its table's figures, and the stylesheet kept in step."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sender.web import charts

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


def _tree(chart: charts.Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))  # noqa: S314 (our own SVG)


@pytest.mark.parametrize(
    "chart",
    [
        charts.line("Sent per day", "Day", ["1 Dec", "2 Dec"], [charts.Series("sent", (3, 5))]),
        charts.bar("Clicks per link", "Link", ["a", "b"], [charts.Series("clicks", (1, 0))]),
        charts.stacked_bar(
            "Outcomes", "Day", ["1 Dec"], [charts.Series("sent", (2,)), charts.Series("failed", (1,))]
        ),
        charts.funnel("Sequence", "Step", [("entered", 10), ("clicked", 4)], "people"),
    ],
    ids=lambda c: c.kind,
)
def test_svg_has_no_script_or_inline_style_and_hides_from_screen_readers(chart: charts.Chart) -> None:
    root = _tree(chart)
    assert root.tag == f"{SVG}svg"
    assert root.get("class") == charts.ROOT_CLASS
    assert root.get("aria-hidden") == "true"
    for element in root.iter():
        assert element.tag not in (f"{SVG}script", f"{SVG}style")
        assert "style" not in element.attrib, element.tag
        assert not any(name.startswith("on") for name in element.attrib)


def test_rows_give_each_label_its_figure_in_every_series() -> None:
    chart = charts.line(
        "Clicks", "Day", ["1 Dec", "2 Dec"], [charts.Series("A", (1, 2)), charts.Series("B", (0, 7))]
    )
    assert chart.rows == [("1 Dec", (1, 0)), ("2 Dec", (2, 7))]
    assert not chart.empty
    assert charts.bar("Nothing", "Day", ["1 Dec"], [charts.Series("A", (0,))]).empty


def test_series_must_fit_the_labels() -> None:
    with pytest.raises(ValueError, match="2 values for 1 labels"):
        charts.bar("Bad", "Day", ["1 Dec"], [charts.Series("A", (1, 2))])


def test_counts_are_marked_in_whole_numbers() -> None:
    marks = [
        text.text
        for axis in _tree(charts.line("Few", "Day", ["a", "b"], [charts.Series("n", (1, 2))])).iter(f"{SVG}g")
        if "y" in (axis.get("class") or "").split()
        for text in axis.iter(f"{SVG}text")
    ]
    assert marks and all(mark is not None and mark.isdigit() for mark in marks)


def test_labels_are_escaped() -> None:
    chart = charts.bar("<b>x</b>", "Link", ["https://a.test/?q=<script>"], [charts.Series("c", (1,))])
    assert "<script>" not in str(chart.svg)
    assert _tree(chart).find(f"{SVG}title") is not None


def test_stylesheet_file_is_what_pygal_would_inline() -> None:
    shipped = (ROOT / "static/admin/charts.css").read_text()
    assert shipped == charts.stylesheet(), (
        "static/admin/charts.css is stale: write sender.web.charts.stylesheet() to it"
    )


def test_a_chart_without_series_or_labels_is_empty() -> None:
    assert charts.line("No purpose yet", "Week of", ["1 Dec"], []).empty
    assert charts.bar("No campaign yet", "Campaign", [], [charts.Series("rate", ())], whole=False).empty
    assert charts.funnel("No one", "Step", [], "people").empty
