"""rtree vs shapely's STRtree on the bulk queries nbhd_geo makes (not a test).

The design card named rtree; the library uses shapely.STRtree. This measures both on
the same inputs, in one run: building an index over England's 7,681 wards (2013) and
querying it with the bounding boxes of all 32,844 LSOAs (2011), the candidate step
of every crosswalk, plus the same with an exact ``intersects`` predicate.

Run: ``python benchmarks/bench_index.py`` (needs ../shared/data).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ons" / "england"


def timed(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    if not (SHARED / "lsoa11.parquet").exists():
        print(f"skipped: {SHARED} not found")
        return 0
    lsoa = gpd.read_parquet(SHARED / "lsoa11.parquet").to_crs(27700)
    wards = gpd.read_parquet(SHARED / "wards13.parquet").to_crs(27700)
    a = np.asarray(lsoa.geometry.array, dtype=object)
    b = np.asarray(wards.geometry.array, dtype=object)
    a_bounds = shapely.bounds(a)
    b_bounds = shapely.bounds(b)

    import rtree

    def rtree_build():
        def gen():
            for i, bb in enumerate(b_bounds):
                yield (i, tuple(bb), None)
        return rtree.index.Index(gen())

    def rtree_query(idx):
        # rtree 1.x bulk query (numpy in, numpy out)
        return idx.intersection_v(np.ascontiguousarray(a_bounds[:, :2]), np.ascontiguousarray(a_bounds[:, 2:]))

    def str_build():
        return shapely.STRtree(b)

    def str_query(tree):
        return tree.query(shapely.box(*a_bounds.T))

    t_rb, idx = timed(rtree_build)
    t_rq, (ids, counts) = timed(lambda: rtree_query(idx))
    t_sb, tree = timed(str_build)
    t_sq, pairs = timed(lambda: str_query(tree))
    t_sp, exact = timed(lambda: tree.query(a, predicate="intersects"), repeat=1)
    n_rtree, n_str = len(ids), pairs.shape[1]
    print(f"inputs: {len(a)} LSOAs x {len(b)} wards")
    print(f"{'':28s}{'build s':>10s}{'query s':>10s}{'pairs':>10s}")
    print(f"{'rtree (bulk intersection_v)':28s}{t_rb:10.3f}{t_rq:10.3f}{n_rtree:10d}")
    print(f"{'shapely STRtree (bbox)':28s}{t_sb:10.3f}{t_sq:10.3f}{n_str:10d}")
    print(f"{'STRtree predicate=intersects':28s}{'':10s}{t_sp:10.3f}{exact.shape[1]:10d}")
    print(f"ratio rtree/STRtree: build {t_rb / t_sb:.1f}x, bbox query {t_rq / t_sq:.1f}x")
    assert n_rtree == n_str, "both indexes must find the same bbox candidates"
    return 0


if __name__ == "__main__":
    sys.exit(main())
