"""Assemble the planner's overlap report from the analyses (``nbhd-geo report``).

:func:`overlap_report` runs the reconcile core and the tension metrics for each
statutory layer, then writes, under one folder:

- ``index.html``: self-contained page with maps, tables and a plain-language
  paragraph per neighbourhood;
- ``crosswalk_<layer>.csv``, ``best_fit.csv``, ``tension.csv``, ``unit_splits.csv``,
  ``read_report.csv``;
- ``layers.gpkg``: the repaired drawings, the areas reported on, best-fit unions and
  split units, for QGIS.

Counts of people below ``settings.small_count_threshold`` are suppressed in every
published table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from tqdm.std import tqdm

from nbhd_geo import settings
from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.publish import (
    PER_DRAWING_FILES,
    publish_frame,
    staged_output,
    write_csv,
    write_gpkg,
)
from nbhd_geo.measures.split import unit_splits
from nbhd_geo.measures.tension import tension
from nbhd_geo.overlay.apportion import apportion
from nbhd_geo.reconcile import LayerSpec, Reconciliation, reconcile
from nbhd_geo.report.html import Section

__all__ = ["OverlapReport", "overlap_report"]

log = logging.getLogger("nbhd_geo")

_POP_COLS = ("population", "fit_population", "pop_included_outside", "pop_excluded_inside")
ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Boundaries: contains OS data © Crown copyright and database right.",
    "Sample data (data/samples) describe a fictional town made by nbhd_geo's generator.",
)


@dataclass
class OverlapReport:
    """What :func:`overlap_report` computed and wrote.

    Attributes
    ----------
    reconciliation
        Crosswalks and best fits per layer.
    tension
        Tension metrics, one row per (area, layer).
    splits
        Per statutory unit: how the areas cut it, one row per (unit, layer).
    files
        Every file written.
    """

    reconciliation: Reconciliation
    tension: pd.DataFrame
    splits: pd.DataFrame
    files: list[Path] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Return the tension table (a copy)."""
        return self.tension.copy()


def _publish(df: pd.DataFrame, path: Path, counts: Sequence[str], threshold: int | None) -> Path:
    return write_csv(publish_frame(df, counts=counts, threshold=threshold), path)


def _write_reconciliation(rec: Reconciliation, out: Path, limit: int) -> list[Path]:
    """Write what ``Reconciliation.write`` does, through the publishing helpers."""
    import json

    files = [_publish(cw.to_frame(), out / f"crosswalk_{name}.csv", _POP_COLS, limit)
             for name, cw in rec.crosswalks.items()]
    files.append(_publish(rec.best_fit_table(), out / "best_fit.csv", _POP_COLS, limit))
    checks = {layer: {k: (f"<{limit}" if "population" in k and 0 < float(v) < limit
                          else round(float(v)) if "population" in k else v)
                      for k, v in c.items()} for layer, c in rec.checks.items()}
    path = out / "checks.json"
    path.write_text(json.dumps(checks, indent=2, default=float))
    files.append(path)
    gpkg = out / "layers.gpkg"
    write_gpkg(rec.drawings, gpkg, "areas", threshold=limit, keep=("label", "neighbourhood"))
    for name, bf in rec.best_fits.items():
        write_gpkg(bf.geometries(), gpkg, f"best_fit_{name}", counts=_POP_COLS,
                   threshold=limit)
    files.append(gpkg)
    return files


_ACRONYMS = {"oa", "lsoa", "msoa", "lad", "pcn", "icb", "ltla", "utla", "pcon"}


def display_name(layer: str) -> str:
    """Layer name as planners write it: ``lsoa`` -> ``LSOA``, ``ward`` -> ``ward``."""
    return layer.upper() if layer.lower() in _ACRONYMS else layer


def _label(areas: gpd.GeoDataFrame, label_col: str | None) -> pd.Series:
    if label_col and label_col in areas.columns:
        return areas[label_col].astype(str)
    return pd.Series(areas.index.astype(str), index=areas.index)


