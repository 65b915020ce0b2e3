"""The planner page's "Who was heard" and "Councillors' view" sections.

:func:`add_voices_sections` runs :func:`nbhd_geo.voices.coverage.engagement_coverage`
and :func:`nbhd_geo.voices.councillors.councillor_view` on what the overlap report
already has (the drawings, the statutory layers, the population), turns the results
into plain-language sections (:class:`ExtraSection`) and map layers on the
:class:`~nbhd_geo.report.facts.page.PlannerPage`, and writes the published tables
(``coverage.csv``, ``councillors_view.csv``; drawing counts below the small-count
threshold suppressed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.publish import publish_frame, write_csv
from nbhd_geo.reconcile import LayerSpec
from nbhd_geo.report.facts.heard import councillors_section, who_was_heard_section
from nbhd_geo.report.facts.page import (
    LayerView,
    PlannerPage,
)
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.facts.wording import (
    display_name,
    pct_text,
    people_text,
    plural,
)
from nbhd_geo.report.sections.base import (
    ExtraSection,
    SectionOutput,
    html_table,
    render_sections,
    shade_layer,
)
from nbhd_geo.voices.councillors import councillor_view
from nbhd_geo.voices.coverage import engagement_coverage
from nbhd_geo.voices.options import ReusedCrosswalks

__all__ = ["NAME_COL", "add_voices_sections", "build"]


NAME_COL = "neighbourhood"  # the drawings' name column after read_drawings(_many)


# Sequential blues for coverage (low -> high), and the unheard outline.
COVERAGE_COLOURS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")


def _colour(value: float, edges: np.ndarray) -> str:
    """Colour class of ``value`` given up to four class edges (quintiles).

    Examples
    --------
    >>> _colour(0.5, np.array([1.0, 2.0, 3.0, 4.0])), _colour(9.0, np.array([1.0, 2.0]))
    ('#eff3ff', '#08519c')
    """
    top = len(COVERAGE_COLOURS) - 1
    if not len(edges):
        return COVERAGE_COLOURS[top // 2]
    c = int(np.searchsorted(edges, value, side="right"))
    return COVERAGE_COLOURS[round(c * top / len(edges))]


def _names_by_id(page: PlannerPage, layer: str) -> pd.Series | None:
    lv: LayerView | None = next((v for v in page.layers if v.name == layer), None)
    return lv.names if lv is not None else None


def _has_names(drawings: gpd.GeoDataFrame | None) -> bool:
    if drawings is None or NAME_COL not in drawings.columns:
        return False
    names = drawings[NAME_COL].dropna().astype(str).str.strip()
    names = names[names != ""]
    return bool(len(names)) and int(names.value_counts().max()) >= 2


def _coverage_units(layers: Sequence[LayerSpec], primary: str | None,
                    imd_layer: str) -> LayerSpec | None:
    """Pick the primary layer when it has a population, else the population layer."""
    with_pop = [s for s in layers if s.population]
    if not with_pop:
        return None
    want = primary or layers[0].name
    return next((s for s in with_pop if s.name == want),
                next((s for s in with_pop if s.name == imd_layer), with_pop[0]))


def _ward_layer(layers: Sequence[LayerSpec]) -> LayerSpec | None:
    return next((s for s in layers if s.name.lower().rstrip("s0123456789") == "ward"), None)


def _overall(cov: Any, shown_rate: pd.Series, limit: int) -> str:
    """Overall coverage; the range only over units whose rate is published."""
    n = float(cov.conservation["n_drawings"])
    pop = float(cov.table["population"].sum())
    text = f"{n:,.0f} drawings from {people_text(pop, limit)} residents"
    if pop > 0:
        text += f": {1000 * n / pop:.1f} per 1,000 overall"
    vals = shown_rate.dropna()
    none = int((cov.table["drawings"] <= 1e-9).sum())
    vals = vals[vals > 0]  # units with at least `limit` drawings
    if len(vals) >= 2:
        text += (f"; in the {len(vals)} units with at least {limit}, from {vals.min():.1f} "
                 f"to {vals.max():.1f} per 1,000")
    text += "."
    if none:
        text += f" {plural(none, 'unit')} gave no drawing at all."
    return text


def _unheard_names(text: str, cov: Any, names: pd.Series | None, word: str) -> str:
    """Name the unheard units ("Brackenfield 002E (E01990009)") in heard.py's sentence."""
    if names is None or "flagged unheard" not in text:
        return text
    ids = list(cov.unheard().index[:10])
    listed = ", ".join(map(str, ids))
    if listed not in text:
        return text
    return text.replace(listed, ", ".join(
        f"{names.get(u, u)} ({u})" if str(names.get(u, u)) != str(u) else str(u)
        for u in ids)).replace(" units are flagged", f" {word}s are flagged").replace(
        " unit is flagged", f" {word} is flagged")


