"""A layer read into oriented edge arrays: the engine's only view of the polygons.

Guarantees: every ring is oriented so that its polygon lies on its left (exteriors
counter-clockwise, holes clockwise), decided by exact orientation, so a ring's direction is
never guessed from a rounded signed area; coordinates are refused when not finite or beyond
2**400 and flushed to zero below 2**-400 (exact products then never under- or overflow);
a polygon's edges are contiguous and its rings keep their order; only the polygons asked
for are read. :class:`_Layer` also holds the per-polygon band index, built only for polygons
of at least ``_POLY_INDEX_MIN`` edges paired with a polygon ``_INDEX_RATIO`` times smaller.
:func:`proven_valid` shows one-ring polygons valid by exact tests (never a polygon GEOS finds
invalid; tested), so GEOS's costlier validity check is left to the others; a layer read with
``prove=True`` also shows polygons of several rings (:func:`_simple_polygons`) from the
coordinates it reads for the edges.
"""

from __future__ import annotations

import numpy as np
import shapely

from nbhd_geo.overlay.exact.bands import (
    _NO_EDGES,
    _NO_INDEX,
    _polygon_bands,
)
from nbhd_geo.overlay.exact.jit import (
    B1,
    F1,
    F2,
    FA,
    I1,
    OVERLAY,
    _kernel,
    f8,
    i8,
)
from nbhd_geo.overlay.exact.predicates import (
    _orient,
)
from nbhd_geo.overlay.exact.sweep import (
    _argsort_into,
    _merge_argsort,
)

# Polygons with at least this many edges get a band index of their own, built once per
# layer (:func:`_polygon_bands`): a small partner then selects the polygon's edges in its box,
# and locates a ring by point-in-polygon, over a few bands instead of every edge.
_POLY_INDEX_MIN = 32
# ... when paired with a polygon that has at least this many times fewer edges.
_INDEX_RATIO = 4
# ... in at least this many such pairs, over the calls on the layer (one small partner does
# not repay it).
_INDEX_MIN_PAIRS = 4
# Coordinates are flushed to zero below, and refused above, these magnitudes (see
# _check_coordinates).
_COORD_MIN = 2.0**-400
_COORD_MAX = 2.0**400
# The validity test (_simple_rings) gives up past this many box comparisons per edge: about
# the cost of GEOS's own check, which then decides (real boundaries need a few per edge).
_PROOF_PAIRS = 64
# ... and leaves polygons of more rings than this to GEOS (_simple_polygons compares every
# two rings for nesting).
_PROOF_RINGS = 64


@_kernel((FA, FA, i8, i8, F1,))
def _ring_orientation(x: np.ndarray, y: np.ndarray, c0: int, c1: int, scr: np.ndarray) -> int:
    """+1 if the closed ring ``x/y[c0:c1]`` is counter-clockwise, -1 if clockwise.

    Exact: the turn at the lowest-leftmost vertex, whose neighbours (skipping repeated
    points) cannot be collinear with it in a valid ring; the shoelace sign otherwise.
    """
    n = c1 - c0 - 1  # the last point repeats the first
    m = c0
    for k in range(c0 + 1, c0 + n):
        if x[k] < x[m] or (x[k] == x[m] and y[k] < y[m]):
            m = k
    p = m
    for _ in range(n):
        p = p - 1 if p > c0 else c0 + n - 1
        if x[p] != x[m] or y[p] != y[m]:
            break
    q = m
    for _ in range(n):
        q = q + 1 if q < c0 + n - 1 else c0
        if x[q] != x[m] or y[q] != y[m]:
            break
    o = _orient(x[p], y[p], x[m], y[m], x[q], y[q], scr)
    if o != 0:
        return o
    x0 = x[c0]
    y0 = y[c0]
    twice = 0.0
    for k in range(c0, c1 - 1):
        twice += ((x[k] - x0) + (x[k + 1] - x0)) * ((y[k + 1] - y0) - (y[k] - y0))
    return 1 if twice > 0.0 else -1


