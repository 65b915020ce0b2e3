"""File formats (GDAL/pyogrio, KML, CSV with WKT or x/y, GeoParquet) read to raw features."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from nbhd_geo.errors import ColumnError, CRSError, InputError, format_ids
from nbhd_geo.io import crs as _crs
from nbhd_geo.io.guards import (
    DEFAULT_LIMITS,
    Limits,
    check_gpkg_cost,
    check_parquet_cost,
    clean_geojson,
    no_network,
    read_bytes_bounded,
    zip_members_size,
)

__all__ = ["SUPPORTED_SUFFIXES"]

PathLike = str | Path


_ID_CANDIDATES = ("id", "drawing_id", "drawingid", "feature_id", "fid", "objectid",
                  "ogc_fid", "gid", "uid", "uuid", "shape_id", "shapeid")


_ONS_CODE = re.compile(r"^[a-z]{2,12}(\d{2})?_?(cd|code)$", re.IGNORECASE)


_OGR_FORMATS = {
    ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
    ".shp": "Shapefile", ".zip": "zipped Shapefile", ".kml": "KML", ".kmz": "KMZ",
    ".fgb": "FlatGeobuf", ".gml": "GML",
}


_OTHER_FORMATS = {".csv": "CSV", ".tsv": "TSV", ".parquet": "GeoParquet",
                  ".geoparquet": "GeoParquet"}


_SINGLE_LAYER = (".geojson", ".json", ".shp", ".fgb")


SUPPORTED_SUFFIXES = tuple(_OGR_FORMATS) + tuple(_OTHER_FORMATS)


_WKT_CANDIDATES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom", "shape")


_X_CANDIDATES = ("lon", "lng", "long", "longitude", "x", "easting", "east")


_Y_CANDIDATES = ("lat", "latitude", "y", "northing", "north")


_KML_STYLING = ("timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                "visibility", "drawOrder", "icon", "snippet", "styleUrl")


_EWKT = re.compile(r"^\s*SRID=(\d+);", re.IGNORECASE)


@dataclass
class _Raw:
    frame: gpd.GeoDataFrame
    source: str
    row_problems: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    crs_from_file: str | None = None
    unread: list[str] = field(default_factory=list)  # columns left unread (not wanted)


# Given a file's attribute columns, those to read (None: all of them).
ColumnFilter = Callable[[Sequence[str]], list[str]]


def _wanted(fields: Sequence[str], columns: ColumnFilter | None) -> tuple[list[str] | None,
                                                                          list[str]]:
    """Columns to read (None: all) and those left unread, in file order."""
    if columns is None or len({str(f).lower() for f in fields}) < len(fields):
        # GDAL matches selected names ignoring case: names that differ only in case
        # are all read, and the allowlist drops what is not wanted afterwards.
        return None, []
    keep = set(columns(list(fields)))
    return [f for f in fields if f in keep], [f for f in fields if f not in keep]


def _suffixes(path: Path) -> tuple[str, bool]:
    """(format suffix, gzipped?) for a path such as ``x.geojson.gz`` or ``x.shp.zip``."""
    parts = [s.lower() for s in path.suffixes]
    gz = bool(parts) and parts[-1] == ".gz"
    if gz:
        parts = parts[:-1]
    return (parts[-1] if parts else ""), gz


_WKB_MESSAGES = (
    ("do not form a closed linestring", "ring not closed"),
    ("must contain 0 or >1 elements", "ring with a single point"),
    ("Invalid number of points in LinearRing", "ring with too few points"),
)


def _parse_wkb(wkb: Sequence[Any]) -> tuple[np.ndarray, dict[int, str]]:
    """Geometries from WKB, one at a time where a blob is bad: ``{row: reason}`` for those."""
    blobs = np.empty(len(wkb), dtype=object)
    blobs[:] = [None if b is None else bytes(b) for b in wkb]
    geoms = shapely.from_wkb(blobs, on_invalid="ignore")
    problems: dict[int, str] = {}
    for i in np.flatnonzero(shapely.is_missing(geoms) & pd.notna(blobs)):
        try:
            shapely.from_wkb(blobs[i])
            why = "unreadable geometry"
        except Exception as exc:  # noqa: BLE001 - GEOS says why; every blob gets a reason
            text = str(exc)
            why = next((f"unreadable geometry: {w}" for k, w in _WKB_MESSAGES if k in text),
                       f"unreadable geometry ({text.split(':')[-1].strip()[:80]})")
        problems[int(i)] = why
    return geoms, problems


def _arrow_frame(target: Any, layer: str | None, max_features: int | None = None,
                 columns: list[str] | None = None) -> tuple[gpd.GeoDataFrame, dict[int, str]]:
    kwargs: dict[str, Any] = {"layer": layer}
    if max_features is not None:
        kwargs["max_features"] = max_features
    if columns is not None:
        kwargs["columns"] = columns
    meta, table = pyogrio.read_arrow(target, **kwargs)
    geom_name = meta.get("geometry_name") or "wkb_geometry"
    if geom_name in table.column_names:
        wkb = table.column(geom_name).to_pylist()
        table = table.drop([geom_name])
    else:
        wkb = [None] * table.num_rows
    attrs = table.to_pandas()
    geoms, problems = _parse_wkb(wkb)
    frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, index=attrs.index),
                             crs=meta.get("crs"))
    return frame, problems


def _ogr_read(target: Any, layer: str | None, label: str, fmt: str,
              limits: Limits = DEFAULT_LIMITS,
              columns: ColumnFilter | None = None) -> tuple[gpd.GeoDataFrame, dict[int, str]]:
    """Read one layer; per-feature failures become ``{row: reason}``, never a crash.

    Only the wanted columns are read (``frame.attrs["unread_columns"]`` names the
    others); a GeoPackage's cost is checked in SQL before anything is decoded.
    """
    no_network()
    expected = -1
    fields: list[str] = []
    try:
        info = pyogrio.read_info(target, layer=layer)
        expected = int(info.get("features", -1))
        fields = [str(f) for f in info.get("fields", [])]
    except Exception:  # noqa: BLE001 - the read below says what is wrong
        pass
    if expected > 0:
        limits.check_features(expected, label)
    read_cols, unread = _wanted(fields, columns)
    if isinstance(target, str) and fmt.endswith("GeoPackage") and not target.startswith("/vsi"):
        check_gpkg_cost(Path(target), layer, read_cols, label, limits)
    try:
        try:
            frame, problems = _arrow_frame(target, layer, columns=read_cols)
            frame.attrs["unread_columns"] = unread
            return frame, problems
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
                pyogrio.errors.FieldError):
            raise
        except Exception:
            if expected <= 0:
                raise
        # A feature in the middle cannot be read (truncated or corrupt file): keep every
        # feature before it, and account for the rest as rejected.
        lo, hi = 0, expected
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                _arrow_frame(target, layer, max_features=mid, columns=read_cols)
                lo = mid
            except Exception:  # noqa: BLE001
                hi = mid - 1
        if lo:
            frame, problems = _arrow_frame(target, layer, max_features=lo, columns=read_cols)
        else:
            frame, problems = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], dtype="geometry")), {}
        frame = frame.reindex(pd.RangeIndex(expected))
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=frame.crs)
        for i in range(lo, expected):
            problems[i] = f"feature unreadable: {fmt} file truncated or corrupt " \
                          f"from feature {lo} on"
        frame.attrs["unread_columns"] = unread
        return frame, problems
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(
            f"cannot be read as {fmt} ({_short(exc)})",
            argument=label,
            fix=f"check that the file is a valid {fmt} file (try opening it in QGIS), "
                "or convert it to GeoPackage",
        ) from None
    except Exception as exc:  # noqa: BLE001 - GDAL/arrow errors on hostile files
        raise InputError(
            f"cannot be read as {fmt}: {_short(exc)}", argument=label,
            fix=f"check that the file is a valid {fmt} file (try opening it in QGIS)",
        ) from None


def _short(exc: BaseException) -> str:
    """First line of an exception message, without file paths of temporary folders."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _list_layers(target: str, label: str, fmt: str) -> np.ndarray:
    no_network()
    try:
        return pyogrio.list_layers(target)
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is an unreadable file
        raise InputError(
            f"cannot be read as {fmt} ({_short(exc)})", argument=label,
            fix=f"check that the file is a valid {fmt} file (try opening it in QGIS), "
                "or convert it to GeoPackage",
        ) from None


