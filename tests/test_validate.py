"""Tests for nbhd_geo.io.validate: one rule per test, plus a property test."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from nbhd_geo.io.validate import STATUSES, describe_invalid, validate_points, validate_polygons

BOWTIE = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])


def one(geom, **kwargs):
    out, rows = validate_polygons([geom], **kwargs)
    return out[0], rows.iloc[0]


def test_valid_ccw_polygon_kept_untouched():
    geom = shapely.box(0, 0, 10, 10)
    out, row = one(geom)
    assert (row["status"], row["reason"]) == ("kept", "")
    assert row["area_in_m2"] == row["area_out_m2"] == 100.0
    assert shapely.equals_identical(out, shapely.orient_polygons(geom))


def test_bowtie_repaired():
    out, row = one(BOWTIE)
    assert row["status"] == "repaired"
    assert row["reason"] == ("self-intersection at (1.0, 1.0) repaired with make_valid: "
                             "1 polygon → 2-part multipolygon, area 0.0 → 2.0 m²")
    assert out.geom_type == "MultiPolygon" and out.is_valid
    assert all(shapely.is_ccw(p.exterior) for p in out.geoms)


def test_clockwise_exterior_reoriented():
    out, row = one(shapely.box(0, 0, 1, 1, ccw=False))
    assert (row["status"], row["reason"]) == ("kept", "clockwise exterior ring reoriented")
    assert shapely.is_ccw(out.exterior)


def test_counter_clockwise_hole_reoriented():
    geom = shapely.Polygon(shapely.box(0, 0, 10, 10).exterior.coords,
                           [shapely.box(2, 2, 4, 4).exterior.coords])  # hole CCW
    out, row = one(geom)
    assert row["reason"] == "counter-clockwise hole ring reoriented"
    assert not shapely.is_ccw(out.interiors[0])


@pytest.mark.parametrize("geom, text", [
    (None, "empty geometry"),
    (shapely.Polygon(), "empty geometry"),
    (shapely.Point(0, 0), "not a polygon: Point"),
    (shapely.LineString([(0, 0), (1, 1)]), "not a polygon: LineString"),
    (shapely.MultiPoint([(0, 0), (1, 1)]), "not a polygon: MultiPoint"),
    (shapely.GeometryCollection([shapely.Point(0, 0)]),
     "not a polygon: GeometryCollection of Point"),
    (shapely.from_wkt("POLYGON ((0 0, 1 1, 0 0))"), "degenerate: too few points at (0.0, 0.0)"),
    (shapely.from_wkt("POLYGON ((0 0, 1 1, 2 2, 0 0))"),
     "self-intersection at (1.0, 1.0): nothing with area left after make_valid"),
])
def test_rejections(geom, text):
    out, row = one(geom)
    assert out is None
    assert (row["status"], row["reason"]) == ("rejected", text)
    assert np.isnan(row["area_out_m2"])


def test_geometry_collection_keeps_polygons():
    geom = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5),
                                       shapely.LineString([(0, 0), (3, 3)])])
    out, row = one(geom)
    assert row["reason"] == ("GeometryCollection: kept 1 polygonal part, dropped 2 other parts "
                             "(LineString, Point)")
    assert row["status"] == "repaired" and out.equals(shapely.box(0, 0, 1, 1))


def test_geometry_collection_with_invalid_polygon():
    out, row = one(shapely.GeometryCollection([BOWTIE, shapely.Point(5, 5)]))
    assert row["status"] == "repaired"
    assert row["reason"].startswith("GeometryCollection: kept 1 polygonal part, dropped 1 other "
                                    "part (Point); self-intersection at (1.0, 1.0) repaired")
    assert out.is_valid


def test_no_repair_rejects_invalid():
    _, row = one(BOWTIE, repair=False)
    assert row["reason"] == "invalid: self-intersection at (1.0, 1.0) (repair=False)"


def test_min_area():
    _, rows = validate_polygons([shapely.box(0, 0, 1, 1), shapely.box(0, 0, 3, 3)],
                                min_area_m2=2)
    assert rows["status"].tolist() == ["rejected", "kept"]
    assert rows["reason"].iloc[0] == "area 1.0 m² below min_area_m2=2"


def test_input_not_mutated():
    geoms = np.array([shapely.box(0, 0, 1, 1, ccw=False), BOWTIE], dtype=object)
    before = geoms.copy()
    validate_polygons(geoms)
    assert all(shapely.equals_identical(geoms, before))


def test_describe_invalid():
    assert describe_invalid(BOWTIE) == ("self-intersection", (1.0, 1.0))


def test_points():
    out, rows = validate_points([shapely.Point(0, 0), shapely.box(0, 0, 1, 1), None])
    assert rows["status"].tolist() == ["kept", "rejected", "rejected"]
    assert rows["reason"].tolist() == ["", "not a point: Polygon", "empty geometry"]
    assert out[1] is None and out[2] is None


coords = st.tuples(st.integers(-5, 5), st.integers(-5, 5))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(coords, min_size=3, max_size=7), min_size=1, max_size=6))
def test_every_feature_accounted_for(rings):
    geoms = [shapely.Polygon(ring) for ring in rings]
    out, rows = validate_polygons(geoms)
    assert len(out) == len(rows) == len(geoms)
    assert set(rows["status"]) <= set(STATUSES)
    live = rows["status"].ne("rejected").to_numpy()
    assert all(g is not None for g in out[live]) and all(g is None for g in out[~live])
    if live.any():
        kept = np.array(list(out[live]), dtype=object)
        assert shapely.is_valid(kept).all()
        assert (shapely.area(kept) > 0).all()
        assert np.isin(shapely.get_type_id(kept), (3, 6)).all()
        assert np.allclose(rows.loc[live, "area_out_m2"], shapely.area(kept))
    assert (rows.loc[rows["status"].ne("kept"), "reason"] != "").all()


def test_make_valid_multipolygon_with_shared_edge_is_dissolved():
    # GEOS make_valid(method="structure") returns an invalid MultiPolygon here (found by
    # hypothesis): the parts must be dissolved.
    out, row = one(shapely.Polygon([(0, 2), (0, 1), (1, 0), (0, 0), (0, 1), (1, 0)]))
    assert row["status"] == "repaired" and out.is_valid
    assert row["area_out_m2"] == pytest.approx(1.0)
