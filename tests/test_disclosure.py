"""Disclosure control over all outputs of one run: no suppressed count comes back.

The sample run (``nbhd-geo demo``) and the realistic city's report (~150 neighbourhoods on
Wakefield, shared with ``test_planner_report``) are attacked the ways a reader could:
counting the rows of per-drawing outputs, reading counts back from unrounded ratios of
them, and subtracting the published cells of a column from a total published anywhere else.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pyogrio
import pytest

from nbhd_geo.io.disclosure import suppress_with_total
from nbhd_geo.io.publish import SUPPRESSED, publish_frame

EXE = [sys.executable, "-m", "nbhd_geo.cli"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("disclosure") / "demo"
    proc = subprocess.run([*EXE, "-q", "demo", "--out", str(out)], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return out


def _city_truth(c):
    names = pyogrio.read_dataframe(c.drawings, layer="neighbourhoods", read_geometry=False)
    return names["name"].value_counts().to_dict()


@pytest.fixture(params=["demo", pytest.param("city", marks=[pytest.mark.shared])])
def run(request):
    """(output folder, true drawings per name) of each run attacked."""
    if request.param == "demo":
        return request.getfixturevalue("demo"), _true_drawing_counts()
    c, out, _, _ = request.getfixturevalue("city")
    return out, _city_truth(c)


def _tables(out):
    """Every published table: CSV files and GeoPackage layers, as text."""
    tables = {p.name: pd.read_csv(p, dtype=str, keep_default_na=False)
              for p in sorted(out.glob("*.csv"))}
    for layer in pyogrio.list_layers(out / "layers.gpkg")[:, 0]:
        frame = pyogrio.read_dataframe(out / "layers.gpkg", layer=layer, read_geometry=False)
        tables[f"layers.gpkg:{layer}"] = frame.astype(str)
    return tables


def _true_drawing_counts():
    from nbhd_geo.reconcile import read_drawings_many
    from nbhd_geo.samples import get_path

    sources = [(get_path("drawings_workshop"), "drawings"), get_path("drawings_online"),
               {"path": get_path("drawings_mapmaker"), "name_col": "Name"},
               {"path": get_path("drawings_survey"), "crs": "EPSG:27700"}]
    drawings, _ = read_drawings_many(sources, name_col="neighbourhood")
    return drawings["neighbourhood"].value_counts().to_dict()


@pytest.mark.slow
def test_no_per_drawing_output_by_default(run):
    out, _ = run
    tables = _tables(out)
    assert "outliers.csv" not in tables and "layers.gpkg:drawings" not in tables
    assert len(tables) >= 10


@pytest.mark.slow
def test_suppressed_drawing_counts_not_recovered_from_row_counts(run):
    out, truth = run
    summary = (pd.read_csv(out / "consensus_summary.csv", dtype=str)
               if (out / "consensus_summary.csv").exists()
               else pd.DataFrame({"name": [], "n_drawings": []}))
    hidden = {n: truth[n] for n, c in zip(summary["name"], summary["n_drawings"], strict=True)
              if c == "<10"} if (out / "consensus_summary.csv").exists() else {}
    # Without a consensus (one drawing per name) every small count is one to protect.
    hidden = hidden or {n: k for n, k in truth.items() if k < 10}
    assert hidden, "the run suppresses some counts of drawings"
    recovered = []
    for where, table in _tables(out).items():
        for col in table.columns:
            counts = Counter(table[col])
            per_name = {n: counts.get(n, 0) for n in truth}
            if len(set(per_name.values())) <= 1:
                continue  # one row per name (or per name and layer): nothing to count
            # A table with one row per drawing gives every name's count (the published
            # ones show the reader it is such a table); a chance match (pieces of a
            # crosswalk) tells the reader nothing.
            if per_name == truth:
                recovered += [(where, col, n) for n in hidden]
    assert recovered == []


def _float_cells(series):
    """Numbers with decimals, alone or in a list of shares ("0.9987; 0.7838")."""
    return [v for v in series if re.fullmatch(r"-?\d+\.\d+(; ?-?\d+(\.\d+)?)*", v)]


@pytest.mark.slow
def test_ratios_of_suppressed_counts_are_not_published_unrounded(run):
    out, _ = run
    checked = 0
    for where, table in _tables(out).items():
        counts = [c for c in table.columns if (table[c] == "<10").any()]
        if not counts:
            continue
        small = np.zeros(len(table), dtype=bool)
        for c in counts:
            small |= (table[c] == "<10").to_numpy()
        for col in table.columns:
            # An area share whose population twin is published (``outside_share`` beside
            # ``pop_outside_share``) is that same share where people are spread by area.
            twin = "share" in col and f"pop_{col}" in table.columns
            if not twin and not re.search(r"(^pop_|population|agreement|drawers|drawings)",
                                          col):
                continue
            rows = table.loc[small, col]
            for value in _float_cells(rows):
                pytest.fail(f"{where}:{col} publishes {value} in a row with a suppressed count")
            checked += int((rows == SUPPRESSED).sum())
    assert checked > 0  # ratios were there to protect, and were


def _published_numbers(out):
    numbers = set()
    for text in [p.read_text(encoding="utf-8", errors="replace")
                 for p in [out / "index.html", out / "checks.json"]]:
        numbers |= {float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}
    return numbers


@pytest.mark.slow
def test_total_minus_published_parts_gives_no_suppressed_cell(run):
    """A column with one suppressed cell, whose total appears anywhere, gives it back."""
    out, _ = run
    numbers = _published_numbers(out)
    for where, table in _tables(out).items():
        for col in table.columns:
            values = table[col]
            if (values == "<10").sum() != 1:
                continue
            rest = pd.to_numeric(values[values != "<10"], errors="coerce")
            if rest.isna().any():
                continue
            for x in range(1, 10):
                assert float(rest.sum() + x) not in numbers or rest.sum() + x < 100, (
                    where, col, x)


def test_complementary_suppression_defeats_total_minus_parts():
    rng = np.random.default_rng(7)
    t = pd.DataFrame({"ward": np.repeat(["A", "B", "C", "D"], 5),
                      "people": rng.integers(1, 60, 20)})
    totals = t.groupby("ward")["people"].sum()  # published elsewhere
    out = suppress_with_total(t, "people", by="ward")
    for ward, rows in out.groupby("ward"):
        hidden = rows["people"].isin(["<10", SUPPRESSED])
        assert hidden.sum() != 1, ward  # never one unknown left to solve for
        if hidden.any():
            shown = pd.to_numeric(rows.loc[~hidden, "people"]).sum()
            assert totals[ward] - shown == t.loc[rows.index[hidden], "people"].sum()
            assert hidden.sum() >= 2
    assert (out["people"] == "<10").sum() == (t["people"] < 10).sum()


def test_ratio_of_small_counts_blanked_and_others_rounded():
    t = pd.DataFrame({"population": [7.0, 1520.4], "fit_population": [9.0, 1400.0],
                      "pop_iou": [0.7777777, 0.84121], "iou": [0.5123456, 0.61]})
    out = publish_frame(t)
    assert out["pop_iou"].tolist() == [SUPPRESSED, 0.84]
    # The area IoU is pop_iou's twin (people spread by area make them equal for a
    # neighbourhood inside one unit): blanked where the count is, exact elsewhere.
    assert out["iou"].tolist() == [SUPPRESSED, 0.61]
    assert json.dumps(out["population"].tolist()) == '["<10", "1520"]'


def test_area_share_twin_of_a_suppressed_count_is_blanked():
    # In the city run an LSOA of 1,520 people had 0.12638 % of its area outside every
    # neighbourhood: with people spread by area, 1520 x 0.0012638 = 1.92 people, the
    # suppressed ``pop_outside``, came back from the area share and the text list.
    t = pd.DataFrame({"population": [1520.0, 1600.0], "pop_outside": [1.92, 400.0],
                      "outside_share": [0.0012638, 0.25], "pop_outside_share": [0.0012638, 0.25],
                      "shares": ["0.9987; 0.7838", "0.75"],
                      "pop_shares": ["0.9987; 0.7838", "0.75"]})
    out = publish_frame(t)
    assert out["pop_outside"].tolist() == ["<10", "400"]
    assert out.loc[0, ["outside_share", "pop_outside_share", "shares", "pop_shares"]].tolist() \
        == [SUPPRESSED] * 4
    assert out.loc[1, ["outside_share", "pop_outside_share", "shares"]].tolist() \
        == [0.25, 0.25, "0.75"]


@pytest.mark.shared
@pytest.mark.slow
def test_people_outside_study_area_never_one_unknown_per_layer(city):
    """The page quotes people outside summed over a layer; one "<10" in it would come back."""
    _, out, _, _ = city
    table = pd.read_csv(out / "outside_study_area.csv", dtype=str, keep_default_na=False)
    small = 0
    for layer, rows in table.groupby("layer"):
        hidden = rows["people_outside_by_area"].isin(["<10", SUPPRESSED])
        assert hidden.sum() != 1, layer
        small += int((rows["people_outside_by_area"] == "<10").sum())
    assert small > 0  # the city has small counts outside its district to protect


def test_consensus_agreement_table_hides_a_second_count_when_one_is_small():
    """The section prints the total drawings: one hidden count alone would be the total minus
    the rest, so the next smallest is hidden too, and its mean agreement with it."""
    from nbhd_geo.report.sections.consensus import _drawing_counts, _plain_agreement

    summary = pd.DataFrame({"name": ["A", "B", "C", "D"], "n_drawings": [4, 25, 12, 40],
                            "mean_agreement": [0.9, 0.5, 0.6, 0.7]})
    table = _plain_agreement(summary, 10)
    assert table["Drawings"].tolist() == ["fewer than 10", "25", "not shown", "40"]
    assert table["Mean agreement"].isna().tolist() == [True, False, True, False]
    shown = pd.to_numeric(table["Drawings"], errors="coerce").sum()
    assert summary["n_drawings"].sum() - shown == 4 + 12  # two unknowns, not one
    assert _drawing_counts(summary, 10).tolist() == ["<10", "25", "suppressed", "40"]
    # Two small counts already hide each other: nothing more is hidden.
    two = summary.assign(n_drawings=[4, 25, 7, 40])
    assert _plain_agreement(two, 10)["Drawings"].tolist() == [
        "fewer than 10", "25", "fewer than 10", "40"]


def test_consensus_summary_csv_hides_what_the_agreement_table_hides():
    from nbhd_geo.report.sections.consensus import published_summary

    summary = pd.DataFrame({"name": ["A", "B", "C", "D"], "n_drawings": [4, 25, 12, 40],
                            "drawers": [4, 25, 12, 40], "mean_agreement": [0.9, 0.5, 0.6, 0.7]})
    pub = published_summary(summary, 10).set_index("name")
    assert pub.loc["C", ["n_drawings", "drawers", "mean_agreement"]].tolist() == [
        "suppressed"] * 3
    assert pub.loc["A", "n_drawings"] == "<10" and pub.loc["B", "n_drawings"] == "25"
    shown = pd.to_numeric(pub["n_drawings"], errors="coerce").sum()
    assert summary["n_drawings"].sum() - shown == 16  # A and C together, not A alone
