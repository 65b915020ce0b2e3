"""Horizontal bands: an edge index over y, and ring membership through it.

A pair's crossing sweep orders edges by x; bands keep it (and the point-in-polygon tests)
from comparing edges at different heights. Two kinds: per pair (:func:`_choose_bands`,
:func:`_bands`, chosen from the pair's own edges when a sweep on x alone would be costly)
and per polygon (:func:`_polygon_bands`, built once per layer for large polygons with small
partners, its edges copied in band order; :func:`_select` reads a polygon's edges in a box
from it).

Guarantees: an index changes which edges are *read*, never which are *tested against each
other*, so results are identical to the bit with or without it (tested); an edge spanning
several bands is listed in each; point-in-polygon (:func:`_point_in_polygon`,
:func:`_point_in_polygon_banded`) is exact under the symbolic shift, so a point on an edge or
vertex of the other layer is never ambiguous.
"""

from __future__ import annotations

import numpy as np

from nbhd_geo.overlay.exact.jit import (
    B1,
    F1,
    F2,
    I1,
    F2r,
    I1r,
    _kernel,
    f8,
    i8,
)
from nbhd_geo.overlay.exact.predicates import (
    _orient_shift,
)

# Horizontal bands of a pair's edge index: about this many edges per band, at most this many
# bands, and fewer bands while edges would be listed in more than this many bands on average.
_BAND_EDGES = 8
_BAND_MAX = 1 << 16
_BAND_COPIES = 3
# Bands only when both polygons bring more than this many edges to the pair, and a sweep on
# x alone would test more than this many edge pairs per edge.
_BAND_MIN_SIDE = 16
_SWEEP_EXCESS = 16.0
_NO_INDEX = np.zeros(0, dtype=np.int64)  # read-only in the kernels
_NO_EDGES = np.zeros((0, 4))  # read-only in the kernels
# A point-in-polygon test scans the whole other polygon unless rings x its edges exceed this;
# then its edges are indexed by bands first.
_PIP_INDEX_MIN = 1 << 15


@_kernel((F2, i8, f8, f8, f8, f8,))
def _seg_box(e: np.ndarray, k: int, xmin: float, ymin: float, xmax: float, ymax: float) -> bool:
    x0 = e[k, 0]
    x1 = e[k, 2]
    if (x0 if x0 > x1 else x1) < xmin or (x0 if x0 < x1 else x1) > xmax:
        return False
    y0 = e[k, 1]
    y1 = e[k, 3]
    if (y0 if y0 > y1 else y1) < ymin or (y0 if y0 < y1 else y1) > ymax:
        return False
    return True


@_kernel((f8, f8, f8, i8,), inline="always")
def _straddles(y0: float, y1: float, py: float, s: int) -> bool:
    """Whether an edge from height y0 to y1, translated by s·v, has one end above py.

    A vertex is above the ray through p iff y + s·ε² > py: ``y >= py`` for s > 0.
    """
    if s > 0:
        return (y0 >= py) != (y1 >= py)
    return (y0 > py) != (y1 > py)


@_kernel((f8, f8, F2r, i8, i8, F1,))
def _ray_toggle(px: float, py: float, e: np.ndarray, k: int, s: int, scr: np.ndarray) -> int:
    """1 if edge e[k], translated by s·v, crosses the ray from p towards +x, else 0."""
    x0 = e[k, 0]
    y0 = e[k, 1]
    x1 = e[k, 2]
    y1 = e[k, 3]
    # the polygon's vertex is above the ray through p iff y + s·ε² > py
    if s > 0:
        up0 = y0 >= py
        up1 = y1 >= py
    else:
        up0 = y0 > py
        up1 = y1 > py
    if up0 == up1:
        return 0
    if x0 < px and x1 < px:
        return 0  # the edge meets the ray's line left of p
    # orient(e0 + s·v, e1 + s·v, p) = orient(e0, e1, p − s·v)
    o = _orient_shift(x0, y0, x1, y1, px, py, -s, scr)
    if up1:
        return 1 if o > 0 else 0
    return 1 if o < 0 else 0


@_kernel((f8, f8, F2, i8, i8, i8, F1,))
def _point_in_polygon(
    px: float, py: float, e: np.ndarray, e0: int, e1: int, s: int, scr: np.ndarray
) -> int:
    """1 if point p lies in the polygon with edges e[e0:e1] translated by s·v, else 0.

    An edge can toggle only if it straddles the ray's height (:func:`_ray_toggle`'s first
    test, made here in the loop): the call, about five times the cost of the test, is made
    for the few edges that do.
    """
    inside = 0
    for k in range(e0, e1):
        if _straddles(e[k, 1], e[k, 3], py, s):
            inside ^= _ray_toggle(px, py, e, k, s, scr)
    return inside


