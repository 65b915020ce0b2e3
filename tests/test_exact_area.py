"""Exact overlap areas (nbhd_geo.overlay.exact) against hand-computed values and GEOS."""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from nbhd_geo.overlay.exact import intersection_areas, intersection_areas_stats


def _arr(*geoms) -> np.ndarray:
    out = np.empty(len(geoms), dtype=object)
    out[:] = list(geoms)
    return out


def _pairs(a, b, **kw) -> dict[tuple[int, int], float]:
    ia, ib, area = intersection_areas(_arr(*a), _arr(*b), **kw)
    return {(int(i), int(j)): float(v) for i, j, v in zip(ia, ib, area, strict=True)}


def _geos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return shapely.area(shapely.intersection(a[:, None], b[None, :]))


def _dense(a: np.ndarray, b: np.ndarray, **kw) -> np.ndarray:
    ia, ib, area = intersection_areas(a, b, **kw)
    out = np.zeros((len(a), len(b)))
    out[ia, ib] = area
    return out


def _assert_matches_geos(a: np.ndarray, b: np.ndarray, rel: float = 1e-9) -> np.ndarray:
    got = _dense(a, b)
    ref = _geos(a, b)
    scale = np.minimum(shapely.area(a)[:, None], shapely.area(b)[None, :])
    for i, j in np.argwhere(np.abs(got - ref) >= rel * scale + 1e-300):
        # GEOS is not exact: with nearly collinear edges OverlayNG may snap and be far off
        # (e.g. 1.33 for an exact 0.121); then rational arithmetic decides
        ref[i, j] = float(_exact_area(a[i], b[j]))
    np.testing.assert_array_less(np.abs(got - ref), rel * scale + 1e-300)
    return got


def _ccw(coords) -> list[tuple[Fraction, Fraction]]:
    c = [(Fraction(x), Fraction(y)) for x, y in coords]
    return c if _shoelace(c) > 0 else c[::-1]


def _shoelace(c) -> Fraction:
    n = len(c)
    return sum((c[k][0] * c[(k + 1) % n][1] - c[(k + 1) % n][0] * c[k][1] for k in range(n)),
               Fraction(0)) / 2  # fmt: skip


def _clip(subject, clipper):
    """Sutherland-Hodgman: convex subject polygon clipped by a convex CCW clipper."""
    out = subject
    for k in range(len(clipper)):
        (px, py), (qx, qy) = clipper[k], clipper[(k + 1) % len(clipper)]
        inp, out = out, []
        for m in range(len(inp)):
            cur, prev = inp[m], inp[m - 1]
            sc = (qx - px) * (cur[1] - py) - (qy - py) * (cur[0] - px)
            sp = (qx - px) * (prev[1] - py) - (qy - py) * (prev[0] - px)
            if (sc >= 0) != (sp >= 0):
                t = sp / (sp - sc)
                out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
            if sc >= 0:
                out.append(cur)
    return out


def _triangles(g) -> list:
    tris = [_ccw(shapely.get_coordinates(t)[:-1]) for t in
            shapely.get_parts(shapely.constrained_delaunay_triangles(g))]  # fmt: skip
    exact = sum(
        (_shoelace(_ccw(shapely.get_coordinates(r)[:-1])) * (1 if k == 0 else -1)
         for p in shapely.get_parts(g) for k, r in enumerate(shapely.get_rings(p))),
        Fraction(0),
    )  # fmt: skip
    assert sum((_shoelace(t) for t in tris), Fraction(0)) == exact  # the triangles tile g
    return tris


def _exact_area(g, h) -> Fraction:
    """Exact area of g ∩ h (rational arithmetic on triangulations)."""
    tg = _triangles(g)
    th = _triangles(h)
    return sum((_shoelace(_clip(s, t)) for s in tg for t in th), Fraction(0))


# ---------------------------------------------------------------------------------------------
# Hand-made cases with exact answers
# ---------------------------------------------------------------------------------------------

