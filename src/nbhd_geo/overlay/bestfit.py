"""Best-fit statutory approximations of drawn areas, and how good they are.

Given a drawn neighbourhood and a layer of statutory units (LSOAs, OAs, wards),
which set of whole units stands in for it? Three rules, each common in practice:

``"centroid"``
    ONS best-fit: a unit belongs to the area holding its population-weighted
    centroid (ONS, *An overview of best-fitting*, 2012). Without a population layer
    the unit's ``point_on_surface`` is used (always inside the unit), and the result
    says so.
``"majority"``
    A unit belongs when at least half of it lies inside the area: half its people
    when a population layer is given, else half its area.
``"max_iou"``
    The set of units with the largest intersection-over-union with the area,
    found exactly (see :func:`best_fit` Notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.overlay.apportion import Apportionment, reuse_or_apportion
from nbhd_geo.overlay.crosswalk import Crosswalk

__all__ = ["BestFit", "best_fit"]

Method = Literal["centroid", "majority", "max_iou"]
_METHODS = ("centroid", "majority", "max_iou")


@dataclass(frozen=True)
class BestFit:
    """Chosen units per area and the quality of the fit.

    Attributes
    ----------
    members
        One row per (area, unit) pair that overlaps: ``area_id``, ``unit_id``,
        ``overlap_m2``, ``area_share`` (share of the unit inside), ``pop_share``,
        ``selected`` (bool).
    quality
        One row per area (indexed by ``area_id``): ``n_units_touched``,
        ``n_units_selected``, ``area_m2``, ``fit_area_m2``, ``iou``,
        ``included_outside_m2`` / ``_share`` (in the fit, not drawn: share of the
        drawn area), ``excluded_inside_m2`` / ``_share`` (drawn, not in the fit),
        and with a population: ``population``, ``fit_population``, ``pop_iou``,
        ``pop_included_outside``, ``pop_excluded_inside``.
    method
        The rule used.
    centroid_basis
        For ``"centroid"``: ``"population-weighted"`` or ``"point_on_surface"``.
    units
        The units layer in the working CRS (for :meth:`geometries`).
    unit_id
        Name of the unit id column (``None``: index).
    """

    members: pd.DataFrame
    quality: pd.DataFrame
    method: str
    centroid_basis: str | None
    units: gpd.GeoDataFrame
    unit_id: str | None

    def to_frame(self) -> pd.DataFrame:
        """Return the per-area quality table (a copy)."""
        return self.quality.copy()

    def geometries(self) -> gpd.GeoDataFrame:
        """Union of the selected units per area, with the fit quality columns.

        Areas with no selected unit keep a row with an empty geometry, so every
        area is accounted for.
        """
        sel = self.members.loc[self.members["selected"], ["area_id", "unit_id"]]
        ids = self.units[self.unit_id] if self.unit_id else self.units.index.to_series()
        pos = pd.Index(ids.to_numpy()).get_indexer(sel["unit_id"])
        geoms = np.asarray(self.units.geometry.array, dtype=object)[pos]
        frame = gpd.GeoDataFrame(
            {"area_id": sel["area_id"].to_numpy()}, geometry=geoms, crs=self.units.crs
        )
        merged = frame.dissolve("area_id", sort=False)
        out = self.quality.join(merged, how="left")
        out["geometry"] = out["geometry"].where(out["geometry"].notna(), shapely.Polygon())
        return gpd.GeoDataFrame(out, geometry="geometry", crs=self.units.crs)


def _unit_points(
    units: np.ndarray,
    weights: gpd.GeoDataFrame | None,
    weight_col: str | None,
    crs: object,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Population-weighted centroid per unit (snapped inside), or point_on_surface."""
    pos = shapely.point_on_surface(units)
    x, y = shapely.get_x(pos), shapely.get_y(pos)
    if weights is None:
        return x, y, "point_on_surface"
    w = weights.to_crs(crs)
    counts = pd.to_numeric(w[weight_col], errors="coerce").fillna(0).to_numpy(float)
    pts = shapely.point_on_surface(np.asarray(w.geometry.array, dtype=object))
    tree = shapely.STRtree(units)
    p_idx, u_idx = tree.query(pts, predicate="intersects")
    first = np.unique(p_idx, return_index=True)[1]
    p_idx, u_idx = p_idx[first], u_idx[first]
    total = np.bincount(u_idx, weights=counts[p_idx], minlength=len(units))
    sx = np.bincount(u_idx, weights=counts[p_idx] * shapely.get_x(pts[p_idx]), minlength=len(units))
    sy = np.bincount(u_idx, weights=counts[p_idx] * shapely.get_y(pts[p_idx]), minlength=len(units))
    has = total > 0
    cx = np.where(has, sx / np.where(has, total, 1), x)
    cy = np.where(has, sy / np.where(has, total, 1), y)
    # A weighted mean can fall outside a concave unit: snap it to the nearest point inside.
    outside = has & ~shapely.intersects_xy(units, cx, cy)
    if outside.any():
        near = shapely.shortest_line(units[outside], shapely.points(cx[outside], cy[outside]))
        start = shapely.get_point(near, 0)
        cx[outside], cy[outside] = shapely.get_x(start), shapely.get_y(start)
    return cx, cy, "population-weighted"


