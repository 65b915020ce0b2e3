"""Report sections "Who was heard", "Councillors' view" (#16) and "Proposed footprints" (#15).

Run on the bundled sample town (named drawings, LSOA population, address points, IMD),
with the figures checked against the geometry independently.
"""

from __future__ import annotations

import html as _html
import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nbhd_geo.cli.report_inputs import read_size_option
from nbhd_geo.deprivation.imd import read_imd
from nbhd_geo.plan import check_plan
from nbhd_geo.reconcile import LayerSpec, neighbourhood_areas, read_drawings_many
from nbhd_geo.report.demo import _sample_layers, run_demo
from nbhd_geo.report.options import (
    DeprivationOptions,
    DrawingOptions,
    LabelOptions,
    PageOptions,
    PopulationOptions,
)
from nbhd_geo.report.overlap import overlap_report
from nbhd_geo.samples import get_path
from nbhd_geo.voices.coverage import engagement_coverage

SIZE = (10_000.0, 20_000.0)  # the sample town has 50,006 people: 3–5 footprints


def _drawings() -> gpd.GeoDataFrame:
    sources = [(get_path("drawings_workshop"), "drawings"), get_path("drawings_online"),
               {"path": get_path("drawings_mapmaker"), "name_col": "Name"},
               {"path": get_path("drawings_survey"), "crs": "EPSG:27700"}]
    drawings, _ = read_drawings_many(sources, name_col="neighbourhood")
    return drawings


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``nbhd-geo demo`` as ``make demo`` runs it (no --propose)."""
    out = tmp_path_factory.mktemp("demo")
    run_demo(out, progress=False)
    return out, (out / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def proposed(tmp_path_factory):
    """The demo's inputs with ``propose=(10000, 20000)``."""
    out = tmp_path_factory.mktemp("propose")
    drawings = _drawings()
    layers, points = _sample_layers()
    areas, label_col, intro, cons = neighbourhood_areas(drawings)
    overlap_report(areas, layers, out, labels=LabelOptions(label_col),
                   drawings=DrawingOptions(drawings, cons),
                   population=PopulationOptions(points, "count"),
                   deprivation=DeprivationOptions(read_imd(get_path("imd"))),
                   page=PageOptions(intro=intro, primary="lsoa", sample_data=True),
                   progress=False, propose=SIZE)
    return out, (out / "index.html").read_text(encoding="utf-8"), layers, areas


def _section(page: str, anchor: str) -> str:
    i = page.index(f'<section id="{anchor}"')
    return page[i:page.index("</section>", i)]


def _text(fragment: str) -> str:
    return _html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def _map_specs(page: str) -> list[dict]:
    return json.loads(re.search(r"var specs = (\[.*?\]);", page).group(1))


def _map_layer(page: str, key: str) -> dict:
    m = re.search(rf'<script type="application/json" id="layer-{key}">(.*?)</script>', page,
                  re.S)
    assert m is not None, key
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_demo_shows_who_was_heard_with_suppressed_counts(demo):
    out, page = demo
    sec = _section(page, "who-was-heard")
    assert "<h2" in sec and "Who was heard" in sec
    cov = pd.read_csv(out / "coverage.csv", dtype=str, keep_default_na=False)
    drawings = _drawings()
    named = drawings[drawings["neighbourhood"].notna()]
    layers, points = _sample_layers()
    lsoa = layers[1].data
    assert len(cov) == len(lsoa) and set(cov["lsoa_code"]) == set(lsoa.index)
    # The same figures as the analysis run directly on the same inputs ...
    truth = engagement_coverage(named, lsoa, unit_population="population", weights=points,
                                weight_col="count", deprivation=read_imd(get_path("imd")))
    t = truth.table
    small = t.index[(t["drawings"] > 0) & (t["drawings"] < 10)]
    assert len(small) > 10  # the sample spreads 107 drawings over 33 LSOAs
    c = cov.set_index("lsoa_code")
    # ... suppressed below 10 (and their rate, which would give the count back) ...
    assert (c.loc[small, "drawings"] == "<10").all()
    assert (c.loc[small, "per_1000"] == "").all()
    shown = t.index[t["drawings"] >= 10]
    assert len(shown) >= 3
    assert np.allclose(c.loc[shown, "drawings"].astype(float), t.loc[shown, "drawings"],
                       atol=0.5)
    assert np.allclose(c.loc[shown, "per_1000"].astype(float), t.loc[shown, "per_1000"],
                       atol=0.051)
    # ... and never more drawings in a unit than drawings that touch it (geometry check).
    touching = pd.Series(0, index=lsoa.index)
    geoms = np.asarray(named.to_crs(27700).geometry.array)
    for u, g in zip(lsoa.index, lsoa.geometry, strict=True):
        touching[u] = int((shapely.area(shapely.intersection(geoms, g)) > 1.0).sum())
    assert (t["drawings"] <= touching + 1e-6).all()
    assert (touching[t["drawings"] == 0] == 0).all()
    # Unheard: low coverage and IMD decile 1-2, named (with their LSOA names) in the text.
    unheard = t.index[t["unheard"]]
    assert len(unheard) >= 1 and (t.loc[unheard, "imd_decile"] <= 2).all()
    text = _text(sec)
    names = lsoa["lsoa_name"]
    for u in unheard[:10]:
        assert f"{names[u]} ({u})" in text
    # The table shows "<10" and never a raw count below 10.
    checked = 0
    for row in re.findall(r"<tr>(.*?)</tr>", sec):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        if cells and cells[0] in set(small):
            assert cells[3] == "&lt;10" and cells[4] == "not shown", cells
            checked += 1
    assert checked == len(small)
    # A coverage layer on the interactive map (off by default), shaded only where shown.
    spec = next(s for s in _map_specs(page) if s["key"] == "cov")
    assert spec["kind"] == "shade" and spec["checked"] is False
    feats = _map_layer(page, "cov")["features"]
    assert len(feats) == len(lsoa)
    filled = sum(1 for f in feats if f["properties"]["fill"])
    assert filled == int((c["per_1000"] != "").sum())


