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
    publish_frame,
    staged_output,
    write_csv,
    write_gpkg,
)
from nbhd_geo.measures.split import unit_splits
from nbhd_geo.measures.tension import tension
from nbhd_geo.overlay.apportion import apportion
from nbhd_geo.overlay.bestfit import BestFit
from nbhd_geo.reconcile import LayerSpec, Reconciliation, reconcile
from nbhd_geo.report.facts.deprivation import (
    Deprivation,
    deprivation_tables,
    published_deprivation,
)
from nbhd_geo.report.facts.page import area_labels, planner_page, unit_names
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.facts.study_area import add_study_area
from nbhd_geo.report.options import (
    DeprivationOptions,
    DrawingOptions,
    LabelOptions,
    PageOptions,
    PopulationOptions,
)
from nbhd_geo.report.page.assemble import write_page
from nbhd_geo.report.sections import consensus as consensus_section
from nbhd_geo.report.sections import plan as plan_section
from nbhd_geo.report.sections import voices as voices_section
from nbhd_geo.report.sections.base import SectionOutput
from nbhd_geo.report.sections.consensus import section_html

__all__ = ["OverlapReport", "overlap_report"]

log = logging.getLogger("nbhd_geo")

_POP_COLS = ("population", "fit_population", "pop_included_outside", "pop_excluded_inside")


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


def _best_fit_layer(bf: BestFit, labels: pd.Series | None,
                    unit_names: pd.Series | None) -> gpd.GeoDataFrame:
    """Name the best fit's shapes: which neighbourhood, and which units make it up.

    A GIS user opening ``layers.gpkg`` sees the neighbourhood's name and the codes and
    names of the whole units chosen, not only an id and fit measures.
    """
    geo = bf.geometries()
    sel = bf.members.loc[bf.members["selected"], ["area_id", "unit_id"]]
    sel = sel.sort_values(["area_id", "unit_id"], kind="stable")
    codes = sel.groupby("area_id", sort=False)["unit_id"].agg(
        lambda u: "; ".join(map(str, u)))
    geo.insert(0, "unit_codes", codes.reindex(geo.index).fillna("").to_numpy())
    if unit_names is not None:
        named = sel.assign(unit=unit_names.reindex(sel["unit_id"]).fillna(
            sel["unit_id"].astype(str)).to_numpy())
        listed = named.groupby("area_id", sort=False)["unit"].agg(lambda u: "; ".join(u))
        geo.insert(1, "unit_names", listed.reindex(geo.index).fillna("").to_numpy())
    if labels is not None:
        geo.insert(0, "neighbourhood", labels.reindex(geo.index).astype(str).to_numpy())
    return geo


def _write_reconciliation(rec: Reconciliation, out: Path, limit: int,
                          names: Mapping[str, pd.Series] | None = None,
                          labels: pd.Series | None = None) -> list[Path]:
    """Write what ``Reconciliation.write`` does, through the publishing helpers.

    Crosswalks carry the neighbourhood's name and the unit's name beside their ids.
    """
    import json

    files = []
    for name, cw in rec.crosswalks.items():
        frame = cw.to_frame()
        if labels is not None:
            frame.insert(1, "source_name", labels.reindex(frame["source_id"]).to_numpy())
        if names is not None and name in names:
            at = 3 if labels is not None else 2
            frame.insert(at, "target_name", names[name].reindex(frame["target_id"]).to_numpy())
        files.append(_publish(frame, out / f"crosswalk_{name}.csv", _POP_COLS, limit))
    checks = {layer: {k: (f"<{limit}" if "population" in k and 0 < float(v) < limit
                          else round(float(v)) if "population" in k else v)
                      for k, v in c.items()} for layer, c in rec.checks.items()}
    path = out / "checks.json"
    path.write_text(json.dumps(checks, indent=2, default=float))
    files.append(path)
    gpkg = out / "layers.gpkg"
    write_gpkg(rec.drawings, gpkg, "areas", threshold=limit, keep=("label", "neighbourhood"))
    for name, bf in rec.best_fits.items():
        write_gpkg(_best_fit_layer(bf, labels, names.get(name) if names else None), gpkg,
                   f"best_fit_{name}", counts=_POP_COLS, threshold=limit,
                   keep=("neighbourhood", "unit_codes", "unit_names"))
    files.append(gpkg)
    return files


