"""Outlier drawings: flagged with reasons, never dropped silently.

Every drawing gets one row: measures of its shape and of how it sits among the other
drawings of the same neighbourhood, one boolean column per check and a ``reasons``
text. :func:`nbhd_geo.voices.consensus.consensus` leaves flagged drawings out only when its
``exclude=`` asks for those flags.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import ColumnError, NbhdGeoError
from nbhd_geo.overlay.crosswalk import pair_areas
from nbhd_geo.voices._crs import prepare_layer, voices_crs
from nbhd_geo.voices.consensus import consensus as _consensus
from nbhd_geo.voices.options import DEFAULT_CUTOFFS, OutlierCutoffs

__all__ = ["FLAGS", "outliers", "robust_far"]

#: Every check :func:`outliers` can run, in report order.
FLAGS = ("repaired", "rectangle", "few_vertices", "sliver", "area_ratio", "far_centroid",
         "low_core_overlap", "duplicate")


def robust_far(x: np.ndarray, y: np.ndarray, group: np.ndarray, *, z: float = 3.5,
               floor: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Robust distance score of points from their group's median centre.

    ``d`` is the distance to the coordinate-wise median of the group;
    ``score = (d − median d) / max(1.4826·MAD(d), floor)``; a point is far when
    ``score > z`` (Iglewicz & Hoaglin 1993 use 3.5). Groups of fewer than 3 points get
    NaN scores and are never far.

    Returns
    -------
    (score, far)

    Examples
    --------
    >>> x = np.array([0.0, 1, 2, 1, 50]); y = np.array([0.0, 1, 0, 2, 50])
    >>> score, far = robust_far(x, y, np.zeros(5, int))
    >>> far.tolist()
    [False, False, False, False, True]
    """
    score = np.full(len(x), np.nan)
    floor = np.broadcast_to(np.asarray(floor, dtype=float), len(x))
    frame = pd.DataFrame({"g": group, "x": x, "y": y})
    for _, idx in frame.groupby("g", sort=True).indices.items():
        if len(idx) < 3:
            continue
        d = np.hypot(x[idx] - np.median(x[idx]), y[idx] - np.median(y[idx]))
        med = np.median(d)
        scale = max(1.4826 * np.median(np.abs(d - med)), float(np.max(floor[idx])), 1e-9)
        score[idx] = (d - med) / scale
    return score, np.nan_to_num(score, nan=-np.inf) > z


def _report_rows(report: Any, ids: pd.Index) -> pd.DataFrame:
    rows = report.rows if hasattr(report, "rows") else pd.DataFrame(report)
    rows = rows.drop_duplicates("feature_id").set_index("feature_id")
    return rows.reindex(ids.astype(str))


