"""The exact engine's validity test: it never shows valid a polygon GEOS finds invalid.

``proven_valid`` lets crosswalk skip GEOS's validity check for one-ring polygons; a wrong
True would let a bow-tie through to the area computation, so it is checked against GEOS on
hostile rings (self-touching, spikes, repeated and collinear points, integer grids where
every degeneracy happens) and real-like ones (which it must show, or it saves nothing).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbhd_geo import crosswalk
from nbhd_geo.errors import ValidationError
from nbhd_geo.overlay.exact.rings import proven_valid


def _arr(geoms: list) -> np.ndarray:
    out = np.empty(len(geoms), dtype=object)
    out[:] = geoms
    return out


@st.composite
def rings(draw: st.DrawFn) -> shapely.Polygon | None:
    """A polygon from a ring drawn on a small grid (often invalid), with repeats and spikes."""
    coord = st.integers(0, 4) if draw(st.booleans()) else st.sampled_from([0.0, 0.5, 1.0, 3.0])
    pts = draw(st.lists(st.tuples(coord, coord), min_size=3, max_size=9))
    if draw(st.booleans()) and len(pts) > 3:  # a spike: back to the vertex before last
        pts.insert(len(pts) - 1, pts[-3])
    if draw(st.booleans()):  # a repeated vertex
        k = draw(st.integers(0, len(pts) - 1))
        pts.insert(k, pts[k])
    try:
        return shapely.Polygon([(float(x), float(y)) for x, y in pts])
    except (ValueError, shapely.errors.GEOSException):
        return None


@given(st.lists(rings(), min_size=1, max_size=20))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_never_shows_an_invalid_polygon_valid(polys):
    polys = [p for p in polys if p is not None]
    if not polys:
        return
    # the same rings as multipolygons too: two, three and all of them (parts apart or not)
    multis = [shapely.MultiPolygon(polys[k : k + w]) for w in (2, 3) for k in range(len(polys))]
    geoms = _arr([*polys, *multis, shapely.MultiPolygon(polys)])
    shown = proven_valid(geoms)
    valid = shapely.is_valid(geoms)
    assert not (shown & ~valid).any(), [g.wkt for g in geoms[shown & ~valid]]


def test_shows_real_like_polygons_and_refuses_the_classic_invalid_ones():
    rng = np.random.default_rng(7)
    stars = []
    for n in (3, 5, 40, 400):
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = 0.75 + 0.2 * np.sin(5 * ang) + rng.uniform(0, 0.01, n)  # wiggly, like a boundary
        stars.append(shapely.Polygon(np.c_[430000 + rad * np.cos(ang), 420000 + rad * np.sin(ang)]))
    # collinear vertices along a side, a repeated vertex, a comb (many x-ties, long base)
    collinear = shapely.Polygon([(0, 0), (1, 0), (2, 0), (2, 2), (2, 2), (0, 2)])
    teeth = [(x, y) for k in range(200) for x, y in ((2 * k, 0), (2 * k + 1, 5))]
    comb = shapely.Polygon([*teeth, (400, 0), (400, -1), (0, -1)])
    good = [*stars, collinear, comb, shapely.box(0, 0, 1, 1)]
    assert shapely.is_valid(_arr(good)).all()
    assert proven_valid(_arr(good)).tolist() == [True] * len(good)
    with pytest.warns(RuntimeWarning):  # shapely warns of the NaN, and makes it
        nan_corner = shapely.Polygon([(0, 0), (1, 0), (1, np.nan), (0, 1)])
    bad = [
        shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),  # bow-tie
        shapely.Polygon([(0, 0), (4, 0), (4, 4), (2, 0), (0, 4)]),  # touches itself at (2, 0)
        shapely.Polygon([(0, 0), (4, 0), (4, 4), (4, 6), (4, 4), (0, 4)]),  # a spike out and back
        shapely.Polygon([(0, 0), (2, 0), (1, 0), (3, 3)]),  # folds back along its first side
        shapely.Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]),  # no area
        nan_corner,
    ]
    assert not shapely.is_valid(_arr(bad)).any()
    assert proven_valid(_arr(bad)).tolist() == [False] * len(bad)
    # parts whose boxes are apart are shown; parts that may touch are left to GEOS
    apart = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3), stars[2]])
    corner = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)])
    nested = shapely.MultiPolygon([shapely.box(0, 0, 9, 9), shapely.box(3, 3, 6, 6)])
    side = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    assert shapely.is_valid(_arr([apart, corner])).all()
    assert not shapely.is_valid(_arr([nested, side])).any()
    assert proven_valid(_arr([apart, corner, nested, side])).tolist() == [True, False, False, False]
    # holes are left to GEOS (not shown), as is anything empty or missing
    holed = shapely.box(0, 0, 9, 9).difference(shapely.box(3, 3, 6, 6))
    others = _arr([holed, shapely.Polygon(), shapely.MultiPolygon(), None, shapely.Point(0, 0)])
    assert proven_valid(others).tolist() == [False] * 5


def test_crosswalk_still_refuses_an_invalid_candidate_the_test_cannot_show():
    # the test only shows; GEOS still decides every polygon it does not show valid
    bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    a = gpd.GeoDataFrame({"id": ["s"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=27700)
    b = gpd.GeoDataFrame({"id": ["ok", "bow"]}, geometry=[shapely.box(0, 0, 5, 5), bow], crs=27700)
    with pytest.raises(ValidationError, match=r"(?s)target: .*invalid geometry: 'bow'"):
        crosswalk(a, b, source_id="id", target_id="id")
    t = crosswalk(a, b.iloc[:1], source_id="id", target_id="id").table
    assert t["area_m2"].tolist() == [25.0]
