"""The planner page's facts: plain data on every neighbourhood, layer and unit.

Built by :func:`planner_page` from what :func:`nbhd_geo.report.overlap.overlap_report`
computed (crosswalks, tension, splits, deprivation); read by every section of
:mod:`nbhd_geo.report.sections`. Nothing here writes HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.reconcile import LayerSpec, Reconciliation
from nbhd_geo.report.facts.deprivation import Deprivation
from nbhd_geo.report.facts.wording import (
    area_text,
    display_name,
    layer_word,
    people_sum_text,
    people_text,
    people_value,
    spans_text,
)
from nbhd_geo.report.options import LabelOptions, PageOptions

__all__ = ["ATTRIBUTION", "LayerView", "PeopleFacts", "PlannerPage", "area_labels",
           "index_rows", "is_fine", "layer_views", "main_layer", "page_pop_check",
           "planner_page", "split_values", "unit_names"]


ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Boundaries: contains OS data © Crown copyright and database right.",
    "Sample data (data/samples) describe a fictional town made by nbhd_geo's generator.",
)


SLIVER = 0.01


@dataclass
class LayerView:
    """One statutory layer as the page shows it."""

    name: str            # key in tables ("ward")
    word: str            # as written in sentences ("ward", "LSOA")
    units: gpd.GeoDataFrame
    names: pd.Series     # display name by unit id
    pieces: pd.DataFrame  # area_id, unit_id, share (of the neighbourhood), ≥ 1 %
    tension: pd.DataFrame  # indexed by area id


@dataclass
class PeopleFacts:
    """The page's people: per neighbourhood, inside and outside the area they cover.

    Attributes
    ----------
    per_area
        People per neighbourhood (area id -> people; overlapping neighbourhoods each count
        the people they share).
    layer
        The population layer they come from (``"lsoa"``).
    source
        Where they come from, in words.
    covered, outside
        People of that layer's units inside the area the neighbourhoods cover (each counted
        once) and outside it; ``None`` when the splits carry no population.
    """

    per_area: pd.Series
    layer: str
    source: str = ""
    covered: float | None = None
    outside: float | None = None


@dataclass
class PlannerPage:
    """Everything the planner's page shows (built by :func:`planner_page`).

    Attributes
    ----------
    title
        Page title.
    areas, labels
        The neighbourhoods (indexed by id) and their names.
    layers
        One :class:`LayerView` per statutory layer.
    threshold
        Small-count threshold: fewer people than this are not shown.
    checks
        Layer -> area conservation figures of the reconciliation.
    people
        People per neighbourhood and in the covered area (``None``: no population given).
    deprivation
        Deprivation and the allocation per neighbourhood (``None``: no indices given).
    intro, methods, attribution
        Paragraphs opening the board summary, describing the methods, and the footer.
    study_area
        A sentence naming the study area and what lies beyond it ("" without one).
    """

    title: str
    areas: gpd.GeoDataFrame
    labels: pd.Series
    layers: list[LayerView]
    threshold: int
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    people: PeopleFacts | None = None
    deprivation: Deprivation | None = None
    intro: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    attribution: list[str] = field(default_factory=list)
    study_area: str = ""


def main_layer(page: PlannerPage) -> LayerView | None:
    """Return the layer the page describes first: wards, else the first coarse layer."""
    for want in ("ward", "wards"):
        for lv in page.layers:
            if lv.name.lower() == want:
                return lv
    for lv in page.layers:
        if lv.name.lower() not in ("lsoa", "oa", "msoa", "lad"):
            return lv
    return page.layers[0] if page.layers else None


def _per_area_spans(lv: LayerView) -> dict[Any, str]:
    out: dict[Any, str] = {}
    for aid, grp in lv.pieces.groupby("area_id", sort=False):
        g = grp.sort_values(["share", "unit_id"], ascending=[False, True])
        out[aid] = spans_text([(str(lv.names.get(u, u)), float(s))
                               for u, s in zip(g["unit_id"], g["share"], strict=True)], lv.word)
    return out


def is_fine(layer: str) -> bool:
    """Building-block layers (OA, LSOA, MSOA): covering several units is expected.

    Examples
    --------
    >>> is_fine("lsoa"), is_fine("LSOA21"), is_fine("ward")
    (True, True, False)
    """
    low = layer.lower().rstrip("s0123456789")
    return low in ("oa", "lsoa", "msoa")


def split_values(t: pd.DataFrame) -> pd.DataFrame:
    """``split`` and ``pop_split`` of a tension table, derived when absent.

    ``split`` is the share of the neighbourhood's area outside its main unit (0 when
    wholly inside one unit); ``pop_split`` the same by people.

    Examples
    --------
    >>> t = pd.DataFrame({"share_in_main_unit": [1.0, 0.7]})
    >>> split_values(t)["split"].round(2).tolist()
    [0.0, 0.3]
    """
    out = pd.DataFrame(index=t.index)
    for prefix in ("", "pop_"):  # by area, then the same by people
        split, main = f"{prefix}split", f"{prefix}share_in_main_unit"
        if split in t.columns:
            out[split] = t[split].astype(float)
        elif main in t.columns:
            out[split] = 1 - t[main].astype(float)
        else:
            out[split] = np.nan
    if "inside_one_unit" in t.columns:
        out["inside"] = t["inside_one_unit"].astype(bool)
    else:
        out["inside"] = out["split"].fillna(1) < 0.01
    if "covered_share" in t.columns:
        # A neighbourhood partly outside every unit kept (beyond the study area) is not
        # "inside one" unit, whatever its share in the units kept.
        covered = pd.to_numeric(t["covered_share"], errors="coerce").fillna(1.0)
        out["inside"] = out["inside"] & (covered >= 1 - 0.01)
        out["split"] = out["split"].where(out["inside"], np.maximum(
            out["split"], 1 - covered.clip(upper=1)))
    return out


def index_rows(page: PlannerPage) -> list[dict[str, Any]]:
    """Build one row per neighbourhood with display text and sort keys."""
    spans = {lv.name: _per_area_spans(lv) for lv in page.layers if not is_fine(lv.name)}
    splits = {lv.name: split_values(lv.tension) for lv in page.layers}
    main = main_layer(page)
    split_d = {k: v.to_dict("index") for k, v in splits.items()}
    iou_d = {lv.name: lv.tension["iou"].astype(float).to_dict() if "iou" in lv.tension else {}
             for lv in page.layers}
    area_d = dict(zip(page.areas.index, page.areas.geometry.area, strict=True))
    dep = page.deprivation
    dep_d = dep.per_area.to_dict("index") if dep is not None else {}
    alloc_d = (dep.allocation.to_dict("index")
               if dep is not None and dep.allocation is not None else {})
    rows = []
    for aid in page.areas.index:
        r: dict[str, Any] = {"id": str(aid), "id_key": aid,
                             "name": str(page.labels.get(aid, aid))}
        pv = page.people.per_area.get(aid) if page.people is not None else None
        r["people"] = people_text(pv, page.threshold)
        r["people_sort"] = people_value(pv, page.threshold)
        r["area_m2"] = float(area_d[aid])
        r["area"] = area_text(r["area_m2"])
        r["fits"], r["spans_by"], r["split_by"] = {}, {}, {}
        for lv in page.layers:
            if aid in split_d[lv.name]:
                r["fits"][lv.name] = float(iou_d[lv.name].get(aid, np.nan))
                r["split_by"][lv.name] = float(split_d[lv.name][aid]["split"])
            if lv.name in spans:
                r["spans_by"][lv.name] = spans[lv.name].get(aid, f"outside every {lv.word}")
        if main is not None and aid in split_d[main.name]:
            sv = split_d[main.name][aid]
            r["split"] = float(sv["split"])
            r["inside"] = bool(sv["inside"])
            r["spans"] = (spans[main.name].get(aid, f"outside every {main.word}")
                          if main.name in spans else _per_area_spans_one(main, aid))
        if aid in dep_d:
            d = dep_d[aid]
            r["decile"] = None if pd.isna(d.get("decile")) else int(d["decile"])
            r["most_deprived"] = d.get("share_most_deprived")
        if aid in alloc_d:
            a = alloc_d[aid]
            r["money"] = float(a["allocation"])
            ph = a.get("per_head")
            r["per_head"] = None if ph is None or pd.isna(ph) else float(ph)
        rows.append(r)
    return rows


def _per_area_spans_one(lv: LayerView, aid: Any) -> str:
    g = lv.pieces[lv.pieces["area_id"] == aid].sort_values(["share", "unit_id"],
                                                           ascending=[False, True])
    return spans_text([(str(lv.names.get(u, u)), float(v))
                       for u, v in zip(g["unit_id"], g["share"], strict=True)], lv.word)


def unit_names(units: gpd.GeoDataFrame, column: str | None = None) -> pd.Series:
    """Display names of statutory units: ``column``, else an auto-detected ``*NM`` column.

    Recognises ONS name columns (``WD22NM``, ``LSOA21NM``, ``ward22_name``,
    ``pcn_name``); falls back to the unit id.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> u = gpd.GeoDataFrame({"WD22NM": ["Walkley"]}, geometry=[shapely.box(0, 0, 1, 1)],
    ...                      index=pd.Index(["E05010000"], name="WD22CD"), crs=27700)
    >>> unit_names(u).tolist()
    ['Walkley']
    """
    if column is not None and column == units.index.name:
        return pd.Series(units.index.astype(str), index=units.index)
    if column is not None:
        if column not in units.columns:
            from nbhd_geo.errors import InputError

            raise InputError(f"no column {column!r} to name units",
                             argument="--label",
                             fix=f"choose from {[c for c in units.columns if c != 'geometry']}")
        col: str | None = column
    else:
        cands = [c for c in units.columns
                 if c != "geometry" and not pd.api.types.is_numeric_dtype(units[c])
                 and (c.upper().endswith("NM") or c.lower().endswith("_name")
                      or c.lower() == "name")]
        col = cands[0] if cands else None
    if col is None:
        return pd.Series(units.index.astype(str), index=units.index)
    return units[col].astype(str).where(units[col].notna(), units.index.astype(str))


def layer_views(layers: Sequence[Any], crosswalks: dict[str, Any], tens: pd.DataFrame,
                labels: Mapping[str, str | None]) -> list[LayerView]:
    """One :class:`LayerView` per statutory layer."""
    views = []
    for spec in layers:
        cw = crosswalks[spec.name].table
        pieces = cw.loc[cw["share_of_source"] >= SLIVER, ["source_id", "target_id",
                                                           "share_of_source"]]
        pieces = pieces.set_axis(["area_id", "unit_id", "share"], axis=1)
        t = tens[tens["layer"] == spec.name].drop(columns="layer")
        t = t.set_index(t.columns[0])
        views.append(LayerView(spec.name, layer_word(spec.name), spec.data,
                               unit_names(spec.data, labels.get(spec.name)), pieces, t))
    return views


def area_labels(areas: gpd.GeoDataFrame, label_col: str | None) -> pd.Series:
    """Each neighbourhood's name: ``label_col``, else its id."""
    if label_col and label_col in areas.columns:
        return areas[label_col].astype(str)
    return pd.Series(areas.index.astype(str), index=areas.index)


