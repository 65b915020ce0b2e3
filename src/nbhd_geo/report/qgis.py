"""Make the report's GeoPackage open ready in QGIS: map layers, styles, aliases, a project.

The HTML map's picture is kept for the GIS team: :func:`qgis_ready` adds to
``layers.gpkg`` the layers the map shows (statutory unit outlines, LSOAs shaded by IMD
decile, proposed footprints rebuilt from ``proposed_footprints.csv``), then writes

* one QML style per layer in the standard ``layer_styles`` table (what QGIS itself
  writes with *Save as default*), in the HTML map's colours and classes: neighbourhoods
  purple ``#6a3d9a`` with a light fill, the main unit layer (wards) in navy ``#243b53``
  lines, LSOAs by the ten IMD decile colours (``#a50026`` most deprived …
  ``#313695`` least), proposed footprints in ColorBrewer Set3;
* field aliases in plain words in ``gpkg_data_columns`` (GeoPackage's schema
  extension, read by GDAL as alternative names) and in each style;
* titles and descriptions in ``gpkg_contents``;
* ``layers.qgs`` beside it: a QGIS project opening every layer styled, in a sensible
  order (neighbourhoods on top, shading at the bottom), with relative paths.

Only standard tables are written with SQLite; the layers themselves are written by GDAL.
"""

from __future__ import annotations

import html
import re
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from nbhd_geo.io.layers import LayerSpec

__all__ = ["qgis_ready", "layer_style", "DECILE_COLOURS", "LayerStyle", "style_for"]

#: The HTML map's IMD decile colours, 1 = most deprived.
DECILE_COLOURS = ("#a50026", "#d73027", "#f46d43", "#fdae61", "#fee090", "#e0f3f8",
                  "#abd9e9", "#74add1", "#4575b4", "#313695")
NEIGHBOURHOOD = "#6a3d9a"
MAIN_UNITS = "#243b53"
OTHER_UNITS = ("#b35806", "#2166ac", "#0b6e4f", "#8c510a")
FINE = "#7b8794"
SET3 = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
        "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")
DRAWN = "#d95f02"
FIT = "#1b9e77"

