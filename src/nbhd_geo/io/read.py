"""Safe reading of statutory layers and resident drawings, accounting for every feature.

Two readers share one pipeline:

* :func:`read_layer` reads a statutory geography (LSOAs, wards, …). Its ids must be
  unique and every feature must survive validation: otherwise a single
  :class:`~nbhd_geo.errors.ValidationError` lists *every* problem (``strict=True``).
* :func:`read_drawings` reads resident-drawn neighbourhoods. It is lenient: faulty
  drawings are repaired or rejected, duplicate ids are made unique, columns that look
  like personal data are dropped, and each decision is recorded in the report.

Both accept a GeoDataFrame or a path to GeoJSON, GeoPackage, Shapefile (also zipped),
KML/KMZ, FlatGeobuf, GeoParquet or CSV (a WKT column or x/y columns); a ``.gz`` suffix
is read transparently. Everything is reprojected to the working CRS
(:data:`nbhd_geo.settings.working_crs`, British National Grid, unless ``to_crs=``).

**Return convention.** Both return a :class:`ReadResult`, a named tuple
``(data, report)``: unpack it (``gdf, report = read_drawings(...)``) or use
``result.data`` and ``result.report``. ``data`` is a GeoDataFrame indexed by the unique
feature id (index name: the id column, or ``"feature_id"`` when ids were created) with a
``geometry`` column in the working CRS; ``report`` is a :class:`ReadReport` with one row
per *input* feature.

Examples
--------
>>> import geopandas as gpd, shapely
>>> gdf = gpd.GeoDataFrame(
...     {"drawing_id": ["a", "a", "b"], "email": ["x@y.org", None, None]},
...     geometry=[shapely.box(430000, 420000, 430100, 420100),
...               shapely.Polygon([(430000, 420000), (430100, 420100),
...                                (430100, 420000), (430000, 420100)]),
...               shapely.Point(430000, 420000)],
...     crs="EPSG:27700")
>>> drawings, report = read_drawings(gdf)
>>> drawings.index.tolist(), drawings.columns.tolist()
(['a', 'a#2'], ['geometry'])
>>> report.n_input, report.n_kept, report.n_repaired, report.n_rejected
(3, 1, 1, 1)
>>> report.rows.loc[2, "reason"]
'not a polygon: Point'
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from nbhd_geo import settings
from nbhd_geo.errors import ColumnError, CRSError, InputError, ValidationError, format_ids
from nbhd_geo.io import crs as _crs
from nbhd_geo.io.guards import (
    DEFAULT_LIMITS,
    Limits,
    clean_geojson,
    no_network,
    read_bytes_bounded,
    zip_members_size,
)
from nbhd_geo.io.privacy import personal_column_reasons
from nbhd_geo.io.validate import validate_points, validate_polygons

__all__ = ["read_layer", "read_drawings", "ReadReport", "ReadResult", "SUPPORTED_SUFFIXES"]

PathLike = str | Path
Outside = Literal["raise", "reject"]

_OGR_FORMATS = {
    ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
    ".shp": "Shapefile", ".zip": "zipped Shapefile", ".kml": "KML", ".kmz": "KMZ",
    ".fgb": "FlatGeobuf", ".gml": "GML",
}
_OTHER_FORMATS = {".csv": "CSV", ".tsv": "TSV", ".parquet": "GeoParquet",
                  ".geoparquet": "GeoParquet"}
_SINGLE_LAYER = (".geojson", ".json", ".shp", ".fgb")
SUPPORTED_SUFFIXES = tuple(_OGR_FORMATS) + tuple(_OTHER_FORMATS)

_ID_CANDIDATES = ("id", "drawing_id", "drawingid", "feature_id", "fid", "objectid",
                  "ogc_fid", "gid", "uid", "uuid", "shape_id", "shapeid")
_ONS_CODE = re.compile(r"^[a-z]{2,12}(\d{2})?_?(cd|code)$", re.IGNORECASE)
_WKT_CANDIDATES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom", "shape")
_X_CANDIDATES = ("lon", "lng", "long", "longitude", "x", "easting", "east")
_Y_CANDIDATES = ("lat", "latitude", "y", "northing", "north")
_KML_STYLING = ("timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                "visibility", "drawOrder", "icon", "snippet", "styleUrl")
_EWKT = re.compile(r"^\s*SRID=(\d+);", re.IGNORECASE)


# ----------------------------------------------------------------------------- results


@dataclass
class ReadReport:
    """What happened to every input feature of one read.

    Attributes
    ----------
    source
        The file read (or ``"<GeoDataFrame>"``), with the layer if one was chosen.
    n_input, n_kept, n_repaired, n_rejected
        Feature counts; ``n_kept + n_repaired + n_rejected == n_input`` always.
    rows
        One row per input feature, in input order: ``feature_id``, ``input_row``
        (0-based position in the source), ``status`` (``kept``, ``repaired``,
        ``rejected``), ``reason`` (``""`` when nothing to say; several reasons are
        joined by ``"; "``), ``area_in_m2`` and ``area_out_m2`` (in the working CRS).
    dropped_columns
        Columns dropped as personal data, with the reason for each.
    crs_in
        The source CRS (``"EPSG:4326"``, …), or the ``crs=`` assumed when it had none.
    crs_out
        The working CRS of the returned data.
    id_col
        Where ids came from: a column name, or ``None`` when ``row_<n>`` ids were made.
    notes
        File-level notes (ids created, CRS assumed, coordinates swapped, …).
    """

    source: str
    n_input: int
    n_kept: int
    n_repaired: int
    n_rejected: int
    rows: pd.DataFrame
    dropped_columns: dict[str, str] = field(default_factory=dict)
    crs_in: str | None = None
    crs_out: str | None = None
    id_col: str | None = None
    notes: list[str] = field(default_factory=list)

    def check(self) -> ReadReport:
        """Check that every input feature is accounted for exactly once; return self.

        Raises
        ------
        AssertionError
            If the counts do not add up, or a feature id or input row repeats.
        """
        counts = self.rows["status"].value_counts()
        problems = []
        if self.n_kept + self.n_repaired + self.n_rejected != self.n_input:
            problems.append("kept + repaired + rejected != input")
        if len(self.rows) != self.n_input:
            problems.append(f"{len(self.rows)} report rows for {self.n_input} input features")
        for status in ("kept", "repaired", "rejected"):
            if counts.get(status, 0) != getattr(self, f"n_{status}"):
                problems.append(f"n_{status} disagrees with rows")
        if not set(counts.index) <= {"kept", "repaired", "rejected"}:
            problems.append(f"unknown statuses {sorted(set(counts.index))}")
        if self.rows["feature_id"].duplicated().any():
            problems.append("duplicate feature ids in report")
        if self.rows["input_row"].duplicated().any():
            problems.append("duplicate input rows in report")
        if problems:
            raise AssertionError(f"{self.source}: report does not add up: {'; '.join(problems)}")
        return self

    def to_frame(self) -> pd.DataFrame:
        """Return the per-feature rows (a copy) with the source as an extra first column."""
        frame = self.rows.copy()
        frame.insert(0, "source", self.source)
        return frame

    def lines(self) -> list[str]:
        """One line per feature with something to say: ``"<status> <id>: <reason>"``."""
        said = self.rows[self.rows["reason"] != ""]
        return [f"{s} {i}: {r}" for i, s, r in zip(said["feature_id"], said["status"],
                                                     said["reason"], strict=True)]

    def summary(self, max_lines: int | None = 50) -> str:
        """Human-readable account of the read.

        Parameters
        ----------
        max_lines
            At most this many per-feature lines (``None``: all of them).
        """
        head = [
            f"{self.source}: {self.n_input} features read: {self.n_kept} kept, "
            f"{self.n_repaired} repaired, {self.n_rejected} rejected.",
            f"CRS {self.crs_in} → {self.crs_out}.",
        ]
        head += self.notes
        said = self.rows.loc[self.rows["reason"] != "", ["status", "reason"]]
        said = said.assign(reason=said["reason"].str.split("; ")).explode("reason")
        key = (said["status"] + ": " + said["reason"]
               .str.replace(r" at \(.*$", "", regex=True)
               .str.replace(r"'[^']*'", "<id>", regex=True))
        tally = key.value_counts()
        if len(tally):
            head.append("counts: " + "; ".join(f"{k} ×{c}" for k, c in tally.items()))
        if self.dropped_columns:
            head.append("dropped personal columns: " + ", ".join(
                f"{c} ({r})" for c, r in self.dropped_columns.items()))
        lines = self.lines()
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[:max_lines] + [f"… and {len(lines) - max_lines} more"]
        return "\n".join(head + lines)

    def __str__(self) -> str:
        return self.summary()


class ReadResult(NamedTuple):
    """``(data, report)``: the cleaned GeoDataFrame and its :class:`ReadReport`."""

    data: gpd.GeoDataFrame
    report: ReadReport


# ----------------------------------------------------------------------------- reading


@dataclass
class _Raw:
    frame: gpd.GeoDataFrame
    source: str
    row_problems: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    crs_from_file: str | None = None


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


def _arrow_frame(target: Any, layer: str | None,
                 max_features: int | None = None) -> tuple[gpd.GeoDataFrame, dict[int, str]]:
    kwargs: dict[str, Any] = {"layer": layer}
    if max_features is not None:
        kwargs["max_features"] = max_features
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
              limits: Limits = DEFAULT_LIMITS) -> tuple[gpd.GeoDataFrame, dict[int, str]]:
    """Read one layer; per-feature failures become ``{row: reason}``, never a crash."""
    no_network()
    expected = -1
    try:
        expected = int(pyogrio.read_info(target, layer=layer).get("features", -1))
    except Exception:  # noqa: BLE001 - the read below says what is wrong
        pass
    if expected > 0:
        limits.check_features(expected, label)
    try:
        try:
            return _arrow_frame(target, layer)
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
                _arrow_frame(target, layer, max_features=mid)
                lo = mid
            except Exception:  # noqa: BLE001
                hi = mid - 1
        if lo:
            frame, problems = _arrow_frame(target, layer, max_features=lo)
        else:
            frame, problems = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], dtype="geometry")), {}
        frame = frame.reindex(pd.RangeIndex(expected))
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=frame.crs)
        for i in range(lo, expected):
            problems[i] = f"feature unreadable: {fmt} file truncated or corrupt " \
                          f"from feature {lo} on"
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


def _read_kml(target: str, layer: str | None, label: str, fmt: str,
              limits: Limits) -> tuple[gpd.GeoDataFrame, list[str], dict[int, str]]:
    layers = _list_layers(target, label, fmt)
    names = [str(n) for n in layers[:, 0]]
    notes: list[str] = []
    if layer is not None:
        names = [str(_choose_layer(target, layer, label, fmt, layers))]
    if not names:
        raise InputError(f"{fmt} file contains no placemarks", argument=label,
                         fix="export the map again with its drawn shapes")
    read = [_ogr_read(target, name, label, fmt, limits) for name in names]
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
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                             crs=frames[0].crs)
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


def _read_csv(path: Path, gz: bool, label: str, geometry_col: str | None, x_col: str | None,
              y_col: str | None, sep: str, id_col: str | None,
              limits: Limits = DEFAULT_LIMITS) -> _Raw:
    notes: list[str] = []
    # Count rows before pandas builds them (a small .csv.gz can hold millions): the
    # decompression stops at the first row beyond the limit (+1 for the header).
    data = read_bytes_bounded(path, gz, label, limits,
                              max_lines=None if limits.max_features is None
                              else limits.max_features + 1)
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
    columns = list(df.columns)
    for arg, col in (("geometry_col", geometry_col), ("x_col", x_col), ("y_col", y_col)):
        if col is not None and col not in df.columns:
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
                argument=label, fix="pass geometry_col= (a WKT column) or x_col= and y_col=",
            )
    problems: dict[int, str] = {}
    srid = None
    if geometry_col is not None:
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
        attrs = df.drop(columns=[geometry_col])
    else:
        x = pd.to_numeric(df[x_col], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(df[y_col], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        geoms = np.full(len(df), None, dtype=object)
        geoms[ok] = shapely.points(x[ok], y[ok])
        given = df[x_col].notna().to_numpy() | df[y_col].notna().to_numpy()
        for i in np.flatnonzero(~ok & given):
            problems[int(i)] = f"unreadable coordinates in columns {x_col!r}/{y_col!r}"
        notes.append(f"points from coordinate columns {x_col!r} (x) and {y_col!r} (y)")
        attrs = df.drop(columns=[x_col, y_col])
    frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, index=attrs.index), crs=srid)
    return _Raw(frame, Path(path).name, problems, notes)


def _read_path(src: PathLike, layer: str | None, label: str, geometry_col: str | None,
               x_col: str | None, y_col: str | None, id_col: str | None,
               limits: Limits = DEFAULT_LIMITS) -> _Raw:
    path = Path(src).expanduser()
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
        return _read_parquet(path, label, source, limits)
    target = str(path.resolve())
    notes: list[str] = []
    problems: dict[int, str] = {}
    if suffix in (".geojson", ".json"):
        # Parsed here first: GDAL never sees a linked CRS, and skipped entries are counted.
        data = read_bytes_bounded(path, gz, label, limits)
        clean, notes, problems = clean_geojson(data, label, limits)
        frame, more = _ogr_read(clean, None, label, fmt, limits)
        problems = {**more, **problems}
        return _Raw(frame, source, problems, notes)
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
        dbf = path.with_suffix(".dbf")
        if not dbf.exists():
            dbf = path.with_suffix(".DBF")
        if dbf.exists():
            shp_bytes = (path.read_bytes(), dbf.read_bytes())
    if suffix == ".zip":
        shps = [m for m in members if m.lower().endswith(".shp")
                and not Path(m).name.startswith("._")]
        inner = [m for m in members if Path(m).suffix.lower() in (".gpkg", ".geojson", ".kml",
                                                                   ".json", ".fgb")
                 and not Path(m).name.startswith("._")]
        if not shps and len(inner) == 1:
            fmt = f"zipped {_OGR_FORMATS[Path(inner[0]).suffix.lower()]}"
            if Path(inner[0]).suffix.lower() in (".geojson", ".json"):
                data = read_bytes_bounded(path, False, label, limits, member=inner[0])
                clean, notes, problems = clean_geojson(data, label, limits)
                frame, more = _ogr_read(clean, None, label, fmt, limits)
                return _Raw(frame, source, {**more, **problems}, notes)
            target = f"/vsizip/{target}/{inner[0]}"
        elif not shps:
            raise InputError(f"zip file contains no shapefile (members: "
                             f"{format_ids(members, 20)})", argument=label,
                             fix="zip the .shp with its .shx, .dbf and .prj files")
        else:
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
            shp = shps[0]
            # A shapefile in a sub-folder of the zip is opened where it is.
            target = f"/vsizip/{target}/{shp}"
            layer = None
            dbf_name = next((m for m in members if m.lower() == shp[:-4].lower() + ".dbf"), None)
            if dbf_name is not None:
                shp_bytes = (read_bytes_bounded(path, False, label, limits, member=shp),
                             read_bytes_bounded(path, False, label, limits, member=dbf_name))
            suffix = ".shp"
    if suffix in (".kml", ".kmz"):
        frame, notes, problems = _read_kml(target, layer, label, fmt, limits)
    elif suffix in _SINGLE_LAYER and layer is None:
        frame, problems = _ogr_read(target, None, label, fmt, limits)
    else:
        layers = _list_layers(target, label, fmt)
        chosen = _choose_layer(target, layer, label, fmt, layers)
        frame, problems = _ogr_read(target, chosen, label, fmt, limits)
        if len(layers) > 1:
            source = f"{source} (layer {chosen!r})"
    if shp_bytes is not None:
        frame, problems, more_notes = _shapes_beyond_dbf(frame, problems, *shp_bytes)
        notes += more_notes
    return _Raw(frame, source, problems, notes=notes)


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


def _read_parquet(path: Path, label: str, source: str, limits: Limits) -> _Raw:
    """GeoParquet with WKB geometries, parsed one blob at a time where one is bad."""
    import json

    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        limits.check_features(pf.metadata.num_rows, label)
        meta = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}"))
        table = pf.read()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - arrow errors on hostile files
        raise InputError(f"cannot be read as GeoParquet ({_short(exc)})", argument=label,
                         fix="check the file is GeoParquet (parquet with geo metadata)"
                         ) from None
    column = meta.get("primary_column")
    info = (meta.get("columns") or {}).get(column, {}) if column else {}
    if not column or column not in table.column_names:
        raise InputError("has no GeoParquet geometry metadata", argument=label,
                         fix="write it with geopandas .to_parquet() or GDAL")
    if str(info.get("encoding", "WKB")).upper() != "WKB":
        frame = gpd.read_parquet(path)
        return _Raw(frame, source)
    wkb = table.column(column).to_pylist()
    attrs = table.drop([column]).to_pandas()
    geoms, problems = _parse_wkb(wkb)
    crs: Any = info.get("crs", "OGC:CRS84")
    if isinstance(crs, dict):
        from pyproj import CRS

        crs = CRS.from_json_dict(crs)
    frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, index=attrs.index), crs=crs)
    return _Raw(frame, source, problems)


def _read_any(src: Any, layer: str | None, label: str | None, geometry_col: str | None,
              x_col: str | None, y_col: str | None, id_col: str | None,
              limits: Limits = DEFAULT_LIMITS) -> _Raw:
    if isinstance(src, gpd.GeoDataFrame):
        active = src.active_geometry_name
        if active is None or active not in src.columns:
            raise InputError("GeoDataFrame has no active geometry column", argument=label or "src",
                             fix="call .set_geometry(<column>) first")
        return _Raw(src.copy(), label or "<GeoDataFrame>")
    if isinstance(src, str | Path):
        return _read_path(src, layer, f"src ({label or Path(src).name})", geometry_col, x_col,
                          y_col, id_col, limits)
    raise InputError(
        f"cannot read an object of type {type(src).__name__}", argument=label or "src",
        fix="pass a GeoDataFrame or the path of a GeoJSON, GeoPackage, Shapefile, KML or CSV file",
    )


# ----------------------------------------------------------------------------- pipeline


def _resolve_ids(frame: pd.DataFrame, id_col: str | None, kind: str,
                 label: str, points: bool = False) -> tuple[np.ndarray, str | None, str]:
    """Raw ids (object array, may hold None), the id column used, and a note."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if id_col is not None:
        if id_col not in frame.columns:
            raise ColumnError(f"column {id_col!r} not found; columns are "
                              f"{format_ids(columns, 50)}", argument="id_col",
                              fix="pass one of the listed columns, or id_col=None to "
                                  "auto-detect or create ids")
        values = frame[id_col]
        return _id_values(values), id_col, f"ids from column {id_col!r}"
    candidates = [c for c in columns if frame[c].notna().all()]
    found = _find_column(candidates, _ID_CANDIDATES)
    if found is None and kind == "layer":
        codes = [c for c in candidates if _ONS_CODE.match(str(c))
                 and str(c).lower() not in ("postcode", "pcd")]
        # A polygon layer's lone code column is its id (duplicates are then reported);
        # points (address points carrying their OA's code, repeated) need unique codes.
        unique = [c for c in codes if frame[c].is_unique]
        if len(unique) == 1:
            found = unique[0]
        elif len(codes) == 1 and not points:
            found = codes[0]
    if found is not None:
        return _id_values(frame[found]), found, f"ids from column {found!r} (auto-detected)"
    ids = np.array([f"row_{i}" for i in range(len(frame))], dtype=object)
    return ids, None, "no id column found: ids row_<n> created from the input row (0-based)"