@_kernel((FA, FA, I1, I1, B1, i8, F2, I1, I1, i8,), entry=True, rate=3e-6)
def _build_edges(
    x: np.ndarray,
    y: np.ndarray,
    ring_s: np.ndarray,
    ring_e: np.ndarray,
    exterior: np.ndarray,
    ring_base: int,
    edges: np.ndarray,
    ring_of: np.ndarray,
    ring_end: np.ndarray,
    n: int,
) -> int:
    """Append the edges of closed rings ``x/y[ring_s[r]:ring_e[r]]``, polygon on the left.

    Exterior rings are made counter-clockwise and holes clockwise; zero-length edges are
    dropped. Ring ``r`` becomes ring ``ring_base + r``; ``ring_end`` receives the offset just
    past its last edge. Returns the new number of edges.
    """
    nring = ring_s.shape[0]
    scr = np.empty(24)
    for r in range(nring):
        c0 = ring_s[r]
        c1 = ring_e[r]
        ccw = _ring_orientation(x, y, c0, c1, scr)
        flip = (ccw < 0) if exterior[r] else (ccw > 0)
        for q in range(c1 - c0 - 1):
            if flip:
                k = c1 - 1 - q
                k2 = k - 1
            else:
                k = c0 + q
                k2 = k + 1
            if x[k] == x[k2] and y[k] == y[k2]:
                continue
            edges[n, 0] = x[k]
            edges[n, 1] = y[k]
            edges[n, 2] = x[k2]
            edges[n, 3] = y[k2]
            ring_of[n] = ring_base + r
            n += 1
        ring_end[r] = n
    return n