def test_demo_shows_councillors_view_for_every_ward_holding_a_neighbourhood(demo):
    out, page = demo
    sec = _section(page, "councillors-view")
    assert "Councillors' view" in _html.unescape(sec)
    layers, points = _sample_layers()
    wards = layers[3].data
    areas = gpd.read_file(out / "layers.gpkg", layer="areas")
    areas = areas.set_index(areas.columns[0])
    # Independently: people in (neighbourhood ∩ ward) / people in the neighbourhood, from
    # the address points (LSOA populations are the sums of their points).
    pts = np.asarray(points.geometry.array)
    count = points["count"].to_numpy(float)
    held: dict[str, set[str]] = {}
    share = {}
    for name, core in zip(areas.index, areas.geometry, strict=True):
        inside = shapely.contains_xy(core, shapely.get_x(pts), shapely.get_y(pts))
        total = count[inside].sum()
        for w, wg in zip(wards.index, wards.geometry, strict=True):
            both = inside & shapely.contains_xy(wg, shapely.get_x(pts), shapely.get_y(pts))
            s = count[both].sum() / total
            share[(w, name)] = s
            if s >= 0.05:
                held.setdefault(w, set()).add(name)
    assert len(held) >= 5
    summaries = re.findall(r"<summary>(.*?) — holds (\d+) neighbourhood", sec)
    shown = {_html.unescape(n): int(k) for n, k in summaries}
    want = {wards.at[w, "ward_name"]: len(v) for w, v in held.items()}
    assert shown == want  # every ward holding a neighbourhood, with how many
    csv = pd.read_csv(out / "councillors_view.csv")
    for r in csv.itertuples():
        assert r.share_of_neighbourhood == pytest.approx(share[(r.ward, r.neighbourhood)],
                                                         abs=0.002)
    assert set(csv["ward_name"]) == set(want)


def test_proposed_plans_are_valid_and_on_the_map(proposed):
    out, page, layers, areas = proposed
    lsoa = layers[1].data
    sec = _section(page, "proposed-footprints")
    text = _text(sec)
    assert "Proposed footprints" in text and "10,000–20,000 people" in text
    assign = pd.read_csv(out / "proposed_footprints.csv")
    plans = sorted(assign["plan"].unique())
    assert 1 <= len(plans) <= 3
    cards = pd.read_csv(out / "proposed_scorecards.csv").set_index("plan")
    specs = {s["key"]: s for s in _map_specs(page)}
    for k, plan in enumerate(plans, start=1):
        a = assign[assign["plan"] == plan].set_index("unit")["footprint"]
        check = check_plan(lsoa, a, population="population", size=SIZE)
        assert check.ok, check.problems
        n = a.nunique()
        assert cards.at[plan, "n_footprints"] == n
        pops = lsoa["population"].groupby(a.reindex(lsoa.index)).sum()
        assert pops.between(*SIZE).all()
        # the plan is a layer of the interactive map, one feature per footprint
        assert specs[f"plan{k}"]["kind"] == "shade"
        assert specs[f"plan{k}"]["label"].endswith(plan.replace("_", " "))
        assert len(_map_layer(page, f"plan{k}")["features"]) == n
        # Kept whole, checked against the geometry: at least 95 % of the neighbourhood's
        # residents (LSOA people shared by area) are in one footprint.
        col = f"Plan {k}"
        table = sec[sec.index("Does each plan keep"):]
        head = re.findall(r"<th[^>]*>(.*?)</th>", table)
        j = head.index(col)
        rows = re.findall(r"<tr><td>(.*?)</tr>", table)
        assert len(rows) == len(areas)
        for row in rows:
            cells = [_html.unescape(c) for c in re.findall(r"([^<>]*)</td>", "<td>" + row)]
            name = cells[0]
            core = areas.geometry[areas["label"] == name].iloc[0]
            over = shapely.area(shapely.intersection(np.asarray(lsoa.geometry.array), core))
            people = over / shapely.area(np.asarray(lsoa.geometry.array)) * lsoa["population"]
            by_fp = people.groupby(a.reindex(lsoa.index).to_numpy()).sum()
            whole = by_fp.max() >= 0.95 * people.sum() - 1e-6
            assert (cells[j] == "kept whole") == whole, (plan, name, cells[j])
    # the scorecard in plain words
    assert "Residents of neighbourhoods kept whole" in text
    assert f"{int(cards['n_footprints'].iloc[0])} footprints" in text


