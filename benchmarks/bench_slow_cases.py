"""The slow cases of issue #17: ``nbhd_geo.crosswalk`` against tobler, geopandas.overlay, DuckDB.

Usage::

    taskset -c 0 python benchmarks/bench_slow_cases.py [--case NAME ...] [--timeout S]

Every contender runs on one core (run the script under ``taskset -c 0``; numba, BLAS and
DuckDB are also limited to one thread) in a fresh subprocess, on the same EPSG:27700 inputs
(built once, untimed, into a cache folder as GeoParquet):

region       the LSOAs 2011 of four West Yorkshire districts dissolved into one polygon ×
             every LSOA whose box meets it
drawing      a 200,000-vertex wobbly blob × Wakefield's 1,081 output areas 2011
national     England LSOA 2011 (32,844) × wards 2013 (7,681)
million      1,000,000 small hexagons × wards 2013
one-ward     one ward × all 32,844 LSOAs 2011
thousand     1,000 small hexagons × wards 2013
comb         one comb (64,000 teeth, 192,004 vertices) × a 5-vertex box
many-parts   a 20,000-part multipolygon × a 200,000-vertex polygon
serpentines  two 24,000-vertex serpentines (stacked horizontal bars), one shifted

Contenders: ``tobler`` (its overlap table, ``_area_tables_binning``), ``overlay``
(``geopandas.overlay(how="intersection")`` + area), ``duckdb`` (spatial extension from the
``duckdb-ext-spatial`` package: ``ST_Area(ST_Intersection(...))`` after a spatial join on
``ST_Intersects``), ``crosswalk`` (``nbhd_geo.crosswalk(threads=1)``). Timed: the call only,
inputs already in memory. A contender whose first run takes under 2 s is run 6 times: the
median of runs 4-6 is the steady state of a session that crosses the same layers again
(search trees, validity and edge arrays kept), and the first run is printed beside it; a
slower one runs once; one that passes ``--timeout`` is stopped and reported as such. Afterwards the pair tables are compared: the largest difference of
``share_of_source`` / ``share_of_target`` against ``crosswalk``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = Path(os.environ.get("NBHD_GEO_SHARED", ROOT.parent / "shared" / "data")).resolve()
CACHE = Path(os.environ.get("NBHD_GEO_BENCH_CACHE", "/tmp/nbhd_geo_bench_slow"))

CASES = [
    "region",
    "drawing",
    "national",
    "million",
    "one-ward",
    "thousand",
    "comb",
    "many-parts",
    "serpentines",
]
CONTENDERS = ["tobler", "overlay", "duckdb", "crosswalk"]
REGION_LADS = ["E08000035", "E08000032", "E08000033", "E08000034"]  # Leeds, Bradford, ...


# ---------------------------------------------------------------------------------------------
# Inputs (untimed, cached)
# ---------------------------------------------------------------------------------------------


def _repair(geoms: np.ndarray) -> np.ndarray:
    import shapely

    geoms = geoms.copy()
    bad = ~shapely.is_valid(geoms)
    for k in np.flatnonzero(bad):
        g = shapely.make_valid(geoms[k])
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            g = shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
        geoms[k] = g
    return geoms


def _national() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import geopandas as gpd

    lsoa = gpd.read_parquet(SHARED / "ons" / "england" / "lsoa11.parquet").to_crs(27700)
    wards = gpd.read_parquet(SHARED / "ons" / "england" / "wards13.parquet").to_crs(27700)
    return (
        _repair(np.asarray(lsoa.geometry.values, dtype=object)),
        _repair(np.asarray(wards.geometry.values, dtype=object)),
        lsoa["LAD"].to_numpy(),
    )


def build(case: str) -> tuple[np.ndarray, np.ndarray]:
    """The case's source and target polygons (object arrays, EPSG:27700)."""
    import geopandas as gpd
    import shapely

    sys.path.insert(0, str(HERE))
    import _slow_cases as sc

    if case in ("region", "national", "million", "one-ward", "thousand"):
        lsoa, wards, lad = _national()
        if case == "national":
            return lsoa, wards
        if case == "one-ward":
            return wards[[1000]], lsoa
        if case == "million":
            return sc.small_polygons(wards, 1_000_000, seed=1), wards
        if case == "thousand":
            return sc.small_polygons(wards, 1_000, seed=2), wards
        region = shapely.union_all(lsoa[np.isin(lad, REGION_LADS)])
        region = _repair(np.array([region], dtype=object))
        tree = shapely.STRtree(lsoa)
        return region, lsoa[np.sort(tree.query(region[0]))]
    if case == "drawing":
        oa = gpd.read_file(SHARED / "ons" / "wakefield" / "oa11.geojson").to_crs(27700)
        oa = _repair(np.asarray(oa.geometry.values, dtype=object))
        c = shapely.centroid(shapely.union_all(oa))
        blob = sc.big_blob(200_000, centre=(c.x, c.y), radius=6000.0)
        return np.array([blob], dtype=object), oa
    if case == "comb":
        return np.array([sc.comb()], dtype=object), np.array([sc.comb_box()], dtype=object)
    if case == "comb16k":  # the size of the first-call table (bench_first_call.py)
        return (
            np.array([sc.comb(16000)], dtype=object),
            np.array([sc.comb_box(16000)], dtype=object),
        )
    if case == "many-parts":
        return (
            np.array([sc.many_parts()], dtype=object),
            np.array([sc.big_blob(200_000)], dtype=object),
        )
    if case == "serpentines":
        a = sc.serpentine(16000)
        b = shapely.affinity.translate(sc.serpentine(16000, dy=2.0), 3.0, 0.0)
        return np.array([a], dtype=object), np.array([b], dtype=object)
    raise ValueError(case)


