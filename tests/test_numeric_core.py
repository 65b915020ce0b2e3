"""The numeric core against values worked out by hand, never against its own output.

Each expected number below is computed in the comment beside it (or by a one-line
formula written independently of the code under test), so a wrong operator, constant or
comparison in the IMD summaries, the allocation, the split and tension measures, or the
apportion and crosswalk wrappers changes a value these tests check. ``make mutants``
(benchmarks/mutants.py) measures how many such changes they catch.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nbhd_geo.deprivation.allocation import AllocationWarning, allocate, rank_targets
from nbhd_geo.deprivation.imd import IMDTable
from nbhd_geo.deprivation.summary import (
    extent_weight,
    imd_summary,
    imd_summary_from_weights,
    rank_areas,
    to_wide,
    whole_lsoa_weights,
)
from nbhd_geo.errors import ColumnError, InputError, NbhdGeoError

N19 = 32_844  # LSOAs ranked in IoD2019
RP = {"A": N19 + 1 - 100, "B": N19 + 1 - 5000, "C": N19 + 1 - 20000}  # r′ = N + 1 − rank


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def gdf(ids: list[str], geoms: list[shapely.Geometry], col: str = "id", **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({col: ids, **cols}, geometry=geoms, crs=27700)


# ============================================================== IMD summaries (MHCLG method)


def test_extent_weight_at_every_band_edge():
    # p = ceil(100·rank/N): rank 3284 → 9.9988 → p 10 (w 1); 3285 → 10.0018 → p 11 (0.95);
    # 6569 → 20.0006 → p 21: 0.95 − 0.9/19·10 = 0.476316; 9853 → 29.9994 → p 30 (0.05);
    # 9854 → 30.0025 → p 31 (0); rank 1 → p 1 (1).
    w = extent_weight([1, 3284, 3285, 6569, 9853, 9854, 32844], N19)
    expected = [1.0, 1.0, 0.95, 0.95 - 0.9 / 19 * 10, 0.05, 0.0, 0.0]
    assert w.tolist() == pytest.approx(expected, abs=1e-12)
    # exactly on a percentile: rank 10 of 100 → p = 10 → 1; rank 30 → p = 30 → 0.05
    assert extent_weight([10, 11, 30, 31], 100).tolist() == pytest.approx([1.0, 0.95, 0.05, 0.0])


@pytest.fixture
def three() -> IMDTable:
    """LSOAs A (rank 100), B (5000), C (20000) with IMD, income and employment rows."""
    codes = ["A", "B", "C"]
    rows = pd.DataFrame(
        {
            "lsoa_code": codes * 3,
            "domain": ["imd"] * 3 + ["income"] * 3 + ["employment"] * 3,
            "score": [60.0, 30.0, 10.0, 0.2, 0.1, 0.05, 0.1, 0.08, 0.02],
            "rank": [100, 5000, 20000] * 3,
            "decile": [1, 2, 7] * 3,
        }
    )
    den = pd.DataFrame(
        {
            "lsoa_code": codes,
            "population": [1000, 500, 1500],
            "working_age_population": [600, 300, 750],
        }
    )
    return IMDTable.from_frames(rows, vintage="IoD2019", denominators=den)


def _value(s: pd.DataFrame, domain: str, measure: str, area: str = "X") -> float:
    col = s.attrs.get("area_col", "area_id")
    hit = s[(s[col] == area) & (s["domain"] == domain) & (s["measure"] == measure)]
    assert len(hit) == 1, (domain, measure, area)
    return float(hit["value"].iloc[0])


def _weights(pops: dict[str, float], area: str = "X") -> pd.DataFrame:
    return pd.DataFrame(
        {"area_id": area, "lsoa_code": list(pops), "population": list(pops.values())}
    )


def test_imd_summary_by_hand(three):
    # Area X holds 100 of A's 1000 people, all 500 of B and 1400 of C's 1500: P = 2000.
    s = imd_summary_from_weights(_weights({"A": 100, "B": 500, "C": 1400}), three)
    assert _value(s, "all", "population") == 2000
    # average score Σ P·score / Σ P = (100·60 + 500·30 + 1400·10) / 2000
    assert _value(s, "imd", "average_score") == pytest.approx(35000 / 2000)
    # average rank Σ P·r′ / Σ P
    avg_rank = (100 * RP["A"] + 500 * RP["B"] + 1400 * RP["C"]) / 2000
    assert _value(s, "imd", "average_rank") == pytest.approx(avg_rank)
    # most deprived 10 %: LSOAs counted by the share of each inside: 0.1 of A is decile 1,
    # of 0.1 + 1 + 14/15 LSOAs
    assert _value(s, "imd", "proportion_most_deprived_10pct") == pytest.approx(
        0.1 / (0.1 + 1 + 1400 / 1500)
    )
    # extent: A p=1 → 1; B p=ceil(15.22)=16 → 0.95 − 0.9/19·5; C p=61 → 0
    w_b = 0.95 - 0.9 / 19 * 5
    assert _value(s, "imd", "extent") == pytest.approx((100 * 1 + 500 * w_b) / 2000)
    # local concentration: 10 % of 2000 = 200 people, most deprived first: all 100 of A
    # and 100 of B's 500 (the straddling LSOA gives only what is needed)
    assert _value(s, "imd", "local_concentration") == pytest.approx(
        (100 * RP["A"] + 100 * RP["B"]) / 200
    )
    # income scale: Σ P × rate = 100·0.2 + 500·0.1 + 1400·0.05 = 140 people
    assert _value(s, "income", "income_scale") == pytest.approx(140)
    # employment on working-age people: 60 % of A and B, 50 % of C inside
    # → 60, 300, 700; scale 60·0.1 + 300·0.08 + 700·0.02 = 44, average 44/1060
    assert _value(s, "employment", "employment_scale") == pytest.approx(44)
    assert _value(s, "employment", "average_score") == pytest.approx(44 / 1060)
    # with total population instead: 100·0.1 + 500·0.08 + 1400·0.02 = 78
    tot = imd_summary_from_weights(
        _weights({"A": 100, "B": 500, "C": 1400}), three, employment_population="total"
    )
    assert _value(tot, "employment", "employment_scale") == pytest.approx(78)
    assert s.attrs["n"] == N19 and s.attrs["lsoa_count"] == "fractional"


def test_local_concentration_inside_the_first_lsoa_and_exactly_on_the_line(three):
    # 10 % of 1000 = 100 people, all from A (300 inside): LC = r′ of A.
    s = imd_summary_from_weights(_weights({"A": 300, "C": 700}), three)
    assert _value(s, "imd", "local_concentration") == pytest.approx(RP["A"])
    # A holds exactly 10 %: B contributes nothing.
    s = imd_summary_from_weights(_weights({"A": 100, "B": 500, "C": 400}), three)
    assert _value(s, "imd", "local_concentration") == pytest.approx(RP["A"])
    # input order does not matter: the most deprived LSOA is taken first
    s = imd_summary_from_weights(_weights({"C": 900, "B": 50, "A": 50}), three)
    assert _value(s, "imd", "local_concentration") == pytest.approx((50 * RP["A"] + 50 * RP["B"]) / 100)


def test_lsoa_count_any_counts_whole_lsoas(three):
    w = _weights({"A": 100, "B": 500, "C": 0})
    s = imd_summary_from_weights(w, three, lsoa_count="any")
    # any LSOA with people inside counts as one: A and B, of which A is decile 1
    assert _value(s, "imd", "proportion_most_deprived_10pct") == pytest.approx(0.5)
    frac = imd_summary_from_weights(w, three)
    assert _value(frac, "imd", "proportion_most_deprived_10pct") == pytest.approx(0.1 / 1.1)
    # half a person inside still makes the LSOA one of the area's
    half = imd_summary_from_weights(_weights({"A": 0.5, "B": 500}), three, lsoa_count="any")
    assert _value(half, "imd", "proportion_most_deprived_10pct") == pytest.approx(0.5)
    # more people than the denominator never count as more than one LSOA
    over = imd_summary_from_weights(_weights({"A": 2000, "B": 500}), three)
    assert _value(over, "imd", "proportion_most_deprived_10pct") == pytest.approx(0.5)


def test_two_areas_are_summarised_and_ranked_apart(three):
    w = pd.concat([_weights({"A": 1000}, "X"), _weights({"B": 250, "C": 750}, "Y")])
    s = imd_summary_from_weights(w, three)
    assert _value(s, "imd", "average_score", "X") == pytest.approx(60)
    assert _value(s, "imd", "average_score", "Y") == pytest.approx((250 * 30 + 750 * 10) / 1000)
    assert _value(s, "all", "population", "Y") == 1000
    assert _value(s, "imd", "extent", "Y") == pytest.approx(250 * (0.95 - 0.9 / 19 * 5) / 1000)
    ranks = s.set_index(["area_id", "domain", "measure"])["rank"]
    # X is more deprived on every measure: rank 1
    assert ranks[("X", "imd", "average_score")] == 1 and ranks[("Y", "imd", "average_score")] == 2
    assert ranks[("X", "imd", "extent")] == 1 and ranks[("Y", "imd", "extent")] == 2
    assert np.isnan(ranks[("X", "all", "population")])
    wide = to_wide(s, ranks=True)
    assert wide.loc["Y", "population"] == 1000
    assert wide.loc["X", "imd_average_score_rank"] == 1
    assert list(wide.columns[:3]) == ["imd_average_score", "imd_average_score_rank",
                                      "imd_average_rank"]
    # a summary that lost its attrs: the first column is the area id
    plain = s.copy()
    plain.attrs = {}
    assert to_wide(plain).index.tolist() == ["X", "Y"]


def test_an_area_without_people_has_no_measures(three):
    w = pd.concat([_weights({"A": 0.0}, "E"), _weights({"B": 500}, "X")])
    s = imd_summary_from_weights(w, three)
    assert math.isnan(_value(s, "imd", "average_score", "E"))
    assert math.isnan(_value(s, "imd", "local_concentration", "E"))
    assert _value(s, "all", "population", "E") == 0
    assert any("1 area(s) have no population" in n for n in s.attrs["notes"])
    assert _value(s, "imd", "average_score") == pytest.approx(30)


def test_missing_score_makes_the_average_missing_not_zero():
    rows = pd.DataFrame({"lsoa_code": ["A", "B"], "domain": "imd", "score": [40.0, np.nan],
                         "rank": [100, 200], "decile": [1, 1]})
    imd = IMDTable.from_frames(
        rows, vintage="IoD2019",
        denominators=pd.DataFrame({"lsoa_code": ["A", "B"], "population": [100, 100]}),
    )
    s = imd_summary_from_weights(
        pd.concat([_weights({"A": 100, "B": 100}, "X"), _weights({"A": 50, "B": 0}, "Y")]), imd
    )
    assert math.isnan(_value(s, "imd", "average_score", "X"))
    # Y's only person-bearing LSOA has a score: 40
    assert _value(s, "imd", "average_score", "Y") == pytest.approx(40)
    # no Employment domain here: nothing to say about working-age denominators
    assert not any("working-age" in n for n in s.attrs["notes"])


def test_working_age_missing_falls_back_to_total_with_a_note():
    rows = pd.DataFrame({"lsoa_code": ["A"], "domain": "employment", "score": [0.1],
                         "rank": [100], "decile": [1]})
    imd = IMDTable.from_frames(
        rows, vintage="IoD2019",
        denominators=pd.DataFrame({"lsoa_code": ["A"], "population": [1000]}),
    )
    s = imd_summary_from_weights(_weights({"A": 500}), imd)
    assert _value(s, "employment", "employment_scale") == pytest.approx(50)
    assert any("working-age" in n for n in s.attrs["notes"])
    # one LSOA of two without a working-age count is enough for the note
    rows2 = pd.DataFrame({"lsoa_code": ["A", "B"], "domain": "employment", "score": [0.1, 0.2],
                          "rank": [100, 200], "decile": [1, 1]})
    mixed = IMDTable.from_frames(
        rows2, vintage="IoD2019",
        denominators=pd.DataFrame({"lsoa_code": ["A", "B"], "population": [1000, 1000],
                                   "working_age_population": [600, np.nan]}),
    )
    m = imd_summary_from_weights(_weights({"A": 500, "B": 500}), mixed)
    assert any("working-age" in n for n in m.attrs["notes"])
    # 300 working-age people of A at 0.1, 500 people of B at 0.2 (total population)
    assert _value(m, "employment", "employment_scale") == pytest.approx(30 + 100)


def test_rank_areas_largest_first_ties_by_id_nan_unranked():
    s = pd.DataFrame({"area_id": ["b", "a", "c", "d"], "domain": "imd", "measure": "extent",
                      "value": [0.3, 0.3, np.nan, 0.5]})
    r = rank_areas(s, area_col="area_id")
    assert r["rank"].tolist()[:2] == [3.0, 2.0] and math.isnan(r["rank"].iloc[2])
    assert r["rank"].iloc[3] == 1.0
    assert s["value"].iloc[0] == 0.3 and "rank" not in s.columns  # input untouched


def test_whole_lsoa_weights_full_denominators(three):
    m = pd.DataFrame({"lad": ["D", "D", "E"], "code": ["A", "B", "Z"]})
    w = whole_lsoa_weights(three, m, area_col="lad", lsoa_col="code")
    assert w.to_dict("list") == {"area_id": ["D", "D"], "lsoa_code": ["A", "B"],
                                 "population": [1000.0, 500.0]}
    with pytest.raises(ColumnError, match="membership"):
        whole_lsoa_weights(three, m)
    with pytest.raises(ColumnError, match="district"):
        whole_lsoa_weights(three)
    # an LSOA without a denominator among others that have one
    part = IMDTable.from_frames(three.long, vintage="IoD2019",
                                denominators=three.denominators.iloc[:2])
    with pytest.raises(InputError, match="denominator") as err:
        whole_lsoa_weights(part, pd.DataFrame({"lad_code": ["D"] * 3, "lsoa_code": ["A", "B", "C"]}))
    assert err.value.ids == ["C"]
    with pytest.raises(InputError, match="denominator") as err:
        imd_summary_from_weights(_weights({"A": 10, "C": 5}), part)
    assert err.value.ids == ["C"]


def test_weights_are_checked(three):
    with pytest.raises(InputError, match="≥ 0"):
        imd_summary_from_weights(_weights({"A": -1}), three)
    with pytest.raises(InputError, match="more than one row"):
        imd_summary_from_weights(pd.concat([_weights({"A": 1}), _weights({"A": 2})]), three)
    with pytest.raises(InputError, match="lsoa_count"):
        imd_summary_from_weights(_weights({"A": 1}), three, lsoa_count="half")
    with pytest.raises(InputError, match="employment_population"):
        imd_summary_from_weights(_weights({"A": 1}), three, employment_population="adults")
    with pytest.raises(InputError, match="domains"):
        imd_summary_from_weights(_weights({"A": 1}), three, domains=["health"])


def test_imd_summary_shares_a_partly_covered_lsoa_by_area(three):
    lsoa = gdf(["A", "B", "C"], [box(0, 0, 100, 100), box(100, 0, 200, 100),
                                 box(200, 0, 300, 100)], col="lsoa_code")
    # X covers 30 % of A, all of B, none of C; Y covers 50 % of C
    drawn = gdf(["X", "Y"], [box(70, 0, 200, 100), box(250, 0, 300, 100)], col="name")
    s = imd_summary(drawn, lsoa, three, area_id="name")
    assert s.attrs["apportioned_by"] == "area"
    assert _value(s, "all", "population", "X") == pytest.approx(0.3 * 1000 + 500)
    assert _value(s, "all", "population", "Y") == pytest.approx(750)
    assert _value(s, "imd", "average_score", "X") == pytest.approx((300 * 60 + 500 * 30) / 800)
    assert _value(s, "imd", "proportion_most_deprived_10pct", "X") == pytest.approx(0.3 / 1.3)
    # ids in the index (as nbhd_geo.read_layer leaves them) give the same figures
    by_index = imd_summary(drawn.set_index("name"), lsoa, three, area_id="name")
    assert _value(by_index, "all", "population", "X") == pytest.approx(800)


def test_imd_summary_leaves_welsh_and_unknown_lsoas_out(three):
    lsoa = gdf(["A", "W01000001", "Q"], [box(0, 0, 100, 100), box(100, 0, 200, 100),
                                         box(200, 0, 300, 100)], col="lsoa_code")
    drawn = gdf(["X"], [box(0, 0, 300, 100)], col="name")
    s = imd_summary(drawn, lsoa, three, area_id="name")
    notes = " ".join(s.attrs["notes"])
    assert "1 Welsh LSOAs" in notes and "1 LSOAs of lsoa_layer are not in the IMD" in notes
    assert _value(s, "all", "population") == pytest.approx(1000)


# ============================================================== allocation


def test_allocate_by_hand():
    # Budget 1000, floor 30 % per head over 3 × 1000 people: 100 each. The other 700 by
    # P·(1 + x), x = (score − 10)/(40 − 10) = 1, 1/3, 0 → g = 2, 4/3, 1, Σ = 13/3.
    areas = pd.DataFrame({"area_id": ["a", "b", "c"], "score": [40.0, 20.0, 10.0],
                          "pop": [1000, 1000, 1000]})
    out = allocate(1000, areas, need="score", population="pop", floor_share=0.3)
    exact = [100 + 700 * g / (13 / 3) for g in (2, 4 / 3, 1)]
    assert out["exact"].tolist() == pytest.approx(exact)
    assert out["gradient_weight"].tolist() == pytest.approx([2, 4 / 3, 1])
    assert out["floor"].tolist() == pytest.approx([100, 100, 100])
    # 423.08, 315.38, 261.54: floors 423 + 315 + 261 = 999; the pound left goes to c (.54)
    assert out["allocation"].tolist() == [423, 315, 262]
    assert out["per_head"].tolist() == pytest.approx([0.423, 0.315, 0.262])
    assert out.attrs["budget"] == 1000 and out.attrs["floor_share"] == 0.3


def test_allocate_floor_equal_rank_scale_and_gradient():
    areas = pd.DataFrame({"id": ["a", "b", "c", "d"], "rank": [4, 1, 3, 2],
                          "pop": [100, 300, 100, 500]})
    # need = rank with 1 = most deprived; rank scale: oriented −rank ranks 1..4 →
    # x = (r − 1)/3: a 0, b 1, c 1/3, d 2/3; gradient 3 → g = 1, 4, 2, 3
    # d (more deprived) gets (500 + 8000·1500/3000)/500 = £9 a head, c £1033.33/100
    with pytest.warns(AllocationWarning, match=r"'d' \(more deprived\) gets £9.00 a head "
                      r"and 'c' £10.33"):
        out = allocate(10_000, areas, need="rank", population="pop", id_col="id",
                       floor_share=0.2, floor_by="equal", gradient=3.0, need_scale="rank",
                       higher_is_more_deprived=False)
    assert out["gradient_weight"].tolist() == pytest.approx([1, 4, 2, 3])
    assert out["floor"].tolist() == pytest.approx([500] * 4)  # 20 % of 10,000 / 4
    pg = np.array([100 * 1, 300 * 4, 100 * 2, 500 * 3])
    assert out["exact"].tolist() == pytest.approx((500 + 8000 * pg / pg.sum()).tolist())
    assert out["allocation"].sum() == 10_000


def test_allocate_gradient_zero_is_per_head_and_callable_gradient():
    areas = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 9.0], "p": [100, 300]})
    flat = allocate(400, areas, need="s", population="p", gradient=0.0)
    assert flat["allocation"].tolist() == [100, 300]
    steep = allocate(400, areas, need="s", population="p", floor_share=0.0,
                     gradient=lambda need: need)  # weights 1 and 9: 100·1 : 300·9
    assert steep["exact"].tolist() == pytest.approx([400 * 100 / 2800, 400 * 2700 / 2800])
    assert steep.attrs["gradient"] == "<lambda>"


def test_largest_remainder_ties_go_to_the_more_deprived_then_the_smaller_id():
    # three equal areas, budget 10: exact 3.333 each; the one pound left goes by need
    areas = pd.DataFrame({"area_id": ["c", "a", "b"], "s": [5.0, 5.0, 7.0],
                          "p": [1, 1, 1]})
    out = allocate(10, areas, need="s", population="p", floor_share=1.0)
    assert out["allocation"].tolist() == [3, 3, 4]
    even = allocate(11, areas.assign(s=5.0), need="s", population="p", floor_share=1.0)
    # 3.667 each: two pounds left, to the smallest ids a and b
    assert even["allocation"].tolist() == [3, 4, 4]


def test_allocate_budget_zero_and_checks():
    areas = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 2.0], "p": [10, 10]})
    assert allocate(0, areas, need="s", population="p")["allocation"].tolist() == [0, 0]
    for bad in (-1, 10.5, "ten", float("nan")):
        with pytest.raises(InputError, match="budget"):
            allocate(bad, areas, need="s", population="p")
    for share in (-0.1, 1.1):
        with pytest.raises(InputError, match="floor_share"):
            allocate(10, areas, need="s", population="p", floor_share=share)
    with pytest.raises(InputError, match="gradient"):
        allocate(10, areas, need="s", population="p", gradient=-1)
    with pytest.raises(InputError, match="gradient"):
        allocate(10, areas, need="s", population="p", gradient=lambda x: -x)
    with pytest.raises(InputError, match="population"):
        allocate(10, areas.assign(p=[10, -1]), need="s", population="p")
    with pytest.raises(InputError, match="need"):
        allocate(10, areas.assign(s=[1.0, np.inf]), need="s", population="p")
    with pytest.raises(InputError, match="population"):
        allocate(10, areas.assign(p=0), need="s", population="p")
    with pytest.raises(InputError, match="unique"):
        allocate(10, areas.assign(area_id="a"), need="s", population="p")
    with pytest.raises(InputError, match="need_scale"):
        allocate(10, areas, need="s", population="p", need_scale="log")
    with pytest.raises(InputError, match="floor_by"):
        allocate(10, areas, need="s", population="p", floor_by="area")
    with pytest.raises(ColumnError):
        allocate(10, areas, need="score", population="p")
    # no people but the whole budget is the floor: shared equally
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nobody lives there: no per-head figure, no 1/0
        eq = allocate(10, areas.assign(p=0), need="s", population="p", floor_by="equal",
                      floor_share=1.0)
    assert eq["allocation"].tolist() == [5, 5] and eq["per_head"].isna().all()


def test_equal_floor_that_makes_per_head_fall_is_warned():
    # tiny deprived-less area a gets half the floor: £500 for 10 people, vs b's 500 + 0 for
    # 10,000 — per head falls as deprivation rises
    areas = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 9.0], "p": [10, 10_000]})
    with pytest.warns(AllocationWarning, match="'b' \\(more deprived\\)"):
        allocate(1000, areas, need="s", population="p", floor_by="equal", floor_share=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        allocate(1000, areas, need="s", population="p")  # per-head floor: no warning
    # a one-person area counts too
    one = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 9.0], "p": [1, 1000]})
    with pytest.warns(AllocationWarning):
        allocate(1000, one, need="s", population="p", floor_by="equal", floor_share=0.9)
    # a fall of less than £1 a head is still a fall: a £483.33/1000 = 0.48 a head,
    # b (more deprived) £516.67/2000 = 0.26
    small = pd.DataFrame({"area_id": ["a", "b"], "s": [1.0, 9.0], "p": [1000, 2000]})
    with pytest.warns(AllocationWarning, match="£0.26 a head and 'a' £0.48"):
        allocate(1000, small, need="s", population="p", floor_by="equal", floor_share=0.9,
                 gradient=0.0)


def test_largest_remainder_takes_back_float_excess_from_the_right_areas():
    from nbhd_geo.deprivation.allocation import _largest_remainder

    ids = np.array(["z", "a", "b", "c"], dtype=object)
    # floors sum to 15 > 14 (float excess): one pound back, from a positive area; equal
    # remainders and need, so from the larger id among a, b, c (z has nothing to give)
    got = _largest_remainder(np.array([0.0, 5.0, 5.0, 5.0]), 14, ids, np.zeros(4))
    assert got.tolist() == [0, 5, 5, 4]
    # the less deprived area gives first
    got = _largest_remainder(np.array([0.0, 5.0, 5.0, 5.0]), 14, ids,
                             np.array([0.0, 1.0, 0.0, 2.0]))
    assert got.tolist() == [0, 5, 4, 5]
    # two pounds back: the smallest remainders first
    got = _largest_remainder(np.array([0.0, 5.0, 5.5, 5.0]), 13, ids, np.zeros(4))
    assert got.tolist() == [0, 4, 5, 4]
    assert _largest_remainder(np.array([2.5, 2.5]), 5, ids[:2], np.zeros(2)).tolist() == [2, 3]
    # an area with exactly £1 can give it back too
    assert _largest_remainder(np.array([1.0, 1.0]), 1, ids[1:3], np.zeros(2)).tolist() == [1, 0]


def _summary(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"area_id": list(values), "domain": "imd", "measure": "average_score",
                         "value": list(values.values())})


def test_rank_targets_top_decile_by_ceiling_and_shifts():
    # 15 areas: the top decile is ceil(1.5) = 2 areas.
    ids = [f"a{i:02d}" for i in range(15)]
    a = _summary({k: 100.0 - i for i, k in reversed(list(enumerate(ids)))})  # least first
    # b swaps the 2nd and 3rd: a02 enters the top 2, a01 leaves
    vals = {k: 100.0 - i for i, k in enumerate(ids)}
    vals["a01"], vals["a02"] = vals["a02"], vals["a01"]
    r = rank_targets(a, _summary(vals), area_col="area_id")
    assert r.attrs["top_changed"] == ["a01", "a02"]
    assert r.attrs["max_abs_shift"] == 1
    assert r.attrs["mean_abs_shift"] == pytest.approx(2 / 15)
    # Spearman of two rankings differing by one adjacent swap: 1 − 6·Σd²/(n(n²−1))
    assert r.attrs["spearman"] == pytest.approx(1 - 6 * 2 / (15 * (15**2 - 1)))
    assert r["area_id"].tolist()[:3] == ["a00", "a01", "a02"]  # sorted by rank_area
    assert r["shift"].tolist()[:3] == [0, 1, -1]
    assert list(r.columns) == ["area_id", "value_area", "value_population", "rank_area",
                               "rank_population", "shift", "abs_shift"]
    assert r.index.tolist() == list(range(15))
    # with 9 areas the top decile is 1 area (ceil 0.9), never 0
    few = rank_targets(_summary({f"b{i}": float(i) for i in range(9)}),
                       _summary({f"b{i}": float(8 - i) if i in (0, 8) else float(i)
                                 for i in range(9)}), area_col="area_id")
    assert few.attrs["top_changed"] == ["b0", "b8"]


def test_rank_targets_one_area_and_missing_values():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one area: no correlation asked of numpy
        one = rank_targets(_summary({"x": 1.0}), _summary({"x": 2.0}), area_col="area_id")
    assert math.isnan(one.attrs["spearman"]) and one.attrs["max_abs_shift"] == 0
    two = rank_targets(_summary({"x": 1.0, "y": np.nan, "z": 3.0}),
                       _summary({"x": 1.0, "y": 2.0, "z": 3.0}), area_col="area_id")
    # y is unranked by area: the correlation uses x and z only, which agree
    assert two.attrs["spearman"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="different areas"):
        rank_targets(_summary({"x": 1.0}), _summary({"y": 1.0}), area_col="area_id")
    with pytest.raises(InputError, match="extent"):
        rank_targets(_summary({"x": 1.0}), _summary({"x": 1.0}), measure="extent",
                     area_col="area_id")


def test_nbhd_geo_error_is_the_base():
    assert issubclass(InputError, NbhdGeoError)


# ============================================================== split and tension measures

from nbhd_geo.measures.options import BoundaryOptions, SliverTolerance  # noqa: E402
from nbhd_geo.measures.split import fragmentation, unit_splits  # noqa: E402
from nbhd_geo.measures.tension import _composite, layer_tension, tension  # noqa: E402

GEOS = "geos"  # the exact engine is checked against GEOS in test_tension.py


def h2(*p: float) -> float:
    return sum(x * math.log2(1 / x) for x in p if x > 0)


@pytest.fixture
def row3() -> gpd.GeoDataFrame:
    """Three 100 m squares in a row, W1 | W2 | W3, with 100, 300 and 0 people."""
    return gdf(["W1", "W2", "W3"], [box(0, 0, 100, 100), box(100, 0, 200, 100),
                                    box(200, 0, 300, 100)], col="ward", pop=[100, 300, 0])


def _frag(areas, units, **kw):
    return fragmentation(areas, units, area_id="name", unit_id="ward", engine=GEOS, **kw)


def test_inside_one_unit_means_split_zero_even_with_a_sliver(row3):
    # 3600 m² in W1 and a 0.04 m² sliver in W2: one unit, so the split is exactly 0
    c = gdf(["C"], [box(10, 10, 100.001, 50)], col="name")
    f = _frag(c, row3).loc["C"]
    assert f["n_units"] == 1 and f["n_slivers"] == 1 and bool(f["inside_one_unit"])
    assert f["split"] == 0.0
    assert f["share_in_main_unit"] == pytest.approx(3600 / 3600.04, rel=1e-12)
    assert f["share_in_main_unit"] < 1.0
    assert f["eff_units"] == 1.0 and f["eff_splits"] == 0.0 and f["entropy"] == 0.0


def test_split_in_thirds_by_hand(row3):
    # C = 5000 m² of W1 and all 10,000 m² of W2: p = 1/3, 2/3
    c = gdf(["C"], [box(50, 0, 200, 100)], col="name")
    f = _frag(c, row3).loc["C"]
    assert f["area_m2"] == pytest.approx(15000) and f["covered_share"] == pytest.approx(1.0)
    assert f["n_units"] == 2 and f["n_slivers"] == 0 and not f["inside_one_unit"]
    assert f["eff_units"] == pytest.approx(1 / (1 / 9 + 4 / 9))  # 1.8
    assert f["eff_splits"] == pytest.approx(0.8)
    assert f["entropy"] == pytest.approx(h2(1 / 3, 2 / 3))
    assert f["main_unit"] == "W2" and f["share_in_main_unit"] == pytest.approx(2 / 3)
    assert f["main_unit_share_inside"] == pytest.approx(1.0)
    assert f["max_unit_share_inside"] == pytest.approx(1.0)
    assert f["split"] == pytest.approx(1 / 3)


def test_even_split_ties_and_threshold_equality(row3):
    # 5000 m² in each of W1 and W2: main unit W1 (first on ties), half of each inside
    c = gdf(["C"], [box(50, 0, 150, 100)], col="name")
    f = _frag(c, row3, threshold=0.5).loc["C"]
    assert f["main_unit"] == "W1" and f["share_in_main_unit"] == pytest.approx(0.5)
    assert f["main_unit_share_inside"] == pytest.approx(0.5)
    assert f["max_unit_share_inside"] == pytest.approx(0.5)
    assert f["entropy"] == pytest.approx(1.0) and f["eff_units"] == pytest.approx(2.0)
    assert bool(f["coi_preserved"])  # ≥ T, not > T
    assert not bool(_frag(c, row3, threshold=0.51).loc["C", "coi_preserved"])


def test_coi_by_either_clause(row3):
    # 2/3 of C in W2 and all of W2 inside C
    c = gdf(["C"], [box(50, 0, 200, 100)], col="name")
    assert bool(_frag(c, row3, threshold=0.9).loc["C", "coi_preserved"])  # via W2 inside
    # 60 % of C in W2 but only 60 % of W2 inside C, 40 % of W1: neither reaches 0.7
    d = gdf(["D"], [box(60, 0, 160, 100)], col="name")
    f = _frag(d, row3, threshold=0.7).loc["D"]
    assert f["share_in_main_unit"] == pytest.approx(0.6)
    assert f["max_unit_share_inside"] == pytest.approx(0.6)
    assert not bool(f["coi_preserved"])
    assert bool(_frag(d, row3, threshold=0.6).loc["D", "coi_preserved"])


def test_off_the_layer_and_outside_it(row3):
    half = gdf(["H", "far"], [box(250, 0, 350, 100), box(1000, 1000, 1100, 1100)], col="name")
    f = _frag(half, row3)
    # half of H lies beyond the layer: covered 0.5, one unit, split 0
    assert f.loc["H", "covered_share"] == pytest.approx(0.5)
    assert f.loc["H", "n_units"] == 1 and f.loc["H", "split"] == 0.0
    assert f.loc["H", "share_in_main_unit"] == pytest.approx(0.5)
    # far touches nothing: no unit, split and shares unknown, not preserved
    far = f.loc["far"]
    assert far["n_units"] == 0 and far["covered_share"] == 0.0
    assert math.isnan(far["split"]) and math.isnan(far["eff_units"])
    assert math.isnan(far["entropy"]) and math.isnan(far["main_unit_share_inside"])
    assert pd.isna(far["main_unit"]) and not bool(far["coi_preserved"])
    assert far["share_in_main_unit"] == 0.0 and far["max_unit_share_inside"] == 0.0


def test_sliver_tolerance_rules(row3):
    # 2 m × 100 m = 200 m² of C in W2 (1.96 % of C, 2 % of W2): kept at the default 1 %
    c = gdf(["C"], [box(0, 0, 102, 100)], col="name")
    assert _frag(c, row3).loc["C", "n_units"] == 2
    # at 2.5 % it is small for both polygons: a sliver
    f = _frag(c, row3, sliver=SliverTolerance(share=0.025)).loc["C"]
    assert f["n_units"] == 1 and f["n_slivers"] == 1 and f["split"] == 0.0
    # small for C only is not enough: W3 wholly inside a big area is kept
    big = gdf(["B"], [box(-10_000, 0, 300, 100)], col="name")
    assert _frag(big, row3, sliver=SliverTolerance(share=0.5)).loc["B", "n_units"] == 3
    # the m² rule alone
    assert _frag(c, row3, sliver=SliverTolerance(share=0, m2=200.5)).loc["C", "n_units"] == 1
    assert _frag(c, row3, sliver=SliverTolerance(share=0, m2=199.5)).loc["C", "n_units"] == 2
    assert _frag(c, row3, sliver=SliverTolerance(share=0, m2=200)).loc["C", "n_units"] == 2
    # exactly at the share is not below it: half of D in W1 (a quarter of W1) and half in
    # W2 stay; a fifth of E in W1 with exactly half of W1 inside E stays too
    d = gdf(["D", "E"], [box(50, 0, 150, 50), box(50, 0, 300, 100)], col="name")
    f = _frag(d, row3, sliver=SliverTolerance(share=0.5))
    assert f.loc["D", "n_units"] == 2 and f.loc["E", "n_units"] == 3


def test_population_split_by_hand(row3):
    c = gdf(["C", "Z"], [box(50, 0, 200, 100), box(250, 0, 300, 50)], col="name")
    with np.errstate(invalid="raise", divide="raise"):  # no 0/0 where nobody lives
        f = _frag(c, row3, unit_population="pop")
    # C: 50 of W1's 100 people (by area) and all 300 of W2: 1/7 and 6/7
    r = f.loc["C"]
    assert r["population"] == pytest.approx(350) and r["population_kept"] == pytest.approx(350)
    assert r["pop_eff_units"] == pytest.approx(1 / ((1 / 7) ** 2 + (6 / 7) ** 2))
    assert r["pop_entropy"] == pytest.approx(h2(1 / 7, 6 / 7))
    assert r["pop_main_unit"] == "W2" and r["pop_share_in_main_unit"] == pytest.approx(6 / 7)
    assert r["pop_split"] == pytest.approx(1 / 7)
    assert r["pop_max_unit_share_inside"] == pytest.approx(1.0)
    # Z lies in W3, where nobody lives: population measures unknown, not perfect
    z = f.loc["Z"]
    assert z["population"] == 0 and z["split"] == 0.0
    assert math.isnan(z["pop_eff_units"]) and math.isnan(z["pop_split"])
    assert math.isnan(z["pop_share_in_main_unit"])
    assert pd.isna(z["pop_main_unit"]) and not bool(z["pop_coi_preserved"])


def test_unit_splits_by_hand(row3):
    # N covers the left 30 m of W1, M the next 50 m; 20 m of W1 is in no neighbourhood;
    # W2 and W3 are untouched.
    areas = gdf(["N", "M"], [box(0, 0, 30, 100), box(30, 0, 80, 100)], col="name")
    s = unit_splits(areas, row3, area_id="name", unit_id="ward", unit_population="pop",
                    engine=GEOS)
    w1 = s.loc["W1"]
    assert w1["unit_m2"] == pytest.approx(10_000) and w1["n_areas"] == 2
    assert w1["areas"] == ("M", "N") and w1["shares"] == pytest.approx((0.5, 0.3))
    assert w1["main_area"] == "M" and w1["main_share"] == pytest.approx(0.5)
    assert w1["outside_share"] == pytest.approx(0.2)
    # pieces 0.5, 0.3 and the outside 0.2
    assert w1["split_entropy"] == pytest.approx(h2(0.5, 0.3, 0.2))
    assert w1["eff_pieces"] == pytest.approx(1 / (0.25 + 0.09 + 0.04))
    assert w1["population"] == 100 and w1["pop_outside"] == pytest.approx(20)
    assert w1["pop_shares"] == pytest.approx((0.5, 0.3))
    assert w1["pop_outside_share"] == pytest.approx(0.2)
    w2 = s.loc["W2"]
    assert w2["n_areas"] == 0 and w2["areas"] == () and pd.isna(w2["main_area"])
    assert w2["outside_share"] == pytest.approx(1.0) and w2["main_share"] == 0.0
    assert w2["split_entropy"] == 0.0 and w2["eff_pieces"] == 1.0
    assert w2["pop_outside"] == pytest.approx(300)


def test_unit_splits_slivers_and_a_small_outside_part(row3):
    # N covers W1 but for a 0.5 m strip (0.5 % of W1: a sliver outside part), and pokes
    # 0.5 m into W2 (0.5 % of W2 and 0.5 % of N: a sliver piece)
    areas = gdf(["N"], [box(0.5, 0, 100.5, 100)], col="name")
    s = unit_splits(areas, row3, area_id="name", unit_id="ward", engine=GEOS)
    w1, w2 = s.loc["W1"], s.loc["W2"]
    assert w1["n_areas"] == 1 and w1["outside_share"] == pytest.approx(0.005)
    assert w1["split_entropy"] == 0.0 and w1["eff_pieces"] == 1.0  # outside part a sliver
    assert w2["n_areas"] == 0 and w2["areas"] == ()
    kept = unit_splits(areas, row3, area_id="name", unit_id="ward", engine=GEOS,
                       sliver=SliverTolerance(share=0, m2=0))
    assert kept.loc["W2", "n_areas"] == 1
    assert kept.loc["W1", "split_entropy"] == pytest.approx(h2(0.995, 0.005))


def test_composite_is_a_weighted_mean_and_missing_terms_are_worst():
    iou, f1, eff = np.array([0.5]), np.array([0.25]), np.array([4.0])
    # terms 0.5, 0.75, 0.75
    assert _composite(iou, f1, eff, (1, 1, 1))[0] == pytest.approx(2.0 / 3)
    assert _composite(iou, f1, eff, (2, 1, 1))[0] == pytest.approx((1 + 0.75 + 0.75) / 4)
    assert _composite(iou, f1, eff, (1, 0, 0))[0] == pytest.approx(0.5)
    # no overlap at all: IoU, F1 and N unknown count as the worst value, 1 — not perfect
    nan = np.array([np.nan])
    assert _composite(nan, f1, eff, (1, 0, 0))[0] == 1.0
    assert _composite(iou, nan, eff, (0, 1, 0))[0] == 1.0
    assert _composite(iou, f1, nan, (0, 0, 1))[0] == 1.0
    # float noise never takes a term outside [0, 1]
    assert _composite(np.array([1 + 1e-12]), np.array([1.0]), np.array([1.0]), (1, 1, 1))[0] == 0
    assert _composite(np.array([-0.5]), np.array([1.0]), np.array([1.0]), (1, 0, 0))[0] == 1.0


def test_tension_weights_and_auto(row3):
    c = gdf(["C"], [box(0, 0, 200, 100)], col="name")  # exactly W1 ∪ W2
    t = tension(c, row3, area_id="name", unit_id="ward", engine=GEOS)
    assert t.loc["C", "iou"] == pytest.approx(1.0) and t.loc["C", "f1_50"] == pytest.approx(1.0)
    # only the split term: 1 − 1/N with N = 2, over the sum of weights 3
    assert t.loc["C", "tension"] == pytest.approx(0.5 / 3)
    auto = tension(c, row3, area_id="name", unit_id="ward", score_weights="auto", engine=GEOS)
    # units (10,000 m²) smaller than the neighbourhood (20,000 m²): a building-block layer
    assert auto.attrs["score_weights"] == (1.0, 1.0, 0.0)
    assert auto.loc["C", "tension"] == pytest.approx(0.0, abs=1e-12)
    one = gdf(["O"], [box(0, 0, 100, 100)], col="name")  # the same size as a unit
    assert tension(one, row3, area_id="name", unit_id="ward", score_weights="auto",
                   engine=GEOS).attrs["score_weights"] == (1.0, 1.0, 1.0)
    # only the IoU term, weight 0.5: divided by the weights' sum (0.5), not by 3
    shifted = gdf(["S"], [box(50, 0, 150, 100)], col="name")
    s = tension(shifted, row3, area_id="name", unit_id="ward", score_weights=(0.5, 0, 0),
                engine=GEOS).loc["S"]
    assert s["tension"] == pytest.approx(1 - s["iou"])
    assert s["iou"] == pytest.approx(10_000 / 20_000)  # best fit W1 ∪ W2 (W1 alone: 1/3)


def test_tension_of_an_area_outside_the_layer_is_one(row3):
    far = gdf(["far"], [box(5000, 5000, 5100, 5100)], col="name")
    t = tension(far, row3, area_id="name", unit_id="ward", engine=GEOS).loc["far"]
    assert t["tension"] == 1.0


@pytest.mark.parametrize("weights", [(-1, 1, 1), (float("nan"), 1, 1), (1, 1, float("inf"))])
def test_score_weights_must_be_finite_and_not_negative(row3, weights):
    c = gdf(["C"], [box(0, 0, 100, 100)], col="name")
    with pytest.raises(NbhdGeoError, match="score_weights"):
        tension(c, row3, area_id="name", unit_id="ward", score_weights=weights, engine=GEOS)


def test_boundary_options_reach_the_measures(row3):
    c = gdf(["C"], [box(0, 0, 100, 130)], col="name")  # W1 plus 30 m beyond its top
    t = tension(c, row3, area_id="name", unit_id="ward", engine=GEOS,
                boundary=BoundaryOptions(tolerances=(20, 40), score_tolerance=40, spacing=1))
    assert {"f1_20", "f1_40"} <= set(t.columns) and "f1_50" not in t.columns
    # the top edge is 30 m off: outside 20 m, inside 40 m
    assert t.loc["C", "f1_40"] == pytest.approx(1.0)
    assert t.loc["C", "boundary_agreement"] == t.loc["C", "f1_40"]
    assert t.loc["C", "f1_20"] < 1.0
    assert t.loc["C", "hausdorff_m"] == pytest.approx(30.0)


def test_layer_tension_passes_its_options_on(row3):
    a = gdf(["A"], [box(0, 0, 150, 100)], col="code")
    kw = {"a_id": "code", "b_id": "ward", "b_population": "pop", "engine": GEOS,
          "boundary": BoundaryOptions(tolerances=(10,), score_tolerance=10)}
    r = layer_tension(a, row3, sliver=SliverTolerance(share=0.4), **kw).loc["A"]
    # W2's half inside A is 1/3 of A and 1/2 of W2: not below a 0.4 sliver share for both
    assert r["n_units"] == 2 and "f1_10" in r.index and "pop_tension" in r.index
    assert r["share_in_main_unit"] == pytest.approx(2 / 3)
    # W1 100 people, half of W2's 300: pop shares 0.4, 0.6
    assert r["pop_share_in_main_unit"] == pytest.approx(0.6)
    # at 0.6 it is below both: a sliver
    assert layer_tension(a, row3, sliver=SliverTolerance(share=0.6), **kw).loc["A", "n_units"] == 1


# ============================================================== crosswalk and apportion wrappers

from nbhd_geo.errors import CRSError, ValidationError  # noqa: E402
from nbhd_geo.overlay.apportion import Apportionment, apportion, reuse_or_apportion  # noqa: E402
from nbhd_geo.overlay.crosswalk import (  # noqa: E402
    _layer_key,
    crosswalk,
    pair_areas,
    record_passes,
)


@pytest.fixture
def cw_layers():
    # sources: S (100 m², 70 in W1, 30 in W2), P (half beyond the layer), F (far away)
    src = gdf(["S", "P", "F"], [box(0, 0, 10, 10), box(15, 0, 25, 10), box(90, 90, 95, 95)],
              col="sid")
    tgt = gdf(["W1", "W2"], [box(0, 0, 7, 10), box(7, 0, 20, 10)], col="tid")
    return src, tgt


@pytest.mark.parametrize("engine", ["geos", "exact"])
def test_crosswalk_table_by_hand(cw_layers, engine):
    src, tgt = cw_layers
    cw = crosswalk(src, tgt, source_id="sid", target_id="tid", sliver_tol_m2=30.5, engine=engine)
    t = cw.table
    assert t[["source_id", "target_id"]].values.tolist() == [["S", "W1"], ["S", "W2"],
                                                              ["P", "W2"]]
    assert t["area_m2"].tolist() == pytest.approx([70, 30, 50])
    assert t["share_of_source"].tolist() == pytest.approx([0.7, 0.3, 0.5])
    assert t["share_of_target"].tolist() == pytest.approx([1.0, 30 / 130, 50 / 130])
    assert t["is_sliver"].tolist() == [False, True, False]  # 30 < 30.5
    assert crosswalk(src, tgt, source_id="sid", target_id="tid", sliver_tol_m2=30,
                     engine=engine).table["is_sliver"].tolist() == [False] * 3  # not ≤
    assert cw.engine == engine and cw.crs == "EPSG:27700" and cw.sliver_tol_m2 == 30.5


def test_crosswalk_coverage_signs_and_summary(cw_layers):
    src, tgt = cw_layers
    cw = crosswalk(src, tgt, source_id="sid", target_id="tid", engine="geos")
    s = cw.coverage("source")
    assert s.index.name == "source_id" and list(s.index) == ["S", "P", "F"]
    assert s["area_m2"].tolist() == pytest.approx([100, 100, 25])
    assert s["overlap_m2"].tolist() == pytest.approx([100, 50, 0])
    assert s["share_covered"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    # uncovered = area − overlap: positive where a polygon runs off the other layer
    assert s["uncovered_m2"].tolist() == pytest.approx([0, 50, 25])
    assert s["n_partners"].tolist() == [2, 1, 0]
    g = cw.coverage("target")
    assert g["overlap_m2"].tolist() == pytest.approx([70, 80])
    assert g["uncovered_m2"].tolist() == pytest.approx([0, 50])
    assert g["share_covered"].tolist() == pytest.approx([1.0, 80 / 130])
    summ = cw.summary()
    assert summ == {
        "pairs": 3, "slivers": 0, "sliver_area_m2": 0.0, "sliver_tol_m2": 1.0,
        "source_features": 3, "target_features": 2, "source_area_m2": pytest.approx(225),
        "target_area_m2": pytest.approx(200), "overlap_area_m2": pytest.approx(150),
        "sources_without_overlap": 1, "crs": "EPSG:27700", "engine": "geos",
    }
    with pytest.raises(NbhdGeoError, match="side"):
        cw.coverage("both")
    # S overlaps two targets, F none: one source without overlap
    two = crosswalk(src.iloc[[0, 2]], tgt, source_id="sid", target_id="tid", engine="geos")
    assert two.summary()["sources_without_overlap"] == 1


def test_crosswalk_sliver_summary_and_checks(cw_layers):
    src, tgt = cw_layers
    cw = crosswalk(src, tgt, source_id="sid", target_id="tid", sliver_tol_m2=40, engine="geos")
    summ = cw.summary()
    assert summ["slivers"] == 1 and summ["sliver_area_m2"] == pytest.approx(30)
    for tol in (-1, float("nan"), float("inf")):
        with pytest.raises(NbhdGeoError, match="sliver_tol_m2"):
            crosswalk(src, tgt, sliver_tol_m2=tol)
    with pytest.raises(NbhdGeoError, match="engine"):
        crosswalk(src, tgt, engine="fast")


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_pair_areas_geos_in_chunks_sorted_and_without_touching_pairs(threads):
    # b[0] only touches a[0] along x = 10 (area 0): not a pair
    a = np.array([box(0, 0, 10, 10), box(20, 0, 30, 10), box(5, 0, 25, 10)])
    b = np.array([box(10, 0, 15, 10), box(0, 0, 30, 5)])
    ia, ib, area = pair_areas(a, b, engine="geos", threads=threads)
    assert list(zip(ia.tolist(), ib.tolist(), strict=True)) == [(0, 1), (1, 1), (2, 0), (2, 1)]
    assert area.tolist() == pytest.approx([50, 50, 50, 100])
    assert ia.dtype == np.int64 and ib.dtype == np.int64 and area.dtype == np.float64
    none = pair_areas(a[:1], np.array([box(50, 50, 60, 60)]), engine="geos", threads=threads)
    assert [len(x) for x in none] == [0, 0, 0] and none[0].dtype == np.int64


@pytest.mark.parametrize("threads", [1, 2])
def test_pair_areas_geos_many_chunks(threads):
    # a 6 × 6 grid of 10 m squares against the same grid shifted 5 m both ways: every
    # inner square meets four shifted ones, 25 m² each (more pairs than chunks)
    a = np.array([box(10 * i, 10 * j, 10 * i + 10, 10 * j + 10)
                  for i in range(6) for j in range(6)])
    b = np.array([box(10 * i + 5, 10 * j + 5, 10 * i + 15, 10 * j + 15)
                  for i in range(6) for j in range(6)])
    ia, ib, area = pair_areas(a, b, engine="geos", threads=threads)
    assert len(ia) == 6 * 6 + 2 * 6 * 5 + 5 * 5  # 121 pairs
    assert area.sum() == pytest.approx(55 * 55) and np.allclose(area, 25)  # [5, 60]²
    assert np.all(np.diff(ia * 100 + ib) > 0)  # sorted by (i, j), no duplicates


def test_geos_pairs_found_by_the_tree_when_no_candidates_are_given():
    from nbhd_geo.overlay.crosswalk import _geos_pair_areas

    a = np.array([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    b = np.array([box(5, 5, 25, 15)])
    ia, ib, area = _geos_pair_areas(a, b, 1)
    assert ia.tolist() == [0, 1] and ib.tolist() == [0, 0]
    assert area.tolist() == pytest.approx([25, 25])


def test_pair_areas_checks_every_position():
    good = box(0, 0, 1, 1)
    with pytest.raises(InputError, match="1-D"):
        pair_areas(np.array([[good]], dtype=object), np.array([good]))
    bad = np.array([good, shapely.Point(0, 0), shapely.Polygon(),
                    shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])], dtype=object)
    with pytest.raises(ValidationError) as err:
        pair_areas(bad, np.array([box(0, 0, 2, 2)]))
    text = "\n".join(err.value.problems)
    assert "empty or missing geometry at positions: 2" in text
    assert "not a polygon at positions: 1" in text
    assert "invalid geometry at positions: 3" in text
    # an invalid polygon far from the other layer is not looked at
    far = np.array([shapely.Polygon([(50, 50), (51, 51), (51, 50), (50, 51)])], dtype=object)
    assert [len(x) for x in pair_areas(far, np.array([good]), engine="geos")] == [0, 0, 0]


def test_record_passes_counts_each_pass_and_restores():
    a = np.array([box(0, 0, 10, 10)])
    b = np.array([box(0, 0, 5, 5), box(5, 5, 20, 20)])
    with record_passes() as outer:
        pair_areas(a, b, engine="geos")
        with record_passes() as inner:
            pair_areas(b, a, engine="geos")
        pair_areas(a, a, engine="geos")
    assert inner == [(_layer_key(b), _layer_key(a))]
    assert outer == [(_layer_key(a), _layer_key(b)), (_layer_key(a), _layer_key(a))]
    assert _layer_key(a) != _layer_key(b) and _layer_key(a).startswith("1:")
    # bounds count to 0.1 m: 0.4 m apart is another layer, 0.04 m apart the same one
    assert _layer_key(np.array([box(0, 0, 10, 10.4)])) != _layer_key(a)
    assert _layer_key(np.array([box(0, 0, 10, 10.04)])) == _layer_key(a)
    assert _layer_key(np.array([], dtype=object)).startswith("0:")


@pytest.fixture
def two_lsoas():
    return gdf(["L1", "L2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)], col="code",
               pop=[1000, 500])


def test_apportion_by_area_and_conservation(two_lsoas):
    drawn = gdf(["O", "Q"], [box(60, 0, 150, 100), box(0, 0, 100, 100)], col="name")
    ap = apportion(drawn, two_lsoas, area_id="name", unit_id="code", unit_population="pop",
                   engine="geos")
    t = ap.table
    assert t[["area_id", "unit_id"]].values.tolist() == [["O", "L1"], ["O", "L2"], ["Q", "L1"]]
    assert t["overlap_m2"].tolist() == pytest.approx([4000, 5000, 10000])
    assert t["area_share"].tolist() == pytest.approx([0.4, 0.5, 1.0])
    assert t["population"].tolist() == pytest.approx([400, 250, 1000])
    c = ap.conservation()
    # L1 is in both O (40 %) and Q (100 %): 1.4 of it allocated, over-allocated
    assert c.loc["L1", "allocated"] == pytest.approx(1400)
    assert c.loc["L1", "share_allocated"] == pytest.approx(1.4)
    assert c.loc["L1", "unallocated"] == pytest.approx(-400)
    assert bool(c.loc["L1", "over_allocated"]) and not bool(c.loc["L2", "over_allocated"])
    assert c.loc["L2", "unallocated"] == pytest.approx(250)
    assert c.loc["TOTAL", "population"] == 1500
    assert c.loc["TOTAL", "allocated"] == pytest.approx(1650)
    assert c.loc["TOTAL", "unallocated"] == pytest.approx(-150)
    assert bool(c.loc["TOTAL", "over_allocated"]) and math.isnan(c.loc["TOTAL", "share_allocated"])
    b = ap.by_area()
    assert b.loc["O", "population"] == pytest.approx(650)
    assert b.loc["O", "overlap_m2"] == pytest.approx(9000)
    assert ap.by == "area" and ap.units["weighted_by"].tolist() == ["area", "area"]
    assert ap.units["weight_total"].tolist() == pytest.approx([10000, 10000])
    # exactly all of a unit, once: not over-allocated
    whole = apportion(gdf(["Q"], [box(0, 0, 100, 100)], col="name"), two_lsoas, area_id="name",
                      unit_id="code", unit_population="pop", engine="geos").conservation()
    assert not bool(whole.loc["L1", "over_allocated"])
    assert whole.loc["L2", "allocated"] == 0 and whole.loc["L2", "unallocated"] == 500


def test_apportion_by_points(two_lsoas):
    # 10 people at (50, 50), 30 at (90, 50), 7 on the L1|L2 line (counted in L1, the
    # first), 5 outside every unit; L2 has nobody: it falls back to area
    pts = gpd.GeoDataFrame(
        {"n": [10, 30, 7, 5]},
        geometry=[shapely.Point(50, 50), shapely.Point(90, 50), shapely.Point(100, 50),
                  shapely.Point(500, 500)], crs=27700,
    )
    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    ap = apportion(drawn, two_lsoas, area_id="name", unit_id="code", unit_population="pop",
                   weights=pts, weight_col="n", engine="geos")
    assert ap.by == "points"
    assert ap.units["weight_total"].tolist() == pytest.approx([47, 0])
    assert ap.units["weighted_by"].tolist() == ["points", "area"]
    t = ap.table.set_index("unit_id")
    # O holds 30 + 7 of L1's 47 counted people; L2 by area: half
    assert t.loc["L1", "pop_share"] == pytest.approx(37 / 47)
    assert t.loc["L2", "pop_share"] == pytest.approx(0.5)
    assert t.loc["L1", "population"] == pytest.approx(1000 * 37 / 47)
    # without unit populations, the points' own counts are the populations
    own = apportion(drawn, two_lsoas, area_id="name", unit_id="code", weights=pts,
                    weight_col="n", engine="geos")
    assert own.units["population"].tolist() == pytest.approx([47, 0])
    assert own.table.set_index("unit_id").loc["L1", "population"] == pytest.approx(37)


def test_apportion_points_beyond_the_units_count_nowhere(two_lsoas):
    # R runs 50 m beyond L2; 4 people in L2 inside R, 11 beyond the layer inside R
    pts = gpd.GeoDataFrame({"n": [4, 11]}, geometry=[shapely.Point(160, 50),
                                                     shapely.Point(220, 50)], crs=27700)
    drawn = gdf(["R"], [box(150, 0, 250, 100)], col="name")
    ap = apportion(drawn, two_lsoas, area_id="name", unit_id="code", weights=pts,
                   weight_col="n", engine="geos")
    t = ap.table.set_index("unit_id")
    assert t.loc["L2", "pop_share"] == pytest.approx(1.0) and t.loc["L2", "population"] == 4
    assert ap.units["weight_total"].tolist() == pytest.approx([0, 4])


def test_apportion_by_area_keeps_the_drawing_order(two_lsoas):
    drawn = gdf(["Z", "A"], [box(0, 0, 50, 100), box(150, 0, 200, 100)], col="name")
    ap = apportion(drawn, two_lsoas, area_id="name", unit_id="code", unit_population="pop",
                   engine="geos")
    assert ap.by_area().index.tolist() == ["Z", "A"]
    assert ap.by_area()["population"].tolist() == pytest.approx([500, 250])


def test_apportion_by_fine_polygons(two_lsoas):
    # L1 split in two OAs: west (x 0–50) 100 people, east (50–100) 300; L2 one OA of 0
    oas = gdf(["a", "b", "c"], [box(0, 0, 50, 100), box(50, 0, 100, 100),
                                box(100, 0, 200, 100)], col="oa", people=[100, 300, 0])
    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    ap = apportion(drawn, two_lsoas, area_id="name", unit_id="code", unit_population="pop",
                   weights=oas, weight_col="people", engine="geos")
    assert ap.by == "polygons"
    t = ap.table.set_index("unit_id")
    # O holds 40 of the east OA's 50 m width: 240 of L1's 400 counted people
    assert t.loc["L1", "pop_share"] == pytest.approx(240 / 400)
    assert t.loc["L2", "pop_share"] == pytest.approx(0.5)  # nobody counted: by area
    assert ap.units["weight_total"].tolist() == pytest.approx([400, 0])


def test_apportion_checks(two_lsoas):
    drawn = gdf(["O"], [box(60, 0, 150, 100)], col="name")
    kw = {"area_id": "name", "unit_id": "code", "engine": "geos"}
    with pytest.raises(ColumnError, match="people"):
        apportion(drawn, two_lsoas, unit_population="people", **kw)
    with pytest.raises(NbhdGeoError, match="unit_population"):
        apportion(drawn, two_lsoas.assign(pop=[1000, -1]), unit_population="pop", **kw)
    with pytest.raises(NbhdGeoError, match="unit_population"):
        apportion(drawn, two_lsoas, unit_population=pd.Series({"L1": 5.0}), **kw)
    with pytest.raises(NbhdGeoError, match="by"):
        apportion(drawn, two_lsoas, by="volume", **kw)
    with pytest.raises(InputError, match="weights"):
        apportion(drawn, two_lsoas, by="points", **kw)
    pts = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(1, 1)], crs=27700)
    with pytest.raises(ColumnError, match="weight_col"):
        apportion(drawn, two_lsoas, weights=pts, weight_col="m", **kw)
    with pytest.raises(NbhdGeoError, match="counts"):
        apportion(drawn, two_lsoas, weights=pts.assign(n=[-1]), weight_col="n", **kw)
    with pytest.raises(CRSError):
        apportion(drawn, two_lsoas, weights=pts.set_crs(None, allow_override=True),
                  weight_col="n", **kw)
    with pytest.raises(InputError, match="Point"):
        apportion(drawn, two_lsoas, weights=two_lsoas, weight_col="pop", by="points", **kw)


def test_reuse_of_a_crosswalk_and_of_an_apportionment(two_lsoas):
    drawn = gdf(["O"], [box(60, 0, 250, 100)], col="name")  # reaches into L3
    three = pd.concat([two_lsoas, gdf(["L3"], [box(200, 0, 300, 100)], col="code", pop=[9])],
                      ignore_index=True)
    cw = crosswalk(drawn, three, source_id="name", target_id="code", engine="geos")
    # the units without L3: the crosswalk's rows for L3 are left out
    ap = apportion(drawn, two_lsoas, area_id="name", unit_id="code", unit_population="pop",
                   crosswalk=cw)
    assert ap.table["unit_id"].tolist() == ["L1", "L2"]
    assert ap.table["population"].tolist() == pytest.approx([400, 500])
    assert list(ap.crosswalk.table.columns) == list(cw.table.columns)
    assert reuse_or_apportion(ap, drawn, two_lsoas, area_id="name", unit_id="code") is ap
    with pytest.raises(InputError, match="other target features"):
        apportion(drawn, three, area_id="name", unit_id="code",
                  crosswalk=crosswalk(drawn, two_lsoas, source_id="name", target_id="code",
                                      engine="geos"))
    with pytest.raises(InputError, match="Crosswalk"):
        apportion(drawn, two_lsoas, area_id="name", unit_id="code", crosswalk=ap)  # type: ignore[arg-type]
    assert isinstance(ap, Apportionment)


@pytest.mark.parametrize(("a_x0", "notch_top", "filled"), [(0, 45, True), (-100, 55, False)])
def test_holes_in_the_best_fit_smaller_than_the_sliver_share_of_the_smallest_unit_are_gaps(
    a_x0, notch_top, filled
):
    # A | B with a notch cut from B's left edge: the union of A and B has a hole there.
    # 10 × 5 = 50 m² is under 1 % of the smallest unit (B, 9,950 m²): a gap, filled, so the
    # boundary matches C's exactly. 10 × 15 = 150 m² is over 1 % of B (98.5 m²) though
    # under 1 % of A (200 m²): a real hole, whose ring is 40 m from C's boundary.
    notch = box(100, 40, 110, notch_top)
    units = gdf(["A", "B"], [box(a_x0, 0, 100, 100), box(100, 0, 200, 100).difference(notch)],
                col="ward")
    c = gdf(["C"], [box(a_x0, 0, 200, 100)], col="name")
    t = tension(c, units, area_id="name", unit_id="ward", engine=GEOS).loc["C"]
    assert t["n_fit_units"] == 2
    if filled:
        assert t["f1_25"] == pytest.approx(1.0)
    else:
        assert t["f1_25"] < 0.99
