"""The main job: read drawings and statutory layers, reconcile, write what planners read.

This module strings the library together; it computes nothing of its own. The CLI's
``demo`` and ``report`` commands call it, and analysts can too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.std import tqdm

from nbhd_geo.io.layers import LayerSpec
from nbhd_geo.io.postgis import is_postgis_url, parse_source
from nbhd_geo.io.read import ReadReport, read_drawings
from nbhd_geo.overlay import exact
from nbhd_geo.overlay.apportion import Apportionment, apportion
from nbhd_geo.overlay.bestfit import BestFit, best_fit
from nbhd_geo.overlay.crosswalk import Crosswalk, crosswalk

__all__ = ["LayerSpec", "Reconciliation", "read_drawings_many", "reconcile", "neighbourhood_areas"]

log = logging.getLogger("nbhd_geo")


Source = str | Path | tuple[str | Path, str | None] | Mapping[str, Any]


def _source(item: Source) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, tuple):
        return {"path": item[0], "layer": item[1]}
    return {"path": item}


def read_drawings_many(
    sources: Sequence[Source],
    *,
    name_col: str | None = None,
    on_report: Callable[[ReadReport], None] | None = None,
    **kwargs: Any,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read drawings from several files into one layer, accounting for every feature.

    Parameters
    ----------
    sources
        Paths, ``(path, layer)`` pairs, or mappings of :func:`nbhd_geo.read_drawings`
        arguments with a ``"path"`` key (e.g. ``{"path": "x.kml", "name_col": "Name"}``)
        for per-file options.
    name_col
        Neighbourhood name column, for files that do not set their own. It is renamed
        ``neighbourhood`` in the combined layer.
    on_report
        Called with each file's :class:`~nbhd_geo.io.read.ReadReport` as it is read
        (the combined report keeps only the rows; the command line lists each file's
        left-out columns from these).
    **kwargs
        Passed to :func:`nbhd_geo.read_drawings` for every file.

    Returns
    -------
    (drawings, report)
        Drawings indexed by a unique id (ids that repeat across files get the file's
        stem as a prefix, ``online:12``) with ``source`` and ``neighbourhood`` columns,
        and the combined per-feature report (every file's
        :meth:`nbhd_geo.io.read.ReadReport.to_frame` rows).
    """
    frames, reports, stems = [], [], []
    for item in sources:
        opts = {"name_col": name_col, **kwargs, **_source(item)}
        raw = opts.pop("path")
        if is_postgis_url(raw):  # a database table: named by host, database and table
            pg = parse_source(raw, layer=opts.get("layer"))
            data, report = read_drawings(raw, **opts)
            name, stem = pg.label, pg.stem
        else:
            path = Path(raw)
            data, report = read_drawings(path, **opts)
            name, stem = path.name, path.name.split(".")[0].removeprefix("drawings_")
        col = opts.get("name_col")
        if col and col != "neighbourhood":
            data = data.rename(columns={col: "neighbourhood"})
        if on_report is not None:
            on_report(report)
        frames.append(data.assign(source=name))
        reports.append(report)
        stems.append(stem)
    ids = pd.concat([pd.Series(f.index.astype(str)) for f in frames], ignore_index=True)
    clash = set(ids[ids.duplicated()])
    renamed = [
        frame.set_axis(
            pd.Index([f"{stem}:{i}" if str(i) in clash else str(i) for i in frame.index],
                     name="drawing_id")
        )
        for frame, stem in zip(frames, stems, strict=True)
    ]
    drawings = gpd.GeoDataFrame(pd.concat(renamed), geometry="geometry", crs=renamed[0].crs)
    combined = pd.concat([r.to_frame() for r in reports], ignore_index=True)
    return drawings, combined


