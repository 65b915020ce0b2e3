"""How stable is a consensus core? Bootstrap the drawings and see how often ground stays in.

A core drawn from 12 drawings can move a long way if three other residents had taken
part; one drawn from 900 hardly moves. :func:`core_stability` resamples each
neighbourhood's drawings with replacement (seeded), recomputes the agreement core
every time, and reports for each cell the *frequency* with which it is in the core.

Two bands are offered. The *pointwise* band: ground in the core in at least 95 % of
resamples is its inner edge, ground in the core in at least 5 % its outer edge; each
cell on its own is inside with the stated frequency, but the whole core lies between
the two edges in far fewer resamples (about 60 % in synthetic checks). The
*simultaneous* band (``sim_inner``, ``sim_outer``) widens the edges until 90 % of the
resampled cores lie entirely between them (a max-statistic over the cells).

A neighbourhood is flagged ``unstable`` when more than one resample in 20 overlaps
the full-sample core by an IoU below ``min_iou``, or it has too few drawings. That
decision is a Monte Carlo estimate, so names close to the line are resampled again
(only their own drawings) until the estimate is clear of one in 20 by ``mc_z``
standard errors, or ``max_boot`` resamples are reached; those left are ``undecided``,
with their Monte Carlo error reported. The flag then no longer flips with the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.voices._runs import EPS, DrawingRuns, prepared_drawings
from nbhd_geo.voices.options import DEFAULT_STABILITY, StabilityRule

__all__ = ["Stability", "core_stability", "TAIL"]

#: a name is unstable when more than this share of resampled cores overlap the full
#: core by an IoU below ``min_iou`` ("one resample in 20")
TAIL = 0.05


@dataclass(frozen=True)
class Stability:
    """The result of :func:`core_stability`.

    Attributes
    ----------
    summary
        One row per name (index ``name``): ``n_drawings``, ``core_m2`` (full-sample
        core), ``inner_m2`` and ``outer_m2`` (the *pointwise* band: ground in the core
        in ≥ ``band[1]`` and ≥ ``band[0]`` of resamples), ``band_ratio`` (inner /
        outer: 1 = perfectly stable), ``sim_inner_m2`` and ``sim_outer_m2`` (the
        *simultaneous* band: ``band[1] - band[0]`` of the resampled cores lie wholly
        between them), ``sim_level`` (its edges: frequency ≥ ``sim_level`` and
        > 1 − ``sim_level``), ``iou_median`` and ``iou_p05`` (IoU of the first
        ``n_boot`` resampled cores with the full-sample core), ``empty_share`` (share
        of resamples with no core), ``p_below`` (share of resamples with IoU <
        ``min_iou``), ``n_resamples`` (resamples behind ``p_below``), ``mc_se`` (its
        Monte Carlo standard error), ``decision`` (``stable``, ``unstable``,
        ``undecided`` or ``too few drawings``), ``undecided`` (still within Monte
        Carlo error of 5 % after ``max_boot`` resamples: not flagged, since the flag
        would flip with the seed), ``unstable`` (too few drawings, or ``p_below``
        above 5 % beyond Monte Carlo error) and ``reason``.
    frequency
        One row per run of cells ever in a core: ``name``, ``row``, ``c0``, ``c1``
        (cells ``[c0, c1)`` of the grid), ``frequency`` (share of resamples in the
        core) and ``in_core`` (in the full-sample core).
    bands
        GeoDataFrame, one row per name and ``kind``: ``core`` (full sample),
        ``inner``, ``outer`` and ``band`` (outer minus inner) of the pointwise band,
        ``sim_inner``, ``sim_outer`` and ``sim_band`` of the simultaneous band, with
        ``area_m2``.
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


