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
from nbhd_geo.io.disclosure import suppress_with_total
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
from nbhd_geo.report.options import (
    DeprivationOptions,
    LabelOptions,
    PageOptions,
    PopulationOptions,
)

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
    labels: LabelOptions | None = None,
    read_report: pd.DataFrame | None = None,
    drawings: gpd.GeoDataFrame | None = None,
    consensus: Any = None,
    population: PopulationOptions | None = None,
    deprivation: DeprivationOptions | None = None,
    page: PageOptions | None = None,
    propose: tuple[float, float] | None = None,
    study_area: Any = None,
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
    labels
        How neighbourhoods and units are named (:class:`~nbhd_geo.report.options.LabelOptions`;
        default: the areas' ids, units by a ``*NM``/``*_name`` column).
    read_report
        Per-feature read report(s) of the inputs, written as ``read_report.csv``.
    drawings
        The repaired drawings the areas came from (when the areas are consensus
        cores), written to ``layers.gpkg`` layer ``drawings``.
    consensus
        The :class:`~nbhd_geo.voices.consensus.Consensus` of ``drawings``: adds the "many
        voices" section (agreement maps, disputed ground, outlier list),
        ``consensus_summary.csv``, ``outliers.csv`` and layer ``consensus_zones``.
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
        A :class:`~nbhd_geo.report.study_area.StudyArea` (what ``--clip-to`` kept): the
        page names it and reports the parts of neighbourhoods beyond it
        (``outside_study_area.csv``).
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
    lab = labels or LabelOptions()
    pop_opts = population or PopulationOptions()
    dep_opts = deprivation
    opts = page or PageOptions()
    label_col, unit_labels = lab.areas, dict(lab.units)
    weights, weight_col, population_note = pop_opts.weights, pop_opts.column, pop_opts.note
    imd: Any = dep_opts.imd if dep_opts is not None else None
    imd_layer = dep_opts.layer if dep_opts is not None else "lsoa"
    alloc = dep_opts.allocation if dep_opts is not None else None
    budget = alloc.budget if alloc is not None else None
    floor_share = alloc.floor_share if alloc is not None else 0.2
    gradient = alloc.gradient if alloc is not None else 1.0
    title, intro, extra_sections = opts.title, opts.intro, opts.extra_sections
    primary, threshold, sample_data = opts.primary, opts.threshold, opts.sample_data
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
        from nbhd_geo.report.assemble import unit_names

        names = {s.name: unit_names(s.data, (unit_labels or {}).get(s.name)) for s in layers}
        files = _write_reconciliation(rec, out, limit, names, _label(areas, label_col))

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
        area_labels = _label(areas, label_col)
        files.append(_publish(_named_tension(tens, area_labels, names), out / "tension.csv",
                              pop_cols, limit))
        split_pop = [c for c in splits.columns if "population" in c]
        files.append(_publish(_named_splits(splits, names), out / "unit_splits.csv", split_pop,
                              limit))
        # best_fit.csv was written by reconcile with exact counts: publish it suppressed.
        bf = rec.best_fit_table()
        if {"area_id", "layer"} <= set(bf.columns):
            bf.insert(0, "area_id", bf.pop("area_id"))
            bf.insert(1, "name", area_labels.reindex(bf["area_id"]).astype(str).to_numpy())
        files.append(_publish(bf, out / "best_fit.csv", _POP_COLS, limit))
        if read_report is not None:
            path = out / "read_report.csv"
            write_csv(read_report, path)
            files.append(path)
        _write_split_units(out / "layers.gpkg", layers, _named_splits(splits, names), limit)
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
                if name == "deprivation.csv":
                    table = published_deprivation(table)
                files.append(_publish(table, out / name, ["population"], limit))
        sheet = _planner_page(areas, layers, rec, tens, splits, label_col, limit, title, intro,
                             imd, imd_layer, dep, budget, read_report, weights, weight_col,
                             dict(unit_labels or {}), population_note, sample_data, page_extra)
        if study_area is not None:
            files += _study_area(sheet, study_area, areas, layers, unit_labels or {}, out,
                                 limit)
        # --- extra sections: who was heard, councillors' view, proposed footprints
        from nbhd_geo.report.voices_sections import add_voices_sections

        files += add_voices_sections(sheet, out, areas=areas, drawings=drawings, layers=layers,
                                     primary=primary, imd=imd, imd_layer=imd_layer,
                                     weights=weights, weight_col=weight_col,
                                     crosswalks=rec.crosswalks)
        if propose is not None:
            from nbhd_geo.report.plan_section import add_plan_section

            files += add_plan_section(sheet, out, areas=areas, layers=layers, imd_layer=imd_layer,
                                      size=propose)
        # --- end extra sections
        # Styled for QGIS inside the staged folder, so the lock and the atomic swap cover it
        # and a library caller gets the same GeoPackage and project as the CLI.
        from nbhd_geo.report.qgis import qgis_ready

        files += qgis_ready(out, layers, imd=imd, title=title)
        files += [out / "index.html", out / "board_facts.csv"]
        sheet.files = sorted({p.name for p in files})
        from nbhd_geo.report.assemble import write_page

        write_page(sheet, out / "index.html", pop_check=page_pop_check(sheet, rec, layers))
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
        page.need_label = dep.need_label
    page.methods = [
        "Areas are exact (measured on the British National Grid, EPSG:27700); a "
        "neighbourhood's share in a unit is the share of its area inside that unit. Pieces "
        "under 1 % of a neighbourhood are too small to list.",
        "Split: the share of a neighbourhood outside its main unit (0 % when it lies inside "
        "one unit). Area match: for the set of whole units that best matches the "
        "neighbourhood, the area both cover as a share of the area either covers. Edges "
        "within 50 m: how much of the drawn edge lies within 50 m of the edge of that set "
        "of units, and the other way round.",
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
    from nbhd_geo.report.board import _people_sum_text

    (t_in, t_out), t_all = _people_sum_text([inside, outside], page.threshold)
    return {"text": (
        f"{t_in} people inside the area the neighbourhoods cover + {t_out} outside = "
        f"{t_all} in the {display_name(spec.name)}s of the study area (each "
        f"{display_name(spec.name)}'s people counted once)")}


def _study_area(page: Any, study: Any, areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec],
                unit_labels: Mapping[str, str], out: Path, limit: int) -> list[Path]:
    """Name the study area; add the parts of neighbourhoods beyond it to the page."""
    from nbhd_geo.report.assemble import unit_names
    from nbhd_geo.report.board import area_text, people_text, plural
    from nbhd_geo.report.study_area import outside_pieces

    frames = []
    for lv in page.layers:
        units = study.outside.get(lv.name)
        if units is None or not len(units) or len(lv.units) <= 1:
            continue
        spec = next(s for s in layers if s.name == lv.name)
        op = outside_pieces(areas, units, unit_names(units, unit_labels.get(lv.name)),
                            spec.population)
        if not len(op):
            continue
        tagged = op["unit_name"].astype(str) + " (outside the study area)"
        lv.pieces = pd.concat([lv.pieces, op[["area_id", "unit_id", "share"]]],
                              ignore_index=True)
        lv.names = pd.concat([lv.names, pd.Series(tagged.to_numpy(), index=op["unit_id"])])
        lv.names = lv.names[~lv.names.index.duplicated()]
        frames.append(op.assign(layer=lv.name))
    text = f"Study area: {study.name}. Statutory units mostly outside it are left out."
    files: list[Path] = []
    if frames:
        allp = pd.concat(frames, ignore_index=True)
        labels = page.labels
        allp.insert(1, "name", labels.reindex(allp["area_id"]).astype(str).to_numpy())
        allp = allp[["area_id", "name", "layer", "unit_id", "unit_name", "area_m2", "share",
                     "people"]].rename(columns={"area_m2": "area_outside_m2",
                                                "share": "share_of_neighbourhood",
                                                "people": "people_outside_by_area"})
        path = out / "outside_study_area.csv"
        # The page quotes the people outside summed over a layer: with one small cell in
        # that layer, the total minus the others would give it back.
        pub = publish_frame(allp, counts=["people_outside_by_area"], threshold=limit)
        pub["people_outside_by_area"] = suppress_with_total(
            allp, "people_outside_by_area", by="layer", threshold=limit,
        )["people_outside_by_area"].to_numpy()
        files.append(write_csv(pub, path))
        allp = allp.rename(columns={"area_outside_m2": "area_m2",
                                    "people_outside_by_area": "people"})
        main = next((lv for lv in page.layers if lv.name in set(allp["layer"])
                     and not lv.name.lower().startswith(("lsoa", "oa", "msoa"))),
                    page.layers[0])
        m = allp[allp["layer"] == main.name]
        if len(m):
            n = m["area_id"].nunique()
            known = allp.dropna(subset=["people"])
            people = (known.loc[known["layer"] == known["layer"].iloc[0], "people"].sum()
                      if len(known) else float("nan"))
            who = (f" and about {people_text(float(people), limit)} people"
                   if pd.notna(people) else "")
            text += (f" {plural(n, 'neighbourhood')} reach beyond it: "
                     f"{area_text(float(m['area_m2'].sum()))}{who} lie outside, in the "
                     f"{main.word}s " + ", ".join(sorted(set(m["unit_name"].astype(str))))
                     + " (listed in outside_study_area.csv).")
    page.study_area = text
    return files


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


def published_deprivation(wide: pd.DataFrame) -> pd.DataFrame:
    """``deprivation.csv``: the key and the decile first; each rank says its direction.

    MHCLG's average rank is higher for more deprived places (``*_avg_rank_high_is_deprived``);
    a neighbourhood's rank among the neighbourhoods is 1 for the most deprived
    (``*_rank_1_most_deprived``).

    Examples
    --------
    >>> w = pd.DataFrame({"area_id": ["A"], "name": ["A"], "imd_average_rank": [3.0],
    ...                   "imd_average_rank_rank": [1.0], "imd_decile": [1]})
    >>> list(published_deprivation(w).columns)  # doctest: +NORMALIZE_WHITESPACE
    ['area_id', 'name', 'imd_decile', 'imd_avg_rank_high_is_deprived',
     'imd_avg_rank_high_is_deprived_rank_1_most_deprived']
    """
    cols = list(wide.columns)
    ren: dict[str, str] = {}
    for c in cols:
        base = c[: -len("_rank")] if c.endswith("_rank") and c[: -len("_rank")] in cols else None
        new = base if base is not None else c
        new = new.replace("_average_rank", "_avg_rank_high_is_deprived")
        ren[c] = f"{new}_rank_1_most_deprived" if base is not None else new
    out = wide.rename(columns=ren)
    first = [c for c in ("area_id", "name", "imd_decile") if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]


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

