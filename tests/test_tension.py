"""Tension metrics: exact values on handmade layers, one sanity run on Wakefield."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.measures.boundary import boundary_f1, hausdorff
from nbhd_geo.measures.options import BoundaryOptions, EngineOptions, SliverTolerance
from nbhd_geo.measures.split import fragmentation, unit_splits
from nbhd_geo.measures.tension import layer_tension, tension

ENGINE = "geos"  # the exact engine is checked against it in test_engines_agree


def gdf(ids, geoms, col="id", **cols):
    return gpd.GeoDataFrame({col: ids, **cols}, geometry=list(geoms), crs=27700)


def h2(*p):
    return sum(x * math.log2(1 / x) for x in p if x > 0)


@pytest.fixture
def wards():
    # Big wards, so no ward has as much as half of itself inside the drawn squares.
    return gdf(
        ["W1", "W2", "W3"],
        [shapely.box(0, 0, 70, 1000), shapely.box(70, 0, 1000, 1000), shapely.box(-1000, 0, 0, 1000)],
        col="ward",
    )


@pytest.fixture
def square():
    return gdf(["C"], [shapely.box(0, 0, 100, 100)], col="name")


# --- fragmentation -------------------------------------------------------------------------


def test_split_70_30_exact(wards, square):
    f = fragmentation(square, wards, area_id="name", unit_id="ward", engine=ENGINE)
    row = f.loc["C"]
    assert f.index.name == "name"
    assert row["n_units"] == 2
    assert row["n_slivers"] == 0
    assert row["eff_units"] == pytest.approx(1 / (0.7**2 + 0.3**2), rel=1e-12)
    assert row["eff_splits"] == pytest.approx(1 / (0.7**2 + 0.3**2) - 1, rel=1e-12)
    assert row["entropy"] == pytest.approx(-(0.7 * math.log2(0.7) + 0.3 * math.log2(0.3)), rel=1e-12)
    assert row["covered_share"] == pytest.approx(1.0)
    assert row["main_unit"] == "W1"
    assert row["share_in_main_unit"] == pytest.approx(0.7)
    assert row["main_unit_share_inside"] == pytest.approx(7000 / 70000)
    assert row["max_unit_share_inside"] == pytest.approx(7000 / 70000)
    assert bool(row["coi_preserved"])


def test_coi_threshold(wards, square):
    at = {
        t: bool(fragmentation(square, wards, area_id="name", unit_id="ward", threshold=t,
                              engine=ENGINE).loc["C", "coi_preserved"])
        for t in (0.5, 0.7, 0.8)
    }
    assert at == {0.5: True, 0.7: True, 0.8: False}


def test_coi_by_unit_inside(square):
    # C is split evenly, but a small unit lies wholly inside it: preserved by the second clause.
    units = gdf(["A", "B", "S"], [shapely.box(-500, 0, 50, 1000), shapely.box(50, 40, 600, 1000)
                                  .difference(shapely.box(60, 40, 70, 50)),
                                  shapely.box(60, 40, 70, 50)], col="u")
    units = pd.concat([units, gdf(["D"], [shapely.box(50, -500, 600, 40)], col="u")], ignore_index=True)
    f = fragmentation(square, units, area_id="name", unit_id="u", threshold=0.6,
                      sliver=SliverTolerance(share=0), engine=ENGINE)
    assert f.loc["C", "share_in_main_unit"] < 0.6
    assert f.loc["C", "max_unit_share_inside"] == pytest.approx(1.0)
    assert bool(f.loc["C", "coi_preserved"])


def test_sliver_ignored(wards):
    # 0.1 m² of C pokes into W3: a sliver by both the share and the m² rule.
    c = gdf(["C"], [shapely.box(-0.001, 0, 100, 100)], col="name")
    f = fragmentation(c, wards, area_id="name", unit_id="ward", engine=ENGINE)
    assert f.loc["C", "n_units"] == 2
    assert f.loc["C", "n_slivers"] == 1
    assert f.loc["C", "eff_units"] == pytest.approx(1 / (0.7**2 + 0.3**2), rel=1e-9)
    assert f.loc["C", "entropy"] == pytest.approx(h2(0.7, 0.3), rel=1e-9)
    kept = fragmentation(c, wards, area_id="name", unit_id="ward", sliver=SliverTolerance(0, 0),
                         engine=ENGINE)
    assert kept.loc["C", "n_units"] == 3
    assert kept.loc["C", "n_slivers"] == 0
    # The m² rule alone also catches it.
    by_m2 = fragmentation(c, wards, area_id="name", unit_id="ward", sliver=SliverTolerance(0, 1.0),
                          engine=ENGINE)
    assert by_m2.loc["C", "n_units"] == 2


def test_sliver_share_rule(wards):
    # 50 m² of a 10,050 m² area in W3: 0.5 % < 1 %, a sliver; kept at sliver_share=0.001.
    c = gdf(["C"], [shapely.box(-0.5, 0, 100, 100)], col="name")
    assert fragmentation(c, wards, area_id="name", unit_id="ward", engine=ENGINE).loc["C", "n_units"] == 2
    assert fragmentation(c, wards, area_id="name", unit_id="ward", sliver=SliverTolerance(0.001),
                         engine=ENGINE).loc["C", "n_units"] == 3


def test_small_units_wholly_inside_are_not_slivers():
    # 400 cells of 5 m: each is 0.25 % of C, but wholly inside it, so none is a sliver.
    cells = [shapely.box(i, j, i + 5, j + 5) for j in range(0, 100, 5) for i in range(0, 100, 5)]
    fine = gdf([f"c{k}" for k in range(400)], cells, col="cell")
    c = gdf(["C"], [shapely.box(0, 0, 100, 100)], col="name")
    f = fragmentation(c, fine, area_id="name", unit_id="cell", engine=ENGINE).loc["C"]
    assert f["n_units"] == 400 and f["n_slivers"] == 0
    assert f["eff_units"] == pytest.approx(400)
    assert f["entropy"] == pytest.approx(math.log2(400))
    # And the other way round: 400 small areas inside one unit all count.
    s = unit_splits(fine, c, area_id="cell", unit_id="name", engine=ENGINE).loc["C"]
    assert s["n_areas"] == 400 and s["outside_share"] == pytest.approx(0)
    assert s["split_entropy"] == pytest.approx(math.log2(400))


def test_inside_one_unit(wards):
    c = gdf(["C"], [shapely.box(100, 100, 200, 200)], col="name")
    f = fragmentation(c, wards, area_id="name", unit_id="ward", engine=ENGINE).loc["C"]
    assert (f["n_units"], f["eff_units"], f["eff_splits"], f["entropy"]) == (1, 1.0, 0.0, 0.0)
    assert f["share_in_main_unit"] == 1.0


def test_area_off_the_layer(wards):
    c = gdf(["C", "far"], [shapely.box(900, 0, 1100, 100), shapely.box(5000, 0, 5100, 100)],
            col="name")
    f = fragmentation(c, wards, area_id="name", unit_id="ward", engine=ENGINE)
    assert f.loc["C", "covered_share"] == pytest.approx(0.5)
    assert f.loc["C", "eff_units"] == 1.0  # shares renormalised over the covered part
    assert f.loc["far", "n_units"] == 0
    assert np.isnan(f.loc["far", "eff_units"])
    assert not f.loc["far", "coi_preserved"]


@pytest.fixture
def two_units():
    return gdf(["W1", "W2"], [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
               col="ward", pop=[100, 100])


@pytest.fixture
def people():
    # W1: 60 people inside C, 40 outside; W2: 20 inside, 80 outside.
    return gpd.GeoDataFrame(
        {"n": [60, 40, 20, 80]},
        geometry=shapely.points([(75, 50), (25, 50), (125, 50), (175, 50)]), crs=27700,
    )


def test_population_weighted(two_units, people):
    c = gdf(["C"], [shapely.box(50, 0, 150, 100)], col="name")
    f = fragmentation(c, two_units, area_id="name", unit_id="ward", unit_population="pop",
                      weights=people, weight_col="n", threshold=0.7, engine=ENGINE).loc["C"]
    # By area: 50/50; by population: 60/20 -> 0.75/0.25.
    assert f["eff_units"] == pytest.approx(2.0)
    assert f["population"] == pytest.approx(80.0)
    assert f["pop_eff_units"] == pytest.approx(1 / (0.75**2 + 0.25**2))
    assert f["pop_entropy"] == pytest.approx(h2(0.75, 0.25))
    assert f["pop_main_unit"] == "W1"
    assert f["pop_share_in_main_unit"] == pytest.approx(0.75)
    assert f["pop_main_unit_share_inside"] == pytest.approx(0.6)
    assert f["pop_max_unit_share_inside"] == pytest.approx(0.6)
    assert bool(f["pop_coi_preserved"]) and not bool(f["coi_preserved"])


def test_population_by_oa_polygons(two_units):
    # OAs: W1's east half holds all 100 of its people; W2 is uniform.
    oas = gdf(["o1", "o2", "o3"], [shapely.box(0, 0, 50, 100), shapely.box(50, 0, 100, 100),
                                   shapely.box(100, 0, 200, 100)], n=[0, 100, 100])
    c = gdf(["C"], [shapely.box(50, 0, 150, 100)], col="name")
    f = fragmentation(c, two_units, area_id="name", unit_id="ward", unit_population="pop",
                      weights=oas, weight_col="n", engine=ENGINE).loc["C"]
    # W1 sends 100 people, W2 50: shares 2/3 and 1/3.
    assert f["population"] == pytest.approx(150.0)
    assert f["pop_eff_units"] == pytest.approx(1 / ((2 / 3) ** 2 + (1 / 3) ** 2))
    assert f["pop_max_unit_share_inside"] == pytest.approx(1.0)


# --- boundary --------------------------------------------------------------------------------


def ref(geom, key="N"):
    return gpd.GeoSeries([geom], index=[key], crs=27700)


def test_boundary_f1_equal_is_one():
    c = gdf(["N"], [shapely.box(0, 0, 1000, 1000)], col="name")
    f = boundary_f1(c, ref(shapely.box(0, 0, 1000, 1000)), area_id="name", tolerances=(0, 25))
    assert f.loc["N"].tolist() == [1.0] * 6


def test_boundary_f1_shifted_30m():
    # C = unit shifted 30 m east. Within 25 m: bottom and top edges except their last 5 m
    # (995 m each) and 25 m at each end of the left edge -> 2040 / 4000 both ways.
    c = gdf(["N"], [shapely.box(30, 0, 1030, 1000)], col="name")
    f = boundary_f1(c, ref(shapely.box(0, 0, 1000, 1000)), area_id="name").loc["N"]
    assert f["precision_25"] == pytest.approx(0.51, abs=1e-9)
    assert f["recall_25"] == pytest.approx(0.51, abs=1e-9)
    assert f["f1_25"] == pytest.approx(0.51, abs=1e-9)
    assert f[["precision_50", "recall_50", "f1_50", "f1_100"]].tolist() == pytest.approx([1.0] * 4)


def test_boundary_f1_asymmetric():
    # C is the left half of the unit: its boundary is all near the unit's except... nothing:
    # C's right edge (x=500) is 500 m from the unit's boundary in its middle.
    c = gdf(["N"], [shapely.box(0, 0, 500, 1000)], col="name")
    f = boundary_f1(c, ref(shapely.box(0, 0, 1000, 1000)), area_id="name", tolerances=(25,))
    # precision: 500+500+1000 shared, + 2*25 of the x=500 edge near top/bottom: 2050/3000
    assert f.loc["N", "precision_25"] == pytest.approx(2050 / 3000)
    # recall: the unit's left edge and the left halves of top and bottom (+25 m each): 2050/4000
    assert f.loc["N", "recall_25"] == pytest.approx(2050 / 4000)


def test_boundary_missing_reference_scores_zero():
    c = gdf(["N", "M"], [shapely.box(0, 0, 10, 10)] * 2, col="name")
    f = boundary_f1(c, ref(shapely.box(0, 0, 10, 10)), area_id="name")
    assert f.loc["M", "f1_25"] == 0.0
    assert np.isnan(f.loc["M", "precision_25"])
    h = hausdorff(c, ref(shapely.box(0, 0, 10, 10)), area_id="name")
    assert np.isnan(h.loc["M", "hausdorff_m"]) and h.loc["N", "hausdorff_m"] == 0.0


def test_hausdorff_shifted_10m():
    c = gdf(["N"], [shapely.box(10, 0, 1010, 1000)], col="name")
    h = hausdorff(c, ref(shapely.box(0, 0, 1000, 1000)), area_id="name", spacing=5).loc["N"]
    assert h["hausdorff_m"] == pytest.approx(10.0)
    # 1980 m of each 4000 m boundary is exactly 10 m away, so the 95th percentile is 10.
    assert h["hausdorff_p95_m"] == pytest.approx(10.0)
    # Mean: (2·∫0^10 t dt + (1000·10 − 100) + 1000·10) / 4000 = 20000 / 4000 per side.
    assert h["mean_distance_m"] == pytest.approx(5.0)


def test_hausdorff_matches_shapely():
    a = shapely.Polygon([(0, 0), (400, 30), (380, 420), (120, 380), (-20, 200)])
    b = shapely.Polygon([(10, -15), (420, 10), (360, 400), (90, 420), (0, 180)])
    c = gdf(["N"], [a], col="name")
    ours = hausdorff(c, ref(b), area_id="name", spacing=1).loc["N", "hausdorff_m"]
    theirs = shapely.hausdorff_distance(a.boundary, b.boundary, densify=0.001)
    assert ours == pytest.approx(theirs, abs=0.5)


def test_p95_below_max():
    c = gdf(["N"], [shapely.Polygon([(0, 0), (1000, 0), (1000, 1000), (500, 1200), (0, 1000)])],
            col="name")
    h = hausdorff(c, ref(shapely.box(0, 0, 1000, 1000)), area_id="name", spacing=2).loc["N"]
    assert h["hausdorff_m"] == pytest.approx(200.0, abs=1)
    assert 0 < h["mean_distance_m"] < h["hausdorff_p95_m"] < h["hausdorff_m"]


# --- tension -------------------------------------------------------------------------------


@pytest.fixture
def grid():
    """A 4 × 4 grid of 250 m cells."""
    cells = [shapely.box(x, y, x + 250, y + 250) for y in range(0, 1000, 250)
             for x in range(0, 1000, 250)]
    return gdf([f"g{i}" for i in range(16)], cells, col="cell")


def test_tension_perfect_match_is_zero(grid):
    c = gdf(["N"], [grid.geometry.iloc[5]], col="name")
    t = tension(c, grid, area_id="name", unit_id="cell", engine=ENGINE).loc["N"]
    assert (t["iou"], t["f1_50"], t["eff_units"], t["hausdorff_m"]) == (1.0, 1.0, 1.0, 0.0)
    assert t["tension"] == 0.0


def test_tension_union_of_units(grid):
    # Four whole cells: IoU 1, F1 1, Hausdorff 0; only the split term remains (N = 4).
    c = gdf(["N"], [shapely.box(0, 0, 500, 500)], col="name")
    t = tension(c, grid, area_id="name", unit_id="cell", engine=ENGINE).loc["N"]
    assert t["iou"] == pytest.approx(1.0) and t["f1_25"] == pytest.approx(1.0)
    assert t["hausdorff_m"] == pytest.approx(0.0, abs=1e-9)
    assert t["n_fit_units"] == 4
    assert t["tension"] == pytest.approx((1 - 1 / 4) / 3)
    t0 = tension(c, grid, area_id="name", unit_id="cell", score_weights=(1, 1, 0), engine=ENGINE)
    assert t0.loc["N", "tension"] == pytest.approx(0.0, abs=1e-12)


def test_tension_composite_formula_and_monotone(grid):
    shifts = [0, 20, 60, 125]
    c = gdf([f"s{s}" for s in shifts], [shapely.box(250 + s, 250, 500 + s, 500) for s in shifts],
            col="name")
    t = tension(c, grid, area_id="name", unit_id="cell", engine=ENGINE)
    expected = ((1 - t["iou"]) + (1 - t["f1_50"]) + (1 - 1 / t["eff_units"])) / 3
    assert np.allclose(t["tension"], expected)
    assert t["tension"].is_monotonic_increasing
    assert t.loc["s0", "tension"] == 0.0
    # 20 m shift: 230/20 split; best fit is the cell itself (IoU 230/270); all of the
    # boundary is within 25 m.
    s20 = t.loc["s20"]
    assert s20["iou"] == pytest.approx(230 / 270)
    assert s20["f1_25"] == pytest.approx(1.0)
    assert s20["hausdorff_m"] == pytest.approx(20.0)
    assert s20["eff_units"] == pytest.approx(1 / ((230 / 250) ** 2 + (20 / 250) ** 2))


def test_tension_bad_fit_near_one():
    # A thin strip along a row of 20 cells: poor fit, boundary nowhere statutory, many units.
    row = gdf([f"r{i}" for i in range(20)], [shapely.box(250 * i, 0, 250 * (i + 1), 250)
                                              for i in range(20)], col="cell")
    c = gdf(["N"], [shapely.box(0, 121, 5000, 125)], col="name")
    t = tension(c, row, area_id="name", unit_id="cell", engine=ENGINE).loc["N"]
    assert t["eff_units"] == pytest.approx(20)
    assert t["iou"] < 0.02
    assert t["f1_50"] < 0.1
    assert 0.9 < t["tension"] <= 1


def test_tension_population(two_units, people):
    c = gdf(["C"], [shapely.box(50, 0, 150, 100)], col="name")
    t = tension(c, two_units, area_id="name", unit_id="ward", unit_population="pop",
                weights=people, weight_col="n", engine=ENGINE).loc["C"]
    # Best fit by IoU is W1 + W2 (IoU 1/2 beats 1/3 for W1 alone); pop IoU: 80 people in C,
    # all in the fit, which holds 120 more: 80 / 200.
    assert t["n_fit_units"] == 2
    assert t["pop_iou"] == pytest.approx(80 / 200)
    expected = ((1 - t["pop_iou"]) + (1 - t["f1_50"]) + (1 - 1 / t["pop_eff_units"])) / 3
    assert t["pop_tension"] == pytest.approx(expected)
    assert t["pop_eff_units"] == pytest.approx(1.6)


def test_tension_columns_and_order(grid):
    c = gdf(["b", "a"], [shapely.box(10, 10, 300, 300), shapely.box(0, 0, 250, 250)], col="name")
    t = tension(c, grid, area_id="name", unit_id="cell", boundary=BoundaryOptions(tolerances=(10, 30)),
                engine=ENGINE)
    assert list(t.index) == ["b", "a"]
    for col in ("f1_10", "f1_30", "f1_50", "precision_10", "recall_30", "hausdorff_p95_m",
                "n_units", "entropy", "iou", "coi_preserved", "tension"):
        assert col in t.columns
    assert "pop_tension" not in t.columns


def test_does_not_mutate_and_is_deterministic(grid):
    c = gdf(["N"], [shapely.box(10, 10, 600, 420)], col="name").to_crs(4326)
    before_c, before_g = c.copy(), grid.copy()
    one = tension(c, grid, area_id="name", unit_id="cell", engine=ENGINE)
    two = tension(c, grid, area_id="name", unit_id="cell", engine=ENGINE)
    pd.testing.assert_frame_equal(one, two)
    assert_geodataframe_equal(c, before_c)
    assert_geodataframe_equal(grid, before_g)


def test_engines_agree(grid):
    c = gdf(["N", "M"], [shapely.box(10, 10, 600, 420), shapely.box(260, 0, 740, 990)], col="name")
    g = tension(c, grid, area_id="name", unit_id="cell", engine="geos")
    e = tension(c, grid, area_id="name", unit_id="cell", engine="exact")
    pd.testing.assert_frame_equal(g, e, rtol=1e-9, check_exact=False)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"score_weights": (1, 1)}, "score_weights"),
        ({"score_weights": (0, 0, 0)}, "score_weights"),
        ({"score_weights": "best"}, "score_weights"),
        ({"engine": "fast"}, "engine"),
    ],
)
def test_bad_arguments(grid, kwargs, argument):
    c = gdf(["N"], [shapely.box(0, 0, 10, 10)], col="name")
    with pytest.raises(NbhdGeoError, match=argument) as err:
        tension(c, grid, area_id="name", unit_id="cell", **{"engine": ENGINE, **kwargs})
    assert err.value.argument == argument
    assert err.value.fix


@pytest.mark.parametrize("threshold", [0, 1.5, float("nan")])
def test_bad_coi_threshold(grid, threshold):
    c = gdf(["N"], [shapely.box(0, 0, 10, 10)], col="name")
    with pytest.raises(NbhdGeoError, match="threshold") as err:
        fragmentation(c, grid, area_id="name", unit_id="cell", threshold=threshold,
                      engine=ENGINE)
    assert err.value.argument == "threshold" and err.value.fix


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: SliverTolerance(share=-0.1), "sliver_share"),
        (lambda: SliverTolerance(share=1.01), "sliver_share"),
        (lambda: SliverTolerance(m2=-1), "sliver_m2"),
        (lambda: SliverTolerance(m2=float("inf")), "sliver_m2"),
        (lambda: BoundaryOptions(tolerances=(25, -1)), "tolerances"),
        (lambda: BoundaryOptions(score_tolerance=float("nan")), "tolerances"),
        (lambda: BoundaryOptions(spacing=0), "spacing"),
        (lambda: EngineOptions("fast"), "engine"),
        (lambda: EngineOptions(threads=0), "threads"),
        (lambda: EngineOptions(threads=1.5), "threads"),
        (lambda: EngineOptions(threads=True), "threads"),
        (lambda: EngineOptions(crs="EPSG:4326"), "crs"),
        (lambda: EngineOptions(crs="not a crs"), "crs"),
    ],
)
def test_options_are_checked_when_made(make, argument):
    with pytest.raises(NbhdGeoError, match=argument) as err:
        make()
    assert err.value.argument == argument
    assert err.value.fix


def test_options_defaults_and_normal_forms():
    assert SliverTolerance().share == 0.01 and SliverTolerance().area_m2 == 1.0
    assert SliverTolerance(m2=0).area_m2 == 0.0 and SliverTolerance(share=1).share == 1.0
    b = BoundaryOptions(tolerances=[10, 50], score_tolerance=50, spacing=2)
    assert b.tolerances == (10.0, 50.0) and b.all_tolerances == (10.0, 50.0)
    assert BoundaryOptions().all_tolerances == (25.0, 50.0, 100.0)
    assert BoundaryOptions(tolerances=(25,), score_tolerance=40).all_tolerances == (25.0, 40.0)
    assert EngineOptions.of("geos") == EngineOptions("geos", None, None)
    assert EngineOptions(crs=3857).crs == 3857
    two = EngineOptions("exact", threads=2)
    assert EngineOptions.of(two) is two


def test_engine_options_reach_the_engine(grid):
    c = gdf(["N"], [shapely.box(10, 10, 600, 420)], col="name")
    by_name = tension(c, grid, area_id="name", unit_id="cell", engine="exact")
    by_options = tension(c, grid, area_id="name", unit_id="cell",
                         engine=EngineOptions("exact", threads=1))
    pd.testing.assert_frame_equal(by_name, by_options)


# --- layer × layer --------------------------------------------------------------------------


def test_layer_tension_grid_vs_shifted_grid():
    a = gdf(["a0", "a1"], [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], col="code")
    b = gdf(["b0", "b1", "b2"], [shapely.box(-90, 0, 10, 100), shapely.box(10, 0, 110, 100),
                                 shapely.box(110, 0, 210, 100)], col="code")
    t = layer_tension(a, b, a_id="code", b_id="code", engine=ENGINE)
    assert t.index.name == "code" and list(t.index) == ["a0", "a1"]
    for key, main in (("a0", "b1"), ("a1", "b2")):
        row = t.loc[key]
        assert row["n_units"] == 2
        assert row["main_unit"] == main
        assert row["share_in_main_unit"] == pytest.approx(0.9)
        assert row["eff_units"] == pytest.approx(1 / (0.81 + 0.01))
        assert row["entropy"] == pytest.approx(h2(0.9, 0.1))
        assert row["iou"] == pytest.approx(9 / 11)
        assert row["f1_25"] == pytest.approx(1.0)
        assert row["hausdorff_m"] == pytest.approx(10.0)
        expected = ((1 - 9 / 11) + 0 + (1 - 0.82)) / 3
        assert row["tension"] == pytest.approx(expected)
    # The other way round: b1 is 90 % in a0, 10 % in a1 too.
    back = layer_tension(b, a, a_id="code", b_id="code", engine=ENGINE)
    assert back.loc["b1", "eff_units"] == pytest.approx(1 / 0.82)
    assert back.loc["b0", "covered_share"] == pytest.approx(0.1)


# --- per-unit view ---------------------------------------------------------------------------


def test_unit_splits_numbers(two_units, people):
    # N: 60 % of W1; M: 30 % of W1 and 50 % of W2; 10 % of W1 in no neighbourhood.
    areas = gdf(["N", "M"], [shapely.box(0, 0, 60, 100), shapely.box(70, 0, 150, 100)], col="name")
    s = unit_splits(areas, two_units, area_id="name", unit_id="ward", engine=ENGINE)
    assert s.index.name == "ward" and list(s.index) == ["W1", "W2"]
    w1, w2 = s.loc["W1"], s.loc["W2"]
    assert w1["n_areas"] == 2 and w1["areas"] == ("N", "M")
    assert w1["shares"] == pytest.approx((0.6, 0.3))
    assert w1["main_area"] == "N" and w1["main_share"] == pytest.approx(0.6)
    assert w1["outside_share"] == pytest.approx(0.1)
    assert w1["split_entropy"] == pytest.approx(h2(0.6, 0.3, 0.1))
    assert w1["eff_pieces"] == pytest.approx(1 / (0.36 + 0.09 + 0.01))
    assert w2["n_areas"] == 1 and w2["outside_share"] == pytest.approx(0.5)
    assert w2["split_entropy"] == pytest.approx(1.0)


def test_unit_splits_population(two_units, people):
    areas = gdf(["N", "M"], [shapely.box(0, 0, 60, 100), shapely.box(70, 0, 150, 100)], col="name")
    s = unit_splits(areas, two_units, area_id="name", unit_id="ward", unit_population="pop",
                    weights=people, weight_col="n", engine=ENGINE)
    # W1: 40 people at x=25 (in N), 60 at x=75 (in M); W2: 20 at x=125 in M, 80 outside.
    # pop_shares follow the order of `areas` (by area share): N then M.
    assert s.loc["W1", "areas"] == ("N", "M")
    assert s.loc["W1", "pop_shares"] == pytest.approx((0.4, 0.6))
    assert s.loc["W1", "pop_main_area"] == "M"
    assert s.loc["W1", "pop_main_share"] == pytest.approx(0.6)
    assert s.loc["W1", "pop_outside_share"] == pytest.approx(0.0)
    assert s.loc["W1", "pop_split_entropy"] == pytest.approx(h2(0.4, 0.6))
    assert s.loc["W2", "pop_outside"] == pytest.approx(80.0)
    assert s.loc["W2", "pop_split_entropy"] == pytest.approx(h2(0.2, 0.8))


def test_unit_splits_overlapping_areas_and_slivers(two_units):
    # Two drawings of the same place overlap; a third nicks W2 by 0.5 m² (a sliver).
    areas = gdf(["N", "N2", "tiny"], [shapely.box(0, 0, 60, 100), shapely.box(0, 0, 50, 100),
                                      shapely.box(199.995, 0, 200, 100)], col="name")
    s = unit_splits(areas, two_units, area_id="name", unit_id="ward", engine=ENGINE)
    assert s.loc["W1", "outside_share"] == pytest.approx(0.4)  # the union, not 0.6 + 0.5
    assert s.loc["W1", "n_areas"] == 2
    assert s.loc["W2", "n_areas"] == 0
    assert s.loc["W2", "split_entropy"] == 0.0 and s.loc["W2", "eff_pieces"] == 1.0


# --- real data -------------------------------------------------------------------------------


def _read(path, code):
    g = gpd.read_file(path).to_crs(27700)
    g["geometry"] = shapely.make_valid(g.geometry.values)  # one LSOA self-touches
    return g


@pytest.mark.shared
def test_wakefield_wards_vs_lsoas(shared):
    wards = _read(shared("ons", "wakefield", "wards13.geojson"), "WD13CD")
    lsoa = _read(shared("ons", "wakefield", "lsoa11.geojson"), "LSOA11CD")
    msoa = _read(shared("ons", "wakefield", "msoa11.geojson"), "MSOA11CD")
    t = layer_tension(wards, lsoa, a_id="WD13CD", b_id="LSOA11CD", engine=ENGINE)
    assert len(t) == 21 and t.index.is_unique
    for col in ("iou", "f1_25", "f1_50", "f1_100", "share_in_main_unit", "tension",
                "covered_share"):
        assert t[col].between(0, 1 + 1e-9).all(), col
    assert (t["f1_25"] <= t["f1_50"] + 1e-12).all() and (t["f1_50"] <= t["f1_100"] + 1e-12).all()
    assert (t["hausdorff_p95_m"] <= t["hausdorff_m"] + 1e-9).all()
    assert t["covered_share"].min() > 0.99
    # The 2013 ward file is generalised more coarsely than the LSOAs, so unions of LSOAs
    # match wards only roughly (median IoU 0.88 on this data).
    assert t["iou"].min() > 0.5 and t["iou"].median() > 0.8
    assert t["n_units"].between(5, 20).all()
    # LSOAs nest in wards: most LSOAs lie (almost) wholly in one ward.
    back = layer_tension(lsoa, wards, a_id="LSOA11CD", b_id="WD13CD", engine=ENGINE)
    assert (back["share_in_main_unit"] > 0.9).mean() > 0.8
    assert back["coi_preserved"].all()
    # MSOAs are exact unions of LSOAs in this file: IoU 1, boundary F1 1.
    m = layer_tension(msoa, lsoa, a_id="MSOA11CD", b_id="LSOA11CD", engine=ENGINE,
                      score_weights=(1, 1, 0))
    assert m["iou"].min() > 0.9999
    assert m["f1_25"].min() > 0.999
    assert m["hausdorff_m"].max() < 1.0
    assert m["tension"].max() < 1e-3
    per_ward = unit_splits(lsoa, wards, area_id="LSOA11CD", unit_id="WD13CD", engine=ENGINE)
    assert (per_ward["n_areas"] == t["n_units"]).all()
    assert per_ward["outside_share"].max() < 0.01


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    x=st.integers(-100, 900), y=st.integers(-100, 900),
    w=st.integers(5, 600), h=st.integers(5, 600),
)
def test_bounds_hold_for_any_rectangle(x, y, w, h):
    cells = [shapely.box(i, j, i + 250, j + 250) for j in range(0, 1000, 250)
             for i in range(0, 1000, 250)]
    grid = gdf([f"g{i}" for i in range(16)], cells, col="cell")
    c = gdf(["N"], [shapely.box(x, y, x + w, y + h)], col="name")
    t = tension(c, grid, area_id="name", unit_id="cell", engine=ENGINE).loc["N"]
    assert 0 <= t["tension"] <= 1
    assert 0 <= t["iou"] <= 1 + 1e-12
    if t["n_units"] == 0:  # off the grid (or only slivers on it)
        assert t["tension"] >= 2 / 3
        return
    assert t["eff_units"] >= 1 - 1e-12
    assert t["entropy"] <= math.log2(t["n_units"]) + 1e-9
    assert t["eff_units"] <= t["n_units"] + 1e-9
    assert t["f1_25"] <= t["f1_50"] + 1e-12 <= t["f1_100"] + 2e-12
    assert t["hausdorff_p95_m"] <= t["hausdorff_m"] + 1e-9


def test_weights_alone_give_population_measures():
    import geopandas as gpd
    import shapely

    from nbhd_geo.measures.tension import tension

    wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]},
                             geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
                             crs=27700)
    drawn = gpd.GeoDataFrame({"name": ["N"]}, geometry=[shapely.box(50, 0, 150, 100)], crs=27700)
    pts = gpd.GeoDataFrame({"n": [30, 10]}, geometry=shapely.points([[75, 50], [125, 50]]),
                           crs=27700)
    t = tension(drawn, wards, area_id="name", unit_id="ward", weights=pts, weight_col="n")
    # All 30 + 10 people in the pieces: population shares 0.75 / 0.25.
    assert t.loc["N", "pop_eff_units"] == pytest.approx(1 / (0.75**2 + 0.25**2))
    assert t.loc["N", "eff_units"] == pytest.approx(2.0)


def test_engine_options_carry_the_working_crs(grid):
    """The areas are measured in the CRS the options name (Web Mercator stretches them)."""
    c = gdf(["N"], [shapely.box(10, 10, 600, 420)], col="name")
    bng = fragmentation(c, grid, area_id="name", unit_id="cell", engine=ENGINE)
    merc = EngineOptions(ENGINE, crs="EPSG:3857")
    web = fragmentation(c, grid, area_id="name", unit_id="cell", engine=merc)
    assert bng.loc["N", "area_m2"] == pytest.approx(590 * 410)
    assert web.loc["N", "area_m2"] == pytest.approx(float(c.to_crs(3857).area.iloc[0]))
    assert web.loc["N", "area_m2"] > 1.5 * bng.loc["N", "area_m2"]  # about 1/cos²(51°)
    t = tension(c, grid, area_id="name", unit_id="cell", engine=merc)
    assert t.loc["N", "area_m2"] == web.loc["N", "area_m2"]
    s = unit_splits(c, grid, area_id="name", unit_id="cell", engine=merc)
    assert s["unit_m2"].iloc[0] == pytest.approx(float(grid.to_crs(3857).area.iloc[0]))
