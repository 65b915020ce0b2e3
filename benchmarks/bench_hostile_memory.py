"""Peak memory and time of `nbhd-geo read` on files built to exhaust memory.

Three hostile files are built in a temporary folder (about 2 GB of disk):

* ``bomb.parquet``: 1,000,000 rows sharing one dictionary-encoded polygon of
  10,000 vertices (a file of a few hundred kB that expands to 160 GB of WKB);
* ``vertices.gpkg``: 60 polygons of 1,000,000 vertices (60 M vertices, ~1 GB);
* ``texts.gpkg``: 10 drawings, each with a 100 MB text attribute.

Each case runs the real command in a fresh process; its peak resident memory
(``ru_maxrss`` of the child) and wall time are printed. The peers compared are the
plain readers the files would otherwise meet: ``geopandas.read_parquet`` and
``pyogrio.read_dataframe`` (run with a 6 GB address-space cap, so they fail
instead of taking the machine down).

Run: ``python benchmarks/bench_hostile_memory.py [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

LIMIT_MB = 1536


def _ring(n: int, x0: float = 430_000, y0: float = 420_000, r: float = 500.0) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return shapely.Polygon(np.c_[x0 + r * np.cos(t), y0 + r * np.sin(t)])


def build_bomb(path: Path, rows: int = 1_000_000, vertices: int = 10_000) -> Path:
    wkb = shapely.to_wkb(_ring(vertices))
    geometry = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)),
                                              pa.array([wkb], type=pa.binary()))
    ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)),
                                         pa.array(["d"]))
    geo = ('{"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": '
           '{"encoding": "WKB", "geometry_types": ["Polygon"], "crs": null}}}')
    table = pa.table({"drawing_id": ids, "geometry": geometry}).replace_schema_metadata(
        {"geo": geo})
    pq.write_table(table, path, use_dictionary=True, compression="zstd")
    return path


def _raw_sqlite(con: sqlite3.Connection) -> None:
    """Drop GDAL's triggers (they call SQL functions only GDAL defines) before raw edits."""
    for (name,) in con.execute("select name from sqlite_master where type = 'trigger'"):
        con.execute(f'drop trigger "{name}"')
    con.execute("update gpkg_ogr_contents set feature_count = null")


def build_vertices(path: Path, polygons: int = 60, vertices: int = 1_000_000) -> Path:
    gpd.GeoDataFrame({"drawing_id": ["v0"]}, geometry=[_ring(vertices)], crs=27700).to_file(
        path, layer="drawings", driver="GPKG")
    with sqlite3.connect(path) as con:
        _raw_sqlite(con)
        for k in range(1, polygons):
            con.execute("insert into drawings (drawing_id, geom) "
                        "select ?, geom from drawings where fid = 1", (f"v{k}",))
    return path


def build_texts(path: Path, rows: int = 10, size: int = 100_000_000) -> Path:
    gpd.GeoDataFrame({"drawing_id": [f"t{k}" for k in range(rows)], "comments": ["x"] * rows},
                     geometry=[shapely.box(430_000 + 200 * k, 420_000, 430_100 + 200 * k,
                                           420_100) for k in range(rows)],
                     crs=27700).to_file(path, layer="drawings", driver="GPKG")
    with sqlite3.connect(path) as con:
        _raw_sqlite(con)
        con.execute("update drawings set comments = hex(zeroblob(?))", (size // 2,))
    return path


_MEASURE = """
import resource, subprocess, sys, time
cap = int(sys.argv[1])
def limit():
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
t = time.perf_counter()
p = subprocess.run(sys.argv[2:], capture_output=True, text=True, preexec_fn=limit)
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
last = (p.stderr.strip().splitlines() or [""])[-1][:150]
print(f"{p.returncode}\\t{dt:.2f}\\t{rss:.0f}\\t{last}")
"""


def measure(args: list[str], cap_bytes: int = 0) -> tuple[int, float, float, str]:
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(cap_bytes), *args],
                         capture_output=True, text=True, check=True).stdout.rstrip("\n")
    code, dt, rss, last = (out.split("\t", 3) + [""])[:4]
    return int(code), float(dt), float(rss), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, default=None, help="build the files here")
    opts = parser.parse_args()
    folder = opts.keep or Path(tempfile.mkdtemp(prefix="nbhd-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, build in (("bomb.parquet", build_bomb), ("vertices.gpkg", build_vertices),
                        ("texts.gpkg", build_texts)):
        path = folder / name
        if not path.exists():
            t = time.perf_counter()
            build(path)
            print(f"built {name}: {path.stat().st_size:,} bytes in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
        files[name] = path
    cli = [sys.executable, "-m", "nbhd_geo.cli", "-q", "read"]
    six_gb = 6 * 1024**3
    cases = [
        ("parquet bomb: nbhd-geo read", cli + [str(files["bomb.parquet"])], 0),
        ("parquet bomb: geopandas.read_parquet (6 GB cap)",
         [sys.executable, "-c", "import geopandas, sys; geopandas.read_parquet(sys.argv[1])",
          str(files["bomb.parquet"])], six_gb),
        ("60 M vertices: nbhd-geo read", cli + [str(files["vertices.gpkg"])], 0),
        ("60 M vertices: pyogrio.read_dataframe (6 GB cap)",
         [sys.executable, "-c", "import pyogrio, sys; pyogrio.read_dataframe(sys.argv[1])",
          str(files["vertices.gpkg"])], six_gb),
        ("10 x 100 MB texts: nbhd-geo read", cli + [str(files["texts.gpkg"])], 0),
        ("10 x 100 MB texts: nbhd-geo read --keep-column comments",
         cli + [str(files["texts.gpkg"]), "--keep-column", "comments"], 0),
        ("10 x 100 MB texts: nbhd-geo read --keep-personal",
         cli + [str(files["texts.gpkg"]), "--keep-personal"], 0),
        ("10 x 100 MB texts: pyogrio.read_dataframe (6 GB cap)",
         [sys.executable, "-c", "import pyogrio, sys; pyogrio.read_dataframe(sys.argv[1])",
          str(files["texts.gpkg"])], six_gb),
    ]
    print(f"\n{'case':58} exit  seconds  peak MB  (limit {LIMIT_MB} MB)")
    for label, args, cap in cases:
        if "nbhd-geo read" in label:
            args = [*args, "--out", str(folder / f"out-{abs(hash(label))}"), "--overwrite"]
        code, dt, rss, last = measure(args, cap)
        ok = "" if cap else ("  OK" if code in (0, 2) and rss < LIMIT_MB else "  OVER")
        print(f"{label:58} {code:>4} {dt:8.2f} {rss:8.0f}{ok}", flush=True)
        if last:
            print(f"    {last}")


if __name__ == "__main__":
    main()
