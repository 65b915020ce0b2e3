"""Guards for reading untrusted files: no network, bounded resources, clean GeoJSON.

Resident uploads are untrusted. Before GDAL sees a file, nbhd_geo:

* turns GDAL's network features off (:func:`no_network`): linked CRS, remote schemas,
  ``/vsicurl/`` and PROJ's grid downloads are never fetched;
* checks sizes against :class:`Limits` (decompressed bytes, features, vertices, label
  length), each overridable (``limits=`` in the library, ``--max-*`` in the CLI);
* parses GeoJSON itself (:func:`clean_geojson`), so features GDAL would skip in silence
  (non-object entries of ``features[]``) are counted, and a ``"crs"`` member that links
  to a URL is removed before GDAL could follow it.

Examples
--------
>>> limits = Limits(max_features=2)
>>> try:
...     limits.check_features(3, "src")
... except Exception as err:
...     print(err.fix)
pass --max-features 3 (max_features=3) if the file is trusted
>>> data, notes, bad = clean_geojson(
...     b'{"type": "FeatureCollection", "crs": {"type": "link", "properties": '
...     b'{"href": "http://127.0.0.1:9/x"}}, "features": [5]}', "src", Limits())
>>> notes[0].startswith("linked CRS"), bad
(True, {0: 'features[0] is not a GeoJSON object (int): skipped'})
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import zipfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nbhd_geo.errors import CRSError, InputError

__all__ = ["Limits", "DEFAULT_LIMITS", "no_network", "read_bytes_bounded", "clean_geojson",
           "zip_members_size", "check_gpkg_cost", "check_parquet_cost"]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one read; every limit can be raised (or ``None``: no limit).

    Attributes
    ----------
    max_bytes
        Largest size, in bytes, of what is decompressed (``.gz``, zip members) or
        parsed in memory (GeoJSON, CSV); default 1 GB. Plain files that GDAL reads
        from disk (GeoPackage, shapefile, FlatGeobuf, GeoParquet) are not limited.
    max_features
        Most features in one file (default 1,000,000).
    max_vertices
        Most vertices over all features of one file (default 50,000,000).
    max_label_length
        Longest id or neighbourhood name, in characters (default 200); longer ones are
        cut to this length and the cut is reported.
    max_attribute_bytes
        Largest total size of the attribute values read from one file (text counted in
        characters), default 256,000,000. Columns not read (drawings read only their
        id, name and kept columns) do not count.

    Notes
    -----
    GeoPackage and GeoParquet are checked before anything is decoded: feature counts,
    geometry sizes and attribute sizes come from SQL (GeoPackage) or the file's
    metadata and dictionary pages (GeoParquet). Vertices are then estimated from the
    size of the geometry blobs (16 bytes per 2-D vertex). Peak memory of an accepted
    read stays within a small multiple of the geometry bytes the limits allow.
    """

    max_bytes: int | None = 1_000_000_000
    max_features: int | None = 1_000_000
    max_vertices: int | None = 50_000_000
    max_label_length: int | None = 200
    max_attribute_bytes: int | None = 256_000_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_features", "max_vertices", "max_label_length",
                     "max_attribute_bytes"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InputError(f"must be a whole number of 1 or more (or None), not "
                                 f"{value!r}", argument=name,
                                 fix=f"pass {name}=<n> with n >= 1, or None for no limit")

    def with_overrides(self, **kw: int | None) -> Limits:
        """Return a copy with the given limits changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    def check_bytes(self, size: int, label: str) -> None:
        """Raise InputError when ``size`` exceeds ``max_bytes``."""
        if self.max_bytes is not None and size > self.max_bytes:
            raise InputError(
                f"is {size:,} bytes once decompressed, more than the limit of "
                f"{self.max_bytes:,}", argument=label,
                fix=f"pass --max-bytes {size} (max_bytes={size}) if the file is trusted")

    def check_features(self, n: int, label: str) -> None:
        """Raise InputError when ``n`` exceeds ``max_features``."""
        if self.max_features is not None and n > self.max_features:
            raise InputError(
                f"has {n:,} features, more than the limit of {self.max_features:,}",
                argument=label,
                fix=f"pass --max-features {n} (max_features={n}) if the file is trusted")

    def check_vertices(self, n: int, label: str, estimated: bool = False) -> None:
        """Raise InputError when ``n`` exceeds ``max_vertices``."""
        if self.max_vertices is not None and n > self.max_vertices:
            about = "about " if estimated else ""
            how = " (estimated from the size of its geometries, before reading them)" \
                if estimated else ""
            raise InputError(
                f"has {about}{n:,} vertices{how}, more than the limit of "
                f"{self.max_vertices:,}", argument=label,
                fix=f"pass --max-vertices {n} (max_vertices={n}) if the file is trusted, "
                    "or simplify the shapes first")

    def check_attribute_bytes(self, n: int, label: str) -> None:
        """Raise InputError when ``n`` exceeds ``max_attribute_bytes``."""
        if self.max_attribute_bytes is not None and n > self.max_attribute_bytes:
            raise InputError(
                f"has {n:,} bytes of attribute values to read, more than the limit of "
                f"{self.max_attribute_bytes:,}", argument=label,
                fix=f"pass --max-attribute-bytes {n} (max_attribute_bytes={n}) if the file "
                    "is trusted, or read fewer columns (drop --keep-column/--keep-personal)")


DEFAULT_LIMITS = Limits()

_NETWORK_OFF = {
    # /vsicurl/ and friends: no remote file is ever opened.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".nbhd-geo-no-network",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    # GML: never download application schemas or resolve remote xlinks.
    "GML_DOWNLOAD_WFS_SCHEMA": "NO",
    "GML_SKIP_RESOLVE_ELEMS": "ALL",
    "GML_USE_SCHEMA_IMPORT": "NO",
    # PROJ: no grid downloads from the CDN.
    "PROJ_NETWORK": "OFF",
    "OSR_DEFAULT_AXIS_MAPPING_STRATEGY": "TRADITIONAL_GIS_ORDER",
}
_network_done = False


def no_network() -> None:
    """Turn off GDAL's and PROJ's network access for this process (idempotent).

    Examples
    --------
    >>> no_network()
    >>> import pyogrio
    >>> pyogrio.get_gdal_config_option("GML_DOWNLOAD_WFS_SCHEMA")
    'NO'
    """
    global _network_done
    if _network_done:
        return
    import pyogrio

    pyogrio.set_gdal_config_options(_NETWORK_OFF)
    try:
        import pyproj.network

        pyproj.network.set_network_enabled(False)
    except (ImportError, AttributeError):  # pragma: no cover - old pyproj
        pass
    _network_done = True


def read_bytes_bounded(path: Path, gz: bool, label: str, limits: Limits,
                       member: str | None = None, keep: bool = True,
                       max_lines: int | None = None) -> bytes:
    """Bytes of ``path`` (gunzipped when ``gz``, or a zip ``member``), within ``max_bytes``.

    Decompression stops as soon as the limit is passed, so a small bomb costs little.
    With ``keep=False`` the data is only measured (and checked to decompress), and
    ``b""`` is returned. With ``max_lines``, reading stops as soon as there are more
    lines than that (rows of a CSV: a feature-count limit that needs no full read).
    """
    cap = limits.max_bytes
    chunk = 1 << 20
    if member is not None:
        opener: Any = zipfile.ZipFile(path).open(member)
    elif gz:
        opener = gzip.open(path, "rb")
    else:
        size = path.stat().st_size
        limits.check_bytes(size, label)
        data = path.read_bytes()
        if max_lines is not None and data.count(b"\n") > max_lines:
            raise InputError(f"has more than {max_lines:,} rows, more than the feature limit",
                             argument=label,
                             fix="pass --max-features with a larger number (max_features=) "
                                 "if the file is trusted")
        return data
    parts: list[bytes] = []
    total = 0
    lines = 0
    try:
        with opener as handle:
            while True:
                block = handle.read(chunk)
                if not block:
                    break
                total += len(block)
                if cap is not None and total > cap:
                    raise InputError(
                        f"decompresses to more than the limit of {cap:,} bytes",
                        argument=label,
                        fix="pass --max-bytes with a larger number (max_bytes=) if the "
                            "file is trusted")
                if max_lines is not None:
                    lines += block.count(b"\n")
                    if lines > max_lines:
                        raise InputError(
                            f"has more than {max_lines:,} rows, more than the feature limit",
                            argument=label,
                            fix="pass --max-features with a larger number (max_features=) "
                                "if the file is trusted")
                if keep:
                    parts.append(block)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot be decompressed ({exc})", argument=label,
                         fix="check the file is really gzip/zip, or decompress it first"
                         ) from None
    return b"".join(parts)


def zip_members_size(path: Path, label: str, limits: Limits) -> list[str]:
    """Member names of a zip whose declared total size is within ``max_bytes``."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"is not a readable zip file ({exc})", argument=label,
                         fix="re-create the zip, or unzip it and pass the .shp") from None
    locked = [i.filename for i in infos if i.flag_bits & 0x1]
    if locked:
        raise InputError(f"is an encrypted (password-protected) zip: {', '.join(locked[:5])}"
                         f"{' …' if len(locked) > 5 else ''}", argument=label,
                         fix="unzip it with its password and pass the files, or zip them "
                             "again without a password")
    limits.check_bytes(sum(i.file_size for i in infos), label)
    return [i.filename for i in infos]


