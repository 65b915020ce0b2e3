"""One pair of polygons, and a range of pairs on one thread.

Guarantees: :func:`_pair_area` returns the exact area of ``a[i] ∩ b[j]`` up to rounding,
with a floating-point error bound; the driver keeps the area when it exceeds
``_ZERO_FACTOR`` × the bound, so zero-area touches come out as exact zeros. The polygon
that sorts first (:func:`_polygon_greater`: edge count, then coordinates) plays ``a``, so a
pair gives the same bits whichever layer each polygon comes from. Coordinates are taken
relative to the centre of the two boxes' overlap to limit cancellation. :func:`_pairs_kernel`
grows its crossing buffers and redoes a pair that overflows them, so no crossing is lost.
"""

from __future__ import annotations

import numpy as np

from nbhd_geo.overlay.exact.bands import (
    _BAND_MIN_SIDE,
    _NO_INDEX,
    _bands,
    _choose_bands,
    _pip_index,
    _seg_box,
    _select,
    _sweep_is_costly,
)
from nbhd_geo.overlay.exact.jit import (
    _LAYER,
    F1,
    F2,
    I1,
    I2,
    _kernel,
    i8,
)
from nbhd_geo.overlay.exact.predicates import (
    _EPS,
)
from nbhd_geo.overlay.exact.sweep import (
    _BRUTE_MAX,
    _group,
    _sweep,
    _test_pair,
    _walk,
)

# Safety factor on the floating-point error bound below which a sum is an exact zero.
_ZERO_FACTOR = 64.0 * _EPS


@_kernel((i8, i8, _LAYER, _LAYER, I1, I1, F1, F1, I1, I2, F2, I1, F1,))
def _pair_area(
    i: int,
    j: int,
    la: tuple[np.ndarray, ...],
    lb: tuple[np.ndarray, ...],
    sela: np.ndarray,
    selb: np.ndarray,
    xsa: np.ndarray,
    xsb: np.ndarray,
    grp: np.ndarray,
    ci: np.ndarray,
    cf: np.ndarray,
    order: np.ndarray,
    scr: np.ndarray,
) -> tuple[float, float, int]:
    """Area of a[i] ∩ b[j], its error scale and the number of crossings (-1: buffers full).

    ``la``, ``lb``: the layers' arrays, as :meth:`_Layer.arrays` gives them.
    """
    ea, a_ring, a_re0, a_re1, a_pe, a_box, a_ixf, a_ixi, a_ioff, a_iidx, a_iedge = la
    eb, b_ring, b_re0, b_re1, b_pe, b_box, b_ixf, b_ixi, b_ioff, b_iidx, b_iedge = lb
    axmin = a_box[i, 0]
    aymin = a_box[i, 1]
    axmax = a_box[i, 2]
    aymax = a_box[i, 3]
    bxmin = b_box[j, 0]
    bymin = b_box[j, 1]
    bxmax = b_box[j, 2]
    bymax = b_box[j, 3]
    ox = 0.5 * (max(axmin, bxmin) + min(axmax, bxmax))
    oy = 0.5 * (max(aymin, bymin) + min(aymax, bymax))
    a0 = a_pe[i]
    a1 = a_pe[i + 1]
    b0 = b_pe[j]
    b1 = b_pe[j + 1]
    ga = a_ixi[i, 0]
    xoffa = a_ioff[a_ixi[i, 1] : a_ixi[i, 1] + ga + 1]
    gb = b_ixi[j, 0]
    xoffb = b_ioff[b_ixi[j, 1] : b_ixi[j, 1] + gb + 1]
    na = _select(ea, a0, a1, bxmin, bymin, bxmax, bymax, sela,
                 a_ixf[i, 0], a_ixf[i, 1], ga, xoffa, a_iidx, a_iedge)  # fmt: skip
    nb_ = _select(eb, b0, b1, axmin, aymin, axmax, aymax, selb,
                  b_ixf[j, 0], b_ixf[j, 1], gb, xoffb, b_iidx, b_iedge)  # fmt: skip
    if na == 0 and nb_ == 0:
        return 0.0, 0.0, 0
    # --- crossings: ci = (u, w, direction), cf = (ta, tb, x, y) in local coordinates
    nc = 0
    if na > 0 and nb_ > 0:
        if na * nb_ <= _BRUTE_MAX:
            for u in range(na):
                ka = sela[u]
                x0 = ea[ka, 0]
                x1 = ea[ka, 2]
                y0 = ea[ka, 1]
                y1 = ea[ka, 3]
                exmin = min(x0, x1)
                exmax = max(x0, x1)
                eymin = min(y0, y1)
                eymax = max(y0, y1)
                for w in range(nb_):
                    kb = selb[w]
                    if _seg_box(eb, kb, exmin, eymin, exmax, eymax):
                        nc = _test_pair(ea, ka, u, eb, kb, w, ox, oy, ci, cf, nc, scr)
                        if nc < 0:
                            return 0.0, 0.0, -1
        else:
            for u in range(na):
                xsa[u] = min(ea[sela[u], 0], ea[sela[u], 2])
            for w in range(nb_):
                xsb[w] = min(eb[selb[w], 0], eb[selb[w], 2])
            # crossings lie in both boxes: bands over the boxes' common heights
            ylo = max(aymin, bymin)
            yhi = min(aymax, bymax)
            nband = 1
            if min(na, nb_) > _BAND_MIN_SIDE and _sweep_is_costly(
                ea, sela, na, eb, selb, nb_, max(axmin, bxmin), min(axmax, bxmax)
            ):
                nband = _choose_bands(ea, sela, na, eb, selb, nb_, ylo, yhi)
            if nband == 1:
                nc = _sweep(ea, sela, xsa, eb, selb, xsb, _NO_INDEX, na, _NO_INDEX, nb_,
                            0, ylo, 0.0, 1, ox, oy, ci, cf, nc, scr)  # fmt: skip
                if nc < 0:
                    return 0.0, 0.0, -1
            else:
                h = (yhi - ylo) / nband
                offa, idxa = _bands(ea, sela, na, ylo, h, nband)
                offb, idxb = _bands(eb, selb, nb_, ylo, h, nband)
                for g in range(nband):
                    ga_ = idxa[offa[g] : offa[g + 1]]
                    gb_ = idxb[offb[g] : offb[g + 1]]
                    if ga_.shape[0] == 0 or gb_.shape[0] == 0:
                        continue
                    nc = _sweep(ea, sela, xsa, eb, selb, xsb, ga_, ga_.shape[0], gb_, gb_.shape[0],
                                g, ylo, h, nband, ox, oy, ci, cf, nc, scr)  # fmt: skip
                    if nc < 0:
                        return 0.0, 0.0, -1
    # --- walks: ∂a[i] inside b[j], then ∂b[j] inside a[i]
    _group(ci, cf, 0, nc, na, grp, order)
    if gb > 0:  # b[j]'s own band index
        y0, h, off, bed = b_ixf[j, 0], b_ixf[j, 1], xoffb, b_iedge
    else:
        y0, h, off, bed = _pip_index(ea, a_ring, a_re0, a_re1, sela, na, eb, b0, b1)
    sa, ba = _walk(
        ea, a_ring, a_re0, a_re1, sela, na, grp, order, ci, cf, eb, b0, b1, 1, ox, oy,
        y0, h, off, bed, scr,
    )  # fmt: skip
    _group(ci, cf, 1, nc, nb_, grp, order)
    if ga > 0:
        y0, h, off, bed = a_ixf[i, 0], a_ixf[i, 1], xoffa, a_iedge
    else:
        y0, h, off, bed = _pip_index(eb, b_ring, b_re0, b_re1, selb, nb_, ea, a0, a1)
    sb, bb = _walk(
        eb, b_ring, b_re0, b_re1, selb, nb_, grp, order, ci, cf, ea, a0, a1, -1, ox, oy,
        y0, h, off, bed, scr,
    )  # fmt: skip
    return sa + sb, ba + bb, nc


