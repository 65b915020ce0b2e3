"""Rook contiguity between statutory units, with islands and enclaves made explicit.

Two units are neighbours when they share a boundary of at least ``min_shared_m`` metres
(rook contiguity): a corner touch is not enough to walk from one to the other. Real
boundary layers are generalised and do not always meet exactly, so boundaries closer than
``tol_m`` count as shared. Two things are reported rather than hidden:

- islands: groups of units with no rook path to the rest. An island that can hold whole
  footprints on its own is planned on its own; one that cannot is linked to its nearest
  unit elsewhere by a *bridge* (an explicit edge with its distance), if one lies within
  ``bridge_m``; otherwise planning stops with :class:`~nbhd_geo.plan.errors.DisconnectedError`.
- enclaves: units (almost) wholly surrounded by a single other unit. They always go with
  their host, so no footprint ever has a hole holding another footprint's unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.plan.errors import DisconnectedError

__all__ = ["Contiguity", "unit_contiguity", "feasible_counts"]


@dataclass(frozen=True)
class Contiguity:
    """Rook adjacency of a unit layer.

    Attributes
    ----------
    ids
        Unit ids, in layer order; edges refer to positions in it.
    edges
        One row per neighbouring pair ``i < j``: ``i``, ``j``, ``unit_a``, ``unit_b``,
        ``shared_m`` (shared boundary length; 0 for bridges) and ``kind`` (``"rook"`` or
        ``"bridge"``).
    components
        Connected component of every unit over rook edges only (0 = the largest).
    enclaves
        ``unit``, ``host``, ``enclosed_share`` (share of the unit's perimeter shared
        with its host): units with a single neighbour that encloses ≥ 90 % of them.
    bridges
        ``unit_a``, ``unit_b``, ``distance_m``: links added between islands.
    min_shared_m, tol_m
        The options used.
    """

    ids: np.ndarray
    edges: pd.DataFrame
    components: np.ndarray
    enclaves: pd.DataFrame
    bridges: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["unit_a", "unit_b", "distance_m"])
    )
    min_shared_m: float = 10.0
    tol_m: float = 0.5

    def neighbours(self) -> list[np.ndarray]:
        """Positions of each unit's neighbours (rook edges and bridges), sorted."""
        n = len(self.ids)
        i = self.edges["i"].to_numpy()
        j = self.edges["j"].to_numpy()
        src = np.concatenate([i, j])
        dst = np.concatenate([j, i])
        order = np.lexsort((dst, src))
        src, dst = src[order], dst[order]
        cuts = np.searchsorted(src, np.arange(n + 1))
        return [dst[cuts[k] : cuts[k + 1]] for k in range(n)]

    def summary(self) -> dict[str, int]:
        """Count units, edges, islands (pieces apart from the largest), bridges, enclaves."""
        return {
            "units": len(self.ids),
            "rook_edges": int((self.edges["kind"] == "rook").sum()),
            "islands": int(self.components.max()) if len(self.components) else 0,
            "bridges": len(self.bridges),
            "enclaves": len(self.enclaves),
        }


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Label connected components so 0 is the largest (ties: lowest position)."""
    parent = np.arange(n)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(a) for a in range(n)])
    uniq, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    rank = np.lexsort((uniq, -counts))
    relabel = np.empty(len(uniq), dtype=np.int64)
    relabel[rank] = np.arange(len(uniq))
    return relabel[inverse]


def unit_contiguity(
    ids: np.ndarray,
    geoms: np.ndarray,
    *,
    min_shared_m: float = 10.0,
    tol_m: float = 0.5,
) -> Contiguity:
    """Rook adjacency of polygons in a projected CRS.

    Parameters
    ----------
    ids
        Unit ids aligned with ``geoms``.
    geoms
        Valid polygons in metres (e.g. EPSG:27700).
    min_shared_m
        Shortest shared boundary that makes two units neighbours.
    tol_m
        Boundaries closer than this count as shared (generalised layers leave hairline
        gaps). The shared length is that of the common boundary; where it is shorter
        than ``min_shared_m``, the length of one unit's boundary lying within ``tol_m``
        of the other unit is used instead.

    Returns
    -------
    Contiguity

    Examples
    --------
    >>> import numpy as np, shapely
    >>> g = np.array([shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100),
    ...               shapely.box(200, 100, 300, 200)])
    >>> c = unit_contiguity(np.array(["a", "b", "c"]), g)
    >>> c.edges[["unit_a", "unit_b", "shared_m"]].round(1).values.tolist()
    [['a', 'b', 100.0]]
    >>> c.components.tolist()   # 'c' touches 'b' only at a corner: an island
    [0, 0, 1]
    """
    if not (np.isfinite(min_shared_m) and min_shared_m >= 0):
        raise NbhdGeoError(
            f"must be a length ≥ 0 in metres, got {min_shared_m!r}",
            argument="min_shared_m",
            fix="pass e.g. min_shared_m=10",
        )
    if not (np.isfinite(tol_m) and tol_m >= 0):
        raise NbhdGeoError(
            f"must be a distance ≥ 0 in metres, got {tol_m!r}",
            argument="tol_m",
            fix="pass e.g. tol_m=0.5",
        )
    ids = np.asarray(ids)
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    tree = shapely.STRtree(geoms)
    if tol_m > 0:
        a, b = tree.query(geoms, predicate="dwithin", distance=tol_m)
    else:
        a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    bounds = shapely.boundary(geoms)
    shared = shapely.length(shapely.intersection(bounds[a], bounds[b]))
    if tol_m > 0:  # hairline gaps: measure one boundary within tol_m of the other unit
        loose = np.flatnonzero(shared < max(min_shared_m, 1e-9))
        near = shapely.buffer(geoms[b[loose]], tol_m, quad_segs=2)
        shared[loose] = shapely.length(shapely.intersection(bounds[a[loose]], near))
    rook = shared >= max(min_shared_m, 1e-9)
    a, b, shared = a[rook], b[rook], shared[rook]
    edges = pd.DataFrame(
        {
            "i": a.astype(np.int64),
            "j": b.astype(np.int64),
            "unit_a": ids[a],
            "unit_b": ids[b],
            "shared_m": shared.astype(float),
            "kind": "rook",
        }
    )
    comps = _components(n, edges["i"].to_numpy(), edges["j"].to_numpy())
    # enclaves: a single neighbour holding ≥ 90 % of the unit's perimeter
    deg = np.bincount(np.concatenate([a, b]), minlength=n)
    perim = shapely.length(bounds)
    rows = []
    for u in np.flatnonzero(deg == 1):
        m = (a == u) | (b == u)
        host = int(b[m][0] if a[m][0] == u else a[m][0])
        share = float(shared[m][0] / perim[u]) if perim[u] > 0 else 0.0
        if share >= 0.9:
            rows.append((ids[u], ids[host], min(share, 1.0)))
    enclaves = pd.DataFrame(rows, columns=["unit", "host", "enclosed_share"])
    return Contiguity(
        ids=ids,
        edges=edges,
        components=comps,
        enclaves=enclaves,
        min_shared_m=float(min_shared_m),
        tol_m=float(tol_m),
    )


def feasible_counts(population: float, size: tuple[float, float]) -> range:
    """Numbers of footprints ``k`` with ``k·size[0] ≤ population ≤ k·size[1]``.

    Examples
    --------
    >>> list(feasible_counts(353_378, (30_000, 50_000)))
    [8, 9, 10, 11]
    >>> list(feasible_counts(55_000, (30_000, 50_000)))
    []
    """
    lo, hi = size
    kmin = max(1, int(np.ceil(population / hi - 1e-12)))
    kmax = int(np.floor(population / lo + 1e-12)) if lo > 0 else kmin + 1000
    return range(kmin, kmax + 1)


def link_islands(
    contig: Contiguity,
    geoms: np.ndarray,
    population: np.ndarray,
    groups: np.ndarray,
    size: tuple[float, float],
    bridge_m: float,
) -> Contiguity:
    """Bridge islands that cannot hold whole footprints on their own.

    Every connected piece (per ``groups``: islands are never bridged across a ``within``
    boundary) whose population admits no footprint count is linked to the nearest unit
    of another piece of its group, if that unit lies within ``bridge_m``. Repeated until
    every piece is feasible; otherwise raises :class:`DisconnectedError` naming the units.
    """
    ids = contig.ids
    i = contig.edges["i"].to_numpy()
    j = contig.edges["j"].to_numpy()
    same = groups[i] == groups[j]
    i, j = i[same], j[same]
    bridges: list[tuple[int, int, float]] = []
    n = len(ids)
    while True:
        bi = np.array([b[0] for b in bridges], dtype=np.int64)
        bj = np.array([b[1] for b in bridges], dtype=np.int64)
        comp = _components(n, np.concatenate([i, bi]), np.concatenate([j, bj]))
        pops = np.bincount(comp, weights=population)
        bad = [c for c in range(len(pops)) if len(feasible_counts(pops[c], size)) == 0]
        if not bad:
            break
        # the smallest infeasible piece first (deterministic: then by label)
        c = min(bad, key=lambda x: (pops[x], x))
        inside = np.flatnonzero(comp == c)
        others = np.flatnonzero((comp != c) & (groups == groups[inside[0]]))
        best: tuple[float, int, int] | None = None
        if len(others):
            tree = shapely.STRtree(geoms[others])
            near, dist = tree.query_nearest(geoms[inside], return_distance=True, all_matches=False)
            k = int(np.lexsort((near[1], near[0], dist))[0])
            best = (float(dist[k]), int(inside[near[0][k]]), int(others[near[1][k]]))
        if best is None or best[0] > bridge_m:
            where = "" if best is None else f" (the nearest other unit is {best[0]:.0f} m away)"
            raise DisconnectedError(
                f"{len(inside)} unit(s) holding {pops[c]:,.0f} people have no rook path to "
                f"the rest of their district and are too few or too many to form "
                f"{size[0]:,.0f}–{size[1]:,.0f}-person footprints on their own{where}",
                argument="units",
                ids=ids[inside],
                fix="pass contiguity=ContiguityOptions(bridge_m=...) (--bridge-m) a distance "
                "that reaches them (bridges are reported), lower its min_shared_m, or plan "
                "them with a neighbouring district via within=",
            )
        bridges.append((min(best[1], best[2]), max(best[1], best[2]), best[0]))
    if not bridges:
        return contig
    bdf = pd.DataFrame(
        {
            "i": [b[0] for b in bridges],
            "j": [b[1] for b in bridges],
            "unit_a": ids[[b[0] for b in bridges]],
            "unit_b": ids[[b[1] for b in bridges]],
            "shared_m": 0.0,
            "kind": "bridge",
        }
    )
    edges = pd.concat([contig.edges, bdf], ignore_index=True)
    return Contiguity(
        ids=ids,
        edges=edges,
        components=contig.components,
        enclaves=contig.enclaves,
        bridges=pd.DataFrame(
            {
                "unit_a": bdf["unit_a"],
                "unit_b": bdf["unit_b"],
                "distance_m": [b[2] for b in bridges],
            }
        ),
        min_shared_m=contig.min_shared_m,
        tol_m=contig.tol_m,
    )

