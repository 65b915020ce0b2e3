"""Crossings of two polygons' boundaries, and the boundary integral between them.

Guarantees: every pair of an A-edge and a B-edge whose boxes meet is tested exactly once
(brute force, or sort-and-sweep on x, in the lowest band both span); a crossing is decided by
exact predicates under the symbolic shift and its point is computed once, shared by the walks
of both boundaries, so the pieces inside the other polygon always form closed loops;
crossings along one edge are ordered by a stable sort of their parameter (insertion sort for
short runs, :func:`_argsort` for long ones), so ties keep the order they were found in and
the result does not depend on the number of crossings. :func:`_walk` integrates ``x dy``
along the runs of a ring inside the other polygon with Neumaier compensation, and
accumulates the floating-point error bound of the terms.
"""

from __future__ import annotations

import numpy as np

from nbhd_geo.overlay.exact.bands import (
    _band_of,
    _point_in_polygon,
    _point_in_polygon_banded,
)
from nbhd_geo.overlay.exact.jit import (
    F1,
    F2,
    I1,
    I2,
    F2r,
    I1r,
    _kernel,
    f8,
    i8,
)
from nbhd_geo.overlay.exact.predicates import (
    _orient_shift,
    _orient_value,
)

# Below this many A×B edge tests, brute force beats sorting.
_BRUTE_MAX = 96
# Above this many crossings on one edge, they are ordered by merge sort, not insertion sort.
_INSERTION_MAX = 32


@_kernel((f8, f8, f8,))
def _at(v0: float, v1: float, t: float) -> float:
    if t <= 0.0:
        return v0
    if t >= 1.0:
        return v1
    if t < 0.5:
        return v0 + t * (v1 - v0)
    return v1 - (1.0 - t) * (v1 - v0)


@_kernel((F1, i8, I1, I1, I1,))
def _argsort_into(
    key: np.ndarray, n: int, a: np.ndarray, start: np.ndarray, bucket: np.ndarray
) -> bool:
    """Stable argsort of ``key[:n]`` (no NaN) into ``a[:n]``, by buckets; False if not done.

    The same permutation as ``np.argsort(key[:n], kind="stable")``. Keys are dealt into ``n``
    equal buckets between their least and greatest (a stable counting pass: the bucket of a
    key never decreases as the key grows, so equal keys share one and keep their order), and
    the disorder left within buckets is removed by insertion sort, which is stable: linear
    time for the spread-out keys of a ring's or a boundary's edges, about four times faster
    than merging. False (``a`` then holds nothing useful) for keys too few, not finite, or
    too clustered (the insertion sort moving more than ``8n`` entries): the caller then
    merge-sorts (:func:`_merge_argsort`). ``start`` (``n + 1`` entries) and ``bucket`` are
    scratch space, so that a caller sorting many small key sets allocates nothing per set.
    """
    if n <= 32:
        return False
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        k = key[i]
        lo = min(lo, k)
        hi = max(hi, k)
    # not for equal keys, infinite ones (a span of inf or NaN), nor keys so close that
    # n / span would overflow
    span = hi - lo
    if not n * 1e-300 < span < np.inf:
        return False
    scale = n / span
    for b in range(n + 1):
        start[b] = 0
    for i in range(n):
        b = min(int((key[i] - lo) * scale), n - 1)
        bucket[i] = b
        start[b + 1] += 1
    for b in range(n):
        start[b + 1] += start[b]
    for i in range(n):
        b = bucket[i]
        a[start[b]] = i
        start[b] += 1
    budget = 8 * n
    for u in range(1, n):
        v = a[u]
        kv = key[v]
        w = u - 1
        while w >= 0 and key[a[w]] > kv:
            a[w + 1] = a[w]
            w -= 1
        budget -= u - 1 - w
        a[w + 1] = v
        if budget < 0:
            return False
    return True


@_kernel((F1,))
def _argsort(key: np.ndarray) -> np.ndarray:
    """Stable argsort of ``key`` (no NaN): by buckets, or :func:`_merge_argsort`.

    The same permutation as ``np.argsort(key, kind="stable")``; see :func:`_argsort_into`.
    """
    n = key.shape[0]
    a = np.empty(n, dtype=np.int64)
    if _argsort_into(key, n, a, np.empty(n + 1, dtype=np.int64), np.empty(n, dtype=np.int64)):
        return a
    return _merge_argsort(key)


