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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from tqdm.std import tqdm

from nbhd_geo import settings
from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.publish import publish_frame, staged_output, write_csv, write_gpkg
from nbhd_geo.measures.split import unit_splits
from nbhd_geo.measures.tension import tension
from nbhd_geo.overlay.apportion import apportion
from nbhd_geo.report.html import (
    Section,
    figure_to_data_uri,
    neighbourhood_paragraph,
    render_report,
    table_html,
)
from nbhd_geo.report.plot import map_layers, map_overlap
from nbhd_geo.report.workflow import LayerSpec, Reconciliation, reconcile

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
    progress: bool = True,
    overwrite: bool = False,
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
        Statutory layers (:class:`nbhd_geo.report.workflow.LayerSpec`).
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
    progress
        Show progress bars.
    overwrite
        Replace a non-empty ``out`` folder (else an InputError, before any computing).

    Returns
    -------
    OverlapReport
    """
    final = Path(out)
    with staged_output(final, overwrite=overwrite) as stage:
        result = _overlap_report_into(
            areas, layers, stage, label_col=label_col, read_report=read_report,
            drawings=drawings, consensus=consensus, weights=weights, weight_col=weight_col,
            primary=primary, title=title, threshold=threshold, extra_sections=extra_sections,
            intro=intro, imd=imd, imd_layer=imd_layer, budget=budget, progress=progress)
    result.files = sorted({final / f.relative_to(stage) for f in result.files})
    log.info("report written: %s", final / "index.html")
    return result


def _overlap_report_into(
    areas: gpd.GeoDataFrame,
    layers: Sequence[LayerSpec],
    out: Path,
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
    progress: bool = True,
) -> OverlapReport:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    limit = settings.small_count_threshold if threshold is None else threshold
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
                    weight_col=wcol, crosswalk=ap)
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
    source = drawings if drawings is not None else areas
    write_gpkg(source, out / "layers.gpkg", "drawings", threshold=limit,
               keep=[c for c in ("neighbourhood", label_col) if c])

    extra = list(extra_sections)
    if consensus is not None and drawings is not None:
        from nbhd_geo.report.sections import consensus_section

        con = consensus_section(consensus, drawings, report=read_report)
        extra.append(con.section)
        for name, table in con.tables.items():
            if name == "_zones":
                zones = gpd.GeoDataFrame(table, geometry="geometry", crs=areas.crs)
                write_gpkg(zones, out / "layers.gpkg", "consensus_zones", threshold=limit,
                           drop_personal=False)
            else:
                files.append(_publish(table, out / name, (), limit))
    if imd is not None:
        from nbhd_geo.report.sections import deprivation_section

        lsoa = next((s.data for s in layers if s.name == imd_layer), None)
        if lsoa is None:
            raise NbhdGeoError(f"no layer named {imd_layer!r} for the deprivation section",
                               argument="imd_layer",
                               fix=f"use one of {[s.name for s in layers]}")
        dep = deprivation_section(areas, lsoa, imd, weights=weights, weight_col=weight_col,
                                  label_col=label_col, budget=budget,
                                  crosswalk=rec.crosswalks.get(imd_layer))
        extra.append(dep.section)
        for name, table in dep.tables.items():
            files.append(_publish(table, out / name, ["population"], limit))
    sections = _sections(areas, layers, rec, tens, splits, read_report, label_col, primary,
                         limit, progress)
    sections[0].paragraphs[:0] = list(intro)
    page = render_report(
        out / "index.html",
        title=title,
        sections=[*sections[:-1], *extra, sections[-1]],
        summary=_summary(areas, layers, rec, read_report),
        attribution=ATTRIBUTION,
    )
    files.append(page)
    return OverlapReport(reconciliation=rec, tension=tens, splits=splits,
                         files=sorted(set(files)))


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


def _summary(areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec], rec: Reconciliation,
             read_report: pd.DataFrame | None) -> list[tuple[str, str]]:
    rows = [("Neighbourhoods reported", f"{len(areas)}")]
    if read_report is not None:
        counts = read_report["status"].value_counts()
        rows.append((
            "Input features",
            f"{len(read_report)} read: {counts.get('kept', 0)} kept, "
            f"{counts.get('repaired', 0)} repaired, {counts.get('rejected', 0)} rejected",
        ))
    for spec in layers:
        c = rec.checks[spec.name]
        rows.append((
            f"{display_name(spec.name)} area check",
            f"{c['overlap_area_m2'] / 1e6:,.3f} km² inside {display_name(spec.name)}s + "
            f"{c['uncovered_area_m2'] / 1e6:,.3f} km² outside = "
            f"{c['drawing_area_m2'] / 1e6:,.3f} km² drawn "
            f"({c['slivers']} sliver{'' if c['slivers'] == 1 else 's'} flagged)",
        ))
    return rows


def _sections(
    areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec], rec: Reconciliation,
    tens: pd.DataFrame, splits: pd.DataFrame, read_report: pd.DataFrame | None,
    label_col: str | None, primary: str | None, limit: int, progress: bool,
) -> list[Section]:
    labels = _label(areas, label_col)
    layer_map = {s.name: s.data for s in layers}
    first = primary if primary in layer_map else layers[0].name
    # Maps stay legible: the primary layer plus wards and PCN footprints when present.
    map_names = [first] + [n for n in ("ward", "pcn") if n in layer_map and n != first]
    if len(map_names) == 1:
        map_names = list(layer_map)[:3]
    overview_names = [n for n in ("ward", "pcn", "lad") if n in layer_map] or map_names
    fig, _ = map_layers({n: layer_map[n] for n in overview_names},
                        areas=areas.assign(_l=labels), label_col="_l")
    overview = Section("Overview", "overview",
                       paragraphs=["Drawn neighbourhoods (orange) over the statutory layers."],
                       figures=[(figure_to_data_uri(fig),
                                 "Neighbourhoods over statutory boundaries")])

    per_area = Section("Neighbourhoods", "neighbourhoods", paragraphs=[
        "For each neighbourhood: how many statutory units it touches (slivers under 1 % "
        "ignored), and the set of whole units that best stands in for it (maximum overlap "
        "score, IoU). Green shows the stand-in, orange what residents drew."])
    tension_cols = [c for c in ["n_units", "eff_units", "entropy", "iou", "f1_50",
                                "hausdorff_m", "coi_preserved", "tension"] if c in tens.columns]
    fit_geoms = rec.best_fits[first].geometries()
    for area_id in tqdm(areas.index, desc="maps", disable=not progress, unit="area"):
        touched = {}
        fits = {}
        for spec in layers:
            row = tens[(tens["layer"] == spec.name) & (tens.iloc[:, 1] == area_id)]
            n = int(row["n_units"].iloc[0]) if len(row) else 0
            touched[display_name(spec.name)] = n
            fits[display_name(spec.name)] = rec.best_fits[spec.name].quality.loc[area_id]
        text = neighbourhood_paragraph(labels.loc[area_id], touched, fits,
                                       primary=display_name(first))
        fig, _ = map_overlap(areas.loc[[area_id]], {k: layer_map[k] for k in map_names},
                             fit=fit_geoms.loc[[area_id]] if area_id in fit_geoms.index else None,
                             title=labels.loc[area_id])
        rows = tens[tens.iloc[:, 1] == area_id][["layer", *tension_cols]]
        per_area.subsections.append(Section(
            labels.loc[area_id], f"area-{_slug(area_id)}", paragraphs=[text],
            figures=[(figure_to_data_uri(fig, dpi=80),
                      f"{labels.loc[area_id]}: drawn outline and best-fit "
                      f"{display_name(first)}s")],
            tables=[("Tension by layer", table_html(rows, percent=["iou"]))],
        ))

    t_cols = ["layer", tens.columns[1], *[c for c in tens.columns[2:] if c != "layer"]]
    tension_sec = Section("Tension metrics", "tension", paragraphs=[
        "One row per neighbourhood and layer. n_units = units touched (slivers ignored); "
        "eff_units = 1/Σp² over the shares p of the neighbourhood in each unit; entropy = "
        "Σ p·log2(1/p) bits; iou = overlap score of the best-fit set of whole units; "
        "f1_25/50/100 compare the drawn edge with the best-fit edge within 25/50/100 m; "
        "tension combines 1 − IoU, 1 − F1 at 50 m and 1 − 1/eff_units into one score in "
        "[0, 1] (0 = perfect match). All columns are in tension.csv."],
        tables=[("Tension (first columns)", table_html(tens[t_cols[:12]], max_rows=60))])
    split_cols = [c for c in splits.columns if "population" not in c][:10]
    top = splits.sort_values([c for c in ["n_areas", "split_entropy"] if c in splits.columns],
                             ascending=False).head(25) if len(splits) else splits
    split_sec = Section("Statutory units cut by neighbourhood boundaries", "splits",
                        paragraphs=["The statutory units cut most by community boundaries "
                                    "(all units in unit_splits.csv and layers.gpkg)."],
                        tables=[("Most-cut units", table_html(top[split_cols]))])
    notes = ["Areas are exact (boundary integration, checked against GEOS to 1e-9); shares "
             "are of each polygon's own area. Population shares follow where people live "
             "when a population layer is given, else area."]
    if read_report is not None:
        said = read_report[read_report["reason"].fillna("") != ""]
        read_sec = Section("Inputs and repairs", "inputs", paragraphs=notes + [
            f"Every input feature is accounted for: {len(read_report)} read, "
            f"{len(said)} with something to say (below; all in read_report.csv)."],
            tables=[("Repairs, rejections and notes",
                     table_html(said[["source", "feature_id", "status", "reason"]]
                                if "source" in said else said, max_rows=80))])
    else:
        read_sec = Section("Inputs and repairs", "inputs", paragraphs=notes)
    return [overview, per_area, tension_sec, split_sec, read_sec]


def _slug(value: Any) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(value)).strip("-").lower()