def coverage_section(page: PlannerPage, out: Path, *, drawings: gpd.GeoDataFrame,
                     spec: LayerSpec, imd: Any, imd_layer: str,
                     weights: gpd.GeoDataFrame | None,
                     weight_col: str | None) -> tuple[ExtraSection, dict[str, Any], Path]:
    """Engagement coverage per unit of ``spec``: section, map layer and ``coverage.csv``."""
    limit = page.threshold
    word = display_name(spec.name)
    dep = imd if (imd is not None and spec.name == imd_layer) else None
    named = drawings[drawings[NAME_COL].notna()]
    kw: dict[str, Any] = {"unit_population": spec.population, "weights": weights,
                          "weight_col": weight_col if weights is not None else None}
    dep_note = ""
    try:
        cov = engagement_coverage(named, spec.data, deprivation=dep, **kw)
    except NbhdGeoError as err:  # IMD of another vintage: coverage without deprivation
        if dep is None:
            raise
        cov = engagement_coverage(named, spec.data, **kw)
        dep_note = f" Deprivation not used: {err.problem}."
    heard = who_was_heard_section(cov, threshold=limit)
    pub = cov.published(limit)
    id_col = pub.columns[0]
    names = _names_by_id(page, spec.name)
    pub.insert(1, "name", [str(names.get(u, u)) if names is not None else str(u)
                           for u in pub[id_col]])
    path = write_csv(publish_frame(pub, threshold=limit), out / "coverage.csv")

    t = cov.table
    shown = pub.set_index(id_col)
    rate = pd.to_numeric(shown["per_1000"].replace("", np.nan), errors="coerce")
    order = t.sort_values(["per_1000", "population"], ascending=[True, False],
                          kind="stable").index
    rows = []
    for u in order:
        r = shown.loc[u]
        rows.append([u, r["name"], people_text(float(t.at[u, "population"]), limit),
                     r["drawings"] if isinstance(r["drawings"], str) else f"{r['drawings']:.0f}",
                     "not shown" if pd.isna(rate.get(u)) else f"{rate[u]:.1f}",
                     int(t.at[u, "imd_decile"]) if "imd_decile" in t else "–",
                     "yes" if bool(t.at[u, "unheard"]) else ""])
    head = [word, "Name", "Residents", "Drawings", "Drawings per 1,000 residents",
            "IMD decile", "Unheard"]
    table = html_table(head, rows, [False, False, True, True, True, True, False])
    paras = [
        f"Engagement coverage: how many of the {len(named):,} named drawings came from each "
        f"{word}, per 1,000 residents. A drawing counts for the ground it covers, shared "
        f"between the {word}s it overlaps by their residents.",
        _overall(cov, rate, limit),
        *[_unheard_names(q, cov, names, word) for q in heard.paragraphs[1:]],
        f"Drawing counts below {limit} are not shown (nor their rate, which would give "
        f"the count back).{dep_note}",
    ]
    if "imd_decile" not in t:
        paras.append("No deprivation was given for these units, so none is flagged unheard.")
    # Map: five classes of the shown rates; suppressed units left unshaded.
    vals = rate.dropna()
    edges = np.unique(np.quantile(vals, [0.2, 0.4, 0.6, 0.8])) if len(vals) else np.array([])
    fills: list[str | None] = []
    tips = []
    for u in spec.data.index:
        v = rate.get(u, np.nan)
        nm = str(names.get(u, u)) if names is not None else str(u)
        if pd.isna(v):
            fills.append(None)
            tips.append(f"{nm}: fewer than {limit} drawings")
        else:
            fills.append(_colour(float(v), edges))
            flag = " (unheard)" if u in t.index and bool(t.at[u, "unheard"]) else ""
            tips.append(f"{nm}: {v:.1f} drawings per 1,000 residents{flag}")
    layer = shade_layer("cov", f"Drawings per 1,000 residents ({word})", spec.data, tips,
                        fills, colour="#08519c")
    legend = [(COVERAGE_COLOURS[0], "fewest"), (COVERAGE_COLOURS[-1], "most drawings per "
                                                "1,000 residents"),
              ("#ffffff", f"not shown (fewer than {limit} drawings)")]
    sec = ExtraSection("Who was heard", "who-was-heard", paras,
                       [{"caption": f"Coverage by {word} (least heard first)", "html": table,
                         "open": False}], legend)
    return sec, layer, path


