"""A user's first call, in a fresh process: ``nbhd_geo.crosswalk`` against tobler, overlay, DuckDB.

Usage::

    taskset -c 0 python benchmarks/bench_first_call.py [--case NAME ...] [--repeat 3]

What a user's script does, timed as it is: a fresh Python process imports the library, reads
the two layers (GeoParquet, EPSG:27700; untimed), and makes **one** call. numba's kernel cache
is present (compiled once before the runs), but nothing else is warm: no search tree, no
validity, no edge arrays. Each contender is started ``--repeat`` times (3), the runs of the
contenders interleaved so that a change in the machine's load hits all of them; the figure
is the median of the first calls. In the same processes the call is then repeated (5 more
times when the first took under 2 s) and the median of runs 4-6 is the steady state, the
figure ``bench_slow_cases.py`` reports.

``--kernels-loaded`` lets the crosswalk's kernel load (begun in the background at import)
finish before its clock starts, as it would if it began early enough to overlap the reading:
the call's own work, apart from numba's start-up.

Cases (inputs from ``bench_slow_cases.py``, cached under ``$NBHD_GEO_BENCH_CACHE``):

one-ward     one ward × all 32,844 LSOAs 2011
thousand     1,000 small hexagons × England wards 2013
many-parts   a 20,000-part multipolygon × a 200,000-vertex polygon
comb16k      one comb (16,000 teeth) × a 5-vertex box
national     England LSOA 2011 (32,844) × wards 2013 (7,681)

Contenders as in ``bench_slow_cases.py``: tobler's overlap table, ``geopandas.overlay`` +
area, DuckDB spatial with one thread (its tables are loaded from WKB before the clock starts;
that load is printed too), and ``nbhd_geo.crosswalk(threads=1)``. The verdict per case: the
crosswalk's first call is at least 2x faster than the fastest peer's, or at most 5 ms slower;
given on wall time and again on CPU time (``time.process_time``: every thread of the process,
so a kernel load still running in the background counts), which a busy machine disturbs
less. Each contender's import time is printed too: work moved out of the first call into the
import is not hidden.
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
sys.path.insert(0, str(HERE))

import bench_slow_cases as slow  # noqa: E402

CASES = ["one-ward", "thousand", "many-parts", "comb16k", "national"]
CONTENDERS = ["tobler", "overlay", "duckdb", "crosswalk"]


def worker(case: str, name: str) -> None:
    """One fresh process: import, read, one timed call, then the steady state."""
    t0 = time.perf_counter()
    if name == "crosswalk":
        import nbhd_geo  # noqa: F401  (a user's script imports the library first)
    elif name == "tobler":
        import tobler.area_weighted.area_interpolate  # noqa: F401
    elif name == "duckdb":
        import duckdb  # noqa: F401
    import geopandas as gpd
    import shapely

    t_import = time.perf_counter() - t0
    d = slow.CACHE / case
    t0 = time.perf_counter()
    src = gpd.read_parquet(d / "source.parquet")
    tgt = gpd.read_parquet(d / "target.parquet")
    t_read = time.perf_counter() - t0
    con = None
    load = None
    if name == "crosswalk" and os.environ.get("BENCH_KERNELS_LOADED") == "1":
        # --kernels-loaded: wait (untimed) for the kernel load begun at import, as if it had
        # started early enough to finish while the layers were read
        from nbhd_geo.overlay.exact import compile_kernels

        compile_kernels()
    if name == "duckdb":
        con = slow._duckdb_connect()
        t0 = time.perf_counter()
        for tab, frame, col in (("s", src, "sid"), ("t", tgt, "tid")):
            df = frame[[col]].copy()
            df["wkb"] = shapely.to_wkb(frame.geometry.values)
            con.register(f"{tab}_raw", df)
            con.execute(
                f"CREATE TABLE {tab} AS SELECT {col}, ST_GeomFromWKB(wkb) AS geom FROM {tab}_raw"
            )
        load = time.perf_counter() - t0
    times = []
    cpus = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = slow.run_contender(name, src, tgt, con)
    times.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
    if times[0] < 2.0:
        for _ in range(5):
            c0 = time.process_time()
            t0 = time.perf_counter()
            out = slow.run_contender(name, src, tgt, con)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    ia, ib, area = (np.asarray(v) for v in out)
    np.savez(d / f"result_{name}.npz", ia=ia.astype(np.int64), ib=ib.astype(np.int64), area=area)
    print(json.dumps({"times": times, "cpus": cpus, "cpu_first": cpus[0], "load": load,
                      "import": t_import, "read": t_read}))  # fmt: skip


def _verdict(peers: dict[str, dict], ours: dict, key: str) -> tuple[str, float, float, bool]:
    """The fastest peer by ``key``, its time ÷ ours, how many ms we are slower, and the rule.

    The rule, as issue 25 words it: at least 2x the fastest peer, or at most 5 ms slower
    than it (so faster by less than 2x counts: it is never worse than 5 ms slower, which
    does). An earlier reading ("within ±5 ms") failed a call faster than every peer by more
    than 5 ms but less than 2x, while passing one 4 ms slower.
    """
    best = min(peers, key=lambda n: peers[n][key])
    ratio = peers[best][key] / ours[key]
    slower_ms = 1000 * (ours[key] - peers[best][key])
    return best, ratio, slower_ms, bool(ratio >= 2.0 or slower_ms <= 5.0)


def run_case(case: str, names: list[str], repeat: int, timeout: float) -> dict:
    import geopandas as gpd
    import shapely

    d = slow.inputs(case)
    print(f"\n== {case}: {slow.describe(d)}   (load average {os.getloadavg()[0]:.1f})")
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for _ in range(repeat):
        for name in names:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", case, name]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
            except subprocess.TimeoutExpired:
                print(f"   {name:10s} > {timeout:.0f} s (stopped)")
                continue
            if p.returncode != 0:
                print(f"   {name:10s} failed: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
                continue
            runs[name].append(json.loads(p.stdout.strip().splitlines()[-1]))
    res: dict[str, dict] = {}
    for name in names:
        if not runs[name]:
            continue
        first = float(np.median([r["times"][0] for r in runs[name]]))
        steady = float(np.median([np.median(r["times"][-3:]) for r in runs[name]]))
        cpu = float(np.median([r["cpu_first"] for r in runs[name]]))
        cpu_steady = float(np.median([np.median(r["cpus"][-3:]) for r in runs[name]]))
        imp = float(np.median([r["import"] for r in runs[name]]))
        res[name] = {"first": first, "steady": steady, "cpu_first": cpu,
                     "cpu_steady": cpu_steady, "import": imp, "runs": runs[name]}  # fmt: skip
        loads = [r["load"] for r in runs[name] if r["load"] is not None]
        extra = f"; tables loaded beforehand in {np.median(loads):.4f} s" if loads else ""
        print(
            f"   {name:10s} first call {first:9.4f} s (CPU {cpu:.4f} s; each: "
            + ", ".join(f"{r['times'][0]:.4f}" for r in runs[name])
            + f")   steady {steady:9.4f} s (CPU {cpu_steady:.4f} s)   import {imp:.2f} s{extra}"
        )
    if "crosswalk" in res:
        ours = res["crosswalk"]
        peers = {n: r for n, r in res.items() if n != "crosswalk"}
        if peers:
            best_first, rf, slower_ms, ok = _verdict(peers, ours, "first")
            best_steady = min(peers, key=lambda n: peers[n]["steady"])
            rs = peers[best_steady]["steady"] / ours["steady"]
            print(
                f"   first call: fastest peer {best_first} {peers[best_first]['first']:.4f} s, "
                f"ratio {rf:.2f}x ({'holds' if ok else 'FAILS'}: >= 2x, or at most 5 ms slower)"
            )
            print(
                f"   steady state: fastest peer {best_steady} "
                f"{peers[best_steady]['steady']:.4f} s, ratio {rs:.2f}x"
            )
            for n in peers:
                print(f"   {n} / crosswalk: first {peers[n]['first'] / ours['first']:.2f}x "
                      f"(CPU {peers[n]['cpu_first'] / ours['cpu_first']:.2f}x), "
                      f"steady {peers[n]['steady'] / ours['steady']:.2f}x")  # fmt: skip
            # the same rule on CPU seconds, which a busy machine disturbs less than wall time
            best_cpu, rc, _, ok_cpu = _verdict(peers, ours, "cpu_first")
            print(
                f"   first call CPU: fastest peer {best_cpu} {peers[best_cpu]['cpu_first']:.4f} s, "
                f"ratio {rc:.2f}x ({'holds' if ok_cpu else 'FAILS'})"
            )
            res["verdict"] = {"peer": best_first, "ratio": rf, "slower_ms": slower_ms, "ok": ok,
                              "peer_cpu": best_cpu, "ratio_cpu": rc, "ok_cpu": ok_cpu}  # fmt: skip
        sa = shapely.area(gpd.read_parquet(d / "source.parquet").geometry.values)
        ta = shapely.area(gpd.read_parquet(d / "target.parquet").geometry.values)
        ref = slow._shares(d, "crosswalk", sa, ta)
        for n in peers:
            if (d / f"result_{n}.npz").exists():
                worst, over = slow._max_diff(ref, slow._shares(d, n, sa, ta))
                print(f"   shares {n} vs crosswalk: max |diff| {worst:.2e}, {over} pairs > 1e-6")
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="*", choices=CASES, default=CASES)
    parser.add_argument("--only", nargs="*", choices=CONTENDERS, default=CONTENDERS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds per process")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument(
        "--kernels-loaded",
        action="store_true",
        help="let the crosswalk's kernel load finish before the clock starts (isolates the "
        "call's own work from numba's start-up)",
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.kernels_loaded:
        os.environ["BENCH_KERNELS_LOADED"] = "1"
        print("--kernels-loaded: the crosswalk's kernel load finishes before its clock starts")
    cores = sorted(os.sched_getaffinity(0))
    print(f"cores allowed: {cores}; load average at start: {os.getloadavg()}")
    if len(cores) != 1:
        print("   (not pinned: run under `taskset -c 0` for one-core figures)")
    # the kernel cache present, as after an install: compile (or load) it once, untimed
    code = "from nbhd_geo.overlay.exact import compile_kernels; compile_kernels()"
    subprocess.run([sys.executable, "-c", code], check=True)
    out = {case: run_case(case, args.only, args.repeat, args.timeout) for case in args.case}
    print(f"\nload average at end: {os.getloadavg()}")
    for case, res in out.items():
        v = res.get("verdict")
        if v:
            print(f"   {case:11s} first call vs {v['peer']}: {v['ratio']:.2f}x "
                  f"({'holds' if v['ok'] else 'FAILS'}); CPU vs {v['peer_cpu']}: "
                  f"{v['ratio_cpu']:.2f}x ({'holds' if v['ok_cpu'] else 'FAILS'})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