def _choose_layer(target: str, layer: str | None, label: str, fmt: str,
                  layers: np.ndarray | None = None) -> str | None:
    layers = _list_layers(target, label, fmt) if layers is None else layers
    names = [str(n) for n in layers[:, 0]]
    if layer is not None:
        if layer not in names:
            raise InputError(
                f"has no layer {layer!r}; its layers are {format_ids(names, 50)}",
                argument="layer", fix="pass one of the layer names listed",
            )
        return layer
    spatial = [str(n) for n, g in layers if g is not None and str(g) != "None"]
    if len(names) == 1:
        return names[0]
    if len(spatial) == 1:
        return spatial[0]
    raise InputError(
        f"{label} has {len(names)} layers ({format_ids(names, 50)}) and no layer was chosen",
        argument="layer", fix=f"pass layer= with one of them, e.g. layer={names[0]!r}",
    )


def _read_kml(target: str, layer: str | None, label: str, fmt: str, limits: Limits,
              columns: ColumnFilter | None = None
              ) -> tuple[gpd.GeoDataFrame, list[str], dict[int, str]]:
    layers = _list_layers(target, label, fmt)
    names = [str(n) for n in layers[:, 0]]
    notes: list[str] = []
    if layer is not None:
        names = [str(_choose_layer(target, layer, label, fmt, layers))]
    if not names:
        raise InputError(f"{fmt} file contains no placemarks", argument=label,
                         fix="export the map again with its drawn shapes")
    read = [_ogr_read(target, name, label, fmt, limits, columns) for name in names]
    frames = [f for f, _ in read]
    problems: dict[int, str] = {}
    offset = 0
    for f, probs in read:
        problems.update({offset + k: v for k, v in probs.items()})
        offset += len(f)
    if len(frames) > 1:
        for name, frame in zip(names, frames, strict=True):
            frame.insert(0, "kml_folder", name)
        notes.append(f"KML folders read and combined (column 'kml_folder'): "
                     f"{format_ids(names, 50)}")
    unread = list(dict.fromkeys(c for f in frames for c in f.attrs.get("unread_columns", [])))
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                             crs=frames[0].crs)
    frame.attrs["unread_columns"] = [c for c in unread if c not in _KML_STYLING]
    styling = [c for c in _KML_STYLING if c in frame.columns]
    if "id" in frame.columns and frame["id"].isna().all():
        styling.append("id")
    return frame.drop(columns=styling), notes, problems


