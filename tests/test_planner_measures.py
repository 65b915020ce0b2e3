"""Split, fit and boundary as planners mean them; allocation that follows need (#12)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import nbhd_geo as ng
from nbhd_geo.deprivation.allocation import AllocationWarning, allocate

WARDS = gpd.GeoDataFrame(
    {"ward": [f"W{i}{j}" for i in range(3) for j in range(3)]},
    geometry=[shapely.box(i * 1000, j * 1000, i * 1000 + 1000, j * 1000 + 1000)
              for i in range(3) for j in range(3)], crs=27700)


def test_split_is_zero_inside_one_ward_and_names_the_share_outside():
    areas = gpd.GeoDataFrame(
        {"name": ["inside", "across", "small_inside"]},
        geometry=[shapely.box(100, 100, 900, 900), shapely.box(700, 100, 1300, 900),
                  shapely.box(2100, 2100, 2200, 2200)], crs=27700)
    t = ng.tension(areas, WARDS, area_id="name", unit_id="ward")
    assert t.loc["inside", "split"] == 0.0
    assert bool(t.loc["inside", "inside_one_unit"])
    assert t.loc["small_inside", "split"] == 0.0
    # 600 m wide, 300 m of it beyond the main ward: half outside
    assert t.loc["across", "split"] == pytest.approx(0.5)
    assert not bool(t.loc["across", "inside_one_unit"])
    assert t.loc["across", "boundary_agreement"] == t.loc["across", "f1_50"]


def test_auto_weights_follow_the_methods_page():
    areas = gpd.GeoDataFrame({"name": ["big"]}, geometry=[shapely.box(0, 0, 2500, 2500)],
                             crs=27700)
    t = ng.tension(areas, WARDS, area_id="name", unit_id="ward", score_weights="auto")
    assert t.attrs["score_weights"] == (1.0, 1.0, 0.0)  # wards are building blocks here
    small = gpd.GeoDataFrame({"name": ["s"]}, geometry=[shapely.box(10, 10, 300, 300)],
                             crs=27700)
    t2 = ng.tension(small, WARDS, area_id="name", unit_id="ward", score_weights="auto")
    assert t2.attrs["score_weights"] == (1.0, 1.0, 1.0)
    with pytest.raises(ng.NbhdGeoError, match="score_weights"):
        ng.tension(small, WARDS, area_id="name", unit_id="ward", score_weights="nope")


_box = st.tuples(st.integers(0, 2800), st.integers(0, 2800), st.integers(20, 1500),
                 st.integers(20, 1500))


@settings(max_examples=60, deadline=None)
@given(boxes=st.lists(_box, min_size=2, max_size=8))
def test_inside_one_unit_never_ranks_as_more_split_than_one_cut_across(boxes):
    geoms = [shapely.box(x, y, min(x + w, 3000), min(y + h, 3000)) for x, y, w, h in boxes]
    areas = gpd.GeoDataFrame({"name": [f"n{i}" for i in range(len(geoms))]},
                             geometry=geoms, crs=27700)
    areas = areas[areas.area > 100]
    if len(areas) < 2:
        return
    t = ng.fragmentation(areas, WARDS, area_id="name", unit_id="ward")
    inside = t[t["inside_one_unit"]]
    cut = t[t["n_units"] >= 2]
    assert (inside["split"] == 0).all()
    assert (cut["split"] > 0).all()
    if len(inside) and len(cut):
        ranked = t.sort_values("split", ascending=False, kind="stable").index.tolist()
        assert max(ranked.index(i) for i in cut.index) < min(ranked.index(i) for i in inside.index)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.floats(0, 80, allow_nan=False), st.integers(1, 40_000)),
                     min_size=2, max_size=30),
       budget=st.integers(0, 10**8), floor_share=st.floats(0, 1), gradient=st.floats(0, 10))
def test_default_money_per_head_never_falls_with_deprivation(rows, budget, floor_share,
                                                             gradient):
    areas = pd.DataFrame({"area_id": [f"a{i:02d}" for i in range(len(rows))],
                          "need": [r[0] for r in rows], "pop": [r[1] for r in rows]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", AllocationWarning)
        out = allocate(budget, areas, need="need", population="pop",
                       floor_share=floor_share, gradient=gradient)
    assert int(out["allocation"].sum()) == budget
    ph = out["per_head"].to_numpy()
    pop = out["population"].to_numpy()
    need = out["need"].to_numpy()
    for i in range(len(out)):
        for j in range(len(out)):
            if need[i] > need[j]:
                # whole-pound rounding moves each allocation by < £1
                assert ph[i] >= ph[j] - (1 / pop[i] + 1 / pop[j]) - 1e-9


def test_equal_floor_that_dominates_is_warned_about():
    # The smallest area is the least deprived: an equal floor gives it 19x the money per
    # head of the most deprived area (the round-1 default; see issue #12).
    areas = pd.DataFrame({"area_id": ["tiny", "big", "mid"], "score": [10.0, 40.0, 20.0],
                          "pop": [36, 5000, 3000]})
    with pytest.warns(AllocationWarning, match="per head falls") as rec:
        out = allocate(100_000, areas, need="score", population="pop", floor_by="equal")
    assert "'mid'" in str(rec[0].message) and "'tiny'" in str(rec[0].message)
    assert out["per_head"].round(2).tolist() == [190.89, 12.73, 9.82]
    default = allocate(100_000, areas, need="score", population="pop")
    assert default["per_head"].round(2).tolist() == [8.19, 13.89, 10.09]
    assert default["allocation"].sum() == 100_000