def _check(threshold: float, n_boot: int, band: tuple[float, float]) -> None:
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
    rule: StabilityRule = DEFAULT_STABILITY,
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
    rule
        :class:`~nbhd_geo.voices.options.StabilityRule`. A name is ``unstable`` when
        more than 5 % of its resampled cores overlap the full-sample core by an IoU
        below ``min_iou`` (0.75: one resample in 20 moves the core that much) or it
        has fewer than ``min_drawings`` (10) drawings. Names whose share of loose
        resamples is within ``mc_z`` Monte Carlo standard errors of 5 % are
        resampled again, doubling, up to ``max_boot`` (4000) resamples; still within
        it they are ``undecided`` (``mc_z`` 2.576: a decision that a repeat with
        another seed would reverse about once in a hundred).
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
    *pointwise* percentile band: each cell is in or out with its own frequency, but
    the resampled cores lie wholly between its edges far less often than
    :math:`f_{hi} - f_{lo}`. The *simultaneous* band uses one level :math:`\ell` per
    name: with :math:`s_b = \min(\min_{C_b} f, 1 - \max_{\bar C_b} f)` for each
    resampled core :math:`C_b`, every :math:`C_b` with :math:`s_b \ge \ell` satisfies
    :math:`\{f > 1 - \ell\} \subseteq C_b \subseteq \{f \ge \ell\}`, and :math:`\ell`
    is the largest level for which that holds for a share :math:`f_{hi} - f_{lo}` of
    the resamples.

    The ``unstable`` decision estimates :math:`q`, the bootstrap probability that a
    resampled core has IoU below ``min_iou``, by :math:`\hat q` from :math:`B`
    resamples; it is made when :math:`|\hat q - 0.05| > z \sqrt{0.05 \cdot 0.95 / B}`,
    resampling undecided names again with :math:`B` doubled up to ``max_boot``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> d = gpd.GeoDataFrame({"neighbourhood": ["A"] * 12},
    ...     geometry=[shapely.box(i, 0, 100 + i, 100) for i in range(12)], crs=27700)
    >>> s = core_stability(d, n_boot=50, cell_size=5.0, rule=StabilityRule(min_drawings=5))
    >>> s.summary[["n_drawings", "unstable"]]
          n_drawings  unstable
    name
    A             12     False
    """
    _check(threshold, n_boot, band)
    min_iou, min_drawings, max_boot, mc_z = rule.min_iou, rule.min_drawings, rule.max_boot, \
        rule.mc_z
    if int(max_boot) < int(n_boot):
        raise NbhdGeoError(f"must be at least n_boot ({n_boot}), got {max_boot!r}",
                           argument="max_boot",
                           fix=f"pass rule=StabilityRule(max_boot={max(int(n_boot), 4000)})")
    frame, names, weight, target = prepared_drawings(drawings, by=by, crs=crs,
                                                     weight_col=weight_col)
    if len(frame) == 0:
        raise NbhdGeoError("no named drawings", argument="drawings",
                           fix=f"check the name column by={by!r}")
    geoms = np.asarray(frame.geometry.array)
    runs = DrawingRuns.build(geoms, names, cell_size)
    full = runs.core(weight, threshold)
    rng = np.random.default_rng(seed)
    hits = np.zeros(len(full))
    ious = np.empty((int(n_boot), runs.n_names))
    empty = np.zeros(runs.n_names)
    packed = []
    for b in range(int(n_boot)):
        core_b = runs.core(runs.resample(rng) * weight, threshold)
        hits += core_b
        packed.append(np.packbits(core_b))
        ious[b] = runs.iou(full, core_b)
        empty += runs.area(core_b) == 0
    ious = np.where(np.isnan(ious), 0.0, ious)
    freq = hits / n_boot
    lo, hi = band
    inner = freq >= hi - 1e-12
    outer = freq >= lo - 1e-12
    level = _simultaneous_level(runs, freq, packed, len(full), hi - lo)
    sim_outer = freq >= level[runs.piece_name] - 1e-12
    sim_inner = freq > 1.0 - level[runs.piece_name] + 1e-12
    n_draw = np.bincount(runs.code, minlength=runs.n_names)
    summary = pd.DataFrame({"n_drawings": n_draw}, index=runs.names)
    summary["core_m2"] = runs.area(full)
    summary["inner_m2"] = runs.area(inner)
    summary["outer_m2"] = runs.area(outer)
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["band_ratio"] = summary["inner_m2"] / summary["outer_m2"]
    summary["sim_inner_m2"] = runs.area(sim_inner)
    summary["sim_outer_m2"] = runs.area(sim_outer)
    summary["sim_level"] = level
    summary["iou_median"] = np.median(ious, axis=0)
    summary["iou_p05"] = np.percentile(ious, 5, axis=0)
    summary["empty_share"] = empty / n_boot
    below = (ious < min_iou).sum(axis=0).astype(float)
    n_res = np.full(runs.n_names, float(n_boot))
    few = n_draw < min_drawings
    below, n_res = _sequential(runs, geoms, weight, threshold, full, rng, below, n_res,
                               ~few, min_iou, int(max_boot), mc_z)
    share = below / n_res
    se = np.sqrt(TAIL * (1 - TAIL) / n_res)
    decided = np.abs(share - TAIL) > mc_z * se
    loose = decided & (share > TAIL)
    summary["p_below"] = share
    summary["n_resamples"] = n_res.astype(int)
    summary["mc_se"] = np.sqrt(share * (1 - share) / n_res)
    summary["decision"] = np.where(few, "too few drawings",
                                   np.where(~decided, "undecided",
                                            np.where(loose, "unstable", "stable")))
    summary["undecided"] = ~few & ~decided
    # only a decision clear of Monte Carlo error flags a name: an undecided one would
    # flip with the seed, so it is reported (``undecided``, ``mc_se``), not flagged
    summary["unstable"] = few | loose
    summary["reason"] = [
        "; ".join(r for r, on in (
            (f"fewer than {min_drawings} drawings", f_),
            (f"{q:.1%} of resampled cores have IoU < {min_iou:g} with the full core "
             f"(more than {TAIL:.0%})", lo_),
            (f"undecided: {q:.1%} of {int(n):,} resampled cores have IoU < {min_iou:g}, "
             f"within Monte Carlo error of {TAIL:.0%}", und))
            if on)
        for f_, lo_, und, q, n in zip(few, loose, ~few & ~decided, share, n_res, strict=True)
    ]
    seen = hits > 0
    frequency = pd.DataFrame({
        "name": runs.names.to_numpy()[runs.piece_name[seen]],
        "row": runs.piece_row[seen], "c0": runs.piece_c0[seen], "c1": runs.piece_c1[seen],
        "frequency": freq[seen], "in_core": full[seen],
    })
    bands = _bands(runs, {"core": full, "inner": inner, "outer": outer,
                          "band": outer & ~inner, "sim_inner": sim_inner,
                          "sim_outer": sim_outer, "sim_band": sim_outer & ~sim_inner},
                   target.to_string())
    return Stability(summary=summary, frequency=frequency, bands=bands,
                     threshold=float(threshold), n_boot=int(n_boot), seed=int(seed),
                     cell_size=runs.grid.cell, band=(float(lo), float(hi)),
                     crs=target.to_string())


def _simultaneous_level(runs: DrawingRuns, freq: np.ndarray, packed: list[np.ndarray],
                        n_pieces: int, coverage: float) -> np.ndarray:
    """Per name, the frequency level ``l`` whose band holds ``coverage`` of the cores.

    For resample ``b`` with core ``C_b``, ``{f >= l} ⊇ C_b`` needs ``l <= min f`` over
    ``C_b`` and ``{f > 1 - l} ⊆ C_b`` needs ``l <= 1 - max f`` outside ``C_b``; so
    ``s_b = min(min_{C_b} f, 1 - max_{not C_b} f)`` and ``l`` is the largest level
    with ``s_b >= l`` for at least ``coverage`` of the resamples (a max-statistic
    over the cells of the name).
    """
    k = runs.n_names
    starts = np.searchsorted(runs.piece_name, np.arange(k))
    has = np.bincount(runs.piece_name, minlength=k) > 0
    s = np.ones((len(packed), k))
    for b, bits in enumerate(packed):
        core_b = np.unpackbits(bits, count=n_pieces).astype(bool)
        inside = np.where(core_b, freq, np.inf)
        outside = np.where(core_b, -np.inf, freq)
        if has.any():
            lo_f = np.minimum.reduceat(inside, starts[has])
            hi_f = np.maximum.reduceat(outside, starts[has])
            lo_f = np.where(np.isinf(lo_f), 1.0, lo_f)
            hi_f = np.where(np.isinf(hi_f), 0.0, hi_f)
            s[b, has] = np.minimum(lo_f, 1.0 - hi_f)
    n = len(packed)
    keep = int(np.ceil(coverage * n - 1e-9))
    return np.sort(s, axis=0)[n - keep] if keep > 0 else np.ones(k)


def _sequential(runs: DrawingRuns, geoms: np.ndarray, weight: np.ndarray, threshold: float,
                full: np.ndarray, rng: np.random.Generator, below: np.ndarray,
                n_res: np.ndarray, eligible: np.ndarray, min_iou: float, max_boot: int,
                z: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample the names whose decision is within Monte Carlo error, up to ``max_boot``.

    Only those names' drawings are resampled (on the same grid, so their pieces and
    full-sample cores are the same), in rounds that double the resamples so far.
    """
    below, n_res = below.copy(), n_res.copy()
    while True:
        share = below / n_res
        open_ = eligible & (np.abs(share - TAIL) <= z * np.sqrt(TAIL * (1 - TAIL) / n_res)) \
            & (n_res < max_boot)
        if not open_.any():
            return below, n_res
        names = np.flatnonzero(open_)
        sel = np.isin(runs.code, names)
        sub = DrawingRuns.build(geoms[sel], runs.names.to_numpy()[runs.code[sel]],
                                grid=runs.grid)
        where = runs.names.get_indexer(sub.names)
        w = weight[sel]
        sub_full = sub.core(w, threshold)
        # open names have all run the same resamples so far: double them, up to max_boot
        extra = int(min(n_res[names].min(), max_boot - n_res[names].max()))
        below[where] += _below(sub, w, sub_full, threshold, min_iou, rng, extra)
        n_res[where] += extra