def overlap_report(
    areas: gpd.GeoDataFrame,
    layers: Sequence[LayerSpec],
    out: str | Path,
    *,
    label_col: str | None = None,
    read_report: pd.DataFrame | None = None,
    drawings: gpd.GeoDataFrame | None = None,
    consensus: Any = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    primary: str | None = None,
    title: str = "Neighbourhood overlap report",
    threshold: int | None = None,
    extra_sections: Sequence[Section] = (),
    intro: Sequence[str] = (),
    imd: Any = None,
    imd_layer: str = "lsoa",
    budget: int | None = None,
    floor_share: float = 0.2,
    gradient: float = 1.0,
    propose: tuple[float, float] | None = None,
    unit_labels: Mapping[str, str] | None = None,
    population_note: str = "",
    sample_data: bool = False,
    progress: bool = True,
    overwrite: bool = False,
    include_drawings: bool = False,
) -> OverlapReport:
    """Reconcile areas with statutory layers and write the planner's overlap report.

    Everything is written to a temporary folder beside ``out`` and moved into place
    only when the report is complete (:func:`nbhd_geo.io.publish.staged_output`); a
    non-empty ``out`` is refused unless ``overwrite=True``.

    Parameters
    ----------
    areas
        Neighbourhoods to report on (drawings, or consensus cores), indexed by id.
    layers
        Statutory layers (:class:`nbhd_geo.reconcile.LayerSpec`).
    out
        Output folder.
    label_col
        Column naming each area in the text (default: the id).
    read_report
        Per-feature read report(s) of the inputs, written as ``read_report.csv``.
    drawings
        The repaired drawings the areas came from (when the areas are consensus
        cores), written to ``layers.gpkg`` layer ``drawings``.
    consensus
        The :class:`~nbhd_geo.voices.consensus.Consensus` of ``drawings``: adds the "many
        voices" section (agreement maps, disputed ground, outlier list),
        ``consensus_summary.csv``, ``outliers.csv`` and layer ``consensus_zones``.
    weights, weight_col
        Population layer (OA polygons or address points) and its count column.
    primary
        The layer described in each paragraph's best-fit sentence (default: first).
    title
        Page title.
    threshold
        Small-count threshold (default ``settings.small_count_threshold``).
    extra_sections
        More sections (deprivation, consensus) placed after the overlap sections.
    intro
        Paragraphs at the top of the report.
    imd
        An :class:`~nbhd_geo.deprivation.imd.IMDTable`: adds the deprivation section (decile map,
        ranked table, ``deprivation.csv``) computed on layer ``imd_layer``.
    imd_layer
        The layer holding LSOAs of ``imd``'s vintage.
    budget
        With ``imd``: whole pounds to allocate by proportionate universalism
        (``allocation.csv``).
    floor_share, gradient
        Allocation parameters (see :func:`nbhd_geo.allocate`).
    propose
        ``(min, max)`` people: adds "Proposed footprints" (:mod:`nbhd_geo.plan`) built
        from whole units of the population layer.
    unit_labels
        Layer name -> column naming its units (default: a ``*NM``/``*_name`` column).
    population_note
        Where the population came from, in words (shown in the board summary).
    sample_data
        The inputs are the bundled fictional sample town (says so in the footer).
    progress
        Show progress bars.
    include_drawings
        Also write each individual drawing (layer ``drawings`` of ``layers.gpkg``) and
        the per-drawing ``outliers.csv``. Off by default: one row per drawing tells how
        many people drew each name, however the counts are suppressed elsewhere.
    overwrite
        Replace a non-empty ``out`` folder (else an InputError, before any computing).

    Returns
    -------
    OverlapReport
    """
    final = Path(out)
    # Everything is written to a staging folder beside `out` and moved into place only
    # when complete: a failed report leaves nothing (unsuppressed or stale) behind.
    with staged_output(final, overwrite=overwrite) as stage:
        out = stage
        out.mkdir(parents=True, exist_ok=True)
        limit = settings.small_count_threshold if threshold is None else threshold
        before = {s.name: s.population for s in layers}
        layers = _with_imd_population(layers, imd, imd_layer)
        if not population_note and any(before[s.name] != s.population for s in layers):
            source = ("Census 2021 usual residents of each LSOA (the IoD2025 population file)"
                      if imd.vintage == "IoD2025" else
                      f"the population of each LSOA given with the {imd.vintage} indices")
            population_note = (f"{source}; people in LSOAs only partly inside a neighbourhood are "
                               "shared by " + ("where people live" if weights is not None
                                               else "area"))
        rec = reconcile(areas, layers, weights=weights, weight_col=weight_col, progress=progress)
        files = _write_reconciliation(rec, out, limit)

        tension_frames, split_frames = [], []
        for spec in tqdm(layers, desc="tension", disable=not progress, unit="layer"):
            w = weights
            wcol = weight_col if w is not None else None
            # One reconciliation per layer pair: reuse the crosswalk (and, where the population
            # settings match, the apportionment) that reconcile() computed.
            ap = rec.apportionments.get(spec.name)
            if ap is None or (w is not None and not spec.population):
                ap = apportion(areas, spec.data, unit_population=spec.population, weights=w,
                               weight_col=wcol, crosswalk=rec.crosswalks[spec.name])
            t = tension(areas, spec.data, unit_population=spec.population, weights=w,
                        weight_col=wcol, crosswalk=ap, score_weights="auto")
            t = t.rename_axis("area_id").reset_index().assign(layer=spec.name)
            tension_frames.append(t)
            s = unit_splits(areas, spec.data, unit_population=spec.population, weights=w,
                            weight_col=wcol, crosswalk=ap)
            s = s.rename_axis("unit_id").reset_index().assign(layer=spec.name)
            split_frames.append(_flatten(s))
        tens = pd.concat(tension_frames, ignore_index=True)
        tens = tens[["layer"] + [c for c in tens.columns if c != "layer"]]
        splits = pd.concat(split_frames, ignore_index=True)
        splits = splits[["layer"] + [c for c in splits.columns if c != "layer"]]
        pop_cols = [c for c in tens.columns if c.startswith("population") or c.endswith("_people")]
        files.append(_publish(tens, out / "tension.csv", pop_cols, limit))
        split_pop = [c for c in splits.columns if "population" in c]
        files.append(_publish(splits, out / "unit_splits.csv", split_pop, limit))
        # best_fit.csv was written by reconcile with exact counts: publish it suppressed.
        files.append(_publish(rec.best_fit_table(), out / "best_fit.csv", _POP_COLS, limit))
        if read_report is not None:
            path = out / "read_report.csv"
            write_csv(read_report, path)
            files.append(path)
        _write_split_units(out / "layers.gpkg", layers, splits, limit)
        if include_drawings:  # individual drawings: only when asked (see docs/privacy.md)
            source = drawings if drawings is not None else areas
            write_gpkg(source, out / "layers.gpkg", "drawings", threshold=limit,
                       keep=[c for c in ("neighbourhood", label_col) if c])

        page_extra = [(s.title, _section_html(s)) for s in extra_sections]
        if consensus is not None and drawings is not None:
            from nbhd_geo.report.sections import consensus_section

            n_names = len(consensus.summary)
            con = consensus_section(consensus, drawings, report=read_report, maps=n_names <= 40,
                                    threshold=limit)
            page_extra.append((con.section.title, _section_html(con.section)))
            for name, table in con.tables.items():
                if name == "_zones":
                    zones = gpd.GeoDataFrame(table, geometry="geometry", crs=areas.crs)
                    write_gpkg(zones, out / "layers.gpkg", "consensus_zones", threshold=limit,
                               drop_personal=False)
                elif name in PER_DRAWING_FILES and not include_drawings:
                    continue
                else:
                    files.append(_publish(table, out / name, (), limit))
        dep = None
        if imd is not None:
            from nbhd_geo.report.sections import deprivation_tables

            lsoa = next((s.data for s in layers if s.name == imd_layer), None)
            if lsoa is None:
                raise NbhdGeoError(f"no layer named {imd_layer!r} for the deprivation section",
                                   argument="imd_layer",
                                   fix=f"use one of {[s.name for s in layers]}")
            dep = deprivation_tables(areas, lsoa, imd, weights=weights, weight_col=weight_col,
                                     label_col=label_col, budget=budget, floor_share=floor_share,
                                     gradient=gradient, crosswalk=rec.crosswalks.get(imd_layer))
            for name, table in dep.tables.items():
                files.append(_publish(table, out / name, ["population"], limit))
        page = _planner_page(areas, layers, rec, tens, splits, label_col, limit, title, intro,
                             imd, imd_layer, dep, budget, read_report, weights, weight_col,
                             dict(unit_labels or {}), population_note, sample_data, page_extra)
        # --- extra sections: who was heard, councillors' view, proposed footprints
        from nbhd_geo.report.voices_sections import add_voices_sections

        files += add_voices_sections(page, out, areas=areas, drawings=drawings, layers=layers,
                                     primary=primary, imd=imd, imd_layer=imd_layer,
                                     weights=weights, weight_col=weight_col,
                                     crosswalks=rec.crosswalks)
        if propose is not None:
            from nbhd_geo.report.plan_section import add_plan_section

            files += add_plan_section(page, out, areas=areas, layers=layers, imd_layer=imd_layer,
                                      size=propose)
        # --- end extra sections
        files.append(out / "index.html")
        page.files = sorted({p.name for p in files})
        from nbhd_geo.report.assemble import write_page

        write_page(page, out / "index.html", pop_check=page_pop_check(page, rec, layers))
        log.debug("page: %s", out / "index.html")
        files = sorted({final / f.relative_to(stage) for f in files})
        result = OverlapReport(reconciliation=rec, tension=tens, splits=splits,
                               files=sorted(set(files)))
    log.info("report written: %s", final / "index.html")
    return result