_EPSG_FORMS = (
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.IGNORECASE),
    re.compile(r"^EPSG:(\d+)$", re.IGNORECASE),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/[\d.]+/(\d+)$", re.IGNORECASE),
)
_CRS84 = re.compile(r"^(urn:ogc:def:crs:OGC:[\d.]*:CRS84|https?://www\.opengis\.net/def/crs/"
                    r"OGC/[\d.]+/CRS84|OGC:CRS84)$", re.IGNORECASE)


def _clean_crs(member: Any, label: str, notes: list[str]) -> dict[str, Any] | None:
    """Return a ``crs`` member GDAL may see safely (or None to drop it)."""
    if not isinstance(member, dict):
        notes.append("malformed 'crs' member removed")
        return None
    kind = member.get("type")
    props: dict[str, Any] = (member["properties"] if isinstance(member.get("properties"), dict)
                             else {})
    if kind == "link" or "href" in props:
        notes.append(f"linked CRS ({str(props.get('href', ''))[:80]!r}) removed unread: "
                     "files are never allowed to reach the network")
        return None
    name = str(props.get("name", "")).strip()
    if kind != "name" or not name:
        notes.append("unrecognised 'crs' member removed")
        return None
    if _CRS84.match(name):
        return {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    for form in _EPSG_FORMS:
        match = form.match(name)
        if match:
            code = int(match.group(1))
            from pyproj import CRS
            from pyproj.exceptions import CRSError as PyprojCRSError

            try:
                CRS.from_epsg(code)
            except PyprojCRSError:
                raise CRSError(f"declares an unknown CRS {name!r}", argument=label,
                               fix="use --crs EPSG:27700 --override-crs (or the right EPSG "
                                   "code) to say which CRS the coordinates are in") from None
            return {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}}
    raise CRSError(f"declares a CRS nbhd_geo does not read ({name[:80]!r})", argument=label,
                   fix="use --crs EPSG:4326 --override-crs (or the right EPSG code)")