SQ = box(0, 0, 2, 2)


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (box(0, 0, 2, 2), 4.0),  # identical
        (box(1, 1, 3, 3), 1.0),  # corner overlap
        (box(1, 0, 3, 2), 2.0),  # collinear overlapping top and bottom edges
        (box(0, 0, 1, 1), 1.0),  # inside, sharing two edges and a corner
        (box(0.5, 0.5, 1, 1), 0.25),  # strictly inside
        (box(-1, -1, 3, 3), 4.0),  # contains
        (box(0, -1, 2, 3), 4.0),  # sharing the two vertical edges exactly
        (Polygon([(1, 0), (2, 1), (1, 2), (0, 1)]), 2.0),  # diamond: vertices on every edge
        (Polygon([(0, 0), (2, 0), (2, 1), (2, 2), (0, 2)]), 4.0),  # T-junction on own edge
        (Polygon([(1, 2), (0, 0), (2, 0)]), 2.0),  # triangle on the bottom, apex on the top
        (Polygon([(1, 1), (3, 0), (3, 2)]), 0.5),  # apex at the centre
        (Polygon([(2, 0), (4, 0), (4, 2)]), None),  # touches the corner (2, 0) only
        (Polygon([(1, 0), (2, -1), (0, -1)]), None),  # apex on the bottom edge, from outside
        (box(2, 0, 3, 2), None),  # shares the right edge
        (box(2, 0.5, 3, 1.5), None),  # T-junctions on the right edge
        (box(2, 2, 3, 3), None),  # corner to corner
        (box(-1, 0, 0, 3), None),  # partial shared edge, longer
        (box(5, 5, 6, 6), None),  # far away
    ],
)
def test_squares(other, expected):
    got = _pairs([SQ], [other])
    if expected is None:
        assert got == {}
    else:
        assert got == {(0, 0): pytest.approx(expected, rel=1e-15, abs=0)}
    # and the same with the roles swapped
    swapped = _pairs([other], [SQ])
    assert swapped == ({} if expected is None else {(0, 0): got[(0, 0)]})


def test_grid_partition_against_shifted_grid():
    # a 4x4 grid of unit squares against a 2x2 grid of 2x2 squares: every cell is inside
    # exactly one coarse square, every other contact is a shared edge or vertex
    fine = [box(x, y, x + 1, y + 1) for x in range(4) for y in range(4)]
    coarse = [box(x, y, x + 2, y + 2) for x in (0, 2) for y in (0, 2)]
    got = _pairs(fine, coarse)
    assert len(got) == 16
    for (i, j), v in got.items():
        assert v == 1.0
        assert coarse[j].contains(fine[i])
    # a grid shifted by half a cell: every coarse square meets 4 (corner) to 9 cells
    half = [box(x - 0.5, y - 0.5, x + 0.5, y + 0.5) for x in range(5) for y in range(5)]
    got = _pairs(coarse, half)
    assert sum(got.values()) == 16.0
    assert sorted(set(got.values())) == [0.25, 0.5, 1.0]


def test_holes_and_multipolygons():
    ring = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    assert ring.area == 12
    others = [
        box(1, 1, 3, 3),  # fills the hole exactly: touching only
        box(0, 0, 2, 2),  # 4 - 1
        box(2, 2, 5, 5),  # 4 - 1
        box(1.5, 1.5, 2.5, 2.5),  # inside the hole
        box(-1, -1, 5, 5),  # contains the whole ring
        box(0, 1, 1, 3),  # beside the hole, sharing the hole's edge
    ]
    got = _pairs([ring], others)
    assert got == {(0, 1): 3.0, (0, 2): 3.0, (0, 4): 12.0, (0, 5): 2.0}
    multi = MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1), box(0, 2, 1, 3)])
    got = _pairs([multi], [box(0.5, 0, 2.5, 1), box(1, 0, 2, 3), multi, ring])
    assert got == {(0, 0): 1.0, (0, 2): 3.0, (0, 3): 3.0}
    # parts that touch at a vertex (valid multipolygon)
    bow = MultiPolygon([box(0, 0, 1, 1), box(1, 1, 2, 2)])
    assert _pairs([bow], [box(0.5, 0.5, 1.5, 1.5), box(1, 0, 2, 1)]) == {(0, 0): 0.5}


def test_output_contract():
    a = _arr(box(0, 0, 2, 2), box(10, 10, 11, 11), box(1, 1, 3, 3))
    b = _arr(box(1, 1, 3, 3), box(0, 0, 1, 1), box(0, 0, 2, 2))
    ia, ib, area = intersection_areas(a, b)
    assert ia.dtype == np.int64 and ib.dtype == np.int64 and area.dtype == np.float64
    assert list(zip(ia.tolist(), ib.tolist(), strict=True)) == [
        (0, 0), (0, 1), (0, 2), (2, 0), (2, 2)
    ]  # fmt: skip
    assert area.tolist() == [1.0, 1.0, 4.0, 4.0, 1.0]
    for threads in (1, 2, 3):
        again = intersection_areas(a, b, threads=threads)
        for x, y in zip(again, (ia, ib, area), strict=True):
            np.testing.assert_array_equal(x, y)
    ia, ib, area, stats = intersection_areas_stats(a, b)
    assert stats["candidates"] == 6 and stats["pairs"] == 5
    empty = intersection_areas(_arr(), b)
    assert [len(x) for x in empty] == [0, 0, 0]


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="Polygon"):
        intersection_areas(_arr(shapely.Point(0, 0)), _arr(SQ))
    with pytest.raises(ValueError, match="empty"):
        intersection_areas(_arr(SQ), _arr(Polygon()))
    with pytest.raises(ValueError, match="threads"):
        intersection_areas(_arr(SQ), _arr(SQ), threads=0)
    with pytest.raises(ValueError, match="finite"):
        intersection_areas(_arr(box(0, 0, 1e200, 1)), _arr(SQ))


