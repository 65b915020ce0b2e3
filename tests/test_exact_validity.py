"""The exact engine's validity test: it never shows valid a polygon GEOS finds invalid.

``proven_valid`` lets crosswalk skip GEOS's validity check for one-ring polygons; a wrong
True would let a bow-tie through to the area computation, so it is checked against GEOS on
hostile rings (self-touching, spikes, repeated and collinear points, integer grids where
every degeneracy happens) and real-like ones (which it must show, or it saves nothing).
"""

from __future__ import annotations

import functools

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


# ---------------------------------------------------------------------------------------------
# The validity proof made while reading the edges (a crosswalk reads each layer once)
# ---------------------------------------------------------------------------------------------


@given(st.lists(rings(), min_size=1, max_size=20), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_proof_made_while_reading_is_proven_valid(polys, seed):
    from nbhd_geo.overlay.exact.join import prove_valid_reading

    polys = [p for p in polys if p is not None and not p.is_empty]
    if not polys:
        return
    holed = shapely.box(0, 0, 9, 9).difference(shapely.box(3, 3, 6, 6))
    multis = [shapely.MultiPolygon(polys[k : k + 2]) for k in range(len(polys))]
    geoms = _arr([*polys, holed, *multis])
    pos = np.flatnonzero(np.random.default_rng(seed).random(len(geoms)) < 0.7)
    memo: dict = {}
    shown = prove_valid_reading(geoms, pos, memo)
    # all the proof reading the polygons on its own shows (and more: holes), never a wrong
    # True ...
    assert not (proven_valid(geoms[pos]) & ~shown).any()
    assert not (shown & ~shapely.is_valid(geoms[pos])).any()
    # ... and the edge arrays it read are kept for the overlay that follows
    if len(pos):
        used, layer = memo["exact_sub"]
        np.testing.assert_array_equal(used, pos)
        assert len(layer.poly_e) == len(pos) + 1


def test_the_proof_made_while_reading_refuses_what_reading_changes():
    from nbhd_geo.overlay.exact.join import prove_valid_reading

    # a ring whose vertices differ by less than 2**-400 near the origin: reading flushes them
    # to zero (the edges the overlay sees), so the proof must not speak for the polygon GEOS
    # sees; nor for the square read with it in the same chunk
    t = 2.0**-420
    spike = shapely.Polygon([(0, 0), (1, 0), (t, t), (t, 0.0), (0, 1)])
    square = shapely.box(2, 2, 3, 3)
    geoms = _arr([spike, square])
    shown = prove_valid_reading(geoms, np.array([0, 1]), {})
    assert shown.tolist() == [False, False]
    assert proven_valid(geoms[1:]).tolist() == [True]  # alone, the square is shown
    # non-finite coordinates: nothing is read, the proof answers as proven_valid does
    inf = shapely.Polygon([(0, 0), (np.inf, 0), (0, 1)])
    memo: dict = {}
    assert prove_valid_reading(_arr([inf, square]), np.array([0, 1]), memo).tolist() == [
        False, True,
    ]
    assert "exact_sub" not in memo


def test_a_first_crosswalk_reads_each_layer_once(monkeypatch):
    from nbhd_geo.overlay.exact import rings

    made = []
    real = rings._Layer.__init__

    def counting(self, geoms, *args, **kwargs):
        made.append(len(geoms))
        real(self, geoms, *args, **kwargs)

    monkeypatch.setattr(rings._Layer, "__init__", counting)
    a = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10), shapely.box(30, 0, 40, 10)],
                         crs=27700)  # fmt: skip
    cells = [shapely.box(i, j, i + 4, j + 4) for i in range(0, 48, 4) for j in range(0, 12, 4)]
    b = gpd.GeoDataFrame(geometry=cells, crs=27700)
    cw = crosswalk(a, b)
    # one reading per layer: the candidates' edges, used by the validity proof and the overlay
    assert len(made) == 2, made
    assert cw.table["area_m2"].sum() == pytest.approx(200.0, rel=1e-12)
    assert cw.table.groupby("source_id")["area_m2"].sum().tolist() == pytest.approx([100, 100])