def _find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lower = {str(c).lower(): c for c in columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def _parse_csv(data: bytes, label: str, sep: str, id_col: str | None,
               notes: list[str]) -> pd.DataFrame:
    """Parse the text as UTF-8, else Windows-1252 (noted), keeping ids and codes as text."""
    compression = None

    def text_columns(header: Sequence[str]) -> dict[str, type]:
        # Ids and codes stay text: "007" must not become 7.
        return {c: str for c in header if c == id_col or str(c).lower() in _ID_CANDIDATES
                or _ONS_CODE.match(str(c))}

    try:
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                header = pd.read_csv(io.BytesIO(data), sep=sep, compression=compression,
                                     nrows=0, encoding=encoding).columns
                df = pd.read_csv(io.BytesIO(data), sep=sep, compression=compression,
                                 encoding=encoding, dtype=text_columns(header))
                break
            except UnicodeDecodeError:
                if encoding == "cp1252":
                    raise
                notes.append("file is not UTF-8: read as Windows-1252 (cp1252)")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError) as exc:
        raise InputError(f"cannot be read as CSV ({_short(exc)})", argument=label,
                         fix="check the file is comma-separated text with a header row") from None
    return df


def _csv_geometry_columns(columns: list[str], label: str, geometry_col: str | None,
                          x_col: str | None, y_col: str | None
                          ) -> tuple[str | None, str | None, str | None]:
    """Check the named columns; else find a WKT column, or else x and y columns."""
    for arg, col in (("geometry_col", geometry_col), ("x_col", x_col), ("y_col", y_col)):
        if col is not None and col not in columns:
            raise ColumnError(f"column {col!r} not found; columns are {format_ids(columns, 50)}",
                              argument=arg, fix="pass one of the listed columns")
    if x_col is None and y_col is None and geometry_col is None:
        geometry_col = _find_column(columns, _WKT_CANDIDATES)
    if geometry_col is None:
        x_col = x_col or _find_column(columns, _X_CANDIDATES)
        y_col = y_col or _find_column(columns, _Y_CANDIDATES)
        if x_col is None or y_col is None:
            raise InputError(
                f"has no geometry column (looked for a WKT column named "
                f"{'/'.join(_WKT_CANDIDATES)} or coordinate columns such as lon/lat or "
                f"easting/northing); columns are {format_ids(columns, 50)}",
                argument=label, fix="pass csv=CsvColumns(geometry_col=) (a WKT column) or "
                    "csv=CsvColumns(x_col=, y_col=)",
            )
    return geometry_col, x_col, y_col