def overlap_report(
    areas: gpd.GeoDataFrame,
    layers: Sequence[LayerSpec],
    out: str | Path,
    *,
    labels: LabelOptions | None = None,
    drawings: DrawingOptions | None = None,
    population: PopulationOptions | None = None,
    deprivation: DeprivationOptions | None = None,
    page: PageOptions | None = None,
    propose: tuple[float, float] | None = None,
    study_area: Any = None,
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
        Statutory layers (:class:`nbhd_geo.reconcile.LayerSpec`).
    out
        Output folder.
    labels
        How neighbourhoods and units are named (:class:`~nbhd_geo.report.options.LabelOptions`;
        default: the areas' ids, units by a ``*NM``/``*_name`` column).
    drawings
        The drawings behind the areas (:class:`~nbhd_geo.report.options.DrawingOptions`):
        the repaired drawings, their consensus (adds the "many voices" section,
        ``consensus_summary.csv`` and layer ``consensus_zones``), the read report
        (``read_report.csv``) and whether to publish each drawing.
    population
        A finer population layer (OA polygons or address points) and where the people
        came from, in words (:class:`~nbhd_geo.report.options.PopulationOptions`).
    deprivation
        The indices, their LSOA layer and an optional allocation
        (:class:`~nbhd_geo.report.options.DeprivationOptions`): adds the deprivation
        figures (``deprivation.csv``) and, with an allocation, ``allocation.csv``.
    page
        Title, opening paragraphs, small-count threshold and more
        (:class:`~nbhd_geo.report.options.PageOptions`).
    propose
        ``(min, max)`` people: adds "Proposed footprints" (:mod:`nbhd_geo.plan`) built
        from whole units of the population layer.
    study_area
        A :class:`~nbhd_geo.report.facts.study_area.StudyArea` (what ``--clip-to`` kept): the
        page names it and reports the parts of neighbourhoods beyond it
        (``outside_study_area.csv``).
    progress
        Show progress bars.
    overwrite
        Replace a non-empty ``out`` folder (else an InputError, before any computing).

    Returns
    -------
    OverlapReport
    """
    lab = labels or LabelOptions()
    given = drawings or DrawingOptions()
    read_report = given.read_report
    include_drawings = given.include_drawings
    pop_opts = population or PopulationOptions()
    dep_opts = deprivation
    opts = page or PageOptions()
    label_col, unit_labels = lab.areas, dict(lab.units)
    weights, weight_col, population_note = pop_opts.weights, pop_opts.column, pop_opts.note
    imd: Any = dep_opts.imd if dep_opts is not None else None
    imd_layer = dep_opts.layer if dep_opts is not None else "lsoa"
    title, extra_sections = opts.title, opts.extra_sections
    primary, threshold = opts.primary, opts.threshold
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
        names = {s.name: unit_names(s.data, (unit_labels or {}).get(s.name)) for s in layers}
        files = _write_reconciliation(rec, out, limit, names, area_labels(areas, label_col))

        tens, splits = _tension_tables(areas, layers, rec, pop_opts, progress)
        pop_cols = [c for c in tens.columns if c.startswith("population") or c.endswith("_people")]
        labels_ = area_labels(areas, label_col)
        files.append(_publish(_named_tension(tens, labels_, names), out / "tension.csv",
                              pop_cols, limit))
        split_pop = [c for c in splits.columns if "population" in c]
        files.append(_publish(_named_splits(splits, names), out / "unit_splits.csv", split_pop,
                              limit))
        # best_fit.csv was written by reconcile with exact counts: publish it suppressed.
        bf = rec.best_fit_table()
        if {"area_id", "layer"} <= set(bf.columns):
            bf.insert(0, "area_id", bf.pop("area_id"))
            bf.insert(1, "name", labels_.reindex(bf["area_id"]).astype(str).to_numpy())
        files.append(_publish(bf, out / "best_fit.csv", _POP_COLS, limit))
        if read_report is not None:
            path = out / "read_report.csv"
            write_csv(read_report, path)
            files.append(path)
        _write_split_units(out / "layers.gpkg", layers, _named_splits(splits, names), limit)
        if include_drawings:  # individual drawings: only when asked (see docs/privacy.md)
            source = given.drawings if given.drawings is not None else areas
            write_gpkg(source, out / "layers.gpkg", "drawings", threshold=limit,
                       keep=[c for c in ("neighbourhood", label_col) if c])

        dep, written = _deprivation(areas, layers, rec, dep_opts, pop_opts, label_col,
                                    out, limit)
        files += written
        sheet = planner_page(areas, layers, rec, tens, splits, labels=lab, options=opts,
                             threshold=limit, imd_layer=imd_layer, deprivation=dep,
                             population_note=population_note)
        if study_area is not None:
            files += add_study_area(sheet, study_area, areas, layers, unit_labels or {}, out,
                                    limit)
        facts = ReportFacts(
            page=sheet, out=out, layers=layers, crosswalks=rec.crosswalks, drawings=given,
            population=pop_opts, deprivation=dep_opts, primary=primary, propose=propose,
            sections=[SectionOutput(s.title, s.anchor, section_html(s), appendix=True)
                      for s in extra_sections])
        # The sections that run an analysis and write its tables; the page's own sections
        # (board, index, details, appendix) run in write_page, after QGIS has its layers.
        for build in (consensus_section.build, voices_section.build, plan_section.build):
            done = build(facts)
            files += done.files
            if done.html:
                facts.sections.append(done)
        # Styled for QGIS inside the staged folder, so the lock and the atomic swap cover it
        # and a library caller gets the same GeoPackage and project as the CLI.
        from nbhd_geo.report.qgis import qgis_ready

        files += qgis_ready(out, layers, imd=imd, title=title)
        files += [out / "index.html", out / "board_facts.csv"]
        facts.files = sorted({p.name for p in files})
        write_page(facts, out / "index.html")
        log.debug("page: %s", out / "index.html")
        files = sorted({final / f.relative_to(stage) for f in files})
        result = OverlapReport(reconciliation=rec, tension=tens, splits=splits,
                               files=sorted(set(files)))
    log.info("report written: %s", final / "index.html")
    return result


def _tension_tables(areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec], rec: Reconciliation,
                    population: PopulationOptions,
                    progress: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tension per (area, layer) and splits per (unit, layer), layer column first."""
    tension_frames, split_frames = [], []
    for spec in tqdm(layers, desc="tension", disable=not progress, unit="layer"):
        w = population.weights
        wcol = population.column if w is not None else None
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
    return tens, splits


def _deprivation(areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec], rec: Reconciliation,
                 options: DeprivationOptions | None, population: PopulationOptions,
                 label_col: str | None, out: Path,
                 limit: int) -> tuple[Deprivation | None, list[Path]]:
    """Deprivation and the allocation per neighbourhood; write their tables."""
    if options is None:
        return None, []
    imd, imd_layer, alloc = options.imd, options.layer, options.allocation
    lsoa = next((s.data for s in layers if s.name == imd_layer), None)
    if lsoa is None:
        raise NbhdGeoError(f"no layer named {imd_layer!r} for the deprivation section",
                           argument="imd_layer", fix=f"use one of {[s.name for s in layers]}")
    weights = population.weights
    dep = deprivation_tables(
        areas, lsoa, imd, weights=weights,
        weight_col=population.column, label_col=label_col,
        budget=alloc.budget if alloc is not None else None,
        floor_share=alloc.floor_share if alloc is not None else 0.2,
        gradient=alloc.gradient if alloc is not None else 1.0,
        crosswalk=rec.crosswalks.get(imd_layer))
    files = []
    for name, table in dep.tables.items():
        if name == "deprivation.csv":
            table = published_deprivation(table)
        files.append(_publish(table, out / name, ["population"], limit))
    return dep, files


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


def _named_tension(tens: pd.DataFrame, labels: pd.Series,
                   names: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Return the tension table as published: key first, unit names beside codes."""
    out = tens.copy()
    out.insert(0, "area_id", out.pop("area_id"))
    out.insert(1, "name", labels.reindex(out["area_id"]).astype(str).to_numpy())
    for col in ("main_unit", "pop_main_unit"):
        if col in out.columns:
            nm = [str(names[lay].get(u, u)) if lay in names and pd.notna(u) else ""
                  for lay, u in zip(out["layer"], out[col], strict=True)]
            out.insert(out.columns.get_loc(col) + 1, f"{col}_name", nm)
    return out


def _named_splits(splits: pd.DataFrame, names: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Return the unit splits as published: key (unit id, unit name, layer) first."""
    out = splits.copy()
    out.insert(0, "unit_id", out.pop("unit_id"))
    out.insert(1, "unit_name", [str(names[lay].get(u, u)) if lay in names else str(u)
                                for lay, u in zip(out["layer"], out["unit_id"], strict=True)])
    return out


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

