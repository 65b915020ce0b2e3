"""The entry points: exact overlap areas of two polygon layers.

Guarantees: every pair whose bounding boxes meet is computed; only polygons in such a pair
are read (unless the layer's edge arrays are kept in a memo from earlier calls); pairs are
split among threads by their edge counts and each pair is computed by the same code whatever
the number of threads, so results do not depend on ``threads``; a pair is reported when its
area exceeds the floating-point error bound, sorted by ``(ia, ib)``; bad input (not polygons,
empty, non-finite coordinates, ``threads < 1``) raises ``ValueError`` naming it.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely

from nbhd_geo.overlay.exact.jit import (
    OVERLAY,
)
from nbhd_geo.overlay.exact.pairs import (
    _ZERO_FACTOR,
    _pairs_kernel,
)
from nbhd_geo.overlay.exact.rings import (
    _Layer,
    proven_valid,
)

__all__ = ["intersection_areas", "intersection_areas_stats", "prove_valid_reading"]


#: chunks of pairs the pair kernel's Python twin runs in (see _pairs_as_python)
_PYTHON_CHUNKS = 32


def _candidates(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose bounding boxes meet, sorted by (i, j)."""
    pi, pj = shapely.STRtree(b).query(a)
    order = np.lexsort((pj, pi))
    return (
        np.ascontiguousarray(pi[order], dtype=np.int64),
        np.ascontiguousarray(pj[order], dtype=np.int64),
    )


def _as_polygons(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of polygons, got shape {arr.shape}")
    if len(arr) == 0:
        return arr
    tid = shapely.get_type_id(arr)
    bad = np.flatnonzero((tid != 3) & (tid != 6))
    if len(bad):
        raise ValueError(
            f"{name}: positions {bad[:10].tolist()} are not Polygon/MultiPolygon "
            f"({len(bad)} in all)"
        )
    empty = np.flatnonzero(shapely.is_empty(arr))
    if len(empty):
        raise ValueError(f"{name}: positions {empty[:10].tolist()} are empty ({len(empty)} in all)")
    return arr


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _layer_for(
    geoms: np.ndarray, pos: np.ndarray, memo: dict[str, Any] | None, check: bool
) -> tuple[_Layer, np.ndarray]:
    """Edge arrays holding the polygons ``geoms[pos]``, and the positions of ``pos`` in them.

    Only the polygons in a candidate pair are read, unless the layer's edge arrays are in
    ``memo`` (whole layer). They are put there when the subsets read so far add up to the
    whole layer, so a layer crossed again and again costs at most twice one full reading.
    """
    if memo is not None:
        full = memo.get("exact_layer")
        if full is not None:
            return full, pos
    mask = np.zeros(len(geoms), dtype=bool)
    mask[pos] = True
    used = np.flatnonzero(mask)
    rank = np.cumsum(mask) - 1
    if memo is not None:  # the same polygons as last time (a neighbourhood crossed again)
        last = memo.get("exact_sub")
        if last is not None and np.array_equal(last[0], used):
            return last[1], rank[pos]
    sub = geoms[used]
    if check:
        sub = _as_polygons(sub, "a")
    layer = _Layer(sub)
    if memo is not None and _remember(geoms, used, layer, memo):
        return layer, pos  # the whole layer: positions are its own
    return layer, rank[pos]


def _remember(geoms: np.ndarray, used: np.ndarray, layer: _Layer, memo: dict[str, Any]) -> bool:
    """Keep the edge arrays of ``geoms[used]`` in ``memo``; True when they are the whole layer.

    Reads are counted, and once the subsets read add up to the whole layer, it is read
    whole and kept (``exact_layer``).
    """
    memo["exact_sub"] = (used, layer)
    if len(used) == len(geoms):
        memo["exact_layer"] = layer
        return True
    memo["exact_read"] = memo.get("exact_read", 0) + len(layer.edges)
    # a polygon has at least 4 coordinates: count them only once reads could add up
    total = memo.get("exact_coords")
    if total is None and memo["exact_read"] >= 4 * len(geoms):
        total = memo["exact_coords"] = int(shapely.get_num_coordinates(geoms).sum())
    if total is not None and memo["exact_read"] >= total:
        try:
            memo["exact_layer"] = _Layer(_as_polygons(geoms, "a"))
        except ValueError:  # not all polygons (unused ones are unchecked): never
            memo["exact_read"] = -(1 << 62)
    return False


def prove_valid_reading(
    geoms: np.ndarray, pos: np.ndarray, memo: dict[str, Any] | None
) -> np.ndarray:
    """:func:`~nbhd_geo.overlay.exact.rings.proven_valid` of ``geoms[pos]``, reading them once.

    The coordinates the validity proof reads are those the overlay reads next: the edge
    arrays of ``geoms[pos]`` are built here, the polygons shown valid from the same
    coordinates (one ring, or several: see ``_Layer``), and the arrays are kept in ``memo``
    (a layer's ``LayerFacts.memo``) for :func:`intersection_areas_stats` to find (the
    crosswalk's candidates are the polygons it crosses). Polygons of several rings not
    shown so go to ``proven_valid`` (parts whose boxes are apart); so does everything when
    ``memo`` already holds edge arrays, or the polygons cannot be read (a ``ValueError``:
    GEOS then says why).

    ``pos``: sorted, distinct positions of Polygon/MultiPolygon, non-empty geometries.
    True implies ``shapely.is_valid``, and shows at least what ``proven_valid`` shows.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    >>> layer = np.array([shapely.box(0, 0, 1, 1), bow, shapely.box(5, 5, 6, 6)])
    >>> memo = {}
    >>> prove_valid_reading(layer, np.array([0, 1]), memo).tolist(), memo["exact_sub"][0]
    ([True, False], array([0, 1]))
    """
    pos = np.asarray(pos, dtype=np.int64)
    sub = geoms[pos]
    if memo is None or "exact_layer" in memo or len(pos) == 0:
        return proven_valid(sub)
    try:
        layer = _Layer(_as_polygons(sub, "a"), prove=True)
    except ValueError:
        return proven_valid(sub)
    assert layer.shown is not None and layer.several is not None
    shown = layer.shown.copy()
    several = np.flatnonzero(layer.several)
    if len(several):
        shown[several] = proven_valid(sub[several])
    _remember(geoms, pos, layer, memo)
    return shown


def _pairs_as_python(li: np.ndarray, lj: np.ndarray, cum: np.ndarray,
                     args: tuple[Any, ...]) -> int:
    """Run the pair kernel's Python twin over chunks of pairs while that is cheaper.

    Before the overlay kernels are compiled (:meth:`~nbhd_geo.overlay.exact.jit.KernelSet.
    pick`): 32 chunks of equal work (``cum``: cumulative edges scanned), each run as Python
    while its estimate fits, so that a large call is estimated from its own first chunks
    (the pair kernel's seconds per edge vary tenfold between layers: band indexes and
    crossings). Returns the first pair not done (the rest runs as machine code). Each pair
    is computed by the same code whatever the chunks, so results do not depend on them.
    """
    n = len(cum)
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, _PYTHON_CHUNKS) / _PYTHON_CHUNKS)
    bounds = np.unique(np.concatenate(([0], cuts, [n])))
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        kernel = OVERLAY.pick(_pairs_kernel, cum[e - 1] - (cum[s - 1] if s else 0.0))
        if kernel is _pairs_kernel:
            return int(s)
        kernel(li, lj, int(s), int(e), *args)
    return n