def inputs(case: str) -> Path:
    """Folder holding the case's source.parquet / target.parquet, built if missing."""
    import geopandas as gpd
    import shapely

    d = CACHE / case
    if (d / "target.parquet").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    src, tgt = build(case)
    assert shapely.is_valid(src).all() and shapely.is_valid(tgt).all(), case
    gpd.GeoDataFrame({"sid": np.arange(len(src))}, geometry=src, crs=27700).to_parquet(
        d / "source.parquet"
    )
    gpd.GeoDataFrame({"tid": np.arange(len(tgt))}, geometry=tgt, crs=27700).to_parquet(
        d / "target.parquet"
    )
    return d


def describe(d: Path) -> str:
    import geopandas as gpd
    import shapely

    parts = []
    for name in ("source", "target"):
        g = gpd.read_parquet(d / f"{name}.parquet").geometry.values
        parts.append(f"{len(g):,} polygons, {int(shapely.get_num_coordinates(g).sum()):,} vertices")
    return " × ".join(parts)


# ---------------------------------------------------------------------------------------------
# Worker: one contender on one case, in a fresh process
# ---------------------------------------------------------------------------------------------


def _duckdb_connect():
    import duckdb

    try:
        import duckdb_ext
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "duckdb spatial: install the bench extra (duckdb-ext-spatial from PyPI)"
        ) from exc
    ext = sorted(Path(duckdb_ext.__path__[0]).glob("extensions/*/*/spatial.duckdb_extension"))
    if not ext:
        raise SystemExit("duckdb spatial: no spatial.duckdb_extension in duckdb_ext")
    con = duckdb.connect(config={"allow_unsigned_extensions": "true", "threads": 1})
    con.execute(f"LOAD '{ext[-1]}'")
    return con