@dataclass
class Reconciliation:
    """Everything :func:`reconcile` computed, ready to write.

    Attributes
    ----------
    drawings
        The areas reconciled (indexed by id).
    crosswalks
        Layer name -> :class:`~nbhd_geo.overlay.crosswalk.Crosswalk`.
    apportionments
        Layer name -> :class:`~nbhd_geo.overlay.apportion.Apportionment` built on that
        crosswalk (with the layer's population where it has one).
    best_fits
        Layer name -> :class:`~nbhd_geo.overlay.bestfit.BestFit` (method ``max_iou``).
    checks
        Conservation checks per layer: Σ overlap vs Σ drawing area, and the population
        check where a population was given.
    """

    drawings: gpd.GeoDataFrame
    crosswalks: dict[str, Crosswalk] = field(default_factory=dict)
    apportionments: dict[str, Apportionment] = field(default_factory=dict)
    best_fits: dict[str, BestFit] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def best_fit_table(self) -> pd.DataFrame:
        """All layers' fit quality in one table (``layer`` column first)."""
        frames = [
            bf.to_frame().reset_index().assign(layer=name) for name, bf in self.best_fits.items()
        ]
        out = pd.concat(frames, ignore_index=True)
        return out[["layer"] + [c for c in out.columns if c != "layer"]]

    def write(self, out: Path) -> list[Path]:
        """Write crosswalk_<layer>.csv, best_fit.csv, checks.json and layers.gpkg.

        ``layers.gpkg`` holds the reconciled areas (layer ``areas``) and the best-fit
        union per area for each statutory layer (``best_fit_<layer>``).
        """
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, cw in self.crosswalks.items():
            path = out / f"crosswalk_{name}.csv"
            cw.to_frame().to_csv(path, index=False)
            written.append(path)
        path = out / "best_fit.csv"
        self.best_fit_table().to_csv(path, index=False)
        written.append(path)
        path = out / "checks.json"
        path.write_text(json.dumps(self.checks, indent=2, default=float))
        written.append(path)
        gpkg = out / "layers.gpkg"
        gpkg.unlink(missing_ok=True)
        self.drawings.reset_index().to_file(gpkg, layer="areas", driver="GPKG")
        for name, bf in self.best_fits.items():
            geo = bf.geometries().reset_index()
            geo.to_file(gpkg, layer=f"best_fit_{name}", driver="GPKG")
        written.append(gpkg)
        return written


def reconcile(
    drawings: gpd.GeoDataFrame,
    layers: Sequence[LayerSpec],
    *,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    sliver_tol_m2: float | None = None,
    progress: bool = True,
) -> Reconciliation:
    """Crosswalk and best-fit the drawings against every layer, with conservation checks.

    Parameters
    ----------
    drawings
        Drawn areas indexed by unique id (as returned by :func:`nbhd_geo.read_drawings`).
    layers
        The statutory layers.
    weights, weight_col
        Optional finer population (OA polygons or address points with counts) for
        population-weighted shares and centroids.
    sliver_tol_m2
        Sliver flag tolerance (default ``settings.sliver_tol_m2``).
    progress
        Show a progress bar.
    """
    exact.load_in_background()  # overlaps whatever precedes the first crosswalk
    result = Reconciliation(drawings=drawings)
    for spec in tqdm(layers, desc="reconciling", disable=not progress, unit="layer"):
        cw = crosswalk(drawings, spec.data, sliver_tol_m2=sliver_tol_m2)
        result.crosswalks[spec.name] = cw
        ap = apportion(
            drawings, spec.data, unit_population=spec.population,
            weights=weights if spec.population else None,
            weight_col=weight_col if spec.population else None, crosswalk=cw,
        )
        result.apportionments[spec.name] = ap
        bf = best_fit(
            drawings, spec.data, method="max_iou", unit_population=spec.population,
            weights=weights if spec.population else None,
            weight_col=weight_col if spec.population else None, crosswalk=ap,
        )
        result.best_fits[spec.name] = bf
        cov = cw.coverage("source")
        check: dict[str, Any] = {
            "drawing_area_m2": float(cov["area_m2"].sum()),
            "overlap_area_m2": float(cov["overlap_m2"].sum()),
            "uncovered_area_m2": float(cov["uncovered_m2"].sum()),
            "max_share_covered": float(cov["share_covered"].max()),
            "pairs": len(cw.table),
            "slivers": int(cw.table["is_sliver"].sum()),
        }
        if spec.population:
            q = bf.quality
            check["population_inside_drawings"] = float(q["population"].sum())
        result.checks[spec.name] = check
        log.info("%s: %d pairs, %d slivers", spec.name, check["pairs"], check["slivers"])
    return result