def clean_geojson(data: bytes, label: str, limits: Limits) -> tuple[bytes, list[str],
                                                                     dict[int, str]]:
    """Parse GeoJSON, drop what GDAL must not see, count what GDAL would skip.

    Returns
    -------
    (bytes, notes, skipped)
        Re-serialised GeoJSON holding every ``features[]`` entry that is an object (a
        non-object entry is replaced by a feature without geometry so row numbers stay
        aligned), file-level notes, and ``{input_row: reason}`` for the replaced entries.
    """
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"cannot be read as GeoJSON ({str(exc)[:120]})", argument=label,
                         fix="check that the file is valid GeoJSON (try opening it in QGIS)"
                         ) from None
    notes: list[str] = []
    skipped: dict[int, str] = {}
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    elif isinstance(doc, dict) and doc.get("type") in (
            "Polygon", "MultiPolygon", "Point", "LineString", "MultiPoint", "MultiLineString",
            "GeometryCollection"):
        doc = {"type": "FeatureCollection",
               "features": [{"type": "Feature", "properties": {}, "geometry": doc}]}
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise InputError("is JSON but not a GeoJSON FeatureCollection (no 'features' list)",
                         argument=label, fix="export the drawings as GeoJSON")
    features = doc["features"]
    limits.check_features(len(features), label)
    clean: list[dict[str, Any]] = []
    for i, feat in enumerate(features):
        if not isinstance(feat, dict):
            skipped[i] = f"features[{i}] is not a GeoJSON object ({type(feat).__name__}): skipped"
            clean.append({"type": "Feature", "properties": {}, "geometry": None})
            continue
        feat = dict(feat)
        feat["type"] = "Feature"
        if not isinstance(feat.get("properties"), dict):
            feat["properties"] = {}
        geom = feat.get("geometry")
        if geom is not None and not (isinstance(geom, dict) and isinstance(geom.get("type"), str)):
            skipped[i] = "geometry is not a GeoJSON geometry object"
            feat["geometry"] = None
        feat.pop("crs", None)
        clean.append(feat)
    out: dict[str, Any] = {"type": "FeatureCollection", "features": clean}
    if "crs" in doc:
        crs = _clean_crs(doc["crs"], label, notes)
        if crs is not None:
            out["crs"] = crs
    return json.dumps(out).encode(), notes, skipped