def _population_layer(layers: Sequence[LayerSpec], imd_layer: str) -> LayerSpec | None:
    with_pop = [s for s in layers if s.population]
    if not with_pop:
        return None
    return next((s for s in with_pop if s.name == imd_layer), with_pop[0])


def planner_page(areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec], rec: Reconciliation,
                 tens: pd.DataFrame, splits: pd.DataFrame, *, labels: LabelOptions,
                 options: PageOptions, threshold: int, imd_layer: str = "lsoa",
                 deprivation: Deprivation | None = None,
                 population_note: str = "") -> PlannerPage:
    """Gather the page's facts from the reconciliation, tension, splits and deprivation.

    Parameters
    ----------
    areas
        The neighbourhoods, indexed by id.
    layers
        The statutory layers (with their populations).
    rec, tens, splits
        The reconciliation, tension table and unit splits the report computed.
    labels
        How neighbourhoods and units are named.
    options
        Title, opening paragraphs and whether the inputs are the sample town.
    threshold
        Small-count threshold.
    imd_layer
        The layer holding the indices' LSOAs: its people are the page's, when it has some.
    deprivation
        From :func:`~nbhd_geo.report.facts.deprivation.deprivation_tables`.
    population_note
        Where the people came from, in words (default: said from the layer used).
    """
    limit, dep = threshold, deprivation
    views = layer_views(layers, rec.crosswalks, tens, dict(labels.units))
    page = PlannerPage(title=options.title, areas=areas, labels=area_labels(areas, labels.areas),
                       layers=views, threshold=limit, intro=list(options.intro),
                       checks=rec.checks, deprivation=dep)
    spec = _population_layer(layers, imd_layer)
    if spec is not None:
        ap = rec.apportionments[spec.name]
        people = PeopleFacts(ap.by_area()["population"].reindex(areas.index).fillna(0.0),
                             spec.name)
        # People inside the area the neighbourhoods cover (counted once where they
        # overlap): unit_splits already shared each unit between inside and outside.
        us = splits[splits["layer"] == spec.name]
        if {"population", "pop_outside"} <= set(us.columns):
            total = float(pd.to_numeric(us["population"], errors="coerce").sum())
            people.outside = float(pd.to_numeric(us["pop_outside"], errors="coerce").sum())
            people.covered = total - people.outside
        people.source = population_note or (
            f"{display_name(spec.name)} populations"
            + (f" shared within {display_name(spec.name)}s by where people live ({ap.by})"
               if ap.by != "area" else f", shared by area within {display_name(spec.name)}s"))
        page.people = people
    page.methods = [
        "Areas are exact (measured on the British National Grid, EPSG:27700); a "
        "neighbourhood's share in a unit is the share of its area inside that unit. Pieces "
        "under 1 % of a neighbourhood are too small to list.",
        "Split: the share of a neighbourhood outside its main unit (0 % when it lies inside "
        "one unit). Area match: for the set of whole units that best matches the "
        "neighbourhood, the area both cover as a share of the area either covers. Edges "
        "within 50 m: how much of the drawn edge lies within 50 m of the edge of that set "
        "of units, and the other way round.",
        "People: " + (page.people.source if page.people is not None and page.people.source
                      else "no population was given") + ". Figures are "
        f"rounded and groups of fewer than {limit} are not shown.",
    ]
    if dep is not None:
        page.methods += dep.notes
    page.attribution = [ATTRIBUTION[0]]
    if options.sample_data:
        page.attribution.append(ATTRIBUTION[1])
    return page


def page_pop_check(page: PlannerPage) -> dict[str, Any] | None:
    """Say population conservation in words: people inside + outside the covered area."""
    people = page.people
    if people is None or people.covered is None or people.outside is None:
        return None
    (t_in, t_out), t_all = people_sum_text([people.covered, people.outside], page.threshold)
    word = display_name(people.layer)
    return {"text": (
        f"{t_in} people inside the area the neighbourhoods cover + {t_out} outside = "
        f"{t_all} in the {word}s of the study area (each {word}'s people counted once)")}