def test_subnormal_coordinates():
    # products of tiny coordinates underflow, which would break exact arithmetic: such
    # coordinates are flushed to zero (moving a vertex by < 1e-120)
    tri = Polygon([(0, 0), (0, 1), (1, 0)])
    sliver_side = Polygon([(0, 1), (1, 2.225e-308), (0, 2)])
    assert _pairs([tri], [sliver_side]) == {}
    assert _pairs([sliver_side], [tri]) == {}
    reverse = shapely.orient_polygons(sliver_side, exterior_cw=True)
    assert _pairs([tri], [reverse]) == {}  # GEOS: 0.5
    assert _pairs([box(1e-310, 0, 1, 1)], [box(0, 0, 1, 1)]) == {(0, 0): 1.0}


def _wobbly(cx: float, cy: float, r: float, n: int, seed: int) -> Polygon:
    rng = np.random.default_rng(seed)
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rad = r * (1 + 0.15 * np.sin(7 * theta + rng.uniform(0, 6)) + rng.uniform(-0.05, 0.05, n))
    return Polygon(np.c_[cx + rad * np.cos(theta), cy + rad * np.sin(theta)])


def _ripple(phase: float, n: int = 4000) -> Polygon:
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rad = 100 * (1 + 0.02 * np.sin(800 * theta + phase))
    return Polygon(np.c_[rad * np.cos(theta), rad * np.sin(theta)])


def test_many_crossings_per_pair():
    # rippled discs in antiphase cross 1,600 times (grows the crossing buffers), wobbly blobs
    a = _arr(_ripple(0.0), _wobbly(0, 0, 100, 3000, 1), _wobbly(150, 0, 80, 500, 3))
    b = _arr(_ripple(np.pi), _wobbly(0, 0, 100, 2500, 2), box(-50, -50, 50, 50))
    _, _, _, stats = intersection_areas_stats(a, b)
    assert stats["crossings"] > 2000
    _assert_matches_geos(a, b)


def test_nearly_collinear_edges_where_geos_snaps():
    # found by hypothesis: GEOS 3.14 gives 1.3346 for this overlap, the exact value is 0.1209
    p, q = (0.0, 0.9020980431961358), (4.5225643458382745, 3.508433731817609)
    multi = MultiPolygon(
        [
            Polygon([p, q, (5.0, 3.2468497285738325)]),
            Polygon([q, (1.5, 5.164477797136739), (5.523120500079361, 4.0850502294177184)]),
        ]
    )
    tri = Polygon([p, (5.523120500079361, 4.0850502294177184), (0.0, 2.0)])
    exact = float(_exact_area(multi, tri))
    assert exact == pytest.approx(0.12087567094721151, rel=1e-15)
    assert _pairs([multi], [tri]) == {(0, 0): pytest.approx(exact, rel=1e-12)}
    assert _pairs([tri], [multi]) == {(0, 0): pytest.approx(exact, rel=1e-12)}


# ---------------------------------------------------------------------------------------------
# Properties (hypothesis)
# ---------------------------------------------------------------------------------------------


def _polygonal(g) -> shapely.Geometry | None:
    g = shapely.make_valid(g)
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    g = shapely.union_all(parts)
    if g.geom_type not in ("Polygon", "MultiPolygon") or g.area <= 0 or not g.is_valid:
        return None
    return g


@st.composite
def int_polygons(draw) -> shapely.Geometry:
    kind = draw(st.sampled_from(["poly", "boxes"]))
    if kind == "boxes":
        boxes = draw(
            st.lists(
                st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 3),
                          st.integers(1, 3)),
                min_size=1, max_size=3,
            )
        )  # fmt: skip
        g = shapely.union_all([box(x, y, x + w, y + h) for x, y, w, h in boxes])
    else:
        pts = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=3,
                            max_size=7))  # fmt: skip
        g = Polygon(pts)
    g = _polygonal(g)
    if g is None:
        return box(0, 0, 1, 1)
    return g


