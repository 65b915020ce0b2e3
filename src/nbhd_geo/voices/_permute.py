"""The permutation engine of :func:`nbhd_geo.voices.compare.compare_drawings`.

Per-name permutation tests only become able to say "changed" with enough
permutations: with Holm's correction over ``m`` names the smallest adjusted p-value a
test with ``B`` permutations can reach is ``m / (B + 1)``, so 199 permutations can
never flag anything once more than 10 names are compared. Running thousands of
permutations for every name would be slow, so this engine

* is *vectorised*: a batch of permutations is one integer cumulative sum over the
  fixed run events of :class:`~nbhd_geo.voices._runs.DrawingRuns` (the set-``b``
  count of a piece is the fixed total minus the set-``a`` count, so one sum serves
  both cores);
* is *sequential* (Besag and Clifford 1991): a name stops being permuted once
  ``h`` permutations have reached its observed statistic, with the valid p-value
  ``h / L`` (``L`` permutations run). Names with no change stop after a few dozen
  permutations; only names that look changed run on to the cap, and only their own
  run events are summed.

Besag, J. and Clifford, P. (1991) "Sequential Monte Carlo p-values",
*Biometrika* 78(2), 301-304.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nbhd_geo.voices._runs import DrawingRuns

__all__ = ["SplitTest", "split_test", "holm", "benjamini_hochberg", "reachable_names"]

# elements of one batch's cumulative-sum matrix (int32: 4 bytes each)
_BATCH_ELEMENTS = 1 << 22
_MAX_BATCH = 64


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error rate).

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate).

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")[::-1]
    adj = np.minimum(1.0, np.minimum.accumulate(p[order] * m / (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adj
    return out


def reachable_names(n_a: np.ndarray, n_b: np.ndarray, alpha: float) -> np.ndarray:
    """Names whose split has enough distinct relabellings to reach ``alpha`` after Holm.

    A name drawn ``n_a`` and ``n_b`` times has at most ``C(n_a + n_b, n_a)`` distinct
    relabellings, so its permutation p-value is never below ``1 / C(n_a + n_b, n_a)``.
    Names that cannot reach ``alpha / m`` even then are left out of the family (the
    sizes are fixed by the design, not by the outcome, so the Holm guarantee holds for
    the family that is left); ``m`` is recounted until it settles.

    Examples
    --------
    >>> reachable_names(np.array([2, 30, 40]), np.array([2, 30, 35]), 0.05).tolist()
    [False, True, True]
    """
    lg = np.array([math.lgamma(a + b + 1) - math.lgamma(a + 1) - math.lgamma(b + 1)
                   for a, b in zip(n_a, n_b, strict=True)])
    keep = np.ones(len(lg), bool)
    while True:
        m = int(keep.sum())
        if m == 0:
            return keep
        now = keep & (lg >= math.log(m / alpha))
        if (now == keep).all():
            return keep
        keep = now


@dataclass(frozen=True)
class SplitTest:
    """Per-name results of :func:`split_test`.

    Attributes
    ----------
    statistic
        Observed 1 - IoU of the two cores per name.
    p_value
        Sequential Monte Carlo p-value per name.
    n_perm
        Permutations run per name.
    exceed
        Permutations whose statistic reached the observed one, per name.
    overall_p, overall_n
        The overall test of the mean statistic and its number of permutations.
    """

    statistic: np.ndarray
    p_value: np.ndarray
    n_perm: np.ndarray
    exceed: np.ndarray
    overall_p: float
    overall_n: int


class _View:
    """The drawings, run events and pieces of a subset of names, ready for batched sums."""

    def __init__(self, eng: _Engine, names: np.ndarray) -> None:
        self.names = names
        lo_e, hi_e = eng.ev_lo[names], eng.ev_hi[names]
        lo_p, hi_p = eng.pc_lo[names], eng.pc_hi[names]
        ne = hi_e - lo_e
        npc = hi_p - lo_p
        new_e = np.concatenate([[0], np.cumsum(ne)[:-1]])
        idx_e = _ranges(lo_e, ne)
        idx_p = _ranges(lo_p, npc)
        # the names' drawings, in name order, numbered locally
        nd = eng.n[names]
        self.drawings = eng.order[_ranges(eng.draw_lo[names], nd)]
        local = np.full(len(eng.code), -1, np.int64)
        local[self.drawings] = np.arange(len(self.drawings))
        # one gather per event from [-labels, +labels]: the event's drawing and sign
        # (int32 indices: the gathers are memory-bound)
        self.ev_index = (local[eng.ev_drawing[idx_e]]
                         + len(self.drawings) * (eng.ev_sign[idx_e] > 0)).astype(np.int32)
        self.piece_pos = (eng.piece_event[idx_p]
                          - np.repeat(lo_e - new_e, npc)).astype(np.int32)
        self.need_a = eng.need_a_piece[idx_p]
        self.max_a = eng.max_a_piece[idx_p]
        self.width = eng.width[idx_p]
        self.starts = np.concatenate([[0], np.cumsum(npc)[:-1]])
        self.n_events = len(idx_e)
        self.block = np.repeat(np.arange(len(names)), nd).astype(float)
        start = np.concatenate([[0], np.cumsum(nd)[:-1]])
        within = np.arange(len(self.drawings)) - np.repeat(start, nd)
        self.first_a = (within < np.repeat(eng.n_a[names], nd)).astype(np.int8)

    def labels(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` relabellings (rows): each name's drawings shuffled, sizes kept."""
        keys = rng.random((size, len(self.block))) + self.block[None, :]
        pos = np.argsort(keys, axis=1, kind="stable")
        out = np.empty((size, len(self.block)), np.int8)
        np.put_along_axis(out, pos, np.broadcast_to(self.first_a, pos.shape), axis=1)
        return out