def _wkt_geometries(df: pd.DataFrame, geometry_col: str, label: str, notes: list[str]
                    ) -> tuple[np.ndarray, dict[int, str], str | None]:
    """Parse a WKT column: geometries, ``{row: reason}`` and the CRS an EWKT SRID gives."""
    problems: dict[int, str] = {}
    srid = None
    text = df[geometry_col].astype("string")
    ewkt = text.str.extract(_EWKT, expand=False)
    srids = ewkt.dropna().unique()
    filled = text.fillna("").str.strip().ne("").to_numpy()
    if len(srids) == 1 and ewkt.notna().to_numpy()[filled].all():
        srid = f"EPSG:{srids[0]}"
        try:
            _crs.resolve_crs(srid, label)
        except CRSError:
            raise CRSError(f"declares an unknown CRS SRID={srids[0]}", argument=label,
                           fix="use --crs EPSG:27700 --override-crs (or the right EPSG "
                               "code)") from None
    elif len(srids):
        # One row's SRID must not set the CRS of the whole file: reject the rows whose
        # SRID is not shared by every row.
        for i in np.flatnonzero(ewkt.notna().to_numpy()):
            problems[int(i)] = (f"EWKT SRID={ewkt.iloc[i]} on some rows only: "
                                "mixed CRS in one file")
        notes.append("EWKT SRID= prefixes not on every row: ignored (rows with one "
                     "rejected)")
    text = text.str.replace(_EWKT, "", regex=True)
    values = text.to_numpy(dtype=object, na_value=None)
    geoms = shapely.from_wkt(values, on_invalid="ignore")
    bad = shapely.is_missing(geoms) & text.fillna("").str.strip().ne("").to_numpy()
    for i in np.flatnonzero(bad):
        if int(i) not in problems:
            problems[int(i)] = f"unreadable WKT in column {geometry_col!r}"
    geoms[list(problems)] = None
    notes.append(f"geometry from WKT column {geometry_col!r}")
    return geoms, problems, srid