@st.composite
def float_polygons(draw) -> shapely.Geometry:
    # GEOS (the reference) underflows on tiny coordinates, e.g. it finds an overlap of 0.5
    # between POLYGON((0 0,0 1,1 0,0 0)) and POLYGON((0 1,1 2.2e-308,0 2,0 1)): keep clear
    fl = st.floats(0, 6, allow_nan=False, allow_infinity=False).map(
        lambda v: v if v > 1e-12 else 0.0
    )
    pts = draw(st.lists(st.tuples(fl, fl), min_size=3, max_size=8))
    g = _polygonal(Polygon(pts))
    if g is None or g.area < 1e-6:
        return box(0.5, 0.5, 1.5, 1.5)
    return g


_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.lists(int_polygons(), min_size=1, max_size=4),
       st.lists(int_polygons(), min_size=1, max_size=4))  # fmt: skip
def test_property_integer_coordinates(la, lb):
    a = _arr(*la)
    b = _arr(*lb)
    got = _assert_matches_geos(a, b)
    ref = _geos(a, b)
    # integer coordinates: a positive GEOS area is at least a fraction of a grid cell
    np.testing.assert_array_equal(got > 0, ref > 1e-9)
    # symmetric
    swapped = _dense(b, a).T
    np.testing.assert_array_equal(swapped > 0, got > 0)
    np.testing.assert_allclose(swapped, got, rtol=1e-12, atol=0)
    # invariant under ring orientation, start vertex and a (here exact) translation
    flipped = _arr(*[shapely.orient_polygons(g, exterior_cw=True) for g in la])
    np.testing.assert_allclose(_dense(flipped, b), got, rtol=1e-12, atol=0)
    rolled = _arr(*[_roll_rings(g) for g in la])
    np.testing.assert_allclose(_dense(rolled, b), got, rtol=1e-12, atol=0)
    moved = _dense(
        _arr(*[shapely.affinity.translate(g, 400000, 400000) for g in la]),
        _arr(*[shapely.affinity.translate(g, 400000, 400000) for g in lb]),
    )
    # exact for integer coordinates; make_valid may add crossing points, which the
    # translation rounds (see the float test)
    perim = shapely.length(a)[:, None] + shapely.length(b)[None, :]
    scale = np.minimum(shapely.area(a)[:, None], shapely.area(b)[None, :])
    np.testing.assert_array_less(np.abs(moved - got), 1e-9 * scale + 2.0**-33 * perim)


@_SETTINGS
@given(st.lists(float_polygons(), min_size=1, max_size=4),
       st.lists(float_polygons(), min_size=1, max_size=4))  # fmt: skip
def test_property_float_coordinates(la, lb):
    a = _arr(*la)
    b = _arr(*lb)
    got = _assert_matches_geos(a, b)
    scale = np.minimum(shapely.area(a)[:, None], shapely.area(b)[None, :])
    # symmetric, to the contract (needles carry rounding of order u·length², not u·area)
    np.testing.assert_array_less(np.abs(_dense(b, a).T - got), 1e-9 * scale)
    moved = _dense(
        _arr(*[shapely.affinity.translate(g, 400000.125, 399999.75) for g in la]),
        _arr(*[shapely.affinity.translate(g, 400000.125, 399999.75) for g in lb]),
    )
    # translating rounds every coordinate to a multiple of ulp(4e5) = 2**-34 m, which moves
    # the true area by up to (perimeter × 2**-34); beyond that, the contract holds
    perim = shapely.length(a)[:, None] + shapely.length(b)[None, :]
    np.testing.assert_array_less(np.abs(moved - got), 1e-9 * scale + 2.0**-33 * perim)
    rolled = _arr(*[_roll_rings(shapely.orient_polygons(g, exterior_cw=True)) for g in lb])
    np.testing.assert_array_less(np.abs(_dense(a, rolled) - got), 1e-9 * scale)


def _roll_rings(g: shapely.Geometry) -> shapely.Geometry:
    """The same polygon(s) with every ring starting at its second vertex."""

    def roll(ring) -> list:
        c = list(ring.coords)[:-1]
        return c[1:] + c[:1]

    polys = [
        Polygon(roll(p.exterior), [roll(h) for h in p.interiors]) for p in shapely.get_parts(g)
    ]
    return polys[0] if g.geom_type == "Polygon" else MultiPolygon(polys)


# ---------------------------------------------------------------------------------------------
# Parity with GEOS on real layers
# ---------------------------------------------------------------------------------------------


