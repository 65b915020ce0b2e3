"""Consensus of drawings: exact answers on squares aligned to the grid, order independence,
zones between neighbourhoods, polygon base, and real data (sample town, New York)."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from nbhd_geo import samples
from nbhd_geo.errors import ColumnError, NbhdGeoError
from nbhd_geo.io.options import CoordOptions
from nbhd_geo.io.read import read_drawings
from nbhd_geo.overlay.crosswalk import crosswalk
from nbhd_geo.voices._grid import Grid, rasterise, runs_to_geometry
from nbhd_geo.voices.consensus import auto_cell_size, consensus
from nbhd_geo.voices.options import ContestedRule

CRS = 27700


def frame(rows, crs=CRS):
    """rows: (id, name, geometry)."""
    ids, names, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"neighbourhood": list(names)}, geometry=list(geoms),
                            index=pd.Index(list(ids), name="drawing_id"), crs=crs)


@pytest.fixture
def three_squares():
    # two overlap on [10, 20] x [0, 20]; the third is apart
    return frame([("d1", "A", shapely.box(0, 0, 20, 20)),
                  ("d2", "A", shapely.box(10, 0, 30, 20)),
                  ("d3", "A", shapely.box(40, 0, 60, 20))])


@pytest.fixture
def two_names():
    a = [(f"a{i}", "A", shapely.box(0, 0, 20, 20)) for i in range(3)]
    b = [(f"b{i}", "B", shapely.box(10, 0, 30, 20)) for i in range(3)]
    return frame(a + b)


@pytest.fixture(scope="module")
def workshop():
    return read_drawings(samples.get_path("drawings_workshop"), layer="drawings",
                         name_col="neighbourhood")


# ------------------------------------------------------------------------- grid kernels


def test_rasterise_matches_point_in_polygon_at_cell_centres():
    rng = np.random.default_rng(3)
    geoms = []
    for i in range(30):
        n = rng.integers(5, 30)
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = rng.uniform(5, 30, n)
        cx, cy = rng.uniform(0, 100, 2)
        p = shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
        if i % 3 == 0:
            p = p.difference(shapely.Point(cx, cy).buffer(4))
        geoms.append(shapely.make_valid(p))
    geoms = np.array(geoms)
    g = Grid.covering(shapely.total_bounds(geoms), 0.7)
    gi, row, c0, c1 = rasterise(geoms, g)
    xs = g.x0 + (np.arange(g.n_cols) + 0.5) * g.cell
    ys = g.y0 + (np.arange(g.n_rows) + 0.5) * g.cell
    X, Y = np.meshgrid(xs, ys)
    for k in range(len(geoms)):
        mask = np.zeros(X.shape, bool)
        for r, a, b in zip(row[gi == k], c0[gi == k], c1[gi == k], strict=True):
            mask[r, a:b] = True
        assert (mask == shapely.contains_xy(geoms[k], X, Y)).all()


def test_runs_to_geometry_is_valid_and_exact_on_random_masks():
    rng = np.random.default_rng(1)
    g = Grid(0.0, 0.0, 1.0, 20, 20)
    for _ in range(150):
        m = rng.random((10, 10)) < rng.uniform(0.2, 0.8)
        padded = np.pad(m, ((0, 0), (1, 1))).astype(np.int8)
        step = np.diff(padded, axis=1)
        r0, c0 = np.nonzero(step == 1)
        _, c1 = np.nonzero(step == -1)
        if len(r0) == 0:
            continue
        geom = runs_to_geometry(r0, c0, c1, g)[0]
        ref = shapely.union_all([shapely.box(a, r, b, r + 1)
                                 for r, a, b in zip(r0, c0, c1, strict=True)])
        assert shapely.is_valid(geom), shapely.is_valid_reason(geom)
        assert geom.area == m.sum()
        assert shapely.equals(geom, ref)


def test_auto_cell_size_is_nice():
    assert auto_cell_size(np.array([2.15e6])) == 25.0
    assert auto_cell_size(np.array([1e4, 1e4])) == 2.5


# ------------------------------------------------------------------------- exact answers


def test_three_squares_two_thirds_core_exact(three_squares):
    c = consensus(three_squares, base=1.0, thresholds=(1 / 3, 2 / 3))
    core = c.cores.set_index("threshold").geometry
    assert shapely.equals(core[2 / 3], shapely.box(10, 0, 20, 20))
    assert core[2 / 3].area == 200.0
    expected = shapely.union_all([shapely.box(0, 0, 30, 20), shapely.box(40, 0, 60, 20)])
    assert shapely.equals(core[1 / 3], expected)
    assert c.method == "grid" and c.cell_size == 1.0
    s = c.summary.loc["A"]
    assert s["n_drawings"] == 3 and s["drawers"] == 3
    assert s["drawn_area_m2"] == 1000.0
    # mean agreement: (400·1/3 + 200·2/3 + 400·1/3) / 1000
    assert s["mean_agreement"] == pytest.approx((400 + 400 + 400) / 3 / 1000)
    assert set(c.surface["share"].round(9)) == {round(1 / 3, 9), round(2 / 3, 9)}


def test_cores_are_a_drawing_layer_for_crosswalk(three_squares):
    c = consensus(three_squares, base=2.0)
    assert c.cores.index.is_unique and c.cores.is_valid.all()
    units = frame([("u1", "x", shapely.box(0, 0, 30, 20)), ("u2", "x", shapely.box(30, 0, 60, 20))])
    cw = crosswalk(c.cores, units)
    half = cw.table[cw.table["source_id"] == "A@0.50"]
    assert half["area_m2"].sum() == pytest.approx(200.0)


def test_weights(three_squares):
    w = three_squares.assign(w=[2.0, 1.0, 1.0])
    c = consensus(w, base=1.0, weight_col="w", thresholds=(0.5, 0.75))
    core = c.cores.set_index("threshold").geometry
    assert shapely.equals(core[0.5], shapely.box(0, 0, 20, 20))
    assert shapely.equals(core[0.75], shapely.box(10, 0, 20, 20))


def test_order_independent(workshop):
    gdf, _ = workshop
    a = consensus(gdf, base=20.0)
    b = consensus(gdf.sample(frac=1.0, random_state=7), base=20.0)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.surface, b.surface)
    pd.testing.assert_frame_equal(a.mix, b.mix)
    assert (a.cores.index == b.cores.index).all()
    assert all(shapely.equals(x, y) for x, y in zip(a.cores.geometry, b.cores.geometry,
                                                     strict=True))
    pd.testing.assert_frame_equal(a.disputed.drop(columns="geometry"),
                                  b.disputed.drop(columns="geometry"))


def test_disputed_zone_between_two_neighbourhoods(two_names):
    c = consensus(two_names, base=1.0, thresholds=(0.5,))
    d = c.disputed
    assert len(d) == 1
    assert (d["name_a"].iat[0], d["name_b"].iat[0]) == ("A", "B")
    assert shapely.equals(d.geometry.iat[0], shapely.box(10, 0, 20, 20))
    assert d["area_m2"].iat[0] == 200.0
    # the overlap is also contested: an even name mix, 1 bit
    assert shapely.equals(c.contested.geometry.iat[0], shapely.box(10, 0, 20, 20))
    mid = c.mix[(c.mix["c0"] == 10) & (c.mix["row"] == 5)].iloc[0]
    assert mid["entropy_bits"] == pytest.approx(1.0) and mid["n_names"] == 2
    assert mid["top_name"] == "A" and mid["second_name"] == "B"  # tie: first name wins


def test_contested_needs_near_tie_or_entropy():
    rows = [(f"a{i}", "A", shapely.box(0, 0, 20, 20)) for i in range(9)]
    rows += [("b0", "B", shapely.box(10, 0, 30, 20))]
    c = consensus(frame(rows), base=1.0)
    assert len(c.contested) == 0  # 9 to 1: entropy 0.47 bits, no tie
    c = consensus(frame(rows), base=1.0, contested=ContestedRule(bits=0.4))
    assert shapely.equals(c.contested.geometry.iat[0], shapely.box(10, 0, 20, 20))


def test_no_mans_land(two_names):
    c = consensus(two_names, base=1.0, thresholds=(0.5,))
    assert c.no_mans_land["area_m2"].iat[0] == 0.0
    study = shapely.box(0, 0, 40, 30)
    c = consensus(two_names, base=1.0, thresholds=(0.5,), study_area=study)
    nml = c.no_mans_land.geometry.iat[0]
    assert shapely.equals(nml, study.difference(shapely.box(0, 0, 30, 20)))
    assert c.no_mans_land["area_m2"].iat[0] == 1200 - 600
    # weak agreement is nobody's too
    rows = [("a0", "A", shapely.box(0, 0, 20, 20)), ("a1", "A", shapely.box(0, 0, 10, 10)),
            ("a2", "A", shapely.box(0, 0, 10, 10)), ("a3", "A", shapely.box(0, 0, 10, 10))]
    c = consensus(frame(rows), base=1.0, thresholds=(0.5,))
    assert c.no_mans_land["area_m2"].iat[0] == 300.0


def test_population_weighted_agreement(three_squares):
    pop = gpd.GeoDataFrame({"population": [100.0, 50.0, 10.0]},
                           geometry=shapely.points([(15.5, 5.5), (5.5, 5.5), (50.5, 5.5)]),
                           crs=CRS)
    c = consensus(three_squares, base=1.0, thresholds=(0.5,), population=pop)
    s = c.summary.loc["A"]
    assert s["population_drawn"] == 160.0
    assert s["pop_weighted_agreement"] == pytest.approx((100 * 2 / 3 + 50 / 3 + 10 / 3) / 160)
    assert c.cores["population"].iat[0] == 100.0
    # a polygon population layer is spread over its cells
    blocks = gpd.GeoDataFrame({"population": [200.0]}, geometry=[shapely.box(0, 0, 20, 20)],
                              crs=CRS)
    c = consensus(three_squares, base=1.0, thresholds=(0.5,), population=blocks)
    assert c.cores["population"].iat[0] == pytest.approx(100.0)


def test_polygon_base_uses_mean_coverage(three_squares):
    base = gpd.GeoDataFrame({"oa": ["o1", "o2", "o3"]},
                            geometry=[shapely.box(0, 0, 15, 20), shapely.box(15, 0, 40, 20),
                                      shapely.box(40, 0, 60, 20)], crs=CRS).set_index("oa")
    c = consensus(three_squares, base=base, thresholds=(0.5,))
    assert c.method == "base" and c.cell_size is None
    share = c.surface.set_index("unit")["share"]
    # o1: d1 covers all, d2 covers 5/15; o2: d1 5/25, d2 15/25; o3: d3 all
    assert share[0] == pytest.approx((1 + 5 / 15) / 3)
    assert share[1] == pytest.approx((5 / 25 + 15 / 25) / 3)
    assert share[2] == pytest.approx(1 / 3)
    assert len(c.cores) == 0  # nothing reaches 0.5
    c = consensus(three_squares, base=base, thresholds=(0.25,))
    assert shapely.equals(c.cores.geometry.iat[0], shapely.box(0, 0, 60, 20))


def test_agreement_levels(three_squares):
    c = consensus(three_squares, base=1.0)
    levels = c.agreement("A")
    assert levels["area_m2" if "area_m2" in levels else "share"].notna().all()
    assert shapely.area(levels.geometry).sum() == 1000.0
    with pytest.raises(NbhdGeoError, match="unknown neighbourhood"):
        c.agreement("Nowhere")


def test_to_frame_stacks_zones(two_names):
    out = consensus(two_names, base=1.0, thresholds=(0.5,)).to_frame()
    assert set(out["kind"]) == {"core", "contested", "disputed", "no_mans_land"}


def test_errors(three_squares):
    with pytest.raises(ColumnError, match="by"):
        consensus(three_squares, by="nbhd")
    with pytest.raises(NbhdGeoError, match="thresholds"):
        consensus(three_squares, thresholds=(0.0, 0.5))
    with pytest.raises(NbhdGeoError, match="base"):
        consensus(three_squares, base=-5.0)
    with pytest.raises(NbhdGeoError, match="exclude"):
        consensus(three_squares, exclude=["ugly"])


def test_input_not_mutated(three_squares):
    given = three_squares.assign(w=1.0).to_crs(3857)
    before = given.copy()
    consensus(given, base=1.0, weight_col="w", exclude=["rectangle"])
    assert_geodataframe_equal(given, before)


# ------------------------------------------------------------------------- sample town


def test_sample_town_cores_match_truth(workshop):
    gdf, report = workshop
    c = consensus(gdf, report=report, exclude=["rectangle", "repaired"])
    assert set(c.excluded.index) >= {"WS-063", "WS-032", "WS-021", "WS-043"}
    assert c.summary.loc["Old Town", "n_excluded"] == 1
    truth = gpd.read_file(samples.get_path("truth"), layer="neighbourhood_truth")
    truth = truth.set_index("neighbourhood").to_crs(c.crs)
    half = c.cores[c.cores["threshold"] == 0.5].set_index("name")
    assert set(half.index) == set(truth.index)
    assert half.is_valid.all()
    for name, geom in half.geometry.items():
        t = truth.geometry[name]
        iou = shapely.area(shapely.intersection(geom, t)) / shapely.area(shapely.union(geom, t))
        assert iou > 0.6, (name, iou)
    # the generator's overlapping pairs come out as disputed at 25 %
    pairs = set(zip(c.disputed["name_a"], c.disputed["name_b"], strict=True))
    assert ("Old Town", "Station Quarter") in pairs
    assert ("Hollins Green", "Oakfield Estate") in pairs


# ------------------------------------------------------------------------- real data


@pytest.mark.shared
def test_new_york_few_neighbourhoods(shared):
    path = shared("drawings", "nyc-dnainfo", "dnainfo_New_York_drawings.geojson.gz")
    t0 = time.perf_counter()
    raw = gpd.read_file(f"/vsigzip/{path}", where="folder IN ('soho', 'noho', "
                        "'greenwich-village', 'west-village')")
    gdf, report = read_drawings(raw, name_col="folder", coords=CoordOptions(to_crs="EPSG:32618"))
    c = consensus(gdf, by="folder", report=report)
    assert time.perf_counter() - t0 < 20
    assert c.cell_size == 20.0  # auto: 1/40 of a median drawing's width
    half = c.cores[c.cores["threshold"] == 0.5]
    assert set(half["name"]) == {"soho", "noho", "greenwich-village", "west-village"}
    assert half.is_valid.all()
    pairs = set(zip(c.disputed["name_a"], c.disputed["name_b"], strict=True))
    assert ("greenwich-village", "west-village") in pairs
    # every core lies in lower Manhattan (UTM 18N), far from the junk drawings
    cx = shapely.get_coordinates(shapely.centroid(half.geometry))
    assert ((cx[:, 0] > 580_000) & (cx[:, 0] < 590_000)).all()


def test_polygon_base_zones_and_population(two_names):
    base = gpd.GeoDataFrame({"oa": ["o1", "o2", "o3", "o4"],
                             "population": [10.0, 20.0, 30.0, 40.0]},
                            geometry=[shapely.box(0, 0, 10, 20), shapely.box(10, 0, 20, 20),
                                      shapely.box(20, 0, 30, 20), shapely.box(30, 0, 40, 20)],
                            crs=CRS).set_index("oa")
    c = consensus(two_names, base=base, thresholds=(0.5,), population=base,
                  study_area=shapely.box(0, 0, 40, 20))
    assert len(c.disputed) == 1
    assert shapely.equals(c.disputed.geometry.iat[0], shapely.box(10, 0, 20, 20))
    assert shapely.equals(c.contested.geometry.iat[0], shapely.box(10, 0, 20, 20))
    assert shapely.equals(c.no_mans_land.geometry.iat[0], shapely.box(30, 0, 40, 20))
    assert c.cores.set_index("name")["population"].to_dict() == {"A": 30.0, "B": 50.0}
    assert c.summary.loc["A", "pop_weighted_agreement"] == 1.0


def test_plot_consensus(two_names):
    from nbhd_geo.report.maps.plot_consensus import plot_consensus

    fig, ax = plot_consensus(consensus(two_names, base=1.0), "A")
    assert ax.get_title() == "A: agreement of 3 drawings (1 m grid)"
    assert len(ax.get_legend().get_texts()) == 3
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("base", ["grid", "units"])
def test_name_mix_sums_to_one_and_matches_entropy(workshop, base):
    gdf, _ = workshop
    if base == "units":
        base = gpd.read_file(samples.get_path("town"), layer="oa").set_index("oa_code")
    else:
        base = 25.0
    c = consensus(gdf, base=base)
    mix = c.name_mix()
    total = mix.groupby("piece")["share"].sum()
    assert np.allclose(total.to_numpy(), 1.0)
    assert (total.index == np.arange(len(c.mix))).all()
    ent = (-mix["share"] * np.log2(mix["share"])).groupby(mix["piece"]).sum()
    assert np.allclose(ent.to_numpy(), c.mix["entropy_bits"].to_numpy())


def test_grid_core_within_one_cell_of_exact_overlay(workshop):
    gdf, _ = workshop
    sub = gdf[gdf["neighbourhood"] == "Northgate"]
    geoms = list(sub.geometry)
    n = len(geoms)
    # exact: points covered by at least half the drawings, by inclusion over subsets
    from itertools import combinations

    k = int(np.ceil(n / 2))
    exact = shapely.union_all([shapely.intersection_all(list(c))
                               for c in combinations(geoms, k)])
    for cell in (10.0, 2.0):
        core = consensus(sub, base=cell, thresholds=(0.5,)).cores.geometry.iat[0]
        diff = shapely.area(shapely.symmetric_difference(core, exact))
        assert diff <= exact.length * cell, (cell, diff)