@_kernel((f8, f8, i8, f8, f8, I1r, F2r, F1,))
def _point_in_polygon_banded(
    px: float,
    py: float,
    s: int,
    y0: float,
    h: float,
    off: np.ndarray,
    bedges: np.ndarray,
    scr: np.ndarray,
) -> int:
    """:func:`_point_in_polygon` over the edges of p's band only.

    ``bedges[off[g]:off[g + 1]]``: copies of the polygon's edges listed in band g (an edge
    spanning several bands is in each), so a band is read from contiguous memory.
    """
    nband = off.shape[0] - 1
    g = _band_of(py, y0, h, nband)
    inside = 0
    for t in range(off[g], off[g + 1]):
        if _straddles(bedges[t, 1], bedges[t, 3], py, s):
            inside ^= _ray_toggle(px, py, bedges, t, s, scr)
    return inside


@_kernel((f8, f8, f8, i8,))
def _band_of(y: float, y0: float, h: float, nband: int) -> int:
    """Return the band holding height y (monotone in y, clamped to [0, nband))."""
    if h <= 0.0:
        return 0
    g = (y - y0) / h
    if g <= 0.0:
        return 0
    if g >= nband - 1:
        return nband - 1
    return int(g)


@_kernel((F2, I1, i8, f8, f8, i8,))
def _band_count(e: np.ndarray, ks: np.ndarray, n: int, y0: float, h: float, nband: int) -> int:
    """Entries needed to list each of the n edges e[ks[:n]] in every band it spans."""
    tot = 0
    for t in range(n):
        k = ks[t]
        lo = _band_of(min(e[k, 1], e[k, 3]), y0, h, nband)
        hi = _band_of(max(e[k, 1], e[k, 3]), y0, h, nband)
        tot += hi - lo + 1
    return tot


@_kernel((F2, I1, i8, F2, I1, i8, f8, f8,))
def _sweep_is_costly(
    ea: np.ndarray,
    sela: np.ndarray,
    na: int,
    eb: np.ndarray,
    selb: np.ndarray,
    nb_: int,
    xlo: float,
    xhi: float,
) -> bool:
    """Tell whether a sweep on x alone would test many more edge pairs than there are edges.

    An A-edge is compared with the B-edges starting within its x-extent: about
    ``nb·extent/width`` of them for edges spread over the common width.
    """
    if not xhi > xlo:
        return True
    exta = 0.0
    for t in range(na):
        k = sela[t]
        exta += min(max(ea[k, 0], ea[k, 2]), xhi) - max(min(ea[k, 0], ea[k, 2]), xlo)
    extb = 0.0
    for t in range(nb_):
        k = selb[t]
        extb += min(max(eb[k, 0], eb[k, 2]), xhi) - max(min(eb[k, 0], eb[k, 2]), xlo)
    tests = (exta * nb_ + extb * na) / (xhi - xlo)
    return tests > _SWEEP_EXCESS * (na + nb_)