def _read_27700(path) -> np.ndarray:
    import geopandas as gpd

    geoms = np.asarray(gpd.read_file(path).to_crs(27700).geometry.values, dtype=object)
    return np.asarray(shapely.make_valid(geoms), dtype=object)


@pytest.mark.shared
@pytest.mark.parametrize("fine", ["oa11.geojson", "lsoa11.geojson"])
def test_wakefield_parity_with_geos(shared, fine):
    a = _read_27700(shared("ons", "wakefield", fine))
    b = _read_27700(shared("ons", "wakefield", "wards13.geojson"))
    ia, ib, area, stats = intersection_areas_stats(a, b)
    pi, pj = shapely.STRtree(b).query(a)
    ref = shapely.area(shapely.intersection(a[pi], b[pj]))
    got = dict(zip(zip(ia.tolist(), ib.tolist(), strict=True), area.tolist(), strict=True))
    ours = np.array([got.get(k, 0.0) for k in zip(pi.tolist(), pj.tolist(), strict=True)])
    scale = np.minimum(shapely.area(a[pi]), shapely.area(b[pj]))
    assert np.max(np.abs(ours - ref) / scale) < 1e-9
    # every pair GEOS finds with a share above 1e-9 is found, and no pair GEOS rules out
    geos_pairs = zip(zip(pi.tolist(), pj.tolist(), strict=True), ref, strict=True)
    assert set(got) <= {k for k, v in geos_pairs if v > 0}
    assert ((ref / scale > 1e-9) <= (ours > 0)).all()
    # wards do not overlap each other: the shares of a fine polygon sum to at most one
    share = np.bincount(ia, weights=area, minlength=len(a)) / shapely.area(a)
    assert share.max() < 1 + 1e-9 and np.median(share) > 0.999
    assert stats["pairs"] == len(ia) and stats["candidates"] == len(pi)


# ---------------------------------------------------------------------------------------------
# Many crossings along one edge (issue #17): ordered by an O(n log n) sort
# ---------------------------------------------------------------------------------------------


def _comb(n: int) -> Polygon:
    """A base [0, 2n] × [-1, 0] with n unit-wide teeth up to y = 2 at x = 2k .. 2k + 1."""
    pts = [(0.0, -1.0), (2.0 * n, -1.0), (2.0 * n, 0.0)]
    for k in range(n - 1, -1, -1):
        pts += [(2.0 * k + 1, 0.0), (2.0 * k + 1, 2.0), (2.0 * k, 2.0), (2.0 * k, 0.0)]
    return Polygon(pts)


@pytest.mark.parametrize("n", [1000, 4000, 16000])
@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_comb_crossings_in_reverse_order(n, turn):
    # the box's top edge runs right to left while the teeth are found left to right: the
    # 2n crossings arrive in reverse order along that edge (2k .. 32k crossings); every
    # quarter turn puts them in another order. Exact area: base half 2n·0.5 + n teeth·1.
    comb = shapely.affinity.rotate(_comb(n), turn, origin=(0, 0))
    clip = shapely.affinity.rotate(box(-1, -0.5, 2 * n + 1, 1), turn, origin=(0, 0))
    # quarter turns of integer coordinates are exact up to rounding of sin/cos: snap back
    comb = shapely.set_precision(comb, 1e-9)
    clip = shapely.set_precision(clip, 1e-9)
    for a, b in ((comb, clip), (clip, comb)):
        ia, ib, area, stats = intersection_areas_stats(_arr(a), _arr(b), threads=1)
        assert stats["crossings"] == 2 * n + 2  # and the base's two sides
        assert area.tolist() == [pytest.approx(2.0 * n, rel=1e-12)]


# ---------------------------------------------------------------------------------------------
# The per-pair edge index (horizontal bands; issue #17): shapes big enough to use it
# ---------------------------------------------------------------------------------------------


@st.composite
def combs(draw) -> shapely.Geometry:
    n = draw(st.integers(20, 150))
    heights = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n))
    pts = [(0, -5), (2 * n, -5)]
    for k in range(n - 1, -1, -1):
        pts += [(2 * k + 1, 0), (2 * k + 1, heights[k]), (2 * k, heights[k]), (2 * k, 0)]
    g = Polygon(pts)
    turn = draw(st.sampled_from([0, 90, 180, 270]))
    dx, dy = draw(st.integers(-20, 20)), draw(st.integers(-20, 20))
    g = shapely.affinity.translate(shapely.affinity.rotate(g, turn, origin=(0, 0)), dx, dy)
    return shapely.set_precision(g, 1.0)