@_kernel((F1,))
def _merge_argsort(key: np.ndarray) -> np.ndarray:
    """Stable argsort of ``key`` (no NaN): runs of 16 by insertion sort, then merged.

    The same permutation as ``np.argsort(key, kind="stable")``, written out because numba's
    implementations of ``np.argsort`` cost seconds of compilation each.
    """
    n = key.shape[0]
    a = np.arange(n)
    run = 16
    for lo in range(0, n, run):
        hi = min(lo + run, n)
        for u in range(lo + 1, hi):
            v = a[u]
            kv = key[v]
            w = u - 1
            while w >= lo and key[a[w]] > kv:
                a[w + 1] = a[w]
                w -= 1
            a[w + 1] = v
    if n <= run:
        return a
    b = np.empty(n, dtype=np.int64)
    width = run
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if key[a[j]] < key[a[i]]:
                    b[k] = a[j]
                    j += 1
                else:
                    b[k] = a[i]
                    i += 1
                k += 1
            while i < mid:
                b[k] = a[i]
                i += 1
                k += 1
            while j < hi:
                b[k] = a[j]
                j += 1
                k += 1
        a, b = b, a
        width *= 2
    return a


@_kernel((I2, F2, i8, i8, i8, I1, I1,))
def _group(
    ci: np.ndarray,
    cf: np.ndarray,
    col: int,
    nc: int,
    ngroups: int,
    grp: np.ndarray,
    order: np.ndarray,
) -> None:
    """Sort crossings by ``ci[:, col]`` (counting sort), then by ``cf[:, col]`` in a group."""
    for g in range(ngroups + 1):
        grp[g] = 0
    for c in range(nc):
        grp[ci[c, col] + 1] += 1
    for g in range(ngroups):
        grp[g + 1] += grp[g]
    for c in range(nc):  # fill, using grp[g] as cursor, then shift back
        g = ci[c, col]
        order[grp[g]] = c
        grp[g] += 1
    for g in range(ngroups, 0, -1):
        grp[g] = grp[g - 1]
    grp[0] = 0
    for g in range(ngroups):
        lo = grp[g]
        hi = grp[g + 1]
        if hi - lo > _INSERTION_MAX:
            # many crossings on one edge (combs): a stable O(n log n) sort, so that the
            # order of equal parameters is the same as the insertion sort's
            idx = order[lo:hi].copy()
            key = np.empty(hi - lo)
            for u in range(hi - lo):
                key[u] = cf[idx[u], col]
            perm = _argsort(key)
            for u in range(hi - lo):
                order[lo + u] = idx[perm[u]]
            continue
        for u in range(lo + 1, hi):  # insertion sort by parameter (groups are tiny)
            v = order[u]
            tv = cf[v, col]
            w = u - 1
            while w >= lo and cf[order[w], col] > tv:
                order[w + 1] = order[w]
                w -= 1
            order[w + 1] = v


@_kernel((f8, f8, f8,))
def _acc(total: float, comp: float, v: float) -> tuple[float, float]:
    """Add v to total, keeping the rounding error in comp (Neumaier)."""
    t = total + v
    if abs(total) >= abs(v):
        comp += (total - t) + v
    else:
        comp += (v - t) + total
    return t, comp