def _below(runs: DrawingRuns, weight: np.ndarray, full: np.ndarray, threshold: float,
           min_iou: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """Per name, how many of ``n`` resampled cores have IoU < ``min_iou`` with ``full``.

    Resamples run in batches: one cumulative sum over the run events per batch row,
    as :meth:`DrawingRuns.core` does for one weight vector.
    """
    k = runs.n_names
    starts = np.searchsorted(runs.piece_name, np.arange(k))
    has = np.bincount(runs.piece_name, minlength=k) > 0
    onehot = np.zeros((len(runs.code), k))
    onehot[np.arange(len(runs.code)), runs.code] = 1.0
    width = (runs.piece_c1 - runs.piece_c0).astype(float)
    nd = np.bincount(runs.code, minlength=k)
    order = np.argsort(runs.code, kind="stable")
    first = np.concatenate([[0], np.cumsum(nd)[:-1]])
    m = len(runs.code)
    batch = max(1, min(64, (1 << 22) // max(len(runs.ev_drawing), 1)))
    out = np.zeros(k)
    done = 0
    while done < n:
        size = min(batch, n - done)
        pick = first[runs.code] + np.floor(rng.random((size, m)) * nd[runs.code]).astype(np.int64)
        rows = np.repeat(np.arange(size), m) * m
        mult = np.bincount(rows + order[pick].ravel(), minlength=size * m).reshape(size, m)
        w = mult * weight[None, :]
        tot = w @ onehot
        scale = np.maximum(np.abs(w).max(axis=1, initial=1.0), 1.0)[:, None]
        c = np.cumsum(w[:, runs.ev_drawing] * runs.ev_sign, axis=1)[:, runs.piece_event]
        core = (c > EPS * scale) & (c >= threshold * tot[:, runs.piece_name] - EPS * scale)
        if has.any():
            inter = np.add.reduceat((core & full) * width, starts[has], axis=1)
            union = np.add.reduceat((core | full) * width, starts[has], axis=1)
            iou = np.zeros((size, k))
            with np.errstate(invalid="ignore", divide="ignore"):
                iou[:, has] = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
            out += (iou < min_iou).sum(axis=0)
        else:
            out += size * (min_iou > 0)
        done += size
    return out


def _bands(runs: DrawingRuns, masks: dict[str, np.ndarray], crs: str) -> gpd.GeoDataFrame:
    rows = []
    geoms = []
    for kind, mask in masks.items():
        g = runs.geometry(mask)
        area = runs.area(mask)
        for k, name in enumerate(runs.names):
            rows.append({"name": name, "kind": kind, "area_m2": float(area[k])})
            geoms.append(g[k])
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=crs)
    return out.sort_values(["name", "kind"], kind="stable").reset_index(drop=True)
