"""The bundled fictional sample town: deterministic, realistic, and carrying its planted faults."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from nbhd_geo import samples
from nbhd_geo.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
def _generator_module():
    """The generator itself, so the list of files it writes is stated once."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_samples_generate", SAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATED = list(_generator_module().OUT_FILES)
N_IMD = 32_844
# Planted faults in drawings_workshop.gpkg (mirrors the table in data/samples/README.md).
FAULTS = {
    "bow_tie": "WS-032",
    "clockwise": "WS-003",
    "empty_name": "WS-021",
    "null_name": "WS-043",
    "duplicate_id": "WS-006",
    "junk_rectangle": "WS-063",
    "stray_point": "WS-064",
    "null_geometry": "WS-065",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def town() -> dict[str, gpd.GeoDataFrame]:
    path = SAMPLES / "town.gpkg"
    return {name: gpd.read_file(path, layer=name) for name in pyogrio.list_layers(path)[:, 0]}


@pytest.fixture(scope="module")
def workshop() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLES / "drawings_workshop.gpkg", layer="drawings")


@pytest.fixture(scope="module")
def imd() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "imd.csv", encoding="utf-8-sig", thousands=",")


# --------------------------------------------------------------------------- determinism


def test_regenerating_gives_byte_identical_files(tmp_path):
    subprocess.run(
        [sys.executable, str(SAMPLES / "generate.py"), "--out", str(tmp_path), "--quiet"],
        check=True,
        timeout=300,
    )
    differ = [f for f in GENERATED if _sha(tmp_path / f) != _sha(SAMPLES / f)]
    assert not differ, f"regenerated files differ from the committed ones: {differ}"


def test_samples_are_small():
    total = sum((SAMPLES / f).stat().st_size for f in GENERATED)
    assert total < 2_000_000


# --------------------------------------------------------------------------- the town


def test_layers_crs_validity_and_orientation(town):
    assert set(town) == {"oa", "lsoa", "msoa", "ward", "lad", "practices", "address_points"}
    for name, gdf in town.items():
        assert gdf.crs.to_epsg() == 27700, name
        if name in {"practices", "address_points"}:
            assert (gdf.geom_type == "Point").all(), name
            continue
        assert (gdf.geom_type == "Polygon").all(), name
        assert gdf.is_valid.all(), name
        assert shapely.is_ccw(gdf.exterior).all(), f"{name}: exterior rings must be CCW"
    xmin, ymin, xmax, ymax = town["lad"].total_bounds
    assert 440_000 < xmin < xmax < 475_000 and 370_000 < ymin < ymax < 400_000


def test_codes_are_fictional_and_unique(town):
    patterns = {
        ("oa", "oa_code"): r"E00990\d{3}",
        ("lsoa", "lsoa_code"): r"E01990\d{3}",
        ("msoa", "msoa_code"): r"E02990\d{3}",
        ("ward", "ward_code"): r"E05990\d{3}",
        ("lad", "lad_code"): r"E06990001",
        ("practices", "practice_code"): r"Y99\d{3}",
    }
    for (layer, col), pat in patterns.items():
        codes = town[layer][col]
        assert codes.is_unique, (layer, col)
        assert codes.str.fullmatch(pat).all(), (layer, col)
    assert town["lsoa"]["lsoa_name"].str.fullmatch(r"Brackenfield \d{3}[A-F]").all()


def test_populations_in_range(town):
    oa, lsoa, msoa = town["oa"], town["lsoa"], town["msoa"]
    assert 40_000 <= oa["population"].sum() <= 60_000
    assert 150 <= len(oa) <= 200
    assert oa["population"].between(100, 625).all()
    assert (oa["population"] / oa["households"]).between(1.6, 3.2).all()
    assert lsoa["population"].between(1_000, 3_000).all()
    assert msoa["population"].between(5_000, 15_000).all()
    assert 6 <= len(town["ward"]) <= 8
    assert len(town["practices"]) == 8
    sums = oa.groupby("lsoa_code")["population"].sum()
    assert (lsoa.set_index("lsoa_code")["population"] == sums).all()