def neighbourhood_areas(
    drawings: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    threshold: float = 0.5,
    thresholds: Sequence[float] = (0.25, 0.5, 0.75),
    consensus: bool | None = None,
) -> tuple[gpd.GeoDataFrame, str | None, list[str], Any]:
    """Choose the areas a report speaks about: one area per neighbourhood name.

    A name drawn once is used exactly as drawn. A name drawn two or more times is
    represented by the core drawn by at least ``threshold`` of its drawers
    (:func:`nbhd_geo.voices.consensus.consensus`). Without a ``by`` column each drawing
    stands for itself.

    Parameters
    ----------
    drawings
        Drawings indexed by id.
    by
        Name column (a label).
    threshold, thresholds
        Consensus core level used, and the levels computed.
    consensus
        ``None`` (default): consensus only for names with two or more drawings;
        ``True``: for every name (a single drawing then is its own core); ``False``:
        never (several drawings of one name are merged by union).

    Returns
    -------
    (areas, label_col, intro, consensus)
        The areas indexed by name, the column naming them, sentences saying what they
        are, and the :class:`~nbhd_geo.voices.consensus.Consensus` of the names drawn
        more than once (``None`` if there are none).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> d = gpd.GeoDataFrame({"neighbourhood": ["A"]}, geometry=[shapely.box(0, 0, 9, 9)],
    ...                      crs=27700)
    >>> areas, col, intro, cons = neighbourhood_areas(d)
    >>> areas.geometry.iloc[0].equals(shapely.box(0, 0, 9, 9)), cons is None
    (True, True)
    """
    if by not in drawings.columns or drawings[by].isna().all():
        return drawings, None, ["Each drawing is reported on its own (no name column)."], None
    has_name = drawings[by].notna() & (drawings[by].astype(str).str.strip() != "")
    named = drawings[has_name]
    names = named[by].astype(str)
    counts = names.value_counts()
    multi = set(counts.index[counts >= 2]) if consensus is not False else set()
    if consensus:
        multi = set(counts.index)
    single = named[~names.isin(multi)]
    pieces = []
    if len(single):
        as_drawn = single.assign(_n=single[by].astype(str)).dissolve(by="_n")
        as_drawn = gpd.GeoDataFrame({"label": as_drawn.index.astype(str)},
                                    geometry=as_drawn.geometry.to_numpy(), crs=drawings.crs,
                                    index=pd.Index(as_drawn.index.astype(str),
                                                   name="neighbourhood"))
        pieces.append(as_drawn)
    cons = None
    intro = []
    unnamed = int((~has_name).sum())
    if unnamed:
        intro.append(f"{unnamed} drawing{'s' if unnamed != 1 else ''} without a neighbourhood "
                     "name left out.")
    n_single = int((counts == 1).sum()) if consensus is not True else 0
    if n_single and consensus is not True:
        intro.append(f"{n_single} neighbourhood{'s are' if n_single != 1 else ' is'} drawn "
                     "by one person only; the report uses each such drawing as it is.")
    if multi:
        from nbhd_geo.voices.consensus import consensus as _consensus

        levels = tuple(sorted({*thresholds, threshold}))
        cons = _consensus(named[names.isin(multi)], by=by, thresholds=levels)
        cores = cons.cores
        cores = cores[(cores["threshold"] == threshold) & ~cores.geometry.is_empty]
        cores = cores.set_index("name")
        cores.index = cores.index.astype(str)
        cores.index.name = "neighbourhood"
        cores = gpd.GeoDataFrame({"label": cores.index}, geometry=cores.geometry.to_numpy(),
                                 crs=drawings.crs, index=cores.index)
        pieces.append(cores)
        intro.append(
            f"{len(multi)} neighbourhood{'s are' if len(multi) != 1 else ' is'} drawn by "
            f"several people: each is the area drawn by at least {threshold:.0%} of them "
            "(its consensus core).")
        missing = sorted(multi - set(cores.index))
        if missing:
            intro.append(f"No {threshold:.0%} core (too little agreement): "
                         f"{', '.join(missing)}.")
    areas = gpd.GeoDataFrame(pd.concat(pieces), geometry="geometry", crs=drawings.crs)
    areas = areas.iloc[np.argsort(areas.index.to_numpy(str), kind="stable")]
    return areas, "label", intro, cons
