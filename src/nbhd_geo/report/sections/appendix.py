""""Methods and checks": how the figures were made, conservation checks, what was read.

Also the fragments other sections give the appendix (the consensus), the glossary and
the list of files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from nbhd_geo.report.facts import round_parts
from nbhd_geo.report.facts.page import (
    PlannerPage,
    page_pop_check,
)
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.facts.wording import (
    plural,
)
from nbhd_geo.report.sections.base import SectionOutput, render_fragment
from nbhd_geo.report.sections.glossary import GLOSSARY

__all__ = ["area_sum_text", "build", "checks_rows", "read_summary"]


def area_sum_text(parts: Sequence[float]) -> tuple[list[str], str]:
    """Areas (m²) and their total in one unit, rounded so the printed parts add up.

    Examples
    --------
    >>> area_sum_text([1_234_000.0, 5_000.0])
    (['1.23 km²', '0.01 km²'], '1.24 km²')
    """
    total = float(sum(parts))
    scale, step, unit, fmt = ((1e4, 0.1, "ha", ",.1f") if total < 1e6
                              else (1e6, 0.01, "km²", ",.2f"))
    shown = round_parts([p / scale for p in parts], step)
    return ([f"{v:{fmt}} {unit}" for v in shown],
            f"{round(sum(shown) / step) * step:{fmt}} {unit}")


def checks_rows(page: PlannerPage, pop_check: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Area and population conservation in words."""
    rows = []
    for lv in page.layers:
        c = page.checks.get(lv.name)
        if not c:
            continue
        drawn, inside = c["drawing_area_m2"], c["overlap_area_m2"]
        outside = c["uncovered_area_m2"]
        ok = abs(inside + outside - drawn) <= 1e-6 * max(drawn, 1) + 1
        (t_in, t_out), t_all = area_sum_text([inside, outside])
        rows.append((
            f"Area, {lv.word}s",
            f"{t_in} inside {lv.word}s + {t_out} outside = {t_all} drawn "
            f"({'balances' if ok else 'DOES NOT balance'}; "
            f"{plural(int(c['slivers']), 'thin piece')} under 1 % of a neighbourhood noted)",
        ))
    if pop_check:
        rows.append(("Population", pop_check["text"]))
    return rows


def read_summary(report: pd.DataFrame | None) -> tuple[list[str], str]:
    """Sentences about the inputs, and a table of the features with something to say."""
    if report is None or not len(report):
        return ["No read report was given."], ""
    counts = report["status"].value_counts()
    lines = [f"{len(report):,} input features read: {counts.get('kept', 0):,} kept as drawn, "
             f"{counts.get('repaired', 0):,} repaired, {counts.get('rejected', 0):,} rejected."]
    said = (report[(report["reason"].fillna("") != "") & (report["status"] != "kept")]
            if "reason" in report else report.iloc[:0])
    if not len(said):
        lines.append("No feature needed repair or was rejected.")
        return lines, ""
    cols = [c for c in ("source", "feature_id", "status", "reason") if c in said.columns]
    shown = said[cols].head(100).rename(columns={"source": "File", "feature_id": "Feature",
                                                 "status": "Outcome", "reason": "Why"})
    note = (f"<p class='note'>Showing 100 of {len(said)}; all are in read_report.csv.</p>"
            if len(said) > 100 else "")
    return lines, shown.to_html(index=False, border=0, escape=True) + note


def build(facts: ReportFacts) -> SectionOutput:
    """Methods, checks, the read report, the sections' appendix fragments, glossary, files."""
    page = facts.page
    read_lines, read_table = read_summary(facts.drawings.read_report)
    html = render_fragment("appendix.html.j2", page=page,
                           checks=checks_rows(page, page_pop_check(page)),
                           read_lines=read_lines, read_table=read_table,
                           extras=[s for s in facts.sections if s.appendix],
                           glossary=GLOSSARY, files=facts.files)
    return SectionOutput("Methods and checks", "appendix", html)