@_kernel((F2, I1, i8, F2, I1, i8, f8, f8,))
def _choose_bands(
    e1: np.ndarray,
    ks1: np.ndarray,
    n1: int,
    e2: np.ndarray,
    ks2: np.ndarray,
    n2: int,
    ylo: float,
    yhi: float,
) -> int:
    """Choose the number of bands over [ylo, yhi] for these edges.

    About _BAND_EDGES edges per band, fewer while edges would be listed in more than
    _BAND_COPIES bands on average.
    """
    n = n1 + n2
    nband = min(max(1, n // _BAND_EDGES), _BAND_MAX)
    if not yhi > ylo or nband == 1:
        return 1
    # an edge spanning a fraction f of [ylo, yhi] is listed in about 1 + f·nband bands
    span = 0.0
    for t in range(n1):
        k = ks1[t]
        span += min(max(e1[k, 1], e1[k, 3]), yhi) - max(min(e1[k, 1], e1[k, 3]), ylo)
    for t in range(n2):
        k = ks2[t]
        span += min(max(e2[k, 1], e2[k, 3]), yhi) - max(min(e2[k, 1], e2[k, 3]), ylo)
    span /= yhi - ylo
    if span > 0.0:
        nband = max(1, min(nband, int((_BAND_COPIES - 1) * n / span)))
    while nband > 1:
        h = (yhi - ylo) / nband
        tot = _band_count(e1, ks1, n1, ylo, h, nband) + _band_count(e2, ks2, n2, ylo, h, nband)
        if tot <= _BAND_COPIES * n:
            break
        nband //= 2
    return nband


@_kernel((F2, I1, i8, f8, f8, i8,))
def _bands(
    e: np.ndarray, ks: np.ndarray, n: int, y0: float, h: float, nband: int
) -> tuple[np.ndarray, np.ndarray]:
    """CSR lists of positions t (edge e[ks[t]]) per band, increasing within a band."""
    off = np.zeros(nband + 1, dtype=np.int64)
    for t in range(n):
        k = ks[t]
        lo = _band_of(min(e[k, 1], e[k, 3]), y0, h, nband)
        hi = _band_of(max(e[k, 1], e[k, 3]), y0, h, nband)
        for g in range(lo, hi + 1):
            off[g + 1] += 1
    for g in range(nband):
        off[g + 1] += off[g]
    cur = off[:-1].copy()
    idx = np.empty(off[nband], dtype=np.int64)
    for t in range(n):
        k = ks[t]
        lo = _band_of(min(e[k, 1], e[k, 3]), y0, h, nband)
        hi = _band_of(max(e[k, 1], e[k, 3]), y0, h, nband)
        for g in range(lo, hi + 1):
            idx[cur[g]] = t
            cur[g] += 1
    return off, idx


@_kernel((F2, I1, I1, I1, I1, i8, F2, i8, i8,))
def _pip_index(
    e: np.ndarray,
    ring_of_edge: np.ndarray,
    ring_e0: np.ndarray,
    ring_e1: np.ndarray,
    sel: np.ndarray,
    nsel: int,
    qe: np.ndarray,
    qe0: int,
    qe1: int,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Index Q's edges qe[qe0:qe1] by bands, if worth it (empty arrays otherwise).

    Worth it when P's rings wholly in Q's box are so many that testing each against all of
    Q's edges would cost more.
    """
    nq = qe1 - qe0
    rings = 0
    q = 0
    while q < nsel:
        r = ring_of_edge[sel[q]]
        qs = q
        while q < nsel and ring_of_edge[sel[q]] == r:
            q += 1
        if q - qs == ring_e1[r] - ring_e0[r]:
            rings += 1
    if rings < 2 or rings * nq < _PIP_INDEX_MIN:
        return 0.0, 0.0, _NO_INDEX, _NO_EDGES
    ymin = np.inf
    ymax = -np.inf
    for k in range(qe0, qe1):
        ymin = min(ymin, qe[k, 1], qe[k, 3])
        ymax = max(ymax, qe[k, 1], qe[k, 3])
    ks = np.arange(qe0, qe1)
    nband = _choose_bands(qe, ks, nq, qe, ks, 0, ymin, ymax)
    if nband < 2:
        return 0.0, 0.0, _NO_INDEX, _NO_EDGES
    h = (ymax - ymin) / nband
    off, idx = _bands(qe, ks, nq, ymin, h, nband)
    return ymin, h, off, _band_edges(qe, qe0, idx)


@_kernel((F2, i8, I1,))
def _band_edges(e: np.ndarray, e0: int, idx: np.ndarray) -> np.ndarray:
    """Copy the edges ``e[e0 + idx]`` in band order (so that a band is scanned contiguously)."""
    out = np.empty((idx.shape[0], 4))
    for t in range(idx.shape[0]):
        k = e0 + idx[t]
        for c in range(4):
            out[t, c] = e[k, c]
    return out


@_kernel((F2, I1, F2, B1,), entry=True, rate=2e-5)
def _polygon_bands(
    edges: np.ndarray, pe: np.ndarray, box: np.ndarray, want: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Build a band index over y of each polygon p with ``want[p]``.

    Returns ``(y0, h, nband, start, off, idx, bedges)``: polygon p (``nband[p] > 0``) has
    bands of height ``h[p]`` from ``y0[p]`` (its box); the edges of band g are
    ``pe[p] + idx[off[start[p] + g] : off[start[p] + g + 1]]``, increasing, and
    ``bedges`` holds a copy of each listed edge at the same position.
    """
    n = pe.shape[0] - 1
    y0 = np.zeros(n)
    h = np.zeros(n)
    nband = np.zeros(n, dtype=np.int64)
    start = np.zeros(n, dtype=np.int64)
    noff = 0
    nidx = 0
    for p in range(n):
        m = pe[p + 1] - pe[p]
        if not want[p]:
            continue
        ks = np.arange(pe[p], pe[p + 1])
        g = _choose_bands(edges, ks, m, edges, ks, 0, box[p, 1], box[p, 3])
        if g < 2:
            continue
        nband[p] = g
        y0[p] = box[p, 1]
        h[p] = (box[p, 3] - box[p, 1]) / g
        start[p] = noff
        noff += g + 1
        nidx += _band_count(edges, ks, m, y0[p], h[p], g)
    off = np.zeros(noff, dtype=np.int64)
    idx = np.empty(nidx, dtype=np.int64)
    base = 0
    for p in range(n):
        g = nband[p]
        if g == 0:
            continue
        ks = np.arange(pe[p], pe[p + 1])
        o, ix = _bands(edges, ks, pe[p + 1] - pe[p], y0[p], h[p], g)
        for t in range(g + 1):
            off[start[p] + t] = base + o[t]
        for t in range(ix.shape[0]):
            idx[base + t] = ix[t]
        base += ix.shape[0]
    return y0, h, nband, start, off, idx, _band_edges_by_polygon(edges, pe, nband, start, off, idx)


@_kernel((F2, I1, I1, I1, I1, I1,))
def _band_edges_by_polygon(
    edges: np.ndarray,
    pe: np.ndarray,
    nband: np.ndarray,
    start: np.ndarray,
    off: np.ndarray,
    idx: np.ndarray,
) -> np.ndarray:
    """Copy the listed edges in index order (see :func:`_polygon_bands`)."""
    out = np.empty((idx.shape[0], 4))
    for p in range(pe.shape[0] - 1):
        if nband[p] == 0:
            continue
        for t in range(off[start[p]], off[start[p] + nband[p]]):
            k = pe[p] + idx[t]
            for c in range(4):
                out[t, c] = edges[k, c]
    return out


@_kernel((I1, i8, i8,))
def _sift_down(v: np.ndarray, start: int, end: int) -> None:
    """Restore the max-heap property of ``v[:end]`` below position ``start``."""
    root = start
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and v[child] < v[child + 1]:
            child += 1
        if v[root] >= v[child]:
            return
        t = v[root]
        v[root] = v[child]
        v[child] = t
        root = child


@_kernel((I1, i8,))
def _sort_small(v: np.ndarray, n: int) -> None:
    """Sort v[:n] in place (insertion sort when short, heap sort otherwise).

    Written out rather than ``np.sort``, whose numba implementation costs several seconds of
    compilation for what is a few dozen lines.
    """
    if n > 32:
        for start in range(n // 2 - 1, -1, -1):
            _sift_down(v, start, n)
        for end in range(n - 1, 0, -1):
            t = v[0]
            v[0] = v[end]
            v[end] = t
            _sift_down(v, 0, end)
        return
    for u in range(1, n):
        x = v[u]
        w = u - 1
        while w >= 0 and v[w] > x:
            v[w + 1] = v[w]
            w -= 1
        v[w + 1] = x


@_kernel((F2, i8, i8, f8, f8, f8, f8, I1, f8, f8, i8, I1, I1, F2,))
def _select(
    e: np.ndarray,
    e0: int,
    e1: int,
    xmin: float,
    ymin: float,
    xmax: float,
    ymax: float,
    sel: np.ndarray,
    y0: float,
    h: float,
    nband: int,
    off: np.ndarray,
    idx: np.ndarray,
    bedges: np.ndarray,
) -> int:
    """Put the edges of e[e0:e1] meeting the box in ``sel`` (increasing); return how many.

    With a band index (``nband > 0``, ``off``/``idx``/``bedges`` as from
    :func:`_polygon_bands`), only the bands the box spans are read when they list fewer
    entries than half the polygon's edges; an edge is taken in the first of those bands it
    is listed in.
    """
    n = 0
    if nband > 0:
        glo = _band_of(ymin, y0, h, nband)
        ghi = _band_of(ymax, y0, h, nband)
        if 2 * (off[ghi + 1] - off[glo]) < e1 - e0:
            for g in range(glo, ghi + 1):
                for t in range(off[g], off[g + 1]):
                    if not _seg_box(bedges, t, xmin, ymin, xmax, ymax):
                        continue
                    if g > glo and _band_of(min(bedges[t, 1], bedges[t, 3]), y0, h, nband) < g:
                        continue  # listed in an earlier band of the box too
                    sel[n] = e0 + idx[t]
                    n += 1
            _sort_small(sel, n)
            return n
    for k in range(e0, e1):
        if _seg_box(e, k, xmin, ymin, xmax, ymax):
            sel[n] = k
            n += 1
    return n
