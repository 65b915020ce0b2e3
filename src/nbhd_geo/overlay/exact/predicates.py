"""Exact orientation predicates under the symbolic shift of layer ``b``.

Guarantees: :func:`_orient` returns the sign of the exact 2×2 determinant of its six
coordinates (Shewchuk's floating-point filter with his error bound, then exact expansion
arithmetic), so an exact zero is always recognised; :func:`_orient_shift` never returns
zero: with one point of layer ``b`` translated by ``(ε, ε²)``, ε → 0 (Simulation of
Simplicity), ties are broken by the first non-vanishing term of the perturbed determinant.
:func:`_orient_value` returns the determinant's value (near-exact for nearly collinear
edges: it feeds crossing parameters, never a decision). Products are error-free as long as
every coordinate lies within 2**±400 (see :func:`nbhd_geo.overlay.exact.rings._check_coordinates`).
``scr`` is a per-thread scratch buffer of at least 24 doubles.
"""

from __future__ import annotations

import numpy as np

from nbhd_geo.overlay.exact.jit import (
    F1,
    _kernel,
    f8,
    i8,
)

_EPS = 2.0**-53
# Shewchuk's orient2d error bound for the floating-point filter.
_CCW_ERRBOUND_A = (3.0 + 16.0 * _EPS) * _EPS
_SPLITTER = 134217729.0  # 2**27 + 1, Dekker split


@_kernel((f8, f8,))
def _two_product(a: float, b: float) -> tuple[float, float]:
    x = a * b
    c = _SPLITTER * a
    ahi = c - (c - a)
    alo = a - ahi
    c = _SPLITTER * b
    bhi = c - (c - b)
    blo = b - bhi
    err1 = x - (ahi * bhi)
    err2 = err1 - (alo * bhi)
    err3 = err2 - (ahi * blo)
    y = (alo * blo) - err3
    return x, y


@_kernel((f8, f8, f8, f8, f8, f8, F1,))
def _orient_expansion(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, scr: np.ndarray
) -> int:
    """Write cross(b - a, c - a) exactly into ``scr[12:12 + m]`` (increasing magnitude); m."""
    # cross(b - a, c - a) = bx*cy - bx*ay - ax*cy - by*cx + by*ax + ay*cx: 12 exact terms
    scr[0], scr[1] = _two_product(bx, cy)
    scr[2], scr[3] = _two_product(-bx, ay)
    scr[4], scr[5] = _two_product(-ax, cy)
    scr[6], scr[7] = _two_product(-by, cx)
    scr[8], scr[9] = _two_product(by, ax)
    scr[10], scr[11] = _two_product(ay, cx)
    # Shewchuk's Grow-Expansion with zero elimination
    m = 0
    for k in range(12):
        q = scr[k]
        hm = 0
        for t in range(m):
            h = scr[12 + t]
            x = h + q
            bv = x - h
            av = x - bv
            err = (h - av) + (q - bv)
            q = x
            if err != 0.0:
                scr[12 + hm] = err
                hm += 1
        if q != 0.0:
            scr[12 + hm] = q
            hm += 1
        m = hm
    return m


@_kernel((f8, f8, f8, f8, f8, f8, F1,))
def _orient(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, scr: np.ndarray
) -> int:
    """Exact sign of cross(b - a, c - a): +1 when c is left of a→b."""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    if abs(det) > _CCW_ERRBOUND_A * (abs(detleft) + abs(detright)):
        return 1 if det > 0.0 else -1
    if detleft == 0.0 and detright == 0.0:
        return 0  # each product has an exactly zero factor
    m = _orient_expansion(ax, ay, bx, by, cx, cy, scr)
    if m == 0:
        return 0
    # components are non-overlapping and increasing in magnitude: the last one decides
    return 1 if scr[11 + m] > 0.0 else -1


@_kernel((f8, f8, f8, f8, f8, f8, F1,))
def _orient_value(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, scr: np.ndarray
) -> float:
    """cross(b - a, c - a), correct to a few ulps even when nearly zero."""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    # no cancellation beyond a factor 2: the difference is within 4 ulps, else exact
    if abs(det) > 0.5 * (abs(detleft) + abs(detright)):
        return det
    if detleft == 0.0 and detright == 0.0:
        return 0.0
    m = _orient_expansion(ax, ay, bx, by, cx, cy, scr)
    v = 0.0
    for t in range(m):
        v += scr[12 + t]
    return v


@_kernel((f8, f8, f8, f8, f8, f8, i8, F1,))
def _orient_shift(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, s: int, scr: np.ndarray
) -> int:
    """Sign of orient(a, b, c + s·v) with v = (ε, ε²), ε → 0+: never zero for a ≠ b."""
    o = _orient(ax, ay, bx, by, cx, cy, scr)
    if o != 0:
        return o
    # cross(b - a, s·v) = s·(dx·ε² − dy·ε)
    dy = by - ay
    if dy != 0.0:
        return -s if dy > 0.0 else s
    return s if bx > ax else -s