def _xy_points(df: pd.DataFrame, x_col: str | None, y_col: str | None, notes: list[str]
               ) -> tuple[np.ndarray, dict[int, str]]:
    """Make points from x and y columns; rows with unreadable coordinates get a reason."""
    problems: dict[int, str] = {}
    x = pd.to_numeric(df[x_col], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(df[y_col], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    geoms = np.full(len(df), None, dtype=object)
    geoms[ok] = shapely.points(x[ok], y[ok])
    given = df[x_col].notna().to_numpy() | df[y_col].notna().to_numpy()
    for i in np.flatnonzero(~ok & given):
        problems[int(i)] = f"unreadable coordinates in columns {x_col!r}/{y_col!r}"
    notes.append(f"points from coordinate columns {x_col!r} (x) and {y_col!r} (y)")
    return geoms, problems


def _read_csv(path: Path, gz: bool, label: str, geometry_col: str | None, x_col: str | None,
              y_col: str | None, sep: str, id_col: str | None,
              limits: Limits = DEFAULT_LIMITS) -> _Raw:
    """Read a CSV whose geometry is a WKT column or x/y columns."""
    notes: list[str] = []
    # Count rows before pandas builds them (a small .csv.gz can hold millions): the
    # decompression stops at the first row beyond the limit (+1 for the header).
    data = read_bytes_bounded(path, gz, label, limits,
                              max_lines=None if limits.max_features is None
                              else limits.max_features + 1)
    df = _parse_csv(data, label, sep, id_col, notes)
    geometry_col, x_col, y_col = _csv_geometry_columns(list(df.columns), label, geometry_col,
                                                       x_col, y_col)
    srid = None
    if geometry_col is not None:
        geoms, problems, srid = _wkt_geometries(df, geometry_col, label, notes)
        attrs = df.drop(columns=[geometry_col])
    else:
        geoms, problems = _xy_points(df, x_col, y_col, notes)
        attrs = df.drop(columns=[x_col, y_col])
    frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, index=attrs.index), crs=srid)
    return _Raw(frame, Path(path).name, problems, notes)


def _check_path(path: Path, label: str) -> None:
    """Fail clearly on a missing path (naming readable files beside it) or a folder."""
    if not path.exists():
        hint = ""
        if path.parent.exists():
            near = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower()
                          in SUPPORTED_SUFFIXES or p.name.lower().endswith(".gz"))[:10]
            hint = f" (files there: {', '.join(near)})" if near else ""
        raise InputError(f"file {str(path)!r} does not exist{hint}", argument=label,
                         fix="check the path (relative paths are from the current directory)")
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder, not a file", argument=label,
                         fix="pass the path of the file inside it (.gpkg, .geojson, .shp, …)")


def _geojson_raw(data: bytes, label: str, fmt: str, limits: Limits,
                 columns: ColumnFilter | None, source: str) -> _Raw:
    """Read GeoJSON text cleaned first: GDAL never sees a linked CRS, skipped entries count."""
    clean, notes, problems = clean_geojson(data, label, limits)
    frame, more = _ogr_read(clean, None, label, fmt, limits, columns)
    return _Raw(frame, source, {**more, **problems}, notes,
                unread=frame.attrs.get("unread_columns", []))


def _shapefile_bytes(path: Path) -> tuple[bytes, bytes] | None:
    """Return a plain shapefile's .shp and .dbf bytes, to count shapes the .dbf lacks."""
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        dbf = path.with_suffix(".DBF")
    if dbf.exists():
        return path.read_bytes(), dbf.read_bytes()
    return None