def _id_values(values: pd.Series) -> np.ndarray:
    """Ids as an array; integral floats (ids read with gaps) become ints; missing → None."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.floor(whole)).all():
            values = values.astype("Int64")
    out = values.to_numpy(dtype=object, copy=True)
    out[pd.isna(values).to_numpy()] = None
    return out


def _append(reasons: np.ndarray, where: np.ndarray, text: Any) -> None:
    """Append ``text`` (a string or an array aligned with ``where``) to ``reasons[where]``."""
    current = reasons[where]
    reasons[where] = np.where(current == "", text, current + "; " + text)


def _dedupe(ids: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Make ids unique as ``x``, ``x#2``, ``x#3``; return new ids and a reason per row."""
    new = ids.copy()
    reasons: dict[int, str] = {}
    dup = pd.Series(ids).duplicated().to_numpy()
    if not dup.any():
        return new, reasons
    taken = set(ids.tolist())
    for i in np.flatnonzero(dup):
        k = 2
        while f"{ids[i]}#{k}" in taken:
            k += 1
        new[i] = f"{ids[i]}#{k}"
        taken.add(new[i])
        reasons[int(i)] = f"duplicate id {ids[i]!r} renamed {new[i]!r}"
    return new, reasons


_RESERVED_DRAWING_COLUMNS = ("drawing_id", "feature_id", "source", "fid", "ogc_fid")