@_kernel((F2, I1, I1, I1, I1, i8, I1, I1, I2, F2, F2, i8, i8, i8, f8, f8, f8, f8, I1r, F2r, F1,))
def _walk(
    e: np.ndarray,
    ring_of_edge: np.ndarray,
    ring_e0: np.ndarray,
    ring_e1: np.ndarray,
    sel: np.ndarray,
    nsel: int,
    grp: np.ndarray,
    order: np.ndarray,
    ci: np.ndarray,
    cf: np.ndarray,
    qe: np.ndarray,
    qe0: int,
    qe1: int,
    s: int,
    ox: float,
    oy: float,
    pip_y0: float,
    pip_h: float,
    pip_off: np.ndarray,
    pip_edges: np.ndarray,
    scr: np.ndarray,
) -> tuple[float, float]:
    """∫x dy over the pieces of the selected edges of one polygon P inside polygon Q.

    ``sel[:nsel]``: P's edges meeting Q's box, increasing. Crossings of selected edge ``q`` are
    ``order[grp[q]:grp[q + 1]]``, sorted along the edge; a crossing's membership change is
    ``s·ci[c, 2]`` and its point ``cf[c, 2:4]``. ``qe[qe0:qe1]``: Q's edges. Q is translated by
    ``s·v`` relative to P (s = +1: P is from ``a``; s = -1: P is from ``b``). A ring of P
    wholly in Q's box starts with a point-in-polygon test, over Q's edges in the point's
    band when ``pip_off`` is not empty (:func:`_pip_index`).
    """
    total = 0.0
    comp = 0.0  # Neumaier compensation: the sum is as if exact, then rounded once
    bound = 0.0
    q = 0
    while q < nsel:
        r = ring_of_edge[sel[q]]
        qs = q
        while q < nsel and ring_of_edge[sel[q]] == r:
            q += 1
        qend = q
        r0 = ring_e0[r]
        r1 = ring_e1[r]
        n = qend - qs
        if n == r1 - r0:
            p0 = qs
            if pip_off.shape[0] > 0:
                m = _point_in_polygon_banded(
                    e[r0, 0], e[r0, 1], s, pip_y0, pip_h, pip_off, pip_edges, scr
                )
            else:
                m = _point_in_polygon(e[r0, 0], e[r0, 1], qe, qe0, qe1, s, scr)
        else:
            # start just after an edge outside Q's box: membership is 0 there
            p0 = qs
            for t in range(qs, qend):
                k = sel[t]
                if k == r0:
                    prev_in = sel[qend - 1] == r1 - 1
                else:
                    prev_in = t > qs and sel[t - 1] == k - 1
                if not prev_in:
                    p0 = t
                    break
            m = 0
        prev_k = -2
        for step in range(n):
            t = qs + (p0 - qs + step) % n
            k = sel[t]
            if step > 0 and not (k == prev_k + 1 or (prev_k == r1 - 1 and k == r0)):
                m = 0
            prev_k = k
            x0 = e[k, 0] - ox
            y0 = e[k, 1] - oy
            x1 = e[k, 2] - ox
            y1 = e[k, 3] - oy
            c0 = grp[t]
            c1 = grp[t + 1]
            if c0 == c1:
                if m > 0:
                    total, comp = _acc(total, comp, (x0 + x1) * 0.5 * (y1 - y0))
                    bound += (abs(x0) + abs(y0) + abs(x1) + abs(y1)) * (abs(x1 - x0) + abs(y1 - y0))
                continue
            xa = x0
            ya = y0
            ma = abs(x0) + abs(y0)
            for c in range(c0, c1):
                cc = order[c]
                xb = cf[cc, 2]
                yb = cf[cc, 3]
                mb = cf[cc, 4]
                if m > 0:
                    total, comp = _acc(total, comp, (xa + xb) * 0.5 * (yb - ya))
                    bound += (ma + mb) * (abs(xb - xa) + abs(yb - ya))
                m += s * ci[cc, 2]
                xa = xb
                ya = yb
                ma = mb
            if m > 0:
                total, comp = _acc(total, comp, (xa + x1) * 0.5 * (y1 - ya))
                bound += (ma + abs(x1) + abs(y1)) * (abs(x1 - xa) + abs(y1 - ya))
    return total + comp, bound


@_kernel((F2, i8, i8, F2, i8, i8, f8, f8, I2, F2, i8, F1,))
def _test_pair(
    ea: np.ndarray,
    ka: int,
    u: int,
    eb: np.ndarray,
    kb: int,
    w: int,
    ox: float,
    oy: float,
    ci: np.ndarray,
    cf: np.ndarray,
    nc: int,
    scr: np.ndarray,
) -> int:
    """Test A-edge ka against B-edge kb (B translated by +v); record a crossing; new count.

    Returns -1 when the crossing buffers are full.
    """
    ax0 = ea[ka, 0]
    ay0 = ea[ka, 1]
    ax1 = ea[ka, 2]
    ay1 = ea[ka, 3]
    bx0 = eb[kb, 0]
    by0 = eb[kb, 1]
    bx1 = eb[kb, 2]
    by1 = eb[kb, 3]
    s1 = _orient_shift(ax0, ay0, ax1, ay1, bx0, by0, 1, scr)
    s2 = _orient_shift(ax0, ay0, ax1, ay1, bx1, by1, 1, scr)
    if s1 == s2:
        return nc
    s3 = _orient_shift(bx0, by0, bx1, by1, ax0, ay0, -1, scr)
    s4 = _orient_shift(bx0, by0, bx1, by1, ax1, ay1, -1, scr)
    if s3 == s4:
        return nc
    if nc >= ci.shape[0]:
        return -1
    # parameters in floating point (they only feed the integral), from orientation values
    # that stay accurate for nearly collinear edges
    oa0 = _orient_value(bx0, by0, bx1, by1, ax0, ay0, scr)
    oa1 = _orient_value(bx0, by0, bx1, by1, ax1, ay1, scr)
    den = oa0 - oa1
    ta = min(max(oa0 / den, 0.0), 1.0) if den != 0.0 else 0.5
    ob0 = _orient_value(ax0, ay0, ax1, ay1, bx0, by0, scr)
    ob1 = _orient_value(ax0, ay0, ax1, ay1, bx1, by1, scr)
    den = ob0 - ob1
    tb = min(max(ob0 / den, 0.0), 1.0) if den != 0.0 else 0.5
    ci[nc, 0] = u
    ci[nc, 1] = w
    ci[nc, 2] = 1 if s4 > 0 else -1  # +1: the A edge enters B's polygon
    cf[nc, 0] = ta
    cf[nc, 1] = tb
    # one crossing point, shared by both walks, so that the boundary pieces meet exactly
    cf[nc, 2] = _at(ax0 - ox, ax1 - ox, ta)
    cf[nc, 3] = _at(ay0 - oy, ay1 - oy, ta)
    # the error scale of that point: its edge's end points (local), see _walk's bound
    cf[nc, 4] = abs(ax0 - ox) + abs(ay0 - oy) + abs(ax1 - ox) + abs(ay1 - oy)
    return nc + 1


