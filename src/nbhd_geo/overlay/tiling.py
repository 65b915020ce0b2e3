"""Quality checks for statutory layers that should tile: gaps and overlaps.

Generalised boundary products (ONS "generalised" and "super-generalised") are
simplified polygon by polygon, so neighbours no longer share edges exactly: small
gaps and overlaps appear. Every crosswalk and population share inherits them, so
nbhd_geo finds them and says how large they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.overlay.crosswalk import pair_areas

__all__ = ["TilingReport", "check_tiling"]


@dataclass(frozen=True)
class TilingReport:
    """Gaps and overlaps found in a layer that should tile.

    Attributes
    ----------
    overlaps
        One row per overlapping pair (``id_a`` < ``id_b`` by input order):
        ``id_a``, ``id_b``, ``area_m2``, ``geometry``.
    gaps
        One row per gap (a hole in the union of the layer, or a part of ``extent``
        not covered): ``gap_id``, ``area_m2``, ``neighbours`` (ids touching it),
        ``geometry``.
    outside
        Parts of features lying outside ``extent`` (empty without an extent):
        ``id``, ``area_m2``, ``geometry``.
    layer_area_m2
        Σ area of the features.
    union_area_m2
        Area of their union (``layer_area_m2 − union_area_m2`` = overlap area).
    tolerance_m2
        Gaps and overlaps smaller than this were left out of the tables but are
        counted in ``n_small_overlaps`` / ``n_small_gaps`` and their areas.
    """

    overlaps: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    outside: gpd.GeoDataFrame
    layer_area_m2: float
    union_area_m2: float
    tolerance_m2: float
    n_small_overlaps: int
    small_overlap_m2: float
    n_small_gaps: int
    small_gap_m2: float

    @property
    def tiles(self) -> bool:
        """True when no gap or overlap above the tolerance was found."""
        return self.overlaps.empty and self.gaps.empty and self.outside.empty

    def to_frame(self) -> pd.DataFrame:
        """Both tables stacked, with a ``kind`` column (``"overlap"`` / ``"gap"``)."""
        o = pd.DataFrame(self.overlaps.drop(columns="geometry")).assign(kind="overlap")
        g = pd.DataFrame(self.gaps.drop(columns="geometry")).assign(kind="gap")
        x = pd.DataFrame(self.outside.drop(columns="geometry")).assign(kind="outside_extent")
        return pd.concat([o, g, x], ignore_index=True)

    def summary(self) -> dict[str, float | int | bool]:
        """Headline counts and areas."""
        return {
            "tiles": self.tiles,
            "overlaps": len(self.overlaps),
            "overlap_m2": float(self.overlaps["area_m2"].sum()),
            "gaps": len(self.gaps),
            "gap_m2": float(self.gaps["area_m2"].sum()),
            "outside_extent": len(self.outside),
            "outside_extent_m2": float(self.outside["area_m2"].sum()),
            "small_overlaps": self.n_small_overlaps,
            "small_overlap_m2": self.small_overlap_m2,
            "small_gaps": self.n_small_gaps,
            "small_gap_m2": self.small_gap_m2,
            "layer_area_m2": self.layer_area_m2,
            "union_area_m2": self.union_area_m2,
        }


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``[0..c0-1, 0..c1-1, ...]`` for counts ``[c0, c1, ...]``."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def check_tiling(
    layer: gpd.GeoDataFrame,
    *,
    id_col: str | None = None,
    extent: gpd.GeoDataFrame | shapely.Geometry | None = None,
    tolerance_m2: float = 0.0,
    crs: object | None = None,
    engine: Literal["exact", "geos"] = "exact",
    threads: int | None = None,
) -> TilingReport:
    """Find gaps and overlaps in a layer that should tile the plane.

    Parameters
    ----------
    layer
        The statutory layer (LSOA, ward, ...).
    id_col
        Id column; ``None`` uses the index.
    extent
        The area the layer should cover exactly (e.g. the district boundary). Without
        it, only holes enclosed by the layer count as gaps.
    tolerance_m2
        Gaps and overlaps below this area are counted but not listed.
    crs, engine, threads
        As for :func:`nbhd_geo.crosswalk`.

    Returns
    -------
    TilingReport

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> layer = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, geometry=[
    ...     shapely.box(0, 0, 10, 10), shapely.box(9, 0, 20, 10),      # 1 m overlap
    ...     shapely.box(0, 10, 20, 20).difference(shapely.box(5, 12, 6, 13))],  # a hole
    ...     crs=27700)
    >>> rep = check_tiling(layer, id_col="code")
    >>> rep.overlaps[["id_a", "id_b", "area_m2"]].to_dict("records")
    [{'id_a': 'A', 'id_b': 'B', 'area_m2': 10.0}]
    >>> rep.gaps[["area_m2", "neighbours"]].to_dict("records")
    [{'area_m2': 1.0, 'neighbours': 'C'}]
    """
    prep = prepare_polygons(layer, argument="layer", id_col=id_col, crs=crs)
    geoms, ids = prep.geoms, prep.ids
    ia, ib, area = pair_areas(geoms, geoms, engine=engine, threads=threads)
    pair = ia < ib
    ia, ib, area = ia[pair], ib[pair], area[pair]
    big = area >= tolerance_m2 if tolerance_m2 > 0 else np.ones(len(area), dtype=bool)
    ov_geom = shapely.intersection(geoms[ia[big]], geoms[ib[big]])
    overlaps = gpd.GeoDataFrame(
        {"id_a": ids[ia[big]], "id_b": ids[ib[big]], "area_m2": area[big]},
        geometry=ov_geom,
        crs=prep.frame.crs,
    )

    union = shapely.union_all(geoms)
    out_ids, out_geoms = [], []
    if extent is None:
        # Only holes enclosed by the layer can be told apart from "outside".
        parts = shapely.get_parts(union)
        n_holes = shapely.get_num_interior_rings(parts)
        rings = shapely.get_interior_ring(np.repeat(parts, n_holes), _ranges(n_holes))
        gap_geoms = list(shapely.polygons(rings)) if len(rings) else []
    else:
        ext = (
            shapely.union_all(np.asarray(extent.to_crs(prep.frame.crs).geometry.array))
            if isinstance(extent, gpd.GeoDataFrame)
            else extent
        )
        gap_geoms = list(shapely.get_parts(shapely.difference(ext, union)))
        spill = shapely.difference(geoms, ext)
        has = ~shapely.is_empty(spill) & (shapely.area(spill) > tolerance_m2)
        out_ids, out_geoms = list(ids[has]), list(spill[has])
    gap_geoms = [g for g in gap_geoms if shapely.area(g) > 0]
    gap_arr = np.asarray(gap_geoms, dtype=object)
    gap_area = shapely.area(gap_arr) if len(gap_arr) else np.zeros(0)
    keep = gap_area >= tolerance_m2 if tolerance_m2 > 0 else np.ones(len(gap_arr), dtype=bool)
    tree = shapely.STRtree(geoms)
    gi, ni = tree.query(gap_arr[keep], predicate="intersects") if keep.any() else ([], [])
    neigh = pd.Series(ids[np.asarray(ni, dtype=int)]).groupby(np.asarray(gi, dtype=int)).agg(
        lambda s: ", ".join(map(str, s))
    )
    order = np.argsort(-gap_area[keep], kind="stable")
    gaps = gpd.GeoDataFrame(
        {
            "gap_id": np.arange(1, int(keep.sum()) + 1),
            "area_m2": gap_area[keep][order],
            "neighbours": neigh.reindex(order).fillna("").to_numpy(),
        },
        geometry=gap_arr[keep][order] if keep.any() else [],
        crs=prep.frame.crs,
    )
    outside = gpd.GeoDataFrame(
        {"id": out_ids, "area_m2": shapely.area(np.asarray(out_geoms, dtype=object))
         if out_geoms else []},
        geometry=out_geoms, crs=prep.frame.crs,
    )
    return TilingReport(
        overlaps=overlaps,
        gaps=gaps,
        outside=outside,
        layer_area_m2=float(shapely.area(geoms).sum()),
        union_area_m2=float(shapely.area(union)),
        tolerance_m2=float(tolerance_m2),
        n_small_overlaps=int((~big).sum()),
        small_overlap_m2=float(area[~big].sum()),
        n_small_gaps=int((~keep).sum()),
        small_gap_m2=float(gap_area[~keep].sum()),
    )
