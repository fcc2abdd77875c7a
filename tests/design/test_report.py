"""Comparison files: CSV tables, one workbook, a self-contained HTML page with charts."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from allocator.design.compare import compare_designs
from allocator.design.report import print_comparison, write_comparison
from allocator.design.scenarios import generate_scenarios
from allocator.design.solve import DesignParams

from .markets import designs, tiny_market


@pytest.fixture(scope="module")
def comparison():
    market = tiny_market()
    return compare_designs(market, list(designs().items()),
                           generate_scenarios(market, 3, seed=6), DesignParams(time_limit=60))


def test_files(tmp_path, comparison):
    paths = write_comparison(comparison, tmp_path, note="tiny")
    assert set(paths) == {"comparison.csv", "comparison_verdicts.csv", "comparison_lots.csv",
                          "comparison_providers.csv", "comparison_scenarios.csv",
                          "comparison_awards.csv", "comparison.xlsx", "comparison.html"}
    summary = pd.read_csv(tmp_path / "comparison.csv")
    assert list(summary["design"]) == ["all framework", "mixed", "all block"]
    assert summary["expected_cost"].tolist() == pytest.approx(
        comparison.summary["expected_cost"].tolist())
    book = load_workbook(tmp_path / "comparison.xlsx", read_only=True)
    assert book.sheetnames == ["summary", "verdicts", "lots", "providers", "scenarios",
                               "awards"]
    page = (tmp_path / "comparison.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3  # cost, unmet, block use vs void
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)
    assert "tiny" in page and "all block" in page


def test_printed_table(comparison):
    from rich.console import Console

    console = Console(record=True, width=200)
    print_comparison(comparison, console)
    text = console.export_text()
    assert "expected weekly cost" in text and "HHI" in text and "all block" in text


def test_unknown_format(tmp_path, comparison):
    with pytest.raises(ValueError, match="unknown format"):
        write_comparison(comparison, tmp_path, ("pdf",))


def test_the_concentration_chart_and_summary_cells(comparison):
    from allocator.design.report import concentration_chart, summary_cells

    png = concentration_chart(comparison.lots)
    assert png[:4] == b"\x89PNG"
    rows = dict(summary_cells(comparison.summary, "GBP"))
    assert len(rows["expected weekly cost"]) == len(comparison.summary)
    assert all(c.startswith("GBP ") for c in rows["expected weekly cost"])
