"""Validate and repair polygon (or point) geometries, accounting for every feature.

:func:`validate_polygons` is vectorised with shapely 2: only the few invalid features and
GeometryCollections are handled one at a time, to write a precise reason for each. It
returns the cleaned geometries (missing where rejected) and one row per input feature
with its status (``kept``, ``repaired`` or ``rejected``), the reason, and the area before
and after in square metres of the (projected) CRS.

Rules, in order:

1. null or empty geometry: rejected, ``"empty geometry"``;
2. point or line geometry: rejected, ``"not a polygon: Point"``;
3. GeometryCollection: polygonal parts kept (repaired), else rejected;
4. invalid geometry: ``shapely.make_valid(method="structure")``, keep the polygonal part,
   repaired with a reason such as ``"self-intersection at (1.0, 1.0) repaired with
   make_valid: 1 polygon → 2-part multipolygon, area 0.0 → 2.0 m²"``; rejected when
   nothing with area is left (e.g. ``"degenerate: too few points at (0.0, 0.0)"``);
5. zero area: rejected;
6. area below ``min_area_m2`` (when given): rejected;
7. ring orientation normalised (exterior counter-clockwise, holes clockwise); a kept
   feature whose exterior ring was clockwise gets ``"clockwise exterior ring
   reoriented"`` (orientation does not change the shape, so the status stays ``kept``).

Examples
--------
>>> import shapely
>>> geoms = [shapely.box(0, 0, 2, 2, ccw=False),
...          shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), shapely.Point(0, 0), None]
>>> out, rows = validate_polygons(geoms)
>>> rows["status"].tolist()
['kept', 'repaired', 'rejected', 'rejected']
>>> rows["reason"].tolist()[0]
'clockwise exterior ring reoriented'
>>> rows["reason"].tolist()[2:]
['not a polygon: Point', 'empty geometry']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

__all__ = [
    "validate_polygons",
    "validate_points",
    "describe_invalid",
    "STATUSES",
]

STATUSES = ("kept", "repaired", "rejected")

_TYPE_NAMES = np.array(
    ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
     "MultiPolygon", "GeometryCollection"],
    dtype=object,
)
_POLYGON, _MULTIPOLYGON, _COLLECTION = 3, 6, 7
_REASON_AT = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>\S+) (?P<y>\S+)\]")


def _as_array(geometry: Any) -> np.ndarray:
    arr = np.empty(len(geometry), dtype=object)
    arr[:] = list(geometry) if not isinstance(geometry, np.ndarray) else geometry
    return arr


def describe_invalid(geom: shapely.Geometry) -> tuple[str, tuple[float, float] | None]:
    """Say why ``geom`` is invalid, in lower case, and where.

    Examples
    --------
    >>> import shapely
    >>> describe_invalid(shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]))
    ('self-intersection', (1.0, 1.0))
    """
    reason = shapely.is_valid_reason(geom)
    match = _REASON_AT.match(reason or "")
    if not match:
        return (reason or "invalid geometry").lower(), None
    what = match["what"].strip()
    what = what.lower()
    return what, (float(match["x"]), float(match["y"]))


def _describe(geom: shapely.Geometry) -> str:
    type_id = shapely.get_type_id(geom)
    if type_id == _POLYGON:
        holes = shapely.get_num_interior_rings(geom)
        return "1 polygon" + (f" with {holes} hole{'s' if holes > 1 else ''}" if holes else "")
    if type_id == _MULTIPOLYGON:
        return f"{shapely.get_num_geometries(geom)}-part multipolygon"
    return str(_TYPE_NAMES[type_id]) if type_id >= 0 else "nothing"


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Polygonal part of each geometry (empty polygon when there is none)."""
    out = geoms.copy()
    type_ids = shapely.get_type_id(geoms)
    empty = shapely.from_wkt("POLYGON EMPTY")
    out[~np.isin(type_ids, (_POLYGON, _MULTIPOLYGON, _COLLECTION))] = empty
    for i in np.flatnonzero(type_ids == _COLLECTION):
        parts = shapely.get_parts(geoms[i])
        polys = [p for p in parts if shapely.get_type_id(p) in (_POLYGON, _MULTIPOLYGON)]
        polys = [q for p in polys for q in shapely.get_parts(p)]
        # Parts of a collection may share edges: a union, not a MultiPolygon of them.
        out[i] = shapely.union_all(polys) if len(polys) > 1 else (polys[0] if polys else empty)
    return out


def _fmt_xy(xy: tuple[float, float] | None) -> str:
    return "" if xy is None else f" at ({xy[0]:.1f}, {xy[1]:.1f})"


