"""Outlier flags: one test per reason, on handmade drawings, plus the sample town's faults."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from nbhd_geo import samples
from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.read import read_drawings
from nbhd_geo.voices.consensus import consensus
from nbhd_geo.voices.outliers import FLAGS, outliers, robust_far

CRS = 27700


def blob(x, y, r=100.0, n=24, seed=0):
    rng = np.random.default_rng(seed)
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rad = r * rng.uniform(0.9, 1.1, n)
    return shapely.Polygon(np.c_[x + rad * np.cos(ang), y + rad * np.sin(ang)])


def frame(geoms, names=None):
    names = names or ["A"] * len(geoms)
    ids = [f"d{i:02d}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"neighbourhood": names}, geometry=list(geoms),
                            index=pd.Index(ids, name="drawing_id"), crs=CRS)


@pytest.fixture
def good():
    return [blob(5 * i, -3 * i, seed=i) for i in range(8)]


def only(out, flag):
    return out.index[out[flag]].tolist()


def test_clean_drawings_have_no_flags(good):
    out = outliers(frame(good))
    assert not out["flagged"].any()
    assert (out["reasons"] == "").all()
    assert list(out.columns[-3:]) == ["n_flags", "flagged", "reasons"]
    assert set(FLAGS) <= set(out.columns)


def test_rectangle(good):
    out = outliers(frame(good + [shapely.box(-100, -100, 100, 100)]))
    assert only(out, "rectangle") == ["d08"]
    assert "axis-aligned rectangle" in out.loc["d08", "reasons"]
    # a rotated square is not a dragged box
    rot = shapely.affinity.rotate(shapely.box(-100, -100, 100, 100), 30)
    assert only(outliers(frame(good + [rot])), "rectangle") == []


def test_few_vertices(good):
    tri = shapely.Polygon([(-100, -100), (100, -100), (0, 100)])
    out = outliers(frame(good + [tri]))
    assert only(out, "few_vertices") == ["d08"]
    assert out.loc["d08", "reasons"].startswith("only 3 vertices")


def test_sliver(good):
    strip = shapely.Polygon([(-150, 0), (0, 2), (150, 0), (0, -2)])
    out = outliers(frame(good + [strip]))
    assert "d08" in only(out, "sliver")
    assert out.loc["d08", "polsby_popper"] < 0.05


def test_area_ratio(good):
    out = outliers(frame(good + [blob(0, 0, r=400), blob(0, 0, r=20)]))
    assert only(out, "area_ratio") == ["d08", "d09"]
    assert out.loc["d08", "area_vs_median"] > 10


def test_far_centroid(good):
    out = outliers(frame(good + [blob(3000, 0, seed=9)]))
    assert only(out, "far_centroid") == ["d08"]
    assert out.loc["d08", "centroid_score"] > 3.5


def test_low_core_overlap(good):
    off = blob(180, 0, seed=3)  # half a width away: near, but mostly outside the core
    out = outliers(frame(good + [off]), checks=["low_core_overlap"])
    assert only(out, "low_core_overlap") == ["d08"]
    assert out["core_iou"].drop("d08").min() > 0.5
    # a precomputed consensus gives the same answer
    c = consensus(frame(good + [off]), base=2.0, thresholds=(0.5,))
    out2 = outliers(frame(good + [off]), c, checks=["low_core_overlap"])
    assert only(out2, "low_core_overlap") == ["d08"]


def test_duplicate_exact_and_near(good):
    shifted = shapely.Polygon(list(good[0].exterior.coords)[5:] + list(good[0].exterior.coords)[1:6])
    near = shapely.affinity.translate(good[1], 0.001, 0)
    out = outliers(frame(good + [shifted, near]))
    assert only(out, "duplicate") == ["d08", "d09"]
    assert out.loc["d08", "duplicate_of"] == "d00"  # same shape, other start vertex
    assert out.loc["d09", "duplicate_of"] == "d01"


def test_repaired_from_read_report():
    bow = shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    raw = frame([blob(0, 0, seed=i) for i in range(3)] + [bow])
    gdf, report = read_drawings(raw.reset_index(), name_col="neighbourhood")
    out = outliers(gdf, report=report)
    assert only(out, "repaired") == ["d03"]
    assert "self-intersection" in out.loc["d03", "reasons"]


def test_sample_town_faults_flagged():
    gdf, report = read_drawings(samples.get_path("drawings_workshop"), layer="drawings",
                                name_col="neighbourhood")
    out = outliers(gdf, report=report)
    assert "WS-063" in only(out, "rectangle")
    assert "WS-063" in only(out, "low_core_overlap")
    assert "WS-032" in only(out, "repaired")
    assert out["flagged"].sum() <= 6  # the rest are plausible drawings


def test_checks_subset_and_errors(good):
    out = outliers(frame(good + [shapely.box(-100, -100, 100, 100)]), checks=["few_vertices"])
    assert not out["rectangle"].any()
    with pytest.raises(NbhdGeoError, match="checks"):
        outliers(frame(good), checks=["ugly"])


def test_order_independent_and_not_mutating(good):
    f = frame(good + [shapely.box(-100, -100, 100, 100), blob(3000, 0)])
    before = f.copy()
    a = outliers(f)
    b = outliers(f.sample(frac=1.0, random_state=1)).loc[a.index]
    pd.testing.assert_frame_equal(a, b)
    assert_geodataframe_equal(f, before)


def test_robust_far_small_groups_not_scored():
    score, far = robust_far(np.array([0.0, 100.0]), np.array([0.0, 0.0]), np.array([0, 0]))
    assert np.isnan(score).all() and not far.any()
