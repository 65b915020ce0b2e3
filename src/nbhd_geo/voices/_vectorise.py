"""Vectorising run-length rasters: cell runs to valid polygons by boundary tracing.

Unioning thousands of cell rectangles with GEOS is slow (minutes for the 800 cores
of New York). Instead the boundary is traced once: every cell edge between a set and
an unset cell becomes a directed edge with the set cell on its left, edges are linked
at grid vertices (turning left where two set cells touch only at a corner), collinear
vertices are dropped, and rings passing twice through a vertex are split. Rings
then orient themselves: counter-clockwise rings are shells, clockwise rings holes.
"""

from __future__ import annotations

import numpy as np
import shapely

from nbhd_geo.voices._kernels import B1, I1, KERNELS

__all__ = ["runs_to_polygons"]


@KERNELS.kernel((I1, I1, I1, I1, I1, I1, I1, I1, I1, I1), entry=True, rate=5e-6)
def _boundary_edges(row, c0, c1, gstart, sx, sy, ex, ey, dr, estart):  # noqa: ANN001, ANN202
    """Directed boundary edges of merged runs per group, set cells on the left of each.

    Per row of a group, in this order: the west (south-going, ``dr`` 3) and east
    (north-going, 1) side of every run; the bottom edges (east-going, 0), i.e. the runs of
    the row minus those of the row below; the top edges (west-going, 2), the runs minus
    those of the row above. Group ``g``'s edges are ``estart[g]:estart[g + 1]``; returns
    their number.
    """
    ne = 0
    for g in range(len(gstart) - 1):
        estart[g] = ne
        lo = gstart[g]
        hi = gstart[g + 1]
        i0 = lo
        while i0 < hi:
            r = row[i0]
            i1 = i0
            while i1 < hi and row[i1] == r:
                i1 += 1
            for i in range(i0, i1):
                sx[ne] = c0[i]
                sy[ne] = r + 1
                ex[ne] = c0[i]
                ey[ne] = r
                dr[ne] = 3
                ne += 1
                sx[ne] = c1[i]
                sy[ne] = r
                ex[ne] = c1[i]
                ey[ne] = r + 1
                dr[ne] = 1
                ne += 1
            for side in range(2):
                # the runs of the neighbouring row (below, then above): [j0, j1)
                if side == 0:
                    j0 = i0
                    while j0 > lo and row[j0 - 1] == r - 1:
                        j0 -= 1
                    j1 = i0
                else:
                    j0 = i1
                    j1 = i1
                    while j1 < hi and row[j1] == r + 1:
                        j1 += 1
                # this row's runs minus the neighbour's (both sorted, disjoint)
                j = j0
                for i in range(i0, i1):
                    s = c0[i]
                    e = c1[i]
                    while j < j1 and c1[j] <= s:
                        j += 1
                    k = j
                    while s < e:
                        stop = e if k >= j1 or c0[k] >= e else c0[k]
                        if stop > s:
                            if side == 0:
                                sx[ne] = s
                                sy[ne] = r
                                ex[ne] = stop
                                ey[ne] = r
                                dr[ne] = 0
                            else:
                                sx[ne] = stop
                                sy[ne] = r + 1
                                ex[ne] = s
                                ey[ne] = r + 1
                                dr[ne] = 2
                            ne += 1
                        if stop == e:
                            break
                        s = max(s, c1[k])
                        k += 1
            i0 = i1
    estart[len(gstart) - 1] = ne
    return ne