def _reject_non_polygons(empty: np.ndarray, type_ids: np.ndarray, status: np.ndarray,
                         reason: np.ndarray) -> None:
    """Reject empty geometries and points or lines (rules 1 and 2)."""
    status[empty] = "rejected"
    reason[empty] = "empty geometry"
    other = ~empty & ~np.isin(type_ids, (_POLYGON, _MULTIPOLYGON, _COLLECTION))
    status[other] = "rejected"
    reason[other] = "not a polygon: " + _TYPE_NAMES[type_ids[other]]


def _keep_collection_parts(geoms: np.ndarray, empty: np.ndarray, type_ids: np.ndarray,
                           out: np.ndarray, status: np.ndarray, reason: np.ndarray) -> None:
    """Keep the polygonal parts of GeometryCollections, naming the parts dropped (rule 3)."""
    for i in np.flatnonzero(~empty & (type_ids == _COLLECTION)):
        parts = shapely.get_parts(geoms[i])
        part_types = shapely.get_type_id(parts)
        polygonal = np.isin(part_types, (_POLYGON, _MULTIPOLYGON))
        dropped = sorted(set(_TYPE_NAMES[part_types[~polygonal]]))
        if not polygonal.any():
            status[i] = "rejected"
            reason[i] = f"not a polygon: GeometryCollection of {', '.join(dropped)}"
            continue
        out[i] = _polygonal_part(np.array([geoms[i]], dtype=object))[0]
        status[i] = "repaired"
        reason[i] = (
            f"GeometryCollection: kept {int(polygonal.sum())} polygonal part"
            f"{'s' if polygonal.sum() > 1 else ''}, dropped {int((~polygonal).sum())} other"
            f" part{'s' if (~polygonal).sum() > 1 else ''} ({', '.join(dropped)})"
        )