def _zip_member(members: list[str], layer: str | None, label: str) -> tuple[bool, str]:
    """Choose what to open in a zip: ``(True, shapefile)`` or ``(False, its one data file)``."""
    shps = [m for m in members if m.lower().endswith(".shp")
            and not Path(m).name.startswith("._")]
    inner = [m for m in members if Path(m).suffix.lower() in (".gpkg", ".geojson", ".kml",
                                                               ".json", ".fgb")
             and not Path(m).name.startswith("._")]
    if not shps and len(inner) == 1:
        return False, inner[0]
    if not shps:
        raise InputError(f"zip file contains no shapefile (members: "
                         f"{format_ids(members, 20)})", argument=label,
                         fix="zip the .shp with its .shx, .dbf and .prj files")
    if layer is not None:
        chosen_shp = [m for m in shps if Path(m).stem == layer]
        if not chosen_shp:
            raise InputError(
                f"has no shapefile {layer!r}; it holds "
                f"{format_ids([Path(m).stem for m in shps], 20)}", argument="layer",
                fix="pass one of the names listed (in the CLI: FILE.zip:NAME)")
        shps = chosen_shp
    if len(shps) > 1:
        raise InputError(
            f"zip holds {len(shps)} shapefiles "
            f"({format_ids([Path(m).stem for m in shps], 20)}) and none was chosen",
            argument=label,
            fix=f"choose one: in the CLI FILE.zip:{Path(shps[0]).stem}, in Python "
                f"layer={Path(shps[0]).stem!r}")
    return True, shps[0]


def _zipped_shapefile_bytes(path: Path, shp: str, members: list[str], label: str,
                            limits: Limits) -> tuple[bytes, bytes] | None:
    """Return a zipped shapefile's .shp and .dbf bytes (bounded), when the .dbf is there."""
    dbf_name = next((m for m in members if m.lower() == shp[:-4].lower() + ".dbf"), None)
    if dbf_name is None:
        return None
    return (read_bytes_bounded(path, False, label, limits, member=shp),
            read_bytes_bounded(path, False, label, limits, member=dbf_name))


def _read_target(target: str, layer: str | None, label: str, fmt: str, suffix: str,
                 limits: Limits, columns: ColumnFilter | None, source: str
                 ) -> tuple[gpd.GeoDataFrame, list[str], dict[int, str], str]:
    """Read a GDAL target (KML, single-layer file or chosen layer); name a layer if several."""
    notes: list[str] = []
    if suffix in (".kml", ".kmz"):
        frame, notes, problems = _read_kml(target, layer, label, fmt, limits, columns)
    elif suffix in _SINGLE_LAYER and layer is None:
        frame, problems = _ogr_read(target, None, label, fmt, limits, columns)
    else:
        layers = _list_layers(target, label, fmt)
        chosen = _choose_layer(target, layer, label, fmt, layers)
        frame, problems = _ogr_read(target, chosen, label, fmt, limits, columns)
        if len(layers) > 1:
            source = f"{source} (layer {chosen!r})"
    return frame, notes, problems, source


