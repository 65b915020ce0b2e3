"""Point-defined communities: survey responses naming their neighbourhood become footprints.

A survey that asks "which neighbourhood do you live in?" and geocodes the answer (by
postcode or address) gives points labelled with names, not drawings. A footprint
polygon per name makes them comparable with drawn neighbourhoods and statutory units:
the footprints are an ordinary drawing layer for :func:`nbhd_geo.crosswalk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import ColumnError, CRSError, InputError, NbhdGeoError
from nbhd_geo.voices import _grid
from nbhd_geo.voices._crs import voices_crs
from nbhd_geo.voices.outliers import robust_far

__all__ = ["PointFootprints", "point_footprints"]

Method = Literal["kde", "concave_hull"]


@dataclass(frozen=True)
class PointFootprints:
    """The result of :func:`point_footprints`.

    Attributes
    ----------
    footprints
        GeoDataFrame indexed by ``name``: ``n_points``, ``n_far``, ``n_inside`` (points
        inside the footprint), ``share_inside``, ``area_m2``, ``method``, ``level``,
        ``bandwidth_m`` and ``cell_m`` (KDE) and the polygon.
    points
        One row per input point (input index): ``name``, ``score`` (robust distance
        score), ``far``, ``inside`` (in its own name's footprint), ``flagged`` and
        ``reasons``.
    skipped
        Names with fewer than ``min_points`` points (no footprint), with their counts.
    """

    footprints: gpd.GeoDataFrame
    points: pd.DataFrame
    skipped: pd.Series

    def to_frame(self) -> gpd.GeoDataFrame:
        """Return the footprints (a copy)."""
        return self.footprints.copy()


def _robust_sd(v: np.ndarray) -> float:
    q75, q25 = np.percentile(v, [75, 25])
    sd = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
    iqr = (q75 - q25) / 1.349
    return min(sd, iqr) if iqr > 0 else sd


def _scott(xy: np.ndarray) -> float:
    """Scott's rule bandwidth in 2-D, ``σ n^(-1/6)``, with a robust pooled σ (≥ 1 m)."""
    sigma = np.sqrt((_robust_sd(xy[:, 0]) ** 2 + _robust_sd(xy[:, 1]) ** 2) / 2)
    return max(float(sigma) * len(xy) ** (-1 / 6), 1.0)


def _kde(xy: np.ndarray, level: float, bandwidth: float | None,
         cells_per_bandwidth: float) -> tuple[shapely.Geometry, float, float]:
    """Highest-density region of a Gaussian KDE holding ``level`` of the points."""
    n = len(xy)
    h = float(bandwidth) if bandwidth is not None else _scott(xy)
    cell = h / cells_per_bandwidth

    def phi(u: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * u * u)

    # density at the points themselves (exact, chunked) sets the level
    dens = np.zeros(n)
    for s in range(0, n, 2048):
        d = xy[s:s + 2048, None, :] - xy[None, :, :]
        dens[s:s + 2048] = (phi(d[..., 0] / h) * phi(d[..., 1] / h)).sum(axis=1)
    lev = float(np.quantile(dens, 1 - level, method="lower"))
    # density on a grid of cell centres around the points (±4 bandwidths)
    lo = xy.min(axis=0) - 4 * h
    hi = xy.max(axis=0) + 4 * h
    grid = _grid.Grid.covering(np.r_[lo, hi], cell)
    xc = grid.x0 + (np.arange(grid.n_cols) + 0.5) * cell
    yc = grid.y0 + (np.arange(grid.n_rows) + 0.5) * cell
    f = phi((yc[:, None] - xy[None, :, 1]) / h) @ phi((xc[:, None] - xy[None, :, 0]) / h).T
    inside = f >= lev * (1 - 1e-9)
    padded = np.pad(inside, ((0, 0), (1, 1))).astype(np.int8)
    step = np.diff(padded, axis=1)
    r0, c0 = np.nonzero(step == 1)
    r1, c1 = np.nonzero(step == -1)
    geom = _grid.runs_to_geometry(r0.astype(np.int64), c0.astype(np.int64),
                                  c1.astype(np.int64), grid)[0]
    return geom, h, cell


def point_footprints(
    points: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    method: Method = "kde",
    level: float = 0.75,
    bandwidth: float | None = None,
    cells_per_bandwidth: float = 5.0,
    ratio: float = 0.3,
    far_z: float = 3.5,
    min_points: int = 5,
    crs: object | None = None,
) -> PointFootprints:
    r"""Make a footprint polygon per name from points labelled with neighbourhood names.

    Parameters
    ----------
    points
        Point layer (e.g. survey responses geocoded by postcode) with a name column.
    by
        The name column.
    method
        ``"kde"`` (default): the highest-density region of a Gaussian kernel density
        estimate holding ``level`` of the name's points. ``"concave_hull"``:
        ``shapely.concave_hull`` (``ratio``) of the points not flagged far.
    level
        Share of points the KDE footprint encloses (default 0.75).
    bandwidth
        KDE bandwidth in metres; default Scott's rule ``σ n^(-1/6)`` with a robust σ
        (the smaller of the standard deviation and IQR/1.349, pooled over x and y).
    cells_per_bandwidth
        KDE grid resolution: the cell size is ``bandwidth / cells_per_bandwidth``.
    ratio
        Concave-hull ratio (0: tightest, 1: convex hull).
    far_z
        Points whose robust distance score from their name's median centre exceeds
        this are flagged ``far`` (see :func:`nbhd_geo.voices.outliers.robust_far`); they are
        reported, not dropped (the KDE keeps them; the hull leaves them out).
    min_points
        Names with fewer points get no footprint and are listed in ``skipped``.
    crs
        Projected working CRS; default: the points' CRS when projected, else
        ``settings.working_crs``.

    Returns
    -------
    PointFootprints

    Notes
    -----
    *Why a KDE highest-density region by default.* It is a contour of an estimated
    density, so it follows where answers concentrate, may come out in several
    parts, and is hardly moved by stray points (mis-geocoded postcodes, people naming
    a neighbourhood they do not live in), which fall below the level. The level
    :math:`f_\alpha` is the :math:`(1-\alpha)` quantile of the density at the points
    themselves, so the region :math:`\{f \ge f_\alpha\}` holds a share
    :math:`\alpha` of the points (Hyndman 1996, "Computing and graphing highest
    density regions"). A concave hull instead must contain every point kept, so one
    far point reshapes it; it is offered for comparison, on the non-far points only.

    Examples
    --------
    >>> import geopandas as gpd, shapely, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.normal(0, 100, (200, 2))
    >>> pts = gpd.GeoDataFrame({"neighbourhood": "A"},
    ...     geometry=shapely.points(xy), crs=27700, index=range(200))
    >>> fp = point_footprints(pts)
    >>> bool(fp.footprints.loc["A", "share_inside"] >= 0.74)
    True
    """
    if not isinstance(points, gpd.GeoDataFrame):
        raise InputError(f"expected a GeoDataFrame, got {type(points).__name__}",
                         argument="points", fix="build one with geopandas.points_from_xy")
    if points.crs is None:
        raise CRSError("has no CRS", argument="points", fix="set it, e.g. 'EPSG:4326'")
    if by not in points.columns:
        raise ColumnError(f"has no column {by!r}", argument="by",
                          fix=f"choose one of {[c for c in points.columns if c != 'geometry']}")
    if method not in ("kde", "concave_hull"):
        raise NbhdGeoError(f"unknown method {method!r}", argument="method",
                           fix="use 'kde' or 'concave_hull'")
    if not 0 < level < 1:
        raise NbhdGeoError(f"must be in (0, 1), got {level!r}", argument="level",
                           fix="pass e.g. 0.75")
    frame = points.to_crs(voices_crs(crs, points))
    geoms = np.asarray(frame.geometry.array, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms) | (shapely.get_type_id(geoms) != 0)
    if bad.any():
        raise NbhdGeoError("must be non-empty points", argument="points",
                           ids=frame.index[bad], fix="drop or geocode those rows")
    names = frame[by].astype("string").fillna("").to_numpy(dtype=object)
    xy = shapely.get_coordinates(geoms)
    counts = pd.Series(names).value_counts()
    ok = counts[(counts >= min_points) & (counts.index != "")]
    floor = np.zeros(len(xy))
    rows = []
    geoms_out = []
    for name in sorted(ok.index):
        sel = names == name
        p = xy[sel]
        if method == "kde":
            geom, h, cell = _kde(p, level, bandwidth, cells_per_bandwidth)
        else:
            h, cell, geom = np.nan, np.nan, None
        floor[sel] = h if np.isfinite(h) else _scott(p)
        rows.append({"name": name, "n_points": int(sel.sum()), "method": method,
                     "level": level if method == "kde" else np.nan, "bandwidth_m": h,
                     "cell_m": cell})
        geoms_out.append(geom)
    score, far = robust_far(xy[:, 0], xy[:, 1], names, z=far_z, floor=floor)
    for i, row in enumerate(rows):
        sel = names == row["name"]
        if method == "concave_hull":
            keep = sel & ~far
            geoms_out[i] = shapely.make_valid(shapely.concave_hull(
                shapely.multipoints(xy[keep]), ratio=ratio))
        row["n_far"] = int((sel & far).sum())
    fps = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["name", "n_points", "method", "level",
                                                         "bandwidth_m", "cell_m", "n_far"]),
                           geometry=geoms_out, crs=frame.crs).set_index("name")
    inside = np.zeros(len(xy), bool)
    pos = pd.Series(np.arange(len(fps)), index=fps.index)
    has = pd.Series(names).isin(fps.index).to_numpy()
    if has.any():
        g = np.asarray(fps.geometry.array, dtype=object)[pos.reindex(names[has]).to_numpy()]
        inside[has] = shapely.covers(g, geoms[has])
    fps["n_inside"] = pd.Series(inside).groupby(names).sum().reindex(fps.index).to_numpy()
    fps["share_inside"] = fps["n_inside"] / fps["n_points"]
    fps["area_m2"] = shapely.area(np.asarray(fps.geometry.array))
    fps = fps[["n_points", "n_far", "n_inside", "share_inside", "area_m2", "method", "level",
               "bandwidth_m", "cell_m", "geometry"]]
    reasons = []
    for i in range(len(xy)):
        r = []
        if far[i]:
            r.append(f"far from the other {names[i]!r} points (score {score[i]:.1f})")
        if not has[i]:
            r.append("no footprint for its name (too few points)" if names[i]
                     else "no name")
        reasons.append("; ".join(r))
    pts = pd.DataFrame({"name": frame[by].to_numpy(), "score": score, "far": far,
                        "inside": inside, "flagged": far | ~has,
                        "reasons": reasons}, index=points.index.copy())
    skipped = counts[~counts.index.isin(fps.index)]
    skipped.index.name = "name"
    return PointFootprints(footprints=fps, points=pts, skipped=skipped)
