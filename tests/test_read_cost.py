"""Cost checked before decoding: hostile GeoParquet and GeoPackage files are refused early.

Small-scale versions of the memory cases of ``benchmarks/bench_hostile_memory.py``
(which builds the full-size files and measures peak memory): the same files, with
limits lowered so that they stay fast, and the full-size GeoParquet bomb (it is
tiny on disk).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import geopandas as gpd
import pyogrio
import pytest
import shapely
from benchmarks.bench_hostile_memory import build_bomb, build_texts, build_vertices

from nbhd_geo.errors import InputError
from nbhd_geo.io.guards import Limits
from nbhd_geo.io.options import PrivacyOptions
from nbhd_geo.io.read import read_drawings, read_layer

EXE = [sys.executable, "-m", "nbhd_geo.cli"]


def test_parquet_bomb_refused_in_under_two_seconds(tmp_path):
    path = build_bomb(tmp_path / "bomb.parquet")
    assert path.stat().st_size < 300_000
    started = time.perf_counter()
    with pytest.raises(InputError, match="160,029,000,000 bytes"):
        read_drawings(path)
    assert time.perf_counter() - started < 2.0


_PEAK = """
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.stderr.write(p.stderr)
"""


def _peak(*args: str) -> tuple[int, int, str]:
    proc = subprocess.run([sys.executable, "-c", _PEAK, *EXE, *args], capture_output=True,
                          text=True, timeout=600)
    code, mb = proc.stdout.split()
    return int(code), int(mb), proc.stderr


def test_parquet_bomb_cli_exit_2_with_small_peak_memory(tmp_path):
    path = build_bomb(tmp_path / "bomb.parquet")
    code, mb, err = _peak("-q", "read", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "--max-bytes" in err
    assert mb < 1536


def test_vertex_bomb_refused_from_blob_sizes_before_decoding(tmp_path):
    path = build_vertices(tmp_path / "v.gpkg", polygons=6, vertices=20_000)
    with pytest.raises(InputError, match=r"about 120,018 vertices \(estimated"):
        read_drawings(path, limits=Limits(max_vertices=100_000))
    data, _ = read_drawings(path, limits=Limits(max_vertices=130_000))  # under: read
    assert len(data) == 6
    assert int(shapely.get_num_coordinates(data.geometry.values).sum()) == 6 * 20_001


def test_feature_count_from_sql_not_from_gdal_metadata(tmp_path):
    # GDAL's cached feature count says 1; SQL counts the 6 rows.
    path = build_vertices(tmp_path / "v.gpkg", polygons=6, vertices=10)
    with sqlite3.connect(path) as con:
        con.execute("update gpkg_ogr_contents set feature_count = 1")
    with pytest.raises(InputError, match="has 6 features"):
        read_layer(path, limits=Limits(max_features=5), strict=False)


def test_large_text_attributes_are_never_read_unless_kept(tmp_path):
    path = build_texts(tmp_path / "t.gpkg", rows=10, size=2_000_000)
    small = Limits(max_attribute_bytes=5_000_000)
    data, report = read_drawings(path, limits=small)  # not read: the allowlist leaves it out
    assert len(data) == 10 and "comments" not in data.columns
    assert report.dropped_columns["comments"] == "column name suggests free text"
    with pytest.raises(InputError, match="20,000,020 bytes of attribute values"):
        read_drawings(path, privacy=PrivacyOptions(keep_columns=["comments"]), limits=small)
    with pytest.raises(InputError, match="max-attribute-bytes"):
        read_layer(path, limits=small)


def test_text_attributes_cli_exit_codes(tmp_path):
    path = build_texts(tmp_path / "t.gpkg", rows=10, size=2_000_000)
    code, mb, err = _peak("-q", "read", str(path), "--out", str(tmp_path / "a"))
    assert code == 0, err
    code, _, err = _peak("-q", "read", str(path), "--keep-column", "comments",
                         "--max-attribute-bytes", "5000000", "--out", str(tmp_path / "b"))
    assert code == 2 and "--max-attribute-bytes 20000020" in err


def test_only_wanted_columns_are_decoded(tmp_path):
    path = tmp_path / "d.gpkg"
    gpd.GeoDataFrame({"drawing_id": ["a"], "nbhd": ["Eastmoor"], "secret": ["x"]},
                     geometry=[shapely.box(430000, 420000, 430100, 420100)],
                     crs=27700).to_file(path, layer="drawings")
    data, report = read_drawings(path, name_col="nbhd")
    assert data.columns.tolist() == ["nbhd", "geometry"]
    assert list(report.dropped_columns) == ["secret"]
    assert pyogrio.read_info(path)["fields"].tolist() == ["drawing_id", "nbhd", "secret"]


def test_limits_are_validated():
    with pytest.raises(InputError, match="max_vertices"):
        Limits(max_vertices=0)
