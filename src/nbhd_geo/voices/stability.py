"""How stable is a consensus core? Bootstrap the drawings and see how often ground stays in.

A core drawn from 12 drawings can move a long way if three other residents had taken
part; one drawn from 900 hardly moves. :func:`core_stability` resamples each
neighbourhood's drawings with replacement (seeded), recomputes the agreement core
every time, and reports for each cell the *frequency* with which it is in the core.
Ground in the core in at least 95 % of resamples is the *inner* band edge, ground in
the core in at least 5 % is the *outer* edge: the ring between is the core's
confidence band. A neighbourhood is flagged ``unstable`` when its resampled cores
overlap the full-sample core poorly (one resample in 20 overlaps it by an IoU below
``min_iou``) or it has too few drawings.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.voices._runs import DrawingRuns, prepared_drawings

__all__ = ["Stability", "core_stability"]


@dataclass(frozen=True)
class Stability:
    """The result of :func:`core_stability`.

    Attributes
    ----------
    summary
        One row per name (index ``name``): ``n_drawings``, ``core_m2`` (full-sample
        core), ``inner_m2`` and ``outer_m2`` (ground in the core in ≥ ``band[1]`` and
        ≥ ``band[0]`` of resamples), ``band_ratio`` (inner / outer: 1 = perfectly
        stable), ``iou_median`` and ``iou_p05`` (IoU of resampled cores with the
        full-sample core), ``empty_share`` (share of resamples with no core),
        ``unstable`` and ``reason``.
    frequency
        One row per run of cells ever in a core: ``name``, ``row``, ``c0``, ``c1``
        (cells ``[c0, c1)`` of the grid), ``frequency`` (share of resamples in the
        core) and ``in_core`` (in the full-sample core).
    bands
        GeoDataFrame, one row per name and ``kind``: ``core`` (full sample),
        ``inner``, ``outer`` and ``band`` (outer minus inner), with ``area_m2``.
    threshold, n_boot, seed, cell_size, band
        The settings used.
    crs
        The working CRS.
    """

    summary: pd.DataFrame
    frequency: pd.DataFrame
    bands: gpd.GeoDataFrame
    threshold: float
    n_boot: int
    seed: int
    cell_size: float
    band: tuple[float, float]
    crs: str

    def to_frame(self) -> pd.DataFrame:
        """Return the per-name summary (a copy)."""
        return self.summary.copy()

    @property
    def unstable(self) -> pd.Series:
        """Boolean flag per name."""
        return self.summary["unstable"]


def _check(threshold: float, n_boot: int, band: tuple[float, float], min_iou: float) -> None:
    if not 0 < threshold <= 1:
        raise NbhdGeoError(f"must be a share in (0, 1], got {threshold!r}",
                           argument="threshold", fix="pass e.g. threshold=0.5")
    if int(n_boot) < 10:
        raise NbhdGeoError(f"needs at least 10 resamples, got {n_boot!r}", argument="n_boot",
                           fix="pass n_boot=200 (or 100 for a quick look)")
    lo, hi = band
    if not 0 < lo < hi <= 1:
        raise NbhdGeoError(f"must be two shares 0 < low < high ≤ 1, got {band!r}",
                           argument="band", fix="pass e.g. band=(0.05, 0.95)")
    if not 0 <= min_iou <= 1:
        raise NbhdGeoError(f"must be in [0, 1], got {min_iou!r}", argument="min_iou",
                           fix="pass e.g. min_iou=0.75")


def core_stability(
    drawings: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    threshold: float = 0.5,
    n_boot: int = 200,
    seed: int = 0,
    cell_size: float | None = None,
    weight_col: str | None = None,
    band: tuple[float, float] = (0.05, 0.95),
    min_iou: float = 0.75,
    min_drawings: int = 10,
    crs: object | None = None,
) -> Stability:
    r"""Bootstrap each neighbourhood's drawings: core frequency per cell, bands, stability.

    Parameters
    ----------
    drawings
        Polygon drawings indexed by id with a name column ``by`` (as from
        :func:`nbhd_geo.read_drawings`). Unnamed drawings are ignored.
    by
        The neighbourhood-name column.
    threshold
        Agreement level of the core (0.5: half the drawers agree).
    n_boot
        Number of resamples (≥ 10).
    seed
        Seed of the resampling (results are identical for the same seed).
    cell_size
        Grid cell in metres; ``None`` chooses it as :func:`nbhd_geo.voices.consensus.consensus`
        does.
    weight_col
        Optional weight per drawing (e.g. from :func:`nbhd_geo.voices.weighting.rake`):
        weighted cores, resampled with their weights.
    band
        ``(low, high)`` core frequencies bounding the band (default 5 % and 95 %).
    min_iou, min_drawings
        A name is ``unstable`` when the 5th percentile of the IoU of its resampled
        cores with the full-sample core is below ``min_iou`` (one resample in 20
        moves the core that much) or it has fewer than ``min_drawings`` drawings.
    crs
        Projected working CRS; default: the drawings' CRS when projected, else
        ``settings.working_crs``.

    Returns
    -------
    Stability

    Notes
    -----
    Each resample draws :math:`n_k` drawings with replacement from the :math:`n_k`
    drawings of neighbourhood :math:`k` (a stratified non-parametric bootstrap), so a
    drawing's weight becomes its multiplicity :math:`m_d` (times its own weight). The
    core of a resample is :math:`\{p : \sum_d m_d w_d [p \in d] \ge t \sum_d m_d w_d\}`
    on the grid of the full sample; the frequency of a cell is the share of
    resamples whose core holds it. The band :math:`\{p : f_{lo} \le f(p) < f_{hi}\}` is a
    pointwise percentile band, not a simultaneous one.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> d = gpd.GeoDataFrame({"neighbourhood": ["A"] * 12},
    ...     geometry=[shapely.box(i, 0, 100 + i, 100) for i in range(12)], crs=27700)
    >>> s = core_stability(d, n_boot=50, cell_size=5.0, min_drawings=5)
    >>> s.summary[["n_drawings", "unstable"]]
          n_drawings  unstable
    name
    A             12     False
    """
    _check(threshold, n_boot, band, min_iou)
    frame, names, weight, target = prepared_drawings(drawings, by=by, crs=crs,
                                                     weight_col=weight_col)
    if len(frame) == 0:
        raise NbhdGeoError("no named drawings", argument="drawings",
                           fix=f"check the name column by={by!r}")
    runs = DrawingRuns.build(np.asarray(frame.geometry.array), names, cell_size)
    full = runs.core(weight, threshold)
    rng = np.random.default_rng(seed)
    hits = np.zeros(len(full))
    ious = np.empty((int(n_boot), runs.n_names))
    empty = np.zeros(runs.n_names)
    for b in range(int(n_boot)):
        core_b = runs.core(runs.resample(rng) * weight, threshold)
        hits += core_b
        ious[b] = runs.iou(full, core_b)
        empty += runs.area(core_b) == 0
    freq = hits / n_boot
    lo, hi = band
    inner = freq >= hi - 1e-12
    outer = freq >= lo - 1e-12
    n_draw = np.bincount(runs.code, minlength=runs.n_names)
    summary = pd.DataFrame({"n_drawings": n_draw}, index=runs.names)
    summary["core_m2"] = runs.area(full)
    summary["inner_m2"] = runs.area(inner)
    summary["outer_m2"] = runs.area(outer)
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["band_ratio"] = summary["inner_m2"] / summary["outer_m2"]
    summary["iou_median"] = np.nanmedian(np.where(np.isnan(ious), 0.0, ious), axis=0)
    summary["iou_p05"] = np.nanpercentile(np.where(np.isnan(ious), 0.0, ious), 5, axis=0)
    summary["empty_share"] = empty / n_boot
    few = n_draw < min_drawings
    loose = summary["iou_p05"].to_numpy() < min_iou
    summary["unstable"] = few | loose
    summary["reason"] = [
        "; ".join(r for r, on in ((f"fewer than {min_drawings} drawings", f_),
                                  (f"5 % of resampled cores have IoU < {m:.2f} with the "
                                   f"full core (< {min_iou:g})", lo_))
                  if on)
        for f_, lo_, m in zip(few, loose, summary["iou_p05"].to_numpy(), strict=True)
    ]
    seen = hits > 0
    frequency = pd.DataFrame({
        "name": runs.names.to_numpy()[runs.piece_name[seen]],
        "row": runs.piece_row[seen], "c0": runs.piece_c0[seen], "c1": runs.piece_c1[seen],
        "frequency": freq[seen], "in_core": full[seen],
    })
    bands = _bands(runs, full, inner, outer & ~inner, outer, target.to_string())
    return Stability(summary=summary, frequency=frequency, bands=bands,
                     threshold=float(threshold), n_boot=int(n_boot), seed=int(seed),
                     cell_size=runs.grid.cell, band=(float(lo), float(hi)),
                     crs=target.to_string())


def _bands(runs: DrawingRuns, core: np.ndarray, inner: np.ndarray, ring: np.ndarray,
           outer: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    rows = []
    geoms = []
    for kind, mask in (("core", core), ("inner", inner), ("outer", outer), ("band", ring)):
        g = runs.geometry(mask)
        area = runs.area(mask)
        for k, name in enumerate(runs.names):
            rows.append({"name": name, "kind": kind, "area_m2": float(area[k])})
            geoms.append(g[k])
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=crs)
    return out.sort_values(["name", "kind"], kind="stable").reset_index(drop=True)