_ALIASES = {
    "neighbourhood": "Neighbourhood", "label": "Name", "name": "Name",
    "drawing_id": "Drawing id", "source": "Source file", "area_id": "Neighbourhood id",
    "unit": "Unit code", "unit_id": "Unit code", "layer": "Statutory layer",
    "imd_decile": "IMD decile (1 = most deprived 10 %)", "lsoa_code": "LSOA code",
    "plan": "Plan", "footprint": "Footprint", "n_units": "Units in it",
    "population": "People (estimated)", "n_drawings": "Drawings", "share": "Share",
    "code": "Code", "share_of_unit": "Share of the unit inside",
    "n_areas": "Neighbourhoods touching it", "zone": "Consensus zone",
    "agreement": "Share of drawers agreeing",
}


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn: ``kind`` single/decile/categories, colours, title."""

    title: str
    kind: str  # "fill", "outline", "decile", "categories"
    stroke: str
    fill: str | None = None
    fill_alpha: float = 0.0
    width_mm: float = 0.26
    field: str | None = None
    label_field: str | None = None
    dashed: bool = False
    order: int = 50


def style_for(layer: str, main: str | None = None) -> LayerStyle:
    """Return the style of a layer of ``layers.gpkg`` from its name (as the HTML map draws it).

    Examples
    --------
    >>> style_for("areas").stroke, style_for("imd_deciles").kind
    ('#6a3d9a', 'decile')
    >>> style_for("units_ward", main="ward").stroke
    '#243b53'
    """
    if layer == "areas":
        return LayerStyle("Neighbourhoods", "fill", NEIGHBOURHOOD, NEIGHBOURHOOD, 0.12, 0.6,
                          label_field="label", order=0)
    if layer == "drawings":
        return LayerStyle("Resident drawings", "outline", DRAWN, width_mm=0.3, dashed=True,
                          order=10)
    if layer == "consensus_zones":
        return LayerStyle("Consensus zones", "fill", NEIGHBOURHOOD, NEIGHBOURHOOD, 0.25, 0.2,
                          order=12)
    if layer == "imd_deciles":
        return LayerStyle("LSOAs by IMD decile", "decile", FINE, width_mm=0.15,
                          field="imd_decile", fill_alpha=0.45, order=90)
    if layer.startswith("proposed_"):
        return LayerStyle(f"Proposed footprints, {layer[9:].replace('_', ' ')}", "categories",
                          "#1b7837", fill_alpha=0.6, width_mm=0.4, field="footprint",
                          order=80)
    if layer.startswith("units_"):
        name = layer[6:]
        if name == main or (main is None and name.lower() == "ward"):
            return LayerStyle(f"{name.upper()} boundaries", "outline", MAIN_UNITS,
                              width_mm=0.6, order=20)
        fine = name.lower() in ("lsoa", "msoa", "oa", "lsoas")
        colour = FINE if fine else OTHER_UNITS[sum(map(ord, name)) % len(OTHER_UNITS)]
        return LayerStyle(f"{name.upper()} boundaries", "outline", colour,
                          width_mm=0.2 if fine else 0.45, order=70 if fine else 30)
    if layer.startswith("best_fit_"):
        return LayerStyle(f"Best fit from {layer[9:].upper()}s", "outline", FIT, width_mm=0.4,
                          dashed=True, order=40)
    if layer.startswith("split_units_"):
        return LayerStyle(f"{layer[12:].upper()}s split by a neighbourhood", "fill", "#e7298a",
                          "#e7298a", 0.15, 0.3, order=60)
    return LayerStyle(layer.replace("_", " ").capitalize(), "outline", FINE)


def _rgba(colour: str, alpha: float = 1.0) -> str:
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{round(alpha * 255)}"


def _symbol(name: str, stroke: str, fill: str | None, fill_alpha: float, width: float,
            dashed: bool) -> str:
    props = {
        "color": _rgba(fill or stroke, fill_alpha if fill else 0.0),
        "style": "solid" if fill else "no",
        "outline_color": _rgba(stroke), "outline_style": "dash" if dashed else "solid",
        "outline_width": f"{width:g}", "outline_width_unit": "MM", "joinstyle": "round",
    }
    opts = "".join(f'<Option name="{k}" type="QString" value="{v}"/>' for k, v in props.items())
    old = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            f'<Option type="Map">{opts}</Option>{old}</layer></symbol>')


def _renderer(style: LayerStyle, values: Sequence[Any]) -> str:
    if style.kind in ("fill", "outline"):
        fill = style.fill if style.kind == "fill" else None
        sym = _symbol("0", style.stroke, fill, style.fill_alpha, style.width_mm, style.dashed)
        return (f'<renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" '
                f'enableorderby="0"><symbols>{sym}</symbols></renderer-v2>')
    if style.kind == "decile":
        cats = [(d, f"{d}{' (most deprived 10 %)' if d == 1 else ''}"
                    f"{' (least deprived 10 %)' if d == 10 else ''}", DECILE_COLOURS[d - 1])
                for d in range(1, 11)]
    else:
        cats = [(v, str(v), SET3[i % len(SET3)]) for i, v in enumerate(values)]
    cat_xml = "".join(f'<category render="true" symbol="{i}" value="{html.escape(str(v))}" '
                      f'label="{html.escape(lab)}"/>' for i, (v, lab, _) in enumerate(cats))
    syms = "".join(_symbol(str(i), style.stroke, c, style.fill_alpha, style.width_mm, False)
                   for i, (_, _, c) in enumerate(cats))
    return (f'<renderer-v2 type="categorizedSymbol" attr="{html.escape(style.field or "")}" '
            f'forceraster="0" symbollevels="0" enableorderby="0"><categories>{cat_xml}'
            f'</categories><symbols>{syms}</symbols></renderer-v2>')


def alias(column: str) -> str:
    """Return a column's name in plain words.

    Examples
    --------
    >>> alias("imd_decile"), alias("share_of_source")
    ('IMD decile (1 = most deprived 10 %)', 'Share of source')
    """
    return _ALIASES.get(column, column.replace("_", " ").strip().capitalize())


def _labeling(field: str) -> str:
    return ('<labeling type="simple"><settings calloutType="simple">'
            f'<text-style fieldName="{html.escape(field)}" fontSize="9" fontWeight="75" '
            'textColor="35,35,35,255" isExpression="0"><text-buffer bufferDraw="1" '
            'bufferSize="1" bufferColor="255,255,255,255"/></text-style>'
            '<placement placement="1"/></settings></labeling>')


def layer_style(style: LayerStyle, columns: Sequence[str], values: Sequence[Any] = ()) -> str:
    """Return the QML document (QGIS style) for one layer: renderer, labels, field aliases.

    Examples
    --------
    >>> q = layer_style(style_for("imd_deciles"), ["lsoa_code", "imd_decile"])
    >>> q.count("<category "), "#a50026" in q, "165,0,38,115" in q
    (10, False, True)
    """
    aliases = "".join(f'<alias field="{html.escape(c)}" index="{i}" '
                      f'name="{html.escape(alias(c))}"/>' for i, c in enumerate(columns))
    labels = ""
    if style.label_field and style.label_field in columns:
        labels = _labeling(style.label_field) + "<blendMode>0</blendMode>"
    return (f'<qgis version="3.22.16" styleCategories="AllStyleCategories" '
            f'labelsEnabled="{1 if labels else 0}">{_renderer(style, values)}{labels}'
            f"<aliases>{aliases}</aliases><layerGeometryType>2</layerGeometryType></qgis>")


def _write_map_layers(gpkg: Path, out: Path, layers: Sequence[LayerSpec],
                      deciles: pd.Series | None) -> str | None:
    """Add unit outlines, IMD deciles and proposed footprints; return the main layer."""
    existing = set(pyogrio.list_layers(gpkg)[:, 0]) if gpkg.exists() else set()
    extent = None
    if "areas" in existing:
        x0, y0, x1, y1 = pyogrio.read_info(gpkg, layer="areas")["total_bounds"]
        import shapely

        extent = shapely.box(x0 - 2000, y0 - 2000, x1 + 2000, y1 + 2000)
    main = next((s.name for s in layers if s.name.lower() == "ward"),
                next((s.name for s in layers if s.name.lower() not in
                      ("oa", "lsoa", "msoa")), None))
    frames: dict[str, gpd.GeoDataFrame] = {}
    for spec in layers:
        data = spec.data
        if extent is not None:
            data = data.iloc[sorted(data.sindex.query(extent, predicate="intersects"))]
        names = next((c for c in data.columns if re.search(r"(nm|_name|^name)$", str(c),
                                                           re.IGNORECASE)), None)
        codes = data.index.astype(str).to_numpy()
        frame = gpd.GeoDataFrame({"code": codes,
                                  "name": data[names].astype(str).to_numpy() if names else codes},
                                 geometry=list(data.geometry), crs=data.crs)
        frames[f"units_{spec.name.lower()}"] = frame
        if deciles is not None and spec.name.lower().startswith("lsoa"):
            d = deciles.reindex(data.index)
            if d.notna().any():
                frames["imd_deciles"] = gpd.GeoDataFrame(
                    {"lsoa_code": codes, "imd_decile": d.astype("Int64").to_numpy()},
                    geometry=list(data.geometry), crs=data.crs)
    plans = out / "proposed_footprints.csv"
    if plans.exists():
        table = pd.read_csv(plans, dtype=str)
        for spec in layers:
            if table["unit"].isin(spec.data.index.astype(str)).all():
                geo = spec.data.set_axis(spec.data.index.astype(str))
                for plan, rows in table.groupby("plan", sort=False):
                    units = gpd.GeoDataFrame(rows, geometry=list(geo.geometry.reindex(
                        rows["unit"])), crs=geo.crs)
                    fp = units.dissolve("footprint", aggfunc={"unit": "count"})
                    fp = fp.rename(columns={"unit": "n_units"}).reset_index()
                    frames[f"proposed_{re.sub(r'[^a-z0-9_]', '_', str(plan).lower())}"] = fp
                break
    for name, frame in frames.items():
        frame.to_file(gpkg, layer=name, driver="GPKG")
    return main


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
    geom = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                       (table,)).fetchone()
    return [c for c in cols if c != "fid" and (geom is None or c != geom[0])]


_STYLE_TABLE = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
  styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""
_DATA_COLUMNS = """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
  description TEXT, mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name))"""
_CONSTRAINTS = """CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC,
  min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"""


def styles_for(gpkg: Path, main: str | None = None) -> dict[str, tuple[str, str, LayerStyle]]:
    """Layer → (geometry column, QML, style) for every layer of a GeoPackage, drawing order."""
    con = sqlite3.connect(gpkg)
    try:
        rows = con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
        out: dict[str, tuple[str, str, LayerStyle]] = {}
        for table, geom in rows:
            style = style_for(table, main)
            values: list[Any] = []
            if style.kind == "categories" and style.field:
                values = [r[0] for r in con.execute(
                    f'SELECT DISTINCT "{style.field}" FROM "{table}" ORDER BY 1')]
            out[table] = (geom, layer_style(style, _columns(con, table), values), style)
    finally:
        con.close()
    return dict(sorted(out.items(), key=lambda kv: (kv[1][2].order, kv[0])))


def _write_tables(gpkg: Path, styles: Mapping[str, tuple[str, str, LayerStyle]]) -> None:
    con = sqlite3.connect(gpkg)
    try:
        with con:
            for ddl in (_STYLE_TABLE, _DATA_COLUMNS, _CONSTRAINTS):
                con.execute(ddl)
            con.execute("DELETE FROM layer_styles")
            for table, (geom, qml, style) in styles.items():
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, "
                    "description, owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL)",
                    (table, geom, table, qml, "nbhd_geo: the colours of the HTML report"))
                con.execute("UPDATE gpkg_contents SET identifier = ?, description = ? "
                            "WHERE table_name = ?", (style.title, style.title, table))
                con.execute("DELETE FROM gpkg_data_columns WHERE table_name = ?", (table,))
                for col in _columns(con, table):
                    con.execute("INSERT INTO gpkg_data_columns (table_name, column_name, name, "
                                "title, description) VALUES (?, ?, ?, ?, ?)",
                                (table, col, col, alias(col), alias(col)))
            for table in ("layer_styles", "gpkg_data_columns", "gpkg_data_column_constraints"):
                if table == "layer_styles":
                    con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, "
                                "identifier, description, last_change) VALUES (?, 'attributes', "
                                "?, '', strftime('%Y-%m-%dT%H:%M:%fZ','now'))", (table, table))
                    continue
                con.execute("INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, "
                            "extension_name, definition, scope) SELECT ?, NULL, 'gpkg_schema', "
                            "'http://www.geopackage.org/spec121/#extension_schema', "
                            "'read-write' WHERE NOT EXISTS (SELECT 1 FROM gpkg_extensions "
                            "WHERE table_name = ? AND extension_name = 'gpkg_schema')",
                            (table, table))
    finally:
        con.close()


def _project(gpkg: Path, styles: Mapping[str, tuple[str, str, LayerStyle]], title: str) -> str:
    from pyproj import CRS

    crs = CRS.from_epsg(27700)
    srs = (f"<spatialrefsys><wkt>{html.escape(crs.to_wkt())}</wkt>"
           "<proj4>+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 "
           "+y_0=-100000 +ellps=airy +units=m +no_defs</proj4><srsid>2437</srsid>"
           "<srid>27700</srid><authid>EPSG:27700</authid>"
           "<description>OSGB36 / British National Grid</description>"
           "<projectionacronym>tmerc</projectionacronym><ellipsoidacronym>EPSG:7001"
           "</ellipsoidacronym><geographicflag>false</geographicflag></spatialrefsys>")
    tree, maplayers, order = [], [], []
    for table, (_, qml, style) in styles.items():
        lid = f"{table}_{uuid.uuid5(uuid.NAMESPACE_URL, gpkg.name + table).hex[:12]}"
        source = f"./{gpkg.name}|layername={table}"
        # Shown at first: neighbourhoods, the main unit lines and the IMD shading (the
        # HTML map's opening view); the rest are a tick away.
        checked = "Qt::Checked" if style.order in (0, 20, 90) else "Qt::Unchecked"
        tree.append(f'<layer-tree-layer id="{lid}" name="{html.escape(style.title)}" '
                    f'source="{html.escape(source)}" providerKey="ogr" checked="{checked}" '
                    'expanded="0"/>')
        order.append(f'<item>{lid}</item>')
        body = qml.split(">", 1)[1].rsplit("</qgis>", 1)[0]
        maplayers.append(
            f'<maplayer type="vector" geometry="Polygon" wkbType="MultiPolygon" '
            f'labelsEnabled="{1 if "<labeling" in body else 0}" '
            'styleCategories="AllStyleCategories">'
            f"<id>{lid}</id><datasource>{html.escape(source)}</datasource>"
            f"<layername>{html.escape(style.title)}</layername><srs>{srs}</srs>"
            '<provider encoding="UTF-8">ogr</provider>'
            f"{body}</maplayer>")
    return (f'<qgis projectname="{html.escape(title)}" version="3.22.16">'
            f"<title>{html.escape(title)}</title><projectCrs>{srs}</projectCrs>"
            f'<layer-tree-group expanded="1" checked="Qt::Checked" name="">{"".join(tree)}'
            f'<custom-order enabled="0">{"".join(order)}</custom-order></layer-tree-group>'
            f'<projectlayers>{"".join(maplayers)}</projectlayers>'
            '<properties><Paths><Absolute type="bool">false</Absolute></Paths></properties>'
            "</qgis>\n")


def qgis_ready(out: str | Path, layers: Sequence[LayerSpec] = (), *, imd: Any = None,
               title: str = "Neighbourhood overlap report") -> list[Path]:
    """Make ``out/layers.gpkg`` QGIS-ready and write ``out/layers.qgs``; return both paths.

    Parameters
    ----------
    out
        A report's output folder (holding ``layers.gpkg``).
    layers
        The statutory layers reported against (their outlines are added, clipped to 2 km
        around the neighbourhoods).
    imd
        The :class:`~nbhd_geo.deprivation.imd.IMDTable`, for the LSOAs shaded by decile.
    title
        The project's title.
    """
    out = Path(out)
    gpkg = out / "layers.gpkg"
    deciles = None
    if imd is not None:
        deciles = imd.wide("decile")["imd"]
    main = _write_map_layers(gpkg, out, layers, deciles)
    styles = styles_for(gpkg, main)
    _write_tables(gpkg, styles)
    project = out / "layers.qgs"
    project.write_text('<!DOCTYPE qgis PUBLIC "http://mrcc.com/qgis.dtd" "SYSTEM">\n'
                       + _project(gpkg, styles, title), encoding="utf-8")
    return [gpkg, project]