def _read_path(src: PathLike, layer: str | None, label: str, geometry_col: str | None,
               x_col: str | None, y_col: str | None, id_col: str | None,
               limits: Limits = DEFAULT_LIMITS, columns: ColumnFilter | None = None) -> _Raw:
    """Read a file by its suffix: CSV, GeoParquet, GeoJSON, or through GDAL (zips opened)."""
    path = Path(src).expanduser()
    _check_path(path, label)
    suffix, gz = _suffixes(path)
    supported = ", ".join(SUPPORTED_SUFFIXES) + " (each optionally .gz)"
    if suffix not in _OGR_FORMATS and suffix not in _OTHER_FORMATS:
        raise InputError(f"unknown file type {''.join(path.suffixes) or '(no extension)'!r}",
                         argument=label, fix=f"use one of {supported}")
    fmt = _OGR_FORMATS.get(suffix) or _OTHER_FORMATS[suffix]
    # The file name only: reports are published, and full paths can carry user names.
    source = Path(path).name
    if suffix in (".csv", ".tsv"):
        raw = _read_csv(path, gz, label, geometry_col, x_col, y_col,
                        sep="\t" if suffix == ".tsv" else ",", id_col=id_col, limits=limits)
        return raw
    if suffix in (".parquet", ".geoparquet"):
        if gz:
            raise InputError("cannot read a gzipped GeoParquet", argument=label,
                             fix="decompress it first (gunzip)")
        return _read_parquet(path, label, source, limits, columns)
    target = str(path.resolve())
    if suffix in (".geojson", ".json"):
        return _geojson_raw(read_bytes_bounded(path, gz, label, limits), label, fmt, limits,
                            columns, source)
    if gz:
        if suffix in (".zip", ".gpkg", ".kmz"):
            raise InputError(f"cannot read a gzipped {fmt}", argument=label,
                             fix="decompress it first (gunzip)")
        read_bytes_bounded(path, gz, label, limits, keep=False)  # size and integrity
        target = "/vsigzip/" + target
    elif suffix in (".zip", ".kmz"):
        members = zip_members_size(path, label, limits)
    # Plain files on disk are not bombs: their size is what the user has; only what is
    # decompressed (or parsed in memory, GeoJSON and CSV) is held to max_bytes.
    shp_bytes: tuple[bytes, bytes] | None = None
    if suffix == ".shp" and not gz:
        shp_bytes = _shapefile_bytes(path)
    if suffix == ".zip":
        is_shp, member = _zip_member(members, layer, label)
        if not is_shp:
            fmt = f"zipped {_OGR_FORMATS[Path(member).suffix.lower()]}"
            if Path(member).suffix.lower() in (".geojson", ".json"):
                data = read_bytes_bounded(path, False, label, limits, member=member)
                return _geojson_raw(data, label, fmt, limits, columns, source)
            target = f"/vsizip/{target}/{member}"
        else:
            # A shapefile in a sub-folder of the zip is opened where it is.
            target = f"/vsizip/{target}/{member}"
            layer = None
            shp_bytes = _zipped_shapefile_bytes(path, member, members, label, limits)
            suffix = ".shp"
    frame, notes, problems, source = _read_target(target, layer, label, fmt, suffix, limits,
                                                  columns, source)
    unread = frame.attrs.get("unread_columns", [])
    if shp_bytes is not None:
        frame, problems, more_notes = _shapes_beyond_dbf(frame, problems, *shp_bytes)
        notes += more_notes
    return _Raw(frame, source, problems, notes=notes, unread=unread)


def _shp_record_count(shp: bytes) -> int:
    """Count the shape records of a .shp file, walking its record headers."""
    pos, n = 100, 0
    while pos + 8 <= len(shp):
        length = int.from_bytes(shp[pos + 4:pos + 8], "big") * 2
        if length < 0 or pos + 8 + length > len(shp):
            break
        pos += 8 + length
        n += 1
    return n


def _shapes_beyond_dbf(frame: gpd.GeoDataFrame, problems: dict[int, str], shp: bytes,
                       dbf: bytes) -> tuple[gpd.GeoDataFrame, dict[int, str], list[str]]:
    """Account for .shp shapes that GDAL skipped because the .dbf has fewer records."""
    n_shp = _shp_record_count(shp)
    n_dbf = int.from_bytes(dbf[4:8], "little") if len(dbf) >= 8 else 0
    n = len(frame)
    if n_shp <= n:
        return frame, problems, []
    crs = frame.crs
    frame = gpd.GeoDataFrame(frame.reindex(pd.RangeIndex(n_shp)), geometry="geometry", crs=crs)
    problems = dict(problems)
    for i in range(n, n_shp):
        problems[i] = "shape beyond the .dbf records (no attributes): skipped"
    return frame, problems, [f".shp holds {n_shp} shapes but .dbf only {n_dbf} records: "
                             f"{n_shp - n} shapes rejected"]


_PARQUET_BATCH = 65_536  # rows decoded at a time


