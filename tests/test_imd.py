"""Readers of the Indices of Deprivation, vintage checks and LSOA11 <-> LSOA21 conversion."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from nbhd_geo.deprivation.imd import DOMAINS, IMDTable, read_imd
from nbhd_geo.deprivation.vintage import check_vintage, convert_lsoa_vintage, read_lsoa_lookup
from nbhd_geo.errors import ColumnError, InputError, NbhdGeoError, VintageError

H19 = [
    "LSOA code (2011)",
    "LSOA name (2011)",
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
    "Index of Multiple Deprivation (IMD) Score",
    "Index of Multiple Deprivation (IMD) Rank",
    "Index of Multiple Deprivation (IMD) Decile",
    "Income Score (rate)",
    "Income Rank (where 1 is most deprived)",
    "Income Decile (where 1 is most deprived 10% of LSOAs)",
    "Total population: mid 2015 (excluding prisoners)",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners)",
]


def _write(path, header, rows, *, gz=False):
    def q(v):
        v = str(v)
        return f'"{v}"' if "," in v else v

    text = "\ufeff" + ",".join(q(h) for h in header) + "\n"
    text += "".join(",".join(q(v) for v in r) + "\n" for r in rows)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny19(tmp_path):
    rows = [
        ["E01000001", "A 001A", "E09000001", "Town", 35.5, "1,234", 1, 0.31, "2,000", 1,
         "1,500", 900],
        ["E01000002", "A 001B", "E09000001", "Town", 10.25, "29,199", 9, 0.05, 30000, 10,
         1200, 700],
    ]
    return _write(tmp_path / "mine.csv", H19, rows)


# ------------------------------------------------------------------ handmade files


def test_user_csv_with_iod2019_headers(tiny19):
    t = read_imd(tiny19)
    assert (t.vintage, t.geography, t.n) == ("IoD2019", "LSOA11", 32_844)
    assert t.domains == ("imd", "income")
    row = t.long.set_index(["lsoa_code", "domain"]).loc[("E01000002", "imd")]
    assert row["rank"] == 29_199 and row["decile"] == 9 and row["score"] == 10.25
    assert t.long.set_index(["lsoa_code", "domain"]).loc[("E01000001", "income"), "score"] == 0.31
    den = t.denominators.set_index("lsoa_code")
    assert den.loc["E01000001", "population"] == 1500
    assert den.loc["E01000001", "working_age_population"] == 900
    assert t.districts["lad_code"].tolist() == ["E09000001", "E09000001"]
    assert t.has_scores("imd") and not any("no scores" in n for n in t.notes)
    assert t.wide("rank").loc["E01000001", "income"] == 2000


def test_gzip_and_folder_skip_other_files(tmp_path, tiny19):
    folder = tmp_path / "d"
    folder.mkdir()
    _write(folder / "f.csv.gz", H19[:7], [r[:7] for r in pd.read_csv(tiny19).values.tolist()],
           gz=True)
    (folder / "published.csv").write_text("lad19cd,average_rank\nE06000001,1.0\n")
    t = read_imd(folder)
    assert t.long["lsoa_code"].nunique() == 2
    assert t.sources and all(s.endswith("f.csv.gz") for s in t.sources)


def test_rank_out_of_range_is_reported(tmp_path):
    p = _write(tmp_path / "x.csv", H19[:7], [["E01000001", "a", "E1", "b", 1.0, "33,000", 1]])
    with pytest.raises(InputError, match="between 1 and N = 32844"):
        read_imd(p)


def test_files_that_disagree(tmp_path):
    a = _write(tmp_path / "a.csv", H19[:7], [["E01000001", "a", "E1", "b", 1.0, 5, 1]])
    b = _write(tmp_path / "b.csv", H19[:7], [["E01000001", "a", "E1", "b", 1.0, 6, 1]])
    with pytest.raises(InputError, match="disagree on the rank"):
        read_imd([a, b])


def test_unreadable_inputs(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_imd(tmp_path / "nope.csv")
    p = tmp_path / "other.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no Indices of Deprivation columns"):
        read_imd(p)
    bad = _write(tmp_path / "bad.csv", H19[:7], [["E01000001", "a", "E1", "b", "x1", 5, 1]])
    with pytest.raises(InputError, match="not numbers"):
        read_imd(bad)


def test_vintage_argument_mismatch(tiny19):
    with pytest.raises(VintageError, match="IoD2019, not IoD2025"):
        read_imd(tiny19, vintage="IoD2025")
    with pytest.raises(VintageError, match="unknown vintage"):
        IMDTable.from_frames(pd.DataFrame(columns=["lsoa_code", "domain", "rank", "decile"]),
                             vintage="IoD2015")  # type: ignore[arg-type]


def test_mixed_vintages(tmp_path, tiny19):
    p = tmp_path / "i25.csv"
    p.write_text("lsoa21_code,IMD_score,IMD_rank,IMD_decile\nE01000001,3.0,30000.0,9.0\n")
    with pytest.raises(VintageError, match="more than one vintage"):
        read_imd([tiny19, p])


def test_tidy_2025_and_census(tmp_path):
    p = tmp_path / "i25.csv"
    p.write_text(
        "lsoa21_code,IMD_decile,IMD_rank,IMD_score,Housing_and_Services_rank,"
        "Housing_and_Services_decile,Housing_and_Services_score\n"
        "E01000001,8.0,26525.0,8.742,29220.0,9.0,10.95\n"
    )
    c = tmp_path / "census.csv"
    c.write_text(
        "lsoa21_code,lsoa21_name,usual_residents_total,Aged 15 years and under,"
        "Aged 16 to 24 years,Aged 25 to 34 years,Aged 35 to 49 years,Aged 50 to 64 years,"
        "Aged 65 years and over\n"
        "E01000001,x,1477.0,125.0,110.0,291.0,336.0,245.0,370.0\n"
        "W01000001,y,1000.0,100.0,100.0,100.0,100.0,100.0,500.0\n"
    )
    t = read_imd(tmp_path)
    assert (t.vintage, t.geography, t.n) == ("IoD2025", "LSOA21", 33_755)
    assert t.domains == ("imd", "barriers")
    assert t.denominators["lsoa_code"].tolist() == ["E01000001"]  # Wales dropped
    assert t.denominators["working_age_population"].iloc[0] == 110 + 291 + 336 + 245
    assert any("Census 2021" in n and "mid-2022" in n for n in t.notes)


def test_from_frames_copies_and_validates():
    long = pd.DataFrame({"lsoa_code": ["A", "A"], "domain": ["imd", "imd"], "rank": [1, 2],
                         "decile": [1, 1]})
    before = long.copy()
    with pytest.raises(InputError, match="more than one row"):
        IMDTable.from_frames(long, vintage="IoD2019")
    pd.testing.assert_frame_equal(long, before)
    with pytest.raises(ColumnError):
        IMDTable.from_frames(long.drop(columns="rank"), vintage="IoD2019")
    with pytest.raises(InputError, match="deciles"):
        IMDTable.from_frames(long.iloc[:1].assign(decile=11), vintage="IoD2019")
    assert issubclass(VintageError, NbhdGeoError)


# ------------------------------------------------------------------ vintage checks


def _national(vintage, codes):
    n = 32_844 if vintage == "IoD2019" else 33_755
    ranks = np.arange(1, len(codes) + 1)
    return IMDTable.from_frames(
        pd.DataFrame({"lsoa_code": codes, "domain": "imd", "rank": ranks,
                      "decile": np.minimum(10, (ranks - 1) * 10 // n + 1)}),
        vintage=vintage,
    )


def test_check_vintage_national_table_without_lookup():
    codes = [f"E01{i:06d}" for i in range(1, 33_756)]
    imd = _national("IoD2025", codes)
    check_vintage(codes[:5], imd)
    with pytest.raises(VintageError, match="convert_lsoa_vintage") as err:
        check_vintage(["E01000001", "E01099999"], imd, argument="weights")
    assert err.value.ids == ["E01099999"] and err.value.argument == "weights"


def test_check_vintage_partial_table_without_lookup(tiny19):
    imd = read_imd(tiny19)
    with pytest.raises(InputError, match="not in the IoD2019 table") as err:
        check_vintage(["E01000001", "E01035637"], imd)
    assert not isinstance(err.value, VintageError)
    with pytest.raises(InputError, match="neither LSOA codes"):
        check_vintage(["nonsense"], imd)


def _lookup(tmp_path):
    p = tmp_path / "lk.csv"
    pd.DataFrame(
        {
            "lsoa11_code": ["E01000001", "E01000002", "E01000002", "E01000003", "E01000004",
                            "E01000005", "E01000006", "E01000006"],
            "change_code": ["U", "S", "S", "M", "M", "X", "X", "X"],
            "lsoa21_code": ["E01000001", "E01040001", "E01040002", "E01040003", "E01040003",
                            "E01040004", "E01040004", "E01040005"],
        }
    ).to_csv(p, index=False)
    return p


def test_check_vintage_with_lookup(tmp_path, tiny19):
    lk = _lookup(tmp_path)
    imd = read_imd(tiny19)  # LSOA11, partial
    with pytest.raises(VintageError, match="LSOA21 codes") as err:
        check_vintage(["E01000001", "E01040001", "E01040002"], imd, lookup_path=lk)
    assert err.value.ids == ["E01040001", "E01040002"]
    assert "convert_lsoa_vintage(" in str(err.value)


def test_read_lookup_requires_columns(tmp_path):
    p = tmp_path / "lk.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ColumnError, match="lsoa11_code"):
        read_lsoa_lookup(p)


# ------------------------------------------------------------------ conversion


def test_convert_counts_split_by_target_population(tmp_path):
    lk = _lookup(tmp_path)
    table = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002", "E01000003", "E01000004",
                                        "E01000005", "E01000006"],
                          "patients": [10.0, 100.0, 30.0, 70.0, 50.0, 60.0]})
    before = table.copy()
    pop21 = pd.Series({"E01000001": 1500, "E01040001": 600, "E01040002": 900,
                       "E01040003": 3000, "E01040004": 2000, "E01040005": 1000})
    out = convert_lsoa_vintage(table, lookup_path=lk, weights=pop21).set_index("lsoa_code")
    pd.testing.assert_frame_equal(table, before)
    assert out.attrs["to"] == "LSOA21"
    assert out.loc["E01000001", "patients"] == 10
    assert out.loc["E01040001", "patients"] == pytest.approx(40)  # 600 / 1500 of 100
    assert out.loc["E01040002", "patients"] == pytest.approx(60)
    assert out.loc["E01040003", "patients"] == pytest.approx(100)  # merge: sum
    # X: E01000006 splits 2000:1000 between E01040004 and E01040005; E01000005 all to 004
    assert out.loc["E01040004", "patients"] == pytest.approx(50 + 40)
    assert out.loc["E01040005", "patients"] == pytest.approx(20)
    assert out["patients"].sum() == pytest.approx(table["patients"].sum())
    assert out.loc["E01040003", "change_code"] == "M" and out.loc["E01040003", "n_sources"] == 2


def test_convert_means_weighted_by_source_population(tmp_path):
    lk = _lookup(tmp_path)
    table = pd.DataFrame({"lsoa_code": ["E01000003", "E01000004"], "score": [10.0, 40.0]})
    pop21 = pd.Series({"E01040003": 3000})
    with pytest.raises(InputError, match="source_weights"):
        convert_lsoa_vintage(table, lookup_path=lk, weights=pop21, mean_cols=["score"])
    pop11 = pd.DataFrame({"lsoa_code": ["E01000003", "E01000004"], "population": [1000, 3000]})
    out = convert_lsoa_vintage(table, lookup_path=lk, weights=pop21, source_weights=pop11,
                               mean_cols=["score"])
    assert out["score"].tolist() == [pytest.approx((1000 * 10 + 3000 * 40) / 4000)]


def test_convert_backwards_and_errors(tmp_path):
    lk = _lookup(tmp_path)
    t21 = pd.DataFrame({"lsoa_code": ["E01040001", "E01040002"], "n": [5.0, 7.0]})
    out = convert_lsoa_vintage(t21, lookup_path=lk, weights=pd.Series({"E01000002": 1}))
    assert out.attrs["to"] == "LSOA11" and out["n"].tolist() == [12.0]
    with pytest.raises(InputError, match="split"):
        convert_lsoa_vintage(pd.DataFrame({"lsoa_code": ["E01000002"], "n": [1.0]}),
                             lookup_path=lk, weights=pd.Series(dtype=float))
    with pytest.raises(InputError, match="cannot tell the vintage"):
        convert_lsoa_vintage(pd.DataFrame({"lsoa_code": ["E01999999"], "n": [1.0]}),
                             lookup_path=lk, weights=pd.Series(dtype=float))
    with pytest.raises(ColumnError):
        convert_lsoa_vintage(t21, lookup_path=lk, weights=pd.Series(dtype=float), code_col="x")


# ------------------------------------------------------------------ real data


@pytest.mark.shared
def test_real_iod2019(shared):
    folder = shared("imd2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz").parent
    t = read_imd(folder)
    assert (t.vintage, t.geography, t.n) == ("IoD2019", "LSOA11", 32_844)
    assert t.long["lsoa_code"].nunique() == 32_844
    assert t.domains == DOMAINS
    assert len(t.long) == 32_844 * 8
    # File 1/2/6 have no scores: said clearly, and scores are NaN
    assert t.long["score"].isna().all()
    assert any("no scores" in n and "File 5" in n for n in t.notes)
    row = t.long.set_index(["lsoa_code", "domain"]).loc[("E01000001", "imd")]
    assert (row["rank"], row["decile"]) == (29_199, 9)  # "29,199" in File 1
    den = t.denominators.set_index("lsoa_code")
    assert den.loc["E01000001"].tolist() == [1296, 715]
    assert len(den) == 32_844 and den["population"].sum() > 50e6
    assert t.districts.set_index("lsoa_code").loc["E01000001", "lad_code"] == "E09000001"
    # one file alone
    f1 = read_imd(shared("imd2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"))
    assert f1.domains == ("imd",) and f1.denominators.empty


@pytest.mark.shared
def test_real_iod2025(shared):
    folder = shared("imd2025", "imd2025_england_lsoa21.csv").parent
    t = read_imd(folder)
    assert (t.vintage, t.geography, t.n) == ("IoD2025", "LSOA21", 33_755)
    assert t.long["lsoa_code"].nunique() == 33_755 and t.domains == DOMAINS
    assert all(t.has_scores(d) for d in DOMAINS)
    row = t.long.set_index(["lsoa_code", "domain"]).loc[("E01000001", "imd")]
    assert (row["score"], row["rank"], row["decile"]) == (8.742, 26_525, 8)
    den = t.denominators.set_index("lsoa_code")
    assert len(den) == 33_755
    assert den.loc["E01000001"].tolist() == [1477, 110 + 291 + 336 + 245]
    assert any("approximation" in n for n in t.notes)


@pytest.mark.shared
def test_real_sample_town(samples):
    path = samples / "imd.csv"
    if not path.exists():
        pytest.skip(f"{path} not generated yet (make samples)")
    t = read_imd(path)
    assert (t.vintage, t.n) == ("IoD2019", 32_844)
    assert t.has_scores("imd") and t.has_scores("income") and t.has_scores("employment")
    assert not t.has_scores("crime")
    assert t.long["lsoa_code"].str.startswith("E0199").all()
    assert set(t.denominators["lsoa_code"]) == set(t.codes)


@pytest.mark.shared
def test_real_vintage_check_and_conversion(shared):
    lookup = shared("ons", "ew2021", "lookup_lsoa11_lsoa21_ltla22.csv")
    i25 = read_imd(shared("imd2025", "imd2025_england_lsoa21.csv").parent)
    i19 = read_imd(shared("imd2019", "File_6_-_IoD2019_Population_Denominators.csv.gz").parent)
    # E01023768 (Stevenage 004B) was redrawn (X) in 2021: an LSOA11 code
    with pytest.raises(VintageError, match="LSOA11"):
        check_vintage(["E01000001", "E01023768"], i25)
    with pytest.raises(VintageError, match="LSOA11 codes"):
        check_vintage(["E01023768"], i25, lookup_path=lookup)
    with pytest.raises(VintageError, match="LSOA21 codes"):
        check_vintage(["E01035637"], i19, lookup_path=lookup)
    # mid-2015 population on LSOA11 -> LSOA21, split by Census 2021 population: conserved
    pop = i19.denominators[["lsoa_code", "population"]]
    out = convert_lsoa_vintage(pop, lookup_path=lookup, weights=i25)
    assert len(out) == 33_755 and set(out["lsoa_code"]) == set(i25.codes)
    assert out["population"].sum() == pytest.approx(pop["population"].sum(), rel=1e-12)
    assert set(out["change_code"]) >= {"U", "S", "M", "X"}