@st.composite
def spirals(draw) -> shapely.Geometry:
    turns = draw(st.integers(2, 6))
    steps = draw(st.integers(40, 120))
    width = draw(st.floats(0.3, 0.9))
    t = np.linspace(0.5, turns * 2 * np.pi, steps * turns)
    r = 1.0 + t
    inner = np.c_[r * np.cos(t), r * np.sin(t)]
    outer = np.c_[(r + width * 2 * np.pi) * np.cos(t), (r + width * 2 * np.pi) * np.sin(t)]
    g = _polygonal(Polygon(np.r_[inner, outer[::-1]] * 4))
    assert g is not None
    dx, dy = draw(st.floats(-5, 5)), draw(st.floats(-5, 5))
    return shapely.affinity.rotate(shapely.affinity.translate(g, dx, dy), draw(st.integers(0, 359)))


@st.composite
def many_part(draw) -> shapely.Geometry:
    k = draw(st.integers(6, 14))
    size = draw(st.integers(1, 4))
    parts = [box(5 * i, 5 * j, 5 * i + size, 5 * j + size) for i in range(k) for j in range(k)]
    return MultiPolygon(parts)


@st.composite
def blobs(draw) -> shapely.Geometry:
    nv = draw(st.integers(300, 900))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    th = np.linspace(0, 2 * np.pi, nv, endpoint=False)
    r = 30 + 10 * np.cos(3 * th + rng.uniform(0, 6)) + rng.uniform(0, 3, nv)
    return Polygon(np.c_[35 + r * np.cos(th), 35 + r * np.sin(th)])


_INDEX_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_INDEX_SETTINGS
@given(combs(), combs())
def test_property_combs(ga, gb):
    _assert_matches_geos(_arr(ga), _arr(gb))
    _assert_matches_geos(_arr(gb), _arr(ga))


@_INDEX_SETTINGS
@given(spirals(), spirals())
def test_property_spirals(ga, gb):
    _assert_matches_geos(_arr(ga), _arr(gb))


@_INDEX_SETTINGS
@given(many_part(), blobs())
def test_property_many_parts_in_a_big_polygon(ga, gb):
    # every octagon wholly inside the blob's box is located by a point-in-polygon test
    # over the blob's edges in its band
    _assert_matches_geos(_arr(ga), _arr(gb))
    _assert_matches_geos(_arr(gb), _arr(ga))


@_INDEX_SETTINGS
@given(combs())
def test_property_shared_edges(g):
    # the comb, its complement in its box and the box: every comb edge is shared
    frame = shapely.box(*g.bounds)
    rest = shapely.difference(frame, g)
    a = _arr(g)
    b = _arr(*shapely.get_parts(rest), frame)
    got = _dense(a, b)
    assert got[0, :-1].tolist() == [0.0] * (len(b) - 1)  # touches only
    assert got[0, -1] == pytest.approx(g.area, rel=1e-12)
    np.testing.assert_array_equal(_dense(b, a).T, got)


