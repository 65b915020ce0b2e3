"""The voices' option objects: checked when made, and each setting changes the verdict it names."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import nbhd_geo as ng
from nbhd_geo.errors import ColumnError, NbhdGeoError
from nbhd_geo.overlay.crosswalk import crosswalk
from nbhd_geo.voices.consensus import consensus
from nbhd_geo.voices.councillors import councillor_view
from nbhd_geo.voices.coverage import engagement_coverage
from nbhd_geo.voices.options import (
    ContestedRule,
    OutlierCutoffs,
    ReusedCrosswalks,
    StabilityRule,
    UnheardRule,
    WardColumns,
)
from nbhd_geo.voices.outliers import outliers
from nbhd_geo.voices.stability import core_stability


@pytest.mark.parametrize(("make", "argument"), [
    (lambda: ContestedRule(bits=-1), "bits"),
    (lambda: ContestedRule(tie_ratio=1.5), "tie_ratio"),
    (lambda: ContestedRule(min_cover=float("nan")), "min_cover"),
    (lambda: OutlierCutoffs(rect_min=0), "rect_min"),
    (lambda: OutlierCutoffs(min_vertices=3.5), "min_vertices"),
    (lambda: OutlierCutoffs(area_factor=0), "area_factor"),
    (lambda: OutlierCutoffs(far_z="high"), "far_z"),
    (lambda: OutlierCutoffs(iou_min=-0.1), "iou_min"),
    (lambda: StabilityRule(min_iou=1.5), "min_iou"),
    (lambda: StabilityRule(max_boot=5), "max_boot"),
    (lambda: StabilityRule(mc_z=-1), "mc_z"),
    (lambda: UnheardRule(low_quantile=2), "low_quantile"),
    (lambda: UnheardRule(low_per_1000=-1), "low_per_1000"),
    (lambda: UnheardRule(deprived_deciles=11), "deprived_deciles"),
    (lambda: WardColumns(code=""), "ward_id"),
    (lambda: ReusedCrosswalks(wards="cw"), "reuse.wards"),
])
def test_bad_settings_are_refused_when_made(make, argument):
    with pytest.raises(NbhdGeoError) as err:
        make()
    assert err.value.argument == argument
    assert err.value.fix


def test_exported_at_the_top():
    for cls in (ContestedRule, OutlierCutoffs, StabilityRule, UnheardRule, WardColumns,
                ReusedCrosswalks):
        assert getattr(ng, cls.__name__) is cls
    assert isinstance(WardColumns(name=None).name, type(None))
    with pytest.raises(ColumnError):
        WardColumns(name=3)  # type: ignore[arg-type]


def test_contested_rule_reaches_consensus():
    # A and B each drawn once over the same 10 m square: an even split (1 bit) on 2 drawings
    d = gpd.GeoDataFrame({"neighbourhood": ["A", "B"]},
                         geometry=[shapely.box(0, 0, 10, 10)] * 2, index=["a", "b"], crs=27700)
    assert consensus(d, base=1.0).mix["contested"].all()
    assert not consensus(d, base=1.0, contested=ContestedRule(min_cover=3)).mix["contested"].any()
    # A drawn twice, B once: shares 2/3 and 1/3, H = 0.918 bits, runner-up 0.5 x the leader
    d3 = gpd.GeoDataFrame({"neighbourhood": ["A", "A", "B"]},
                          geometry=[shapely.box(0, 0, 10, 10)] * 3, index=["a", "b", "c"],
                          crs=27700)
    h = -(2 / 3 * np.log2(2 / 3) + 1 / 3 * np.log2(1 / 3))
    assert consensus(d3, base=1.0).mix["entropy_bits"].to_numpy() == pytest.approx(h)
    assert not consensus(d3, base=1.0).mix["contested"].any()
    assert consensus(d3, base=1.0, contested=ContestedRule(bits=0.9)).mix["contested"].all()
    assert consensus(d3, base=1.0, contested=ContestedRule(tie_ratio=0.5)).mix["contested"].all()


def test_outlier_cutoffs_reach_each_flag():
    rng = np.random.default_rng(1)
    blobs = [shapely.Point(5 * i, -3 * i).buffer(100 * rng.uniform(0.95, 1.05)) for i in range(8)]
    quad = shapely.Polygon([(-90, -80), (95, -100), (100, 90), (-100, 100)])  # 4 vertices
    far = shapely.Point(3000, 0).buffer(100)
    d = gpd.GeoDataFrame({"neighbourhood": ["A"] * 10}, geometry=[*blobs, quad, far],
                         index=[f"d{i}" for i in range(10)], crs=27700)
    checks = ["few_vertices", "far_centroid"]
    default = outliers(d, checks=checks)
    assert not default.loc["d8", "few_vertices"] and default.loc["d9", "far_centroid"]
    tuned = outliers(d, checks=checks, cutoffs=OutlierCutoffs(min_vertices=5, far_z=1e6))
    assert tuned.loc["d8", "few_vertices"] and not tuned["far_centroid"].any()
    assert tuned.loc["d8", "reasons"] == "only 4 vertices"


def test_stability_rule_reaches_the_verdict():
    d = gpd.GeoDataFrame({"neighbourhood": ["A"] * 12},
                         geometry=[shapely.box(i, 0, 100 + i, 100) for i in range(12)], crs=27700)
    ok = core_stability(d, n_boot=50, cell_size=5.0, rule=StabilityRule(min_drawings=5))
    assert ok.summary.loc["A", "decision"] == "stable"
    few = core_stability(d, n_boot=50, cell_size=5.0, rule=StabilityRule(min_drawings=13))
    assert few.summary.loc["A", "decision"] == "too few drawings"
    assert few.summary.loc["A", "reason"] == "fewer than 13 drawings"
    with pytest.raises(NbhdGeoError, match=r"rule=StabilityRule\(max_boot=4000\)") as err:
        core_stability(d, n_boot=50, cell_size=5.0, rule=StabilityRule(max_boot=20))
    assert err.value.argument == "max_boot"


def test_unheard_rule_reaches_coverage():
    lsoa = gpd.GeoDataFrame({"pop": [1000, 2000]}, index=["L1", "L2"],
                            geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
                            crs=27700)
    d = gpd.GeoDataFrame({"home": ["L1", "L1", None]}, index=["d1", "d2", "d3"],
                         geometry=[shapely.box(0, 0, 50, 50)] * 2 + [shapely.box(50, 0, 150, 100)],
                         crs=27700)
    dep = pd.Series({"L1": 2, "L2": 1})
    # per 1,000: L1 7/3 = 2.333, L2 1/3 = 0.333 (see engagement_coverage's example)
    default = engagement_coverage(d, lsoa, unit_population="pop", home_col="home",
                                  deprivation=dep)
    assert default.low_per_1000 == pytest.approx(1 / 3 + 0.25 * 2.0)  # the lower quartile
    assert default.table["unheard"].to_dict() == {"L1": False, "L2": True}
    fixed = engagement_coverage(d, lsoa, unit_population="pop", home_col="home",
                                deprivation=dep,
                                unheard=UnheardRule(low_per_1000=3.0, deprived_deciles=1))
    assert fixed.low_per_1000 == 3.0 and fixed.deprived_deciles == 1
    assert fixed.table["low_coverage"].to_dict() == {"L1": True, "L2": True}
    assert fixed.table["unheard"].to_dict() == {"L1": False, "L2": True}
    wider = engagement_coverage(d, lsoa, unit_population="pop", home_col="home",
                                deprivation=dep,
                                unheard=UnheardRule(low_per_1000=3.0, deprived_deciles=2))
    assert wider.table["unheard"].to_dict() == {"L1": True, "L2": True}


def test_ward_columns_and_reused_crosswalks_reach_the_view():
    lsoa = gpd.GeoDataFrame({"pop": [1000, 2000]}, index=["L1", "L2"],
                            geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
                            crs=27700)
    wards = gpd.GeoDataFrame({"ward": ["W1", "W2"], "label": ["Abbey", "Bridge"]},
                             geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 200, 100)],
                             crs=27700)
    nbhd = gpd.GeoDataFrame({"name": ["Oakfield"]}, geometry=[shapely.box(50, 0, 200, 100)],
                            crs=27700)
    cols = WardColumns(code="ward", name="label")
    fresh = councillor_view(nbhd, wards, lsoa, unit_population="pop", name_col="name",
                            ward_cols=cols)
    assert fresh.table["ward"].tolist() == ["W1", "W2"]
    assert fresh.table["ward_name"].tolist() == ["Abbey", "Bridge"]
    assert fresh.table["population"].tolist() == pytest.approx([1500.0, 1000.0])
    reuse = ReusedCrosswalks(
        wards=crosswalk(nbhd, wards, source_id="name", target_id="ward", sliver_tol_m2=0.0),
        units=crosswalk(nbhd, lsoa, source_id="name", sliver_tol_m2=0.0))
    again = councillor_view(nbhd, wards, lsoa, unit_population="pop", name_col="name",
                            ward_cols=cols, reuse=reuse)
    pd.testing.assert_frame_equal(again.table, fresh.table)
    # a crosswalk of other layers is refused, not silently used
    other = crosswalk(lsoa, wards, target_id="ward", sliver_tol_m2=0.0)
    with pytest.raises(NbhdGeoError):
        councillor_view(nbhd, wards, lsoa, unit_population="pop", name_col="name",
                        ward_cols=cols, reuse=ReusedCrosswalks(wards=other))
