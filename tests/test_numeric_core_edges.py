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
from nbhd_geo.errors import InputError
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