def _exterior_vertices(geoms: np.ndarray) -> np.ndarray:
    """Distinct vertices of the largest part's exterior ring."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    area = shapely.area(parts)
    order = np.lexsort((-area, idx))
    first = np.ones(len(order), bool)
    first[1:] = idx[order][1:] != idx[order][:-1]
    big = parts[order][first]
    n = shapely.get_num_coordinates(shapely.get_exterior_ring(big)) - 1
    out = np.zeros(len(geoms), np.int64)
    out[idx[order][first]] = n
    return out


def _duplicates(geoms: np.ndarray, ids: np.ndarray, names: np.ndarray,
                iou_min: float) -> np.ndarray:
    """For each drawing, the id of a smaller-id drawing it duplicates (or None)."""
    out = np.full(len(geoms), None, dtype=object)
    key = shapely.to_wkb(shapely.normalize(geoms))
    sid = np.array([str(i) for i in ids], dtype=object)
    frame = pd.DataFrame({"key": key, "sid": sid, "pos": np.arange(len(geoms))})
    frame = frame.sort_values(["key", "sid"], kind="stable")
    first = frame.groupby("key", sort=False)["sid"].transform("first")
    dup = frame["sid"].to_numpy() != first.to_numpy()
    out[frame["pos"].to_numpy()[dup]] = first.to_numpy()[dup]
    # near-identical drawings of the same neighbourhood (IoU above iou_min)
    area = shapely.area(geoms)
    bounds = shapely.bounds(geoms)
    order = np.lexsort((sid, area, names.astype(str)))
    for off in range(1, 6):
        i, j = order[:-off], order[off:]
        cand = (names[i] == names[j]) & (area[j] <= area[i] * (2 - iou_min) + 1e-9)
        tol = (1 - iou_min) * np.sqrt(area[i]) * 4
        cand &= (np.abs(bounds[i] - bounds[j]) <= tol[:, None]).all(axis=1)
        free = np.array([a is None for a in out], dtype=bool)
        cand &= free[j] | free[i]
        if not cand.any():
            continue
        i, j = i[cand], j[cand]
        inter = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        iou = inter / (area[i] + area[j] - inter)
        hit = iou > iou_min
        for a, b in zip(i[hit], j[hit], strict=True):
            lo, hi = (a, b) if sid[a] < sid[b] else (b, a)
            if out[hi] is None and out[lo] != sid[hi]:
                out[hi] = out[lo] if out[lo] is not None else sid[lo]
    return out


def outliers(
    drawings: gpd.GeoDataFrame,
    consensus: Any = None,
    *,
    by: str = "neighbourhood",
    report: Any = None,
    checks: Sequence[str] | None = None,
    cutoffs: OutlierCutoffs = DEFAULT_CUTOFFS,
    crs: object | None = None,
) -> pd.DataFrame:
    """Flag implausible drawings, with the reason for each flag.

    Parameters
    ----------
    drawings
        Polygon drawings indexed by drawing id with a name column ``by``.
    consensus
        A :class:`~nbhd_geo.voices.consensus.Consensus` of these drawings for the
        ``low_core_overlap`` check; computed (default grid) when needed and not given.
    by
        The neighbourhood-name column.
    report
        The :class:`~nbhd_geo.io.read.ReadReport` of the drawings: drawings it repaired
        (invalid input) are flagged ``repaired`` with its reason.
    checks
        Flags to compute (default: all of :data:`FLAGS`); the others are False.
    cutoffs
        The cut-off of each flag (:class:`~nbhd_geo.voices.options.OutlierCutoffs`):
        ``rectangle``: area / bounding-box area ≥ ``rect_min`` (0.98), i.e. an
        axis-aligned rectangle (the minimum rotated rectangle is then the bounding
        box); ``few_vertices``: fewer distinct vertices than ``min_vertices`` (4) on
        the outer ring; ``sliver``: Polsby–Popper compactness 4πA/P² below
        ``sliver_max`` (0.05; a 1:50 strip is 0.06); ``area_ratio``: area over the
        neighbourhood's median area ≥ ``area_factor`` (10) or ≤ 1/``area_factor``;
        ``far_centroid``: robust score of the centroid's distance to the median
        centroid above ``far_z`` (3.5; see :func:`robust_far`; scale floor: 10 % of
        the width of a median drawing); ``low_core_overlap``: intersection over union
        with the neighbourhood's core at ``core_threshold`` (0.5) below ``iou_min``
        (0.2); ``duplicate``: same normalised geometry as another drawing, or IoU
        above ``duplicate_iou`` (0.999) with another drawing of the same
        neighbourhood; the drawing with the smallest id is the original and is not
        flagged.
    crs
        Projected working CRS (default: the drawings' CRS when projected).

    Returns
    -------
    DataFrame
        Indexed like ``drawings``: ``name``, ``area_m2``, ``n_vertices``,
        ``rectangularity``, ``polsby_popper``, ``area_vs_median``, ``centroid_score``,
        ``core_iou``, ``duplicate_of``, one bool column per flag, ``n_flags``,
        ``flagged`` and ``reasons`` (``"; "``-joined, ``""`` when none).

    Notes
    -----
    Shape checks follow the junk seen in public drawing exercises (Bostonography
    removed "joke" drawings before contouring): rectangles dragged with a box tool,
    triangles of three clicks and slivers. Neighbourhood-relative checks are robust
    (medians and MAD), so a few outliers cannot hide each other; groups of fewer than
    three drawings are not scored. pjsier/dnainfo_neighborhoods scores each drawing
    by its mean overlap with the others; the IoU with the 50 % core is the same idea
    at lower cost.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> d = gpd.GeoDataFrame({"neighbourhood": ["A"] * 4},
    ...     geometry=[shapely.Point(0, 0).buffer(100), shapely.Point(10, 0).buffer(100),
    ...               shapely.Point(0, 10).buffer(100), shapely.box(-90, -90, 90, 90)],
    ...     index=["a", "b", "c", "d"], crs=27700)
    >>> out = outliers(d, checks=["rectangle", "duplicate"])
    >>> out["reasons"].tolist()
    ['', '', '', 'axis-aligned rectangle (area/bbox 1.00)']
    """
    cut = cutoffs
    checks = list(FLAGS) if checks is None else list(checks)
    unknown = [c for c in checks if c not in FLAGS]
    if unknown:
        raise NbhdGeoError(f"unknown checks {unknown}", argument="checks",
                           fix=f"use some of {list(FLAGS)}")
    if by not in drawings.columns:
        raise ColumnError(f"has no column {by!r}", argument="by",
                          fix=f"choose one of {[c for c in drawings.columns if c != 'geometry']}")
    prep = prepare_layer(drawings, argument="drawings", crs=voices_crs(crs, drawings))
    geoms = prep.geoms
    names = prep.frame[by].astype("string").fillna("").to_numpy(dtype=object)
    area = shapely.area(geoms)
    out = pd.DataFrame({"name": prep.frame[by].to_numpy(), "area_m2": area},
                       index=drawings.index.copy())
    reasons: list[list[str]] = [[] for _ in range(len(out))]

    def flag(col: str, mask: np.ndarray, text: Any) -> None:
        mask = np.asarray(mask, bool) if col in checks else np.zeros(len(out), bool)
        out[col] = mask
        for i in np.flatnonzero(mask):
            reasons[i].append(text(i) if callable(text) else text)

    rep_reason = np.full(len(out), "", dtype=object)
    repaired = np.zeros(len(out), bool)
    if report is not None:
        rows = _report_rows(report, out.index)
        repaired = (rows["status"] == "repaired").fillna(False).to_numpy(bool)
        rep_reason = rows["reason"].fillna("").to_numpy(dtype=object)
    flag("repaired", repaired, lambda i: f"invalid input, repaired ({rep_reason[i]})")

    out["n_vertices"] = _exterior_vertices(geoms)
    out["rectangularity"] = area / np.maximum(shapely.area(shapely.envelope(geoms)), 1e-12)
    out["polsby_popper"] = 4 * np.pi * area / np.maximum(shapely.length(geoms), 1e-12) ** 2
    rect = ((out["rectangularity"].to_numpy() >= cut.rect_min)
            & (out["n_vertices"].to_numpy() <= 8))
    flag("rectangle", rect,
         lambda i: f"axis-aligned rectangle (area/bbox {out['rectangularity'].iat[i]:.2f})")
    flag("few_vertices", out["n_vertices"].to_numpy() < cut.min_vertices,
         lambda i: f"only {out['n_vertices'].iat[i]} vertices")
    flag("sliver", out["polsby_popper"].to_numpy() < cut.sliver_max,
         lambda i: f"sliver (Polsby-Popper {out['polsby_popper'].iat[i]:.3f})")

    size = pd.Series(names).map(pd.Series(names).value_counts()).to_numpy()
    med_area = pd.Series(area).groupby(names).transform("median").to_numpy()
    ratio = np.where(size >= 3, area / med_area, np.nan)
    out["area_vs_median"] = ratio
    extreme = (ratio >= cut.area_factor) | (ratio <= 1 / cut.area_factor)
    flag("area_ratio", np.nan_to_num(extreme, nan=0).astype(bool),
         lambda i: f"area {ratio[i]:.3g}× the neighbourhood median")

    cxy = shapely.get_coordinates(shapely.centroid(geoms))
    score, far = robust_far(cxy[:, 0], cxy[:, 1], names, z=cut.far_z,
                            floor=0.1 * np.sqrt(med_area))
    out["centroid_score"] = score
    flag("far_centroid", far, lambda i: f"centroid far from the others (score {score[i]:.1f})")

    iou = np.full(len(out), np.nan)
    if "low_core_overlap" in checks:
        iou = _core_iou(drawings, consensus, geoms, names, by, cut.core_threshold, crs)
    out["core_iou"] = iou
    flag("low_core_overlap", np.nan_to_num(iou, nan=1.0) < cut.iou_min,
         lambda i: f"IoU {iou[i]:.2f} with the {cut.core_threshold:.0%} core")

    dup = (_duplicates(geoms, out.index.to_numpy(), names, cut.duplicate_iou)
           if "duplicate" in checks else np.full(len(out), None, dtype=object))
    out["duplicate_of"] = dup
    flag("duplicate", np.array([d is not None for d in dup]),
         lambda i: f"duplicate of {dup[i]}")

    flags = out[list(FLAGS)]
    out = out[["name", "area_m2", "n_vertices", "rectangularity", "polsby_popper",
               "area_vs_median", "centroid_score", "core_iou", "duplicate_of"]].join(flags)
    out["n_flags"] = flags.sum(axis=1).astype(int)
    out["flagged"] = out["n_flags"] > 0
    out["reasons"] = ["; ".join(r) for r in reasons]
    return out


def _core_iou(drawings: gpd.GeoDataFrame, cons: Any, geoms: np.ndarray, names: np.ndarray,
              by: str, t: float, crs: object | None) -> np.ndarray:
    if cons is None:
        cons = _consensus(drawings, by=by, thresholds=(t,), crs=crs)
    cores = cons.cores[np.isclose(cons.cores["threshold"], t)]
    if len(cores) == 0:
        return np.full(len(geoms), np.nan)
    cores = cores.to_crs(cons.crs)
    core_pos = pd.Series(np.arange(len(cores)), index=cores["name"].astype(str).to_numpy())
    cg = np.asarray(cores.geometry.array, dtype=object)
    pos = core_pos.reindex(names.astype(str)).to_numpy()
    has = ~np.isnan(pos)
    iou = np.full(len(geoms), np.nan)
    if not has.any():
        return iou
    sel = np.flatnonzero(has)
    ia, ib, inter = pair_areas(geoms[sel], cg)
    match = pos[sel][ia] == ib
    got = np.zeros(len(sel))
    np.add.at(got, ia[match], inter[match])
    a = shapely.area(geoms[sel])
    b = shapely.area(cg)[pos[sel].astype(np.int64)]
    iou[sel] = got / (a + b - got)
    return iou


# Register the checks with consensus (see consensus._OUTLIER_HOOK). The module object comes from
# sys.modules because the package attribute ``consensus`` is the function of that name.
_consensus_module = importlib.import_module("nbhd_geo.voices.consensus")
_consensus_module._OUTLIER_HOOK = (FLAGS, outliers)  # type: ignore[attr-defined]