@KERNELS.kernel((I1, I1, I1, I1, I1, I1, I1, I1, I1, B1), entry=True, rate=2e-6)
def _walk_rings(sx, sy, dr, nxt, estart, out_x, out_y, ring_start,  # noqa: ANN001, ANN202
                ring_group, used):
    """Follow each group's edges (in order, from the first unused) into closed rings.

    A vertex is written where the direction changes; a ring that closes on a straight
    line drops its duplicated start vertex. ``used``: work, ``False`` per edge. Returns
    (number of vertices, number of rings).
    """
    nv = 0
    nr = 0
    for g in range(len(estart) - 1):
        for e0 in range(estart[g], estart[g + 1]):
            if used[e0]:
                continue
            ring_start[nr] = nv
            ring_group[nr] = g
            nr += 1
            e = e0
            prev_dir = -1
            while not used[e]:
                used[e] = True
                if dr[e] != prev_dir:
                    out_x[nv] = sx[e]
                    out_y[nv] = sy[e]
                    nv += 1
                prev_dir = dr[e]
                if nxt[e] < 0 or nxt[e] == e0:
                    break
                e = nxt[e]
            if dr[e0] == prev_dir and nv - ring_start[nr - 1] > 1:
                # the ring closes on a straight line: drop the duplicated start vertex
                out_x[ring_start[nr - 1]] = out_x[nv - 1]
                out_y[ring_start[nr - 1]] = out_y[nv - 1]
                nv -= 1
            out_x[nv] = out_x[ring_start[nr - 1]]
            out_y[nv] = out_y[ring_start[nr - 1]]
            nv += 1
    ring_start[nr] = nv
    return nv, nr


def _next_edges(sx: np.ndarray, sy: np.ndarray, ex: np.ndarray, ey: np.ndarray,
                dr: np.ndarray, estart: np.ndarray) -> np.ndarray:
    """Find the edge each edge continues into (-1 if none).

    Of the edges leaving its end (same group): turn left if possible, else go straight,
    else right.

    At most two edges leave a vertex, and then (two set cells touching at a corner) one
    turns left and the other right, so the choice never depends on their order.
    """
    n = len(sx)
    nxt = np.full(n, -1, np.int64)
    if n == 0:
        return nxt
    grp = np.repeat(np.arange(len(estart) - 1, dtype=np.int64), np.diff(estart))
    xmin = min(sx.min(), ex.min())
    ymin = min(sy.min(), ey.min())
    width = max(sx.max(), ex.max()) - xmin + 1
    height = max(sy.max(), ey.max()) - ymin + 1
    if float(len(estart)) * float(height) * float(width) >= 2.0**62:  # pragma: no cover
        raise ValueError("runs_to_polygons: grid too large to key its vertices")
    start = (grp * height + (sy - ymin)) * width + (sx - xmin)
    end = (grp * height + (ey - ymin)) * width + (ex - xmin)
    order = np.argsort(start, kind="stable")
    key = start[order]
    p = np.searchsorted(key, end, side="left")
    q = np.searchsorted(key, end, side="right")
    best_rank = np.full(n, 9, np.int64)
    for j in range(int((q - p).max())):
        has = p + j < q
        f = order[np.minimum(p + j, n - 1)]
        turn = (dr[f] - dr) % 4  # 1 left, 0 straight, 3 right
        rank = np.where(turn == 1, 0, np.where(turn == 0, 1, 2))
        better = has & (rank < best_rank)
        nxt = np.where(better, f, nxt)
        best_rank = np.where(better, rank, best_rank)
    return nxt


def _trace(row: np.ndarray, c0: np.ndarray, c1: np.ndarray, gstart: np.ndarray,
           out_x: np.ndarray, out_y: np.ndarray, ring_start: np.ndarray,
           ring_group: np.ndarray) -> tuple[int, int]:
    """Boundary rings of merged runs per group (set cells on the left of every edge).

    Returns (number of vertices, number of rings). At a vertex where two set cells touch
    diagonally the walk turns left, so diagonal neighbours become separate rings.
    """
    cap = 6 * len(row) + 4 * (len(gstart) - 1) + 4
    sx, sy, ex, ey, dr = (np.empty(cap, np.int64) for _ in range(5))
    estart = np.empty(len(gstart), np.int64)
    ne = KERNELS.pick(_boundary_edges, len(row))(row, c0, c1, gstart, sx, sy, ex, ey, dr,
                                                  estart)
    sx, sy, ex, ey, dr = sx[:ne], sy[:ne], ex[:ne], ey[:ne], dr[:ne]
    nxt = _next_edges(sx, sy, ex, ey, dr, estart)
    nv, nr = KERNELS.pick(_walk_rings, ne)(sx, sy, dr, nxt, estart, out_x, out_y,
                                           ring_start, ring_group, np.zeros(ne, np.bool_))
    return int(nv), int(nr)


