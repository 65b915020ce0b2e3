"""The nbhd-geo command line, run as a real process: outputs, clean errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tests.conftest import SAMPLES

EXE = [sys.executable, "-m", "nbhd_geo.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = run("demo", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_demo_writes_every_output(demo):
    out, proc = demo
    for name in ["read_report.csv", "crosswalk_lsoa.csv", "crosswalk_ward.csv", "crosswalk_oa.csv",
                 "crosswalk_msoa.csv", "best_fit.csv", "checks.json", "layers.gpkg"]:
        assert (out / name).stat().st_size > 0, name
    assert "Traceback" not in proc.stderr


def test_demo_best_fit_layers_name_their_neighbourhood_and_units(demo):
    """Each best-fit shape in layers.gpkg says whose it is and which wards make it up, and
    the wards listed rebuild the shape."""
    out, _ = demo
    fit = gpd.read_file(out / "layers.gpkg", layer="best_fit_ward")
    wards = gpd.read_file(SAMPLES / "town.gpkg", layer="ward").set_index("ward_code")
    assert fit["neighbourhood"].notna().all() and (fit["neighbourhood"] != "").all()
    for row in fit.itertuples():
        codes = [c for c in str(row.unit_codes).split("; ") if c]
        assert len(codes) == row.n_units_selected, row.neighbourhood
        assert row.unit_names == "; ".join(wards.loc[codes, "ward_name"]), row.neighbourhood
        union = shapely.union_all(wards.loc[codes].geometry.to_numpy())
        assert abs(union.area - row.geometry.area) < 1e-6 * union.area, row.neighbourhood


def test_demo_accounts_for_every_input_feature(demo):
    out, _ = demo
    report = pd.read_csv(out / "read_report.csv")
    n_input = 0
    for name, layer in [("drawings_workshop.gpkg", "drawings"), ("drawings_online.geojson", None)]:
        n_input += len(gpd.read_file(SAMPLES / name, layer=layer))
    n_input += len(pd.read_csv(SAMPLES / "drawings_survey.csv"))
    kml = (SAMPLES / "drawings_mapmaker.kml").read_text()
    n_input += kml.count("<Placemark")
    assert len(report) == n_input
    assert set(report["status"]) <= {"kept", "repaired", "rejected"}
    # Individual drawings are published only with --include-drawings.
    import pyogrio

    assert "drawings" not in pyogrio.list_layers(out / "layers.gpkg")[:, 0]
    assert not (out / "outliers.csv").exists()


def test_demo_area_conservation(demo):
    out, _ = demo
    checks = json.loads((out / "checks.json").read_text())
    for layer in ["oa", "lsoa", "msoa", "ward"]:
        c = checks[layer]
        assert c["overlap_area_m2"] + c["uncovered_area_m2"] == pytest.approx(c["drawing_area_m2"])
        assert c["max_share_covered"] <= 1 + 1e-9
    # OAs nest in LSOAs and MSOAs: the drawings' overlap with each is the same area.
    assert checks["oa"]["overlap_area_m2"] == pytest.approx(checks["lsoa"]["overlap_area_m2"])
    assert checks["oa"]["overlap_area_m2"] == pytest.approx(checks["msoa"]["overlap_area_m2"])


def square_file(tmp_path: Path, crs=27700, name="sq.gpkg", ids=("a", "b")) -> Path:
    gdf = gpd.GeoDataFrame(
        {"code": list(ids)},
        geometry=[shapely.box(430000 + 100 * i, 420000, 430100 + 100 * i, 420100)
                  for i in range(len(ids))],
        crs=crs,
    )
    path = tmp_path / name
    gdf.to_file(path)
    return path


def test_crosswalk_command(tmp_path):
    a = square_file(tmp_path, name="a.gpkg")
    b = square_file(tmp_path, name="b.geojson", ids=("x", "y", "z"))
    out = tmp_path / "cw.csv"
    proc = run("crosswalk", str(a), str(b), "--source-id", "code", "--target-id", "code",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    assert table[["source_id", "target_id"]].values.tolist() == [["a", "x"], ["b", "y"]]
    assert table["share_of_source"].tolist() == pytest.approx([1.0, 1.0])
    assert "2 overlapping pairs" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["crosswalk", "missing.gpkg", "missing2.gpkg", "--out", "x.csv"],
         "SOURCE: file not found: missing.gpkg"),
        (["best-fit", "nope.geojson", "nope.gpkg", "--out", "x.csv"], "nope.geojson"),
        (["check-tiling", "absent.gpkg", "--out", "x.csv"], "LAYER: file not found"),
    ],
)
def test_bad_paths_give_clean_errors(tmp_path, args, needle):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")


def test_missing_id_column_names_the_fix(tmp_path):
    a = square_file(tmp_path, name="a.gpkg")
    proc = run("crosswalk", str(a), str(a), "--source-id", "nope", "--out", str(tmp_path / "o.csv"))
    assert proc.returncode == 2
    assert "nope" in proc.stderr and "code" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_crs_is_explained(tmp_path):
    csv = tmp_path / "drawn.csv"
    csv.write_text('id,wkt\n1,"POLYGON ((430000 420000, 430100 420000, 430100 420100, 430000 420000))"\n')
    proc = run("read", str(csv), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "no CRS" in proc.stderr and "--crs EPSG:27700" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_read_command_writes_report(tmp_path):
    out = tmp_path / "read"
    proc = run("read", f"{SAMPLES / 'drawings_workshop.gpkg'}:drawings", "--name-col",
               "neighbourhood", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = pd.read_csv(out / "read_report.csv")
    assert set(report["status"]) == {"kept", "repaired", "rejected"}
    assert (out / "drawings.gpkg").exists()


def test_help_and_version():
    assert run("--help").returncode == 0
    proc = run("--version")
    assert proc.returncode == 0 and "0.2.0" in proc.stdout


def test_pcn_footprints_command(tmp_path):
    out = tmp_path / "pcn"
    proc = run("pcn-footprints", "--registrations", str(SAMPLES / "registrations.csv"),
               "--membership", str(SAMPLES / "pcn_membership.csv"),
               "--lsoa", f"{SAMPLES / 'town.gpkg'}:lsoa", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    import pyogrio

    names = [n for n, _ in pyogrio.list_layers(out / "pcn_footprints.gpkg")]
    assert names == ["pcn_plurality_footprints"]
    fp = gpd.read_file(out / "pcn_footprints.gpkg", layer=names[0])
    assert fp.crs.to_epsg() == 27700 and fp.is_valid.all() and len(fp) == 3
    unassigned = pd.read_csv(out / "unassigned_practices.csv")
    assert "Y99006" in set(unassigned.iloc[:, 0].astype(str))


def test_pcn_footprints_missing_file(tmp_path):
    proc = run("pcn-footprints", "--registrations", "nope.csv", "--membership", "x.csv",
               "--lsoa", "y.gpkg", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --registrations: file not found: nope.csv")


def test_imd_summary_command(tmp_path):
    out = tmp_path / "imd.csv"
    proc = run("imd-summary", f"{SAMPLES / 'truth.gpkg'}", "--lsoa", f"{SAMPLES / 'town.gpkg'}:lsoa",
               "--imd", str(SAMPLES / "imd.csv"), "--wide", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    assert len(table) == 8
    assert table["imd_average_rank"].between(1, 32844).all()
    assert "shared by area" in proc.stdout


def test_report_command_on_samples(tmp_path):
    out = tmp_path / "rep"
    proc = run("report", f"{SAMPLES / 'drawings_workshop.gpkg'}:drawings",
               "--layer", f"lsoa={SAMPLES / 'town.gpkg'}:lsoa",
               "--layer", f"ward={SAMPLES / 'town.gpkg'}:ward",
               "--layer-population", "lsoa=population",
               "--population", f"{SAMPLES / 'town.gpkg'}:address_points",
               "--population-col", "count", "--name-col", "neighbourhood",
               "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    for name in ["index.html", "crosswalk_lsoa.csv", "crosswalk_ward.csv", "tension.csv",
                 "best_fit.csv", "read_report.csv", "layers.gpkg"]:
        assert (out / name).exists(), name
    tension = pd.read_csv(out / "tension.csv")
    assert set(tension["layer"]) == {"lsoa", "ward"}
    assert tension["tension"].between(0, 1).all()


def test_report_command_bad_layer_spec(tmp_path):
    proc = run("report", str(SAMPLES / "drawings_online.geojson"), "--layer", "lsoa",
               "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "NAME=VALUE" in proc.stderr and "Traceback" not in proc.stderr


def test_report_single_drawings_used_as_drawn_with_imd_and_budget(tmp_path):
    # One drawing per name: used exactly as drawn (no rasterised core), names are labels.
    drawn = gpd.read_file(SAMPLES / "truth.gpkg")
    name_col = next(c for c in drawn.columns if "neighbourhood" in c or "name" in c)
    src = tmp_path / "one_each.gpkg"
    drawn.to_file(src)
    out = tmp_path / "rep"
    proc = run("report", str(src), "--name-col", name_col,
               "--layer", f"lsoa={SAMPLES / 'town.gpkg'}:lsoa",
               "--layer", f"ward={SAMPLES / 'town.gpkg'}:ward",
               "--imd", str(SAMPLES / "imd.csv"), "--budget", "100000",
               "--floor-share", "0.1", "--gradient", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("report written") == 1
    assert "\r" not in proc.stderr  # no progress bars in a log
    html = (out / "index.html").read_text()
    assert "consensus core" not in html
    assert (f"{len(drawn)} neighbourhoods are drawn by one person only; the report uses each "
            "such drawing as it is" in html)
    areas = gpd.read_file(out / "layers.gpkg", layer="areas")
    assert len(areas) == len(drawn)
    want = drawn.set_index(name_col).geometry
    got = areas.set_index(areas.columns[0]).geometry
    for name in want.index:
        assert got.loc[name].symmetric_difference(want.loc[name]).area < 1e-6, name
    alloc = pd.read_csv(out / "allocation.csv")
    assert alloc["allocation"].sum() == 100_000 and "per_head" in alloc.columns
    # Ward names (auto-detected ward_name column), not codes, in the sentences.
    wards = gpd.read_file(SAMPLES / "town.gpkg", layer="ward")
    assert any(f"inside one ward ({n})" in html or f"wards: {n} " in html
               for n in wards["ward_name"])
    assert "fictional town" not in html


@pytest.mark.parametrize("extra, needle", [
    (["--budget", "1000"], "--budget"),
    (["--label", "pcn=name"], "--label"),
    (["--clip-to", "E99999999"], "--clip-to"),
    (["--imd", str(SAMPLES / "imd.csv"), "--imd-layer", "nope"], "--imd-layer"),
])
def test_report_option_errors_are_plain(tmp_path, extra, needle):
    proc = run("report", str(SAMPLES / "drawings_online.geojson"),
               "--layer", f"lsoa={SAMPLES / 'town.gpkg'}:lsoa", *extra,
               "--out", str(tmp_path / "x"))
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_report_names_the_imd_option_when_the_file_has_no_indices(tmp_path):
    """A population-only file given as --imd is refused in the CLI's words, not Python's."""
    pop_only = tmp_path / "population.csv"
    pop_only.write_text("LSOA code (2011),Total population: mid 2015 (excluding prisoners)\n"
                        "E01990001,1500\n")
    proc = run("report", str(SAMPLES / "drawings_online.geojson"), "--name-col", "neighbourhood",
               "--layer", f"lsoa={SAMPLES / 'town.gpkg'}:lsoa", "--imd", str(pop_only),
               "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --imd: ") and "path_or_dir" not in proc.stderr, last


@pytest.mark.parametrize("kind", ["csv", "points"])
@pytest.mark.parametrize("col, needle", [
    (None, "cannot tell which column holds the counts"),
    ("nope", "no column 'nope'"),
])
def test_report_population_column_errors_match_for_both_kinds(tmp_path, kind, col, needle):
    """A CSV keyed by LSOA code and a layer of points fail alike when the counts are unclear."""
    lsoa = gpd.read_file(SAMPLES / "town.gpkg", layer="lsoa")
    code = next(c for c in lsoa.columns if str(lsoa[c].iloc[0]).startswith("E0"))
    if kind == "csv":
        path = tmp_path / "pop.csv"
        pd.DataFrame({"code": lsoa[code], "men": 10, "women": 12}).to_csv(path, index=False)
        spec = str(path)
    else:
        points = gpd.GeoDataFrame({"men": [10, 20], "women": [12, 22]},
                                  geometry=lsoa.geometry.iloc[:2].representative_point(),
                                  crs=lsoa.crs)
        points.to_file(tmp_path / "pop.gpkg", layer="people")
        spec = f"{tmp_path / 'pop.gpkg'}:people"
    extra = [] if col is None else ["--population-col", col]
    proc = run("report", str(SAMPLES / "drawings_online.geojson"), "--name-col", "neighbourhood",
               "--layer", f"lsoa={SAMPLES / 'town.gpkg'}:lsoa", "--population", spec, *extra,
               "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --population-col: ") and needle in last, last
    assert "men" in last and "women" in last  # the choices are named


def test_report_refuses_a_wrong_imd_file_before_reading_the_drawings(tmp_path):
    """The indices are read first: a wrong --imd is named even when the drawings are broken
    too, so a planner hears of it in seconds, not after the slow layers are read."""
    pop_only = tmp_path / "population.csv"
    pop_only.write_text("LSOA code (2011),Total population: mid 2015 (excluding prisoners)\n"
                        "E01990001,1500\n")
    broken = tmp_path / "drawings.geojson"
    broken.write_text("this is not GeoJSON")
    proc = run("report", str(broken), "--name-col", "neighbourhood",
               "--layer", f"lsoa={SAMPLES / 'town.gpkg'}:lsoa", "--imd", str(pop_only),
               "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --imd: "), last