def test_plan_error_is_a_sentence_and_no_voices_without_names(tmp_path):
    units = gpd.GeoDataFrame(
        {"code": [f"L{i}" for i in range(4)], "pop": [1000, 5, 800, 600]},
        geometry=[shapely.box(430000 + 100 * i, 420000, 430100 + 100 * i, 420100)
                  for i in range(4)], crs=27700).set_index("code")
    wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]},
                             geometry=[shapely.box(430000, 420000, 430170, 420100),
                                       shapely.box(430170, 420000, 430400, 420100)],
                             crs=27700).set_index("ward")
    areas = gpd.GeoDataFrame({"name": ["Oakfield", "Millbank"]},
                             geometry=[shapely.box(430000, 420000, 430140, 420100),
                                       shapely.box(430150, 420000, 430400, 420100)],
                             crs=27700, index=pd.Index(["n1", "n2"], name="id"))
    overlap_report(areas, [LayerSpec("lsoa", units, "pop"), LayerSpec("ward", wards)],
                   tmp_path, labels=LabelOptions("name"), progress=False,
                   propose=(30_000, 50_000))
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    text = _text(_section(page, "proposed-footprints"))
    # 2,405 people cannot make footprints of 30,000–50,000: said, not raised.
    assert "No plan could be made from these LSOAs" in text and "2,405" in text
    assert not (tmp_path / "proposed_footprints.csv").exists()
    assert 'id="who-was-heard"' not in page and 'id="councillors-view"' not in page
    assert not any(s["kind"] == "shade" for s in _map_specs(page))


def test_propose_size_option():
    assert read_size_option("30000,50000") == (30_000.0, 50_000.0)
    proc = subprocess.run([sys.executable, "-m", "nbhd_geo.cli", "report", "x.gpkg",
                           "--layer", "lsoa=y.gpkg", "--out", "/nonexistent/out", "--propose",
                           "--propose-size", "50000,30000"],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--propose-size" in proc.stderr and "30000,50000" in proc.stderr


def test_deprivation_section_reuses_the_report_tables():
    # the round-1 matplotlib section is built on deprivation_tables (the planner report's
    # figures), adding the ranking, the rank stability and a decile map
    from nbhd_geo.report.facts.deprivation import deprivation_tables
    from nbhd_geo.report.sections.deprivation import deprivation_section

    drawings = _drawings()
    layers, points = _sample_layers()
    lsoa = next(spec.data for spec in layers if spec.name == "lsoa")
    areas, label_col, _, _ = neighbourhood_areas(drawings)
    imd = read_imd(get_path("imd"))
    kw = {"weights": points, "weight_col": "count", "label_col": label_col, "budget": 100_000}
    res = deprivation_section(areas, lsoa, imd, **kw)
    dep = deprivation_tables(areas, lsoa, imd, **kw)
    pd.testing.assert_frame_equal(res.tables["deprivation.csv"], dep.tables["deprivation.csv"])
    alloc = res.tables["allocation.csv"]
    assert alloc["allocation"].sum() == 100_000
    assert set(alloc["area_id"]) == set(areas.index)
    stab = res.tables["rank_stability.csv"]
    assert len(stab) == len(areas)
    assert [t for t, _ in res.section.tables] == ["Neighbourhoods ranked by deprivation",
                                                   "Allocation"]
    assert len(res.section.figures) == 1 and res.section.figures[0][0].startswith("data:image")