def _max_iou(members: pd.DataFrame, area_size: pd.Series) -> np.ndarray:
    """Select, per area, the prefix of units by share-inside that maximises IoU."""
    order = members.sort_values(
        ["area_id", "area_share", "unit_pos"], ascending=[True, False, True], kind="stable"
    )
    inter = order.groupby("area_id", sort=False)["overlap_m2"].cumsum().to_numpy()
    usum = order.groupby("area_id", sort=False)["unit_m2"].cumsum().to_numpy()
    a = area_size.reindex(order["area_id"]).to_numpy()
    iou = inter / (a + usum - inter)
    order = order.assign(_iou=iou, _rank=order.groupby("area_id", sort=False).cumcount())
    # First (smallest) prefix reaching the maximum IoU, up to float noise.
    best = order.groupby("area_id", sort=False)["_iou"].transform("max").to_numpy()
    at_best = iou >= best * (1 - 1e-12)
    k = order.assign(_ok=at_best).loc[at_best].groupby("area_id", sort=False)["_rank"].min()
    chosen = order["_rank"].to_numpy() <= k.reindex(order["area_id"]).to_numpy()
    out = np.zeros(len(members), dtype=bool)
    out[order.index.to_numpy()] = chosen
    return out


def best_fit(
    areas: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    method: Method = "max_iou",
    area_id: str | None = None,
    unit_id: str | None = None,
    unit_population: str | pd.Series | None = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    crs: object | None = None,
    engine: Literal["exact", "geos"] = "exact",
    threads: int | None = None,
    crosswalk: Crosswalk | Apportionment | None = None,
) -> BestFit:
    """Choose the statutory units that stand in for each drawn area, and score the fit.

    Parameters
    ----------
    areas
        Drawn areas (neighbourhoods); may overlap each other.
    units
        A statutory layer that tiles (LSOA, OA, ward...). Check it with
        :func:`nbhd_geo.check_tiling` if unsure.
    method
        ``"centroid"``, ``"majority"`` or ``"max_iou"`` (see module docs).
    area_id, unit_id
        Id columns; ``None`` uses the index.
    unit_population
        Unit population column (or Series by unit id): adds population fit measures.
    weights, weight_col
        Finer population (OA polygons or address points with counts): used for
        population-weighted centroids and population shares.
    crs, engine, threads
        As for :func:`nbhd_geo.crosswalk`.
    crosswalk
        The :class:`~nbhd_geo.Crosswalk` of these layers, or their
        :class:`~nbhd_geo.Apportionment` (made with the same population settings),
        already computed: reused instead of intersecting again.

    Returns
    -------
    BestFit

    Notes
    -----
    Exact maximum IoU. Units are disjoint, so for a set S with inside areas
    ``i_j`` and unit areas ``u_j``, ``IoU(S) = Σi / (|A| + Σu − Σi)``. For the optimal
    value λ*, S* maximises ``Σ_j [(1+λ*)·i_j − λ*·u_j]``, i.e. it holds exactly the
    units with ``i_j/u_j > λ*/(1+λ*)`` (Dinkelbach's argument for fractional
    programmes). So S* is a prefix of the units sorted by share inside, and scanning
    every prefix finds it in O(n log n). Ties go to the smaller set, then to input
    order.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> units = gpd.GeoDataFrame({"code": ["A", "B", "C"]},
    ...     geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10),
    ...               shapely.box(20, 0, 30, 10)], crs=27700)
    >>> drawn = gpd.GeoDataFrame({"name": ["N"]},
    ...     geometry=[shapely.box(1, 0, 16, 10)], crs=27700)
    >>> fit = best_fit(drawn, units, area_id="name", unit_id="code", method="max_iou")
    >>> fit.members.loc[fit.members.selected, "unit_id"].tolist()
    ['A', 'B']
    >>> round(float(fit.quality.loc["N", "iou"]), 4)
    0.75
    """
    if method not in _METHODS:
        raise NbhdGeoError(
            f"unknown method {method!r}", argument="method", fix=f"use one of {list(_METHODS)}"
        )
    a = prepare_polygons(areas, argument="areas", id_col=area_id, crs=crs)
    u = prepare_polygons(units, argument="units", id_col=unit_id, crs=crs)
    ap = reuse_or_apportion(
        crosswalk, a.frame, u.frame, area_id=area_id, unit_id=unit_id,
        unit_population=unit_population, weights=weights, weight_col=weight_col, crs=crs,
        engine=engine, threads=threads,
    )
    unit_m2 = pd.Series(shapely.area(u.geoms), index=pd.Index(u.ids))
    area_size = pd.Series(shapely.area(a.geoms), index=pd.Index(a.ids))
    members = ap.table.copy()
    unit_pos = pd.Index(u.ids).get_indexer(members["unit_id"])
    members["unit_pos"] = unit_pos
    members["unit_m2"] = unit_m2.to_numpy()[unit_pos]

    basis = None
    if method == "centroid":
        cx, cy, basis = _unit_points(u.geoms, weights, weight_col, u.frame.crs)
        apos = pd.Index(a.ids).get_indexer(members["area_id"])
        selected = shapely.intersects_xy(a.geoms[apos], cx[unit_pos], cy[unit_pos])
    elif method == "majority":
        share = members["pop_share"] if weights is not None else members["area_share"]
        selected = share.to_numpy() >= 0.5
    else:
        selected = _max_iou(members, area_size)
    members["selected"] = np.asarray(selected, dtype=bool)

    with_pop = unit_population is not None or weights is not None
    quality = _quality(members, area_size, ap.units["population"], with_pop)
    members = members.drop(columns=["unit_pos", "unit_m2"])
    return BestFit(
        members=members, quality=quality, method=method, centroid_basis=basis,
        units=u.frame, unit_id=unit_id,
    )