def _compile_engine() -> None:
    """Compile (or load from numba's cache) every kernel path on tiny inputs, untimed.

    Two boxes, a 64-vertex circle against small boxes (the per-polygon band index), and
    two interleaved combs (the per-pair bands).
    """
    import geopandas as gpd
    import shapely
    import shapely.affinity

    from nbhd_geo import crosswalk

    sys.path.insert(0, str(HERE))
    import _slow_cases as sc

    def run(a: list, b: list) -> None:
        ga = gpd.GeoDataFrame({"sid": range(len(a))}, geometry=a, crs=27700)
        gb = gpd.GeoDataFrame({"tid": range(len(b))}, geometry=b, crs=27700)
        crosswalk(ga, gb, source_id="sid", target_id="tid", threads=1)

    run([shapely.box(0, 0, 2, 2)], [shapely.box(1, 1, 3, 3)])
    run([shapely.Point(0, 0).buffer(10, 16)], [shapely.box(k, k, k + 1, k + 1) for k in range(5)])
    run([sc.serpentine(400)], [shapely.affinity.translate(sc.serpentine(400, dy=2.0), 3.0, 0.0)])


def run_contender(name: str, src, tgt, con=None):
    """Positions and areas of every pair with positive overlap."""
    if name == "tobler":
        import importlib

        mod = importlib.import_module("tobler.area_weighted.area_interpolate")
        table = mod._area_tables_binning(src, tgt, "auto").tocoo()
        keep = table.data > 0
        return table.row[keep], table.col[keep], table.data[keep].astype(np.float64)
    if name == "overlay":
        import geopandas as gpd

        ov = gpd.overlay(src, tgt, how="intersection", keep_geom_type=False)
        area = ov.geometry.area.to_numpy()
        keep = area > 0
        return ov["sid"].to_numpy()[keep], ov["tid"].to_numpy()[keep], area[keep]
    if name == "duckdb":
        rows = con.execute(
            "SELECT s.sid, t.tid, ST_Area(ST_Intersection(s.geom, t.geom)) AS a "
            "FROM s JOIN t ON ST_Intersects(s.geom, t.geom)"
        ).fetchnumpy()
        keep = rows["a"] > 0
        return rows["sid"][keep], rows["tid"][keep], rows["a"][keep]
    if name == "crosswalk":
        from nbhd_geo import crosswalk

        tab = crosswalk(src, tgt, source_id="sid", target_id="tid", threads=1).table
        return (
            tab["source_id"].to_numpy(np.int64),
            tab["target_id"].to_numpy(np.int64),
            tab["area_m2"].to_numpy(np.float64),
        )
    raise ValueError(name)


def worker(case: str, name: str) -> None:
    import geopandas as gpd
    import shapely

    d = CACHE / case
    src = gpd.read_parquet(d / "source.parquet")
    tgt = gpd.read_parquet(d / "target.parquet")
    con = None
    load = None
    if name == "duckdb":
        con = _duckdb_connect()
        t0 = time.perf_counter()  # DuckDB's own preparation: WKB to its geometry, untimed below
        for tab, frame, col in (("s", src, "sid"), ("t", tgt, "tid")):
            df = frame[[col]].copy()
            df["wkb"] = shapely.to_wkb(frame.geometry.values)
            con.register(f"{tab}_raw", df)
            con.execute(
                f"CREATE TABLE {tab} AS SELECT {col}, ST_GeomFromWKB(wkb) AS geom FROM {tab}_raw"
            )
        load = time.perf_counter() - t0
    if name == "crosswalk":
        _compile_engine()
    times = []
    t0 = time.perf_counter()
    out = run_contender(name, src, tgt, con)
    times.append(time.perf_counter() - t0)
    if times[0] < 2.0:  # cheap: 5 more runs; the last 3 are the steady state
        for _ in range(5):
            t0 = time.perf_counter()
            out = run_contender(name, src, tgt, con)
            times.append(time.perf_counter() - t0)
    ia, ib, area = (np.asarray(v) for v in out)
    np.savez(d / f"result_{name}.npz", ia=ia.astype(np.int64), ib=ib.astype(np.int64), area=area)
    print(json.dumps({"times": times, "load": load}))


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def _shares(d: Path, name: str, sa: np.ndarray, ta: np.ndarray) -> dict:
    r = np.load(d / f"result_{name}.npz")
    return {
        (int(i), int(j)): (a / sa[i], a / ta[j])
        for i, j, a in zip(r["ia"], r["ib"], r["area"], strict=True)
    }