def _split_pinched(xs: np.ndarray, ys: np.ndarray, ring_start: np.ndarray,
                   ring_group: np.ndarray) -> tuple[np.ndarray, ...]:
    """Split rings that pass twice through a vertex (a pinch) into simple rings."""
    nr = len(ring_group)
    counts = np.diff(ring_start)
    ring_id = np.repeat(np.arange(nr), counts)
    body = np.ones(len(xs), bool)
    body[ring_start[1:] - 1] = False  # closing vertices
    key = np.stack([ring_id[body], xs[body], ys[body]])
    _, inv, cnt = np.unique(key, axis=1, return_inverse=True, return_counts=True)
    pinched = np.unique(ring_id[body][cnt[inv.ravel()] > 1])
    if len(pinched) == 0:
        return xs, ys, ring_start, ring_group
    keep = ~np.isin(np.arange(nr), pinched)
    out_x = [xs[np.isin(ring_id, np.flatnonzero(keep))]]
    out_y = [ys[np.isin(ring_id, np.flatnonzero(keep))]]
    sizes = list(counts[keep])
    groups = list(ring_group[keep])
    for k in pinched:
        seq = list(zip(xs[ring_start[k]:ring_start[k + 1] - 1].tolist(),
                       ys[ring_start[k]:ring_start[k + 1] - 1].tolist(), strict=True))
        path: list[tuple[int, int]] = []
        pos: dict[tuple[int, int], int] = {}
        loops = []
        for v in seq + [seq[0]]:
            if v in pos:
                i = pos[v]
                loops.append(path[i:] + [v])
                for u in path[i + 1:]:
                    del pos[u]
                path = path[: i + 1]
            else:
                pos[v] = len(path)
                path.append(v)
        for loop in loops:
            if len(loop) < 4:
                continue
            arr = np.asarray(loop, dtype=np.int64)
            out_x.append(arr[:, 0])
            out_y.append(arr[:, 1])
            sizes.append(len(loop))
            groups.append(ring_group[k])
    order = np.argsort(np.asarray(groups), kind="stable")
    xs_l = [out_x[0]] + out_x[1:]
    # rebuild in group order so that shells of a group stay together
    starts = np.concatenate([[0], np.cumsum(sizes)])
    allx = np.concatenate(xs_l)
    ally = np.concatenate([out_y[0]] + out_y[1:])
    idx = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in order]) \
        if len(order) else np.zeros(0, np.int64)
    new_sizes = np.asarray(sizes, np.int64)[order]
    return (allx[idx], ally[idx], np.concatenate([[0], np.cumsum(new_sizes)]).astype(np.int64),
            np.asarray(groups, np.int64)[order])


