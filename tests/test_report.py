"""The overlap report: text, suppression, files, and the page in a real headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nbhd_geo.io.disclosure import suppress_small_counts
from nbhd_geo.reconcile import LayerSpec
from nbhd_geo.report.demo import run_demo
from nbhd_geo.report.options import LabelOptions, PageOptions
from nbhd_geo.report.overlap import overlap_report
from nbhd_geo.report.page.html import neighbourhood_paragraph
from nbhd_geo.report.sections.base import table_html

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


def test_paragraph_numbers():
    fit = pd.Series({"iou": 0.72, "excluded_inside_share": 0.19, "included_outside_share": 0.12,
                     "n_units_selected": 5})
    text = neighbourhood_paragraph("Oakfield", {"LSOA": 7, "ward": 1}, {"LSOA": fit})
    assert text.startswith("Oakfield touches 7 LSOAs and 1 ward.")
    assert "(5 LSOAs) covers 81% of it and adds 12%" in text
    none = pd.Series({"iou": 0.0, "excluded_inside_share": 1.0, "included_outside_share": 0.0,
                      "n_units_selected": 0})
    assert "No whole ward is a fair stand-in" in neighbourhood_paragraph(
        "Tiny", {"ward": 1}, {"ward": none})


def test_small_counts_suppressed_in_tables():
    t = pd.DataFrame({"area": ["A", "B", "C", "D"], "people": [1520.4, 9.99, 10.0, 0.0],
                      "share": [0.5, 0.25, 0.125, 0.0]})
    out = suppress_small_counts(t, ["people"])
    assert out["people"].tolist() == ["1520", "<10", "10", "0"]
    assert out.attrs["suppressed"] == {"people": 1}
    assert suppress_small_counts(t, ["people"], threshold=0)["people"].tolist()[1] == "10"
    html = table_html(t, counts=["people"], percent=["share"])
    assert "&lt;10" in html and "9.99" not in html and "12.5%" in html


def squares_case(tmp_path):
    units = gpd.GeoDataFrame(
        {"code": [f"L{i}" for i in range(4)], "pop": [1000, 5, 800, 600]},
        geometry=[shapely.box(430000 + 100 * i, 420000, 430100 + 100 * i, 420100)
                  for i in range(4)],
        crs=27700,
    ).set_index("code")
    wards = gpd.GeoDataFrame(
        {"ward": ["W1", "W2"]},
        geometry=[shapely.box(430000, 420000, 430170, 420100),
                  shapely.box(430170, 420000, 430400, 420100)],
        crs=27700,
    ).set_index("ward")
    areas = gpd.GeoDataFrame(
        {"name": ["Oakfield", "Millbank"]},
        geometry=[shapely.box(430000, 420000, 430140, 420100),
                  shapely.box(430150, 420000, 430400, 420100)],
        crs=27700,
        index=pd.Index(["n1", "n2"], name="id"),
    )
    layers = [LayerSpec("lsoa", units, "pop"), LayerSpec("ward", wards)]
    return overlap_report(areas, layers, tmp_path, labels=LabelOptions("name", {"ward": "ward"}),
                          progress=False)


def test_report_files_and_numbers(tmp_path):
    rep = squares_case(tmp_path)
    names = {p.name for p in rep.files}
    assert {"index.html", "crosswalk_lsoa.csv", "crosswalk_ward.csv", "best_fit.csv",
            "tension.csv", "unit_splits.csv", "layers.gpkg", "checks.json"} <= names
    t = rep.tension.set_index(["layer", rep.tension.columns[1]])
    # Oakfield: 100 % of L0 and 40 % of L1 -> shares 100/140 and 40/140 of its area.
    p = np.array([100, 40]) / 140
    assert t.loc[("lsoa", "n1"), "eff_units"] == pytest.approx(1 / (p**2).sum())
    html = (tmp_path / "index.html").read_text()
    # Oakfield lies in ward W1; Millbank has 20 of its 250 m in W1.
    assert "Oakfield is inside one ward (W1)." in html
    assert "split across 2 wards: W2 92 %, W1 8 %" in html
    assert "fictional town" not in html  # not sample data
    assert "Repairs" not in html
    # L1 has 5 people: published as <10 in the tables.
    fit = pd.read_csv(tmp_path / "best_fit.csv")
    assert "<10" in set(fit["pop_included_outside"].astype(str)) | set(
        fit["population"].astype(str))
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "layers.gpkg")}
    assert {"areas", "best_fit_lsoa", "best_fit_ward", "split_units_lsoa"} <= layers
    assert "drawings" not in layers  # individual drawings only with --include-drawings


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    files = run_demo(out, progress=False)
    return out, files


def test_demo_report_mentions_every_neighbourhood(demo_report):
    out, _ = demo_report
    html = (out / "index.html").read_text()
    truth = gpd.read_file(ROOT / "data" / "samples" / "truth.gpkg")
    name_col = next(c for c in truth.columns if "name" in c.lower() or "neighbourhood" in c)
    for name in truth[name_col]:
        assert f"<summary>{name} " in html, name
        assert f'">{name}</a></td>' in html, name  # a row of the index
    assert html.count("<svg") >= len(truth)  # one inline map per neighbourhood
    # Deprivation headline and an allocation that sums to the budget exactly.
    assert "Deprivation (IoD" in html and 'id="index-table"' in html
    alloc = pd.read_csv(out / "allocation.csv")
    assert alloc["allocation"].sum() == 1_000_000
    assert len(alloc) == len(truth)
    assert "fictional town" in html  # the samples say what they are


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("headless Chromium not installed (make test installs Debian's chromium "
                    "when run as root with apt; install it to run this test)")
    pytest.importorskip("playwright", reason="playwright (test extra) not installed")
    return exe


@pytest.mark.browser
def test_report_in_headless_chromium(demo_report):
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    out, _ = demo_report
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=exe,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"requestfailed: {r.url[:80]}"))
        page.goto((out / "index.html").as_uri(), wait_until="load")
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
        title = page.title()
        n_sections = page.evaluate("document.querySelectorAll('#details details').length")
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
        page.screenshot(path=str(ARTIFACTS / "report_full.png"), full_page=True)
        browser.close()
    assert problems == []
    assert len(images) >= 2
    broken = [alt for complete, width, alt in images if not (complete and width > 0)]
    assert broken == []
    assert "overlap report" in title
    assert n_sections >= 5
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def _wobbly(centre: shapely.Point, radius: float, rng: np.random.Generator) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    noise = np.convolve(rng.normal(0, 0.08, t.size + 20), np.ones(21) / 21, "valid")[: t.size]
    r = radius * (1 + noise)
    return shapely.Polygon(np.c_[centre.x + r * np.cos(t), centre.y + r * np.sin(t)])


@pytest.mark.shared
def test_report_on_real_wakefield_layers(shared, tmp_path):
    from nbhd_geo.io.read import read_layer
    from nbhd_geo.reconcile import neighbourhood_areas

    lsoa, _ = read_layer(shared("ons", "wakefield", "lsoa11.geojson"), id_col="LSOA11CD")
    ward, _ = read_layer(shared("ons", "wakefield", "wards13.geojson"), id_col="WD13CD")
    msoa, _ = read_layer(shared("ons", "wakefield", "msoa11.geojson"))
    rng = np.random.default_rng(2026)
    centre = lsoa.union_all().centroid
    rows = []
    for k, name in enumerate(["Castleford Road", "Eastmoor", "Lupset", "Agbrigg"]):
        c = shapely.affinity.translate(centre, 2500 * (k % 2) - 1200, 2200 * (k // 2) - 1100)
        for j in range(8):
            rows.append({"drawing_id": f"{k}-{j}", "neighbourhood": name,
                         "geometry": _wobbly(shapely.affinity.translate(
                             c, *rng.normal(0, 80, 2)), 900 * rng.uniform(0.8, 1.2), rng)})
    drawings = gpd.GeoDataFrame(rows, crs=27700).set_index("drawing_id")
    areas, label_col, intro, _ = neighbourhood_areas(drawings)
    assert len(areas) == 4
    rep = overlap_report(areas, [LayerSpec("lsoa", lsoa), LayerSpec("ward", ward),
                                 LayerSpec("msoa", msoa)],
                         tmp_path, labels=LabelOptions(label_col),
                         page=PageOptions(intro=intro), progress=False)
    t = rep.tension
    assert set(t["layer"]) == {"lsoa", "ward", "msoa"}
    assert t["tension"].between(0, 1).all()
    # ~2.5 km² neighbourhoods against ~0.5-1 km² Wakefield LSOAs: several each.
    assert (t.loc[t["layer"] == "lsoa", "n_units"] >= 2).all()
    assert t.loc[t["layer"] == "lsoa", "n_units"].sum() >= 10
    html = (tmp_path / "index.html").read_text()
    assert "<summary>Eastmoor " in html


def test_demo_board_facts_recomputed_from_the_tables(demo_report):
    """Every figure, list and order on the sample town's board, from the CSVs alone."""
    from tests._factcheck import check_board

    out, _ = demo_report
    assert check_board(out) == []
    facts = pd.read_csv(out / "board_facts.csv")
    assert {"n_neighbourhoods", "most_deprived", "fit_ward_inside"} <= set(facts["key"])
    # Exact people are kept beside the printed figure, never as a count under 10.
    people = pd.to_numeric(facts.loc[facts["key"].str.startswith("people"), "exact"])
    assert len(people) and ((people >= 10) | people.isna()).all()