def _ranges(lo: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(lo[i], lo[i] + n[i])``."""
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    return np.arange(total) - np.repeat(start - lo, n)


class _Engine:
    """Fixed arrays for relabelling the drawings of ``runs`` between two sets."""

    def __init__(self, runs: DrawingRuns, in_a: np.ndarray, threshold: float) -> None:
        code = runs.code
        k = runs.n_names
        self.n = np.bincount(code, minlength=k)
        self.n_a = np.bincount(code, weights=in_a, minlength=k).astype(np.int64)
        self.n_b = self.n - self.n_a
        ev_name = code[runs.ev_drawing]
        bounds_e = np.searchsorted(ev_name, np.arange(k + 1))
        bounds_p = np.searchsorted(runs.piece_name, np.arange(k + 1))
        self.ev_lo, self.ev_hi = bounds_e[:-1], bounds_e[1:]
        self.pc_lo, self.pc_hi = bounds_p[:-1], bounds_p[1:]
        self.ev_drawing = runs.ev_drawing
        self.ev_sign = runs.ev_sign
        self.piece_event = runs.piece_event
        total = np.rint(runs.counts(np.ones(len(code)))).astype(np.int64)
        # runs.core keeps a piece when count > 0 and count >= threshold * n - 1e-9; on
        # whole counts that is count >= need (at least 1)
        need_a = np.maximum(1, np.ceil(threshold * self.n_a - 1e-9)).astype(np.int64)
        need_b = np.maximum(1, np.ceil(threshold * self.n_b - 1e-9)).astype(np.int64)
        pn = runs.piece_name
        self.need_a_piece = need_a[pn].astype(np.int32)
        # b's count is total - a's count, so b's core is "a's count <= total - need_b"
        self.max_a_piece = (total - need_b[pn]).astype(np.int32)
        self.width = (runs.piece_c1 - runs.piece_c0).astype(np.int64)
        self.code = code
        self.order = np.argsort(code, kind="stable")
        self.draw_lo = np.concatenate([[0], np.cumsum(self.n)[:-1]])

    def statistic(self, view: _View, labels: np.ndarray) -> np.ndarray:
        """1 - IoU of the two cores per name of ``view`` for each row of ``labels``."""
        if view.n_events == 0:
            return np.zeros((len(labels), len(view.names)))
        signed = np.concatenate([-labels, labels], axis=1)
        vals = np.take(signed, view.ev_index, axis=1)
        cnt = np.take(np.cumsum(vals, axis=1, dtype=np.int32), view.piece_pos, axis=1)
        core_a = cnt >= view.need_a
        core_b = cnt <= view.max_a
        inter = np.add.reduceat((core_a & core_b) * view.width, view.starts, axis=1)
        union = np.add.reduceat((core_a | core_b) * view.width, view.starts, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, 1.0 - inter / np.where(union > 0, union, 1), 0.0)


def split_test(runs: DrawingRuns, in_a: np.ndarray, threshold: float, *, max_perm: int,
               exceedances: int, overall_perm: int, seed: int) -> SplitTest:
    """Permutation tests of 1 - IoU per name, sequential, with the overall mean test.

    The first ``overall_perm`` permutations relabel every name (they give the overall
    test of the mean statistic); after that only names still undecided are relabelled,
    each until ``exceedances`` permutations have reached its observed statistic or
    ``max_perm`` have run.
    """
    eng = _Engine(runs, in_a, threshold)
    k = runs.n_names
    has = eng.pc_hi > eng.pc_lo
    live = np.flatnonzero(has)
    obs = np.zeros(k)
    full = _View(eng, live)
    obs[live] = eng.statistic(full, in_a.astype(np.int8)[full.drawings][None, :])[0]
    rng = np.random.default_rng(seed)
    ge = np.zeros(k, np.int64)
    done = np.zeros(k, np.int64)  # permutations counted per name
    stopped = ~has
    overall_n = min(int(overall_perm), int(max_perm))
    ge_all = 0
    run = 0
    view = full
    while True:
        active = np.flatnonzero(~stopped & (done < max_perm))
        if run >= overall_n and not len(active):
            break
        names = live if run < overall_n else active
        if run >= overall_n and len(names) != len(view.names):
            view = _View(eng, names)
        room = (overall_n - run) if run < overall_n else int(max_perm - done[names].min())
        size = max(1, min(_MAX_BATCH, _BATCH_ELEMENTS // max(view.n_events, 1), room))
        stat = eng.statistic(view, view.labels(rng, size))
        if run < overall_n:
            total = np.zeros((size, k))
            total[:, names] = stat
            ge_all += int((total.mean(axis=1) >= obs.mean() - 1e-12).sum())
        hit = stat >= obs[names] - 1e-12
        counting = ~stopped[names]
        # rows still counted per name: up to the cap, and up to the h-th exceedance
        cap = np.clip(max_perm - done[names], 0, size)
        rows = np.arange(size)[:, None]
        cum = np.cumsum(hit & (rows < cap), axis=0) + ge[names]
        reach = (cum >= exceedances) & (rows < cap)
        first = np.where(reach.any(axis=0), reach.argmax(axis=0) + 1, cap)
        take = np.where(counting, first, 0)
        ge[names] = np.where(take > 0, cum[np.maximum(take - 1, 0), np.arange(len(names))],
                             ge[names])
        done[names] += take
        stopped[names] |= counting & reach.any(axis=0)
        run += size
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(ge >= exceedances, ge / np.maximum(done, 1), (ge + 1) / (done + 1))
    p = np.where(has, p, 1.0)
    return SplitTest(statistic=obs, p_value=p, n_perm=done, exceed=ge,
                     overall_p=float((1 + ge_all) / (1 + overall_n)), overall_n=overall_n)
