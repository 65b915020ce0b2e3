"""apportion: area, fine-polygon and point weighting with exact values and conservation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nbhd_geo import ColumnError, InputError, NbhdGeoError
from nbhd_geo.overlay.apportion import apportion


@pytest.fixture(params=["exact", "geos"])
def engine(request):
    return request.param


@pytest.fixture
def lsoa():
    return gpd.GeoDataFrame(
        {"code": ["L1", "L2"], "pop": [1000, 500]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        crs=27700,
    )


@pytest.fixture
def drawn():
    return gpd.GeoDataFrame(
        {"name": ["Oakfield", "Tiny"]},
        geometry=[shapely.box(60, 0, 150, 100), shapely.box(195, 0, 200, 100)],
        crs=27700,
    )


def run(drawn, lsoa, engine, **kw):
    return apportion(
        drawn, lsoa, area_id="name", unit_id="code", unit_population="pop", engine=engine, **kw
    )


def test_by_area_exact_values(drawn, lsoa, engine):
    ap = run(drawn, lsoa, engine)
    assert ap.by == "area"
    t = ap.table.set_index(["area_id", "unit_id"])
    assert t.loc[("Oakfield", "L1"), "pop_share"] == pytest.approx(0.4, rel=1e-12)
    assert t.loc[("Oakfield", "L2"), "population"] == pytest.approx(250.0, rel=1e-12)
    # A unit 5 % covered gives 5 % of its people, never 100 % (tobler's allocate_total trap).
    assert t.loc[("Tiny", "L2"), "pop_share"] == pytest.approx(0.05, rel=1e-12)
    assert t.loc[("Tiny", "L2"), "population"] == pytest.approx(25.0, rel=1e-12)
    cons = ap.conservation()
    assert cons.loc["L1", "allocated"] == pytest.approx(400.0)
    assert cons.loc["L2", "allocated"] == pytest.approx(275.0)
    assert cons.loc["TOTAL", "population"] == 1500
    assert cons.loc["TOTAL", "allocated"] + cons.loc["TOTAL", "unallocated"] == pytest.approx(1500)
    assert not cons["over_allocated"].any()


def test_by_fine_polygons(drawn, lsoa, engine):
    oa = gpd.GeoDataFrame(
        {"n": [100, 300, 50, 50]},
        geometry=[shapely.box(x, 0, x + 50, 100) for x in (0, 50, 100, 150)],
        crs=27700,
    )
    ap = run(drawn, lsoa, engine, weights=oa, weight_col="n")
    assert ap.by == "polygons"
    t = ap.table.set_index(["area_id", "unit_id"])
    # 40 of the 50 m of the 300-person OA are inside: 240 of L1's 400 OA people -> 0.6.
    assert t.loc[("Oakfield", "L1"), "pop_share"] == pytest.approx(0.6, rel=1e-12)
    assert t.loc[("Oakfield", "L1"), "population"] == pytest.approx(600.0, rel=1e-12)
    assert t.loc[("Oakfield", "L2"), "pop_share"] == pytest.approx(0.5, rel=1e-12)
    assert t.loc[("Tiny", "L2"), "pop_share"] == pytest.approx(0.05, rel=1e-12)
    assert ap.units.loc["L1", "weight_total"] == pytest.approx(400.0)


def test_by_points_with_boundary_tie_break(drawn, lsoa, engine):
    pts = gpd.GeoDataFrame(
        {"n": [10, 30, 5, 5, 7]},
        geometry=shapely.points([[10, 10], [80, 50], [120, 50], [180, 50], [100, 50]]),
        crs=27700,
    )
    ap = run(drawn, lsoa, engine, weights=pts, weight_col="n")
    assert ap.by == "points"
    t = ap.table.set_index(["area_id", "unit_id"])
    # The point on the L1|L2 border (100, 50) counts once, for L1 (first in input order).
    assert ap.units.loc["L1", "weight_total"] == 47
    assert ap.units.loc["L2", "weight_total"] == 10
    assert t.loc[("Oakfield", "L1"), "pop_share"] == pytest.approx(37 / 47, rel=1e-12)
    assert t.loc[("Oakfield", "L2"), "pop_share"] == pytest.approx(0.5, rel=1e-12)
    # Tiny holds no points: its share of L2 is 0 people, not an area guess.
    assert t.loc[("Tiny", "L2"), "pop_share"] == 0.0


def test_unit_without_points_falls_back_to_area(drawn, lsoa, engine):
    pts = gpd.GeoDataFrame({"n": [10]}, geometry=shapely.points([[10, 10]]), crs=27700)
    ap = run(drawn, lsoa, engine, weights=pts, weight_col="n")
    assert ap.units.loc["L2", "weighted_by"] == "area"
    assert ap.units.loc["L1", "weighted_by"] == "points"
    t = ap.table.set_index(["area_id", "unit_id"])
    assert t.loc[("Oakfield", "L2"), "pop_share"] == pytest.approx(0.5)


def test_overlapping_areas_flag_over_allocation(lsoa, engine):
    drawn = gpd.GeoDataFrame(
        {"name": ["A", "B"]},
        geometry=[shapely.box(0, 0, 80, 100), shapely.box(20, 0, 100, 100)],
        crs=27700,
    )
    cons = run(drawn, lsoa, engine).conservation()
    assert cons.loc["L1", "share_allocated"] == pytest.approx(1.6)
    assert bool(cons.loc["L1", "over_allocated"])


def test_errors_name_argument_and_fix(drawn, lsoa):
    with pytest.raises(ColumnError, match=r"units: has no column 'people'.*Fix: pass unit_population="):
        apportion(drawn, lsoa, unit_population="people")
    with pytest.raises(InputError, match=r"weights: by='points' needs a weighting layer"):
        apportion(drawn, lsoa, by="points")
    bad = lsoa.assign(pop=[1000, -1])
    with pytest.raises(NbhdGeoError, match=r"negative.*ids: 1"):
        apportion(drawn, bad, unit_population="pop")
    with pytest.raises(NbhdGeoError, match="unknown method 'oa'"):
        apportion(drawn, lsoa, by="oa")


@pytest.mark.shared
def test_wakefield_oa_weighting_conserves_population(shared):
    from nbhd_geo.io.read import read_layer

    oa, _ = read_layer(shared("ons", "wakefield", "oa11.geojson"))
    lsoa, _ = read_layer(shared("ons", "wakefield", "lsoa11.geojson"), id_col="LSOA11CD")
    rng = np.random.default_rng(7)
    oa["people"] = rng.integers(100, 400, len(oa))
    lsoa["pop"] = 1500
    centre = lsoa.union_all().centroid
    drawn = gpd.GeoDataFrame(
        {"name": ["N1", "N2"]},
        geometry=[centre.buffer(4000), shapely.affinity.translate(centre, 6000, 0).buffer(1200)],
        crs=27700,
    )
    ap = apportion(drawn, lsoa, area_id="name", unit_population="pop",
                   weights=oa, weight_col="people")
    cons = ap.conservation()
    units = cons.drop("TOTAL")
    assert (units["share_allocated"] <= 1 + 1e-9).all()
    assert cons.loc["TOTAL", "allocated"] + cons.loc["TOTAL", "unallocated"] == pytest.approx(
        1500 * len(lsoa)
    )
    by_area = ap.by_area()
    assert by_area.loc["N1", "population"] > 0
    # Fully inside LSOAs get share 1 exactly (up to float), partial ones less.
    assert ap.table["pop_share"].max() == pytest.approx(1.0, abs=1e-9)


def test_unit_population_defaults_to_weights_total(drawn, lsoa, engine):
    pts = gpd.GeoDataFrame({"n": [10, 30, 5, 5]},
                           geometry=shapely.points([[10, 10], [80, 50], [120, 50], [180, 50]]),
                           crs=27700)
    ap = apportion(drawn, lsoa, area_id="name", unit_id="code", weights=pts, weight_col="n",
                   engine=engine)
    t = ap.table.set_index(["area_id", "unit_id"])
    assert ap.units.loc["L1", "population"] == 40
    assert t.loc[("Oakfield", "L1"), "population"] == pytest.approx(30.0)
    assert t.loc[("Oakfield", "L2"), "population"] == pytest.approx(5.0)