@_kernel((F2, i8, i8, F2, i8, i8,))
def _polygon_greater(ea: np.ndarray, a0: int, a1: int, eb: np.ndarray, b0: int, b1: int) -> bool:
    """Tell whether polygon ea[a0:a1] sorts after eb[b0:b1] (edge count, then coordinates)."""
    if a1 - a0 != b1 - b0:
        return a1 - a0 > b1 - b0
    for t in range(a1 - a0):
        for c in range(4):
            if ea[a0 + t, c] != eb[b0 + t, c]:
                return ea[a0 + t, c] > eb[b0 + t, c]
    return False


@_kernel((I1, I1, i8, i8, _LAYER, _LAYER, F1, F1, I1,), entry=True, rate=2e-5)
def _pairs_kernel(
    pi: np.ndarray,
    pj: np.ndarray,
    start: int,
    stop: int,
    la: tuple[np.ndarray, ...],
    lb: tuple[np.ndarray, ...],
    out_area: np.ndarray,
    out_bound: np.ndarray,
    out_ncross: np.ndarray,
) -> None:
    """Compute pairs ``start:stop`` of ``(pi, pj)`` into the outputs (one thread)."""
    ea = la[0]
    a_pe = la[4]
    eb = lb[0]
    b_pe = lb[4]
    maxa = 1
    for i in range(a_pe.shape[0] - 1):
        maxa = max(maxa, a_pe[i + 1] - a_pe[i])
    maxb = 1
    for j in range(b_pe.shape[0] - 1):
        maxb = max(maxb, b_pe[j + 1] - b_pe[j])
    maxab = max(maxa, maxb)  # a pair may be computed with the roles swapped
    sela = np.empty(maxab, dtype=np.int64)
    selb = np.empty(maxab, dtype=np.int64)
    xsa = np.empty(maxab)
    xsb = np.empty(maxab)
    grp = np.empty(maxab + 1, dtype=np.int64)
    cap = 1024
    ci = np.empty((cap, 3), dtype=np.int64)
    cf = np.empty((cap, 5))
    order = np.empty(cap, dtype=np.int64)
    scr = np.empty(24)
    p = start
    while p < stop:
        i = pi[p]
        j = pj[p]
        # the polygon that sorts first plays A (the other is perturbed): the same pair of
        # polygons gives the same bits whichever layer each comes from
        if _polygon_greater(ea, a_pe[i], a_pe[i + 1], eb, b_pe[j], b_pe[j + 1]):
            area, bound, nc = _pair_area(
                j, i, lb, la, sela, selb, xsa, xsb, grp, ci, cf, order, scr
            )
        else:
            area, bound, nc = _pair_area(
                i, j, la, lb, sela, selb, xsa, xsb, grp, ci, cf, order, scr
            )
        if nc < 0:  # more crossings than the buffers hold: grow them and redo the pair
            cap *= 4
            ci = np.empty((cap, 3), dtype=np.int64)
            cf = np.empty((cap, 5))
            order = np.empty(cap, dtype=np.int64)
            continue
        out_area[p] = area
        out_bound[p] = bound
        out_ncross[p] = nc
        p += 1
