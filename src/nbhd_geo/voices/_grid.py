"""Run-length rasters on a global square grid: scanline fill, overlays and vectorising.

A polygon is rasterised by the *cell-centre rule*: cell ``(row, col)`` with centre
``(x0 + (col + ½)h, y0 + (row + ½)h)`` belongs to the polygon when its centre is inside
(even–odd rule over all rings, half-open in y so that a vertex on a centre line is
counted once). Per row, the cells inside form runs ``[c0, c1)``; a raster is the table of
runs ``(row, c0, c1)``, never a dense array, so a 40,000 km² junk drawing costs only
one run per row.

The grid origin is a multiple of the cell size (``x0 = h·⌊xmin/h⌋``), so the same cells
are used whatever the data, and squares whose corners are multiples of ``h`` are
rasterised exactly (their area is ``h²`` × number of cells).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from nbhd_geo.voices._kernels import F1, F2, I1, KERNELS
from nbhd_geo.voices._vectorise import runs_to_polygons

__all__ = ["Grid", "rasterise", "accumulate", "sweep", "claims", "run_sums",
           "runs_to_geometry", "compile_kernels", "compile_in_background",
           "load_in_background"]



@dataclass(frozen=True)
class Grid:
    """A square grid: cell ``(row, col)`` spans ``x0 + col·h … x0 + (col+1)·h`` (same in y)."""

    x0: float
    y0: float
    cell: float
    n_rows: int
    n_cols: int

    @classmethod
    def covering(cls, bounds: np.ndarray, cell: float) -> Grid:
        """Make the grid of cell size ``cell``, aligned to multiples of it, covering ``bounds``."""
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        x0 = np.floor(xmin / cell) * cell
        y0 = np.floor(ymin / cell) * cell
        n_cols = int(np.ceil((xmax - x0) / cell)) + 1
        n_rows = int(np.ceil((ymax - y0) / cell)) + 1
        return cls(float(x0), float(y0), float(cell), n_rows, n_cols)


def _edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, ring offsets and per-geometry ring offsets of polygon geometries."""
    rings, ring_geom = shapely.get_rings(geoms, return_index=True)
    xy, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ring_start = np.searchsorted(coord_ring, np.arange(len(rings) + 1)).astype(np.int64)
    geom_ring = np.searchsorted(ring_geom, np.arange(len(geoms) + 1)).astype(np.int64)
    return (np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), ring_start,
            geom_ring)


def _row_index(y: np.ndarray, y0: float, h: float) -> np.ndarray:
    """Return the first cell row whose centre line is at or above ``y`` (half-open)."""
    return np.ceil((y - y0) / h - 0.5).astype(np.int64)