def test_hierarchy_nests_and_tiles_exactly(town):
    oa, lsoa, msoa, lad = town["oa"], town["lsoa"], town["msoa"], town["lad"]
    assert oa.groupby("lsoa_code").size().between(4, 6).all()
    assert lsoa.groupby("msoa_code").size().between(4, 6).all()
    assert (oa.groupby("lsoa_code")["msoa_code"].nunique() == 1).all()
    lad_area = lad.area.sum()
    for gdf in (oa, lsoa, msoa, town["ward"]):
        assert gdf.area.sum() == pytest.approx(lad_area, rel=1e-9)
    # Parents are exactly the union of their children (shared edges coincide).
    for parent, key, child in ((lsoa, "lsoa_code", oa), (msoa, "msoa_code", lsoa)):
        for code, geom in zip(parent[key], parent.geometry, strict=True):
            union = shapely.union_all(child.geometry[child[key] == code].values)
            assert union.geom_type == "Polygon", code
            assert shapely.equals(union, geom), code
            assert union.area == pytest.approx(geom.area, rel=1e-9)
    # No overlaps between OAs: the union's area is the sum of the parts.
    assert shapely.union_all(oa.geometry.values).area == pytest.approx(lad_area, rel=1e-9)


def test_wards_do_not_nest_in_lsoas(town):
    oa = town["oa"]
    split = (oa.groupby("lsoa_code")["ward_code"].nunique() > 1).sum()
    assert split >= 3
    assert set(oa["ward_code"]) == set(town["ward"]["ward_code"])
    for code, geom in zip(town["ward"]["ward_code"], town["ward"].geometry, strict=True):
        assert shapely.equals(shapely.union_all(oa.geometry[oa["ward_code"] == code].values), geom)


def test_address_points_sum_to_oa_population(town):
    pts, oa = town["address_points"], town["oa"]
    assert pts["id"].is_unique and pts["postcode"].is_unique
    assert pts.groupby("oa_code")["count"].size().min() >= 3
    sums = pts.groupby("oa_code")["count"].sum()
    assert (oa.set_index("oa_code")["population"] == sums.reindex(oa["oa_code"])).all()
    joined = gpd.sjoin(pts, oa[["oa_code", "geometry"]], predicate="within")
    assert (joined["oa_code_left"] == joined["oa_code_right"]).all() and len(joined) == len(pts)


# --------------------------------------------------------------------------- NHS


def test_registrations_and_pcns(town):
    reg = pd.read_csv(SAMPLES / "registrations.csv")
    mem = pd.read_csv(SAMPLES / "pcn_membership.csv")
    assert list(reg.columns) == ["practice_code", "lsoa_code", "patients"]
    assert list(mem.columns) == ["practice_code", "pcn_code", "pcn_name"]
    pop = town["oa"]["population"].sum()
    assert reg["patients"].sum() == pytest.approx(pop, rel=0.05)
    town_lsoas = set(town["lsoa"]["lsoa_code"])
    outside = set(reg["lsoa_code"]) - town_lsoas
    assert 1 <= len(outside) <= 10
    assert set(reg["lsoa_code"]) >= town_lsoas
    # 2-3 practices hold most of each LSOA's patients.
    inside = reg[reg["lsoa_code"].isin(town_lsoas)]
    top3 = inside.groupby("lsoa_code")["patients"].apply(lambda s: s.nlargest(3).sum() / s.sum())
    assert top3.median() > 0.6
    # One practice has no PCN membership row (a real-world fault).
    missing = set(town["practices"]["practice_code"]) - set(mem["practice_code"])
    assert len(missing) == 1
    assert 2 <= mem["pcn_code"].nunique() <= 3
    # Plurality footprints interleave: at least one PCN is in several pieces.
    top = inside.sort_values("patients").groupby("lsoa_code").tail(1)
    top = top.merge(mem, on="practice_code", how="left")
    lsoa = town["lsoa"].merge(top[["lsoa_code", "pcn_code"]], on="lsoa_code")
    pieces = lsoa.dissolve("pcn_code").geom_type
    assert (pieces == "MultiPolygon").any()