def _with_imd_population(layers: Sequence[LayerSpec], imd: Any,
                         imd_layer: str) -> list[LayerSpec]:
    """Give the IMD's LSOA layer the index's own population when it has none."""
    out = list(layers)
    if imd is None or not len(getattr(imd, "denominators", [])):
        return out
    for k, spec in enumerate(out):
        if spec.name == imd_layer and spec.population is None:
            pop = imd.denominators.set_index("lsoa_code")["population"]
            data = spec.data.assign(population=pop.reindex(spec.data.index).to_numpy(float))
            if data["population"].notna().any():
                data["population"] = data["population"].fillna(0.0)
                out[k] = LayerSpec(spec.name, data, "population")
    return out


def _section_html(section: Section) -> str:
    """Render a legacy :class:`Section` (text, PNG figures, tables) as appendix HTML."""
    import html as _html

    parts = [f"<p>{_html.escape(p)}</p>" for p in section.paragraphs]
    parts += [f'<figure><img src="{uri}" alt="{_html.escape(alt)}" style="max-width:100%">'
              f"<figcaption>{_html.escape(alt)}</figcaption></figure>"
              for uri, alt in section.figures]
    parts += [f"<h4>{_html.escape(cap)}</h4><div class='tablewrap' tabindex='0' role='region' "
              f"aria-label='{_html.escape(cap)}'>{tab}</div>"
              for cap, tab in section.tables]
    return "".join(parts)