_WKB_HEADER = 13  # byte order, type, ring count, point count of a one-ring polygon
_GPKG_HEADER = 8  # magic, version, flags, srs id (no envelope)


def _vertices_from_bytes(nbytes: int, rows: int, per_vertex: int, header: int) -> int:
    """Vertices that ``nbytes`` of WKB in ``rows`` geometries hold, at most."""
    return max(0, int(nbytes) - rows * header) // per_vertex


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def check_gpkg_cost(path: Path, layer: str | None, columns: Sequence[str] | None,
                    label: str, limits: Limits) -> None:
    """Check a GeoPackage layer against ``limits`` in SQL, before GDAL decodes anything.

    Counts features, sums the geometry blob sizes (vertices estimated from them) and
    the sizes of the attribute values to be read (``columns``; None: all). A file
    SQLite cannot read this way is left to GDAL, which reports what is wrong.
    """
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return
    with closing(con):
        try:
            geoms = con.execute("select table_name, column_name, z, m "
                                "from gpkg_geometry_columns").fetchall()
            chosen = [g for g in geoms if layer is None or g[0] == layer]
            if len(chosen) != 1:
                return
            table, geom, z, m = chosen[0]
            info = con.execute(f"pragma table_info({_quote(table)})").fetchall()
            names = [r[1] for r in info if r[1] != geom and not r[5]]  # r[5]: primary key
            attrs = names if columns is None else [c for c in names if c in set(columns)]
            sums = [f"coalesce(sum(length({_quote(c)})), 0)" for c in attrs]
            n, gbytes, *abytes = con.execute(
                f"select count(*), coalesce(sum(length({_quote(geom)})), 0)"
                f"{''.join(', ' + x for x in sums)} from {_quote(table)}").fetchone()
        except sqlite3.Error:
            return
    limits.check_features(int(n), label)
    per_vertex = 16 + 8 * bool(z == 1) + 8 * bool(m == 1)
    limits.check_vertices(_vertices_from_bytes(gbytes, int(n), per_vertex,
                                               _GPKG_HEADER + _WKB_HEADER), label,
                          estimated=True)
    limits.check_attribute_bytes(int(sum(abytes)), label)


def check_parquet_cost(path: Path, columns: Sequence[str], geometry: str, label: str,
                       limits: Limits) -> None:
    """Check a GeoParquet file against ``limits`` from its metadata, before decoding.

    Each column chunk's uncompressed size is read from the footer; where a chunk is
    dictionary-encoded, only its dictionary and indices are read, and the size the
    column would take once expanded (each row's value repeated) is what counts. The
    geometry's expanded size gives the vertex estimate; the other ``columns`` count
    towards ``max_attribute_bytes``.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    md = pf.metadata
    wanted = set(columns)
    geo_bytes = attr_bytes = geo_rows = 0
    for rg in range(md.num_row_groups):
        group = md.row_group(rg)
        for j in range(group.num_columns):
            chunk = group.column(j)
            name = chunk.path_in_schema
            if name not in wanted:
                continue
            size = int(chunk.total_uncompressed_size)
            dictionary = any("DICTIONARY" in str(e) for e in chunk.encodings)
            if dictionary and chunk.physical_type == "BYTE_ARRAY":
                col = pq.ParquetFile(path, read_dictionary=[name]).read_row_group(
                    rg, columns=[name]).column(0)
                size = 0
                for part in col.chunks:
                    if not isinstance(part, pa.DictionaryArray):
                        size += int(part.nbytes)
                        continue
                    lengths = pc.binary_length(part.dictionary).to_numpy(zero_copy_only=False)
                    idx = pc.drop_null(part.indices).to_numpy()
                    size += int(np.bincount(idx, minlength=len(lengths)) @ lengths)
            elif dictionary:
                size = max(size, int(chunk.num_values) * 8)
            if name == geometry:
                geo_bytes += size
                geo_rows += group.num_rows
            else:
                attr_bytes += size
            limits.check_bytes(geo_bytes, label)
            limits.check_vertices(_vertices_from_bytes(geo_bytes, geo_rows, 16,
                                                       _WKB_HEADER), label, estimated=True)
            limits.check_attribute_bytes(attr_bytes, label)