@st.composite
def sort_keys(draw: st.DrawFn) -> np.ndarray:
    """Keys as the sweeps sort them: spread, tied, clustered, sorted, reversed, infinite, or
    subnormal."""
    n = draw(st.integers(0, 300))
    kinds = ["spread", "ties", "cluster", "sorted", "reversed", "inf", "subnormal"]
    kind = draw(st.sampled_from(kinds))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    key = rng.normal(size=n) * 10.0 ** draw(st.integers(-5, 6))
    if kind == "ties" and n:
        key = np.round(key / (np.abs(key).max() + 1) * 3)
    elif kind == "cluster" and n:
        key = rng.random(n) * 1e-12
        key[: max(1, n // 50)] = 1e9  # a few far away: the rest share one bucket
    elif kind == "sorted":
        key = np.sort(key)
    elif kind == "reversed":
        key = np.sort(key)[::-1].copy()
    elif kind == "subnormal":  # a few smallest doubles apart: n / (hi - lo) overflows
        key = rng.integers(0, 5, size=n) * 5e-324
    elif kind == "inf" and n:
        key[rng.integers(0, n, size=max(1, n // 20))] = rng.choice([np.inf, -np.inf])
    return np.ascontiguousarray(key, dtype=np.float64)


@functools.cache
def _sorters() -> tuple:
    """The two argsorts as machine code (kernels only kernels call: through a jitted caller)
    and as their Python twins (what a first run uses before the kernels are compiled)."""
    import numba

    from nbhd_geo.overlay.exact.jit import OVERLAY, compile_kernels
    from nbhd_geo.overlay.exact.sweep import _argsort, _merge_argsort

    compile_kernels()

    @numba.njit(cache=False)
    def machine(key):  # noqa: ANN001, ANN202
        return _argsort(key), _merge_argsort(key)

    with OVERLAY._lock:
        twins = OVERLAY._twin(id(_argsort)), OVERLAY._twin(id(_merge_argsort))
    return machine, twins


def _all_argsorts(key: np.ndarray) -> list[np.ndarray]:
    machine, (twin, twin_merge) = _sorters()
    return [*machine(key), twin(key), twin_merge(key)]


@given(sort_keys())
@settings(max_examples=300, deadline=None)
def test_bucketed_argsort_is_the_stable_argsort(key):
    want = np.argsort(key, kind="stable")
    for got in _all_argsorts(key):
        np.testing.assert_array_equal(got, want)


def test_bucketed_argsort_on_a_boundary_and_on_ties():
    def _argsort(key: np.ndarray) -> np.ndarray:
        got = _all_argsorts(key)
        for other in got[1:]:
            np.testing.assert_array_equal(other, got[0])
        return got[0]

    # a wiggly ring's edge x-minima (what _simple_rings sorts), 5,000 of them, and 2,000
    # keys in three tied values
    t = np.linspace(0, 2 * np.pi, 5001)[:-1]
    x = (100 + 3 * np.sin(40 * t)) * np.cos(t)
    key = np.minimum(x, np.roll(x, -1))
    np.testing.assert_array_equal(_argsort(key), np.argsort(key, kind="stable"))
    ties = np.tile([2.0, 1.0, 3.0], 700)[:2000]
    np.testing.assert_array_equal(_argsort(ties), np.argsort(ties, kind="stable"))


@st.composite
def holed(draw: st.DrawFn) -> shapely.Geometry | None:
    """A shell with holes on a small grid: holes inside, outside, touching, nested, crossing."""
    shell = [(0.0, 0.0), (9.0, 0.0), (9.0, 9.0), (0.0, 9.0)]
    if draw(st.booleans()):  # a notch: holes may now touch or cross the shell
        shell = [(0.0, 0.0), (9.0, 0.0), (9.0, 9.0), (4.0, 9.0), (4.0, 5.0), (3.0, 9.0),
                 (0.0, 9.0)]  # fmt: skip
    holes = []
    for _ in range(draw(st.integers(1, 3))):
        x0 = draw(st.integers(-1, 8))
        y0 = draw(st.integers(-1, 8))
        w = draw(st.integers(1, 4))
        h = draw(st.integers(1, 4))
        ring = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
        if draw(st.booleans()):
            ring = ring[::-1]  # either orientation
        holes.append([(float(a), float(b)) for a, b in ring])
    try:
        return shapely.Polygon(shell, holes)
    except (ValueError, shapely.errors.GEOSException):
        return None


@given(st.lists(holed(), min_size=1, max_size=6), st.lists(st.integers(-12, 12), min_size=2,
       max_size=2))  # fmt: skip
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_polygons_of_several_rings_are_never_shown_valid_wrongly(polys, shift):
    from nbhd_geo.overlay.exact.join import prove_valid_reading

    polys = [p for p in polys if p is not None and not p.is_empty]
    if not polys:
        return
    moved = [shapely.affinity.translate(p, *shift) for p in polys]
    # parts apart, overlapping, nested (an island in a lake), touching
    multis = [shapely.MultiPolygon([a, b]) for a, b in zip(polys, moved, strict=True)]
    multis.append(shapely.MultiPolygon([polys[0], shapely.box(3.2, 3.2, 3.8, 3.8)]))
    geoms = _arr([*polys, *multis])
    shown = prove_valid_reading(geoms, np.arange(len(geoms)), {})
    valid = shapely.is_valid(geoms)
    assert not (shown & ~valid).any(), [g.wkt for g in geoms[shown & ~valid]]


def test_polygons_with_holes_and_parts_are_shown_where_plainly_valid():
    from nbhd_geo.overlay.exact.join import prove_valid_reading

    def holes(*boxes):
        return shapely.Polygon(
            shapely.box(0, 0, 10, 10).exterior.coords,
            [shapely.box(*b).exterior.coords for b in boxes],
        )

    shown_ = [
        holes((1, 1, 3, 3), (5, 5, 8, 8)),  # two holes apart
        shapely.MultiPolygon([holes((1, 1, 3, 3)), shapely.box(20, 0, 30, 10)]),
        shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(0, 10.5, 10, 20)]),
    ]
    not_shown = [
        shapely.Polygon(  # a hole touching the shell at a point (valid: GEOS decides)
            shapely.box(0, 0, 10, 10).exterior.coords, [[(0, 5), (2, 4), (2, 6), (0, 5)]]
        ),
        holes((1, 1, 3, 3), (3, 3, 5, 5)),  # holes touching at a corner (valid)
        shapely.MultiPolygon([holes((2, 2, 8, 8)), shapely.box(3, 3, 7, 7)]),  # island
        holes((1, 1, 8, 8), (2, 2, 3, 3)),  # nested holes (invalid)
        holes((8, 8, 12, 12)),  # a hole crossing the shell (invalid)
        holes((11, 11, 12, 12)),  # a hole outside its shell (invalid)
        shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(2, 2, 4, 4)]),  # nested
        shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)]),
    ]
    geoms = _arr([*shown_, *not_shown])
    got = prove_valid_reading(geoms, np.arange(len(geoms)), {})
    assert got.tolist() == [True] * len(shown_) + [False] * len(not_shown)
    # GEOS's verdicts, as the comments say: the first six valid, the rest not
    assert shapely.is_valid(geoms).tolist() == [True] * 6 + [False] * 5
