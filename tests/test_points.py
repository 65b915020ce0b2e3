"""Points → footprints: handmade clusters with stray points, and the Edinburgh survey."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nbhd_geo.errors import ColumnError, NbhdGeoError
from nbhd_geo.voices.points import point_footprints

CRS = 27700


@pytest.fixture
def survey():
    rng = np.random.default_rng(42)
    a = rng.normal((0, 0), 100, (150, 2))
    b = rng.normal((1500, 0), 150, (100, 2))
    stray = np.array([[5000.0, 5000.0]])  # someone in A named far away
    xy = np.vstack([a, b, stray, [[0, 2000], [10, 2000]]])
    names = ["A"] * 150 + ["B"] * 100 + ["A"] + ["C", "C"]
    return gpd.GeoDataFrame({"nbhd": names}, geometry=shapely.points(xy), crs=CRS,
                            index=pd.RangeIndex(len(xy)) + 1000)


def test_kde_footprints_hold_the_level(survey):
    fp = point_footprints(survey, by="nbhd", level=0.75)
    f = fp.footprints
    assert list(f.index) == ["A", "B"]
    assert f.is_valid.all()
    for name in ("A", "B"):
        assert 0.74 <= f.loc[name, "share_inside"] <= 0.80
    # the footprint of A is around (0, 0), not pulled to the stray point
    assert shapely.contains_xy(f.geometry["A"], 0, 0)
    assert f.geometry["A"].bounds[2] < 500
    assert not shapely.intersects(f.geometry["A"], f.geometry["B"])


def test_stray_points_flagged_not_dropped(survey):
    fp = point_footprints(survey, by="nbhd")
    p = fp.points
    assert len(p) == len(survey) and (p.index == survey.index).all()
    assert p.loc[1250, "far"] and p.loc[1250, "flagged"]
    assert "far from the other 'A' points" in p.loc[1250, "reasons"]
    assert p["far"].sum() <= 5
    assert fp.footprints.loc["A", "n_points"] == 151  # the stray point still counts
    # too few points: no footprint, reported
    assert fp.skipped.to_dict() == {"C": 2}
    assert p.loc[1251, "reasons"] == "no footprint for its name (too few points)"


def test_concave_hull_leaves_far_points_out(survey):
    fp = point_footprints(survey, by="nbhd", method="concave_hull", ratio=0.3)
    f = fp.footprints
    assert f.is_valid.all()
    assert not shapely.contains_xy(f.geometry["A"], 5000, 5000)
    assert f.loc["A", "share_inside"] >= 0.95


def test_bandwidth_and_order_independence(survey):
    a = point_footprints(survey, by="nbhd", bandwidth=50.0)
    assert a.footprints.loc["A", "bandwidth_m"] == 50.0
    assert a.footprints.loc["A", "cell_m"] == 10.0
    b = point_footprints(survey.sample(frac=1.0, random_state=3), by="nbhd", bandwidth=50.0)
    assert all(shapely.equals(x, y) for x, y in zip(a.footprints.geometry, b.footprints.geometry,
                                                     strict=True))
    pd.testing.assert_frame_equal(a.points, b.points.loc[a.points.index])


def test_errors(survey):
    with pytest.raises(ColumnError):
        point_footprints(survey, by="name")
    with pytest.raises(NbhdGeoError, match="method"):
        point_footprints(survey, by="nbhd", method="voronoi")
    with pytest.raises(NbhdGeoError, match="level"):
        point_footprints(survey, by="nbhd", level=1.5)


@pytest.mark.shared
def test_edinburgh_survey(shared):
    path = shared("points", "edinburgh", "survey_data_latlng.csv")
    df = pd.read_csv(path)
    assert {"Allocated NN", "Latitude", "Longitude"} <= set(df.columns)
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]),
                           crs="EPSG:4326")
    fp = point_footprints(pts, by="Allocated NN")
    f = fp.footprints
    assert len(f) + len(fp.skipped) == df["Allocated NN"].nunique()
    assert len(f) > 100 and f.is_valid.all()
    assert f["share_inside"].median() == pytest.approx(0.75, abs=0.05)
    # Leith, the most named, lies north-east of the city centre (EPSG:27700)
    c = f.geometry["Leith"].centroid
    assert 325_000 < c.x < 330_000 and 675_000 < c.y < 679_000
    assert fp.points["far"].mean() < 0.05
