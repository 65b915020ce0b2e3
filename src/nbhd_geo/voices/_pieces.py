"""The two piece models behind :func:`nbhd_geo.consensus`: a grid or a polygon base.

Both expose the same operations on tables of pieces (a *surface* row is one name on one
piece): build the surface from drawings, overlay names (mix), union pieces into
geometry, find pieces claimed by two names, measure area and population.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import ColumnError, InputError
from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.overlay.crosswalk import pair_areas
from nbhd_geo.voices import _grid

__all__ = ["Pieces", "GridPieces", "BasePieces", "population_values", "as_geometry"]

_MIX_COLS = ["total", "n_names", "entropy_bits", "top_name", "top_share", "second_name",
             "second_share", "best_name", "best_agreement"]


class Pieces(Protocol):
    """Operations shared by the grid and the polygon-base piece models."""

    method: str

    def surface(self, geoms: np.ndarray, codes: np.ndarray, weight: np.ndarray,
                drawers: np.ndarray) -> pd.DataFrame: ...  # noqa: D102
    def mix(self, surface: pd.DataFrame, drawers: np.ndarray) -> pd.DataFrame: ...  # noqa: D102
    def union(self, df: pd.DataFrame, group: np.ndarray | None,  # noqa: D102
              n_groups: int) -> np.ndarray: ...
    def claims(self, sub: pd.DataFrame) -> pd.DataFrame: ...  # noqa: D102
    def outside(self, claimed: pd.DataFrame, area: Any) -> Any: ...  # noqa: D102
    def area(self, df: pd.DataFrame) -> np.ndarray: ...  # noqa: D102
    def population(self, df: pd.DataFrame, pop: tuple) -> np.ndarray: ...  # noqa: D102


def as_geometry(value: Any, target: Any) -> shapely.Geometry:
    """One polygonal geometry in the working CRS from a GeoDataFrame/GeoSeries/geometry."""
    if isinstance(value, gpd.GeoDataFrame | gpd.GeoSeries):
        if value.crs is None:
            raise InputError("has no CRS", argument="study_area", fix="set its CRS first")
        value = shapely.union_all(np.asarray(value.to_crs(target).geometry.array))
    if not isinstance(value, shapely.Geometry) or shapely.get_type_id(value) not in (3, 6, 7):
        raise InputError(f"must be polygons, got {type(value).__name__}",
                         argument="study_area", fix="pass a GeoDataFrame of polygons")
    return shapely.make_valid(value)


def population_values(population: gpd.GeoDataFrame, col: str,
                      target: Any) -> tuple[np.ndarray, np.ndarray]:
    """(geometries in the working CRS, counts) of a population layer."""
    if not isinstance(population, gpd.GeoDataFrame) or population.crs is None:
        raise InputError("must be a GeoDataFrame with a CRS", argument="population",
                         fix="read it with nbhd_geo.read_layer")
    if col not in population.columns:
        raise ColumnError(f"has no column {col!r}", argument="population_col",
                          fix=f"choose one of {list(population.columns.drop('geometry'))}")
    frame = population.to_crs(target)
    values = pd.to_numeric(frame[col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    return np.asarray(frame.geometry.array, dtype=object), values


@dataclass
class GridPieces:
    """Pieces are runs of grid cells ``(row, c0, c1)``."""

    grid: _grid.Grid
    method: str = "grid"

    @classmethod
    def build(cls, grid: _grid.Grid) -> GridPieces:
        """Pieces on ``grid``."""
        return cls(grid)

    def surface(self, geoms: np.ndarray, codes: np.ndarray, weight: np.ndarray,
                drawers: np.ndarray) -> pd.DataFrame:
        """Per-name runs with their weighted count and agreement share."""
        gi, row, c0, c1 = _grid.rasterise(geoms, self.grid)
        g, r, a, b, v = _grid.accumulate(codes[gi], row, c0, c1, weight[gi])
        return pd.DataFrame({"name": g, "row": r, "c0": a, "c1": b, "count": v,
                             "share": v / drawers[g]})

    def mix(self, surface: pd.DataFrame, drawers: np.ndarray) -> pd.DataFrame:
        """Name mix per elementary run of the overlay of all names."""
        out = _grid.sweep(surface["row"].to_numpy(), surface["c0"].to_numpy(),
                          surface["c1"].to_numpy(), surface["name"].to_numpy(),
                          surface["count"].to_numpy(), drawers)
        frame = pd.DataFrame(out[:, 3:], columns=_MIX_COLS)
        frame.insert(0, "c1", out[:, 2].astype(np.int64))
        frame.insert(0, "c0", out[:, 1].astype(np.int64))
        frame.insert(0, "row", out[:, 0].astype(np.int64))
        for col in ("n_names", "top_name", "second_name", "best_name"):
            frame[col] = frame[col].astype(np.int64)
        return frame

    def union(self, df: pd.DataFrame, group: np.ndarray | None, n_groups: int) -> np.ndarray:
        """Union of the runs of each group."""
        grp = None if group is None else np.asarray(group, dtype=np.int64)
        return _grid.runs_to_geometry(df["row"].to_numpy(), df["c0"].to_numpy(),
                                      df["c1"].to_numpy(), self.grid, grp, n_groups)

    def claims(self, sub: pd.DataFrame) -> pd.DataFrame:
        """Find runs inside two names' selections at once (one row per pair)."""
        r, a, b, ka, kb = _grid.claims(sub["row"].to_numpy(), sub["c0"].to_numpy(),
                                       sub["c1"].to_numpy(), sub["name"].to_numpy())
        return pd.DataFrame({"row": r, "c0": a, "c1": b, "a": ka, "b": kb})

    def outside(self, claimed: pd.DataFrame, area: Any) -> Any:
        """Cells of ``area`` not in ``claimed``."""
        _, row, c0, c1 = _grid.rasterise(np.array([area], dtype=object), self.grid)
        n = len(row)
        grp = np.zeros(n + len(claimed), np.int64)
        r = np.concatenate([row, claimed["row"].to_numpy()])
        a = np.concatenate([c0, claimed["c0"].to_numpy()])
        b = np.concatenate([c1, claimed["c1"].to_numpy()])
        w = np.concatenate([np.ones(n), -np.ones(len(claimed))])
        _, r, a, b, _ = _grid.accumulate(grp, r, a, b, w)
        return _grid.runs_to_geometry(r, a, b, self.grid)[0]

    def area(self, df: pd.DataFrame) -> np.ndarray:
        """Area of each run in m²."""
        return (df["c1"].to_numpy() - df["c0"].to_numpy()) * self.grid.cell**2

    def population(self, df: pd.DataFrame, pop: tuple) -> np.ndarray:
        """Sum population per run (points in their cell; polygons spread over their cells)."""
        cr, cc, cv = self._cells(pop)
        return _grid.run_sums(cr, cc, cv, df["row"].to_numpy(), df["c0"].to_numpy(),
                              df["c1"].to_numpy(), self.grid.n_cols + 10**9)

    def _cells(self, pop: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cached = getattr(self, "_pop_cells", None)
        if cached is not None and cached[0] is pop:
            return cached[1]
        geoms, values = pop
        g = self.grid
        poly = np.isin(shapely.get_type_id(geoms), (3, 6))
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
        rows = [np.floor((pts[~poly, 1] - g.y0) / g.cell).astype(np.int64)]
        cols = [np.floor((pts[~poly, 0] - g.x0) / g.cell).astype(np.int64)]
        vals = [values[~poly]]
        if poly.any():
            idx = np.flatnonzero(poly)
            gi, row, c0, c1 = _grid.rasterise(geoms[idx], g)
            ncell = np.bincount(gi, weights=c1 - c0, minlength=len(idx))
            lengths = c1 - c0
            rep = np.repeat(np.arange(len(row)), lengths)
            start = np.repeat(c0 - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
            rows.append(row[rep])
            cols.append(start + np.arange(len(rep)))
            vals.append((values[idx] / np.maximum(ncell, 1))[gi][rep])
            empty = ncell == 0  # smaller than a cell: all in the cell of a point inside
            rows.append(np.floor((pts[idx[empty], 1] - g.y0) / g.cell).astype(np.int64))
            cols.append(np.floor((pts[idx[empty], 0] - g.x0) / g.cell).astype(np.int64))
            vals.append(values[idx[empty]])
        out = (np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))
        self._pop_cells = (pop, out)
        return out


@dataclass
class BasePieces:
    """Pieces are the units of a polygon base layer (e.g. Output Areas)."""

    geoms: np.ndarray
    ids: np.ndarray
    unit_area: np.ndarray
    method: str = "base"

    @classmethod
    def build(cls, base: gpd.GeoDataFrame, target: Any) -> BasePieces:
        """Pieces from a polygon layer (validated, reprojected)."""
        prep = prepare_polygons(base, argument="base", crs=target)
        return cls(prep.geoms, prep.ids, shapely.area(prep.geoms))

    def surface(self, geoms: np.ndarray, codes: np.ndarray, weight: np.ndarray,
                drawers: np.ndarray) -> pd.DataFrame:
        """Per name and unit: area-weighted mean coverage by that name's drawers."""
        ia, ib, area = pair_areas(geoms, self.geoms)
        cov = np.minimum(area / self.unit_area[ib], 1.0) * weight[ia]
        t = pd.DataFrame({"name": codes[ia], "unit": ib, "count": cov})
        t = t.groupby(["name", "unit"], sort=True, as_index=False)["count"].sum()
        t = t[t["count"] > 1e-12].reset_index(drop=True)
        t["share"] = t["count"] / drawers[t["name"].to_numpy()]
        return t

    def mix(self, surface: pd.DataFrame, drawers: np.ndarray) -> pd.DataFrame:
        """Name mix per unit."""
        s = surface.sort_values(["unit", "count", "name"], ascending=[True, False, True],
                                kind="stable")
        grp = s.groupby("unit", sort=True)
        total = grp["count"].sum()
        p = s["count"].to_numpy() / total.reindex(s["unit"]).to_numpy()
        ent = pd.Series(-p * np.log2(p), index=s.index).groupby(s["unit"]).sum()
        rank = grp.cumcount().to_numpy()
        top = s[rank == 0].set_index("unit")
        sec = s[rank == 1].set_index("unit")
        best = s.sort_values(["unit", "share", "name"], ascending=[True, False, True],
                             kind="stable").groupby("unit").head(1).set_index("unit")
        out = pd.DataFrame({"unit": total.index.to_numpy(), "total": total.to_numpy()})
        out["n_names"] = grp.size().to_numpy()
        out["entropy_bits"] = np.maximum(ent.to_numpy(), 0.0)
        out["top_name"] = top["name"].reindex(out["unit"]).to_numpy()
        out["top_share"] = (top["count"].reindex(out["unit"]) / total.to_numpy()).to_numpy()
        out["second_name"] = sec["name"].reindex(out["unit"]).fillna(-1).astype(np.int64).to_numpy()
        out["second_share"] = (sec["count"].reindex(out["unit"]).fillna(0.0).to_numpy()
                               / total.to_numpy())
        out["best_name"] = best["name"].reindex(out["unit"]).to_numpy()
        out["best_agreement"] = best["share"].reindex(out["unit"]).to_numpy()
        return out

    def union(self, df: pd.DataFrame, group: np.ndarray | None, n_groups: int) -> np.ndarray:
        """Union of the units of each group."""
        out = np.array([shapely.Polygon()] * n_groups, dtype=object)
        units = df["unit"].to_numpy()
        grp = np.zeros(len(units), np.int64) if group is None else np.asarray(group)
        for j in np.unique(grp):
            out[j] = shapely.union_all(self.geoms[np.unique(units[grp == j])])
        return out

    def claims(self, sub: pd.DataFrame) -> pd.DataFrame:
        """Units selected for two names at once (one row per pair)."""
        m = sub[["unit", "name"]].merge(sub[["unit", "name"]], on="unit", suffixes=("_a", "_b"))
        m = m[m["name_a"] < m["name_b"]]
        return pd.DataFrame({"unit": m["unit"].to_numpy(), "a": m["name_a"].to_numpy(),
                             "b": m["name_b"].to_numpy()})

    def outside(self, claimed: pd.DataFrame, area: Any) -> Any:
        """Units with a point inside ``area`` not in ``claimed``."""
        inside = shapely.contains(area, shapely.point_on_surface(self.geoms))
        inside[claimed["unit"].to_numpy()] = False
        return shapely.union_all(self.geoms[inside])

    def area(self, df: pd.DataFrame) -> np.ndarray:
        """Area of each unit in m²."""
        return self.unit_area[df["unit"].to_numpy()]

    def population(self, df: pd.DataFrame, pop: tuple) -> np.ndarray:
        """Sum population per unit (points by containment, polygons by area share)."""
        geoms, values = pop
        per_unit = np.zeros(len(self.geoms))
        poly = np.isin(shapely.get_type_id(geoms), (3, 6))
        if (~poly).any():
            tree = shapely.STRtree(self.geoms)
            ip, iu = tree.query(geoms[~poly], predicate="within")
            first = pd.Series(iu).groupby(ip).min()  # one unit per point (lowest position)
            np.add.at(per_unit, first.to_numpy(), values[~poly][first.index.to_numpy()])
        if poly.any():
            idx = np.flatnonzero(poly)
            ia, ib, area = pair_areas(geoms[idx], self.geoms)
            share = area / shapely.area(geoms[idx])[ia]
            np.add.at(per_unit, ib, values[idx][ia] * share)
        return per_unit[df["unit"].to_numpy()]