@_kernel((F2, I1, F1, F2, I1, F1, I1r, i8, I1r, i8, i8, f8, f8, i8, f8, f8, I2, F2, i8, F1,))
def _sweep(
    ea: np.ndarray,
    sela: np.ndarray,
    xsa: np.ndarray,
    eb: np.ndarray,
    selb: np.ndarray,
    xsb: np.ndarray,
    la: np.ndarray,
    na: int,
    lb: np.ndarray,
    nb_: int,
    band: int,
    y0: float,
    h: float,
    nband: int,
    ox: float,
    oy: float,
    ci: np.ndarray,
    cf: np.ndarray,
    nc: int,
    scr: np.ndarray,
) -> int:
    """Sort-and-sweep on x of A-edges sela[la[:na]] against B-edges selb[lb[:nb_]].

    An empty ``la``/``lb`` means all of ``sela[:na]``/``selb[:nb_]``. With several bands
    (``nband > 1``), a pair of edges is tested only in the lowest band both span, so that
    it is tested once. Returns the new crossing count, -1 when the buffers are full.
    """
    ka_all = la.shape[0] == 0
    kb_all = lb.shape[0] == 0
    if ka_all:  # the whole selection: no copies
        ua = np.arange(na)
        keya = xsa[:na]
    else:
        ua = la[:na]
        keya = np.empty(na)
        for t in range(na):
            keya[t] = xsa[ua[t]]
    if kb_all:
        ub = np.arange(nb_)
        keyb = xsb[:nb_]
    else:
        ub = lb[:nb_]
        keyb = np.empty(nb_)
        for t in range(nb_):
            keyb[t] = xsb[ub[t]]
    oa = _argsort(keya)
    ob = _argsort(keyb)
    pa = 0
    pb = 0
    while pa < na and pb < nb_:
        if keya[oa[pa]] <= keyb[ob[pb]]:
            u = ua[oa[pa]]
            ka = sela[u]
            exmax = max(ea[ka, 0], ea[ka, 2])
            eymin = min(ea[ka, 1], ea[ka, 3])
            eymax = max(ea[ka, 1], ea[ka, 3])
            for z in range(pb, nb_):
                w = ub[ob[z]]
                if xsb[w] > exmax:
                    break
                kb = selb[w]
                fymin = min(eb[kb, 1], eb[kb, 3])
                if fymin > eymax or max(eb[kb, 1], eb[kb, 3]) < eymin:
                    continue
                if nband > 1 and _band_of(max(eymin, fymin), y0, h, nband) != band:
                    continue
                nc = _test_pair(ea, ka, u, eb, kb, w, ox, oy, ci, cf, nc, scr)
                if nc < 0:
                    return -1
            pa += 1
        else:
            w = ub[ob[pb]]
            kb = selb[w]
            exmax = max(eb[kb, 0], eb[kb, 2])
            eymin = min(eb[kb, 1], eb[kb, 3])
            eymax = max(eb[kb, 1], eb[kb, 3])
            for z in range(pa, na):
                u = ua[oa[z]]
                if xsa[u] > exmax:
                    break
                ka = sela[u]
                fymin = min(ea[ka, 1], ea[ka, 3])
                if fymin > eymax or max(ea[ka, 1], ea[ka, 3]) < eymin:
                    continue
                if nband > 1 and _band_of(max(eymin, fymin), y0, h, nband) != band:
                    continue
                nc = _test_pair(ea, ka, u, eb, kb, w, ox, oy, ci, cf, nc, scr)
                if nc < 0:
                    return -1
            pb += 1
    return nc
