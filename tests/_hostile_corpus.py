"""Generator of hostile inputs for reading (issue 13): real files, one per case.

Each :class:`Case` is a file (or folder of files) written by :func:`build_corpus`, how
to read it, and what must hold: either a result accounting for exactly ``n_features``
input features (counted here, independently of GDAL), or an ``NbhdGeoError`` whose
message contains ``needle``. Classes follow the issue's numbering:

1 malformed geometry, 2 column layouts, 3 personal data, 5 network, 6 formula text,
7 CLI fixes, 8 mathtext names, 9 resource guards, 10 smaller items, plus 0 for junk
files in general. Classes 4 (suppression) and 6 in outputs are checked on reports.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# A small grid of squares in Wakefield (degrees), 0.004° apart.
LON0, LAT0 = -1.50, 53.68


def square(i: int, size: float = 0.003) -> list[list[float]]:
    x, y = LON0 + 0.004 * (i % 10), LAT0 + 0.004 * (i // 10)
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def poly(i: int) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [square(i)]}


def feature(i: int, geometry: Any = "auto", **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"drawing_id": f"d{i}", **props},
            "geometry": poly(i) if geometry == "auto" else geometry}


def fc(features: list[Any], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **extra, "features": features}


def gdf(n: int, crs: str = "EPSG:4326", **columns: Any) -> gpd.GeoDataFrame:
    data = {"drawing_id": [f"d{i}" for i in range(n)], **columns}
    geoms = [shapely.Polygon(square(i)) for i in range(n)]
    frame = gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")
    return frame.to_crs(crs) if crs != "EPSG:4326" else frame


@dataclass
class Case:
    """One hostile input and what must happen when it is read."""

    name: str
    cls: int
    path: Path
    expect: str = "ok"  # "ok" or "error"
    n_features: int | None = None
    needle: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    cli: list[str] = field(default_factory=list)
    forbidden_columns: tuple[str, ...] = ()
    min_rejected: int = 0
    note: str = ""

    @property
    def id(self) -> str:
        return f"c{self.cls}-{self.name}"


def _write_json(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def _gpkg_with_blob(path: Path, n: int, bad: dict[int, bytes]) -> Path:
    gdf(n, crs="EPSG:27700").to_file(path, layer="drawings", driver="GPKG")
    con = sqlite3.connect(path)
    for (trigger,) in con.execute("select name from sqlite_master where type='trigger'"):
        con.execute(f'drop trigger "{trigger}"')
    for row, blob in bad.items():
        con.execute("update drawings set geom=? where drawing_id=?", (blob, f"d{row}"))
    con.commit()
    con.close()
    return path


def _parquet_with_blob(path: Path, n: int, bad: dict[int, bytes]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = path.with_name(path.stem + "_good.parquet")
    gdf(n, crs="EPSG:27700").to_parquet(good)
    table = pq.read_table(good)
    wkb = table.column("geometry").to_pylist()
    for row, blob in bad.items():
        wkb[row] = blob
    table = table.set_column(table.column_names.index("geometry"), "geometry",
                             pa.array(wkb, pa.binary()))
    pq.write_table(table.replace_schema_metadata(pq.read_table(good).schema.metadata), path)
    good.unlink()
    return path


def _truncated(path: Path, fmt: str, n: int, cut: int) -> Path:
    whole = path.with_name("whole_" + path.name)
    gdf(n, crs="EPSG:27700").to_file(whole, driver=fmt)
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) - cut])
    whole.unlink()
    return path


def _shapefile(folder: Path, n: int, **columns: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "drawings.shp"
    gdf(n, crs="EPSG:27700", **columns).to_file(path)
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def build_corpus(root: Path, *, listener_url: str = "http://127.0.0.1:9/crs") -> list[Case]:
    """Write every hostile input under ``root``; return the cases (at least 100)."""
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(case: Case) -> None:
        cases.append(case)

    def p(name: str) -> Path:
        return root / name

    # ----------------------------------------------------------- 1: malformed geometry
    ring = square(0)
    for label, geometry in {
        "unclosed-ring": {"type": "Polygon", "coordinates": [ring[:-1]]},
        "one-point": {"type": "Polygon", "coordinates": [ring[:1]]},
        "two-points": {"type": "Polygon", "coordinates": [ring[:2]]},
        "three-points-closed": {"type": "Polygon", "coordinates": [[ring[0], ring[1], ring[0]]]},
        "empty-ring": {"type": "Polygon", "coordinates": [[]]},
        "no-rings": {"type": "Polygon", "coordinates": []},
        "bow-tie": {"type": "Polygon", "coordinates": [[ring[0], ring[2], ring[1], ring[3],
                                                         ring[0]]]},
        "null-geometry": None,
        "point": {"type": "Point", "coordinates": ring[0]},
        "line": {"type": "LineString", "coordinates": ring[:3]},
        "collection": {"type": "GeometryCollection", "geometries": [poly(5), {
            "type": "Point", "coordinates": ring[0]}]},
        "multipolygon-unclosed-part": {"type": "MultiPolygon",
                                       "coordinates": [[square(7)], [square(8)[:-1]]]},
        "hole-unclosed": {"type": "Polygon", "coordinates": [square(0, 0.003),
                                                             square(0, 0.001)[:-1]]},
        "unknown-type": {"type": "Hexagon", "coordinates": [ring]},
        "string-coordinates": {"type": "Polygon", "coordinates": "oops"},
        "nan-coordinates": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 0],
                                                                 [0, 0]]]},
        "z-coordinates": {"type": "Polygon", "coordinates": [[[*xy, 5.0] for xy in ring]]},
    }.items():
        good = [feature(i) for i in range(1, 4)]
        add(Case(f"geojson-{label}", 1, _write_json(p(f"g1_{label}.geojson"),
                                                    fc([*good, feature(0, geometry)])),
                 n_features=4, kwargs={"outside": "reject"}, cli=["--outside", "reject"],
                 min_rejected=0 if label in ("bow-tie", "collection", "z-coordinates")
                 else 1))
    for k, blob in enumerate([b"\xde\xad\xbe\xef\x01\x02", b"GP\x00\x01" + b"\x00" * 4 + b"junk",
                              b"", b"\x01\x03\x00\x00\x00\xff\xff\xff\x7f"]):
        add(Case(f"gpkg-garbage-wkb-{k}", 1, _gpkg_with_blob(p(f"g1_bad{k}.gpkg"), 5, {2: blob}),
                 n_features=5, min_rejected=1))
    add(Case("gpkg-two-garbage-blobs", 1,
             _gpkg_with_blob(p("g1_bad_two.gpkg"), 6, {0: b"\x00", 5: b"\xff" * 40}),
             n_features=6, min_rejected=2))
    for k, blob in enumerate([b"\x01\x03garbage", b"\x00", b"\x01\x03\x00\x00\x00\x01\x00"]):
        add(Case(f"parquet-garbage-wkb-{k}", 1,
                 _parquet_with_blob(p(f"g1_bad{k}.parquet"), 4, {1: blob}),
                 n_features=4, min_rejected=1))
    for cut in (10, 60, 200):
        add(Case(f"fgb-truncated-{cut}", 1, _truncated(p(f"g1_trunc{cut}.fgb"), "FlatGeobuf", 6,
                                                       cut),
                 n_features=6, min_rejected=1))
    add(Case("csv-wkt-unclosed", 1, _csv(p("g1_unclosed.csv"), [
        {"drawing_id": "a", "wkt": "POLYGON ((430000 420000, 430100 420000, 430100 420100))"},
        {"drawing_id": "b", "wkt": "POLYGON ((430000 420000, 430100 420000, 430100 420100, "
                                   "430000 420000))"},
        {"drawing_id": "c", "wkt": "POLYGON ((1 2))"},
        {"drawing_id": "d", "wkt": "not wkt at all"}]),
        n_features=4, kwargs={"crs": "EPSG:27700"}, cli=["--crs", "EPSG:27700"],
        min_rejected=3))

    # ------------------------------------------------------------ 2: column layouts
    layouts: dict[str, gpd.GeoDataFrame] = {
        "drawing-id-with-null": gdf(4).assign(drawing_id=["a", None, "c", "d"]),
        "id-and-drawing-id": gdf(3).assign(id=["x", "y", "z"]),
        "text-fid": gdf(3).assign(fid=["one", "two", "three"], id=["a", "b", "c"]),
        "case-clash": gdf(3).assign(Neighbourhood=["A", "B", "C"], NEIGHBOURHOOD=["a", "b", "c"]),
        "source-column": gdf(3).assign(source=["x", "y", "z"]),
        "feature-id-column": gdf(3).assign(feature_id=[None, "q", "r"]),
        "duplicate-ids": gdf(4).assign(drawing_id=["a", "a", "a", "b"]),
        "integer-ids": gdf(3).assign(drawing_id=[1, 2, 3]),
        "unicode-columns": gdf(3).assign(**{"quartier_é": ["é", "ü", "ø"], "名前": ["a", "b", "c"]}),
        "geometry-named-column": gdf(3).assign(GEOMETRY=["x", "y", "z"]),
    }
    for label, frame in layouts.items():
        path = p(f"g2_{label}.geojson")
        frame.to_file(path, driver="GeoJSON")
        add(Case(f"layout-{label}", 2, path, n_features=len(frame)))
    gdf(2, crs="EPSG:27700").assign(tags=[[1, 2], [3]], meta=[{"x": 1}, {"y": 2}],
                                    blob=[b"ab", b"cd"]).to_parquet(p("g2_nested.parquet"))
    add(Case("layout-nested-parquet-columns", 2, p("g2_nested.parquet"), n_features=2))
    _write_json(p("g2_odd_keys.geojson"), fc([
        feature(0, **{"": "empty key", " ": "space", "a" * 300: "long key", "fid": "x"}),
        feature(1, **{"": "e2", " ": "s2", "a" * 300: "l2", "fid": "y"})]))
    add(Case("layout-odd-property-keys", 2, p("g2_odd_keys.geojson"), n_features=2))
    p("g2_dup_header.csv").write_text(
        "wkt,a,a,A\n\"" + shapely.Polygon(square(0)).wkt + "\",1,2,3\n")
    add(Case("layout-duplicate-csv-header", 2, p("g2_dup_header.csv"), n_features=1,
             kwargs={"crs": "EPSG:4326"}, cli=["--crs", "EPSG:4326"]))
    nb = gdf(3).assign(name=["North", "South", "East"], neighbourhood=["n", "s", "e"])
    nb.to_file(p("g2_name_and_neighbourhood.geojson"), driver="GeoJSON")
    add(Case("layout-name-col-next-to-neighbourhood", 2, p("g2_name_and_neighbourhood.geojson"),
             n_features=3, kwargs={"name_col": "name"}, cli=["--name-col", "name"]))
    upper = gdf(3).assign(Neighbourhood=["A", "B", "C"], NEIGHBOURHOOD=["a", "b", "c"])
    upper.to_file(p("g2_name_case_clash.geojson"), driver="GeoJSON")
    add(Case("layout-name-col-case-clash", 2, p("g2_name_case_clash.geojson"), n_features=3,
             kwargs={"name_col": "Neighbourhood"}, cli=["--name-col", "Neighbourhood"]))
    gdf(3, crs="EPSG:27700").assign(fid_text=["a", "b", "c"]).to_file(
        p("g2_layers.gpkg"), layer="drawings", driver="GPKG")
    add(Case("layout-gpkg", 2, p("g2_layers.gpkg"), n_features=3))
    add(Case("layout-missing-id-col", 2, p("g2_layers.gpkg"), expect="error",
             needle="not found", kwargs={"id_col": "nope"}, cli=["--id-col", "nope"]))

    # ------------------------------------------------------------- 3: personal data
    personal = {
        "Name": ["Jo Bloggs", "Mary Smith", "David Jones"],
        "Your name": ["Jo", "Mary", "Dave"],
        "nhs_number": ["943 476 5919", "401 023 2137", "943 476 5919"],
        "Where do you live?": ["12 High Street", "3 Mill Lane", "40 Park Road"],
        "house_no": ["12", "3", "40"],
        "age": [34, 71, 15],
        "gender": ["F", "M", "F"],
        "ethnicity": ["White British", "Pakistani", "Indian"],
        "disability": ["no", "yes", "no"],
        "religion": ["None", "Muslim", "Christian"],
        "date_of_birth": ["1990-01-02", "1953-06-07", "2009-11-12"],
        "sex": ["female", "male", "female"],
        "contact_phone": ["07700 900123", "01924 123456", "07700 900456"],
        "email_address": ["a@b.org", "c@d.org", "e@f.org"],
        "notes": ["I have lived here since my divorce and my son goes to the school"] * 3,
        "ref": [9434765919, 4010232137, 9434765919],  # NHS numbers by content
        "where": ["12 High Street, WF1 2AB", "3 Mill Lane", "40 Park Road"],
        "pc": ["WF1 2AB", "WF2 8QS", "LS1 4AP"],
        "Sexual orientation": ["a", "b", "c"],
        "Date of Birth": ["01/02/1980", "03/04/1975", "05/06/1960"],
    }
    for column, values in personal.items():
        safe = "".join(ch if ch.isalnum() else "_" for ch in column)
        path = p(f"g3_{safe}.geojson")
        gdf(3, nbhd=["Belle Isle", "Eastmoor", "Lupset"], **{column: values}).to_file(
            path, driver="GeoJSON")
        add(Case(f"personal-{safe}", 3, path, n_features=3, forbidden_columns=(column,),
                 kwargs={"name_col": "nbhd"}, cli=["--name-col", "nbhd"]))
    everything = gdf(3, nbhd=["Belle Isle", "Eastmoor", "Lupset"], **personal)
    everything.to_file(p("g3_all.gpkg"), layer="drawings", driver="GPKG")
    add(Case("personal-all-gpkg", 3, p("g3_all.gpkg"), n_features=3,
             forbidden_columns=tuple(personal), kwargs={"name_col": "nbhd"},
             cli=["--name-col", "nbhd"]))
    _csv(p("g3_all.csv"), [{"wkt": shapely.Polygon(square(i)).wkt,
                            **{k: v[i] for k, v in personal.items()}} for i in range(3)])
    add(Case("personal-all-csv", 3, p("g3_all.csv"), n_features=3,
             forbidden_columns=tuple(personal), kwargs={"crs": "EPSG:4326"},
             cli=["--crs", "EPSG:4326"]))

    # ---------------------------------------------------------------- 5: network
    link = {"type": "link", "properties": {"href": listener_url, "type": "proj4"}}
    add(Case("network-crs-link", 5, _write_json(p("g5_link.geojson"),
                                                fc([feature(i) for i in range(3)], crs=link)),
             n_features=3))
    add(Case("network-crs-link-ogcwkt", 5, _write_json(p("g5_link2.geojson"), fc(
        [feature(i) for i in range(2)],
        crs={"type": "link", "properties": {"href": listener_url, "type": "ogcwkt"}})),
        n_features=2))
    add(Case("network-crs-name-url", 5, _write_json(p("g5_name_url.geojson"), fc(
        [feature(i) for i in range(2)],
        crs={"type": "name", "properties": {"name": listener_url}})),
        expect="error", needle="--crs"))
    gz = p("g5_link.geojson.gz")
    gz.write_bytes(gzip.compress(json.dumps(fc([feature(0)], crs=link)).encode()))
    add(Case("network-crs-link-gz", 5, gz, n_features=1))
    add(Case("network-crs-link-zip", 5, _zip(p("g5_link.zip"), {
        "inner/drawings.geojson": json.dumps(fc([feature(0), feature(1)], crs=link)).encode()}),
        n_features=2))
    host = listener_url.rsplit("/", 1)[0]
    gml = (f'''<?xml version="1.0" encoding="utf-8" ?>
<ogr:FeatureCollection xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:schemaLocation="http://ogr.maptools.org/ {host}/schema.xsd"
 xmlns:ogr="http://ogr.maptools.org/" xmlns:gml="http://www.opengis.net/gml"
 xmlns:xlink="http://www.w3.org/1999/xlink">
 <gml:featureMember><ogr:d gml:id="d.0"><ogr:geometryProperty>
  <gml:Polygon srsName="EPSG:27700"><gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>
  430000,420000 430100,420000 430100,420100 430000,420000</gml:coordinates></gml:LinearRing>
  </gml:outerBoundaryIs></gml:Polygon></ogr:geometryProperty>
  <ogr:drawing_id>a</ogr:drawing_id></ogr:d></gml:featureMember>
 <gml:featureMember xlink:href="{host}/remote.gml#x"/>
</ogr:FeatureCollection>''')
    (root / "g5_remote_schema.gml").write_text(gml)
    add(Case("network-gml-remote-schema-and-xlink", 5, root / "g5_remote_schema.gml",
             n_features=1))
    kml = (f'''<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<NetworkLink><name>n</name><Link><href>{host}/remote.kml</href></Link></NetworkLink>
<Placemark><name>A</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
-1.5,53.68 -1.49,53.68 -1.49,53.69 -1.5,53.68</coordinates></LinearRing></outerBoundaryIs>
</Polygon></Placemark></Document></kml>''')
    (root / "g5_network_link.kml").write_text(kml)
    add(Case("network-kml-network-link", 5, root / "g5_network_link.kml", n_features=1))
    add(Case("network-vsicurl-path", 5, root / "http:" / "127.0.0.1:9" / "x.geojson",
             expect="error"))

    # ------------------------------------------------------------ 6: formula text
    formulas = ["=HYPERLINK(\"http://127.0.0.1:9\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab",
                "\rCR", "a\rb", "a,b\"c", "=cmd|' /C calc'!A0"]
    gdf(len(formulas), name=formulas).to_file(p("g6_formulas.geojson"), driver="GeoJSON")
    add(Case("formula-names", 6, p("g6_formulas.geojson"), n_features=len(formulas),
             kwargs={"name_col": "name"}, cli=["--name-col", "name"]))
    gdf(3).assign(drawing_id=["=1+1", "@x", "-y"]).to_file(p("g6_formula_ids.geojson"),
                                                           driver="GeoJSON")
    add(Case("formula-ids", 6, p("g6_formula_ids.geojson"), n_features=3))

    # ------------------------------------------------------------- 7: CLI fixes
    _csv(p("g7_bng.csv"), [{"wkt": shapely.Polygon(
        [(430000 + 200 * i, 420000), (430100 + 200 * i, 420000), (430100 + 200 * i, 420100),
         (430000 + 200 * i, 420000)]).wkt} for i in range(3)])
    add(Case("cli-no-crs", 7, p("g7_bng.csv"), expect="error", needle="--crs EPSG:27700"))
    add(Case("cli-crs-given", 7, p("g7_bng.csv"), n_features=3, kwargs={"crs": "EPSG:27700"},
             cli=["--crs", "EPSG:27700"]))
    swapped = {"type": "FeatureCollection", "features": [feature(i, {
        "type": "Polygon", "coordinates": [[[y, x] for x, y in square(i)]]}) for i in range(3)]}
    _write_json(p("g7_swapped.geojson"), swapped)
    add(Case("cli-swapped", 7, p("g7_swapped.geojson"), expect="error", needle="--swap-xy"))
    add(Case("cli-swap-xy", 7, p("g7_swapped.geojson"), n_features=3,
             kwargs={"swap_xy": True}, cli=["--swap-xy"]))
    mixed = fc([*[feature(i) for i in range(3)],
                feature(9, {"type": "Polygon", "coordinates": [[[100, 10], [101, 10], [101, 11],
                                                                [100, 10]]]})])
    _write_json(p("g7_outside.geojson"), mixed)
    add(Case("cli-outside-raise", 7, p("g7_outside.geojson"), expect="error",
             needle="--outside reject"))
    add(Case("cli-outside-reject", 7, p("g7_outside.geojson"), n_features=4, min_rejected=1,
             kwargs={"outside": "reject"}, cli=["--outside", "reject"]))
    metres = fc([feature(i, {"type": "Polygon", "coordinates": [[[430000 + x * 1e5, 420000 + y
                                                                  * 1e5] for x, y in
                                                                 square(i)]]})
                 for i in range(2)])
    _write_json(p("g7_metres_as_degrees.geojson"), metres)
    add(Case("cli-metres-declared-degrees", 7, p("g7_metres_as_degrees.geojson"),
             expect="error", needle="--override-crs"))
    add(Case("cli-to-crs-geographic", 7, p("g7_bng.csv"), expect="error", needle="projected",
             kwargs={"crs": "EPSG:27700", "to_crs": "EPSG:4326"},
             cli=["--crs", "EPSG:27700", "--to-crs", "EPSG:4326"]))
    add(Case("cli-to-crs-utm", 7, p("g7_swapped.geojson"), n_features=3,
             kwargs={"swap_xy": True, "to_crs": "EPSG:32630"},
             cli=["--swap-xy", "--to-crs", "EPSG:32630"]))
    add(Case("cli-bad-crs", 7, p("g7_bng.csv"), expect="error", needle="--crs",
             kwargs={"crs": "EPSG:999999"}, cli=["--crs", "EPSG:999999"]))

    # ----------------------------------------------------------- 8: mathtext names
    maths = ["$x$", "$\\frac{1}{0}$", "$$", "a $b", "$\\undefined$", "\\$", "$^$"]
    gdf(len(maths), name=maths).to_file(p("g8_maths.geojson"), driver="GeoJSON")
    add(Case("mathtext-names", 8, p("g8_maths.geojson"), n_features=len(maths),
             kwargs={"name_col": "name"}, cli=["--name-col", "name"]))
    gdf(3).assign(drawing_id=["$a$", "$b", "c$"]).to_file(p("g8_math_ids.geojson"),
                                                          driver="GeoJSON")
    add(Case("mathtext-ids", 8, p("g8_math_ids.geojson"), n_features=3))

    # ----------------------------------------------------------- 9: resource guards
    bomb = p("g9_bomb.csv.gz")
    with gzip.open(bomb, "wt") as fh:
        fh.write("wkt\n")
        row = "POINT (1 1)\n" * 1000
        for _ in range(300):  # ~3.6 MB decompressed, a few KB on disk
            fh.write(row)
    add(Case("guard-csv-gz-bomb", 9, bomb, expect="error", needle="--max-bytes",
             kwargs={"crs": "EPSG:27700", "limits_bytes": 1_000_000},
             cli=["--crs", "EPSG:27700", "--max-bytes", "1000000"]))
    add(Case("guard-csv-gz-many-rows", 9, bomb, expect="error", needle="--max-features",
             kwargs={"crs": "EPSG:27700", "limits_features": 10_000},
             cli=["--crs", "EPSG:27700", "--max-features", "10000"]))
    many = fc([feature(i) for i in range(30)])
    _write_json(p("g9_many.geojson"), many)
    add(Case("guard-feature-count", 9, p("g9_many.geojson"), expect="error",
             needle="--max-features 30", kwargs={"limits_features": 10},
             cli=["--max-features", "10"]))
    add(Case("guard-feature-count-raised", 9, p("g9_many.geojson"), n_features=30,
             kwargs={"limits_features": 30}, cli=["--max-features", "30"]))
    dense = shapely.Polygon(np.column_stack([
        LON0 + 0.003 * np.cos(np.linspace(0, 2 * np.pi, 5000)),
        LAT0 + 0.003 * np.sin(np.linspace(0, 2 * np.pi, 5000))]))
    gpd.GeoDataFrame({"drawing_id": ["dense"]}, geometry=[dense], crs=4326).to_file(
        p("g9_dense.geojson"), driver="GeoJSON")
    add(Case("guard-vertices", 9, p("g9_dense.geojson"), expect="error",
             needle="--max-vertices", kwargs={"limits_vertices": 1000},
             cli=["--max-vertices", "1000"]))
    gdf(2, name=["x" * 200_000, "ok"]).to_file(p("g9_long_name.geojson"), driver="GeoJSON")
    add(Case("guard-long-name", 9, p("g9_long_name.geojson"), n_features=2,
             kwargs={"name_col": "name"}, cli=["--name-col", "name"]))
    gdf(2).assign(drawing_id=["y" * 100_000, "b"]).to_file(p("g9_long_id.geojson"),
                                                           driver="GeoJSON")
    add(Case("guard-long-id", 9, p("g9_long_id.geojson"), n_features=2))
    zbomb = p("g9_zipbomb.zip")
    with zipfile.ZipFile(zbomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.geojson", b" " * 5_000_000)
    add(Case("guard-zip-bomb", 9, zbomb, expect="error", needle="--max-bytes",
             kwargs={"limits_bytes": 1_000_000}, cli=["--max-bytes", "1000000"]))
    deep = p("g9_deep.geojson")
    deep.write_text("[" * 100_000 + "]" * 100_000)
    add(Case("guard-deep-json", 9, deep, expect="error", needle="GeoJSON"))

    # ------------------------------------------------------------- 10: small items
    shp = _shapefile(p("g10_shp"), 3)
    files = {f"sub/folder/drawings{ext}": shp.with_suffix(ext).read_bytes()
             for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg") if shp.with_suffix(ext).exists()}
    add(Case("zip-shapefile-in-subfolder", 10, _zip(p("g10_sub.zip"), files), n_features=3))
    two = {**files, **{k.replace("drawings", "other"): v for k, v in files.items()}}
    add(Case("zip-two-shapefiles", 10, _zip(p("g10_two.zip"), two), expect="error",
             needle="FILE.zip:"))
    add(Case("zip-two-shapefiles-chosen", 10, p("g10_two.zip"), n_features=3,
             kwargs={"layer": "other"}))
    add(Case("zip-empty", 10, _zip(p("g10_empty.zip"), {"readme.txt": b"hi"}), expect="error",
             needle="no shapefile"))
    fake_gz = p("g10_fake.csv.gz")
    fake_gz.write_text("wkt\nPOINT (1 1)\n")
    add(Case("csv-gz-not-gzip", 10, fake_gz, expect="error", needle="decompress"))
    _csv(p("g10_srid_one_row.csv"), [
        {"wkt": f"SRID=4326;{shapely.Polygon(square(0)).wkt}"},
        *[{"wkt": shapely.Polygon([(430000 + 200 * i, 420000), (430100 + 200 * i, 420000),
                                   (430100 + 200 * i, 420100), (430000 + 200 * i, 420000)]).wkt}
          for i in range(3)]])
    add(Case("csv-srid-one-row", 10, p("g10_srid_one_row.csv"), n_features=4, min_rejected=1,
             kwargs={"crs": "EPSG:27700"}, cli=["--crs", "EPSG:27700"]))
    _csv(p("g10_srid_all.csv"), [{"wkt": f"SRID=4326;{shapely.Polygon(square(i)).wkt}"}
                                 for i in range(3)])
    add(Case("csv-srid-all-rows", 10, p("g10_srid_all.csv"), n_features=3))
    _csv(p("g10_srid_unknown.csv"), [{"wkt": f"SRID=999999;{shapely.Polygon(square(0)).wkt}"}])
    add(Case("csv-srid-unknown", 10, p("g10_srid_unknown.csv"), expect="error",
             needle="unknown CRS"))
    _write_json(p("g10_unknown_epsg.geojson"), fc(
        [feature(0)], crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}))
    add(Case("geojson-unknown-epsg", 10, p("g10_unknown_epsg.geojson"), expect="error",
             needle="unknown CRS"))
    _write_json(p("g10_bng_urn.geojson"), fc(
        [feature(0, {"type": "Polygon", "coordinates": [[[430000, 420000], [430100, 420000],
                                                          [430100, 420100], [430000, 420000]]]})],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}))
    add(Case("geojson-bng-urn", 10, p("g10_bng_urn.geojson"), n_features=1))
    _write_json(p("g10_nonobject.geojson"), fc([feature(0), 5, "x", None, [1, 2], feature(1),
                                                {"type": "Feature"}, True]))
    add(Case("geojson-non-object-features", 10, p("g10_nonobject.geojson"), n_features=8,
             min_rejected=6))
    shp2 = _shapefile(p("g10_extra_shapes"), 4)
    dbf = bytearray(shp2.with_suffix(".dbf").read_bytes())
    dbf[4:8] = (2).to_bytes(4, "little")
    header = int.from_bytes(dbf[8:10], "little")
    record = int.from_bytes(dbf[10:12], "little")
    shp2.with_suffix(".dbf").write_bytes(bytes(dbf[: header + 2 * record]) + b"\x1a")
    add(Case("shp-beyond-dbf", 10, shp2, n_features=4, min_rejected=2))
    _write_json(p("g10_empty.geojson"), fc([]))
    add(Case("geojson-no-features", 10, p("g10_empty.geojson"), n_features=0,
             note="nothing to report on"))
    add(Case("geojson-all-rejected", 10, _write_json(p("g10_all_points.geojson"), fc(
        [feature(i, {"type": "Point", "coordinates": square(i)[0]}) for i in range(3)])),
        n_features=3, min_rejected=3))
    add(Case("gpkg-layer-with-slash", 10, p("g2_layers.gpkg"), expect="error",
             needle="no layer", kwargs={"layer": "a/b"}))

    # ---------------------------------------------------------------- 0: junk files
    junk: dict[str, bytes] = {
        "empty.geojson": b"",
        "binary.geojson": bytes(range(256)) * 4,
        "html.geojson": b"<html><body>404</body></html>",
        "array.geojson": b"[1, 2, 3]",
        "string.json": b'"hello"',
        "bad-utf8.geojson": b'{"type": "FeatureCollection", "features": [\xff\xfe]}',
        "truncated.geojson": json.dumps(fc([feature(0), feature(1)])).encode()[:-30],
        "empty.gpkg": b"",
        "text.gpkg": b"SQLite format 3\x00 but not really",
        "junk.fgb": b"fgb\x03fgb\x00" + b"\x00" * 20,
        "junk.kml": b"<kml><Document><Placemark><Polygon>",
        "junk.parquet": b"PAR1junkPAR1",
        "junk.shp": b"\x00" * 100,
        "empty.csv": b"",
        "header-only.csv": b"wkt,name\n",
        "no-geometry.csv": b"a,b\n1,2\n",
        "junk.zip": b"PK\x03\x04 not a zip",
        "junk.kmz": b"not a kmz",
        "noext": b"{}",
        "drawings.exe": b"MZ",
    }
    for name, data in junk.items():
        path = p(f"g0_{name}")
        path.write_bytes(data)
        add(Case(f"junk-{name}", 0, path, expect="error"))
    single = p("g0_single_feature.geojson")
    _write_json(single, feature(0))
    add(Case("junk-single-feature-object", 0, single, n_features=1))
    bare = p("g0_bare_geometry.geojson")
    _write_json(bare, poly(0))
    add(Case("junk-bare-geometry", 0, bare, n_features=1))
    bom = p("g0_bom.geojson")
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(fc([feature(0)])).encode())
    add(Case("junk-bom", 0, bom, n_features=1))
    cp = p("g0_cp1252.csv")
    cp.write_bytes(b"wkt,name\n\"" + shapely.Polygon(square(0)).wkt.encode()
                   + "\",Caf\xe9\n".encode("cp1252"))
    add(Case("junk-cp1252-csv", 0, cp, n_features=1, kwargs={"crs": "EPSG:4326"},
             cli=["--crs", "EPSG:4326"]))
    props = p("g0_props_not_object.geojson")
    _write_json(props, fc([{"type": "Feature", "properties": [1, 2], "geometry": poly(0)},
                           {"type": "Feature", "properties": "x", "geometry": poly(1)}]))
    add(Case("junk-properties-not-object", 0, props, n_features=2))
    return cases


def read_kwargs(case: Case) -> dict[str, Any]:
    """``read_drawings`` keyword arguments of a case (limits built from ``limits_*``)."""
    from nbhd_geo.io.guards import DEFAULT_LIMITS
    from nbhd_geo.io.options import CoordOptions

    kw = dict(case.kwargs)
    over = {k.removeprefix("limits_"): kw.pop(k) for k in list(kw) if k.startswith("limits_")}
    mapping = {"bytes": "max_bytes", "features": "max_features", "vertices": "max_vertices"}
    if over:
        kw["limits"] = DEFAULT_LIMITS.with_overrides(**{mapping[k]: v for k, v in over.items()})
    coords = {k: kw.pop(k) for k in ("to_crs", "override_crs", "swap_xy", "outside") if k in kw}
    if coords:
        kw["coords"] = CoordOptions(**coords)
    return kw


CaseBuilder = Callable[[Path], list[Case]]