def intersection_areas_stats(
    a: Any,
    b: Any,
    *,
    threads: int | None = None,
    candidates: tuple[np.ndarray, np.ndarray] | None = None,
    memo: tuple[dict[str, Any] | None, dict[str, Any] | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Exact overlap areas of two polygon layers, with counts and a timing breakdown.

    Parameters
    ----------
    a, b
        1-D arrays of valid, non-empty shapely Polygon/MultiPolygon in a projected CRS.
    threads
        Number of threads; ``None`` uses every available core.
    candidates
        ``(pi, pj)``: the pairs whose bounding boxes meet, if the caller has them (e.g.
        :func:`nbhd_geo.io.layers.candidate_pairs`); only polygons in a pair are then read.
    memo
        Per-layer dicts that outlive the call (``LayerFacts.memo``): the edge arrays of a
        layer are kept there once building them for candidates has cost as much as building
        them for the whole layer, and reused by later calls on the same layer.

    Returns
    -------
    ia, ib : numpy.ndarray
        int64 positions into ``a`` and ``b`` of every pair whose intersection has positive
        area, sorted by ``(ia, ib)``.
    area : numpy.ndarray
        float64 area of ``a[ia] ∩ b[ib]``.
    stats : dict
        ``candidates`` (pairs whose bounding boxes meet), ``crossings`` (edge crossings under
        the symbolic perturbation), ``pairs``, ``edges_a``, ``edges_b`` (of the polygons in a
        candidate pair), ``threads`` and seconds spent in ``candidates_s`` (bounding-box
        query), ``prepare`` (edge arrays of the polygons in a candidate pair), ``kernel`` and
        ``total``.
    """
    t0 = time.perf_counter()
    nthreads = _default_threads() if threads is None else int(threads)
    if nthreads < 1:
        raise ValueError(f"threads: must be at least 1, got {threads}")
    if candidates is None:
        a = _as_polygons(a, "a")
        b = _as_polygons(b, "b")
    else:
        a = np.asarray(a, dtype=object)
        b = np.asarray(b, dtype=object)
    empty_i = np.empty(0, dtype=np.int64)
    stats: dict[str, Any] = {"threads": nthreads}
    if len(a) == 0 or len(b) == 0:
        stats.update(candidates=0, crossings=0, pairs=0, edges_a=0, edges_b=0,
                     prepare=0.0, candidates_s=0.0, kernel=0.0, total=0.0)  # fmt: skip
        return empty_i, empty_i.copy(), np.empty(0), stats
    if candidates is None:
        pi, pj = _candidates(a, b)
    else:
        pi = np.ascontiguousarray(candidates[0], dtype=np.int64)
        pj = np.ascontiguousarray(candidates[1], dtype=np.int64)
    t1 = time.perf_counter()
    fa, fb = (None, None) if memo is None else memo
    if nthreads == 1 or len(pi) < 64:
        la, li = _layer_for(a, pi, fa, candidates is not None)
        lb, lj = _layer_for(b, pj, fb, candidates is not None)
    else:  # the two layers side by side (numba, nogil)
        with ThreadPoolExecutor(max_workers=2) as pool:
            fut_a = pool.submit(_layer_for, a, pi, fa, candidates is not None)
            fut_b = pool.submit(_layer_for, b, pj, fb, candidates is not None)
            (la, li), (lb, lj) = fut_a.result(), fut_b.result()
    ea_n = np.diff(la.poly_e)[li]
    eb_n = np.diff(lb.poly_e)[lj]
    la.index_polygons(li, ea_n, eb_n)
    lb.index_polygons(lj, eb_n, ea_n)
    t2 = time.perf_counter()
    npairs = len(pi)
    out_area = np.empty(npairs)
    out_bound = np.empty(npairs)
    out_nc = np.empty(npairs, dtype=np.int64)
    args: tuple[Any, ...] = (la.arrays(), lb.arrays(), out_area, out_bound, out_nc)
    if npairs:
        # balance chunks by the number of edges each pair scans
        cum = np.cumsum((ea_n + eb_n).astype(np.float64))
        done = 0 if OVERLAY.ready else _pairs_as_python(li, lj, cum, args)
        rest = npairs - done
        nchunks = 1 if nthreads == 1 else min(rest, 16 * nthreads)
        if rest:
            base = cum[done - 1] if done else 0.0  # edges of the pairs done as Python
            cuts = np.searchsorted(cum, base + (cum[-1] - base) * np.arange(1, nchunks) / nchunks)
            bounds = np.unique(np.concatenate(([done], cuts, [npairs])))
        if rest and nchunks == 1:
            _pairs_kernel(li, lj, done, npairs, *args)
        elif rest:
            with ThreadPoolExecutor(max_workers=nthreads) as pool:
                futures = [
                    pool.submit(_pairs_kernel, li, lj, int(s), int(e), *args)
                    for s, e in zip(bounds[:-1], bounds[1:], strict=True)
                ]
                for f in futures:
                    f.result()
    t3 = time.perf_counter()
    keep = out_area > _ZERO_FACTOR * out_bound
    ia = pi[keep]
    ib = pj[keep]
    area = out_area[keep]
    t4 = time.perf_counter()
    stats.update(
        candidates=int(npairs),
        crossings=int(out_nc.sum()),
        pairs=int(len(ia)),
        edges_a=int(len(la.edges)),
        edges_b=int(len(lb.edges)),
        candidates_s=t1 - t0,
        prepare=t2 - t1,
        kernel=t3 - t2,
        total=t4 - t0,
    )
    return ia, ib, area, stats


def intersection_areas(
    a: Any, b: Any, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact areas of every positive-area overlap between two polygon layers.

    The areas are computed from the polygons' boundaries with Green's theorem, without
    building intersection geometry; degeneracies (shared vertices, collinear overlapping
    edges, T-junctions) are resolved exactly by Simulation of Simplicity with exact
    orientation predicates, so zero-area touches are excluded exactly.

    Parameters
    ----------
    a, b
        1-D numpy object arrays (or sequences) of valid, non-empty shapely Polygon or
        MultiPolygon, in a projected CRS (metres).
    threads
        Number of threads; ``None`` uses every available core, ``1`` runs on one core.

    Returns
    -------
    ia, ib : numpy.ndarray
        int64 positions into ``a`` and ``b``, for every pair whose intersection has positive
        area, sorted by ``(ia, ib)``.
    area : numpy.ndarray
        float64 area of ``a[ia] ∩ b[ib]``; agrees with
        ``shapely.area(shapely.intersection(a[i], b[j]))`` to about 1e-9 relative to the
        smaller polygon's area.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> a = np.array([shapely.box(0, 0, 2, 2)])
    >>> b = np.array([shapely.box(1, 1, 3, 3), shapely.box(2, 0, 3, 1)])
    >>> ia, ib, area = intersection_areas(a, b)
    >>> ia.tolist(), ib.tolist(), area.tolist()
    ([0], [0], [1.0])
    """
    ia, ib, area, _ = intersection_areas_stats(a, b, threads=threads)
    return ia, ib, area
