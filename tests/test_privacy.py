"""Privacy: personal columns by name and content, the allowlist and pseudonyms end to end."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from nbhd_geo.io.privacy import (
    drop_personal,
    personal_column_reasons,
    personal_columns,
    personal_value_kind,
    pseudonym,
    pseudonym_key,
)
from tests.conftest import SAMPLES


@pytest.mark.parametrize("column", [
    "contributor_name", "contributor_email", "email", "E-mail", "eMail", "phone", "tel",
    "mobile", "Telephone Number", "address", "home_address", "postcode", "comments", "notes",
    "description", "free_text", "ip_address", "author", "submitted_by", "firstName", "surname",
    "userName",
])
def test_flagged_by_name(column):
    df = pd.DataFrame({column: ["x"], "neighbourhood": ["Belle Isle"]})
    assert personal_columns(df) == [column]


@pytest.mark.parametrize("column", [
    "neighbourhood", "neighborhood", "nbhd_name", "name", "Name", "drawing_id", "folder",
    "yearsLived", "neighborhoodLive", "otherNeighborhood", "city", "LSOA11CD", "area_name",
    "shapeID", "notable",
])
def test_not_flagged(column):
    df = pd.DataFrame({column: ["Belle Isle", "Eastmoor"]})
    assert personal_columns(df) == []


@pytest.mark.parametrize("values, why", [
    (["Belle Isle", "jo.bloggs@example.co.uk"], "content contains e-mail addresses"),
    (["Belle Isle", "07700 900123"], "content contains phone numbers"),
    (["Belle Isle", "+44 1924 123456"], "content contains phone numbers"),
    (["WF1 2AB", "Eastmoor"], "content contains postcodes"),
    (["192.168.0.1"], "content contains IP addresses"),
    (["it is a lovely place to live with a great park and friendly people", "ok"],
     "content is long free text"),
])
def test_flagged_by_content(values, why):
    df = pd.DataFrame({"field_3": values})
    assert personal_column_reasons(df) == {"field_3": why}


def test_ambiguous_name_resolved_by_content():
    places = pd.DataFrame({"name": ["Belle Isle", "Eastmoor"]})
    people = pd.DataFrame({"name": ["jo@example.org", "al@example.org"]})
    assert personal_columns(places) == []
    assert personal_columns(people) == ["name"]
    assert personal_columns(people, keep=["name"]) == []


def test_numbers_and_geometry_ignored():
    gdf = gpd.GeoDataFrame({"count": [1, 2], "score": [0.5, 0.7]},
                           geometry=[shapely.Point(0, 0), shapely.Point(1, 1)])
    assert personal_columns(gdf) == []


def test_drop_personal_returns_copy():
    gdf = gpd.GeoDataFrame({"neighbourhood": ["a"], "email": ["a@b.org"]},
                           geometry=[shapely.Point(0, 0)], crs=27700)
    out = drop_personal(gdf)
    assert isinstance(out, gpd.GeoDataFrame)
    assert out.columns.tolist() == ["neighbourhood", "geometry"]
    assert gdf.columns.tolist() == ["neighbourhood", "email", "geometry"]
    assert drop_personal(gdf, keep=["email"]).columns.tolist() == gdf.columns.tolist()


# ------------------------------------------------------------------ allowlist, end to end

# Columns that reached the outputs while personal data was found by a list of names: a
# list can never be complete (survey tools export whatever their authors typed), so
# only the columns the analysis uses pass. Each value is unique so a leak can be found.
PERSONAL = {
    "telefon": "01632 960{i:03d}",
    "Telefonnummer": "+49 30 901820{i:02d}",
    "Nachname": "Quaxbrunner{i}",
    "Vorname": "Wilhelmina{i}x",
    "prénom": "Éloïse{i}z",
    "nom de famille": "Dufrênoy{i}q",
    "Ihr Name": "Zebedee Qwirk{i}",
    "Straße": "Kastanienallee {i}7",
    "adresse": "{i} rue Zorbinière",
    "PLZ": "10{i:03d}9",
    "Kommentar": "Schöne Gegend Nummer {i}",
    "religión": "creencia{i}k",
    "handle": "@zorbfan{i}",
    "alter": "{i}7 Jahrzorb",
    "answer": "ring me on 07700 900{i:03d} ok",  # a mobile inside a short free-text answer
    "contributor_email": "zorb{i}@example.org",
    "phone": "07700 901{i:03d}",
    "comments": "I zorbled here {i} times",
    "Your name": "Mx Zorbalot{i}",
    "postcode": "wf1 {i}zz",
    "address": "{i} Zorb Street",
    "age": "9{i}zorbyears",
    "gender": "zorbgender{i}",
    "ethnicity": "zorbethnic{i}",
}
EMAIL_ID = "zorbid@example.org"  # an e-mail address used as the drawing id
NAME_WITH_POSTCODE = "Hollins near s1 4xy"  # a lowercase postcode inside the kept name


def _personal_drawings(path):
    base = gpd.read_file(SAMPLES / "drawings_workshop.gpkg")
    base = base[["drawing_id", "neighbourhood", "geometry"]].copy()
    for col, pattern in PERSONAL.items():
        base[col] = [pattern.format(i=i) for i in range(len(base))]
    base.loc[0, "drawing_id"] = EMAIL_ID
    # Ten drawings share the name with a postcode, so it is published (not suppressed).
    first = base["neighbourhood"] == base.loc[0, "neighbourhood"]
    base.loc[first, "neighbourhood"] = NAME_WITH_POSTCODE
    base.to_file(path, layer="drawings", driver="GPKG")
    return base


def _output_texts(folder):
    """Every text an output folder holds: files as text, GeoPackages as all their cells."""
    texts = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".gpkg":
            with sqlite3.connect(path) as con:
                cells = []
                tables = [r[0] for r in con.execute(
                    "select name from sqlite_master where type='table'")]
                for table in tables:
                    cur = con.execute(f'select * from "{table}"')
                    cells += [d[0] for d in cur.description]
                    cells += [str(v) for row in cur for v in row if isinstance(v, str)]
            texts[path.name] = "\n".join(cells)
        else:
            texts[path.name] = path.read_bytes().decode("utf-8", "replace")
    return texts


def _headers(folder):
    """Column names of every CSV and GeoPackage layer."""
    cols = {}
    for path in folder.glob("*.csv"):
        cols[path.name] = set(pd.read_csv(path, nrows=0).columns)
    for path in folder.glob("*.gpkg"):
        for layer in pyogrio.list_layers(path)[:, 0]:
            cols[f"{path.name}:{layer}"] = set(pyogrio.read_info(path, layer=layer)["fields"])
    return cols


def _run(*args):
    env = {**os.environ, "NBHD_GEO_PSEUDONYM_KEY": "test-key-kept-outside"}
    return subprocess.run([sys.executable, "-m", "nbhd_geo.cli", *args], capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def personal_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("personal")
    src = folder / "drawings.gpkg"
    base = _personal_drawings(src)
    read = _run("-v", "read", str(src), "--id-col", "drawing_id", "--name-col",
                "neighbourhood", "--out", str(folder / "read"))
    report = _run("-v", "report", f"{src}:drawings",
                  "--layer", f"lsoa={SAMPLES / 'town.gpkg'}:lsoa",
                  "--layer", f"ward={SAMPLES / 'town.gpkg'}:ward",
                  "--layer-population", "lsoa=population",
                  "--id-col", "drawing_id", "--name-col", "neighbourhood",
                  "--out", str(folder / "report"))
    return folder, base, read, report


def test_personal_values_reach_no_output_of_read_or_report(personal_runs):
    folder, base, read, report = personal_runs
    assert read.returncode == 0, read.stderr
    assert report.returncode == 0, report.stderr
    values = {v for col in PERSONAL for v in base[col]} | {EMAIL_ID, "s1 4xy"}
    for run_name, proc in (("read", read), ("report", report)):
        texts = _output_texts(folder / run_name)
        texts["log"] = proc.stdout + proc.stderr
        assert len(texts) >= 3
        leaks = {(where, v) for where, text in texts.items() for v in values if v in text}
        assert leaks == set(), run_name
    # The postcode inside the kept name is blanked; the rest of the name is published.
    names = pyogrio.read_dataframe(folder / "read" / "drawings.gpkg")["neighbourhood"]
    assert "Hollins near [postcode]" in set(names)


def test_personal_columns_in_no_header_and_listed_as_left_out(personal_runs):
    folder, _, read, report = personal_runs
    for run_name in ("read", "report"):
        for where, cols in _headers(folder / run_name).items():
            assert not set(PERSONAL) & cols, (run_name, where, set(PERSONAL) & cols)
    summary = (folder / "read" / "read_summary.txt").read_text(encoding="utf-8")
    left = summary.split("columns left out (keep one with --keep-column NAME): ")[1]
    for col in PERSONAL:
        assert f"{col} (" in left, col
    # The log names the columns left out, never a value.
    assert "columns left out:" in report.stderr and "Quaxbrunner" not in report.stderr


def test_email_id_is_a_stable_keyed_pseudonym(personal_runs):
    folder, _, _, _ = personal_runs
    rows = pd.read_csv(folder / "read" / "read_report.csv", dtype=str)
    expected = pseudonym(EMAIL_ID, key=b"test-key-kept-outside")
    assert rows.loc[0, "feature_id"] == expected
    assert rows["feature_id"].iloc[1:].str.startswith("WS-").all()
    # Another key gives another pseudonym: without the key the id cannot be tested.
    assert pseudonym(EMAIL_ID, key=b"other") != expected


def test_keep_column_passes_one_column_with_personal_text_blanked(tmp_path):
    src = tmp_path / "d.gpkg"
    _personal_drawings(src)
    out = tmp_path / "out"
    proc = _run("read", str(src), "--name-col", "neighbourhood", "--keep-column", "answer",
                "--keep-column", "Kommentar", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    data = pyogrio.read_dataframe(out / "drawings.gpkg")
    assert {"answer", "Kommentar"} <= set(data.columns)
    assert not (set(PERSONAL) - {"answer", "Kommentar"}) & set(data.columns)
    assert data["answer"].iloc[3] == "ring me on [phone] ok"
    assert data["Kommentar"].iloc[3] == "Schöne Gegend Nummer 3"


@pytest.mark.parametrize("text, kind", [
    ("near s1 4xy", "postcode"), ("S1 4XY", "postcode"), ("call 07700 900123 pls", "phone number"),
    ("+44 1924 123456", "phone number"), ("Jo.B@Example.ORG", "e-mail address"),
    ("943 476 5919", "NHS number"), ("Belle Isle", None), ("Ward 12", None),
    ("9434765918x", None), ("LS12", None), ("2024-05-01", None),
])
def test_personal_value_kind_in_any_case_and_inside_text(text, kind):
    assert personal_value_kind(text) == kind


def test_pseudonym_key_file_created_private(tmp_path, monkeypatch):
    monkeypatch.delenv("NBHD_GEO_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("NBHD_GEO_PSEUDONYM_KEY_FILE", str(tmp_path / "k" / "key"))
    first = pseudonym_key()
    assert len(first) == 64 and (tmp_path / "k" / "key").stat().st_mode & 0o777 == 0o600
    assert pseudonym_key() == first
    assert pseudonym("a@b.org") == pseudonym("a@b.org", key=first)
