"""The report's GeoPackage opens ready in QGIS: styles, aliases, titles, a project file.

Checked with GDAL (pyogrio) and SQLite against the GeoPackage and QGIS table layouts, and,
where Debian's QGIS Python bindings are installed, by loading the project in QGIS headless.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from nbhd_geo.deprivation.imd import read_imd
from nbhd_geo.io.layers import LayerSpec
from nbhd_geo.report.qgis import DECILE_COLOURS, qgis_ready

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TOWN = SAMPLES / "town.gpkg"


def _rgb(hex_colour: str) -> str:
    c = hex_colour.lstrip("#")
    return ",".join(str(int(c[i:i + 2], 16)) for i in (0, 2, 4))


@pytest.fixture(scope="module")
def styled(tmp_path_factory):
    """A report folder as the report leaves it (areas, a best-fit layer, a plan CSV)."""
    out = tmp_path_factory.mktemp("report")
    lsoa = gpd.read_file(TOWN, layer="lsoa").set_index("lsoa_code")
    ward = gpd.read_file(TOWN, layer="ward").set_index("ward_code")
    areas = ward.iloc[:3].reset_index()[["ward_code", "geometry"]].rename(
        columns={"ward_code": "neighbourhood"})
    areas["label"] = ["North", "Mill, \"the\" <Bank>", "South & East"]
    areas.to_file(out / "layers.gpkg", layer="areas", driver="GPKG")
    areas.to_file(out / "layers.gpkg", layer="best_fit_ward", driver="GPKG")
    plan = pd.DataFrame({"plan": "plan_1", "unit": lsoa.index,
                         "footprint": [1 + i % 3 for i in range(len(lsoa))]})
    plan.to_csv(out / "proposed_footprints.csv", index=False)
    imd = read_imd(SAMPLES / "imd.csv")
    files = qgis_ready(out, [LayerSpec("lsoa", lsoa, None), LayerSpec("ward", ward, None)],
                       imd=imd, title="Sample town")
    return out, files, lsoa, imd


def test_layers_the_html_map_shows_are_in_the_geopackage(styled):
    out, files, lsoa, imd = styled
    assert files == [out / "layers.gpkg", out / "layers.qgs"]
    layers = dict(pyogrio.list_layers(out / "layers.gpkg"))
    assert {"areas", "best_fit_ward", "units_lsoa", "units_ward", "imd_deciles",
            "proposed_plan_1", "layer_styles"} <= set(layers)
    assert layers["layer_styles"] is None  # an attribute table, as QGIS writes it
    deciles = gpd.read_file(out / "layers.gpkg", layer="imd_deciles").set_index("lsoa_code")
    expected = imd.wide("decile")["imd"].reindex(deciles.index)
    assert deciles["imd_decile"].tolist() == expected.astype(int).tolist()
    footprints = gpd.read_file(out / "layers.gpkg", layer="proposed_plan_1")
    assert sorted(footprints["footprint"].astype(int)) == [1, 2, 3]
    assert footprints["n_units"].sum() == len(lsoa)
    assert footprints.area.sum() == pytest.approx(lsoa.area.sum(), rel=1e-9)


def test_layer_styles_table_matches_the_qgis_layout(styled):
    out, *_ = styled
    gpkg = out / "layers.gpkg"
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles")  # GDAL reads it
    con = sqlite3.connect(gpkg)
    columns = [r[1].lower() for r in con.execute("PRAGMA table_info(layer_styles)")]
    assert columns == ["id", "f_table_catalog", "f_table_schema", "f_table_name",
                       "f_geometry_column", "stylename", "styleqml", "stylesld",
                       "useasdefault", "description", "owner", "ui", "update_time"]
    geometry = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(styles["f_table_name"]) == sorted(geometry)
    for row in styles.itertuples():
        assert row.f_geometry_column == geometry[row.f_table_name]
        assert bool(row.useAsDefault) if hasattr(row, "useAsDefault") else row.useasdefault
        root = ET.fromstring(row.styleQML if hasattr(row, "styleQML") else row.styleqml)
        assert root.tag == "qgis" and root.find("renderer-v2") is not None
    qml = {r[0]: ET.fromstring(r[1]) for r in con.execute(
        "SELECT f_table_name, styleQML FROM layer_styles")}
    # IMD deciles: ten categories, in the HTML map's colours, 1 = most deprived.
    renderer = qml["imd_deciles"].find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "imd_decile"
    cats = renderer.findall("categories/category")
    assert [c.get("value") for c in cats] == [str(d) for d in range(1, 11)]
    fills = [s.find("layer/Option/Option[@name='color']").get("value")
             for s in renderer.findall("symbols/symbol")]
    assert [f.rsplit(",", 1)[0] for f in fills] == [_rgb(c) for c in DECILE_COLOURS]
    # Neighbourhood outlines purple with a light fill; wards as navy lines, no fill.
    area = qml["areas"].find("renderer-v2/symbols/symbol/layer/Option")
    assert area.find("Option[@name='outline_color']").get("value") == "106,61,154,255"
    assert area.find("Option[@name='color']").get("value") == "106,61,154,31"
    ward = qml["units_ward"].find("renderer-v2/symbols/symbol/layer/Option")
    assert ward.find("Option[@name='outline_color']").get("value") == "36,59,83,255"
    assert ward.find("Option[@name='style']").get("value") == "no"
    plan = qml["proposed_plan_1"].find("renderer-v2")
    assert [c.get("value") for c in plan.findall("categories/category")] == ["1", "2", "3"]
    # Field aliases in plain words, in the style and in gpkg_data_columns.
    aliases = {a.get("field"): a.get("name") for a in qml["imd_deciles"].iter("alias")}
    assert aliases["imd_decile"] == "IMD decile (1 = most deprived 10 %)"
    cols = dict(con.execute("SELECT column_name, title FROM gpkg_data_columns "
                            "WHERE table_name = 'imd_deciles'"))
    assert cols == {"lsoa_code": "LSOA code", "imd_decile": aliases["imd_decile"]}
    ext = con.execute("SELECT table_name FROM gpkg_extensions WHERE extension_name = "
                      "'gpkg_schema'").fetchall()
    assert {r[0] for r in ext} >= {"gpkg_data_columns", "gpkg_data_column_constraints"}
    titles = dict(con.execute("SELECT table_name, identifier FROM gpkg_contents"))
    assert titles["areas"] == "Neighbourhoods" and titles["imd_deciles"] == "LSOAs by IMD decile"
    # Labels with quotes and ampersands stay valid XML (names are data, not markup).
    assert qml["areas"].find("labeling/settings/text-style").get("fieldName") == "label"
    con.close()
    # Written twice (a rerun), the styles are replaced, not doubled.
    assert len(styles) == len(geometry)


def test_project_file_opens_every_layer_in_order(styled):
    out, *_ = styled
    root = ET.parse(out / "layers.qgs").getroot()
    assert root.tag == "qgis" and root.findtext("title") == "Sample town"
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:27700"
    tree = [n.get("source") for n in root.iter("layer-tree-layer")]
    names = [s.split("layername=")[1] for s in tree]
    assert names[0] == "areas" and names[-1] == "imd_deciles"  # neighbourhoods on top
    assert all(s.startswith("./layers.gpkg|") for s in tree)  # relative: the folder moves
    real = {n for n, g in pyogrio.list_layers(out / "layers.gpkg") if g is not None}
    assert set(names) == real
    for layer in root.iter("maplayer"):
        assert layer.find("renderer-v2") is not None and layer.findtext("provider") == "ogr"
        assert layer.findtext("datasource").split("layername=")[1] in real


QGIS_CHECK = """
import sys
from qgis.core import QgsApplication, QgsProject
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
assert project.read(sys.argv[1]), "project did not load"
out = []
for layer in project.mapLayers().values():
    out.append(f"{layer.source().split('layername=')[1]}|{layer.isValid()}|"
               f"{layer.renderer().type()}|{layer.featureCount()}")
print("\\n".join(sorted(out)))
app.exitQgis()
"""


def test_qgis_itself_opens_the_project_styled(styled):
    """Only where Debian's python3-qgis is installed (not by make test: 170 packages)."""
    out, *_ = styled
    python = shutil.which("python3", path="/usr/bin")
    if python is None or subprocess.run([python, "-c", "import qgis.core"],
                                        capture_output=True).returncode:
        pytest.skip("QGIS Python bindings not installed (apt-get install python3-qgis "
                    "qgis-providers, ~100 MB): the project is checked as XML above")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(out)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, "-c", QGIS_CHECK, str(out / "layers.qgs")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=out)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = dict((r.split("|", 1)[0], r.split("|")[1:]) for r in done.stdout.split())
    assert rows["imd_deciles"][:2] == ["True", "categorizedSymbol"]
    assert rows["areas"] == ["True", "singleSymbol", "3"]
    assert all(v[0] == "True" for v in rows.values()), rows
    assert sys.version_info >= (3, 11)
