"""Edge cases of the numeric core that a wrong constant or comparison would get wrong.

Companion of ``test_numeric_core.py`` for the corners found by ``make mutants``
(benchmarks/mutants.py): denominators of zero or under one person, unit counts of
exactly one, geometry collections out of GEOS. Every expected value is worked out by
hand in the comment beside it, never read back from the code under test.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nbhd_geo.deprivation.imd import IMDTable
from nbhd_geo.deprivation.summary import imd_summary, imd_summary_from_weights, to_wide
from nbhd_geo.errors import InputError, NbhdGeoError
from nbhd_geo.overlay.apportion import _polygonal, apportion


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def gdf(ids: list[str], geoms: list[shapely.Geometry], col: str = "id", **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({col: ids, **cols}, geometry=geoms, crs=27700)


def _imd(codes: list[str], deciles: list[int], population: list[float],
         working_age: list[float]) -> IMDTable:
    """IMD and Employment rows (rank 100 for decile 1, 20000 otherwise; rate 0.1)."""
    n = len(codes)
    ranks = [100 if d == 1 else 20000 for d in deciles]
    rows = pd.DataFrame({
        "lsoa_code": codes * 2,
        "domain": ["imd"] * n + ["employment"] * n,
        "score": [40.0] * n + [0.1] * n,
        "rank": ranks * 2,
        "decile": deciles * 2,
    })
    den = pd.DataFrame({"lsoa_code": codes, "population": population,
                        "working_age_population": working_age})
    return IMDTable.from_frames(rows, vintage="IoD2019", denominators=den)


# ============================================================== IMD summaries


@pytest.mark.parametrize("lsoa_count", ["fractional", "any"])
def test_an_lsoa_with_people_inside_counts_even_where_its_denominator_is_zero(lsoa_count):
    # A (decile 1) has a denominator of 0 yet half a person inside X; B (decile 7) is
    # whole in X. Half a person against a denominator of 0 is more than the LSOA holds:
    # capped at one whole LSOA, as for any denominator smaller than the people inside
    # ("population / denominator, capped at 1"). X: 1 of 1 + 1 LSOAs in decile 1 = 0.5.
    # Y holds nobody of A (a row of 0 people) and half of B: 0 of 0 + 0.5 LSOAs → 0.
    imd = _imd(["A", "B"], [1, 7], [0, 1000], [0, 600])
    w = pd.DataFrame({"area_id": ["X", "X", "Y", "Y"], "lsoa_code": ["A", "B", "A", "B"],
                      "population": [0.5, 1000, 0, 500]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 1/0 or 0/0 reaches the user as a warning
        wide = to_wide(imd_summary_from_weights(w, imd, lsoa_count=lsoa_count))
    assert wide.loc["X", "imd_proportion_most_deprived_10pct"] == pytest.approx(0.5)
    assert wide.loc["Y", "imd_proportion_most_deprived_10pct"] == 0.0
    # Employment: A's working-age share is 0 of 0, unknown, so A's half person counts
    # whole (and a note says so); B's is 600 of 1000. At a rate of 0.1:
    # X (0.5 + 0.6 × 1000) × 0.1 = 60.05; Y 0.6 × 500 × 0.1 = 30.
    assert wide.loc["X", "employment_employment_scale"] == pytest.approx(60.05, rel=1e-12)
    assert wide.loc["Y", "employment_employment_scale"] == pytest.approx(30.0, rel=1e-12)


def test_only_lsoas_with_people_inside_need_a_denominator():
    # C has no denominator. A row of 0 people of C asks nothing of it; a row of half a
    # person does (its share of C cannot be counted) and is refused, naming C.
    imd = _imd(["A", "B", "C"], [1, 7, 1], [1000, 1000, np.nan], [600, 600, np.nan])
    w = pd.DataFrame({"area_id": "X", "lsoa_code": ["A", "B", "C"],
                      "population": [500, 1000, 0]})
    wide = to_wide(imd_summary_from_weights(w, imd))
    # half of A in decile 1, all of B: 0.5 of 1.5 LSOAs
    assert wide.loc["X", "imd_proportion_most_deprived_10pct"] == pytest.approx(0.5 / 1.5)
    with pytest.raises(InputError, match="denominator") as err:
        imd_summary_from_weights(w.assign(population=[500, 1000, 0.5]), imd)
    assert "C" in str(err.value)


def test_more_people_inside_than_the_denominator_is_one_whole_lsoa():
    # Weights from a later population than the denominators: X holds 1,500 people of A,
    # whose denominator is 1,000. A counts as one LSOA, not 1.5: 1 of 1 + 1 in decile 1.
    imd = _imd(["A", "B"], [1, 7], [1000, 1000], [600, 600])
    w = pd.DataFrame({"area_id": "X", "lsoa_code": ["A", "B"], "population": [1500, 1000]})
    wide = to_wide(imd_summary_from_weights(w, imd))
    assert wide.loc["X", "imd_proportion_most_deprived_10pct"] == pytest.approx(0.5)


def test_working_age_share_of_an_lsoa_under_one_person():
    # B's denominators are 0.5 people, 0.25 of working age: a working-age share of 0.5,
    # whatever the scale of the counts. Y holds all 0.5 of B: 0.25 working-age people at
    # an employment rate of 0.1 → employment scale 0.025 (0.05 if the share were lost).
    imd = _imd(["A", "B"], [1, 7], [1000, 0.5], [600, 0.25])
    w = pd.DataFrame({"area_id": ["Y"], "lsoa_code": ["B"], "population": [0.5]})
    s = imd_summary_from_weights(w, imd)
    hit = s[(s["domain"] == "employment") & (s["measure"] == "employment_scale")]
    assert hit["value"].tolist() == pytest.approx([0.025])
    assert not any("working-age" in n for n in s.attrs["notes"])
    # Z holds all of A (decile 1) and 0.25 of B's 0.5 people: half of B, so 1 of 1.5
    # LSOAs is in the most deprived 10 %
    z = pd.DataFrame({"area_id": "Z", "lsoa_code": ["A", "B"], "population": [1000, 0.25]})
    wide = to_wide(imd_summary_from_weights(z, imd))
    assert wide.loc["Z", "imd_proportion_most_deprived_10pct"] == pytest.approx(1 / 1.5)


def test_imd_summary_names_the_lsoas_that_fell_back_to_area():
    # E1 holds two counted people (one inside O at (90, 50), one outside at (10, 50)),
    # E2 nobody: with points E2 is shared by area, and imd_summary says so.
    imd = _imd(["E01000001", "E01000002"], [1, 7], [1000, 500], [600, 300])
    lsoa = gdf(["E01000001", "E01000002"], [box(0, 0, 100, 100), box(100, 0, 200, 100)],
               col="lsoa_code")
    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    pts = gpd.GeoDataFrame({"n": [1, 1]}, geometry=[shapely.Point(90, 50),
                                                    shapely.Point(10, 50)], crs=27700)
    s = imd_summary(drawn, lsoa, imd, area_id="name", population=pts, population_col="n")
    assert s.attrs["apportioned_by"] == "points"
    assert s.attrs["area_fallback_lsoas"] == ["E01000002"]
    # O: half of E1's 1000 (one of its two people) + half of E2's 500 by area
    pop = s[(s["domain"] == "all") & (s["measure"] == "population")]["value"]
    assert pop.tolist() == pytest.approx([500 + 250])
    by_area = imd_summary(drawn, lsoa, imd, area_id="name")
    assert by_area.attrs["area_fallback_lsoas"] == []


# ============================================================== apportion


def test_a_unit_whose_count_is_exactly_one_is_weighted_by_it():
    # L1's only counted person (a count of 1) is at (90, 50), inside O: O holds all of L1's
    # people, not its 40 % by area. A count of 0.5 is still a count.
    units = gdf(["L1", "L2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)], col="code",
                pop=[1000, 500])
    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    for n in (1.0, 0.5):
        pts = gpd.GeoDataFrame({"n": [n]}, geometry=[shapely.Point(90, 50)], crs=27700)
        ap = apportion(drawn, units, area_id="name", unit_id="code", unit_population="pop",
                       weights=pts, weight_col="n", engine="geos")
        assert ap.units["weighted_by"].tolist() == ["points", "area"]
        t = ap.table.set_index("unit_id")
        assert t.loc["L1", "pop_share"] == pytest.approx(1.0)
        assert t.loc["L1", "population"] == pytest.approx(1000)
        assert t.loc["L2", "pop_share"] == pytest.approx(0.5)


def test_polygonal_keeps_every_polygon_of_a_collection_and_drops_its_lines():
    line = shapely.LineString([(20, 0), (30, 0)])
    two = shapely.MultiPolygon([box(0, 0, 2, 5), box(4, 0, 6, 5)])  # 10 + 10 m²
    geoms = np.array([
        shapely.GeometryCollection([two, line]),
        shapely.GeometryCollection([box(0, 0, 3, 3), line, shapely.Point(50, 50)]),
        shapely.GeometryCollection([line]),
        box(0, 0, 1, 1),
    ], dtype=object)
    out = _polygonal(geoms)
    assert shapely.get_type_id(out).tolist() == [6, 3, 3, 3]
    assert shapely.area(out).tolist() == pytest.approx([20, 9, 0, 1])
    assert shapely.is_empty(out).tolist() == [False, False, True, False]
    assert shapely.get_type_id(geoms).tolist() == [7, 7, 7, 3]  # the input is not changed


def test_apportion_by_fine_polygons_where_the_overlap_is_a_polygon_and_a_line():
    # O = a 40 × 50 block inside L1 plus a block in L2 that touches L1 along x = 100:
    # GEOS gives O ∩ L1 as a polygon and a line. L1's people are in two OAs: west (x 0–50)
    # 100, east (x 50–100) 300; the block is 2,000 of the east OA's 5,000 m²: 120 of
    # L1's 400 counted people (0.3; by area it would be 0.2).
    units = gdf(["L1", "L2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)], col="code",
                pop=[1000, 500])
    o = shapely.MultiPolygon([box(60, 0, 100, 50), box(100, 60, 150, 80)])
    assert shapely.get_type_id(shapely.intersection(o, box(0, 0, 100, 100))) == 7
    oas = gdf(["a", "b", "c"], [box(0, 0, 50, 100), box(50, 0, 100, 100),
                                box(100, 0, 200, 100)], col="oa", people=[100, 300, 50])
    ap = apportion(gdf(["O"], [o], col="name"), units, area_id="name", unit_id="code",
                   unit_population="pop", weights=oas, weight_col="people", engine="geos")
    t = ap.table.set_index("unit_id")
    assert t.loc["L1", "pop_share"] == pytest.approx(0.3)
    assert t.loc["L1", "population"] == pytest.approx(300)
    # L2: 50 × 20 of the one OA's 10,000 m² → 5 of its 50 people, a tenth
    assert t.loc["L2", "pop_share"] == pytest.approx(0.1)


# ============================================================== allocation


def test_largest_remainder_gives_a_pound_to_every_area_when_each_is_just_under_one():
    from nbhd_geo.deprivation.allocation import _largest_remainder

    # £2 over two areas owed £0.99999999999999989 each (float error below £1): the floors
    # are 0 and 0, two pounds are left, one to each — Hamilton's method, no error.
    just_under = np.nextafter(1.0, 0.0)
    assert just_under < 1.0
    got = _largest_remainder(np.array([just_under, just_under]), 2,
                             np.array(["a", "b"], dtype=object), np.zeros(2))
    assert got.tolist() == [1, 1]


def test_over_allocated_means_more_than_one_part_in_a_billion_over():
    from nbhd_geo.overlay.apportion import Apportionment

    # U's shares sum to exactly 1 + 1e-9 (the tolerance: not over); V's to 1 + 2e-9 (over);
    # W's to 1 (not over). Populations 100 each.
    table = pd.DataFrame({
        "area_id": ["a", "b", "a", "b", "a"],
        "unit_id": ["U", "U", "V", "V", "W"],
        "pop_share": [1.0, 1e-9, 1.0, 2e-9, 1.0],
        "population": [100.0, 1e-7, 100.0, 2e-7, 100.0],
    })
    units = pd.DataFrame({"population": [100.0, 100.0, 100.0]},
                         index=pd.Index(["U", "V", "W"], name="unit_id"))
    assert table.loc[:1, "pop_share"].sum() == 1 + 1e-9
    c = Apportionment(table=table, units=units, by="area").conservation()
    assert c["over_allocated"].tolist() == [False, True, False, True]
    assert c.loc["W", "unallocated"] == 0.0


def _falls(exact: list[float]) -> bool:
    """Does the per-head check warn for a (less deprived) and b (more deprived), 1 person each?"""
    from nbhd_geo.deprivation.allocation import AllocationWarning, _warn_if_per_head_falls

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        _warn_if_per_head_falls(np.array(exact), np.ones(2), np.array([1.0, 2.0]),
                                np.array(["a", "b"], dtype=object), "equal", 0.5)
    return any(issubclass(w.category, AllocationWarning) for w in got)


def test_per_head_falls_smaller_than_float_noise_are_not_warned():
    # The noise allowance is a billionth of the larger per-head amount, and never less
    # than a billionth of a pound. At £1,000 a head a fall of £1e-7 is noise (under
    # £1e-6); £1e-5 is not.
    assert not _falls([1000.0, 1000.0 - 1e-7])
    assert _falls([1000.0, 1000.0 - 1e-5])
    # At £0.50 a head the allowance is £1e-9: a fall of £1.5e-9 is past it, £0.5e-9 not
    assert _falls([0.5, 0.5 - 1.5e-9])
    assert not _falls([0.5, 0.5 - 0.5e-9])
    # A fall of exactly the allowance is still noise: £2e-9 to £1e-9 a head
    assert 2e-9 - 1e-9 == 1e-9
    assert not _falls([2e-9, 1e-9])
    # and a rise is never a fall
    assert not _falls([1.0, 2.0])


def test_the_per_head_warning_names_the_first_of_equal_falls():
    from nbhd_geo.deprivation.allocation import AllocationWarning, _warn_if_per_head_falls

    # a (least deprived) £10 a head; b and c (more deprived, in that order) £5 each: two
    # falls of £5 from a. The warning names the first, b, so its text does not depend on
    # how many equal falls follow.
    with pytest.warns(AllocationWarning, match=r"'b' \(more deprived\) gets £5.00 a head and "
                      r"'a' £10.00"):
        _warn_if_per_head_falls(np.array([10.0, 5.0, 5.0]), np.ones(3), np.array([1.0, 2, 3]),
                                np.array(["a", "b", "c"], dtype=object), "equal", 0.5)


def test_the_per_head_warning_names_the_first_of_equal_payers():
    from nbhd_geo.deprivation.allocation import AllocationWarning, _warn_if_per_head_falls

    # a1 and a2 (less deprived, a1 the least) both get £10 a head, b (most deprived) £5:
    # the fall is named against a1, the first of the equal payers
    with pytest.warns(AllocationWarning, match=r"'b' \(more deprived\) gets £5.00 a head and "
                      r"'a1' £10.00"):
        _warn_if_per_head_falls(np.array([10.0, 10.0, 5.0]), np.ones(3),
                                np.array([1.0, 1.5, 2.0]),
                                np.array(["a1", "a2", "b"], dtype=object), "equal", 0.5)


@pytest.mark.parametrize("bad", [lambda x: np.ones(3), lambda x: np.array([1.0, np.nan]),
                                 lambda x: np.array([1.0, -1.0])])
def test_a_gradient_callable_must_give_one_finite_weight_at_least_zero_per_area(bad):
    from nbhd_geo.deprivation.allocation import allocate

    areas = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 2.0], "p": [10, 10]})
    with pytest.raises(InputError, match="gradient callable") as err:
        allocate(100, areas, need="s", population="p", gradient=bad)
    assert err.value.argument == "gradient"


# ============================================================== IMD notes


def test_notes_only_for_people_who_are_there():
    # C has a population denominator but no working-age one. A row of 0 people of C needs
    # no working-age share (no note); a row of half a person does (note). An area of half
    # a person has people (no "no population" note).
    imd = _imd(["A", "C"], [1, 7], [1000, 1000], [600, np.nan])
    none_of_c = pd.DataFrame({"area_id": "X", "lsoa_code": ["A", "C"], "population": [0.5, 0]})
    notes = imd_summary_from_weights(none_of_c, imd).attrs["notes"]
    assert not any("working-age" in n for n in notes)
    assert not any("no population" in n for n in notes)
    some_of_c = none_of_c.assign(population=[0.5, 0.5])
    notes = imd_summary_from_weights(some_of_c, imd).attrs["notes"]
    assert any("working-age" in n for n in notes)
    nobody = pd.DataFrame({"area_id": ["X", "Y"], "lsoa_code": ["A", "A"],
                           "population": [0.5, 0.0]})
    notes = imd_summary_from_weights(nobody, imd).attrs["notes"]
    assert [n for n in notes if "no population" in n] == [
        "1 area(s) have no population: their measures are NaN"]


def test_a_missing_score_of_half_a_person_makes_the_average_missing():
    # B has no score; X holds half a person of B beside 1000 of A: the average is unknown
    rows = pd.DataFrame({"lsoa_code": ["A", "B"], "domain": "imd", "score": [40.0, np.nan],
                         "rank": [100, 20000], "decile": [1, 7]})
    den = pd.DataFrame({"lsoa_code": ["A", "B"], "population": [1000, 1000]})
    imd = IMDTable.from_frames(rows, vintage="IoD2019", denominators=den)
    w = pd.DataFrame({"area_id": "X", "lsoa_code": ["A", "B"], "population": [1000, 0.5]})
    wide = to_wide(imd_summary_from_weights(w, imd))
    assert np.isnan(wide.loc["X", "imd_average_score"])
    only_a = to_wide(imd_summary_from_weights(w.assign(population=[1000, 0.0]), imd))
    assert only_a.loc["X", "imd_average_score"] == pytest.approx(40.0)


# ============================================================== split


def test_population_split_of_an_area_under_one_person():
    from nbhd_geo.measures.split import fragmentation

    # As test_population_split_by_hand with every population divided by 1,000: C holds
    # 0.05 of W1's 0.1 people and all 0.3 of W2: shares 1/7 and 6/7, whatever the scale.
    row3 = gdf(["W1", "W2", "W3"], [box(0, 0, 100, 100), box(100, 0, 200, 100),
                                    box(200, 0, 300, 100)], col="ward", pop=[0.1, 0.3, 0])
    c = gdf(["C"], [box(50, 0, 200, 100)], col="name")
    r = fragmentation(c, row3, area_id="name", unit_id="ward", engine="geos",
                      unit_population="pop").loc["C"]
    assert r["population"] == pytest.approx(0.35)
    assert r["pop_main_unit"] == "W2" and r["pop_share_in_main_unit"] == pytest.approx(6 / 7)
    assert r["pop_split"] == pytest.approx(1 / 7)
    assert r["pop_max_unit_share_inside"] == pytest.approx(1.0)


# ============================================================== crosswalk


def test_pair_areas_checks_b_and_takes_multipolygons_not_collections():
    from nbhd_geo.errors import ValidationError
    from nbhd_geo.overlay.crosswalk import pair_areas

    a = np.array([box(0, 0, 10, 10)], dtype=object)
    with pytest.raises(InputError) as err:
        pair_areas(a, np.array([[box(0, 0, 1, 1)]], dtype=object), engine="geos")
    assert err.value.argument == "b"
    # a MultiPolygon of two 2 × 10 strips, 8 m² of it in a
    two = shapely.MultiPolygon([box(0, 0, 2, 10), box(8, 0, 12, 2)])
    ia, ib, area = pair_areas(a, np.array([two], dtype=object), engine="geos")
    assert area.tolist() == pytest.approx([20 + 4])
    gc = shapely.GeometryCollection([box(0, 0, 2, 10)])
    with pytest.raises(ValidationError, match="not a polygon"):
        pair_areas(a, np.array([gc], dtype=object), engine="geos")


# ============================================================== apportion, more


def _two_units() -> gpd.GeoDataFrame:
    return gdf(["L1", "L2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)], col="code",
               pop=[1000, 500])


def test_points_on_a_shared_boundary_count_once_in_the_first_unit_whatever_their_order():
    # 7 people on the L1|L2 line (first in the table: counted in L1), 10 in L1 outside O,
    # 4 in L2 outside O
    pts = gpd.GeoDataFrame({"n": [7, 10, 4]}, geometry=[shapely.Point(100, 50),
                           shapely.Point(50, 50), shapely.Point(180, 50)], crs=27700)
    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    ap = apportion(drawn, _two_units(), area_id="name", unit_id="code", weights=pts,
                   weight_col="n", engine="geos")
    assert ap.units["weight_total"].tolist() == pytest.approx([17, 4])
    t = ap.table.set_index("unit_id")
    assert t.loc["L1", "pop_share"] == pytest.approx(7 / 17)  # only the boundary 7 in O
    assert t.loc["L2", "pop_share"] == pytest.approx(0.0)


def test_points_beyond_the_units_do_not_join_a_unit_the_area_also_covers():
    # O covers part of L1, all of L2 and runs beyond. L1: 3 people inside O, 1 outside;
    # 11 people inside O but beyond every unit count in no unit: L1's share is 3 / 4.
    pts = gpd.GeoDataFrame({"n": [3, 1, 11]}, geometry=[shapely.Point(90, 50),
                           shapely.Point(10, 50), shapely.Point(220, 50)], crs=27700)
    drawn = gdf(["O"], [box(60, 0, 250, 100)], col="name")
    ap = apportion(drawn, _two_units(), area_id="name", unit_id="code", weights=pts,
                   weight_col="n", engine="geos")
    t = ap.table.set_index("unit_id")
    assert t.loc["L1", "pop_share"] == pytest.approx(3 / 4)
    assert ap.units["weight_total"].tolist() == pytest.approx([4, 0])


def test_weights_checked_row_by_row():
    from nbhd_geo.errors import NbhdGeoError

    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    kw = {"area_id": "name", "unit_id": "code", "engine": "geos", "weight_col": "n"}
    two = gpd.GeoDataFrame({"n": [5, -1]}, geometry=[shapely.Point(1, 1), shapely.Point(2, 2)],
                           crs=27700)
    with pytest.raises(NbhdGeoError, match="negative"):
        apportion(drawn, _two_units(), weights=two, **kw)
    mixed = gpd.GeoDataFrame({"n": [5, 1]}, geometry=[shapely.Point(1, 1), box(0, 0, 1, 1)],
                             crs=27700)
    with pytest.raises(InputError, match="Point"):
        apportion(drawn, _two_units(), weights=mixed, by="points", **kw)


def test_tiny_fine_polygons_and_tiny_pieces_still_carry_people():
    # f1, 1 m² at L1's right edge, holds 10 people; f2 (x 0–99, y 10–100) 90. O covers
    # x 99.5–101, y 0–1: its piece of L1 is 0.5 m², half of f1: 5 of L1's 100 counted.
    fine = gdf(["f1", "f2"], [box(99, 0, 100, 1), box(0, 10, 99, 100)], col="oa",
               people=[10, 90])
    drawn = gdf(["O"], [box(99.5, 0, 101, 1)], col="name")
    ap = apportion(drawn, _two_units(), area_id="name", unit_id="code", unit_population="pop",
                   weights=fine, weight_col="people", engine="geos")
    t = ap.table.set_index("unit_id")
    assert t.loc["L1", "pop_share"] == pytest.approx(0.05)
    assert t.loc["L1", "population"] == pytest.approx(50)


def test_an_area_cut_in_two_by_a_unit_counts_both_parts():
    # O's two blocks both lie in L1's east OA (x 50–100, 300 people on 5,000 m²):
    # 2 × 40 × 20 = 1,600 m² → 96 people of L1's 400 counted.
    oas = gdf(["a", "b", "c"], [box(0, 0, 50, 100), box(50, 0, 100, 100),
                                box(100, 0, 200, 100)], col="oa", people=[100, 300, 0])
    o = shapely.MultiPolygon([box(60, 0, 100, 20), box(60, 60, 100, 80)])
    ap = apportion(gdf(["O"], [o], col="name"), _two_units(), area_id="name", unit_id="code",
                   unit_population="pop", weights=oas, weight_col="people", engine="geos")
    assert ap.table.set_index("unit_id").loc["L1", "pop_share"] == pytest.approx(96 / 400)


def test_a_reused_crosswalk_is_cut_to_the_units_given():
    from nbhd_geo.overlay.apportion import check_reuse
    from nbhd_geo.overlay.crosswalk import crosswalk

    drawn = gdf(["O"], [box(60, 0, 250, 100)], col="name")
    three = pd.concat([_two_units(), gdf(["L3"], [box(200, 0, 300, 100)], col="code",
                                         pop=[9])], ignore_index=True)
    cw = crosswalk(drawn, three, source_id="name", target_id="code", engine="geos")
    cut = check_reuse(cw, np.array(["O"], dtype=object), np.array(["L1", "L2"], dtype=object))
    assert cut.target_area.index.tolist() == ["L1", "L2"]
    assert cut.table["target_id"].tolist() == ["L1", "L2"]
    assert check_reuse(cw, np.array(["O"], dtype=object), np.array(["L1", "L2", "L3"],
                                                                    dtype=object)) is cw
    # and to the areas given: P is left out
    both = pd.concat([drawn, gdf(["P"], [box(0, 0, 10, 10)], col="name")], ignore_index=True)
    cw2 = crosswalk(both, three, source_id="name", target_id="code", engine="geos")
    cut2 = check_reuse(cw2, np.array(["O"], dtype=object),
                       np.array(["L1", "L2", "L3"], dtype=object))
    assert cut2.source_area.index.tolist() == ["O"]
    assert cut2.table["source_id"].tolist() == ["O", "O", "O"]


def _row3() -> gpd.GeoDataFrame:
    return gdf(["W1", "W2", "W3"], [box(0, 0, 100, 100), box(100, 0, 200, 100),
                                    box(200, 0, 300, 100)], col="ward", pop=[100, 300, 0])


def test_coi_preserved_when_exactly_the_threshold_of_a_unit_is_inside():
    from nbhd_geo.measures.split import fragmentation

    # C (0–300 × 0–50) holds the southern half of each ward: a third of C in each (main
    # unit share 1/3 < 0.5) but exactly half of W1 inside C: preserved by the second clause
    c = gdf(["C"], [box(0, 0, 300, 50)], col="name")
    r = fragmentation(c, _row3(), area_id="name", unit_id="ward", engine="geos").loc["C"]
    assert r["share_in_main_unit"] == pytest.approx(1 / 3)
    assert r["max_unit_share_inside"] == 0.5
    assert bool(r["coi_preserved"])
    # the threshold is checked and used as a number, also when given as text
    r = fragmentation(c, _row3(), area_id="name", unit_id="ward", engine="geos",
                      threshold="0.5").loc["C"]  # type: ignore[arg-type]
    assert bool(r["coi_preserved"])
    with pytest.raises(NbhdGeoError, match="threshold"):
        fragmentation(c, _row3(), area_id="name", unit_id="ward", engine="geos", threshold=0)


def test_population_measures_from_a_weighting_layer_alone():
    from nbhd_geo.measures.split import fragmentation, unit_splits

    # No unit populations, only points: W1 has 3 people in C and 1 outside, W2 6 in C.
    pts = gpd.GeoDataFrame({"n": [3, 1, 6]}, geometry=[shapely.Point(80, 50),
                           shapely.Point(10, 50), shapely.Point(150, 50)], crs=27700)
    c = gdf(["C"], [box(50, 0, 200, 100)], col="name")
    units = _row3().drop(columns="pop")
    r = fragmentation(c, units, area_id="name", unit_id="ward", engine="geos", weights=pts,
                      weight_col="n").loc["C"]
    assert r["population"] == pytest.approx(9)
    assert r["pop_share_in_main_unit"] == pytest.approx(6 / 9)
    s = unit_splits(c, units, area_id="name", unit_id="ward", engine="geos", weights=pts,
                    weight_col="n")
    assert s.loc["W1", "population"] == pytest.approx(4)
    assert s.loc["W1", "pop_outside"] == pytest.approx(1)


def test_unit_pieces_and_outside_parts_exactly_at_the_sliver_tolerance_are_kept():
    from nbhd_geo.measures.options import SliverTolerance
    from nbhd_geo.measures.split import unit_splits

    # N is the west half of W1: a piece of 5,000 m² (half of W1) and an outside part of
    # 5,000 m² (half). With a tolerance of exactly 0.5 and 5,000 m², neither is under it:
    # W1 is cut in two, entropy 1 bit, two effective pieces.
    n = gdf(["N"], [box(0, 0, 50, 100)], col="name")
    s = unit_splits(n, _row3(), area_id="name", unit_id="ward", engine="geos",
                    sliver=SliverTolerance(share=0.5, m2=5000.0)).loc["W1"]
    assert s["n_areas"] == 1 and s["outside_share"] == 0.5
    assert s["split_entropy"] == pytest.approx(1.0) and s["eff_pieces"] == pytest.approx(2.0)
    # Q (x 150.5–200.5) has 50 m² in W3: 0.5 % of W3 but exactly 1 % of Q's 5,000 m², and
    # exactly the 50 m² floor: kept. M (x 0–101) has 100 m² in W2: 0.99 % of M but
    # exactly 1 % of W2: kept.
    q = gdf(["Q", "M"], [box(150.5, 0, 200.5, 100), box(0, 0, 101, 100)], col="name")
    s = unit_splits(q, _row3(), area_id="name", unit_id="ward", engine="geos",
                    sliver=SliverTolerance(share=0.01, m2=50.0))
    assert s.loc["W3", "areas"] == ("Q",)
    assert s.loc["W2", "areas"] == ("Q", "M")


def test_a_unit_whose_every_part_is_a_sliver_is_not_split():
    from nbhd_geo.measures.options import SliverTolerance
    from nbhd_geo.measures.split import unit_splits

    # Every piece and every outside part is under 1 km²: nothing is kept, so no unit is
    # cut: entropy 0 and one effective piece, for areas and for people alike.
    n = gdf(["N"], [box(0, 0, 50, 100)], col="name")
    s = unit_splits(n, _row3(), area_id="name", unit_id="ward", engine="geos",
                    unit_population="pop", sliver=SliverTolerance(share=0.0, m2=1e6))
    assert s["n_areas"].tolist() == [0, 0, 0]
    assert s["split_entropy"].tolist() == [0.0, 0.0, 0.0]
    assert s["eff_pieces"].tolist() == [1.0, 1.0, 1.0]
    assert s["pop_split_entropy"].tolist() == [0.0, 0.0, 0.0]
    assert s["pop_eff_pieces"].tolist() == [1.0, 1.0, 1.0]


# ============================================================== more allocation


def test_gradient_weights_of_zero_and_under_one_are_weights():
    from nbhd_geo.deprivation.allocation import allocate

    # No floor; per-head weights 0 and 2, then 0.5 and 2, for 10 people each:
    # £100 shared 0 : 20 → 0, 100; and 5 : 20 → 20, 80. Per head: £ / 10.
    areas = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 2.0], "p": [10, 10]})
    out = allocate(100, areas, need="s", population="p", floor_share=0.0,
                   gradient=lambda x: np.array([0.0, 2.0]))
    assert out["allocation"].tolist() == [0, 100]
    out = allocate(100, areas, need="s", population="p", floor_share=0.0,
                   gradient=lambda x: np.array([0.5, 2.0]))
    assert out["allocation"].tolist() == [20, 80]
    assert out["per_head"].tolist() == pytest.approx([2.0, 8.0])


def test_per_head_of_a_one_person_area():
    from nbhd_geo.deprivation.allocation import allocate

    # Per-head floor of the whole £40 over 1 + 3 people: £10 a head each
    areas = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 2.0], "p": [1, 3]})
    out = allocate(40, areas, need="s", population="p", floor_share=1.0)
    assert out["allocation"].tolist() == [10, 30]
    assert out["per_head"].tolist() == pytest.approx([10.0, 10.0])


def test_zero_weights_everywhere_need_the_whole_budget_as_floor():
    from nbhd_geo.deprivation.allocation import allocate

    areas = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 2.0], "p": [10, 30]})
    zero = {"need": "s", "population": "p", "gradient": lambda x: np.zeros(2)}
    # all of £1,000 is the floor (per head): 250, 750 — nothing left to weight
    assert allocate(1000, areas, floor_share=1.0, **zero)["allocation"].tolist() == [250, 750]
    # a non-floor part of 1e-11 of £1,000 (1e-8 £, under a billionth of the budget) is
    # float noise: still the floors
    noisy = allocate(1000, areas, floor_share=1 - 1e-11, **zero)
    assert noisy["allocation"].tolist() == [250, 750]
    # half the budget with no weight to share it by is refused
    with pytest.raises(InputError, match="cannot be shared") as err:
        allocate(1000, areas, floor_share=0.5, **zero)
    assert err.value.argument == "areas"
    # a per-head floor needs people
    with pytest.raises(InputError, match="money per head") as err:
        allocate(1000, areas.assign(p=0), need="s", population="p", floor_share=1.0)
    assert err.value.argument == "population"


# ============================================================== more IMD summaries


def test_local_concentration_of_a_small_area_and_wide_column_order():
    # Y holds 5 people, all in A (rank 100): its most deprived 10 % (half a person) is in
    # A, so its local concentration is A's r′ = 32,844 + 1 − 100.
    imd = _imd(["A", "B"], [1, 7], [1000, 1000], [600, 600])
    w = pd.DataFrame({"area_id": "Y", "lsoa_code": ["A"], "population": [5.0]})
    wide = to_wide(imd_summary_from_weights(w, imd))
    assert wide.loc["Y", "imd_local_concentration"] == pytest.approx(32_844 + 1 - 100)
    # columns in the summary's order (domain by domain, population last), not sorted
    assert wide.columns.tolist()[:2] == ["imd_average_score", "imd_average_rank"]
    assert wide.columns.tolist()[-1] == "population"


def test_imd_summary_ids_in_the_index_and_in_a_column_alike():
    imd = _imd(["E01000001", "E01000002"], [1, 7], [1000, 500], [600, 300])
    lsoa = gdf(["E01000001", "E01000002"], [box(0, 0, 100, 100), box(100, 0, 200, 100)],
               col="lsoa_code")
    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    # the id both a column and the index's name: used as it is
    both = imd_summary(drawn.set_index("name", drop=False), lsoa.set_index("lsoa_code",
                       drop=False), imd, area_id="name")
    pop = both[(both["domain"] == "all")]["value"].tolist()
    assert pop == pytest.approx([400 + 250])  # 40 % of 1,000 and 50 % of 500
    # a local extract that knows every LSOA of the layer leaves none out: no note
    assert not any("not in the IMD table" in n for n in both.attrs["notes"])
    three = pd.concat([lsoa, gdf(["E01000003"], [box(200, 0, 300, 100)], col="lsoa_code")],
                      ignore_index=True)
    notes = imd_summary(drawn, three, imd, area_id="name").attrs["notes"]
    assert any(n.startswith("1 LSOAs of lsoa_layer are not in the IMD table") for n in notes)


def test_a_national_table_of_exactly_n_lsoas_checks_every_code():
    from nbhd_geo.errors import VintageError

    # 32,844 codes (IoD2019's N): a national table, so a code it lacks is an error
    codes = [f"E01{i:06d}" for i in range(1, 32_845)]
    rows = pd.DataFrame({"lsoa_code": codes, "domain": "imd", "score": 10.0,
                         "rank": np.arange(1, 32_845), "decile": 10})
    imd = IMDTable.from_frames(rows, vintage="IoD2019", denominators=pd.DataFrame(
        {"lsoa_code": codes, "population": 1000.0}))
    lsoa = gdf(["E01000001", "E01099999"], [box(0, 0, 100, 100), box(100, 0, 200, 100)],
               col="lsoa_code")
    with pytest.raises(VintageError):
        imd_summary(gdf(["O"], [box(60, 0, 150, 100)], col="name"), lsoa, imd, area_id="name")


def test_apportion_counts_every_overlap_and_checks_a_reused_apportionment():
    from nbhd_geo.overlay.apportion import reuse_or_apportion

    units = _two_units()
    drawn = gdf(["O"], [box(99.5, 0, 101, 1)], col="name")  # 0.5 m² in L1, 1 m² in L2
    ap = apportion(drawn, units, area_id="name", unit_id="code", unit_population="pop",
                   engine="geos")
    # people are shared by every overlap, however small: none is flagged a sliver
    assert ap.crosswalk is not None and ap.crosswalk.sliver_tol_m2 == 0.0
    assert not ap.crosswalk.table["is_sliver"].any()
    assert ap.table["population"].tolist() == pytest.approx([1000 * 0.5e-4, 500 * 1e-4])
    # reusing it for other units is refused, naming the ids
    other = gdf(["L1", "L9"], [box(0, 0, 100, 100), box(100, 0, 200, 100)], col="code")
    with pytest.raises(InputError, match="other target features"):
        reuse_or_apportion(ap, drawn, other, area_id="name", unit_id="code")
    assert reuse_or_apportion(ap, drawn, units, area_id="name", unit_id="code") is ap
