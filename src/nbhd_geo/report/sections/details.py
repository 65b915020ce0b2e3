""""Neighbourhood by neighbourhood": a headline, sentences, a map and a table for each.

Each neighbourhood's outline over its statutory boundaries (an inline SVG), where it
lies in words, and per layer its split, area match and edges.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from nbhd_geo.report.facts.page import (
    PlannerPage,
    is_fine,
    main_layer,
    split_values,
)
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.facts.wording import (
    pct_text,
    plural,
)
from nbhd_geo.report.maps.webmap import svg_map
from nbhd_geo.report.sections.base import SectionOutput, render_fragment

__all__ = ["build", "details"]


def details(page: PlannerPage, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-neighbourhood detail: headline, sentences, SVG map, per-layer table."""
    main = main_layer(page)
    styles = {"fine": {"stroke": "#7b8794", "stroke-width": "0.8", "stroke-dasharray": "3 2"},
              "unit": {"stroke": "#243b53", "stroke-width": "2"}}
    draw = []
    for lv in page.layers:
        fine = lv.name.lower() in ("lsoa", "oa", "msoa")
        if lv.name.lower() == "oa":
            continue
        named = lv is main
        draw.append((lv.word, lv.units, lv.names if named else None,
                     styles["fine" if fine else "unit"]))
    # Fine lines first so unit lines sit on top.
    draw.sort(key=lambda d: 0 if d[3] is styles["fine"] else 1)
    out = []
    trows = {lv.name: lv.tension.to_dict("index") for lv in page.layers}
    srows = {lv.name: split_values(lv.tension).to_dict("index") for lv in page.layers}
    geoms = dict(zip(page.areas.index, page.areas.geometry, strict=True))
    for r, aid in zip(rows, page.areas.index, strict=True):
        geom = geoms[aid]
        table, sentences = [], []
        for lv in page.layers:
            if aid not in trows[lv.name] or len(lv.units) <= 1:
                continue
            t = trows[lv.name][aid]
            sv = srows[lv.name][aid]
            n_units = int(t.get("n_units", 0))
            # Inside one ward/PCN, the ward's fit only says the ward is bigger: not shown.
            show_fit = is_fine(lv.name) or not sv["inside"]
            table.append({
                "word": f"{lv.word}s" if lv.word.isupper() else f"{lv.word[0].upper()}"
                        f"{lv.word[1:]}s",
                "n_units": n_units, "split": pct_text(sv["split"]),
                "fit": pct_text(t.get("iou")) if show_fit else "–",
                "left_out": pct_text(t.get("excluded_inside_share")) if show_fit else "–",
                "extra": _extra(t.get("included_outside_share")) if show_fit else "–",
                # inside one ward the boundaries need not meet: say so, not "0 %"
                "boundary": pct_text(t.get("f1_50")) if show_fit else f"inside one {lv.word}",
            })
            if lv is not main:
                sentences.append(f"It touches {plural(n_units, lv.word)}; the best set of whole "
                                 f"{lv.word}s matches its area {pct_text(t.get('iou'))}.")
        head = [r["people"] + " people" if r["people"][0].isdigit() else r["people"],
                r["area"]]
        if "spans" in r:
            head.append(r["spans"])
            sentences.insert(0, f"{r['name']} is {r['spans']}.")
        if r.get("decile") is not None:
            sentences.append(f"IMD decile {r['decile']} (1 = most deprived 10 % of England).")
        if r.get("money") is not None:
            ph = f" (£{r['per_head']:,.2f} a head)" if r.get("per_head") is not None else ""
            sentences.append(f"Allocation £{r['money']:,.0f}{ph}.")
        svg = svg_map(geom, draw, title=f"{r['name']} with statutory boundaries")
        out.append({"name": r["name"], "headline": " · ".join(head), "sentences": sentences,
                    "table": table, "svg": svg})
    return out


def _extra(share: Any) -> str:
    """Extra area as a share of the drawn area; "3.3 × drawn area" above 100 %."""
    if share is None or pd.isna(share):
        return "–"
    v = float(share)
    return pct_text(v) if v <= 1 else f"{v:.1f} times its size"


def build(facts: ReportFacts) -> SectionOutput:
    """One collapsible block per neighbourhood, in the index's order."""
    page = facts.page
    main = main_layer(page)
    html = render_fragment("details.html.j2", details=details(page, facts.rows),
                           main_word=main.word if main else "unit")
    return SectionOutput("Neighbourhood by neighbourhood", "details", html)