def _read_parquet(path: Path, label: str, source: str, limits: Limits,
                  columns: ColumnFilter | None = None) -> _Raw:
    """GeoParquet with WKB geometries, read in bounded batches after a cost check.

    The metadata (row groups, page sizes, dictionary pages) is checked against the
    limits before any geometry is decoded: a small file whose rows share one
    dictionary-encoded polygon is refused at once, not after gigabytes are built.
    """
    import json

    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        limits.check_features(pf.metadata.num_rows, label)
        meta = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}"))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - arrow errors on hostile files
        raise InputError(f"cannot be read as GeoParquet ({_short(exc)})", argument=label,
                         fix="check the file is GeoParquet (parquet with geo metadata)"
                         ) from None
    column = meta.get("primary_column")
    info = (meta.get("columns") or {}).get(column, {}) if column else {}
    names = list(pf.schema_arrow.names)
    if not column or column not in names:
        raise InputError("has no GeoParquet geometry metadata", argument=label,
                         fix="write it with geopandas .to_parquet() or GDAL")
    fields = [n for n in names if n != column]
    read_cols, unread = _wanted(fields, columns)
    wanted = [column, *(fields if read_cols is None else read_cols)]
    try:
        check_parquet_cost(path, wanted, column, label, limits)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - arrow errors on hostile files
        raise InputError(f"cannot be read as GeoParquet ({_short(exc)})", argument=label,
                         fix="check the file is GeoParquet (parquet with geo metadata)"
                         ) from None
    if str(info.get("encoding", "WKB")).upper() != "WKB":
        frame = gpd.read_parquet(path, columns=wanted)
        return _Raw(frame, source, unread=unread)
    parts: list[np.ndarray] = []
    attrs_parts: list[pd.DataFrame] = []
    problems: dict[int, str] = {}
    offset = 0
    try:
        for batch in pf.iter_batches(batch_size=_PARQUET_BATCH, columns=wanted):
            wkb = batch.column(column).to_pylist()
            geoms, probs = _parse_wkb(wkb)
            problems.update({offset + k: v for k, v in probs.items()})
            parts.append(geoms)
            attrs_parts.append(batch.drop_columns([column]).to_pandas())
            offset += batch.num_rows
    except Exception as exc:  # noqa: BLE001 - arrow errors on hostile files
        raise InputError(f"cannot be read as GeoParquet ({_short(exc)})", argument=label,
                         fix="check the file is GeoParquet (parquet with geo metadata)"
                         ) from None
    geoms_all = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    attrs = (pd.concat(attrs_parts, ignore_index=True) if attrs_parts
             else pd.DataFrame(columns=wanted[1:]))
    crs: Any = info.get("crs", "OGC:CRS84")
    if isinstance(crs, dict):
        from pyproj import CRS

        crs = CRS.from_json_dict(crs)
    frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms_all, index=attrs.index),
                             crs=crs)
    return _Raw(frame, source, problems, unread=unread)


def _read_any(src: Any, layer: str | None, label: str | None, geometry_col: str | None,
              x_col: str | None, y_col: str | None, id_col: str | None,
              limits: Limits = DEFAULT_LIMITS, columns: ColumnFilter | None = None) -> _Raw:
    if isinstance(src, gpd.GeoDataFrame):
        active = src.active_geometry_name
        if active is None or active not in src.columns:
            raise InputError("GeoDataFrame has no active geometry column", argument=label or "src",
                             fix="call .set_geometry(<column>) first")
        return _Raw(src.copy(), label or "<GeoDataFrame>")
    if isinstance(src, str) and src.strip().lower().startswith(("postgresql://", "postgres://")):
        from nbhd_geo.io.postgis import read_postgis_raw  # psycopg only when asked for

        return _Raw(*read_postgis_raw(src, layer=layer, label=label, limits=limits))
    if isinstance(src, str | Path):
        return _read_path(src, layer, f"src ({label or Path(src).name})", geometry_col, x_col,
                          y_col, id_col, limits, columns)
    raise InputError(
        f"cannot read an object of type {type(src).__name__}", argument=label or "src",
        fix="pass a GeoDataFrame or the path of a GeoJSON, GeoPackage, Shapefile, KML or CSV file",
    )
