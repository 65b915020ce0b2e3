"""Population-weighted apportioning of statutory units to drawn areas.

How many of a unit's people live inside a drawn area? By area alone, a unit 5 %
covered gives 5 % of its people. With a finer population layer (Output Area counts,
or address/postcode points with counts) the share follows where people live. The
unit's own population is always the total that is shared out, so every unit is
conserved exactly, and :meth:`Apportionment.conservation` shows it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import ColumnError, CRSError, InputError, NbhdGeoError
from nbhd_geo.io.layers import prepare_polygons, working_crs
from nbhd_geo.overlay.crosswalk import Crosswalk, pair_areas
from nbhd_geo.overlay.crosswalk import crosswalk as _crosswalk

__all__ = ["Apportionment", "apportion"]

By = Literal["area", "polygons", "points"]


@dataclass(frozen=True)
class Apportionment:
    """Shares of each unit (and its population) inside each area.

    Attributes
    ----------
    table
        One row per overlapping (area, unit) pair: ``area_id``, ``unit_id``,
        ``overlap_m2``, ``area_share`` (share of the unit's area inside the area),
        ``pop_share`` (share of the unit's population inside the area), ``population``
        (``pop_share`` × the unit's population; NaN if no unit population was given).
    units
        Per unit: ``population`` (if given), ``weight_total`` (the weighting layer's
        own total inside the unit, used as the denominator of ``pop_share``) and
        ``weighted_by`` (``"area"`` where the unit has no weighting population and
        fell back to area).
    by
        ``"area"``, ``"polygons"`` or ``"points"``: how the shares were weighted.
    crosswalk
        The area crosswalk the shares were built on (reused by :func:`best_fit`,
        :func:`nbhd_geo.tension` and :func:`nbhd_geo.unit_splits` when passed as
        ``crosswalk=``).
    """

    table: pd.DataFrame
    units: pd.DataFrame
    by: str
    crosswalk: Crosswalk | None = None

    def to_frame(self) -> pd.DataFrame:
        """Return the pair table (a copy)."""
        return self.table.copy()

    def conservation(self) -> pd.DataFrame:
        """Check conservation, per unit and in total.

        For each unit: its population, the population allocated to areas (Σ over
        areas), the share allocated and the population left outside every area.
        ``over_allocated`` marks units whose Σ share exceeds 1 + 1e-9, which happens
        only where the areas themselves overlap (each area counts its own people).
        The last row, ``"TOTAL"``, sums the columns; its ``over_allocated`` says
        whether *any* unit is over-allocated (not whether the total is).
        """
        alloc = self.table.groupby("unit_id", sort=False).agg(
            allocated=("population", "sum"), share_allocated=("pop_share", "sum")
        )
        out = self.units[["population"]].join(alloc, how="left")
        out[["allocated", "share_allocated"]] = out[["allocated", "share_allocated"]].fillna(0.0)
        out["unallocated"] = out["population"] - out["allocated"]
        out["over_allocated"] = out["share_allocated"] > 1 + 1e-9
        total = pd.DataFrame(
            {
                "population": [out["population"].sum()],
                "allocated": [out["allocated"].sum()],
                "share_allocated": [np.nan],
                "unallocated": [out["unallocated"].sum()],
                "over_allocated": [bool(out["over_allocated"].any())],
            },
            index=pd.Index(["TOTAL"], name=out.index.name),
        )
        return pd.concat([out, total])

    def by_area(self) -> pd.DataFrame:
        """Sum population and overlap area per drawn area (Σ over its units)."""
        return self.table.groupby("area_id", sort=False).agg(
            population=("population", "sum"), overlap_m2=("overlap_m2", "sum")
        )


def _unit_population(
    units: gpd.GeoDataFrame, unit_population: str | pd.Series | None, ids: np.ndarray
) -> np.ndarray:
    if unit_population is None:
        return np.full(len(ids), np.nan)
    if isinstance(unit_population, str):
        if unit_population not in units.columns:
            raise ColumnError(
                f"has no column {unit_population!r}",
                argument="units",
                fix=f"pass unit_population= one of {list(units.columns.drop(units.geometry.name))}",
            )
        values = pd.to_numeric(units[unit_population], errors="coerce").to_numpy(float)
    else:
        values = pd.Series(unit_population).reindex(ids).to_numpy(float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise NbhdGeoError(
            "unit population is missing, negative or not a number",
            argument="unit_population",
            ids=ids[bad],
            fix="give every unit a population ≥ 0",
        )
    return values


def _weights_column(weights: gpd.GeoDataFrame, weight_col: str | None) -> np.ndarray:
    if weight_col is None or weight_col not in weights.columns:
        raise ColumnError(
            f"needs a count column, got weight_col={weight_col!r}",
            argument="weights",
            fix=f"pass weight_col= one of {list(weights.columns.drop(weights.geometry.name))}",
        )
    values = pd.to_numeric(weights[weight_col], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise NbhdGeoError(
            f"column {weight_col!r} has missing or negative counts",
            argument="weights",
            ids=weights.index[bad],
            fix="fill or drop those rows",
        )
    return values


def _point_weights(
    area_geoms: np.ndarray,
    unit_geoms: np.ndarray,
    weights: gpd.GeoDataFrame,
    counts: np.ndarray,
    target_crs: object,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Σ counts of points in each (area, unit) and in each unit.

    A point on a boundary shared by two units goes to the first unit in input
    order, so each point is counted once (a stable tie-break).
    """
    pts = np.asarray(weights.to_crs(target_crs).geometry.array, dtype=object)
    if not np.all(shapely.get_type_id(pts) == 0):
        raise InputError(
            "by='points' needs Point geometries",
            argument="weights",
            fix="pass point features (e.g. postcode centroids) or use by='polygons'",
        )
    ptree = shapely.STRtree(unit_geoms)
    p_idx, u_idx = ptree.query(pts, predicate="intersects")
    first = np.unique(p_idx, return_index=True)[1]
    p_idx, u_idx = p_idx[first], u_idx[first]
    point_unit = np.full(len(pts), -1)
    point_unit[p_idx] = u_idx
    unit_total = np.bincount(u_idx, weights=counts[p_idx], minlength=len(unit_geoms))
    atree = shapely.STRtree(area_geoms)
    q_idx, a_idx = atree.query(pts, predicate="intersects")
    inside = point_unit[q_idx] >= 0
    frame = pd.DataFrame(
        {"a": a_idx[inside], "u": point_unit[q_idx[inside]], "w": counts[q_idx[inside]]}
    )
    return frame.groupby(["a", "u"], sort=True)["w"].sum().reset_index(), unit_total


#: The last few unit x fine-polygon overlap tables, keyed by the exact content (WKB digest)
#: of both layers: a report apportions the same units over the same Output Areas for
#: best fit, tension and unit splits, and this pass is then made once.
_UNIT_FINE_CACHE: OrderedDict[tuple[str, str, str], tuple[np.ndarray, ...]] = OrderedDict()


def _digest(geoms: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for wkb in shapely.to_wkb(geoms):
        h.update(wkb)
    return f"{len(geoms)}:{h.hexdigest()}"


def _unit_fine_pairs(
    unit_geoms: np.ndarray, fine_geoms: np.ndarray, engine: str, threads: int | None
) -> tuple[np.ndarray, ...]:
    key = (_digest(unit_geoms), _digest(fine_geoms), engine)
    hit = _UNIT_FINE_CACHE.get(key)
    if hit is None:
        hit = pair_areas(unit_geoms, fine_geoms, engine=engine, threads=threads)  # type: ignore[arg-type]
        _UNIT_FINE_CACHE[key] = hit
        while len(_UNIT_FINE_CACHE) > 4:
            _UNIT_FINE_CACHE.popitem(last=False)
    else:
        _UNIT_FINE_CACHE.move_to_end(key)
    return tuple(a.copy() for a in hit)


def _polygon_weights(
    area_geoms: np.ndarray,
    unit_geoms: np.ndarray,
    fine_geoms: np.ndarray,
    counts: np.ndarray,
    ia: np.ndarray,
    iu: np.ndarray,
    engine: str,
    threads: int | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Σ counts of fine polygons in each (area, unit) piece, spread evenly by area."""
    fine_area = shapely.area(fine_geoms)
    density = np.divide(counts, fine_area, out=np.zeros_like(counts), where=fine_area > 0)
    # Unit totals: fine population falling inside each unit (by area share of each fine polygon).
    uf_u, uf_f, uf_area = _unit_fine_pairs(unit_geoms, fine_geoms, engine, threads)
    unit_total = np.bincount(uf_u, weights=uf_area * density[uf_f], minlength=len(unit_geoms))
    # Pieces area ∩ unit, then their overlap with the fine polygons.
    pieces = _polygonal(shapely.intersection(area_geoms[ia], unit_geoms[iu]))
    # The exact engine finds overlaps of ~1e-9 m² where GEOS's intersection returns only
    # lines or nothing: such pieces hold no one (weight 0) and are not intersected again.
    real = np.isin(shapely.get_type_id(pieces), (3, 6)) & ~shapely.is_empty(pieces)
    piece_m2 = np.zeros(len(pieces))
    piece_m2[real] = shapely.area(pieces[real])
    real &= piece_m2 > 0
    pos = np.flatnonzero(real)
    pf_p, pf_f, pf_area = pair_areas(pieces[pos], fine_geoms, engine=engine, threads=threads)  # type: ignore[arg-type]
    w = np.bincount(pos[pf_p], weights=pf_area * density[pf_f], minlength=len(pieces))
    return pd.DataFrame({"a": ia, "u": iu, "w": w}), unit_total


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of intersection results (they can carry lines)."""
    out = geoms.copy()
    mixed = shapely.get_type_id(out) == 7
    for k in np.flatnonzero(mixed):
        parts = shapely.get_parts(out[k])
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out[k] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    return out


def check_reuse(crosswalk: Crosswalk, area_ids: np.ndarray, unit_ids: np.ndarray) -> Crosswalk:
    """Check that a crosswalk passed for reuse was made from these very layers.

    Raises
    ------
    InputError
        Naming the ids that differ, with the fix (recompute, or pass the matching
        crosswalk).
    """
    if not isinstance(crosswalk, Crosswalk):
        raise InputError(
            f"expected a Crosswalk, got {type(crosswalk).__name__}", argument="crosswalk",
            fix="pass the result of nbhd_geo.crosswalk(areas, units) or leave it out",
        )
    for side, have, want in (("source", crosswalk.source_areas.index, area_ids),
                             ("target", crosswalk.target_areas.index, unit_ids)):
        missing = pd.Index(want).difference(have)
        if len(missing):
            raise InputError(
                f"was computed for other {side} features than these "
                f"({len(missing)} ids are not in it)", argument="crosswalk",
                ids=sorted(map(str, missing)),
                fix="pass the crosswalk of these same two layers, or leave it out to compute it",
            )
    src_keep = crosswalk.source_areas.index.isin(pd.Index(area_ids))
    tgt_keep = crosswalk.target_areas.index.isin(pd.Index(unit_ids))
    if src_keep.all() and tgt_keep.all():
        return crosswalk
    # A subset of the layers (e.g. units without IMD left out): keep their rows only.
    t = crosswalk.table
    rows = t["source_id"].isin(pd.Index(area_ids)) & t["target_id"].isin(pd.Index(unit_ids))
    return replace(
        crosswalk, table=t[rows.to_numpy()].reset_index(drop=True),
        source_areas=crosswalk.source_areas.subset(src_keep),
        target_areas=crosswalk.target_areas.subset(tgt_keep),
    )


def apportion(
    areas: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    area_id: str | None = None,
    unit_id: str | None = None,
    unit_population: str | pd.Series | None = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    by: By | None = None,
    crs: object | None = None,
    engine: Literal["exact", "geos"] = "exact",
    threads: int | None = None,
    crosswalk: Crosswalk | None = None,
) -> Apportionment:
    """Share each statutory unit's population among drawn areas.

    Parameters
    ----------
    areas
        Drawn neighbourhoods (or any polygons). They may overlap each other.
    units
        Statutory units carrying a population (e.g. LSOAs).
    area_id, unit_id
        Id columns; ``None`` uses the index.
    unit_population
        Column of ``units`` (or a Series indexed by unit id) with each unit's
        population: the total that is shared out. Without it, the weighting layer's
        own count inside each unit is used when ``weights`` are given; otherwise
        only shares are returned (``population`` is NaN).
    weights
        Where people live inside units: finer polygons with counts (Output Areas)
        or points with counts (address or postcode points).
    weight_col
        The count column of ``weights``.
    by
        ``"area"``, ``"polygons"`` or ``"points"``. ``None`` chooses ``"area"``
        without ``weights`` and otherwise from the geometry type of ``weights``.
    crs, engine, threads
        As for :func:`nbhd_geo.crosswalk`.
    crosswalk
        A :class:`~nbhd_geo.Crosswalk` of these same ``areas`` and ``units``, already
        computed: it is reused instead of intersecting the layers again (one
        reconciliation per layer pair). Its ids must be those of ``areas`` and
        ``units``.

    Returns
    -------
    Apportionment

    Notes
    -----
    ``pop_share(a, u) = w(a ∩ u) / w(u)`` where ``w`` is the weighting population:
    area (``by="area"``), fine-polygon counts spread evenly over each fine polygon
    (``by="polygons"``), or point counts (``by="points"``). The unit's own population
    is then multiplied by that share, so a weighting layer from another year or
    source only shapes the split, never the total. A unit whose weighting total is
    zero (no points inside it) falls back to area shares, and ``units.weighted_by``
    says so. A unit 5 % covered never sends 100 % of its people to the one area it
    touches (the ``allocate_total=True`` trap in tobler).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> lsoa = gpd.GeoDataFrame({"code": ["L1", "L2"], "pop": [1000, 500]},
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> drawn = gpd.GeoDataFrame({"name": ["Oakfield"]},
    ...     geometry=[shapely.box(60, 0, 150, 100)], crs=27700)
    >>> ap = apportion(drawn, lsoa, area_id="name", unit_id="code", unit_population="pop")
    >>> ap.table[["area_id", "unit_id", "pop_share", "population"]]
        area_id unit_id  pop_share  population
    0  Oakfield      L1        0.4       400.0
    1  Oakfield      L2        0.5       250.0
    """
    a = prepare_polygons(areas, argument="areas", id_col=area_id, crs=crs)
    u = prepare_polygons(units, argument="units", id_col=unit_id, crs=crs)
    pop = _unit_population(units, unit_population, u.ids)
    if by is None:
        if weights is None:
            by = "area"
        else:
            kinds = set(shapely.get_type_id(np.asarray(weights.geometry.array, dtype=object)))
            by = "points" if kinds == {0} else "polygons"
    if by not in ("area", "polygons", "points"):
        raise NbhdGeoError(
            f"unknown method {by!r}", argument="by", fix="use 'area', 'polygons' or 'points'"
        )
    if by != "area" and weights is None:
        raise InputError(
            f"by={by!r} needs a weighting layer",
            argument="weights",
            fix="pass weights= (OA polygons or address points with counts) or use by='area'",
        )
    if weights is not None and weights.crs is None:
        raise CRSError(
            "has no CRS", argument="weights", fix="set it with weights.set_crs(...)"
        )

    if crosswalk is None:
        cw = _crosswalk(
            a.frame, u.frame, source_id=area_id, target_id=unit_id, crs=crs, engine=engine,
            threads=threads, sliver_tol_m2=0.0,
        )
    else:
        cw = check_reuse(crosswalk, a.ids, u.ids)
    ia = pd.Index(a.ids).get_indexer(cw.table["source_id"])
    iu = pd.Index(u.ids).get_indexer(cw.table["target_id"])
    area_share = cw.table["share_of_target"].to_numpy()
    unit_area = shapely.area(u.geoms)

    if by == "area":
        pop_share = area_share.copy()
        weight_total = unit_area
        fell_back = np.zeros(len(u.ids), dtype=bool)
    else:
        counts = _weights_column(weights, weight_col)
        if by == "points":
            pair_w, weight_total = _point_weights(
                a.geoms, u.geoms, weights, counts, working_crs(crs)
            )
        else:
            fine = prepare_polygons(weights, argument="weights", crs=crs)
            pair_w, weight_total = _polygon_weights(
                a.geoms, u.geoms, fine.geoms, counts, ia, iu, engine, threads
            )
        w = (
            pd.DataFrame({"a": ia, "u": iu})
            .merge(pair_w, on=["a", "u"], how="left")["w"]
            .fillna(0.0)
            .to_numpy()
        )
        fell_back = weight_total <= 0
        denom = np.where(fell_back, 1.0, weight_total)
        pop_share = np.where(fell_back[iu], area_share, w / denom[iu])

    if unit_population is None and by != "area":
        # No published unit population: the weighting layer's own count inside each unit.
        pop = np.asarray(weight_total, dtype=float)
    table = pd.DataFrame(
        {
            "area_id": cw.table["source_id"].to_numpy(),
            "unit_id": cw.table["target_id"].to_numpy(),
            "overlap_m2": cw.table["area_m2"].to_numpy(),
            "area_share": area_share,
            "pop_share": pop_share,
            "population": pop_share * pop[iu],
        }
    )
    unit_frame = pd.DataFrame(
        {
            "population": pop,
            "weight_total": weight_total,
            "weighted_by": np.where(fell_back, "area", by),
        },
        index=pd.Index(u.ids, name="unit_id"),
    )
    return Apportionment(table=table, units=unit_frame, by=by, crosswalk=cw)


def reuse_or_apportion(
    given: Crosswalk | Apportionment | None,
    areas: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    **kwargs: Any,
) -> Apportionment:
    """Apportion ``areas`` over ``units``, reusing what the caller already has.

    ``given`` may be an :class:`Apportionment` (returned as it is, after checking its
    ids), a :class:`~nbhd_geo.Crosswalk` (its areas are reused; only the population
    weighting is computed) or ``None`` (everything is computed). ``kwargs`` are those
    of :func:`apportion`.
    """
    if isinstance(given, Apportionment):
        if given.crosswalk is not None:
            a_ids = areas.index if kwargs.get("area_id") is None else areas[kwargs["area_id"]]
            u_ids = units.index if kwargs.get("unit_id") is None else units[kwargs["unit_id"]]
            check_reuse(given.crosswalk, np.asarray(a_ids), np.asarray(u_ids))
        return given
    return apportion(areas, units, crosswalk=given, **kwargs)