def _population_layer(layers: Sequence[LayerSpec], imd_layer: str) -> LayerSpec | None:
    with_pop = [s for s in layers if s.population]
    if not with_pop:
        return None
    return next((s for s in with_pop if s.name == imd_layer), with_pop[0])


def _planner_page(areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec], rec: Reconciliation,
                  tens: pd.DataFrame, splits: pd.DataFrame, label_col: str | None,
                  limit: int, title: str, intro: Sequence[str], imd: Any, imd_layer: str, dep: Any,
                  budget: int | None, read_report: pd.DataFrame | None,
                  weights: gpd.GeoDataFrame | None, weight_col: str | None,
                  unit_labels: dict[str, str], population_note: str, sample_data: bool,
                  extra: list[tuple[str, str]]) -> Any:
    from nbhd_geo.report.assemble import layer_views
    from nbhd_geo.report.board import PlannerPage

    views = layer_views(layers, rec.crosswalks, tens, unit_labels)
    page = PlannerPage(title=title, areas=areas, labels=_label(areas, label_col),
                       layers=views, threshold=limit, intro=list(intro),
                       checks=rec.checks, read_report=read_report, extra_html=extra)
    spec = _population_layer(layers, imd_layer)
    if spec is not None:
        ap = rec.apportionments[spec.name]
        page.people = ap.by_area()["population"].reindex(areas.index).fillna(0.0)
        # People inside the area the neighbourhoods cover (counted once where they
        # overlap): unit_splits already shared each unit between inside and outside.
        us = splits[splits["layer"] == spec.name]
        if {"population", "pop_outside"} <= set(us.columns):
            total = float(pd.to_numeric(us["population"], errors="coerce").sum())
            outside = float(pd.to_numeric(us["pop_outside"], errors="coerce").sum())
            page.people_covered = total - outside
            page._pop_totals = (total - outside, outside, total)  # type: ignore[attr-defined]
        page.people_source = population_note or (
            f"{display_name(spec.name)} populations"
            + (f" shared within {display_name(spec.name)}s by where people live ({ap.by})"
               if ap.by != "area" else f", shared by area within {display_name(spec.name)}s"))
        page._pop_layer = spec  # type: ignore[attr-defined]
    if dep is not None:
        page.deprivation = dep.per_area
        page.allocation = dep.allocation
        page.budget = budget
        page.lsoa_deciles = dep.lsoa_deciles
        page.imd_vintage = imd.vintage
    page.methods = [
        "Areas are exact (computed on British National Grid, EPSG:27700); a neighbourhood's "
        "share in a unit is the share of its area inside that unit. Pieces under 1 % of a "
        "neighbourhood are treated as slivers and not listed.",
        "Split: the share of a neighbourhood outside its main unit (0 % when it lies inside "
        "one unit). Fit: the overlap score (intersection over union) of the set of whole "
        "units that best stands in for it. Boundary agreement: how much of the drawn edge "
        "lies within 50 m of the stand-in's edge, and vice versa.",
        "People: " + (page.people_source or "no population was given") + ". Figures are "
        f"rounded and groups of fewer than {limit} are not shown.",
    ]
    if dep is not None:
        page.methods += dep.notes
    page.attribution = [ATTRIBUTION[0]]
    if sample_data:
        page.attribution.append(ATTRIBUTION[1])
    return page