def _make_valid_polygons(before: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repair with ``make_valid``, keep the polygonal part, and return it with its area."""
    try:
        fixed = shapely.make_valid(before, method="structure", keep_collapsed=False)
    except (TypeError, ValueError):  # shapely < 2.1 / GEOS < 3.10
        fixed = shapely.make_valid(before)
    fixed = _polygonal_part(np.asarray(fixed, dtype=object))
    # make_valid can return a MultiPolygon whose parts share an edge (invalid):
    # dissolve the parts, or else fall back to the default (linework) method.
    for k in np.flatnonzero(~shapely.is_valid(fixed)):
        dissolved = shapely.union_all(shapely.get_parts(fixed[k]))
        if not shapely.is_valid(dissolved):
            dissolved = _polygonal_part(np.array([shapely.make_valid(before[k])],
                                                 dtype=object))[0]
        fixed[k] = dissolved
    return fixed, shapely.area(fixed)


def _repair_invalid(out: np.ndarray, status: np.ndarray, reason: np.ndarray,
                    area_in: np.ndarray, *, repair: bool) -> None:
    """Repair (with ``repair=False``, reject) invalid polygons, saying why and where (rule 4)."""
    live = status != "rejected"
    invalid = np.zeros(len(out), dtype=bool)
    invalid[live] = ~shapely.is_valid(out[live])
    idx = np.flatnonzero(invalid)
    if not len(idx):
        return
    before = out[idx]
    if repair:
        fixed, fixed_area = _make_valid_polygons(before)
    for j, i in enumerate(idx):
        what, xy = describe_invalid(before[j])
        where = _fmt_xy(xy)
        prefix = f"{reason[i]}; " if reason[i] else ""
        if what.startswith("too few points"):
            status[i], reason[i] = "rejected", f"{prefix}degenerate: too few points{where}"
        elif not repair:
            status[i], reason[i] = "rejected", f"{prefix}invalid: {what}{where} (repair=False)"
        elif shapely.is_empty(fixed[j]) or not fixed_area[j] > 0:
            status[i] = "rejected"
            reason[i] = f"{prefix}{what}{where}: nothing with area left after make_valid"
        elif not shapely.is_valid(fixed[j]):
            status[i] = "rejected"
            reason[i] = f"{prefix}{what}{where}: make_valid did not give a valid polygon"
        else:
            out[i] = fixed[j]
            status[i] = "repaired"
            area_before = area_in[i] if prefix == "" else shapely.area(before[j])
            reason[i] = (
                f"{prefix}{what}{where} repaired with make_valid: "
                f"{_describe(before[j])} → {_describe(fixed[j])}, "
                f"area {area_before:.1f} → {fixed_area[j]:.1f} m²"
            )


def _reject_small(out: np.ndarray, status: np.ndarray, reason: np.ndarray,
                  min_area_m2: float | None) -> np.ndarray:
    """Reject zero-area and too-small polygons (rules 5 and 6); return the areas out."""
    live = status != "rejected"
    area_out = np.full(len(out), np.nan)
    area_out[live] = shapely.area(out[live])
    degenerate = live & ~(area_out > 0)
    status[degenerate] = "rejected"
    reason[degenerate] = "zero area (degenerate polygon)"
    if min_area_m2 is not None:
        small = (status != "rejected") & (area_out < min_area_m2)
        for i in np.flatnonzero(small):
            status[i] = "rejected"
            reason[i] = f"area {area_out[i]:.1f} m² below min_area_m2={min_area_m2:g}"
    return area_out


def _orient(out: np.ndarray, status: np.ndarray, reason: np.ndarray) -> None:
    """Orient the polygons kept, noting a ring turned on a feature otherwise kept (rule 7)."""
    idx = np.flatnonzero(status != "rejected")
    if not len(idx):
        return
    current = out[idx]
    oriented = shapely.orient_polygons(current, exterior_cw=False)
    parts, owner = shapely.get_parts(current, return_index=True)
    clockwise = ~shapely.is_ccw(shapely.get_exterior_ring(parts))
    cw_owner = np.bincount(owner, weights=clockwise, minlength=len(idx)) > 0
    changed = ~shapely.equals_identical(current, oriented)
    note_cw = cw_owner & (status[idx] == "kept")
    note_holes = changed & ~cw_owner & (status[idx] == "kept")
    for mask, text in ((note_cw, "clockwise exterior ring reoriented"),
                       (note_holes, "counter-clockwise hole ring reoriented")):
        rows = idx[mask]
        reason[rows] = np.where(reason[rows] == "", text, reason[rows] + "; " + text)
    out[idx] = oriented


def validate_polygons(
    geometry: Sequence[Any] | np.ndarray | Any,
    *,
    repair: bool = True,
    min_area_m2: float | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Validate, repair and orient polygons; account for every input geometry.

    Parameters
    ----------
    geometry
        Geometries (a GeoSeries, a GeometryArray, an array or a list; ``None`` allowed),
        in a projected CRS whose unit is the metre.
    repair
        Repair invalid polygons with ``shapely.make_valid``. When False they are rejected.
    min_area_m2
        Reject polygons whose (repaired) area is below this, if given.

    Returns
    -------
    tuple[numpy.ndarray, pandas.DataFrame]
        An object array of cleaned geometries (``None`` where rejected), and a frame in
        input order with columns ``status``, ``reason`` (``""`` when there is nothing to
        say), ``area_in_m2`` and ``area_out_m2`` (NaN where there is no geometry).

    Examples
    --------
    >>> import shapely
    >>> out, rows = validate_polygons([shapely.box(0, 0, 10, 10), shapely.box(0, 0, 1, 1)],
    ...                               min_area_m2=5)
    >>> rows[["status", "reason", "area_out_m2"]].values.tolist()
    [['kept', '', 100.0], ['rejected', 'area 1.0 m² below min_area_m2=5', nan]]
    """
    geoms = _as_array(geometry)
    n = len(geoms)
    status = np.full(n, "kept", dtype=object)
    reason = np.full(n, "", dtype=object)
    out = geoms.copy()

    missing = shapely.is_missing(geoms)
    area_in = np.full(n, np.nan)
    area_in[~missing] = shapely.area(geoms[~missing])
    empty = missing | shapely.is_empty(geoms)
    type_ids = shapely.get_type_id(geoms)
    _reject_non_polygons(empty, type_ids, status, reason)
    _keep_collection_parts(geoms, empty, type_ids, out, status, reason)
    _repair_invalid(out, status, reason, area_in, repair=repair)
    area_out = _reject_small(out, status, reason, min_area_m2)

    live = status != "rejected"
    area_out[~live] = np.nan
    out[~live] = None
    _orient(out, status, reason)

    rows = pd.DataFrame(
        {"status": status, "reason": reason, "area_in_m2": area_in, "area_out_m2": area_out}
    )
    return out, rows


def validate_points(geometry: Sequence[Any] | np.ndarray | Any) -> tuple[np.ndarray, pd.DataFrame]:
    """Validate point geometries: null, empty and non-point features are rejected.

    Returns
    -------
    tuple[numpy.ndarray, pandas.DataFrame]
        As :func:`validate_polygons` (areas are 0 for points, NaN where rejected).

    Examples
    --------
    >>> import shapely
    >>> out, rows = validate_points([shapely.Point(1, 2), shapely.box(0, 0, 1, 1), None])
    >>> rows["reason"].tolist()
    ['', 'not a point: Polygon', 'empty geometry']
    """
    geoms = _as_array(geometry)
    n = len(geoms)
    out = geoms.copy()
    status = np.full(n, "kept", dtype=object)
    reason = np.full(n, "", dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_ids = shapely.get_type_id(geoms)
    other = ~empty & (type_ids != 0)
    status[empty | other] = "rejected"
    reason[empty] = "empty geometry"
    reason[other] = "not a point: " + _TYPE_NAMES[type_ids[other]]
    area = np.where(status == "rejected", np.nan, 0.0)
    out[status == "rejected"] = None
    rows = pd.DataFrame({"status": status, "reason": reason, "area_in_m2": area,
                         "area_out_m2": area})
    return out, rows
