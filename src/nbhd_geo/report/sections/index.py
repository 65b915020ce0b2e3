""""Every neighbourhood": the sortable index, one row per neighbourhood.

People, area, the units each neighbourhood spans (or how well whole units match it),
its IMD decile and allocation; the page's script sorts and filters it.
"""

from __future__ import annotations

from nbhd_geo.report.facts.page import (
    PlannerPage,
    is_fine,
    main_layer,
)
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.facts.wording import money_text, pct_text
from nbhd_geo.report.sections.base import SectionOutput, render_fragment

__all__ = ["build", "index_layers"]


def index_layers(page: PlannerPage) -> list[tuple[str, str, bool]]:
    """Index columns: the main layer's "spans" first, then the others."""
    main = main_layer(page)
    order = sorted(page.layers, key=lambda lv: (lv is not main, is_fine(lv.name)))
    return [(lv.name, lv.word, is_fine(lv.name)) for lv in order
            if lv.name.lower() not in ("lad", "oa") and len(lv.units) > 1]


def build(facts: ReportFacts) -> SectionOutput:
    """Lay out the index (it writes no table: every figure is in the CSVs already)."""
    page = facts.page
    main = main_layer(page)
    html = render_fragment("index.html.j2", page=page, rows=facts.rows,
                           main_word=main.word if main else "unit",
                           index_layers=index_layers(page), pct=pct_text, money=money_text)
    return SectionOutput("Every neighbourhood", "index", html)
