"""The planner page's "Proposed footprints" section (``--propose``).

:func:`build` runs :func:`nbhd_geo.plan.propose_footprints` on the report's
population layer (e.g. LSOAs) with the resident neighbourhoods, and shows the plans
side by side: a scorecard in plain language, for each neighbourhood whether each plan
keeps it whole, and each plan's footprints as a layer of the interactive map. A plan
that cannot be made (:class:`~nbhd_geo.errors.NbhdGeoError`) becomes a plain sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.plan import FootprintPlans, SearchOptions, propose_footprints
from nbhd_geo.reconcile import LayerSpec
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.facts.wording import display_name, pct_text, people_text, plural
from nbhd_geo.report.sections.base import (
    ExtraSection,
    SectionOutput,
    html_table,
    render_sections,
    shade_layer,
)

__all__ = ["PLAN_COLOURS", "build"]

log = logging.getLogger("nbhd_geo")

# Qualitative fills for footprints within one plan (ColorBrewer Set3), and plan outlines.
PLAN_COLOURS = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
                "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")
PLAN_OUTLINES = ("#1b7837", "#c51b7d", "#e08214")
TITLE, ANCHOR = "Proposed footprints", "proposed-footprints"
N_PLANS, SEED = 3, 0  # plans side by side; the search is seeded so the page is reproducible


def _pop_layer(layers: Sequence[LayerSpec], imd_layer: str) -> LayerSpec | None:
    with_pop = [s for s in layers if s.population]
    return next((s for s in with_pop if s.name == imd_layer), with_pop[0] if with_pop else None)


def _scorecards(plans: FootprintPlans, limit: int, has_nb: bool) -> str:
    head = ["", *[p.name.replace("_", " ").capitalize() for p in plans.plans]]
    rows: list[list[Any]] = []
    cards = [p.scorecard for p in plans.plans]
    if has_nb:
        share = f"{plans.whole_threshold:.0%}".replace("%", " %")
        rows.append([f"Residents of neighbourhoods kept whole (at least {share} of them in "
                     "one footprint)",
                     *[f"{people_text(c['residents_whole'], limit)} of "
                       f"{people_text(c['residents_in_neighbourhoods'], limit)} "
                       f"({pct_text(c['share_whole'])})" for c in cards]])
        rows.append(["Neighbourhoods kept whole",
                     *[f"{int(c['neighbourhoods_whole'])} of "
                       f"{int(c['neighbourhoods_whole'] + c['neighbourhoods_split'])}"
                       for c in cards]])
    rows.append(["Footprints", *[int(c["n_footprints"]) for c in cards]])
    rows.append(["People per footprint",
                 *[f"{people_text(c['pop_min'], limit)} to {people_text(c['pop_max'], limit)}"
                   for c in cards]])
    rows.append(["Compactness (Polsby–Popper, mean; 100 % = a circle)",
                 *[pct_text(c["polsby_popper_mean"]) for c in cards]])
    rows.append(["Length of footprint boundaries",
                 *[f"{c['cut_length_km']:,.1f} km" for c in cards]])
    if "pcn_alignment" in cards[0]:
        rows.append(["Patients whose PCN is their footprint's main PCN",
                     *[pct_text(c["pcn_alignment"]) for c in cards]])
    return html_table(head, rows, [False] + [True] * len(cards))


def _whole_table(plans: FootprintPlans, labels: pd.Series, limit: int) -> str:
    tabs = [p.neighbourhoods.set_index("neighbourhood") for p in plans.plans]
    names = tabs[0].index
    rows = []
    for n in names:
        row: list[Any] = [str(labels.get(n, n)), people_text(float(tabs[0].at[n, "people"]),
                                                              limit)]
        for t in tabs:
            k = int(t.at[n, "n_footprints"])
            row.append("kept whole" if bool(t.at[n, "whole"]) else f"split across {k}")
        rows.append(row)
    rows.sort(key=lambda r: r[0])
    head = ["Neighbourhood", "People",
            *[p.name.replace("_", " ").capitalize() for p in plans.plans]]
    return html_table(head, rows, [False, True] + [False] * len(tabs))


def build(facts: ReportFacts) -> SectionOutput:
    """"Proposed footprints": fragment, each plan's footprints as a map layer, its tables.

    Footprints of ``facts.propose`` people are built from whole units of the population
    layer (the indices' LSOA layer when it has people, else the first layer with a
    population). Writes ``proposed_footprints.csv`` and ``proposed_scorecards.csv``.
    """
    page, out, size = facts.page, facts.out, facts.propose
    if size is None:
        return SectionOutput(TITLE, ANCHOR)
    areas, layers, imd_layer = page.areas, facts.layers, facts.imd_layer
    n_plans, seed = N_PLANS, SEED
    limit = page.threshold
    lo, hi = size
    sec = ExtraSection(TITLE, ANCHOR)
    spec = _pop_layer(layers, imd_layer)
    if spec is None:
        sec.paragraphs.append("No footprints were proposed: no layer has a population.")
        return SectionOutput(TITLE, ANCHOR, render_sections([sec]))
    word = display_name(spec.name)
    sec.paragraphs.append(
        f"Footprints of {people_text(lo, limit)}–{people_text(hi, limit)} people made of whole "
        f"{word}s, each in one piece, trying to keep the residents' neighbourhoods whole. "
        "Each plan trades the aims off differently; none is hidden behind one score.")
    try:
        plans = propose_footprints(spec.data, population=spec.population,
                                   neighbourhoods=areas[[areas.geometry.name]],
                                   size=(lo, hi), n_plans=n_plans,
                                   search=SearchOptions(seed=seed))
    except NbhdGeoError as err:
        log.info("no footprints proposed: %s", err)
        sec.paragraphs.append(
            f"No plan could be made from these {word}s: {err.problem}."
            + (f" To fix: {err.fix}." if getattr(err, "fix", None) else ""))
        return SectionOutput(TITLE, ANCHOR, render_sections([sec]))
    best = plans.best().scorecard
    sec.paragraphs.append(
        f"{plural(len(plans.plans), 'plan')} proposed. The first keeps "
        f"{pct_text(best['share_whole'])} of the neighbourhoods' residents whole in "
        f"{plural(int(best['n_footprints']), 'footprint')}. Tick a plan on the map to see its "
        "footprints.")
    sec.blocks.append({"caption": "The plans side by side", "html":
                       _scorecards(plans, limit, True), "open": True})
    sec.blocks.append({"caption": "Does each plan keep each neighbourhood whole?",
                       "html": _whole_table(plans, page.labels, limit), "open": False})
    files = []
    rows = []
    map_layers = []
    for k, p in enumerate(plans.plans):
        fp = p.footprints.set_index("footprint")
        tips = [f"{p.name.replace('_', ' ').capitalize()}, footprint {f}: "
                f"{people_text(float(pop), limit)} people, {int(n)} {word}s"
                for f, pop, n in zip(fp.index, fp["population"], fp["n_units"], strict=True)]
        fills = [PLAN_COLOURS[i % len(PLAN_COLOURS)] for i in range(len(fp))]
        map_layers.append(shade_layer(
            f"plan{k + 1}", f"Proposed footprints, {p.name.replace('_', ' ')}",
            gpd.GeoDataFrame(fp, geometry="geometry", crs=fp.crs), tips, fills,
            colour=PLAN_OUTLINES[k % len(PLAN_OUTLINES)]))
        rows.append(p.assignment.assign(plan=p.name))
    path = out / "proposed_footprints.csv"
    pd.concat(rows, ignore_index=True)[["plan", "unit", "footprint"]].to_csv(path, index=False)
    files.append(path)
    card = out / "proposed_scorecards.csv"
    plans.to_frame().to_csv(card)
    files.append(card)
    return SectionOutput(TITLE, ANCHOR, render_sections([sec]), files=files,
                         map_layers=map_layers)