def _merge_runs(group: np.ndarray, row: np.ndarray, c0: np.ndarray,
                c1: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort runs by (group, row, c0) and merge overlapping or touching runs."""
    order = np.lexsort((c0, row, group))
    g, r, a, b = group[order], row[order], c0[order], c1[order]
    if len(g) == 0:
        return g, r, a, b
    same = np.zeros(len(g), bool)
    same[1:] = (g[1:] == g[:-1]) & (r[1:] == r[:-1])
    # running max of ends within (group,row) blocks
    blk = np.cumsum(~same) - 1
    ends = _block_cummax(blk, b)
    new = ~same
    new[1:] |= a[1:] > ends[:-1]
    starts = np.flatnonzero(new)
    seg_end = np.maximum.reduceat(ends, starts)
    return g[starts], r[starts], a[starts], seg_end


def _block_cummax(block: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Take the running maximum of integer ``values``, restarting at each new ``block``."""
    if len(values) == 0:
        return values.copy()
    lo = values.min()
    span = values.max() - lo + 1
    # shift every block above all earlier ones, so one running maximum never crosses a block
    lifted = (values - lo) + block.astype(np.int64) * span
    return np.maximum.accumulate(lifted) - block.astype(np.int64) * span + lo


def runs_to_polygons(row: np.ndarray, c0: np.ndarray, c1: np.ndarray, x0: float, y0: float,
                     cell: float, group: np.ndarray | None = None,
                     n_groups: int = 1) -> np.ndarray:
    """Union of the cells of each group's runs, as valid (Multi)Polygons (empty if none).

    The boundary is traced cell edge by cell edge (set cells on the left), collinear
    vertices are dropped, counter-clockwise rings become shells and clockwise rings
    holes of the innermost shell around them. Cells touching only at a corner give
    parts touching at a point (valid).

    Examples
    --------
    >>> geom = runs_to_polygons(np.array([0, 1, 1, 2]), np.array([0, 0, 2, 0]),
    ...                         np.array([3, 1, 3, 3]), 0.0, 0.0, 1.0)[0]
    >>> geom.area, len(geom.interiors), bool(geom.is_valid)
    (8.0, 1, True)
    """
    out = np.array([shapely.Polygon()] * n_groups, dtype=object)
    if len(row) == 0:
        return out
    grp = np.zeros(len(row), np.int64) if group is None else np.asarray(group, np.int64)
    g, r, a, b = _merge_runs(grp, np.asarray(row, np.int64), np.asarray(c0, np.int64),
                             np.asarray(c1, np.int64))
    gstart = np.searchsorted(g, np.arange(n_groups + 1)).astype(np.int64)
    cap = 8 * len(r) + 16
    xs = np.empty(cap, np.int64)
    ys = np.empty(cap, np.int64)
    ring_start = np.empty(cap, np.int64)
    ring_group = np.empty(cap, np.int64)
    nv, nr = _trace(r, a, b, gstart, xs, ys, ring_start, ring_group)
    xs, ys, ring_start, ring_group = _split_pinched(xs[:nv], ys[:nv], ring_start[: nr + 1],
                                                    ring_group[:nr])
    nr = len(ring_group)
    nv = len(xs)
    counts = np.diff(ring_start)
    x = x0 + xs * cell
    y = y0 + ys * cell
    ring_id = np.repeat(np.arange(nr), counts)
    rings = shapely.linearrings(x, y, indices=ring_id)
    # signed area (shoelace, integer coordinates: exact)
    xi = xs.astype(np.float64)
    yi = ys.astype(np.float64)
    cross = xi[:-1] * yi[1:] - xi[1:] * yi[:-1]
    last = np.zeros(nv, bool)
    last[ring_start[1:] - 1] = True
    cross = np.where(last[:-1], 0.0, cross)
    signed = np.bincount(ring_id[:-1], weights=cross, minlength=nr) / 2
    shell = signed > 0
    hole = ~shell
    shells_idx = np.flatnonzero(shell)
    shell_polys = shapely.polygons(rings[shells_idx])
    holes_of: dict[int, list[int]] = {}
    if hole.any():
        hi = np.flatnonzero(hole)
        # a point in a set cell just left of each hole's first edge
        s0 = ring_start[hi]
        dx = np.sign(xs[s0 + 1] - xs[s0])
        dy = np.sign(ys[s0 + 1] - ys[s0])
        px = x0 + (xs[s0] + 0.5 * dx - 0.25 * dy) * cell
        py = y0 + (ys[s0] + 0.5 * dy + 0.25 * dx) * cell
        tree = shapely.STRtree(shell_polys)
        ip, isx = tree.query(shapely.points(px, py), predicate="within")
        same = ring_group[hi[ip]] == ring_group[shells_idx[isx]]
        ip, isx = ip[same], isx[same]
        area = shapely.area(shell_polys)[isx]
        order = np.lexsort((area, ip))
        first = np.ones(len(order), bool)
        first[1:] = ip[order][1:] != ip[order][:-1]
        for h, s_ in zip(ip[order][first], isx[order][first], strict=True):
            holes_of.setdefault(int(s_), []).append(int(hi[h]))
    for s_, hs in holes_of.items():
        shell_polys[s_] = shapely.Polygon(rings[shells_idx[s_]], holes=list(rings[hs]))
    sg = ring_group[shells_idx]
    for j in np.unique(sg):
        parts = shell_polys[sg == j]
        out[j] = parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
    return out