def _quality(
    members: pd.DataFrame, area_size: pd.Series, unit_pop: pd.Series, with_pop: bool
) -> pd.DataFrame:
    """Fit measures per area from the member table."""
    m = members
    sel = m["selected"].to_numpy()
    g = m.assign(
        _sel_overlap=np.where(sel, m["overlap_m2"], 0.0),
        _sel_unit=np.where(sel, m["unit_m2"], 0.0),
    ).groupby("area_id", sort=False)
    q = pd.DataFrame(
        {
            "n_units_touched": g.size(),
            "n_units_selected": g["selected"].sum().astype(int),
            "fit_area_m2": g["_sel_unit"].sum(),
            "_inter": g["_sel_overlap"].sum(),
        }
    )
    q = q.reindex(area_size.index)
    q[["n_units_touched", "n_units_selected"]] = (
        q[["n_units_touched", "n_units_selected"]].fillna(0).astype(int)
    )
    q = q.fillna({"fit_area_m2": 0.0, "_inter": 0.0})
    q.insert(2, "area_m2", area_size)
    q["iou"] = q["_inter"] / (q["area_m2"] + q["fit_area_m2"] - q["_inter"])
    q["included_outside_m2"] = q["fit_area_m2"] - q["_inter"]
    q["excluded_inside_m2"] = q["area_m2"] - q["_inter"]
    q["included_outside_share"] = q["included_outside_m2"] / q["area_m2"]
    q["excluded_inside_share"] = q["excluded_inside_m2"] / q["area_m2"]
    if with_pop:
        upop = unit_pop.reindex(m["unit_id"]).to_numpy()
        inside = m["population"].to_numpy()
        gp = m.assign(
            _in=inside,
            _fit=np.where(sel, upop, 0.0),
            _incl_out=np.where(sel, upop - inside, 0.0),
            _excl_in=np.where(sel, 0.0, inside),
        ).groupby("area_id", sort=False)
        pop = pd.DataFrame(
            {
                "population": gp["_in"].sum(),
                "fit_population": gp["_fit"].sum(),
                "pop_included_outside": gp["_incl_out"].sum(),
                "pop_excluded_inside": gp["_excl_in"].sum(),
            }
        ).reindex(q.index).fillna(0.0)
        both = pop["population"] - pop["pop_excluded_inside"]
        pop["pop_iou"] = both / (pop["population"] + pop["pop_included_outside"])
        q = q.join(pop)
    q.index.name = "area_id"
    return q.drop(columns="_inter")
