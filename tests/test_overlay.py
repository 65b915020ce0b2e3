"""crosswalk: exact numbers on handmade squares, properties, parity with overlay and tobler."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbhd_geo import CRSError, ValidationError
from nbhd_geo.overlay.crosswalk import crosswalk, pair_areas

ENGINES = ["exact", "geos"]


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


def gdf(geoms, ids=None, crs=27700, col="id"):
    ids = ids if ids is not None else [f"g{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({col: ids}, geometry=list(geoms), crs=crs)


def grid(nx, ny, size=10.0, x0=0.0, y0=0.0):
    return [
        shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
        for j in range(ny)
        for i in range(nx)
    ]


def test_square_split_70_30(engine):
    drawn = gdf([shapely.box(0, 0, 10, 10)], ["Oakfield"])
    wards = gdf([shapely.box(0, 0, 7, 10), shapely.box(7, 0, 20, 10)], ["W1", "W2"])
    t = crosswalk(drawn, wards, source_id="id", target_id="id", engine=engine).table
    assert t["target_id"].tolist() == ["W1", "W2"]
    assert t["area_m2"].tolist() == pytest.approx([70.0, 30.0], rel=1e-12)
    assert t["share_of_source"].tolist() == pytest.approx([0.7, 0.3], rel=1e-12)
    assert t["share_of_target"].tolist() == pytest.approx([1.0, 30 / 130], rel=1e-12)
    assert t["area_m2"].dtype == np.float64


def test_touching_pairs_are_excluded(engine):
    a = gdf([shapely.box(0, 0, 10, 10)])
    b = gdf([shapely.box(10, 0, 20, 10), shapely.box(10, 10, 20, 20), shapely.box(5, 5, 15, 15)])
    t = crosswalk(a, b, source_id="id", target_id="id", engine=engine).table
    assert t["target_id"].tolist() == ["g2"]
    assert t["area_m2"].iloc[0] == pytest.approx(25.0, rel=1e-12)


def test_identical_and_nested_and_holes(engine):
    outer = shapely.box(0, 0, 100, 100).difference(shapely.box(40, 40, 60, 60))  # hole 400
    a = gdf([outer, shapely.box(10, 10, 20, 20)], ["ring", "inner"])
    b = gdf([outer, shapely.box(0, 0, 50, 100), shapely.box(45, 45, 55, 55)], ["same", "west", "mid"])
    t = crosswalk(a, b, source_id="id", target_id="id", engine=engine).table
    got = {(r.source_id, r.target_id): r.area_m2 for r in t.itertuples()}
    assert got == pytest.approx(
        {
            ("ring", "same"): 9600.0,
            ("ring", "west"): 5000.0 - 200.0,
            ("inner", "same"): 100.0,
            ("inner", "west"): 100.0,
        },
        rel=1e-12,
    )


def test_multipolygon_and_t_junctions(engine):
    # Target edges meet the source edge mid-way (T-junctions) and a multipolygon source.
    mp = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    a = gdf([mp], ["two-part"])
    b = gdf(grid(6, 2, size=5.0), None)
    cw = crosswalk(a, b, source_id="id", target_id="id", engine=engine)
    assert cw.table["area_m2"].sum() == pytest.approx(200.0, rel=1e-12)
    assert len(cw.table) == 8
    assert cw.coverage("source")["share_covered"].iloc[0] == pytest.approx(1.0, abs=1e-12)


def test_ids_preserved_inputs_not_mutated(engine):
    a = gdf([shapely.box(0, 0, 10, 10)], [101], crs=27700)
    b = gdf(grid(2, 1, 10.0, x0=-5.0), [7, 8])
    a_before, b_before = a.copy(), b.copy()
    t = crosswalk(a, b, source_id="id", target_id="id", engine=engine).table
    assert t["source_id"].tolist() == [101, 101]
    assert t["target_id"].tolist() == [7, 8]
    pd.testing.assert_frame_equal(a, a_before)
    pd.testing.assert_frame_equal(b, b_before)


def test_slivers_flagged_not_dropped(engine):
    a = gdf([shapely.box(0, 0, 10, 10)])
    b = gdf([shapely.box(0, 0, 9.95, 10), shapely.box(9.95, 0, 20, 10)])
    cw = crosswalk(a, b, source_id="id", target_id="id", sliver_tol_m2=1.0, engine=engine)
    assert cw.table["is_sliver"].tolist() == [False, True]
    s = cw.summary()
    assert s["slivers"] == 1
    assert s["sliver_area_m2"] == pytest.approx(0.5, rel=1e-9)
    assert s["overlap_area_m2"] == pytest.approx(100.0, rel=1e-12)


def test_missing_crs_and_geographic_working_crs_refused():
    a = gdf([shapely.box(0, 0, 10, 10)], crs=None)
    b = gdf([shapely.box(0, 0, 10, 10)])
    with pytest.raises(CRSError, match=r"source: has no CRS.*Fix: set it"):
        crosswalk(a, b)
    with pytest.raises(CRSError, match="geographic"):
        crosswalk(b, b, crs="EPSG:4326")


def test_invalid_and_duplicate_inputs_collected():
    bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    a = gdf([bow, shapely.box(0, 0, 1, 1), shapely.Point(0, 0)], ["bow", "dup", "dup"])
    with pytest.raises(ValidationError) as err:
        crosswalk(a, gdf([shapely.box(0, 0, 1, 1)]), source_id="id")
    msg = str(err.value)
    assert "duplicate ids: 'dup'" in msg
    assert "invalid geometry: 'bow'" in msg
    assert "not a polygon: 'dup'" in msg
    assert "read_layer" in msg


def test_reprojects_inputs_in_degrees(engine):
    a27700 = gdf([shapely.box(430000, 420000, 431000, 421000)])
    b = gdf(grid(2, 2, 600.0, x0=429900, y0=419900))
    a4326 = a27700.to_crs(4326)
    t1 = crosswalk(a27700, b, engine=engine).table
    t2 = crosswalk(a4326, b, engine=engine).table
    assert t1["target_id"].tolist() == t2["target_id"].tolist()
    # Same as reprojecting by hand, to the last bit ...
    t3 = crosswalk(a4326.to_crs(27700), b, engine=engine).table
    pd.testing.assert_frame_equal(t2, t3)
    # ... and the 27700 -> 4326 -> 27700 round trip moves vertices by under a millimetre.
    np.testing.assert_allclose(t1["share_of_source"], t2["share_of_source"], atol=1e-5)


# --- properties ---------------------------------------------------------------------------

coords = st.integers(min_value=-50, max_value=50)


@st.composite
def polygons(draw):
    """Random valid polygons: star-shaped around a centre, integer or float vertices."""
    cx, cy = draw(coords), draw(coords)
    n = draw(st.integers(3, 9))
    angles = np.sort(draw(st.lists(st.floats(0, 2 * np.pi, exclude_max=True),
                                   min_size=n, max_size=n, unique=True)))
    radii = np.array(draw(st.lists(st.floats(1, 40), min_size=n, max_size=n)))
    pts = np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)]
    # Integer vertices (exact degeneracies galore) or millimetre ones, like real data.
    pts = np.round(pts) if draw(st.booleans()) else np.round(pts, 3)
    poly = shapely.make_valid(shapely.Polygon(pts))
    parts = [p for p in shapely.get_parts(poly) if p.geom_type == "Polygon" and p.area >= 0.5]
    if not parts:
        return shapely.box(cx, cy, cx + 1, cy + 1)
    return max(parts, key=lambda p: p.area)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(polygons(), min_size=1, max_size=4), st.integers(1, 5))
def test_shares_over_complete_tiling_sum_to_one(polys, n):
    src = gdf(polys)
    tiles = gdf(grid(n, n, 200.0 / n, x0=-100, y0=-100))
    for engine in ENGINES:
        cw = crosswalk(src, tiles, engine=engine)
        np.testing.assert_allclose(cw.coverage()["share_covered"], 1.0, atol=1e-9)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(polygons(), min_size=1, max_size=4), st.lists(polygons(), min_size=1, max_size=4))
def test_symmetry_orientation_and_parity_with_geos(pa, pb):
    a, b = np.array(pa, dtype=object), np.array(pb, dtype=object)
    ref = {(i, j): v for i, j, v in zip(*pair_areas(a, b, engine="geos"), strict=True)}
    ia, ib, area = pair_areas(a, b, engine="exact")
    got = dict(zip(zip(ia.tolist(), ib.tolist(), strict=True), area, strict=True))
    scale = max(max(p.area for p in pa), max(p.area for p in pb))
    for key in set(ref) | set(got):
        assert abs(ref.get(key, 0.0) - got.get(key, 0.0)) <= 1e-9 * scale
    # area(i ∩ j) the same both ways
    jb, ja, back = pair_areas(b, a, engine="exact")
    swapped = dict(zip(zip(ja.tolist(), jb.tolist(), strict=True), back, strict=True))
    for key in set(got) | set(swapped):
        assert abs(swapped.get(key, 0.0) - got.get(key, 0.0)) <= 1e-9 * scale
    # reversed rings and shifted start vertex change nothing
    flipped = np.array([shapely.reverse(p) for p in pa], dtype=object)
    rolled = np.array(
        [shapely.Polygon(np.roll(np.asarray(p.exterior.coords)[:-1], 1, axis=0)) for p in pb],
        dtype=object,
    )
    ka, kb, karea = pair_areas(flipped, rolled, engine="exact")
    other = dict(zip(zip(ka.tolist(), kb.tolist(), strict=True), karea, strict=True))
    for key in set(got) | set(other):
        assert abs(other.get(key, 0.0) - got.get(key, 0.0)) <= 1e-9 * scale


# --- real data ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wakefield():
    from nbhd_geo.io.read import read_layer
    from tests.conftest import shared_path

    lsoa, _ = read_layer(shared_path("ons", "wakefield", "lsoa11.geojson"), id_col="LSOA11CD")
    wards, _ = read_layer(shared_path("ons", "wakefield", "wards13.geojson"), id_col="WD13CD")
    return lsoa.reset_index(), wards.reset_index()


@pytest.mark.shared
def test_parity_with_geopandas_overlay_wakefield(wakefield):
    lsoa, wards = wakefield
    cw = crosswalk(lsoa, wards, source_id="LSOA11CD", target_id="WD13CD")
    ov = gpd.overlay(lsoa[["LSOA11CD", "geometry"]], wards[["WD13CD", "geometry"]],
                     how="intersection", keep_geom_type=True)
    ov["area"] = ov.area
    ov = ov[ov["area"] > 0].groupby(["LSOA11CD", "WD13CD"])["area"].sum()
    ours = cw.table.set_index(["source_id", "target_id"])["area_m2"]
    joined = pd.concat([ours, ov], axis=1, keys=["ours", "overlay"]).fillna(0.0)
    src_area = lsoa.set_index("LSOA11CD").area
    share_diff = (joined["ours"] - joined["overlay"]) / src_area.reindex(
        joined.index.get_level_values(0)
    ).to_numpy()
    assert len(ours) > 206
    assert share_diff.abs().max() <= 1e-9


@pytest.mark.shared
def test_parity_with_tobler_wakefield(wakefield):
    tobler = pytest.importorskip("tobler", reason="tobler is a benchmark extra")
    from tobler.area_weighted.area_interpolate import _area_tables_binning

    lsoa, wards = wakefield
    table = _area_tables_binning(lsoa, wards, "auto").tocoo()
    tob = pd.Series(
        np.asarray(table.data, dtype=float),
        index=pd.MultiIndex.from_arrays(
            [lsoa["LSOA11CD"].to_numpy()[table.row], wards["WD13CD"].to_numpy()[table.col]]
        ),
    )
    tob = tob[tob > 0]
    cw = crosswalk(lsoa, wards, source_id="LSOA11CD", target_id="WD13CD")
    ours = cw.table.set_index(["source_id", "target_id"])["area_m2"]
    both = pd.concat([ours, tob], axis=1, keys=["ours", "tobler"]).fillna(0.0)
    rel = (both["ours"] - both["tobler"]).abs() / lsoa.set_index("LSOA11CD").area.reindex(
        both.index.get_level_values(0)
    ).to_numpy()
    assert tobler is not None
    assert rel.max() <= 1e-6  # tobler stores float32


# ---------------------------------------------------------------------------------------------
# Candidate-first preparation and input checks (issue #17)
# ---------------------------------------------------------------------------------------------


def test_candidates_validated_and_cached_layers_follow_changes(engine):
    # one square against a layer: only polygons whose box meets it are checked for validity
    # (every one for type, emptiness and duplicate ids)
    far_bow = shapely.Polygon([(100, 100), (110, 110), (110, 100), (100, 130), (100, 100)])
    assert not far_bow.is_valid and far_bow.area > 0
    layer = gdf([shapely.box(0, 0, 5, 10), shapely.box(5, 0, 10, 10), far_bow])
    drawn = gdf([shapely.box(2, 2, 8, 8)], ["d"])
    t = crosswalk(drawn, layer, target_id="id", engine=engine).table
    assert t["target_id"].tolist() == ["g0", "g1"]
    assert t["area_m2"].tolist() == [18.0, 18.0]
    # a bow-tie among the candidates is refused, named by id
    near_bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 12), (0, 0)])
    assert not near_bow.is_valid
    bad = gdf([near_bow, shapely.box(5, 0, 10, 10)])
    with pytest.raises(ValidationError, match=r"(?s)target: .*invalid geometry: 'g0'"):
        crosswalk(drawn, bad, target_id="id", engine=engine)
    # the same layer object crossed again after one geometry is replaced in place: the
    # remembered facts (areas, search tree) must not be reused
    layer.loc[1, "geometry"] = shapely.box(5, 0, 20, 10)
    cw = crosswalk(drawn, layer, target_id="id", engine=engine)
    assert cw.target_area.tolist()[:2] == [50.0, 150.0]
    layer.loc[0, "geometry"] = shapely.box(50, 50, 60, 60)
    t = crosswalk(drawn, layer, target_id="id", engine=engine).table
    assert t["target_id"].tolist() == ["g1"]


def test_areas_measured_for_partners_and_every_polygon_on_request(engine):
    from nbhd_geo.io.layers import layer_facts

    # one square against a row of 40 unit-wide boxes of growing height: the table needs the
    # areas of its 3 partners only; the whole layer's areas are measured when asked for
    layer = gdf([shapely.box(i, 0, i + 1, 1 + i) for i in range(40)])
    drawn = gdf([shapely.box(10.5, 0, 12.5, 1)], ["d"])
    cw = crosswalk(drawn, layer, source_id="id", target_id="id", engine=engine)
    facts = layer_facts(np.asarray(layer.geometry.array, dtype=object))
    assert facts._area is None  # nothing but the partners measured so far
    t = cw.table
    assert t["target_id"].tolist() == ["g10", "g11", "g12"]
    assert t["area_m2"].tolist() == pytest.approx([0.5, 1.0, 0.5], rel=1e-12)
    assert t["share_of_target"].tolist() == pytest.approx([0.5 / 11, 1 / 12, 0.5 / 13], rel=1e-12)
    assert t["share_of_source"].tolist() == pytest.approx([0.25, 0.5, 0.25], rel=1e-12)
    # asked for, every polygon's area, in input order, partner or not
    assert cw.target_area.tolist() == [1.0 + i for i in range(40)]
    assert cw.target_area.index.tolist() == [f"g{i}" for i in range(40)]
    assert cw.summary()["target_area_m2"] == sum(1.0 + i for i in range(40))
    cov = cw.coverage("target")
    assert cov["overlap_m2"].sum() == pytest.approx(2.0, rel=1e-12)
    assert (cov["n_partners"] > 0).sum() == 3
    assert facts.area_at(np.array([39, 0, 39])).tolist() == [40.0, 1.0, 40.0]


def test_crs_named_by_the_layer_is_taken_as_it_is_and_others_are_compared(tmp_path):
    from pyproj import CRS

    from nbhd_geo.io.layers import authority_code, prepare_polygons

    boxes = [shapely.box(430000, 420000, 431000, 421000)]
    # written and read back: the CRS comes as PROJJSON naming EPSG:27700 at its root
    gdf(boxes).to_parquet(tmp_path / "a.parquet")
    a = gpd.read_parquet(tmp_path / "a.parquet")
    assert a.crs.srs.startswith("{") and authority_code(a.crs) == "EPSG:27700"
    prepared = prepare_polygons(a, argument="a")
    assert prepared.frame is a and prepared.crs is a.crs  # taken as it is: no copy
    cw = crosswalk(a, gdf(boxes))
    assert cw.crs == "EPSG:27700" and cw.table["area_m2"].tolist() == [1e6]
    # the same definition without its name is compared, found equal, not reprojected
    definition = CRS("EPSG:27700").to_json_dict()
    del definition["id"]
    unnamed = CRS.from_json_dict(definition)
    assert authority_code(unnamed) is None
    b = gdf(boxes).set_crs(unnamed, allow_override=True)
    assert prepare_polygons(b, argument="b").frame is b
    # another projected CRS is reprojected; a geographic working CRS is still refused
    c = gdf(boxes).to_crs(3857)
    assert prepare_polygons(c, argument="c").frame.crs.to_epsg() == 27700
    with pytest.raises(CRSError, match=r"crs: EPSG:4326 is geographic"):
        prepare_polygons(a.to_crs(4326), argument="a", crs="EPSG:4326")
    assert authority_code(27700) == "EPSG:27700" and authority_code("not a crs") is None


@pytest.mark.parametrize("engine_name", ENGINES)
def test_pair_areas_validates(engine_name):
    bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    # a "hole" that loops back outside its shell: counted twice if not refused
    inverted = shapely.Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], [[(5, 5), (15, 5), (15, 6), (5, 6)]]
    )
    other = np.array([shapely.box(0, 0, 20, 20)])
    for geom in (bow, inverted):
        assert not geom.is_valid
        with pytest.raises(ValidationError, match=r"(?s)a: .*invalid geometry at positions: 1"):
            pair_areas(np.array([shapely.box(0, 0, 1, 1), geom]), other, engine=engine_name)
    with pytest.raises(ValidationError, match=r"(?s)b: .*not a polygon at positions: 0"):
        pair_areas(other, np.array([shapely.Point(1, 1)]), engine=engine_name)
    ia, ib, area = pair_areas(other, np.array([shapely.box(5, 5, 25, 25)]), engine=engine_name)
    assert (ia.tolist(), ib.tolist(), area.tolist()) == ([0], [0], [225.0])


@pytest.mark.shared
def test_tiny_real_overlap_is_kept_and_flagged_in_both_orders(shared):
    # issue #17: LSOA21 E01019293 and MSOA21 E02004006 overlap by 2.24e-6 m² (GEOS agrees to
    # 2e-4 relative); the old error bound dropped it in one argument order
    lsoa = gpd.read_file(
        shared("ons", "ew2021", "boundaries_lsoa21.gpkg"), where="lsoa21_code='E01019293'"
    ).to_crs(27700)
    msoa = gpd.read_file(
        shared("ons", "ew2021", "boundaries_msoa21.gpkg"), where="msoa21_code='E02004006'"
    ).to_crs(27700)
    geos = shapely.area(shapely.intersection(lsoa.geometry.iloc[0], msoa.geometry.iloc[0]))
    one = crosswalk(lsoa, msoa, source_id="lsoa21_code", target_id="msoa21_code").table
    two = crosswalk(msoa, lsoa, source_id="msoa21_code", target_id="lsoa21_code").table
    assert one["area_m2"].tolist() == two["area_m2"].tolist()
    assert one["area_m2"].tolist() == [pytest.approx(geos, rel=1e-3)]
    assert one["is_sliver"].tolist() == [True]


def test_layer_crossed_again_and_again_reuses_its_edges():
    # a 10 x 10 grid crossed by many small squares: once the candidates read add up to the
    # whole grid, its edge arrays are kept and reused; every table stays exact
    from nbhd_geo.io.layers import layer_facts

    layer = gdf(grid(10, 10, 10.0))
    for k in range(40):
        x = 7.0 * k % 84
        drawn = gdf([shapely.box(x, x / 2, x + 13, x / 2 + 9)], ["d"])
        exact = crosswalk(drawn, layer, target_id="id").table
        geos = crosswalk(drawn, layer, target_id="id", engine="geos").table
        assert exact["target_id"].tolist() == geos["target_id"].tolist()
        np.testing.assert_allclose(exact["area_m2"], geos["area_m2"], rtol=1e-12)
        assert exact["area_m2"].sum() == pytest.approx(117.0, rel=1e-12)
    geoms = np.asarray(layer.geometry.array, dtype=object)
    assert "exact_layer" in layer_facts(geoms).memo


def test_remembered_id_checks_follow_changes():
    # ids found unique are remembered by the identity of their (immutable) str objects; a
    # changed id is a different object, so a duplicate made later is still refused
    layer = gdf(grid(3, 1), ["a", "b", "c"])
    layer["id"] = layer["id"].astype(object)
    drawn = gdf([shapely.box(1, 1, 25, 9)], ["d"])
    assert crosswalk(drawn, layer, target_id="id").table["target_id"].tolist() == ["a", "b", "c"]
    assert crosswalk(drawn, layer, target_id="id").table["area_m2"].tolist() == [72.0, 80, 40]
    layer.loc[2, "id"] = "a"
    with pytest.raises(ValidationError, match=r"(?s)target: .*duplicate ids: 'a'"):
        crosswalk(drawn, layer, target_id="id")
    # numbers: sorted ids pass without hashing, unsorted ones are hashed
    for ids, ok in (([1, 2, 3], True), ([3, 1, 2], True), ([2, 1, 2], False)):
        layer = gdf(grid(3, 1), ids)
        if ok:
            assert len(crosswalk(drawn, layer, target_id="id").table) == 3
        else:
            with pytest.raises(ValidationError, match="duplicate ids: 2"):
                crosswalk(drawn, layer, target_id="id")


def test_object_ids_of_views_and_copies():
    from nbhd_geo.io.layers import object_ids

    geoms = np.asarray(grid(4, 4), dtype=object)
    for arr in (geoms, geoms[::3], geoms[::-1], geoms.reshape(4, 4)[:, 1], geoms.copy()):
        assert object_ids(arr).tolist() == [id(g) for g in arr.reshape(-1)]
    assert object_ids(np.empty(0, dtype=object)).tolist() == []