def _max_diff(x: dict, y: dict) -> tuple[float, int]:
    worst = 0.0
    over = 0
    for k in set(x) | set(y):
        u = x.get(k, (0.0, 0.0))
        v = y.get(k, (0.0, 0.0))
        diff = max(abs(u[0] - v[0]), abs(u[1] - v[1]))
        worst = max(worst, diff)
        over += diff > 1e-6
    return worst, over


def run_case(case: str, timeout: float, names: list[str]) -> dict:
    import geopandas as gpd
    import shapely

    t0 = time.perf_counter()
    d = inputs(case)
    print(f"\n== {case}: {describe(d)} (inputs ready in {time.perf_counter() - t0:.1f} s)")
    res: dict[str, dict] = {}
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    for name in names:
        (d / f"result_{name}.npz").unlink(missing_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", case, name]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            res[name] = {"timeout": timeout}
            print(f"   {name:10s} > {timeout:.0f} s (stopped)")
            continue
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines() or ["?"])[-1]
            res[name] = {"error": msg}
            print(f"   {name:10s} failed: {msg}")
            continue
        got = json.loads(p.stdout.strip().splitlines()[-1])
        times = got["times"]
        med = float(np.median(times[-3:]))
        res[name] = {"median": med, "times": times, "load": got.get("load")}
        loaded = (
            f"; tables loaded beforehand in {got['load']:.4f} s" if got.get("load") is not None else ""
        )
        if len(times) > 1:
            print(
                f"   {name:10s} {med:9.4f} s  warm: median of runs 4-6 "
                f"(first run {times[0]:.4f} s{loaded})"
            )
        else:
            print(f"   {name:10s} {med:9.4f} s  1 run{loaded}")
    if "crosswalk" in res and "median" in res["crosswalk"]:
        ours = res["crosswalk"]["median"]
        peers = [res[n]["median"] for n in names if n != "crosswalk" and "median" in res[n]]
        for n in names:
            if n != "crosswalk" and "median" in res[n]:
                print(f"   {n} / crosswalk = {res[n]['median'] / ours:.2f}x")
        if peers:
            print(f"   fastest peer / crosswalk = {min(peers) / ours:.2f}x")
            firsts = [res[n]["times"][0] for n in names if n != "crosswalk" and "times" in res[n]]
            print(
                "   first runs (each tool's first call in a fresh process): fastest peer / "
                f"crosswalk = {min(firsts) / res['crosswalk']['times'][0]:.2f}x"
            )
        src = gpd.read_parquet(d / "source.parquet").geometry.values
        tgt = gpd.read_parquet(d / "target.parquet").geometry.values
        sa = shapely.area(src)
        ta = shapely.area(tgt)
        ref = _shares(d, "crosswalk", sa, ta)
        for n in names:
            if n != "crosswalk" and (d / f"result_{n}.npz").exists():
                worst, over = _max_diff(ref, _shares(d, n, sa, ta))
                res[n]["max_share_diff"] = worst
                print(f"   shares {n} vs crosswalk: max |diff| {worst:.2e}, {over} pairs > 1e-6")
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="*", choices=CASES, default=CASES)
    parser.add_argument("--only", nargs="*", choices=CONTENDERS, default=CONTENDERS)
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds per contender")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warm:
        _compile_engine()
        return
    if args.worker:
        worker(*args.worker)
        return
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = []
    print(f"cores allowed: {cores}; load average at start: {os.getloadavg()}")
    if len(cores) != 1:
        print("   (not pinned: run under `taskset -c 0` for one-core figures)")
    # compile the numba kernels into their cache once, so no timeout counts compilation
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--warm"], check=True)
    out = {}
    for case in args.case:
        out[case] = run_case(case, args.timeout, args.only)
    print(f"\nload average at end: {os.getloadavg()}")
    (CACHE / "results.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
