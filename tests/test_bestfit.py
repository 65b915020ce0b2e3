"""best_fit: the three rules, exact max-IoU, fit quality numbers, layer QA."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from nbhd_geo import NbhdGeoError
from nbhd_geo.overlay.bestfit import best_fit
from nbhd_geo.overlay.tiling import check_tiling


@pytest.fixture(params=["exact", "geos"])
def engine(request):
    return request.param


def strip(widths):
    """Units side by side along x with the given widths, height 10."""
    edges = np.concatenate([[0], np.cumsum(widths)])
    return gpd.GeoDataFrame(
        {"code": [f"U{i}" for i in range(len(widths))], "pop": [100 * (i + 1) for i in range(len(widths))]},
        geometry=[shapely.box(edges[i], 0, edges[i + 1], 10) for i in range(len(widths))],
        crs=27700,
    )


def area(x0, x1, name="N"):
    return gpd.GeoDataFrame({"name": [name]}, geometry=[shapely.box(x0, 0, x1, 10)], crs=27700)


def selected(fit):
    return fit.members.loc[fit.members["selected"], "unit_id"].tolist()


def test_max_iou_and_quality_exact(engine):
    units = strip([10, 10, 10])
    fit = best_fit(area(1, 16), units, area_id="name", unit_id="code", engine=engine,
                   unit_population="pop")
    assert selected(fit) == ["U0", "U1"]
    q = fit.quality.loc["N"]
    assert q["iou"] == pytest.approx(150 / 200)
    assert q["included_outside_m2"] == pytest.approx(50.0)
    assert q["excluded_inside_m2"] == pytest.approx(0.0)
    assert q["included_outside_share"] == pytest.approx(50 / 150)
    assert q["n_units_touched"] == 2 and q["n_units_selected"] == 2
    # population: 90 of U0's 100 and 120 of U1's 200 are inside
    assert q["population"] == pytest.approx(210.0)
    assert q["pop_included_outside"] == pytest.approx(90.0)
    assert q["pop_iou"] == pytest.approx(210 / 300)


def test_majority_and_centroid(engine):
    units = strip([10, 10, 10])
    maj = best_fit(area(4, 26), units, area_id="name", unit_id="code", method="majority",
                   engine=engine)
    assert selected(maj) == ["U0", "U1", "U2"]  # 60 %, 100 %, 60 %
    maj2 = best_fit(area(6, 24), units, area_id="name", unit_id="code", method="majority",
                    engine=engine)
    assert selected(maj2) == ["U1"]  # 40 %, 100 %, 40 %
    cen = best_fit(area(4, 26), units, area_id="name", unit_id="code", method="centroid",
                   engine=engine)
    assert cen.centroid_basis == "point_on_surface"
    assert selected(cen) == ["U0", "U1", "U2"]  # surface points at x = 5, 15, 25


def test_population_weighted_centroid(engine):
    units = strip([10, 10])
    # U0's people all live at its west end: its weighted centroid is outside the drawing.
    pts = gpd.GeoDataFrame({"n": [50, 50, 30]}, geometry=shapely.points([[1, 5], [2, 5], [15, 5]]),
                           crs=27700)
    fit = best_fit(area(4, 20), units, area_id="name", unit_id="code", method="centroid",
                   weights=pts, weight_col="n", engine=engine)
    assert fit.centroid_basis == "population-weighted"
    assert selected(fit) == ["U1"]


def test_no_unit_selected_is_reported_not_dropped(engine):
    units = strip([100, 100])
    fit = best_fit(area(10, 12), units, area_id="name", unit_id="code", method="majority",
                   engine=engine)
    assert selected(fit) == []
    assert fit.quality.loc["N", "iou"] == 0.0
    assert fit.quality.loc["N", "excluded_inside_share"] == pytest.approx(1.0)
    geo = fit.geometries()
    assert list(geo.index) == ["N"] and geo.geometry.iloc[0].is_empty


def test_unknown_method():
    with pytest.raises(NbhdGeoError, match=r"method: unknown method 'best'.*'max_iou'"):
        best_fit(area(0, 1), strip([10]), method="best")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1, 20), min_size=1, max_size=7), st.floats(0, 60), st.floats(0.5, 60))
def test_max_iou_is_the_true_maximum(widths, x0, length):
    """Brute force over every subset agrees with the prefix scan."""
    units = strip(widths)
    drawn = area(x0, x0 + length)
    fit = best_fit(drawn, units, area_id="name", unit_id="code", engine="geos")
    m = fit.members
    a = length * 10
    best = 0.0
    for r in range(1, len(m) + 1):
        for combo in itertools.combinations(range(len(m)), r):
            inter = m["overlap_m2"].iloc[list(combo)].sum()
            usum = sum(units.geometry.iloc[int(m["unit_id"].iloc[k][1:])].area for k in combo)
            best = max(best, inter / (a + usum - inter))
    assert fit.quality.loc["N", "iou"] == pytest.approx(best, rel=1e-9, abs=1e-12)


def test_check_tiling_handmade(engine):
    layer = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"]},
        geometry=[
            shapely.box(0, 0, 10, 10),
            shapely.box(9, 0, 20, 10),
            shapely.box(0, 10, 20, 20).difference(shapely.box(5, 12, 6, 13)),
        ],
        crs=27700,
    )
    rep = check_tiling(layer, id_col="code", engine=engine)
    assert rep.overlaps[["id_a", "id_b"]].values.tolist() == [["A", "B"]]
    assert rep.overlaps["area_m2"].tolist() == pytest.approx([10.0])
    assert rep.gaps["area_m2"].tolist() == pytest.approx([1.0])
    assert rep.gaps["neighbours"].tolist() == ["C"]
    with_extent = check_tiling(layer, id_col="code", extent=shapely.box(0, 0, 21, 20), engine=engine)
    assert sorted(with_extent.gaps["area_m2"]) == pytest.approx([1.0, 20.0])
    assert not rep.tiles
    clean = check_tiling(layer.iloc[:1], id_col="code", engine=engine)
    assert clean.tiles
    tol = check_tiling(layer, id_col="code", tolerance_m2=5.0, engine=engine)
    assert tol.gaps.empty and tol.n_small_gaps == 1 and tol.small_gap_m2 == pytest.approx(1.0)


@pytest.mark.shared
def test_check_tiling_ew2021_generalised_lsoa_against_district(shared):
    import pandas as pd

    from nbhd_geo.io.read import read_layer

    lk = pd.read_csv(shared("ons", "ew2021", "lookup_lsoa21_ward24_ltla24.csv"))
    codes = set(lk.loc[lk["ltla24_code"] == "E08000036", "lsoa21_code"])
    lsoa, _ = read_layer(shared("ons", "ew2021", "boundaries_lsoa21.gpkg"), id_col="lsoa21_code")
    lad, _ = read_layer(shared("ons", "ew2021", "boundaries_ltla24.gpkg"), id_col="ltla24_code")
    sub = lsoa[lsoa.index.isin(codes)]
    assert len(sub) == 215
    rep = check_tiling(sub, extent=lad.loc[["E08000036"]])
    s = rep.summary()
    # LSOAs and the district were generalised separately: they do not tile it exactly.
    assert not rep.tiles
    assert s["gaps"] > 10
    assert 1e5 < s["gap_m2"] < 1e8
    assert s["layer_area_m2"] - s["union_area_m2"] == pytest.approx(s["overlap_m2"], abs=1.0)
    assert set(rep.to_frame()["kind"]) >= {"gap"}