def rasterise(geoms: np.ndarray, grid: Grid) -> tuple[np.ndarray, ...]:
    """Rasterise polygons to runs ``(geom, row, c0, c1)`` by the cell-centre rule.

    Every edge crosses the centre lines of rows ``[row(min y), row(max y))`` (so a vertex on
    a centre line is counted once, and a horizontal edge never); the crossings of one row
    of one polygon, sorted by column, pair up into runs ``[c0, c1)`` (even-odd rule), and
    empty runs are dropped. Runs come sorted by polygon, row and column. Vectorised numpy,
    nothing to compile.

    Examples
    --------
    >>> g = Grid(0.0, 0.0, 1.0, 10, 10)
    >>> gi, row, c0, c1 = rasterise(np.array([shapely.box(1, 1, 3, 2)]), g)
    >>> row.tolist(), c0.tolist(), c1.tolist()
    ([1], [1], [3])
    """
    geoms = np.asarray(geoms, dtype=object)
    x, y, ring_start, geom_ring = _edges(geoms)
    # edge k joins vertex k to k + 1 inside a ring (the last vertex of a ring starts none)
    edge = np.ones(max(len(x) - 1, 0), bool)
    edge[ring_start[1:-1] - 1] = False
    k = np.flatnonzero(edge)
    lo = _row_index(np.minimum(y[k], y[k + 1]), grid.y0, grid.cell)
    hi = _row_index(np.maximum(y[k], y[k + 1]), grid.y0, grid.cell)
    n = np.where(hi > lo, hi - lo, 0)
    geom = np.searchsorted(geom_ring, np.searchsorted(ring_start, k, side="right") - 1,
                           side="right") - 1
    # whole polygons at a time, about _CHUNK crossings each, so memory stays bounded
    per_geom = np.bincount(geom, weights=n, minlength=len(geoms)).astype(np.int64)
    chunk = ((np.cumsum(per_geom) - per_geom) // _CHUNK)[geom]  # where each polygon starts
    cut = np.flatnonzero(np.diff(chunk)) + 1
    parts = [_rasterise_edges(x, y, k[i:j], lo[i:j], n[i:j], geom[i:j], grid)
             for i, j in zip(np.r_[0, cut], np.r_[cut, len(k)], strict=True) if j > i]
    if not parts:
        return tuple(np.zeros(0, np.int64) for _ in range(4))
    return tuple(np.concatenate(col) for col in zip(*parts, strict=True))


#: Crossings rasterised at once (about 60 bytes each).
_CHUNK = 2_000_000


def _rasterise_edges(x: np.ndarray, y: np.ndarray, k: np.ndarray, lo: np.ndarray,
                     n: np.ndarray, geom: np.ndarray, grid: Grid) -> tuple[np.ndarray, ...]:
    """Rasterise the polygons whose edges (``k``, first row ``lo``, ``n`` rows) are given."""
    h, x0, y0 = grid.cell, grid.x0, grid.y0
    xa, ya, xb, yb = x[k], y[k], x[k + 1], y[k + 1]
    # one crossing per (edge, row): its row and the column whose centre is right of it
    e = np.repeat(np.arange(len(k)), n)
    row = lo[e] + (np.arange(len(e)) - np.repeat(np.cumsum(n) - n, n))
    yc = y0 + (row + 0.5) * h
    xc = xa[e] + (yc - ya[e]) * (xb[e] - xa[e]) / (yb[e] - ya[e])
    col = np.ceil((xc - x0) / h - 0.5).astype(np.int64)
    g = geom[e]
    order = np.lexsort((col, row, g))
    g, row, col = g[order], row[order], col[order]
    # a closed ring crosses every centre line an even number of times: pair them in order
    g0, r0, a, b = g[0::2], row[0::2], col[0::2], col[1::2]
    if len(a) != len(b) or not (np.array_equal(g0, g[1::2])
                                and np.array_equal(r0, row[1::2])):  # pragma: no cover
        raise ValueError("rasterise: a ring is not closed")
    keep = b > a
    return g0[keep], r0[keep], a[keep], b[keep]


def accumulate(group: np.ndarray, row: np.ndarray, c0: np.ndarray, c1: np.ndarray,
               weight: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sum weighted runs per group: runs ``(group, row, c0, c1, value)`` with value > 0.

    The result does not depend on the order of the input runs (sorted sweep).
    """
    g = np.concatenate([group, group])
    r = np.concatenate([row, row])
    c = np.concatenate([c0, c1])
    d = np.concatenate([weight, -weight]).astype(np.float64)
    order = np.lexsort((d, c, r, g))  # d in the key: summation order fixed
    g, r, c, d = g[order], r[order], c[order], d[order]
    val = np.cumsum(d)
    same = (g[1:] == g[:-1]) & (r[1:] == r[:-1])
    tol = 1e-9 * (np.abs(weight).max() if len(weight) else 1.0)
    keep = same & (c[1:] > c[:-1]) & (val[:-1] > tol)
    v = val[:-1][keep]
    w_int = np.abs(weight - np.round(weight)).max(initial=0.0) == 0.0
    if w_int:
        v = np.round(v)
    return g[:-1][keep], r[:-1][keep], c[:-1][keep], c[1:][keep], v


@KERNELS.kernel((I1, I1, I1, F1, F1, F2, F1, I1, I1), entry=True, rate=5e-6)
def _sweep(row, c0, name, value, n_drawers, out, counts, active, where):  # noqa: ANN001, ANN202
    """Overlay of per-name runs: one summary per elementary interval.

    ``counts`` (zeros), ``active`` and ``where`` (-1) are work arrays, one entry per name.
    """
    n = len(row)
    # events sorted by (row, col); built by the caller
    n_active = 0
    m = 0
    i = 0
    while i < n:
        r = row[i]
        col = c0[i]
        while i < n and row[i] == r and c0[i] == col:
            k = name[i]
            counts[k] += value[i]
            if where[k] < 0 and counts[k] > 1e-12:
                where[k] = n_active
                active[n_active] = k
                n_active += 1
            elif where[k] >= 0 and counts[k] <= 1e-12:
                counts[k] = 0.0
                j = where[k]
                last = active[n_active - 1]
                active[j] = last
                where[last] = j
                where[k] = -1
                n_active -= 1
            i += 1
        if n_active == 0 or i >= n or row[i] != r:
            continue
        nxt = c0[i]
        total = 0.0
        for j in range(n_active):
            total += counts[active[j]]
        ent = 0.0
        b1 = -1
        b2 = -1
        best = -1
        best_share = -1.0
        for j in range(n_active):
            k = active[j]
            p = counts[k] / total
            ent -= p * np.log2(p)
            if b1 < 0 or counts[k] > counts[b1] or (counts[k] == counts[b1] and k < b1):
                b2 = b1
                b1 = k
            elif b2 < 0 or counts[k] > counts[b2] or (counts[k] == counts[b2] and k < b2):
                b2 = k
            sh = counts[k] / n_drawers[k]
            if sh > best_share or (sh == best_share and k < best):
                best_share = sh
                best = k
        out[m, 0] = r
        out[m, 1] = col
        out[m, 2] = nxt
        out[m, 3] = total
        out[m, 4] = n_active
        out[m, 5] = max(ent, 0.0)
        out[m, 6] = b1
        out[m, 7] = counts[b1] / total
        out[m, 8] = b2
        out[m, 9] = counts[b2] / total if b2 >= 0 else 0.0
        out[m, 10] = best
        out[m, 11] = best_share
        m += 1
    return m


def sweep(row: np.ndarray, c0: np.ndarray, c1: np.ndarray, name: np.ndarray,
          value: np.ndarray, n_drawers: np.ndarray) -> np.ndarray:
    """Overlay per-name runs: one summary row per elementary interval.

    Columns of the float64 ``(m, 12)`` result: row, c0, c1, total, n_names,
    entropy_bits, top, top_share, second, second_share, best (highest agreement),
    best_share.
    """
    r = np.concatenate([row, row]).astype(np.int64)
    c = np.concatenate([c0, c1]).astype(np.int64)
    k = np.concatenate([name, name]).astype(np.int64)
    v = np.concatenate([value, -value]).astype(np.float64)
    order = np.lexsort((v, k, c, r))
    r, c, k, v = r[order], c[order], k[order], v[order]
    out = np.empty((len(r) + 1, 12))
    n_names = len(n_drawers)
    m = KERNELS.pick(_sweep, len(r))(r, c, k, v, np.ascontiguousarray(n_drawers, np.float64), out,
               np.zeros(n_names), np.empty(n_names, np.int64), np.full(n_names, -1, np.int64))
    return out[:m]


@KERNELS.kernel((I1, I1, I1, I1, I1, I1, I1, I1, I1, I1, I1), entry=True, rate=2e-6)
def _claims(row, col, name, delta, out_row, out_c0, out_c1, out_a, out_b,  # noqa: ANN001, ANN202
            active, where):
    """Find the runs claimed by two names at once; ``active``, ``where`` (-1): work per name."""
    n = len(row)
    n_active = 0
    m = 0
    cap = len(out_row)
    i = 0
    while i < n:
        r = row[i]
        c = col[i]
        while i < n and row[i] == r and col[i] == c:
            k = name[i]
            if delta[i] > 0:
                where[k] = n_active
                active[n_active] = k
                n_active += 1
            else:
                j = where[k]
                last = active[n_active - 1]
                active[j] = last
                where[last] = j
                where[k] = -1
                n_active -= 1
            i += 1
        if n_active < 2 or i >= n or row[i] != r:
            continue
        for a in range(n_active):
            for b in range(n_active):
                ka = active[a]
                kb = active[b]
                if ka < kb:
                    if m < cap:
                        out_row[m] = r
                        out_c0[m] = c
                        out_c1[m] = col[i]
                        out_a[m] = ka
                        out_b[m] = kb
                    m += 1
    return m


def claims(row: np.ndarray, c0: np.ndarray, c1: np.ndarray,
           name: np.ndarray) -> tuple[np.ndarray, ...]:
    """Find runs claimed by two names at once: ``(row, c0, c1, a, b)`` with ``a < b``.

    Each name's runs must not overlap each other (one core per name).
    """
    r = np.concatenate([row, row]).astype(np.int64)
    c = np.concatenate([c0, c1]).astype(np.int64)
    k = np.concatenate([name, name]).astype(np.int64)
    d = np.concatenate([np.ones(len(row), np.int64), -np.ones(len(row), np.int64)])
    order = np.lexsort((d, k, c, r))  # a name's end (-1) before its start (+1)
    r, c, k, d = r[order], c[order], k[order], d[order]
    n_names = int(k.max()) + 1 if len(k) else 0
    cap = max(16, len(row))
    while True:
        bufs = [np.empty(cap, np.int64) for _ in range(5)]
        m = KERNELS.pick(_claims, len(r))(r, c, k, d, *bufs, np.empty(n_names, np.int64),
                    np.full(n_names, -1, np.int64))
        if m <= cap:
            return tuple(b[:m] for b in bufs)
        cap = m


def run_sums(cell_row: np.ndarray, cell_col: np.ndarray, cell_value: np.ndarray,
             row: np.ndarray, c0: np.ndarray, c1: np.ndarray, n_cols: int) -> np.ndarray:
    """Sum of sparse cell values over each run (e.g. population per run)."""
    key = cell_row.astype(np.int64) * (n_cols + 1) + cell_col
    order = np.argsort(key, kind="stable")
    key = key[order]
    cum = np.concatenate([[0.0], np.cumsum(cell_value[order])])
    lo = np.searchsorted(key, row * (n_cols + 1) + c0, side="left")
    hi = np.searchsorted(key, row * (n_cols + 1) + c1, side="left")
    return cum[hi] - cum[lo]


def runs_to_geometry(row: np.ndarray, c0: np.ndarray, c1: np.ndarray, grid: Grid,
                     group: np.ndarray | None = None, n_groups: int = 1) -> np.ndarray:
    """Union the cells of each group's runs into valid (Multi)Polygons (empty if none).

    See :func:`nbhd_geo.voices._vectorise.runs_to_polygons`.
    """
    return runs_to_polygons(row, c0, c1, grid.x0, grid.y0, grid.cell, group, n_groups)


def compile_kernels() -> float:
    """Compile the consensus kernels once, or load them from numba's cache; return seconds.

    Idempotent and thread-safe, like :func:`nbhd_geo.overlay.exact.compile_kernels` (the
    cache lives in the same place).

    Examples
    --------
    >>> compile_kernels() >= 0.0
    True
    """
    return KERNELS.compile()


def compile_in_background() -> Any:
    """Start :func:`compile_kernels` in the background (``None`` if done or under way).

    For a caller that wants the kernels compiled now (``make test`` at install) rather than
    run as Python until compiling pays (:func:`load_in_background`, what
    :func:`~nbhd_geo.voices.consensus.consensus` calls): with a cold cache in a child
    process, else (a warm cache) loaded in a daemon thread, as
    :func:`nbhd_geo.overlay.exact.compile_in_background`.

    Examples
    --------
    >>> _ = compile_in_background()
    >>> compile_kernels() >= 0.0
    True
    """
    return KERNELS.compile_in_background()


def load_in_background() -> Any:
    """Load the consensus kernels from a warm cache in a daemon thread; never compile.

    Call it as soon as it is known that a consensus will be built. With a cold cache it does
    nothing: the kernels run as Python while that is cheaper than compiling them, as
    :func:`nbhd_geo.overlay.exact.load_in_background`.

    Examples
    --------
    >>> _ = load_in_background()
    >>> compile_kernels() >= 0.0
    True
    """
    return KERNELS.load_in_background()