def _safe_columns(attrs: pd.DataFrame, *, kind: str, index_name: str,
                  name_col: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Rename attribute columns that would clash when written or combined.

    GeoPackage column names are case-insensitive and ``fid`` is its own key; a combined
    drawings layer adds ``drawing_id``, ``source`` and ``neighbourhood`` columns. An
    attribute already called so is kept under a ``_original`` name.
    """
    reserved = {index_name.lower(), "fid", "ogc_fid", "geometry", "geom"}
    if kind == "drawings":
        reserved |= set(_RESERVED_DRAWING_COLUMNS)
        if name_col is not None and name_col.lower() != "neighbourhood":
            reserved.add("neighbourhood")
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    # The name column keeps its name: it is claimed first.
    order = sorted(attrs.columns, key=lambda c: c != name_col)
    for col in order:
        low = str(col).lower()
        if col != name_col and (low in reserved or low in taken):
            k, new = 1, f"{col}_original"
            while new.lower() in taken or new.lower() in reserved or new in attrs.columns:
                k += 1
                new = f"{col}_original{k}"
            mapping[col] = new
            low = new.lower()
        taken.add(low)
    if not mapping:
        return attrs, []
    note = "columns renamed to avoid a clash: " + ", ".join(
        f"{a!r} → {b!r}" for a, b in mapping.items())
    return attrs.rename(columns=mapping), [note]


def _prepare(
    raw: _Raw,
    *,
    kind: Literal["layer", "drawings"],
    label: str,
    id_col: str | None,
    name_col: str | None,
    crs: Any,
    override_crs: bool,
    to_crs: Any,
    swap_xy: bool,
    outside: Outside,
    repair: bool,
    min_area_m2: float | None,
    strict: bool,
    geom_type: Literal["polygon", "point"],
    keep_columns: Sequence[str] | None,
    keep_personal: bool,
    limits: Limits = DEFAULT_LIMITS,
) -> ReadResult:
    frame = raw.frame
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns={c: str(c) for c in frame.columns if not isinstance(c, str)})
    if frame.geometry.name != "geometry":
        if "geometry" in frame.columns:
            frame = frame.drop(columns="geometry")
        frame = frame.rename_geometry("geometry")
    n = len(frame)
    limits.check_features(n, label)
    notes = list(raw.notes)
    problems: list[str] = []  # layer problems, raised together
    reasons = np.full(n, "", dtype=object)
    reject: dict[int, str] = dict(raw.row_problems)

    if outside not in ("raise", "reject"):
        raise InputError(f"must be 'raise' or 'reject', not {outside!r}", argument="outside")

    # --- ids
    raw_ids, used_id_col, id_note = _resolve_ids(frame, id_col, kind, label,
                                                 points=geom_type == "point")
    notes.append(id_note)
    missing_id = pd.isna(raw_ids)
    rows_missing = np.flatnonzero(missing_id)
    fill = np.array([f"row_{i}" for i in rows_missing], dtype=object)
    if kind == "drawings" or not strict:
        raw_ids = pd.Series(raw_ids, dtype=object).astype(str).to_numpy(dtype=object)
        raw_ids[rows_missing] = fill
        _append(reasons, rows_missing, "missing id; assigned '" + fill + "'")
        cap = limits.max_label_length
        if cap is not None:
            long_ids = np.flatnonzero([len(v) > cap for v in raw_ids])
            for k in long_ids:
                raw_ids[k] = raw_ids[k][:cap]
            _append(reasons, long_ids, f"id longer than {cap} characters cut "
                                       f"(--max-label-length)")
        ids, dup_reasons = _dedupe(raw_ids)
        where = np.fromiter(dup_reasons, dtype=int, count=len(dup_reasons))
        _append(reasons, where, np.array(list(dup_reasons.values()), dtype=object))
        if dup_reasons:
            notes.append(f"{len(dup_reasons)} duplicate ids made unique with a '#<n>' suffix")
    else:
        ids = raw_ids.copy()
        ids[rows_missing] = fill
        if len(rows_missing):
            problems.append(f"{len(rows_missing)} features have no id in column "
                            f"{used_id_col!r} (input rows {format_ids(rows_missing)})")
        present = pd.Series(raw_ids[~missing_id])
        dups = present[present.duplicated(keep=False)].unique().tolist()
        if dups:
            problems.append(f"{len(dups)} duplicate ids in column {used_id_col!r}: "
                            f"{format_ids(dups)}")
        if len(rows_missing) or dups:
            ids, _ = _dedupe(ids)  # unique ids for the report only

    # --- name column
    if name_col is not None:
        if name_col not in frame.columns:
            cols = [c for c in frame.columns if c != "geometry"]
            raise ColumnError(f"column {name_col!r} not found; columns are "
                              f"{format_ids(cols, 50)}", argument="name_col",
                              fix="pass one of the listed columns")
        names = frame[name_col]
        unnamed = (names.isna() | names.astype("string").str.strip().eq("")).to_numpy()
        _append(reasons, unnamed, "no neighbourhood name")
        cap = limits.max_label_length
        if cap is not None and kind == "drawings":
            text = names.astype("string")
            long_names = text.str.len().fillna(0).to_numpy() > cap
            if long_names.any():
                frame = frame.copy()
                frame[name_col] = text.where(~long_names, text.str.slice(0, cap)).astype(object)
                _append(reasons, long_names, f"neighbourhood name longer than {cap} "
                                             "characters cut (--max-label-length)")

    # --- CRS
    src_crs = frame.crs
    given = _crs.resolve_crs(crs, "crs") if crs is not None else None
    target = _crs.resolve_crs(settings.working_crs if to_crs is None else to_crs, "to_crs")
    if not target.is_projected:
        raise CRSError(f"working CRS {_crs.crs_label(target)} is not projected (areas would be "
                       "in square degrees)", argument="to_crs",
                       fix='pass a projected CRS in metres, e.g. "EPSG:27700"')
    geoms = np.asarray(frame.geometry.array, dtype=object).copy()
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
        notes.append("Z coordinates dropped")
    limits.check_vertices(int(shapely.get_num_coordinates(geoms).sum()), label)
    bounds = shapely.bounds(geoms)
    if src_crs is None:
        if given is None:
            looks, fix = _crs.suggest_crs(bounds[:, [1, 0, 3, 2]] if swap_xy else bounds)
            raise CRSError(f"has no CRS ({looks})", argument=label, fix=fix)
        src_crs = given
        notes.append(f"no CRS in the source: assumed crs={_crs.crs_label(given)}")
    elif given is not None and not given.equals(src_crs):
        if not override_crs:
            raise CRSError(
                f"declares CRS {_crs.crs_label(src_crs)} but crs={_crs.crs_label(given)} "
                "was given", argument="crs",
                fix="drop crs= to use the declared CRS, or pass override_crs=True if the "
                    "declared CRS is wrong")
        notes.append(f"declared CRS {_crs.crs_label(src_crs)} overridden by crs="
                     f"{_crs.crs_label(given)}")
        src_crs = given
    if swap_xy:
        geoms = shapely.transform(geoms, lambda xy: xy[:, ::-1])
        bounds = shapely.bounds(geoms)
        notes.append("x and y swapped (swap_xy=True)")
    gb = _crs.is_bng(target)

    def flag(mask: np.ndarray, what: str, fix: str) -> None:
        mask = mask & ~np.isin(np.arange(n), list(reject))
        if not mask.any():
            return
        if outside == "reject":
            for i in np.flatnonzero(mask):
                reject[int(i)] = what
            return
        raise CRSError(f"{mask.sum()} of {n} features have {what}", argument=label,
                       ids=ids[mask], fix=fix)

    present = ~np.isnan(bounds).any(axis=1)
    n_present = max(int(present.sum()), 1)
    if src_crs.is_geographic:
        swapped = _crs.looks_swapped_generic(bounds)
        if gb:
            swapped |= _crs.looks_swapped_gb(bounds)
        all_swapped = swapped.sum() == n_present
        flag(swapped, "coordinates that look like latitude/longitude in swapped order",
             ("pass swap_xy=True" if all_swapped and not swap_xy else
              "correct these features' coordinates in the source, or pass outside='reject'"))
        flag(present & ~_crs.in_degree_range(bounds),
             f"coordinates out of range for {_crs.crs_label(src_crs)} (not degrees)",
             'if the coordinates are metres, pass crs="EPSG:27700", override_crs=True; or '
             "pass outside='reject' to reject these features")
    else:
        degrees = present & _crs.in_degree_range(bounds)
        flag(degrees, f"coordinates that look like degrees although the CRS is "
                      f"{_crs.crs_label(src_crs)}",
             'pass crs="EPSG:4326", override_crs=True if the whole file is longitude/latitude')

    # --- reproject
    if not src_crs.equals(target):
        series = gpd.GeoSeries(geoms, crs=src_crs).to_crs(target)
        geoms = np.asarray(series.array, dtype=object)
        projected = shapely.bounds(geoms)
        flag(present & ~np.isfinite(projected).all(axis=1),
             f"coordinates that cannot be projected to {_crs.crs_label(target)}",
             "check the CRS (crs=/to_crs=), or pass outside='reject' to reject these features")
    if gb:
        outside_gb = _crs.outside_bounds(shapely.bounds(geoms), settings.gb_bounds_27700)
        flag(outside_gb, "coordinates outside Great Britain",
             "check the CRS (crs=/to_crs=), or pass outside='reject' to reject these "
             "features; for data outside Great Britain pass to_crs= a local projected CRS")

    # --- validate
    for i in reject:
        geoms[i] = None
    if geom_type == "point":
        geoms_out, checked = validate_points(geoms)
    else:
        geoms_out, checked = validate_polygons(geoms, repair=repair, min_area_m2=min_area_m2)
    status = checked["status"].to_numpy(dtype=object)
    geo_reason = checked["reason"].to_numpy(dtype=object)
    for i, text in reject.items():
        geo_reason[i] = text
    said = geo_reason != ""
    _append(reasons, said, geo_reason[said])
    reason = reasons

    rows = pd.DataFrame({
        "feature_id": ids.tolist(),
        "input_row": np.arange(n),
        "status": status,
        "reason": reason,
        "area_in_m2": checked["area_in_m2"].to_numpy(),
        "area_out_m2": checked["area_out_m2"].to_numpy(),
    })

    if kind == "layer" and strict:
        bad = rows[rows["status"] == "rejected"]
        problems += [f"{fid}: {r}" for fid, r in zip(bad["feature_id"], bad["reason"],
                                                     strict=True)]
        if problems:
            raise ValidationError(
                f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the layer",
                problems=problems, argument=label,
                fix="correct the source layer, pick the right id_col=, or pass strict=False "
                    "to drop rejected features and make ids unique")

    # --- columns
    dropped: dict[str, str] = {}
    attrs = frame.drop(columns=["geometry"] + ([used_id_col] if used_id_col else []))
    if kind == "drawings" and not keep_personal:
        keep = list(keep_columns or [])
        unknown = [c for c in keep if c not in frame.columns]
        if unknown:
            raise ColumnError(f"columns {format_ids(unknown)} not found; columns are "
                              f"{format_ids(list(attrs.columns), 50)}",
                              argument="keep_columns", fix="pass existing column names")
        keep += [name_col] if name_col else []
        dropped = personal_column_reasons(attrs, keep=keep)
        attrs = attrs.drop(columns=list(dropped))
    attrs, renamed = _safe_columns(attrs, kind=kind, index_name=used_id_col or "feature_id",
                                   name_col=name_col)
    notes += renamed

    live = status != "rejected"
    index = pd.Index(ids[live].tolist(), name=used_id_col or "feature_id")
    data = gpd.GeoDataFrame(
        attrs.iloc[np.flatnonzero(live)].set_axis(index, axis=0),
        geometry=gpd.GeoSeries(geoms_out[live], index=index, crs=target),
        crs=target,
    )
    counts = rows["status"].value_counts()
    report = ReadReport(
        source=raw.source,
        n_input=n,
        n_kept=int(counts.get("kept", 0)),
        n_repaired=int(counts.get("repaired", 0)),
        n_rejected=int(counts.get("rejected", 0)),
        rows=rows,
        dropped_columns=dropped,
        crs_in=_crs.crs_label(src_crs),
        crs_out=_crs.crs_label(target),
        id_col=used_id_col,
        notes=notes,
    ).check()
    data.attrs["source"] = raw.source
    return ReadResult(data, report)


# ----------------------------------------------------------------------------- public


def read_layer(
    src: gpd.GeoDataFrame | PathLike,
    *,
    layer: str | None = None,
    id_col: str | None = None,
    crs: Any = None,
    name: str | None = None,
    to_crs: Any = None,
    override_crs: bool = False,
    swap_xy: bool = False,
    outside: Outside = "raise",
    repair: bool = True,
    strict: bool = True,
    geom_type: Literal["polygon", "point"] = "polygon",
    geometry_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    limits: Limits | None = None,
) -> ReadResult:
    """Read a statutory layer (LSOAs, wards, …) into the working CRS, validated.

    Parameters
    ----------
    src
        A GeoDataFrame (not modified) or the path of a GeoJSON, GeoPackage, Shapefile
        (``.shp``, ``.zip``, ``.shp.zip``), KML/KMZ, FlatGeobuf, GeoParquet or CSV file;
        ``.gz`` is read transparently.
    layer
        Layer of a multi-layer file (GeoPackage, zip, KML). A file with several spatial
        layers and no ``layer=`` is an :class:`~nbhd_geo.errors.InputError` listing them.
    id_col
        Column holding the feature codes. If None, a column named like ``id``/``fid``
        or a single ONS code column (``LSOA11CD``, ``WD13CD``, …) is used, else ids
        ``row_<n>`` are created.
    crs
        CRS to assume when the source has none (a CSV, a GeoJSON without CRS). Without
        it such a source is a :class:`~nbhd_geo.errors.CRSError`.
    name
        Label for the source in messages and the report (default: the file name).
    to_crs
        Working CRS (default :data:`nbhd_geo.settings.working_crs`, EPSG:27700). Must be
        projected. The Great Britain bounds check only applies when it is EPSG:27700.
    override_crs
        Let ``crs=`` replace a CRS the source declares (when the declared one is wrong).
    swap_xy
        Swap x and y of every feature (for files written as latitude, longitude).
    outside
        ``"raise"`` (default): coordinates outside Great Britain, in swapped order or
        impossible for the CRS raise a CRSError naming the ids. ``"reject"``: such
        features are rejected and reported instead.
    repair
        Repair invalid polygons with ``shapely.make_valid``; if False they are rejected.
    strict
        Raise one :class:`~nbhd_geo.errors.ValidationError` listing every duplicate or
        missing id and every rejected feature. If False, rejected features are dropped
        and duplicate ids made unique (``x#2``), as for drawings, and reported.
    geom_type
        ``"polygon"`` (default) or ``"point"`` (for point layers such as survey points).
    geometry_col, x_col, y_col
        CSV only: the WKT column, or the x (longitude/easting) and y columns. By default
        ``wkt``/``geometry``/``geom``, then ``lon``/``lng``/``longitude``/``easting``
        and ``lat``/``latitude``/``northing`` are looked for.
    limits
        Resource limits (:class:`nbhd_geo.io.guards.Limits`: decompressed bytes,
        features, vertices, label length); default :data:`~nbhd_geo.io.guards.DEFAULT_LIMITS`.

    Returns
    -------
    ReadResult
        ``(data, report)``: the GeoDataFrame indexed by id (id column moved to the index)
        in the working CRS, and the :class:`ReadReport`.

    Raises
    ------
    InputError
        Missing file, unknown extension, unreadable file, ambiguous layer.
    CRSError
        No CRS and no ``crs=``; coordinates swapped, impossible or outside Great Britain.
    ColumnError
        ``id_col`` (or a CSV column argument) does not exist.
    ValidationError
        ``strict=True`` and ids are duplicated or missing, or features are rejected.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> lsoa = gpd.GeoDataFrame({"LSOA11CD": ["E01000001", "E01000002"]},
    ...     geometry=[shapely.box(-1.50, 53.68, -1.49, 53.69),
    ...               shapely.box(-1.49, 53.68, -1.48, 53.69)], crs="EPSG:4326")
    >>> data, report = read_layer(lsoa)
    >>> data.index.name, data.crs.to_epsg(), report.n_kept
    ('LSOA11CD', 27700, 2)
    >>> from nbhd_geo.errors import ValidationError
    >>> try:
    ...     read_layer(lsoa.assign(LSOA11CD="E01000001"))
    ... except ValidationError as err:
    ...     print(err.problems)
    ["1 duplicate ids in column 'LSOA11CD': 'E01000001'"]
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    raw = _read_any(src, layer, name, geometry_col, x_col, y_col, id_col, limits)
    label = name or (Path(src).name if isinstance(src, str | Path) else "<GeoDataFrame>")
    return _prepare(
        raw, kind="layer", label=label, id_col=id_col, name_col=None, crs=crs,
        override_crs=override_crs, to_crs=to_crs, swap_xy=swap_xy, outside=outside,
        repair=repair, min_area_m2=None, strict=strict, geom_type=geom_type,
        keep_columns=None, keep_personal=True, limits=limits,
    )


def read_drawings(
    src: gpd.GeoDataFrame | PathLike,
    *,
    layer: str | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
    crs: Any = None,
    keep_columns: Iterable[str] | None = None,
    keep_personal: bool = False,
    repair: bool = True,
    min_area_m2: float | None = None,
    to_crs: Any = None,
    override_crs: bool = False,
    swap_xy: bool = False,
    outside: Outside = "raise",
    name: str | None = None,
    geometry_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    limits: Limits | None = None,
    on_report: Callable[[ReadReport], None] | None = None,
) -> ReadResult:
    """Read resident-drawn neighbourhoods: repair, reject, de-duplicate and account for all.

    Every input feature ends up ``kept``, ``repaired`` or ``rejected``, by id, in the
    report. Null, empty, point and line features are rejected; GeometryCollections keep
    their polygonal parts; invalid polygons (bow-ties, …) are repaired with
    ``shapely.make_valid``; rings are oriented counter-clockwise; duplicate ids become
    ``x``, ``x#2``, …; features with an empty ``name_col`` are kept and reported as
    ``"no neighbourhood name"``. Columns that look like personal data (contributor name,
    e-mail, phone, comments, …; see :func:`nbhd_geo.io.privacy.personal_columns`) are dropped.

    Parameters
    ----------
    src
        A GeoDataFrame (not modified) or a path, as for :func:`read_layer`.
    layer
        Layer of a multi-layer file; KML folders are all read and combined when omitted.
    id_col
        Drawing id column. If None, ``id``/``drawing_id``/``fid``/… is used when present
        and complete, else ids ``row_<n>`` (0-based input row) are created. Ids are
        strings.
    name_col
        Neighbourhood-name column: never dropped as personal; empty names are reported.
    crs
        CRS to assume when the source has none.
    keep_columns
        Columns to keep even though they look personal.
    keep_personal
        Keep every column (the report then lists no dropped columns).
    repair
        Repair invalid polygons; if False they are rejected.
    min_area_m2
        Reject drawings smaller than this (square metres), if given.
    to_crs, override_crs, swap_xy, outside, name, geometry_col, x_col, y_col, limits
        As for :func:`read_layer`. For drawings outside Great Britain pass a local
        projected ``to_crs`` (e.g. ``"EPSG:32618"`` for New York).
    on_report
        Called with the :class:`ReadReport` (to collect reports when a caller such as
        :func:`nbhd_geo.report.workflow.read_drawings_many` keeps only the rows).

    Returns
    -------
    ReadResult
        ``(data, report)``: kept and repaired drawings indexed by unique id (index name:
        the id column, or ``"feature_id"``), and the :class:`ReadReport`.

    Raises
    ------
    InputError, CRSError, ColumnError
        As for :func:`read_layer`.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"nbhd": ["Belle Isle", None]},
    ...     geometry=[shapely.box(-1.50, 53.68, -1.49, 53.69, ccw=False),
    ...               shapely.box(-1.49, 53.68, -1.48, 53.69)], crs="EPSG:4326")
    >>> data, report = read_drawings(gdf, name_col="nbhd")
    >>> for line in report.lines():
    ...     print(line)
    kept row_0: clockwise exterior ring reoriented
    kept row_1: no neighbourhood name
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    raw = _read_any(src, layer, name, geometry_col, x_col, y_col, id_col, limits)
    label = name or (Path(src).name if isinstance(src, str | Path) else "<GeoDataFrame>")
    result = _prepare(
        raw, kind="drawings", label=label, id_col=id_col, name_col=name_col, crs=crs,
        override_crs=override_crs, to_crs=to_crs, swap_xy=swap_xy, outside=outside,
        repair=repair, min_area_m2=min_area_m2, strict=False, geom_type="polygon",
        keep_columns=list(keep_columns) if keep_columns is not None else None,
        keep_personal=keep_personal, limits=limits,
    )
    if on_report is not None:
        on_report(result.report)
    return result
