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

import numba as nb
import numpy as np
import shapely

__all__ = ["Grid", "rasterise", "accumulate", "sweep", "claims", "run_sums",
           "runs_to_geometry"]

_JIT: dict[str, Any] = {"nogil": True, "cache": True}


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


@nb.njit(**_JIT)
def _row_span(ya: float, yb: float, y0: float, h: float) -> tuple[int, int]:
    lo = min(ya, yb)
    hi = max(ya, yb)
    return int(np.ceil((lo - y0) / h - 0.5)), int(np.ceil((hi - y0) / h - 0.5))


@nb.njit(**_JIT)
def _count_crossings(x, y, ring_start, geom_ring, y0, h):  # noqa: ANN001, ANN202
    n = len(geom_ring) - 1
    out = np.zeros(n, np.int64)
    for g in range(n):
        total = 0
        for r in range(geom_ring[g], geom_ring[g + 1]):
            for k in range(ring_start[r], ring_start[r + 1] - 1):
                a, b = _row_span(y[k], y[k + 1], y0, h)
                if b > a:
                    total += b - a
        out[g] = total
    return out


@nb.njit(**_JIT)
def _fill_runs(x, y, ring_start, geom_ring, x0, y0, h, offsets, out_row, out_c0, out_c1,
               out_n):  # noqa: ANN001, ANN202
    n = len(geom_ring) - 1
    for g in range(n):
        rlo = 1 << 62
        rhi = -(1 << 62)
        for r in range(geom_ring[g], geom_ring[g + 1]):
            for k in range(ring_start[r], ring_start[r + 1]):
                a, b = _row_span(y[k], y[k], y0, h)
                rlo = min(rlo, a)
                rhi = max(rhi, a)
        if rhi < rlo:
            out_n[g] = 0
            continue
        nrows = rhi - rlo + 1
        cnt = np.zeros(nrows + 1, np.int64)
        for r in range(geom_ring[g], geom_ring[g + 1]):
            for k in range(ring_start[r], ring_start[r + 1] - 1):
                a, b = _row_span(y[k], y[k + 1], y0, h)
                for row in range(a, b):
                    cnt[row - rlo + 1] += 1
        for i in range(nrows):
            cnt[i + 1] += cnt[i]
        cols = np.empty(cnt[nrows], np.int64)
        pos = cnt[:nrows].copy()
        for r in range(geom_ring[g], geom_ring[g + 1]):
            for k in range(ring_start[r], ring_start[r + 1] - 1):
                xa, ya, xb, yb = x[k], y[k], x[k + 1], y[k + 1]
                a, b = _row_span(ya, yb, y0, h)
                for row in range(a, b):
                    yc = y0 + (row + 0.5) * h
                    xc = xa + (yc - ya) * (xb - xa) / (yb - ya)
                    cols[pos[row - rlo]] = int(np.ceil((xc - x0) / h - 0.5))
                    pos[row - rlo] += 1
        m = offsets[g]
        for i in range(nrows):
            s = np.sort(cols[cnt[i]:cnt[i + 1]])
            for j in range(0, len(s) - 1, 2):
                if s[j + 1] > s[j]:
                    out_row[m] = rlo + i
                    out_c0[m] = s[j]
                    out_c1[m] = s[j + 1]
                    m += 1
        out_n[g] = m - offsets[g]


def rasterise(geoms: np.ndarray, grid: Grid) -> tuple[np.ndarray, ...]:
    """Rasterise polygons to runs ``(geom, row, c0, c1)`` by the cell-centre rule.

    Examples
    --------
    >>> g = Grid(0.0, 0.0, 1.0, 10, 10)
    >>> gi, row, c0, c1 = rasterise(np.array([shapely.box(1, 1, 3, 2)]), g)
    >>> row.tolist(), c0.tolist(), c1.tolist()
    ([1], [1], [3])
    """
    geoms = np.asarray(geoms, dtype=object)
    x, y, ring_start, geom_ring = _edges(geoms)
    crossings = _count_crossings(x, y, ring_start, geom_ring, grid.y0, grid.cell)
    cap = crossings // 2 + 1
    offsets = np.concatenate([[0], np.cumsum(cap)[:-1]]).astype(np.int64)
    size = int(cap.sum())
    row = np.empty(size, np.int64)
    c0 = np.empty(size, np.int64)
    c1 = np.empty(size, np.int64)
    n_out = np.zeros(len(geoms), np.int64)
    _fill_runs(x, y, ring_start, geom_ring, grid.x0, grid.y0, grid.cell, offsets, row, c0, c1,
               n_out)
    keep = np.arange(size) - np.repeat(offsets, cap) < np.repeat(n_out, cap)
    gi = np.repeat(np.arange(len(geoms), dtype=np.int64), cap)
    return gi[keep], row[keep], c0[keep], c1[keep]


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


@nb.njit(**_JIT)
def _sweep(row, c0, name, value, n_drawers, out):  # noqa: ANN001, ANN202
    """Overlay of per-name runs: one summary per elementary interval."""
    k_names = len(n_drawers)
    n = len(row)
    # events sorted by (row, col); built by the caller
    counts = np.zeros(k_names)
    active = np.empty(k_names, np.int64)
    where = -np.ones(k_names, np.int64)
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
    r = np.concatenate([row, row])
    c = np.concatenate([c0, c1])
    k = np.concatenate([name, name]).astype(np.int64)
    v = np.concatenate([value, -value]).astype(np.float64)
    order = np.lexsort((v, k, c, r))
    r, c, k, v = r[order], c[order], k[order], v[order]
    out = np.empty((len(r) + 1, 12))
    m = _sweep(r, c, k, v, n_drawers.astype(np.float64), out)
    return out[:m]


@nb.njit(**_JIT)
def _claims(row, col, name, delta, out_row, out_c0, out_c1, out_a, out_b):  # noqa: ANN001, ANN202
    n = len(row)
    k_max = 0
    for i in range(n):
        k_max = max(k_max, name[i] + 1)
    active = np.empty(k_max, np.int64)
    where = -np.ones(k_max, np.int64)
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
    r = np.concatenate([row, row])
    c = np.concatenate([c0, c1])
    k = np.concatenate([name, name]).astype(np.int64)
    d = np.concatenate([np.ones(len(row), np.int64), -np.ones(len(row), np.int64)])
    order = np.lexsort((d, k, c, r))  # a name's end (-1) before its start (+1)
    r, c, k, d = r[order], c[order], k[order], d[order]
    cap = max(16, len(row))
    while True:
        bufs = [np.empty(cap, np.int64) for _ in range(5)]
        m = _claims(r, c, k, d, *bufs)
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
    from nbhd_geo.voices._vectorise import runs_to_polygons

    return runs_to_polygons(row, c0, c1, grid.x0, grid.y0, grid.cell, group, n_groups)
