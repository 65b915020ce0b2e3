"""Before/after timing of the 0.2 restructure (#11): the sample report and a national crosswalk.

Runs the same two jobs, in fresh subprocesses, against two source trees — the current
checkout and an older one (``--before``, e.g. a ``git worktree`` of the last 0.1 commit) —
in one run, alternating, and prints the medians and the after/before ratio.

    git worktree add --detach ../before fe72acc
    .venv/bin/python benchmarks/bench_layout.py --before ../before --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NBHD_GEO_SHARED", ROOT.parent / "shared" / "data"))

JOBS = {
    "report (samples, make demo)": """
import time, tempfile, pathlib
from nbhd_geo.report.demo import run_demo
run_demo(pathlib.Path(tempfile.mkdtemp()) / 'warm', progress=False)   # numba cache, imports
t = time.perf_counter()
run_demo(pathlib.Path(tempfile.mkdtemp()) / 'demo', progress=False)
print(time.perf_counter() - t)
""",
    "crosswalk (England LSOA11 x wards13, 1 thread)": """
import time, geopandas as gpd, shapely, nbhd_geo as ng
src = gpd.read_parquet({lsoa!r}).to_crs(27700); tgt = gpd.read_parquet({wards!r}).to_crs(27700)
src.geometry = shapely.make_valid(src.geometry.values); tgt.geometry = shapely.make_valid(tgt.geometry.values)
src = src[src.geom_type.isin(['Polygon','MultiPolygon'])]; tgt = tgt[tgt.geom_type.isin(['Polygon','MultiPolygon'])]
ng.crosswalk(src.iloc[:50], tgt.iloc[:50], threads=1)
t = time.perf_counter()
ng.crosswalk(src, tgt, threads=1)
print(time.perf_counter() - t)
""",
}


def run(tree: Path, code: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=tempfile.mkdtemp())
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="older source tree (checkout)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    lsoa, wards = SHARED / "ons/england/lsoa11.parquet", SHARED / "ons/england/wards13.parquet"
    results = {}
    for name, code in JOBS.items():
        code = code.format(lsoa=str(lsoa), wards=str(wards))
        if "England" in name and not lsoa.exists():
            print(f"skip {name}: {lsoa} absent")
            continue
        times: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            times["before"].append(run(args.before.resolve(), code))
            times["after"].append(run(ROOT, code))
        b, a = statistics.median(times["before"]), statistics.median(times["after"])
        results[name] = {"before_s": round(b, 3), "after_s": round(a, 3),
                         "after/before": round(a / b, 3)}
        print(f"{name:48s} before {b:7.2f} s   after {a:7.2f} s   after/before {a / b:5.2f}")
    print(json.dumps({"load_average": os.getloadavg(), **results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