def councillors_view_section(page: PlannerPage, out: Path, *, areas: gpd.GeoDataFrame,
                             wards: LayerSpec, pop: LayerSpec,
                             weights: gpd.GeoDataFrame | None,
                             weight_col: str | None,
                             crosswalks: Mapping[str, Any] | None = None,
                             ) -> tuple[ExtraSection, Path]:
    """Per ward, the named neighbourhoods it holds: section and ``councillors_view.csv``."""
    limit = page.threshold
    crosswalks = crosswalks or {}
    view = councillor_view(areas[[areas.geometry.name]], wards.data, pop.data,
                           unit_population=pop.population, weights=weights,
                           weight_col=weight_col if weights is not None else None,
                           reuse=ReusedCrosswalks(wards=crosswalks.get(wards.name),
                                                  units=crosswalks.get(pop.name)))
    built = councillors_section(view, threshold=limit)
    ward_names = _names_by_id(page, wards.name)
    labels = page.labels
    pub = built.tables["Neighbourhoods by ward"].copy()
    pub["ward_name"] = [str(ward_names.get(w, w)) if ward_names is not None else str(w)
                        for w in pub["ward"]]
    pub["neighbourhood_name"] = [str(labels.get(n, n)) for n in pub["neighbourhood"]]
    path = write_csv(publish_frame(pub, threshold=limit), out / "councillors_view.csv")

    held = view.table[view.table["held"]]
    blocks = []
    order = sorted(held["ward"].unique(),
                   key=lambda w: str(ward_names.get(w, w)) if ward_names is not None else str(w))
    for w in order:
        h = held[held["ward"] == w].sort_values(["share_of_neighbourhood", "neighbourhood"],
                                                ascending=[False, True], kind="stable")
        wname = str(ward_names.get(w, w)) if ward_names is not None else str(w)
        rows = [[str(labels.get(r.neighbourhood, r.neighbourhood)),
                 pct_text(r.share_of_neighbourhood), people_text(r.population, limit),
                 pct_text(r.share_of_ward)] for r in h.itertuples()]
        table = html_table(["Neighbourhood", "Share of its people in this ward",
                             "People (in both)", "Share of the ward's people"], rows,
                            [False, True, True, True])
        ward_pop = float(view.wards.at[w, "population"])
        blocks.append({"caption": f"{wname} — holds {plural(len(h), 'neighbourhood')} "
                                  f"({people_text(ward_pop, limit)} residents)",
                       "html": table, "open": False, "ward": wname})
    none = [str(ward_names.get(w, w)) if ward_names is not None else str(w)
            for w in view.wards.index if w not in set(held["ward"])]
    nb = view.neighbourhoods
    split = nb[nb["n_wards"] > 1]
    paras = [built.paragraphs[0].replace(f"{view.min_share:.0%}", pct_text(view.min_share)),
             f"{plural(len(order), 'ward')} hold at least one named neighbourhood."
             + (f" {len(none)} hold none: {', '.join(none)}." if none else "")]
    if len(split):
        paras.append(f"{len(split)} of {len(nb)} neighbourhoods have their people in more "
                     "than one ward: " + ", ".join(
                         f"{labels.get(n, n)} ({k})" for n, k in split["n_wards"].items())
                     + ".")
    paras.append("Open a ward to see its neighbourhoods.")
    return ExtraSection("Councillors' view", "councillors-view", paras, blocks), path


def add_voices_sections(page: PlannerPage, out: Path, *, areas: gpd.GeoDataFrame,
                        drawings: gpd.GeoDataFrame | None, layers: Sequence[LayerSpec],
                        primary: str | None, imd: Any, imd_layer: str,
                        weights: gpd.GeoDataFrame | None,
                        weight_col: str | None,
                        crosswalks: Mapping[str, Any] | None = None,
                        ) -> tuple[list[ExtraSection], list[dict[str, Any]], list[Path]]:
    """Build "Who was heard" and "Councillors' view" when the inputs allow.

    ``crosswalks`` (layer name -> the report's crosswalk of ``areas`` with that layer)
    are reused rather than intersecting the same layers again.

    Both need a layer with a population; "Who was heard" needs named drawings with
    some name drawn at least twice, "Councillors' view" a ward layer. Returns the
    sections, their map layers and the files written.
    """
    pop = _coverage_units(layers, primary, imd_layer)
    if pop is None or drawings is None or not _has_names(drawings):
        return [], [], []
    files = []
    sec, layer, path = coverage_section(page, out, drawings=drawings, spec=pop, imd=imd,
                                        imd_layer=imd_layer, weights=weights,
                                        weight_col=weight_col)
    sections, map_layers = [sec], [layer]
    files.append(path)
    wards = _ward_layer(layers)
    base = next((s for s in layers if s.name == imd_layer and s.population), pop)
    if wards is not None:
        csec, cpath = councillors_view_section(page, out, areas=areas, wards=wards, pop=base,
                                               weights=weights, weight_col=weight_col,
                                               crosswalks=crosswalks)
        sections.append(csec)
        files.append(cpath)
    return sections, map_layers, files


def build(facts: ReportFacts) -> SectionOutput:
    """"Who was heard" and "Councillors' view": fragment, coverage shading, their tables."""
    sections, map_layers, files = add_voices_sections(
        facts.page, facts.out, areas=facts.page.areas, drawings=facts.drawings.drawings,
        layers=facts.layers, primary=facts.primary, imd=facts.imd, imd_layer=facts.imd_layer,
        weights=facts.population.weights, weight_col=facts.population.column,
        crosswalks=facts.crosswalks)
    return SectionOutput("Who was heard", "who-was-heard", render_sections(sections),
                         files=files, map_layers=map_layers)
