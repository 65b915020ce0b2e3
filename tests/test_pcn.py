"""PCN / practice footprints from GP registrations, list deprivation, readers and vintage."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely import box

from nbhd_geo.errors import ColumnError, InputError, NbhdGeoWarning, ValidationError, VintageError
from nbhd_geo.pcn import (
    IOD2019_N_LSOAS,
    ImdColumns,
    PCNFootprints,
    RegistrationColumns,
    convert_registrations_vintage,
    list_deprivation,
    pcn_footprints,
    read_pcn_membership,
    read_registrations,
)
from tests.conftest import SAMPLES, shared_path

# --------------------------------------------------------------------------- tiny cases


def _layer(*codes: str) -> gpd.GeoDataFrame:
    """1 km squares in a row, EPSG:27700."""
    return gpd.GeoDataFrame(
        {"lsoa_code": list(codes)},
        geometry=[box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(len(codes))],
        crs=27700,
    )


def _regs(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])


def _members(mapping: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"practice_code": list(mapping), "pcn_code": list(mapping.values()),
                         "pcn_name": [f"{v} network" for v in mapping.values()]})


def _winner(fp: PCNFootprints, lsoa: str) -> list[str]:
    a = fp.assignments
    return a.loc[(a["lsoa"] == lsoa) & a["assigned"], "org"].tolist()


def test_plurality_tie_goes_to_larger_list():
    # A: N1 50 v N2 50 (tie); N2's list is larger (50 + 20) so N2 takes A.
    regs = _regs([("P1", "A", 50), ("P2", "A", 50), ("P3", "B", 20)])
    members = _members({"P1": "N1", "P2": "N2", "P3": "N2"})
    fp = pcn_footprints(regs, members, _layer("A", "B"))
    assert _winner(fp, "A") == ["N2"]
    assert fp.footprints.set_index("org")["n_lsoas"].to_dict() == {"N1": 0, "N2": 2}
    assert fp.footprints.set_index("org").loc["N1", "geometry"] is None
    assert fp.footprints.set_index("org").loc["N1", "leakage"] == 1.0


def test_plurality_full_tie_goes_to_code_order_whatever_the_row_order():
    regs = _regs([("P2", "A", 50), ("P1", "A", 50)])
    layer = _layer("A")
    results = []
    for order in ([0, 1], [1, 0]):
        fp = pcn_footprints(regs.iloc[order], {"P1": "N1", "P2": "N2"}, layer)
        assert _winner(fp, "A") == ["N1"]
        results.append(fp)
    assert_geodataframe_equal(results[0].footprints, results[1].footprints)
    pd.testing.assert_frame_equal(results[0].assignments, results[1].assignments)


def test_min_share_overlap_at_five_percent():
    # A: N1 95, N2 5 (exactly 5 %: both); B: N1 96, N2 4 (N1 only); C: N2 100.
    regs = _regs([("P1", "A", 95), ("P2", "A", 5), ("P1", "B", 96), ("P2", "B", 4),
                  ("P2", "C", 100)])
    fp = pcn_footprints(regs, {"P1": "N1", "P2": "N2"}, _layer("A", "B", "C"),
                        method="min_share", threshold=0.05)
    assert sorted(_winner(fp, "A")) == ["N1", "N2"]
    assert _winner(fp, "B") == ["N1"]
    assert fp.overlaps[["lsoa", "n_orgs", "orgs", "residents", "patients_claimed"]].to_dict(
        "records") == [{"lsoa": "A", "n_orgs": 2, "orgs": "N1;N2", "residents": 100.0,
                        "patients_claimed": 100}]
    assert fp.overlaps["area_km2"].tolist() == pytest.approx([1.0])
    f = fp.footprints.set_index("org")
    assert f["area_km2"].tolist() == pytest.approx([2.0, 2.0])
    assert f.loc["N1", "leakage"] == 0.0
    assert f.loc["N2", "leakage"] == pytest.approx(4 / 109)
    assert f.loc["N1", "capture"] == pytest.approx(191 / 200)
    assert f.loc["N2", "capture"] == pytest.approx(105 / 200)
    assert fp.threshold == 0.05
    # Plurality on the same data: no overlaps.
    assert len(pcn_footprints(regs, {"P1": "N1", "P2": "N2"}, _layer("A", "B", "C")).overlaps) == 0


def test_leakage_capture_exact_and_unknown_lsoa_counts_as_leakage():
    regs = _regs([("P1", "A", 90), ("P1", "B", 10), ("P1", "X", 5), ("P2", "B", 30)])
    fp = pcn_footprints(regs, {"P1": "N1", "P2": "N2"}, _layer("A", "B"))
    f = fp.to_frame().set_index("org")
    assert f.loc["N1", ["patients", "patients_in_footprint", "patients_unknown_lsoa",
                        "residents", "n_lsoas"]].tolist() == [105, 90, 5, 90, 1]
    assert f.loc["N1", "leakage"] == pytest.approx(15 / 105)
    assert f.loc["N1", "capture"] == 1.0
    assert f.loc["N2", "leakage"] == 0.0
    assert f.loc["N2", "capture"] == pytest.approx(0.75)
    assert fp.unknown_lsoas.to_dict("records") == [{"lsoa": "X", "patients": 5,
                                                    "n_practices": 1}]
    a = fp.assignments.set_index(["lsoa", "org"])
    assert a.loc[("B", "N2"), "pct"] == pytest.approx(0.75)
    assert a.loc[("B", "N1"), "pct"] == pytest.approx(0.25)


def test_practice_without_membership_is_kept_and_reported():
    regs = _regs([("P1", "A", 100), ("P9", "A", 10), ("P9", "D", 40), ("P1", "D", 10),
                  ("P9", "NO2011", 3)])
    fp = pcn_footprints(regs, _members({"P1": "N1"}), _layer("A", "D"))
    assert fp.unassigned.to_dict("records") == [{
        "practice": "P9", "patients": 53, "patients_in_layer": 50, "patients_unknown_lsoa": 3,
        "n_lsoas": 2, "n_lsoas_assigned": 1}]
    assert _winner(fp, "D") == ["P9"]  # P9 stands alone and wins D; no PCN footprint holds D
    assert fp.footprints["org"].tolist() == ["N1"]
    assert fp.footprints["pcn_name"].tolist() == ["N1 network"]
    acc = fp.accounting
    assert acc.to_dict() == {"total": 163.0, "in_footprint_orgs": 110.0, "no_pcn": 50.0,
                             "unknown_lsoa": 3.0, "within_footprint": 100.0, "leaked": 10.0}
    assert acc["in_footprint_orgs"] + acc["no_pcn"] + acc["unknown_lsoa"] == acc["total"]


def test_practice_level_footprints():
    regs = _regs([("P1", "A", 50), ("P2", "A", 20), ("P2", "B", 30)])
    fp = pcn_footprints(regs, {"P1": "N1", "P2": "N1"}, _layer("A", "B"), level="practice")
    f = fp.to_frame().set_index("org")
    assert f["n_lsoas"].to_dict() == {"P1": 1, "P2": 1}
    assert f["pcn_code"].to_dict() == {"P1": "N1", "P2": "N1"}
    assert f.loc["P2", "leakage"] == pytest.approx(0.4)
    assert len(fp.unassigned) == 0
    # Without membership at practice level.
    assert pcn_footprints(regs, None, _layer("A", "B"), level="practice").level == "practice"


def test_min_residents_leaves_sparse_lsoas_unassigned():
    regs = _regs([("P1", "A", 500), ("P1", "B", 3)])
    fp = pcn_footprints(regs, {"P1": "N1"}, _layer("A", "B"), min_residents=100)
    assert fp.footprints["n_lsoas"].tolist() == [1]
    assert _winner(fp, "B") == []


def test_inputs_not_mutated_and_custom_columns():
    regs = pd.DataFrame({"prac": ["P1", "P2"], "lsoa": ["A", "A"], "n": [5, 7]})
    members = pd.DataFrame({"prac": ["P1", "P2"], "net": ["N1", "N2"]})
    layer = _layer("A").rename(columns={"lsoa_code": "code"}).to_crs(4326)
    before = (regs.copy(), members.copy(), layer.copy())
    fp = pcn_footprints(regs, members, layer, lsoa_id="code", columns=RegistrationColumns(
        practice="prac", lsoa="lsoa", patients="n", pcn="net"))
    assert _winner(fp, "A") == ["N2"]
    assert fp.footprints.crs.to_epsg() == 27700
    pd.testing.assert_frame_equal(regs, before[0])
    pd.testing.assert_frame_equal(members, before[1])
    assert_geodataframe_equal(layer, before[2])


def test_errors_name_argument_ids_and_fix():
    layer = _layer("A")
    with pytest.raises(ColumnError, match=r"registrations: missing column\(s\) "
                       r"columns.patients='patients'.*Fix: name them with columns="):
        pcn_footprints(_regs([("P1", "A", 1)]).drop(columns="patients"), {"P1": "N1"}, layer)
    with pytest.raises(ValidationError, match=r"practice_to_pcn.*more than one PCN.*'P1'"):
        pcn_footprints(_regs([("P1", "A", 1)]),
                       _members({"P1": "N1"}).pipe(lambda m: pd.concat(
                           [m, m.assign(pcn_code="N2")])), layer)
    with pytest.raises(VintageError, match=r"lsoa_layer: none of.*'E01000001'.*convert"):
        pcn_footprints(_regs([("P1", "E01000001", 1)]), {"P1": "N1"}, layer)
    with pytest.raises(InputError, match="method.*plurality"):
        pcn_footprints(_regs([("P1", "A", 1)]), {"P1": "N1"}, layer, method="random")
    with pytest.raises(InputError, match="threshold"):
        pcn_footprints(_regs([("P1", "A", 1)]), {"P1": "N1"}, layer, method="min_share",
                       threshold=5)
    with pytest.raises(ValidationError, match="negative"):
        pcn_footprints(_regs([("P1", "A", -1)]), {"P1": "N1"}, layer)
    with pytest.warns(NbhdGeoWarning, match="absent from lsoa_layer"):
        pcn_footprints(_regs([("P1", "A", 1), ("P1", "Z", 9)]), {"P1": "N1"}, layer)


def test_column_options_are_checked_and_named_in_errors():
    with pytest.raises(InputError) as err:
        RegistrationColumns(patients="")
    assert err.value.argument == "patients" and "RegistrationColumns(patients=" in err.value.fix
    with pytest.raises(InputError) as err:
        ImdColumns(rank=None)  # type: ignore[arg-type]
    assert err.value.argument == "rank"
    regs = _regs([("P1", "A", 3)])
    with pytest.raises(InputError, match="columns: expected RegistrationColumns"):
        pcn_footprints(regs, {"P1": "N1"}, _layer("A"),
                       columns={"practice": "practice_code"})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="imd_columns: expected ImdColumns"):
        list_deprivation(regs, None, IMD, imd_columns="score")  # type: ignore[arg-type]
    members = pd.DataFrame({"practice_code": ["P1"], "network": ["N1"]})
    with pytest.raises(ColumnError, match=r"practice_to_pcn: missing column\(s\) "
                       r"columns.pcn='pcn_code'"):
        pcn_footprints(regs, members, _layer("A"))


def test_list_deprivation_reads_named_columns():
    regs = _regs([("P1", "A", 30), ("P1", "B", 10)]).rename(columns={"patients": "n"})
    imd = IMD.rename(columns={"lsoa_code": "LSOA11CD", "score": "imd_score", "rank": "r"})
    out = list_deprivation(regs, None, imd, columns=RegistrationColumns(patients="n"),
                           imd_columns=ImdColumns(lsoa="LSOA11CD", score="imd_score",
                                                  rank="r"))
    assert out.loc[0, "imd_score"] == pytest.approx((30 * 40 + 10 * 8) / 40)
    assert out.loc[0, "mean_rank"] == pytest.approx((30 * 100 + 10 * 20000) / 40)
    assert out.loc[0, "core20_share"] == pytest.approx(0.75)  # rank 100 in, 20,000 out
    with pytest.raises(ColumnError, match=r"imd: missing column\(s\) imd_columns.lsoa="):
        list_deprivation(regs, None, IMD, columns=RegistrationColumns(patients="n"),
                         imd_columns=ImdColumns(lsoa="LSOA21CD"))
    with pytest.raises(ColumnError, match=r"core20='decile'.*ImdColumns\(decile="):
        list_deprivation(regs, None, IMD.drop(columns="decile"), core20="decile",
                         columns=RegistrationColumns(patients="n"))


# --------------------------------------------------------------------------- deprivation


IMD = pd.DataFrame({"lsoa_code": ["A", "B", "C", "D"], "score": [40.0, 8.0, 30.0, 29.0],
                    "rank": [100, 20000, 6568, 6569], "decile": [1, 7, 2, 3]})


def test_list_deprivation_exact_weighted_mean_and_core20():
    regs = _regs([("P1", "A", 30), ("P1", "B", 10), ("P1", "NO2011", 5), ("P2", "B", 40)])
    out = list_deprivation(regs, None, IMD).set_index("org")
    assert out.loc["P1", "imd_score"] == pytest.approx((30 * 40 + 10 * 8) / 40)
    assert out.loc["P1", "core20_share"] == pytest.approx(0.75)
    assert out.loc["P1", ["patients", "patients_with_imd", "patients_no_imd",
                          "core20_patients"]].tolist() == [45, 40, 5, 30]
    assert out.loc["P1", "mean_rank"] == pytest.approx((30 * 100 + 10 * 20000) / 40)
    pcn = list_deprivation(regs, {"P1": "N1", "P2": "N1"}, IMD, level="pcn").set_index("org")
    assert pcn.loc["N1", "imd_score"] == pytest.approx((1200 + 80 + 320) / 80)
    assert pcn.loc["N1", "core20_share"] == pytest.approx(30 / 80)
    assert pcn.loc["N1", "patients_no_imd"] == 5


def test_core20_rank_boundary_and_decile_rule():
    regs = _regs([("P1", "C", 1), ("P1", "D", 1)])
    out = list_deprivation(regs, None, IMD)  # 0.2 * 32,844 = 6,568.8: rank 6,568 in, 6,569 out
    assert out["core20_share"].tolist() == [0.5]
    out = list_deprivation(regs, None, IMD, core20="decile")  # deciles 1-2
    assert out["core20_share"].tolist() == [0.5]
    small = list_deprivation(regs, None, IMD, n_lsoas=30000)  # 6,000: both out
    assert small["core20_share"].tolist() == [0.0]


def test_list_deprivation_rank_only_and_unmapped_rows():
    regs = _regs([("P1", "A", 3), ("P9", "B", 1)])
    out = list_deprivation(regs, {"P1": "N1"}, IMD.drop(columns="score"), level="pcn")
    assert out["org"].tolist() == ["N1", "P9"]
    assert out["has_pcn"].tolist() == [True, False]
    assert out["imd_score"].isna().all()
    assert out["mean_rank"].tolist() == [100.0, 20000.0]
    with pytest.raises(ColumnError, match="imd: has none of the measure columns"):
        list_deprivation(regs, None, IMD[["lsoa_code"]])
    with pytest.raises(ValidationError, match="imd: LSOA codes repeat.*'A'"):
        list_deprivation(regs, None, pd.concat([IMD, IMD.iloc[:1]]))


# --------------------------------------------------------------------------- readers, vintage


def test_read_registrations_long_with_sex_and_wide(tmp_path):
    long = tmp_path / "long.csv"
    long.write_text('"","PRACTICE_CODE","LSOA_CODE","SEX","Number.of.Patients"\n'
                    '"1","A81001","E01000001","MALE",2\n"2","A81001","E01000001","FEMALE",3\n'
                    '"3","A81001","E01000001","ALL",5\n"4","A81002","NO2011","ALL",1\n')
    out = read_registrations(long)
    assert out.to_dict("records") == [
        {"practice_code": "A81001", "lsoa_code": "E01000001", "patients": 5},
        {"practice_code": "A81002", "lsoa_code": "NO2011", "patients": 1}]
    wide = tmp_path / "wide.csv"
    wide.write_text("LSOA_CODE,A81001,A81002\nE01000001,5,0\nE01000002,\"1,200\",7\n")
    got = read_registrations(wide)
    assert got["patients"].tolist() == [5, 1200, 7]
    assert got["practice_code"].tolist() == ["A81001", "A81001", "A81002"]
    turned = tmp_path / "turned.csv"
    turned.write_text("practice_code,E01000001,E01000002\nA81001,5,1200\nA81002,0,7\n")
    pd.testing.assert_frame_equal(read_registrations(turned), got)
    bad = tmp_path / "bad.csv"
    bad.write_text("practice,where,n\nA81001,E01000001,5\n")
    with pytest.raises(ColumnError, match=r"bad.csv: cannot find the lsoa_col.*Fix: pass lsoa_col"):
        read_registrations(bad)


def test_read_membership_csv_variants(tmp_path):
    pennine_like = tmp_path / "PCNdefs.csv"
    pennine_like.write_text("PCode,Practice Name,PCN,CCG\nP81008,X,BURNLEY EAST PCN,E Lancs\n")
    got = read_pcn_membership(pennine_like)
    assert got.to_dict("records") == [{"practice_code": "P81008",
                                       "pcn_code": "BURNLEY EAST PCN",
                                       "pcn_name": "BURNLEY EAST PCN"}]
    bad = tmp_path / "bad.csv"
    bad.write_text("practice_code,network\nP1,N1\n")
    with pytest.raises(ColumnError, match="pcn_col or pcn_name_col"):
        read_pcn_membership(bad)


def test_convert_registrations_vintage_keeps_totals():
    regs = _regs([("P1", "S", 100), ("P1", "M1", 3), ("P1", "M2", 4), ("P1", "NO2011", 2)])
    lookup = pd.DataFrame({"lsoa11_code": ["S", "S", "M1", "M2"],
                           "lsoa21_code": ["S1", "S2", "M", "M"]})
    out = convert_registrations_vintage(regs, lookup, weights={"S1": 1, "S2": 3, "M": 9})
    assert out.set_index("lsoa_code")["patients"].to_dict() == {
        "M": 7.0, "NO2011": 2.0, "S1": 25.0, "S2": 75.0}
    assert out["patients"].sum() == regs["patients"].sum()
    with pytest.warns(NbhdGeoWarning, match="shared equally.*'S'"):
        eq = convert_registrations_vintage(regs, lookup)
    assert eq.set_index("lsoa_code").loc["S1", "patients"] == 50.0
    with pytest.raises(ValidationError, match="weights lack.*'S2'"):
        convert_registrations_vintage(regs, lookup, weights={"S1": 1, "M": 1})


def test_samples_town():
    regs = read_registrations(SAMPLES / "registrations.csv")
    members = read_pcn_membership(SAMPLES / "pcn_membership.csv")
    town = gpd.read_file(SAMPLES / "town.gpkg", layer="lsoa")
    for method in ("plurality", "min_share"):
        fp = pcn_footprints(regs, members, town, method=method)
        assert len(fp.footprints) == members["pcn_code"].nunique()
        assert set(fp.unassigned["practice"]) == set(regs["practice_code"]) - set(
            members["practice_code"])
        acc = fp.accounting
        assert acc["in_footprint_orgs"] + acc["no_pcn"] + acc["unknown_lsoa"] == acc["total"]
        assert acc["total"] == regs["patients"].sum()


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def pennine():
    regs = read_registrations(shared_path("nhs", "pennine-lancs", "lsoapops.csv"))
    members = read_pcn_membership(shared_path("nhs", "pennine-lancs", "PCNdefs.csv"))
    codes = sorted(set(regs["lsoa_code"]))
    layer = gpd.read_parquet(shared_path("ons", "england", "lsoa11.parquet"),
                             filters=[("LSOA11CD", "in", codes)])
    # One source polygon self-intersects (a ring touches itself); repair before use.
    layer["geometry"] = shapely.make_valid(layer.geometry.to_numpy())
    return regs, members, layer


@pytest.mark.shared
def test_pennine_plurality(pennine, tmp_path):
    import pyogrio

    regs, members, layer = pennine
    first = pcn_footprints(regs, members, layer, lsoa_id="LSOA11CD")
    again = pcn_footprints(regs.sample(frac=1, random_state=1), members, layer,
                           lsoa_id="LSOA11CD")
    assert_geodataframe_equal(first.footprints, again.footprints)
    pd.testing.assert_frame_equal(first.assignments, again.assignments)

    fp = first.footprints
    assert len(fp) == 13 and fp["n_lsoas"].gt(0).all()
    assert set(fp["org"]) == set(members["pcn_code"])
    held = first.assignments[first.assignments["assigned"]]
    assert not held["lsoa"].duplicated().any()  # each covered LSOA in exactly one footprint
    assert len(first.overlaps) == 0
    union = shapely.union_all(fp.geometry.to_numpy())
    assert fp.area.sum() == pytest.approx(union.area, rel=1e-6)  # no overlapping area

    acc = first.accounting
    assert acc["total"] == regs["patients"].sum() == 589_463
    assert acc["in_footprint_orgs"] + acc["no_pcn"] + acc["unknown_lsoa"] == acc["total"]
    assert acc["unknown_lsoa"] == 103  # NO2011
    assert first.unknown_lsoas["lsoa"].tolist() == ["NO2011"]
    assert acc["no_pcn"] + first.unassigned["patients_unknown_lsoa"].sum() == (
        first.unassigned["patients"].sum())
    assert len(first.unassigned) == regs["practice_code"].nunique() - 73  # 73 of 74 register

    path = tmp_path / "pcn.gpkg"
    layers = first.to_gpkg(path)
    assert layers == ["pcn_plurality_footprints"]
    info = pyogrio.read_info(path, layer=layers[0])
    assert info["crs"] == "EPSG:27700"
    assert info["geometry_type"] == "MultiPolygon"
    back = pyogrio.read_dataframe(path, layer=layers[0])
    assert len(back) == 13 and back.is_valid.all()
    assert back["n_lsoas"].tolist() == fp["n_lsoas"].tolist()


@pytest.mark.shared
def test_pennine_min_share_overlaps(pennine, tmp_path):
    regs, members, layer = pennine
    fp = pcn_footprints(regs, members, layer, lsoa_id="LSOA11CD", method="min_share")
    assert len(fp.overlaps) > 0 and (fp.overlaps["n_orgs"] >= 2).all()
    held = fp.assignments[fp.assignments["assigned"] & fp.assignments["has_pcn"]]
    counts = held.groupby("lsoa").size()
    assert set(fp.overlaps["lsoa"]) == set(counts[counts >= 2].index)
    assert fp.footprints["leakage"].max() < 0.1
    assert fp.to_gpkg(tmp_path / "m.gpkg") == ["pcn_min_share_footprints",
                                               "pcn_min_share_overlaps"]


@pytest.mark.shared
def test_pennine_list_deprivation(pennine):
    regs, members, _ = pennine
    raw = pd.read_csv(
        shared_path("imd2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
        thousands=",", encoding="utf-8-sig")
    imd = pd.DataFrame({"lsoa_code": raw["LSOA code (2011)"],
                        "rank": raw["Index of Multiple Deprivation (IMD) Rank"],
                        "decile": raw["Index of Multiple Deprivation (IMD) Decile"]})
    assert len(imd) == IOD2019_N_LSOAS
    out = list_deprivation(regs, members, imd, level="pcn")
    pcn = out[out["has_pcn"]]
    assert len(pcn) == 13 and pcn["core20_share"].between(0, 1).all()
    assert pcn["imd_score"].isna().all()  # File 1 has ranks and deciles only
    no_imd = regs.loc[~regs["lsoa_code"].isin(imd["lsoa_code"]), "patients"].sum()
    assert out["patients_no_imd"].sum() == no_imd
    assert out["patients"].sum() == regs["patients"].sum()
    by_decile = list_deprivation(regs, members, imd, level="pcn", core20="decile")
    np.testing.assert_allclose(by_decile["core20_share"], out["core20_share"])


@pytest.mark.shared
def test_national_epcn_membership():
    members = read_pcn_membership(shared_path("nhs", "ods-2020", "ePCN_2020-04.xlsx"))
    assert members["practice_code"].nunique() == len(members) == 6757
    assert members["pcn_code"].nunique() == 1250
    with pytest.raises(InputError, match="has no sheet 'Nope'"):
        read_pcn_membership(shared_path("nhs", "ods-2020", "ePCN_2020-04.xlsx"), sheet="Nope")


@pytest.mark.shared
def test_pennine_on_lsoa2021_after_vintage_conversion(pennine):
    import pyogrio

    regs, members, _ = pennine
    lookup = pd.read_csv(shared_path("ons", "ew2021", "lookup_lsoa11_lsoa21_ltla22.csv"))
    pop = pd.read_csv(shared_path("imd2025", "census2021_usual_residents_lsoa21.csv"))
    r21 = convert_registrations_vintage(
        regs, lookup, weights=pop.set_index("lsoa21_code")["usual_residents_total"])
    assert r21["patients"].sum() == pytest.approx(regs["patients"].sum())
    codes = sorted(set(r21["lsoa_code"]) - {"NO2011"})
    layer = pyogrio.read_dataframe(
        shared_path("ons", "ew2021", "boundaries_lsoa21.gpkg"),
        where="lsoa21_code IN ({})".format(",".join(f"'{c}'" for c in codes)))
    assert len(layer) == len(codes)
    fp = pcn_footprints(r21, members, layer, lsoa_id="lsoa21_code")
    assert len(fp.footprints) == 13 and fp.footprints["n_lsoas"].gt(0).all()
    assert fp.unknown_lsoas["lsoa"].tolist() == ["NO2011"]
    acc = fp.accounting
    assert acc["in_footprint_orgs"] + acc["no_pcn"] + acc["unknown_lsoa"] == pytest.approx(
        acc["total"])