def page_pop_check(page: Any, rec: Reconciliation,
                   layers: Sequence[LayerSpec]) -> dict[str, Any] | None:
    """Say population conservation in words: people inside + outside the covered area."""
    totals = getattr(page, "_pop_totals", None)
    spec = getattr(page, "_pop_layer", None)
    if totals is None or spec is None:
        return None
    inside, outside, total = totals
    from nbhd_geo.report.board import people_text

    return {"text": (
        f"{people_text(inside, page.threshold)} people inside the area the neighbourhoods "
        f"cover + {people_text(outside, page.threshold)} outside = "
        f"{people_text(total, page.threshold)} in the {display_name(spec.name)}s of the study "
        f"area (each {display_name(spec.name)}'s people counted once)")}


def _flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """Tuple/list cells (areas and shares per unit) as text, for CSV and GeoPackage."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, tuple | list)).any():
            out[col] = out[col].map(
                lambda v: "; ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v)
                if isinstance(v, tuple | list) else v
            )
    return out


def _write_split_units(gpkg: Path, layers: Sequence[LayerSpec], splits: pd.DataFrame,
                      limit: int | None = None) -> None:
    """Units touched by at least one area, with their split measures, one layer each."""
    for spec in layers:
        s = splits[splits["layer"] == spec.name].drop(columns="layer").set_index("unit_id")
        cut = s[s["n_areas"] >= 1] if "n_areas" in s.columns else s
        geoms = spec.data.geometry.reindex(cut.index)
        frame = gpd.GeoDataFrame(cut, geometry=geoms.to_numpy(), crs=spec.data.crs)
        write_gpkg(frame, gpkg, f"split_units_{spec.name}", threshold=limit,
                   drop_personal=False)


def _slug(value: Any) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(value)).strip("-").lower()

