"""One reconciliation, many views: a crosswalk is computed once per layer pair and reused."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import nbhd_geo as ng
from nbhd_geo.overlay.crosswalk import record_passes


@pytest.fixture
def layers():
    rng = np.random.default_rng(3)
    units = gpd.GeoDataFrame(
        {"code": [f"U{i}" for i in range(12)], "pop": rng.integers(100, 900, 12)},
        geometry=[shapely.box(x * 100, y * 100, x * 100 + 100, y * 100 + 100)
                  for x in range(4) for y in range(3)], crs=27700)
    areas = gpd.GeoDataFrame(
        {"name": ["A", "B", "C"]},
        geometry=[shapely.box(30, 20, 170, 180), shapely.box(150, 90, 390, 260),
                  shapely.Point(300, 60).buffer(45)], crs=27700)
    fine = gpd.GeoDataFrame(
        {"people": rng.integers(1, 50, 48)},
        geometry=[shapely.box(x * 50, y * 50, x * 50 + 50, y * 50 + 50)
                  for x in range(8) for y in range(6)], crs=27700)
    return areas, units, fine


def test_passing_the_crosswalk_gives_identical_results_with_one_pass(layers):
    areas, units, fine = layers
    kw = dict(area_id="name", unit_id="code", unit_population="pop", weights=fine,
              weight_col="people")
    with record_passes() as without_reuse:
        fresh_fit = ng.best_fit(areas, units, **kw)
        fresh_tension = ng.tension(areas, units, **kw)
        fresh_splits = ng.unit_splits(areas, units, **kw)
    # Without reuse, areas x units is intersected by each function again.
    assert max(Counter(without_reuse).values()) >= 3
    with record_passes() as passes:
        cw = ng.crosswalk(areas, units, source_id="name", target_id="code")
        ap = ng.apportion(areas, units, crosswalk=cw, **kw)
        fit = ng.best_fit(areas, units, crosswalk=ap, **kw)
        ten = ng.tension(areas, units, crosswalk=ap, **kw)
        spl = ng.unit_splits(areas, units, crosswalk=ap, **kw)
    pd.testing.assert_frame_equal(fit.quality, fresh_fit.quality)
    pd.testing.assert_frame_equal(ten, fresh_tension)
    pd.testing.assert_frame_equal(spl, fresh_splits)
    counts = Counter(passes)
    assert max(counts.values()) == 1, counts
    # areas x units exactly once, even though five functions read it
    a_key, u_key = (p for p in passes[0])
    assert counts[(a_key, u_key)] == 1
    assert ap.crosswalk is cw


def test_a_crosswalk_of_other_layers_is_refused(layers):
    areas, units, _ = layers
    other = ng.crosswalk(areas.iloc[:2], units.iloc[:4], source_id="name", target_id="code")
    with pytest.raises(ng.InputError, match="crosswalk") as err:
        ng.apportion(areas, units, area_id="name", unit_id="code", crosswalk=other)
    assert "'C'" in str(err.value)


def test_a_crosswalk_of_a_superset_is_narrowed(layers):
    areas, units, _ = layers
    cw = ng.crosswalk(areas, units, source_id="name", target_id="code")
    sub = units[units["code"] != "U0"]
    a1 = ng.apportion(areas, sub, area_id="name", unit_id="code", unit_population="pop",
                      crosswalk=cw)
    a2 = ng.apportion(areas, sub, area_id="name", unit_id="code", unit_population="pop")
    pd.testing.assert_frame_equal(a1.table, a2.table)
    assert "U0" not in set(a1.table["unit_id"])


def test_full_report_intersects_each_layer_pair_once(tmp_path):
    from nbhd_geo.report.demo import run_demo

    with record_passes() as passes:
        run_demo(tmp_path / "demo", progress=False)
    counts = Counter(passes)
    repeated = {k: n for k, n in counts.items() if n > 1}
    assert repeated == {}, repeated
    assert len(passes) >= 6  # six statutory layers against the neighbourhoods, at least


def test_apportion_by_polygons_survives_pieces_geos_reduces_to_lines():
    """Cores cut by wards, apportioned to LSOAs by OAs: some pieces overlap LSOAs by ~1e-9 m²
    where GEOS's intersection gives only lines (found on the sample town, issue #16)."""
    from nbhd_geo import samples

    town = samples.get_path("town")
    lsoa = gpd.read_file(town, layer="lsoa").set_index("lsoa_code")
    ward = gpd.read_file(town, layer="ward").set_index("ward_code")
    oa = gpd.read_file(town, layer="oa")
    d, _ = ng.read_drawings(samples.get_path("drawings_workshop"), name_col="neighbourhood")
    cores = ng.consensus(d, thresholds=(0.5,)).cores.set_index("name")
    cw = ng.crosswalk(cores, ward, sliver_tol_m2=0)
    pieces = shapely.intersection(np.asarray(cores.geometry.loc[cw.table.source_id].array),
                                  np.asarray(ward.geometry.loc[cw.table.target_id].array))
    pf = gpd.GeoDataFrame(geometry=pieces, crs=27700)
    ap = ng.apportion(pf, lsoa, unit_population="population", weights=oa,
                      weight_col="population")
    cons = ap.conservation()
    assert np.isfinite(ap.table["population"]).all()
    assert (ap.table["population"] >= 0).all()
    assert len(cons) > 0