# --------------------------------------------------------------------------- deprivation


def test_imd_headers_match_mhclg(imd):
    raw = (SAMPLES / "imd.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "real MHCLG files start with a UTF-8 BOM"
    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    for col in [
        "LSOA code (2011)",
        "LSOA name (2011)",
        "Local Authority District code (2019)",
        "Local Authority District name (2019)",
        "Index of Multiple Deprivation (IMD) Score",
        "Index of Multiple Deprivation (IMD) Rank",
        "Index of Multiple Deprivation (IMD) Decile",
        "Income Score (rate)",
        "Employment Score (rate)",
        "Income Rank (where 1 is most deprived)",
        "Living Environment Decile (where 1 is most deprived 10% of LSOAs)",
        "Total population: mid 2015 (excluding prisoners)",
        "Working age population 18-59/64: for use with Employment Deprivation Domain "
        "(excluding prisoners)",
    ]:
        assert col in header
    assert re.search(r',"\d{1,2},\d{3}",', raw.decode("utf-8-sig")), "thousands separators"


def test_imd_values_consistent(imd, town):
    assert set(imd["LSOA code (2011)"]) == set(town["lsoa"]["lsoa_code"])
    rank = imd["Index of Multiple Deprivation (IMD) Rank"]
    dec = imd["Index of Multiple Deprivation (IMD) Decile"]
    assert rank.between(1, N_IMD).all() and rank.is_unique
    assert (dec == np.ceil(10 * rank / N_IMD)).all()
    for col in [c for c in imd.columns if "Rank (where" in c]:
        dcol = col.replace(
            "Rank (where 1 is most deprived)", "Decile (where 1 is most deprived 10% of LSOAs)"
        )
        assert (imd[dcol] == np.ceil(10 * imd[col] / N_IMD)).all(), col
    by_rank = imd.sort_values("Index of Multiple Deprivation (IMD) Rank")
    assert by_rank["Index of Multiple Deprivation (IMD) Score"].is_monotonic_decreasing
    share_d1 = (dec == 1).mean()
    assert 0.1 <= share_d1 <= 0.2
    # Gradient: deprived east, affluent west.
    x = town["lsoa"].set_index("lsoa_code").geometry.centroid.x
    r = rank.set_axis(imd["LSOA code (2011)"]).reindex(x.index)
    assert np.corrcoef(x, r)[0, 1] < -0.4
    pop = imd["Total population: mid 2015 (excluding prisoners)"]
    parts = imd.filter(like="mid 2015").drop(columns=pop.name).sum(axis=1)
    assert (parts == pop).all()


# --------------------------------------------------------------------------- drawings


def test_workshop_layer_is_mixed_geometry():
    info = pyogrio.read_info(SAMPLES / "drawings_workshop.gpkg", layer="drawings")
    assert info["geometry_type"] == "Unknown"  # GeoPackage GEOMETRY
    assert info["crs"] == "EPSG:27700"


def test_workshop_faults_present(workshop):
    by_id = workshop.drop_duplicates("drawing_id", keep=False).set_index("drawing_id")
    bow = by_id.geometry[FAULTS["bow_tie"]]
    assert not bow.is_valid and "Self-intersection" in shapely.is_valid_reason(bow)
    cw = by_id.geometry[FAULTS["clockwise"]]
    assert cw.is_valid and not shapely.is_ccw(cw.exterior)
    assert by_id.loc[FAULTS["empty_name"], "neighbourhood"] == ""
    assert pd.isna(by_id.loc[FAULTS["null_name"], "neighbourhood"])
    assert (workshop["drawing_id"] == FAULTS["duplicate_id"]).sum() == 2
    dups = workshop.geometry[workshop["drawing_id"] == FAULTS["duplicate_id"]]
    assert not dups.iloc[0].equals(dups.iloc[1])
    rect = by_id.geometry[FAULTS["junk_rectangle"]]
    assert rect.area == pytest.approx(rect.envelope.area)
    lad = gpd.read_file(SAMPLES / "town.gpkg", layer="lad").geometry.iloc[0]
    assert rect.intersection(lad).area > 0.4 * lad.area
    assert by_id.geometry[FAULTS["stray_point"]].geom_type == "Point"
    assert by_id.geometry[FAULTS["null_geometry"]] is None
    # Every other drawing is a valid CCW polygon.
    clean = workshop[~workshop["drawing_id"].isin(FAULTS.values())]
    assert (clean.geom_type == "Polygon").all() and clean.is_valid.all()
    assert shapely.is_ccw(clean.exterior).all()
    assert shapely.get_num_coordinates(clean.geometry).between(50, 302).all()


def test_other_drawing_files(workshop):
    online = gpd.read_file(SAMPLES / "drawings_online.geojson")
    assert online.crs.to_epsg() == 4326
    assert {"drawing_id", "neighbourhood", "email"} <= set(online.columns)
    assert online.is_valid.all() and online["drawing_id"].is_unique
    raw = json.loads((SAMPLES / "drawings_online.geojson").read_text())
    assert "crs" not in raw  # RFC 7946
    xmin, ymin, xmax, ymax = online.total_bounds
    assert -2.5 < xmin < xmax < 0 and 52.5 < ymin < ymax < 54.5

    kml = gpd.read_file(SAMPLES / "drawings_mapmaker.kml")
    assert 2 <= len(kml) <= 4 and kml.is_valid.all()
    survey = pd.read_csv(SAMPLES / "drawings_survey.csv")
    assert list(survey.columns) == ["drawing_id", "neighbourhood", "comments", "wkt"]
    geoms = gpd.GeoSeries.from_wkt(survey["wkt"], crs=27700)
    assert geoms.is_valid.all() and (geoms.geom_type == "Polygon").all()

    truth = gpd.read_file(SAMPLES / "truth.gpkg", layer="neighbourhood_truth")
    assert 6 <= len(truth) <= 10 and truth.is_valid.all()
    overlaps = sum(
        a.intersection(b).area > 0
        for i, a in enumerate(truth.geometry)
        for b in truth.geometry[i + 1 :]
    )
    assert overlaps >= 3, "some neighbourhoods must overlap (disputed zones)"
    names = pd.concat(
        [workshop["neighbourhood"], online["neighbourhood"], survey["neighbourhood"], kml["Name"]]
    )
    counts = names[names.isin(truth["neighbourhood"])].value_counts()
    assert set(counts.index) == set(truth["neighbourhood"])
    assert counts.min() >= 3 and counts.max() <= 31 and counts.nunique() >= 5


# --------------------------------------------------------------------------- datasets API


def test_datasets_api_paths_exist():
    names = samples.available()
    assert names == sorted(names)
    assert {
        "town",
        "drawings_workshop",
        "drawings_online",
        "drawings_mapmaker",
        "drawings_survey",
        "registrations",
        "pcn_membership",
        "imd",
    } <= set(names)
    for name in names:
        path = samples.get_path(name)
        assert path.is_file(), name
        assert path.name in GENERATED
        assert samples.describe(name)


def test_datasets_api_unknown_name():
    with pytest.raises(InputError, match="drawings_workshop") as err:
        samples.get_path("towns")
    assert "towns" in str(err.value)
    with pytest.raises(InputError):
        samples.describe("nope")