def test_leeds_pair_where_geos_is_wrong():
    # issue #17: a Leeds LSOA triangle wholly inside a region dissolved from 1,039 LSOAs,
    # whose hole is a zero-width sliver loop touching the triangle's vertex. GEOS 3.14
    # gives an area-0 MultiLineString; the exact area is the triangle's own.
    tri = shapely.from_wkt(
        "POLYGON ((415734.13070110936 438843.1380740029, 415777.4407007393 438893.5490739831, "
        "415841.99770089035 438869.00007376866, 415734.13070110936 438843.1380740029))"
    )
    region = shapely.from_wkt(
        "POLYGON ((410053.4986951394 441722.692069971, 450660.39972523774 424424.81010263984, "
        "434260.903731828 411038.9040787662, 410053.4986951394 441722.692069971), "
        "(415773.88854342606 438889.41451374814, 415734.13070057944 438843.1380740708, "
        "415734.1307009255 438843.1380736234, 415773.88854342606 438889.41451374814))"
    )
    assert tri.is_valid and region.is_valid
    exact = 2158.800058479282
    assert _pairs([tri], [region]) == {(0, 0): pytest.approx(exact, rel=1e-12)}
    assert _pairs([region], [tri]) == {(0, 0): pytest.approx(exact, rel=1e-12)}
    # rational arithmetic agrees (the triangle is wholly inside: its own area)
    assert float(_exact_area(tri, region)) == pytest.approx(exact, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# The per-polygon band index (issue #17): small polygons against a large one select the large
# polygon's edges, and locate their rings, from a few bands of an index built once per layer
# ---------------------------------------------------------------------------------------------


@st.composite
def small_boxes_in(draw, big: shapely.Geometry) -> list[shapely.Geometry]:
    """Small integer boxes and triangles in the big polygon's box (shared vertices, edges)."""
    x0, y0, x1, y1 = (int(np.floor(v)) for v in big.bounds)
    out = []
    for _ in range(draw(st.integers(5, 30))):
        x = draw(st.integers(x0 - 1, x1))
        y = draw(st.integers(y0 - 1, y1))
        w, h = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        if draw(st.booleans()):
            out.append(box(x, y, x + w, y + h))
        else:
            out.append(Polygon([(x, y), (x + w, y), (x, y + h)]))
    return out


def _without_polygon_index(a, b) -> np.ndarray:
    import nbhd_geo.overlay.exact.rings as engine

    before = engine._POLY_INDEX_MIN
    engine._POLY_INDEX_MIN = 1 << 40  # read when a layer's edges are built
    try:
        return _dense(a, b)
    finally:
        engine._POLY_INDEX_MIN = before


@_INDEX_SETTINGS
@given(data=st.data(), kind=st.sampled_from(["comb", "blob", "spiral"]))
def test_property_small_polygons_against_an_indexed_polygon(data, kind):
    big = data.draw({"comb": combs(), "blob": blobs(), "spiral": spirals()}[kind])
    if kind != "comb":  # integer vertices, so the small shapes' vertices can lie on its edges
        big = _polygonal(shapely.set_precision(big, 1.0))
        if big is None or shapely.get_num_coordinates(big) < 40:
            return
    small = _arr(*data.draw(small_boxes_in(big)))
    b = _arr(big)
    got = _assert_matches_geos(small, b)
    # the index changes which edges are read, never a bit of the result, in either order
    np.testing.assert_array_equal(got, _without_polygon_index(small, b))
    np.testing.assert_array_equal(_dense(b, small).T, got)


def test_polygon_index_points_on_band_boundaries():
    # a 64-step staircase (128 edges, integer vertices) gets bands a whole number of units
    # high: unit boxes whose corners sit exactly on band boundaries and on its vertices
    pts = [(0, 0)] + [p for k in range(64) for p in ((k + 1, k), (k + 1, k + 1))] + [(0, 64)]
    stair = Polygon(pts)
    assert stair.is_valid and shapely.get_num_coordinates(stair) > 100
    cells = [(x, y) for x in range(0, 64, 3) for y in range(0, 64, 2)]
    small = _arr(*[box(x, y, x + 1, y + 1) for x, y in cells])
    b = _arr(stair)
    got = _dense(small, b)[:, 0]
    # column [x, x + 1] of the staircase is filled from height x up to 64
    assert got.tolist() == [1.0 if y >= x else 0.0 for x, y in cells]
    np.testing.assert_array_equal(got, _without_polygon_index(small, b)[:, 0])
    np.testing.assert_array_equal(_dense(b, small)[0], got)


def test_each_kernel_has_one_compiled_version():
    # a comb against a box (many crossings on one edge: the stable argsort), a circle against
    # small boxes (the per-polygon band index), two interleaved serpentines (per-pair bands)
    import nbhd_geo.overlay.exact.jit as engine

    teeth = [(x, y) for k in range(40) for x, y in ((2 * k, 0), (2 * k, 10), (2 * k + 1, 10),
                                                    (2 * k + 1, 0))]  # fmt: skip
    comb = Polygon([(0, -1), *teeth, (80, -1)])
    circle = shapely.Point(0, 0).buffer(10, 32)
    _assert_matches_geos(_arr(comb), _arr(box(-1, 5, 81, 6)))
    _assert_matches_geos(_arr(circle), _arr(*[box(k, k, k + 1, k + 1) for k in range(-6, 6)]))
    assert engine.compile_kernels() >= 0.0
    versions = {disp.py_func.__name__: len(disp.overloads) for disp, _, _ in engine._KERNELS}
    assert all(n <= 1 for n in versions.values()), versions
    entries = [disp.py_func.__name__ for disp, _, entry in engine._KERNELS if entry]
    assert sorted(entries) == [
        "_boxes", "_build_edges", "_pairs_kernel", "_polygon_bands", "_simple_polygons",
        "_simple_rings",
    ]
    assert all(versions[name] == 1 for name in entries)


def test_a_process_that_exits_while_kernels_load_exits_cleanly(tmp_path):
    # importing the crosswalk starts loading (or compiling) the kernels in a background
    # thread; a process that ends at once must neither crash nor hang
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))  # nothing cached yet
    done = subprocess.run(
        [sys.executable, "-c", "import nbhd_geo.overlay.crosswalk; print('ok')"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_polygon_index_only_where_it_pays_on_the_call():
    # a large polygon gets a band index of its own only when enough small partners use it:
    # one small partner would not repay the building
    from nbhd_geo.overlay.exact.rings import _INDEX_MIN_PAIRS, _Layer

    circle = shapely.Point(0, 0).buffer(10, 32)
    layer = _Layer(_arr(circle, shapely.affinity.translate(circle, 30, 0)))
    edges = int(np.diff(layer.poly_e)[0])
    assert edges >= 128
    pos = np.array([0] + [1] * _INDEX_MIN_PAIRS)
    layer.index_polygons(pos, np.full(len(pos), edges), np.full(len(pos), 4))
    assert layer.indexed.tolist() == [False, True]
    # the results are the same either way (the property tests check this bit for bit)
    small = _arr(*[box(k, 0, k + 1, 1) for k in range(-3, 3)])
    got = _dense(small, _arr(circle))
    assert got.sum() == pytest.approx(6.0)


def test_polygon_index_built_once_its_uses_add_up_over_calls():
    # a layer kept between calls (a memo) counts a polygon's uses across them
    from nbhd_geo.overlay.exact.rings import _INDEX_MIN_PAIRS, _Layer

    layer = _Layer(_arr(shapely.Point(0, 0).buffer(10, 32)))
    edges = int(np.diff(layer.poly_e)[0])
    for call in range(_INDEX_MIN_PAIRS):
        assert layer.indexed.tolist() == [False], call
        layer.index_polygons(np.array([0]), np.array([edges]), np.array([4]))
    assert layer.indexed.tolist() == [True]


@functools.cache
def _pip_kernels() -> tuple:
    """Point-in-polygon as machine code (through a jitted caller: kernels only kernels call)
    and as Python twins, beside the exact ray test it filters."""
    import numba

    from nbhd_geo.overlay.exact.bands import (
        _point_in_polygon,
        _point_in_polygon_banded,
        _ray_toggle,
    )
    from nbhd_geo.overlay.exact.jit import OVERLAY, compile_kernels

    compile_kernels()

    @numba.njit(cache=False)
    def machine(px, py, e, s, off, bedges, scr):  # noqa: ANN001, ANN202
        return (
            _point_in_polygon(px, py, e, 0, e.shape[0], s, scr),
            _point_in_polygon_banded(px, py, s, 0.0, 0.0, off, bedges, scr),
        )

    with OVERLAY._lock:
        twins = tuple(OVERLAY._twin(id(k)) for k in
                      (_point_in_polygon, _point_in_polygon_banded, _ray_toggle))
    return machine, twins


@settings(max_examples=150, deadline=None)
@given(int_polygons(), st.lists(st.tuples(st.integers(-2, 12), st.integers(-2, 12)),
                                min_size=1, max_size=12))
def test_point_in_polygon_filters_only_edges_that_cannot_toggle(poly, points):
    """The straddle test before the exact ray test changes no answer: every point at every
    vertex height, both perturbation signs, machine code and Python alike, equals the XOR of
    the ray test over every edge; off the boundary and the vertices' heights, GEOS agrees."""
    machine, (pip, pip_banded, toggle) = _pip_kernels()
    if poly is None or poly.is_empty:
        return
    rings = [np.asarray(r.coords) for part in shapely.get_parts(shapely.orient_polygons(poly))
             for r in shapely.get_rings(part)]  # fmt: skip
    e = np.ascontiguousarray(np.vstack([np.hstack([r[:-1], r[1:]]) for r in rings]),
                             dtype=np.float64)  # fmt: skip
    ring = np.vstack(rings)
    ro = e.copy()
    ro.setflags(write=False)
    off = np.array([0, len(e)], dtype=np.int64)
    off.setflags(write=False)
    scr = np.empty(24)
    heights = set(ring[:, 1].tolist())
    for x, y in points:
        for py in {float(y), *heights}:
            px = float(x) + 0.5
            for s in (1, -1):
                want = 0
                for k in range(len(e)):
                    want ^= toggle(px, py, ro, k, s, scr)
                got = [*machine(px, py, e, s, off, ro, scr), pip(px, py, e, 0, len(e), s, scr),
                       pip_banded(px, py, s, 0.0, 0.0, off, ro, scr)]
                assert got == [want] * 4, (px, py, s, got, want)
                q = shapely.Point(px, py)
                if py not in heights and not poly.boundary.intersects(q):
                    assert want == int(poly.contains(q))
