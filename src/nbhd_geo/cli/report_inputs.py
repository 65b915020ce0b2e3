"""Inputs of ``nbhd-geo report`` that need more than reading a file (the CLI's own handling).

Population from polygons, points or a CSV keyed by unit code; the study area
(``--clip-to``); which layer holds the IMD's LSOAs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import InputError, NbhdGeoError
from nbhd_geo.reconcile import LayerSpec

__all__ = ["clip_layers", "imd_layer_name", "population_inputs", "population_from_csv",
           "read_size_option", "unit_totals"]

log = logging.getLogger("nbhd_geo")
_CODE = re.compile(r"^[EWSNK]\d{8}$")


def imd_layer_name(layers: Sequence[LayerSpec], wanted: str | None) -> str:
    """Name of the layer holding LSOAs: ``wanted``, a layer called ``lsoa``, or E01 codes.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=27700,
    ...                      index=pd.Index(["E01000001"]))
    >>> imd_layer_name([LayerSpec("small", g)], None)
    'small'
    """
    names = [s.name for s in layers]
    if wanted is not None:
        if wanted not in names:
            raise InputError(f"no layer named {wanted!r}", argument="--imd-layer",
                             fix=f"use one of {names}")
        return wanted
    for s in layers:
        if s.name.lower() in ("lsoa", "lsoas", "lsoa21", "lsoa11"):
            return s.name
    for s in layers:
        idx = s.data.index.astype(str)
        if len(idx) and (idx.str.startswith(("E01", "W01"))).mean() > 0.9:
            return s.name
    raise InputError("no layer of LSOAs for the deprivation figures", argument="--imd",
                     fix="add --layer lsoa=PATH with the LSOAs of the IMD's vintage, or name "
                         "the layer with --imd-layer")


def unit_totals(units: gpd.GeoDataFrame, weights: gpd.GeoDataFrame, col: str) -> pd.Series:
    """Sum a population layer's counts per unit (points by location, polygons by centre).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> u = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=27700,
    ...                      index=pd.Index(["U1"]))
    >>> w = gpd.GeoDataFrame({"n": [3, 4]}, crs=27700,
    ...                      geometry=[shapely.Point(1, 1), shapely.Point(50, 50)])
    >>> unit_totals(u, w, "n").tolist()
    [3.0]
    """
    pts = np.asarray(weights.geometry.array, dtype=object)
    pts = np.where(shapely.get_type_id(pts) == 0, pts, shapely.point_on_surface(pts))
    tree = shapely.STRtree(np.asarray(units.geometry.array, dtype=object))
    wi, ui = tree.query(pts, predicate="within")
    order = np.lexsort((ui, wi))
    wi, ui = wi[order], ui[order]
    first = np.unique(wi, return_index=True)[1]  # a point on a shared edge counts once
    counts = pd.to_numeric(weights[col], errors="coerce").fillna(0).to_numpy(float)
    total = np.bincount(ui[first], weights=counts[wi[first]], minlength=len(units))
    return pd.Series(total, index=units.index)


def _count_column(col: str | None, columns: list[str], numeric: list[str], path: str,
                  choices: list[str]) -> str:
    """Pick the ``--population-col``: the one named, or the only numeric column there is.

    One rule for a CSV keyed by code and for a layer of points or polygons, so that the two
    kinds of ``--population`` file fail the same way when the counts cannot be told apart.
    """
    if col is None:
        if len(numeric) != 1:
            raise InputError("cannot tell which column holds the counts",
                             argument="--population-col", fix=f"choose from {numeric}")
        return numeric[0]
    if col not in columns:
        raise InputError(f"no column {col!r} in {Path(path).name}", argument="--population-col",
                         fix=f"choose from {choices}")
    return col


def population_from_csv(path: str, layers: Sequence[LayerSpec], col: str | None,
                        key: str | None) -> tuple[list[LayerSpec], str, str]:
    """Attach counts from a CSV keyed by unit code to the layer whose codes they match."""
    table = pd.read_csv(path, dtype=str)
    if key is None:
        codes = [c for c in table.columns
                 if table[c].astype(str).str.match(_CODE.pattern).mean() > 0.9]
        if not codes:
            raise InputError(f"no column of unit codes in {Path(path).name}",
                             argument="--population-key",
                             fix=f"name it, one of {list(table.columns)}")
        key = codes[0]
    if key not in table.columns:
        raise InputError(f"no column {key!r} in {Path(path).name}", argument="--population-key",
                         fix=f"choose from {list(table.columns)}")
    numeric = [c for c in table.columns if c != key
               and pd.to_numeric(table[c].str.replace(",", ""), errors="coerce").notna().all()]
    col = _count_column(col, list(table.columns), numeric, path, choices=numeric)
    counts = pd.to_numeric(table[col].str.replace(",", ""), errors="coerce")
    series = pd.Series(counts.to_numpy(float), index=table[key].astype(str)).groupby(level=0).sum()
    best, hits = None, 0
    for spec in layers:
        n = int(spec.data.index.astype(str).isin(series.index).sum())
        if n > hits:
            best, hits = spec, n
    if best is None:
        raise InputError(f"the codes in {Path(path).name} ({key}) match no layer's units",
                         argument="--population",
                         ids=list(series.index[:5]),
                         fix="give the layer those codes belong to with --layer")
    missing = int((~best.data.index.astype(str).isin(series.index)).sum())
    if missing:
        log.warning("--population: %d %s units have no count in %s (taken as 0)", missing,
                    best.name, Path(path).name)
    data = best.data.assign(
        population=series.reindex(best.data.index.astype(str)).fillna(0).to_numpy(float))
    out = [LayerSpec(s.name, data, "population") if s is best else s for s in layers]
    word = best.name.upper() if best.name.lower() in ("lsoa", "oa", "msoa", "pcn") else best.name
    note = (f"counts per {word} from {Path(path).name} (column {col}); people in {word}s only "
            f"partly inside a neighbourhood are shared by area")
    return out, best.name, note


def population_inputs(
    layers: list[LayerSpec], path: str | None, col: str | None, key: str | None,
    split: Callable[[str], tuple[str, str | None]],
    geom_kind: Callable[[str, str | None], Any],
) -> tuple[gpd.GeoDataFrame | None, str | None, list[LayerSpec], str]:
    """Read ``--population``: a CSV keyed by unit code, or polygons/points with counts.

    Returns ``(weights, weight_col, layers, note)``: ``weights`` is the point/polygon
    layer (``None`` for a CSV); layers gain a population column where one was derived.
    """
    if not path:
        return None, col, layers, ""
    from nbhd_geo.io.postgis import is_postgis_url
    from nbhd_geo.io.read import read_layer

    file, layer = split(path)
    if not is_postgis_url(file) and not Path(file).exists():
        raise InputError(f"file not found: {file}", argument="--population",
                         fix="check the path (use path.gpkg:layer)")
    if file.lower().endswith((".csv", ".csv.gz")):
        head = pd.read_csv(file, nrows=0).columns.str.lower()
        if not any(c in ("x", "y", "lon", "lat", "longitude", "latitude", "easting",
                         "northing", "geometry", "wkt") for c in head):
            layers, _, note = population_from_csv(file, layers, col, key)
            return None, None, layers, note
    weights, _ = read_layer(file, layer=layer, geom_type=geom_kind(file, layer))
    numeric = [c for c in weights.columns
               if c != "geometry" and str(weights[c].dtype).startswith(("int", "float"))]
    col = _count_column(col, list(weights.columns), numeric, file,
                        choices=[c for c in weights.columns if c != "geometry"])
    if not any(s.population for s in layers):
        first = layers[0]
        data = first.data.assign(population=unit_totals(first.data, weights, col).to_numpy())
        layers = [LayerSpec(first.name, data, "population"), *layers[1:]]
    kind = "points" if geom_kind(file, layer) == "point" else "polygons"
    note = f"{col} of the {kind} in {Path(file).name}, placed by where people live"
    return weights, col, layers, note


def clip_layers(layers: list[LayerSpec], clip_to: str,
                split: Callable[[str], tuple[str, str | None]]
                ) -> tuple[list[LayerSpec], Any]:
    """Keep the units with at least half their area inside the study area.

    ``clip_to`` is a unit code found in one of the layers (that layer then keeps only
    that unit) or a polygon file (the union of its polygons). Returns the clipped layers
    and a :class:`~nbhd_geo.report.facts.study_area.StudyArea` naming the study area and
    holding the units left out (so the report can say what lies beyond it).
    """
    from nbhd_geo.report.facts.page import unit_names
    from nbhd_geo.report.facts.study_area import StudyArea

    area = None
    name = clip_to
    for spec in layers:
        if clip_to in spec.data.index.astype(str):
            hit = spec.data.index.astype(str) == clip_to
            area = spec.data.geometry[hit].union_all()
            label = str(unit_names(spec.data[hit]).iloc[0])
            name = clip_to if label == clip_to else f"{label} ({clip_to})"
            break
    if area is None:
        from nbhd_geo.io.postgis import is_postgis_url

        file, layer = split(clip_to)
        if not is_postgis_url(file) and not Path(file).exists():
            names = [s.name for s in layers]
            raise InputError(f"{clip_to!r} is neither a unit code of the layers {names} nor "
                             "a file", argument="--clip-to",
                             fix="give a district code present in a layer (add --layer "
                                 "lad=PATH) or a polygon file")
        from nbhd_geo.io.read import read_layer

        poly, _ = read_layer(file, layer=layer)
        area = poly.union_all()
        name = f"the area in {Path(file).name}"
    out = []
    left_out: dict[str, gpd.GeoDataFrame] = {}
    for spec in layers:
        geoms = np.asarray(spec.data.geometry.array, dtype=object)
        idx = spec.data.sindex.query(area, predicate="intersects")
        keep = np.zeros(len(geoms), dtype=bool)
        if len(idx):
            part = shapely.area(shapely.intersection(geoms[idx], area))
            keep[idx] = part >= 0.5 * shapely.area(geoms[idx])
        dropped = int((~keep).sum())
        if dropped:
            log.info("--clip-to: %d %s units mostly outside the study area left out",
                     dropped, spec.name)
        if not keep.any():
            raise InputError(f"no {spec.name} unit lies inside the study area {clip_to!r}",
                             argument="--clip-to", fix="check the code or file")
        out.append(LayerSpec(spec.name, spec.data[keep], spec.population))
        left_out[spec.name] = spec.data[~keep]
    return out, StudyArea(name, left_out)


def read_size_option(text: str) -> tuple[float, float]:
    """Parse ``--propose-size MIN,MAX`` (people per footprint).

    Examples
    --------
    >>> read_size_option("30000,50000"), read_size_option("10k,20k")
    ((30000.0, 50000.0), (10000.0, 20000.0))
    """
    parts = [p.strip().lower() for p in str(text).split(",")]
    try:
        vals = [float(p[:-1]) * 1000 if p.endswith("k") else float(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) != 2 or not 0 < vals[0] <= vals[1]:
        raise NbhdGeoError(f"must be MIN,MAX people with 0 < MIN ≤ MAX, got {text!r}",
                           argument="--propose-size", fix="pass e.g. --propose-size 30000,50000")
    return vals[0], vals[1]