class _Layer:
    """Edges of an oriented polygon layer, grouped by ring and polygon.

    ``prove=True`` also shows polygons valid from the coordinates read for the edges (the
    crosswalk's validity check and its overlay then read each layer once): ``shown[p]``
    True where polygon ``p`` is shown valid, by :func:`_simple_rings` (one ring) or
    :func:`_simple_polygons` (holes, parts); ``several[p]`` where it has several rings and
    is not shown, left to :func:`proven_valid` (parts whose boxes are apart) and GEOS.
    Nothing is shown of a chunk whose tiny coordinates were flushed to zero (they are no
    longer the geometry's).
    """

    __slots__ = (
        "edges", "ring_of_edge", "ring_e0", "ring_e1", "poly_e", "box", "index", "indexed",
        "uses", "shown", "several",
    )

    def __init__(self, geoms: np.ndarray, chunk: int = 1 << 18, prove: bool = False) -> None:
        n = len(geoms)
        self.shown: np.ndarray | None = np.zeros(n, dtype=np.bool_) if prove else None
        self.several: np.ndarray | None = np.zeros(n, dtype=np.bool_) if prove else None
        counts = shapely.get_num_coordinates(geoms)
        cum = np.cumsum(counts)
        ncoord = int(cum[-1]) if n else 0
        # chunks of about ``chunk`` coordinates keep the temporary ring geometries and
        # coordinate copies small
        cuts = np.unique(np.searchsorted(cum, np.arange(chunk, ncoord, chunk), side="right"))
        bounds = [0, *[int(c) for c in cuts if 0 < c < n], n]
        edges = np.empty((ncoord, 4))
        ring_of = np.empty(ncoord, dtype=np.int64)
        ends = []
        ring_polys = []
        nedge = 0
        nring = 0
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            x, y, ring_s, ring_e, exterior, ring_poly, flushed = _rings(
                geoms[start:stop], counts[start:stop]
            )
            nr = len(exterior)
            if prove and not flushed:
                self._prove(x, y, ring_s, ring_e, exterior, ring_poly, start, stop)
            ring_end = np.empty(nr, dtype=np.int64)
            nedge = OVERLAY.pick(_build_edges, len(x))(
                x, y, ring_s, ring_e, exterior, nring, edges, ring_of, ring_end, nedge
            )
            ends.append(ring_end)
            ring_polys.append(ring_poly + start)
            nring += nr
        self.edges = edges[:nedge]
        self.ring_of_edge = ring_of[:nedge]
        re = np.zeros(nring + 1, dtype=np.int64)
        if nring:
            re[1:] = np.concatenate(ends)
        self.ring_e0 = re[:-1]
        self.ring_e1 = re[1:]
        ring_poly = np.concatenate(ring_polys) if ring_polys else np.empty(0, dtype=np.int64)
        pcount = np.bincount(ring_poly, weights=np.diff(re), minlength=n).astype(np.int64)
        pe = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(pcount, out=pe[1:])
        self.poly_e = pe
        self.box = OVERLAY.pick(_boxes, nedge)(self.edges, pe)
        # band index of large polygons with small partners, built when first needed
        self.indexed = np.zeros(n, dtype=np.bool_)
        self.uses = np.zeros(n, dtype=np.int64)  # pairs with a small partner, over all calls
        self.index: tuple[np.ndarray, ...] = (
            np.zeros((n, 2)),
            np.zeros((n, 2), dtype=np.int64),
            _NO_INDEX,
            _NO_INDEX,
            _NO_EDGES,
        )

    def _prove(
        self, x: np.ndarray, y: np.ndarray, ring_s: np.ndarray, ring_e: np.ndarray,
        exterior: np.ndarray, ring_poly: np.ndarray, start: int, stop: int,
    ) -> None:  # fmt: skip
        """Fill ``shown``/``several`` for polygons ``start:stop`` from their rings."""
        assert self.shown is not None and self.several is not None
        rings = np.bincount(ring_poly, minlength=stop - start)
        one = rings == 1
        if one.any():
            if one.all():  # rings in polygon order, one each
                s_, e_ = ring_s, ring_e
            else:
                pick = one[ring_poly]
                s_, e_ = ring_s[pick], ring_e[pick]
            ok = np.zeros(len(s_), dtype=np.bool_)
            OVERLAY.pick(_simple_rings, float((e_ - s_).sum()))(x, y, s_, e_, ok)
            self.shown[start + np.flatnonzero(one)] = ok
        todo = np.flatnonzero(~one)
        if len(todo):
            poly_r = np.zeros(stop - start + 1, dtype=np.int64)
            np.cumsum(rings, out=poly_r[1:])
            ok = np.zeros(len(todo), dtype=np.bool_)
            work = float((ring_e - ring_s)[np.repeat(~one, rings)].sum())
            OVERLAY.pick(_simple_polygons, work)(
                x, y, ring_s, ring_e, exterior, poly_r, todo, ok
            )
            self.shown[start + todo] = ok
            self.several[start + todo[~ok]] = True

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Return the arrays the kernel reads, as one tuple.

        Edges, ring of each edge, ring edge ranges, polygon edge offsets, boxes, then the
        band index (see :func:`_polygon_bands`).
        """
        return (
            self.edges, self.ring_of_edge, self.ring_e0, self.ring_e1, self.poly_e, self.box,
            *self.index,
        )  # fmt: skip

    def index_polygons(self, pos: np.ndarray, own: np.ndarray, other: np.ndarray) -> None:
        """Give a band index to polygons ``pos`` with ``own`` edges, paired with ``other``.

        Only where it can pay: a polygon with at least ``_POLY_INDEX_MIN`` edges, in at
        least ``_INDEX_MIN_PAIRS`` pairs whose partner has ``_INDEX_RATIO`` times fewer,
        counted over every call on this layer (a layer kept in a memo and crossed again gets
        the index once its uses add up). Indexes already built are kept.
        """
        worth = (own >= _POLY_INDEX_MIN) & (own >= _INDEX_RATIO * other)
        # and only where it pays: building a polygon's index costs a few passes over its
        # edges, and each pair it serves saves about one
        self.uses += np.bincount(pos[worth], minlength=len(self.indexed))
        new = (self.uses >= _INDEX_MIN_PAIRS) & ~self.indexed
        if not new.any():
            return
        self.indexed |= new
        work = float(np.diff(self.poly_e)[self.indexed].sum())
        y0, h, nband, start, off, idx, bedges = OVERLAY.pick(_polygon_bands, work)(
            self.edges, self.poly_e, self.box, self.indexed
        )
        self.index = (
            np.ascontiguousarray(np.stack([y0, h], axis=1)),
            np.ascontiguousarray(np.stack([nband, start], axis=1)),
            off,
            idx,
            bedges,
        )


def _rings(
    polys: np.ndarray, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Coordinates of every ring of ``polys``, rings in polygon order.

    Returns ``(x, y, ring_s, ring_e, exterior, ring_poly, flushed)``: ring r is
    ``x/y[ring_s[r]:ring_e[r]]``, an exterior or a hole, of polygon ``ring_poly[r]`` (a
    position in ``polys``); coordinates are checked (:func:`_check_coordinates`;
    ``flushed``: some tiny ones were set to zero, so x/y differ from ``polys``).

    Every coordinate is read in one call, in polygon order (a polygon's rings, exterior
    first, part by part, as GEOS stores them), and x/y are the two columns of the array it
    fills: not copied, the kernels read them in place. ``counts``, each polygon's number of
    coordinates, if the caller has them. Only polygons with holes or parts (few in any real
    layer) are split into ring objects, to learn their rings' lengths.
    """
    n = len(polys)
    coords = shapely.get_coordinates(polys)
    flushed = _check_coordinates(coords)
    if counts is None:
        counts = shapely.get_num_coordinates(polys)
    simple = (shapely.get_type_id(polys) == 3) & (shapely.get_num_interior_rings(polys) == 0)
    if simple.all():
        ring_c = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=ring_c[1:])
        return (
            coords[:, 0],
            coords[:, 1],
            ring_c[:-1],
            ring_c[1:],
            np.ones(n, dtype=np.bool_),
            np.arange(n),
            flushed,
        )
    pos_c = np.flatnonzero(~simple)
    parts, part_poly = shapely.get_parts(polys[pos_c], return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    nring = np.ones(n, dtype=np.int64)
    nring[pos_c] = np.bincount(part_poly[ring_part], minlength=len(pos_c))
    of_c = np.repeat(~simple, nring)  # the rings of polygons with holes or parts
    length = np.empty(len(of_c), dtype=np.int64)
    length[~of_c] = counts[simple]
    length[of_c] = shapely.get_num_coordinates(rings)
    exterior = np.ones(len(of_c), dtype=np.bool_)
    ext_c = exterior[of_c]  # the first ring of each part
    ext_c[1:] = ring_part[1:] != ring_part[:-1]
    exterior[of_c] = ext_c
    ring_e = np.cumsum(length)
    return (
        coords[:, 0],
        coords[:, 1],
        ring_e - length,
        ring_e,
        exterior,
        np.repeat(np.arange(n), nring),
        flushed,
    )


def _check_coordinates(coords: np.ndarray) -> bool:
    """Refuse non-finite or huge coordinates; flush tiny ones to zero (in place).

    Exact orientation relies on error-free products, which hold when no product or
    rounding error under- or overflows: every non-zero coordinate (and difference of
    coordinates) must lie within 2**±400. Flushing |v| < 2**-400 moves a vertex by less
    than 1e-120 m. Returns whether any coordinate was flushed (the coordinates then differ
    from the geometry's, so what is shown of them is not shown of it).

    Two passes (the smallest and largest coordinate) where every coordinate is at least
    2**-400, as on any projected layer of a country whose grid origin lies outside it.
    """
    if coords.size == 0:
        return False
    lo = float(coords.min())  # NaN propagates
    hi = float(coords.max())
    if not (-_COORD_MAX <= lo and hi <= _COORD_MAX):
        raise ValueError(f"coordinates must be finite and within ±{_COORD_MAX:.3g}")
    if lo >= _COORD_MIN:
        return False
    tiny = (np.abs(coords) < _COORD_MIN) & (coords != 0.0)
    if not tiny.any():
        return False
    coords[tiny] = 0.0
    return True


@_kernel((F2, I1,), entry=True, rate=3e-6)
def _boxes(edges: np.ndarray, poly_e: np.ndarray) -> np.ndarray:
    """Bounding box (xmin, ymin, xmax, ymax) of each polygon's edges."""
    n = poly_e.shape[0] - 1
    box = np.empty((n, 4))
    for i in range(n):
        xmin = np.inf
        ymin = np.inf
        xmax = -np.inf
        ymax = -np.inf
        for k in range(poly_e[i], poly_e[i + 1]):
            xmin = min(xmin, edges[k, 0], edges[k, 2])
            xmax = max(xmax, edges[k, 0], edges[k, 2])
            ymin = min(ymin, edges[k, 1], edges[k, 3])
            ymax = max(ymax, edges[k, 1], edges[k, 3])
        box[i, 0] = xmin
        box[i, 1] = ymin
        box[i, 2] = xmax
        box[i, 3] = ymax
    return box


@_kernel((f8, f8, f8, f8, f8, f8, f8, f8, F1,))
def _segments_meet(
    px: float, py: float, qx: float, qy: float,
    rx: float, ry: float, tx: float, ty: float, scr: np.ndarray,
) -> bool:  # fmt: skip
    """Whether the closed segments pq and rt share a point (exact; boxes known to meet)."""
    o1 = _orient(px, py, qx, qy, rx, ry, scr)
    o2 = _orient(px, py, qx, qy, tx, ty, scr)
    if o1 * o2 > 0:
        return False
    if o1 == 0 and o2 == 0:  # collinear: they meet iff their boxes do (known)
        return True
    o3 = _orient(rx, ry, tx, ty, px, py, scr)
    o4 = _orient(rx, ry, tx, ty, qx, qy, scr)
    return o3 * o4 <= 0


@_kernel((FA, FA, i8, i8, F1, F1, i8, F1,))
def _shell_vertices(
    x: np.ndarray, y: np.ndarray, c0: int, c1: int,
    px: np.ndarray, py: np.ndarray, b: int, scr: np.ndarray,
) -> int:  # fmt: skip
    """Copy ring ``x/y[c0:c1]``'s distinct vertices to ``p[b:b+m]``, closed by ``p[b+m]``; m.

    0 when the ring cannot be shown a valid shell whatever its other edges do: not closed,
    fewer than four coordinates or three distinct vertices, a coordinate not finite or
    outside 2**±400 (but zero), or two consecutive edges folding back onto each other
    (collinear, decided exactly, with the third point on the first's side of the second).
    """
    if c1 - c0 < 4 or x[c0] != x[c1 - 1] or y[c0] != y[c1 - 1]:
        return 0
    for k in range(c0, c1):
        vx = abs(x[k])
        vy = abs(y[k])
        if not (vx <= _COORD_MAX and vy <= _COORD_MAX):  # NaN fails too
            return 0
        if (vx != 0.0 and vx < _COORD_MIN) or (vy != 0.0 and vy < _COORD_MIN):
            return 0
    m = 0
    for k in range(c0, c1 - 1):
        if m == 0 or x[k] != px[b + m - 1] or y[k] != py[b + m - 1]:
            px[b + m] = x[k]
            py[b + m] = y[k]
            m += 1
    if m > 1 and px[b + m - 1] == px[b] and py[b + m - 1] == py[b]:
        m -= 1
    if m < 3:
        return 0
    px[b + m] = px[b]
    py[b + m] = py[b]
    # consecutive edges p[i]→p[i+1]→p[i+2] meet only at p[i+1] unless they fold back
    for i in range(m):
        a = b + i
        v = b + i + 1
        c = b + i + 2 if i + 2 <= m else b + 1
        if _orient(px[a], py[a], px[v], py[v], px[c], py[c], scr) == 0:
            # collinear: folding back iff c lies on a's side of v (exact comparisons)
            if px[a] != px[v]:
                back = (px[c] < px[v]) == (px[a] < px[v])
            else:
                back = (py[c] < py[v]) == (py[a] < py[v])
            if back:
                return 0
    return m


@_kernel((F1, F1, I1, I1, I1, i8, F1, F2, I1, I1, I1, F1,), inline="always")
def _edges_apart(
    px: np.ndarray, py: np.ndarray, edge: np.ndarray, own: np.ndarray, rlen: np.ndarray,
    ne: int, xmin: np.ndarray, sbox: np.ndarray, order: np.ndarray, start: np.ndarray,
    bucket: np.ndarray, scr: np.ndarray,
) -> bool:  # fmt: skip
    """Whether no two of ``ne`` edges share a point but consecutive edges of one ring.

    Edge ``e`` runs from ``p[edge[e]]`` to ``p[edge[e] + 1]``, with ``xmin[e]`` its least x;
    ``own[i]`` is the ring of the edge starting at position ``i`` and ``rlen[k]`` that
    ring's edge count (its edges lie at consecutive positions). Sort-and-sweep on x, boxes
    compared inclusively and copied into ``sbox`` in sweep order, so that the inner loop
    reads memory in sequence; consecutive edges are :func:`_shell_vertices`' to check.
    False also when the sweep compares more than ``_PROOF_PAIRS`` boxes per edge.
    ``order``, ``start`` and ``bucket`` are scratch space for the sort (at least ``ne``
    entries, ``start`` one more), kept by the caller across rings.
    """
    # stable; numba's quicksort is quadratic on ties
    if not _argsort_into(xmin, ne, order, start, bucket):
        order[:ne] = _merge_argsort(xmin[:ne].copy())
    for u in range(ne):
        i = edge[order[u]]
        sbox[u, 0] = xmin[order[u]]
        sbox[u, 1] = max(px[i], px[i + 1])
        sbox[u, 2] = min(py[i], py[i + 1])
        sbox[u, 3] = max(py[i], py[i + 1])
    budget = _PROOF_PAIRS * ne + 1024
    for u in range(ne):
        i = edge[order[u]]
        xmax_i = sbox[u, 1]
        ymin_i = sbox[u, 2]
        ymax_i = sbox[u, 3]
        for w in range(u + 1, ne):
            if sbox[w, 0] > xmax_i:
                break
            budget -= 1
            if budget < 0:
                return False
            if sbox[w, 3] < ymin_i or sbox[w, 2] > ymax_i:
                continue
            j = edge[order[w]]
            if own[i] == own[j]:
                d = i - j if i > j else j - i
                if d == 1 or d == rlen[own[i]] - 1:
                    continue  # consecutive
            if _segments_meet(px[i], py[i], px[i + 1], py[i + 1],
                              px[j], py[j], px[j + 1], py[j + 1], scr):  # fmt: skip
                return False
    return True


@_kernel((FA, FA, I1, I1, B1,), entry=True, rate=1e-5)
def _simple_rings(
    x: np.ndarray, y: np.ndarray, ring_s: np.ndarray, ring_e: np.ndarray, out: np.ndarray
) -> None:
    """``out[r]`` True where ring ``x/y[ring_s[r]:ring_e[r]]`` is shown a valid polygon shell.

    Shown means: closed, coordinates finite and within 2**±400 (or zero), at least three
    distinct vertices once repeated ones are dropped, and no two edges sharing a point
    except consecutive edges at their common vertex, which must not fold back onto each
    other. All of it decided exactly (exact orientation, exact coordinate comparisons), so
    True implies GEOS finds the one-ring polygon valid. False proves nothing: the test
    also gives up when the sort-and-sweep on x compares more than ``_PROOF_PAIRS`` boxes per
    edge (e.g. long edges stacked at different heights), leaving the polygon to GEOS.
    """
    nring = ring_s.shape[0]
    big = 0
    for r in range(nring):
        big = max(big, ring_e[r] - ring_s[r])
    px = np.empty(big + 1)
    py = np.empty(big + 1)
    edge = np.arange(big)  # one ring: edge e starts at position e
    own = np.zeros(big + 1, dtype=np.int64)
    rlen = np.zeros(1, dtype=np.int64)
    xmin = np.empty(big)
    sbox = np.empty((big, 4))
    order = np.empty(big, dtype=np.int64)
    start = np.empty(big + 1, dtype=np.int64)
    bucket = np.empty(big, dtype=np.int64)
    scr = np.empty(24)
    for r in range(nring):
        out[r] = False
        m = _shell_vertices(x, y, ring_s[r], ring_e[r], px, py, 0, scr)
        if m == 0:
            continue
        for i in range(m):
            xmin[i] = min(px[i], px[i + 1])
        rlen[0] = m
        out[r] = _edges_apart(
            px, py, edge, own, rlen, m, xmin, sbox, order, start, bucket, scr
        )


@_kernel((f8, f8, F1, F1, i8, i8, F1,))
def _inside_ring(
    qx: float, qy: float, px: np.ndarray, py: np.ndarray, b: int, m: int, scr: np.ndarray
) -> bool:
    """Whether point q, known not to lie on the ring, is inside ring ``p[b : b + m + 1]``.

    Winding number with exact orientation: exact for any point off the ring.
    """
    wn = 0
    for i in range(b, b + m):
        ay = py[i]
        by = py[i + 1]
        if ay <= qy:
            if by > qy and _orient(px[i], ay, px[i + 1], by, qx, qy, scr) > 0:
                wn += 1
        elif by <= qy and _orient(px[i], ay, px[i + 1], by, qx, qy, scr) < 0:
            wn -= 1
    return wn != 0


@_kernel((FA, FA, I1, I1, B1, I1, I1, B1,), entry=True, rate=1e-5)
def _simple_polygons(
    x: np.ndarray, y: np.ndarray, ring_s: np.ndarray, ring_e: np.ndarray,
    exterior: np.ndarray, poly_r: np.ndarray, todo: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """``out[t]`` True where polygon ``todo[t]`` of several rings is shown valid.

    Polygon ``p`` has rings ``poly_r[p]:poly_r[p+1]`` (ring r is ``x/y[ring_s[r]:ring_e[r]]``;
    ``exterior[r]`` starts a part). Shown means: every ring is a simple closed ring as
    :func:`_simple_rings` requires; no two rings share a point (one sort-and-sweep over all
    the polygon's edges); every hole lies inside its part's shell and inside no other hole of
    its part; no part's shell lies inside another part's shell. Rings that share no point are
    nested or apart as one vertex of each says (exact winding numbers), so then the holes cut
    non-nested, non-touching openings in their shells and the parts' interiors are apart and
    connected: GEOS finds the polygon valid. False proves nothing: rings touching at a point,
    an island in a lake, more than ``_PROOF_RINGS`` rings, or a sweep past its budget are
    left to the caller (GEOS).
    """
    big = 0
    bigr = 0
    for t in range(todo.shape[0]):
        p = todo[t]
        tot = 0
        for r in range(poly_r[p], poly_r[p + 1]):
            tot += ring_e[r] - ring_s[r]
        big = max(big, tot)
        bigr = max(bigr, poly_r[p + 1] - poly_r[p])
    px = np.empty(big + 1)
    py = np.empty(big + 1)
    own = np.empty(big + 1, dtype=np.int64)  # ring (local index) of the edge starting here
    edge = np.empty(big, dtype=np.int64)
    xmin = np.empty(big)
    sbox = np.empty((big, 4))
    order = np.empty(big, dtype=np.int64)
    start = np.empty(big + 1, dtype=np.int64)
    bucket = np.empty(big, dtype=np.int64)
    rbase = np.empty(bigr, dtype=np.int64)
    rlen = np.empty(bigr, dtype=np.int64)
    rpart = np.empty(bigr, dtype=np.int64)
    rbox = np.empty((bigr, 4))
    scr = np.empty(24)
    for t in range(todo.shape[0]):
        out[t] = False
        p = todo[t]
        r0 = poly_r[p]
        nr = poly_r[p + 1] - r0
        if nr < 1 or nr > _PROOF_RINGS or not exterior[r0]:
            continue
        ok = True
        n = 0  # next free position in px/py
        ne = 0  # edges laid
        for k in range(nr):
            r = r0 + k
            b = n
            m = _shell_vertices(x, y, ring_s[r], ring_e[r], px, py, b, scr)
            if m == 0:
                ok = False
                break
            rbase[k] = b
            rlen[k] = m
            rpart[k] = k if exterior[r] else rpart[k - 1]
            bx0 = np.inf
            bx1 = -np.inf
            by0 = np.inf
            by1 = -np.inf
            for i in range(b, b + m):
                own[i] = k
                edge[ne] = i
                xmin[ne] = min(px[i], px[i + 1])
                ne += 1
                bx0 = min(bx0, px[i])
                bx1 = max(bx1, px[i])
                by0 = min(by0, py[i])
                by1 = max(by1, py[i])
            rbox[k, 0] = bx0
            rbox[k, 1] = by0
            rbox[k, 2] = bx1
            rbox[k, 3] = by1
            n = b + m + 1
        if not ok:
            continue
        # no two edges share a point but consecutive edges of one ring at their vertex
        if not _edges_apart(px, py, edge, own, rlen, ne, xmin, sbox, order, start, bucket, scr):
            continue
        # nesting: rings apart are nested or not as one vertex says; a ring can only be
        # inside another whose box holds its box
        for k in range(nr):
            for q in range(nr):
                if q == k:
                    continue
                hole_k = rpart[k] != k
                hole_q = rpart[q] != q
                if hole_k and q == rpart[k]:
                    want = True  # a hole inside its own shell
                elif (hole_k and hole_q and rpart[q] == rpart[k]) or (
                    not hole_k and not hole_q
                ):
                    want = False  # holes of one part apart; shells apart
                else:
                    continue
                held = (rbox[q, 0] <= rbox[k, 0] and rbox[k, 2] <= rbox[q, 2]
                        and rbox[q, 1] <= rbox[k, 1] and rbox[k, 3] <= rbox[q, 3])  # fmt: skip
                inside = held and _inside_ring(
                    px[rbase[k]], py[rbase[k]], px, py, rbase[q], rlen[q], scr
                )
                if inside != want:
                    ok = False
                    break
            if not ok:
                break
        out[t] = ok


def proven_valid(geoms: np.ndarray) -> np.ndarray:
    """Where a polygon is shown valid without GEOS: simple rings, no holes, parts apart.

    Exact (see :func:`_simple_rings`): True implies ``shapely.is_valid``; False means "not
    shown", and the caller asks GEOS. A Polygon is shown when it has no holes and its ring is
    simple; a MultiPolygon when every part is, and no two parts' bounding boxes meet (so the
    parts cannot touch). About two to three times cheaper than GEOS's validity check on real
    boundaries, most of which are one ring.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    >>> holed = shapely.box(0, 0, 9, 9).difference(shapely.box(3, 3, 6, 6))
    >>> apart = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)])
    >>> proven_valid(np.array([shapely.box(0, 0, 1, 1), bow, holed, apart])).tolist()
    [True, False, False, True]
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=np.bool_)
    if len(geoms) == 0:
        return out
    tid = shapely.get_type_id(geoms)
    one = np.flatnonzero((tid == 3) & (shapely.get_num_interior_rings(geoms) == 0))
    if len(one):
        out[one] = _rings_simple(geoms[one])
    multi = np.flatnonzero(tid == 6)
    if len(multi):
        parts, owner = shapely.get_parts(geoms[multi], return_index=True)
        shown = np.zeros(len(parts), dtype=np.bool_)
        whole = (shapely.get_type_id(parts) == 3) & (shapely.get_num_interior_rings(parts) == 0)
        if whole.any():
            shown[whole] = _rings_simple(parts[whole])
        ok = np.bincount(owner, weights=~shown, minlength=len(multi)) == 0
        ok &= np.bincount(owner, minlength=len(multi)) > 0
        # parts whose boxes meet (touching counts) may touch: not shown
        tree = shapely.STRtree(parts)
        i, j = tree.query(parts)
        near = (i != j) & (owner[i] == owner[j])
        ok[owner[i[near]]] = False
        out[multi] = ok
    return out


def _rings_simple(polys: np.ndarray) -> np.ndarray:
    """:func:`_simple_rings` over one-ring polygons (their exterior ring's coordinates)."""
    coords = shapely.get_coordinates(polys)  # one ring each: its coordinates, in order
    off = np.zeros(len(polys) + 1, dtype=np.int64)
    np.cumsum(shapely.get_num_coordinates(polys), out=off[1:])
    shown = np.zeros(len(polys), dtype=np.bool_)
    OVERLAY.pick(_simple_rings, len(coords))(coords[:, 0], coords[:, 1], off[:-1], off[1:], shown)
    return shown
