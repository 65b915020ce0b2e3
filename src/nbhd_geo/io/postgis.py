"""PostgreSQL/PostGIS as a source: a connection URL plus a table or a read-only query.

A database source is a ``postgresql://`` (or ``postgres://``) URL naming the table with
``?table=schema.name`` or giving a query with ``?query=SELECT…`` (percent-encode ``&``,
``#`` and ``%`` in it). Everything else in the URL goes to libpq unchanged, so
credentials come from where libpq looks for them: ``PGPASSWORD``, ``~/.pgpass``,
a service file (``postgresql:///?service=gis``). A password written in the URL works
but is never printed, logged or written: reports name a source by host, database and
table only.

Reading goes through the same pipeline as files (:func:`nbhd_geo.io.read.read_layer`,
:func:`~nbhd_geo.io.read.read_drawings`): validation, repair, personal columns dropped,
CRS from the geometry column's SRID, the same feature and vertex limits. Rows are
fetched by a server-side cursor in batches, inside a READ ONLY transaction, so a query
cannot change the database and a large table stops at the limit without being read whole.

Why psycopg (version 3) alone and not SQLAlchemy with GeoAlchemy2 (what
``geopandas.read_postgis``/``to_postgis`` need): psycopg gives server-side cursors,
``COPY`` and identifier quoting (:mod:`psycopg.sql`), which is all this needs, with one
dependency instead of three; it is an optional extra (``pip install nbhd_geo[postgis]``).

Examples
--------
>>> src = parse_source("postgresql://me:secret@db.example:5433/gis?table=town.lsoa")
>>> src.table, src.label
(('town', 'lsoa'), 'postgresql://db.example:5433/gis table town.lsoa')
>>> is_postgis_url("town.gpkg"), is_postgis_url("postgres://h/db")
(False, True)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import CRSError, InputError, format_ids
from nbhd_geo.io.guards import DEFAULT_LIMITS, Limits

__all__ = ["is_postgis_url", "parse_source", "PgSource", "connect", "read_postgis_raw",
           "redact", "geometry_kind"]

_SCHEMES = ("postgresql://", "postgres://")
_OURS = ("table", "query", "schema")
_FIX_URL = ("write it as postgresql://HOST[:PORT]/DATABASE?table=SCHEMA.TABLE (credentials "
            "from PGPASSWORD, ~/.pgpass or a service file)")


def is_postgis_url(value: object) -> bool:
    """Tell a ``postgresql://`` or ``postgres://`` source string.

    Examples
    --------
    >>> is_postgis_url("POSTGRESQL://h/db?table=x")
    True
    """
    return isinstance(value, str) and value.strip().lower().startswith(_SCHEMES)


@dataclass(frozen=True)
class PgSource:
    """A parsed database source.

    Attributes
    ----------
    conninfo
        The URL for libpq, without nbhd_geo's own parameters (it may hold a password:
        never show it).
    table
        ``(schema, name)`` (schema ``None``: found on the search path), or ``None``.
    query
        A read-only SELECT, or ``None``.
    schema
        The destination schema (``?schema=``) when the URL names an output.
    label
        How the source is named in reports and messages: no user, no password.
    secrets
        Strings that must never appear in output (the password, the whole URL).
    """

    conninfo: str
    table: tuple[str | None, str] | None
    query: str | None
    schema: str | None
    label: str
    secrets: tuple[str, ...]

    @property
    def stem(self) -> str:
        """A short name: the table's, or ``query``."""
        return self.table[1] if self.table is not None else "query"


def _split_table(text: str) -> tuple[str | None, str]:
    """``schema.name`` → ``("schema", "name")``; ``"My Schema"."a.b"`` quoting honoured."""
    quoted = re.fullmatch(r'\s*(?:"((?:[^"]|"")+)"|([^".]+))\.(?:"((?:[^"]|"")+)"|(.+))\s*', text)
    if quoted and (quoted.group(1) or quoted.group(2)):
        schema = (quoted.group(1) or "").replace('""', '"') or quoted.group(2)
        name = (quoted.group(3) or "").replace('""', '"') or quoted.group(4)
        return schema, name
    return None, text.strip()


def parse_source(url: str, *, layer: str | None = None, argument: str = "src") -> PgSource:
    """Parse a database URL; ``layer`` (the API's ``layer=``) names the table.

    Raises
    ------
    InputError
        When the URL cannot be parsed (naming the argument, never the password).

    Examples
    --------
    >>> parse_source("postgresql:///gis?service=office&query=SELECT%20*%20FROM%20w").query
    'SELECT * FROM w'
    >>> parse_source("postgresql:///gis?service=office&query=x").conninfo
    'postgresql:///gis?service=office'
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise InputError(f"is not a valid database URL ({_redact_text(str(exc), (text,))})",
                         argument=argument, fix=_FIX_URL) from None
    secrets = tuple(s for s in (text, parts.password, unquote(parts.password or ""))
                    if s and len(s) >= 3)
    ours: dict[str, str] = {}
    kept: list[str] = []
    for item in parts.query.split("&") if parts.query else []:
        key, _, value = item.partition("=")
        if key.lower() in _OURS:
            ours[key.lower()] = unquote(value)
        else:
            kept.append(item)
    if parts.fragment:
        raise InputError("has a '#' outside a query", argument=argument,
                         fix="percent-encode '#' as %23 (and '&' as %26) inside ?query=")
    # Built by hand: urlunsplit drops the empty host of postgresql:///db (a local socket).
    conninfo = f"{parts.scheme}://{parts.netloc}{parts.path}" + (
        f"?{'&'.join(kept)}" if kept else "")
    database = unquote(parts.path.lstrip("/"))
    table_text = layer if layer is not None else ours.get("table")
    table = _split_table(table_text) if table_text else None
    query = ours.get("query") or None
    if table is not None and query is not None:
        raise InputError("names both a table and a query", argument=argument,
                         fix="give ?table=SCHEMA.NAME or ?query=SELECT…, not both")
    where = f"postgresql://{host}{f':{port}' if port else ''}/{database}"
    if table is not None:
        shown = ".".join(p for p in table if p)
        label = f"{where} table {shown}"
    elif query is not None:
        label = f"{where} query"
    else:
        label = where
    return PgSource(conninfo, table, query, ours.get("schema") or None, label, secrets)


def redact(text: str, source: PgSource) -> str:
    """``text`` with the URL and password replaced by ``***``.

    Examples
    --------
    >>> src = parse_source("postgresql://u:hunter22@h/db?table=t")
    >>> redact("failed for postgresql://u:hunter22@h/db?table=t (hunter22)", src)
    'failed for *** (***)'
    """
    return _redact_text(text, source.secrets)


def _redact_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the extra is not installed
        raise InputError("reading or writing PostGIS needs psycopg", argument="postgresql://",
                         fix="pip install 'nbhd_geo[postgis]' (or pip install "
                             "'psycopg[binary]')") from None
    return psycopg


@contextmanager
def connect(source: PgSource, *, argument: str, read_only: bool) -> Iterator[Any]:
    """Open a psycopg connection for ``source``; errors become one clear InputError.

    The connection is closed on exit; with ``read_only`` every transaction is READ ONLY.
    """
    psycopg = _psycopg()
    try:
        conn = psycopg.connect(source.conninfo, connect_timeout=15,
                               application_name="nbhd_geo")
    except Exception as exc:  # noqa: BLE001 - libpq errors: bad URL, refused, auth
        reason = " ".join(redact(str(exc), source).split())[:300]
        raise InputError(f"cannot connect to {source.label} ({reason})", argument=argument,
                         fix="check host, port, database and credentials (PGPASSWORD, "
                             "~/.pgpass or a service file); " + _FIX_URL) from None
    try:
        conn.read_only = read_only
        yield conn
    finally:
        conn.close()


def _geometry_tables(cur: Any) -> list[str]:
    cur.execute("SELECT f_table_schema, f_table_name FROM geometry_columns "
                "WHERE f_table_schema NOT IN ('pg_catalog', 'information_schema', 'topology') "
                "ORDER BY 1, 2")
    return [f"{s}.{t}" for s, t in cur.fetchall()]


def _has_postgis(cur: Any) -> bool:
    cur.execute("SELECT to_regclass('geometry_columns') IS NOT NULL")
    return bool(cur.fetchone()[0])


def _resolve_table(cur: Any, source: PgSource, argument: str) -> tuple[str, str, str, int]:
    """Look up the table: (schema, table, geometry column, declared SRID)."""
    assert source.table is not None
    schema, name = source.table
    cur.execute(
        "SELECT g.f_table_schema, g.f_table_name, g.f_geometry_column, g.srid "
        "FROM geometry_columns g WHERE g.f_table_name = %s AND "
        "(g.f_table_schema = %s OR (%s::text IS NULL AND "
        " g.f_table_schema = ANY (current_schemas(false)))) "
        "ORDER BY array_position(current_schemas(false), g.f_table_schema::name), "
        "g.f_geometry_column", (name, schema, schema))
    rows = cur.fetchall()
    shown = ".".join(p for p in source.table if p)
    if not rows:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = %s "
                    "AND (table_schema = %s OR %s::text IS NULL)", (name, schema, schema))
        exists = cur.fetchone()[0] > 0
        tables = _geometry_tables(cur)
        what = "has no geometry column" if exists else "does not exist"
        raise InputError(f"table {shown!r} {what} in {source.label.split(' table ')[0]}"
                         f" (tables with geometry: {format_ids(tables, 20) or 'none'})",
                         argument=argument,
                         fix="name one of the listed tables with ?table=SCHEMA.NAME, or "
                             "select the rows with ?query=SELECT…")
    schema_found, table, geom, srid = rows[0]
    return str(schema_found), str(table), str(geom), int(srid or 0)


def _plain(value: Any) -> Any:
    """Database values pandas handles: Decimal → float, memoryview → bytes."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _crs_of(srids: np.ndarray, declared: int, source: PgSource, argument: str) -> Any:
    known = sorted({int(s) for s in srids if s is not None and int(s) != 0})
    if len(known) > 1:
        raise CRSError(f"geometries carry {len(known)} different SRIDs ({known})",
                       argument=argument,
                       fix="select one SRID: ?query=SELECT id, ST_Transform(geom, 27700) "
                           "AS geom FROM …")
    srid = known[0] if known else declared
    if not srid:
        return None  # like a file without CRS: the reader asks for --crs
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjError

    try:
        return CRS.from_epsg(srid)
    except ProjError:
        raise CRSError(f"SRID {srid} is not an EPSG code", argument=argument,
                       fix="transform in a query (ST_Transform(geom, 27700)), or give --crs "
                           "with --override-crs") from None


def _fetch(conn: Any, source: PgSource, argument: str, limits: Limits,
           batch_size: int) -> tuple[list[str], str, list[tuple[Any, ...]], int]:
    """Run the read: (attribute columns, geometry column, rows, declared SRID)."""
    sql = _psycopg().sql
    cur = conn.cursor()
    if not _has_postgis(cur):
        raise InputError(f"{source.label.split(' ')[0]} has no PostGIS",
                         argument=argument, fix="CREATE EXTENSION postgis in that database")
    if source.table is None and source.query is None:
        raise InputError(f"names no table (tables with geometry: "
                         f"{format_ids(_geometry_tables(cur), 20) or 'none'})",
                         argument=argument,
                         fix="add ?table=SCHEMA.NAME or ?query=SELECT… to the URL")
    declared = 0
    if source.table is not None:
        schema, table, geom, declared = _resolve_table(cur, source, argument)
        relation = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        cur.execute("SELECT column_name FROM information_schema.columns WHERE "
                    "table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                    (schema, table))
        columns = [r[0] for r in cur.fetchall() if r[0] != geom]
        # An integer primary key is the row's feature id, not an attribute: GDAL reads
        # PostGIS (and GeoPackage) tables the same way, so ids are found alike.
        cur.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                    "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                    "WHERE i.indrelid = %s::regclass AND i.indisprimary AND "
                    "a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)",
                    (relation.as_string(conn),))
        keys = [r[0] for r in cur.fetchall()]
        if len(keys) == 1 and keys[0] in columns:
            columns.remove(keys[0])
    else:
        relation = sql.SQL("({}) AS q").format(sql.SQL(source.query))
        try:
            cur.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(relation))
        except _psycopg().Error as exc:
            conn.rollback()
            raise InputError(f"query failed ({' '.join(str(exc).split())[:300]})",
                             argument=argument,
                             fix="give one read-only SELECT (no ';'); test it in psql "
                                 "first") from None
        names = [d.name for d in cur.description]
        oids = {d.name: d.type_code for d in cur.description}
        cur.execute("SELECT oid FROM pg_type WHERE typname = 'geometry'")
        geo_oid = cur.fetchone()[0]
        geoms = [n for n in names if oids[n] == geo_oid]
        if not geoms or len(names) != len(set(names)):
            raise InputError("query returns no geometry column" if not geoms else
                             "query returns two columns of the same name",
                             argument=argument,
                             fix="return one geometry column and distinct column names")
        geom = geoms[0]
        columns = [n for n in names if n != geom]
    g = sql.Identifier(geom)
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(relation))
    limits.check_features(int(cur.fetchone()[0]), argument)
    select = sql.SQL("SELECT ST_AsBinary({g}), ST_SRID({g}){more} FROM {rel}").format(
        g=g, rel=relation,
        more=sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c)) for c in columns))
    rows: list[tuple[Any, ...]] = []
    vertices = 0
    with conn.cursor(name="nbhd_geo_read") as stream:
        stream.itersize = batch_size
        stream.execute(select)
        while batch := stream.fetchmany(batch_size):
            vertices += int(shapely.get_num_coordinates(shapely.from_wkb(
                [bytes(r[0]) if r[0] is not None else None for r in batch],
                on_invalid="ignore")).sum())
            limits.check_vertices(vertices, argument)
            rows.extend(batch)
    conn.rollback()  # READ ONLY: nothing to keep
    return columns, geom, rows, declared


def read_postgis_raw(url: str, *, layer: str | None, label: str | None,
                     limits: Limits = DEFAULT_LIMITS, batch_size: int = 5000
                     ) -> tuple[gpd.GeoDataFrame, str, dict[int, str], list[str]]:
    """Read a database source into the raw features the reading pipeline checks.

    Returns ``(frame in the source's SRID, source label, {row: unreadable geometry},
    notes)``, what :mod:`nbhd_geo.io.formats` gathers from files. Called by the readers
    for a ``postgresql://`` source; use :func:`nbhd_geo.io.read.read_layer` instead.
    """
    source = parse_source(url, layer=layer, argument=label or "src")
    argument = f"src ({label or source.label})"
    psycopg = _psycopg()
    with connect(source, argument=argument, read_only=True) as conn:
        try:
            columns, geom, rows, declared = _fetch(conn, source, argument, limits, batch_size)
        except psycopg.Error as exc:
            reason = " ".join(redact(str(exc), source).split())[:300]
            raise InputError(f"reading {source.label} failed ({reason})", argument=argument,
                             fix="check the table or query (a query must be one read-only "
                                 "SELECT, no ';'); test it in psql first") from None
    wkb = [bytes(r[0]) if r[0] is not None else None for r in rows]
    srids = np.array([r[1] for r in rows], dtype=object)
    attrs = pd.DataFrame([[_plain(v) for v in r[2:]] for r in rows], columns=columns)
    parsed = shapely.from_wkb(wkb, on_invalid="ignore")
    problems = {i: "unreadable geometry (bad WKB from the database)"
                for i, (blob, g) in enumerate(zip(wkb, parsed, strict=True))
                if blob is not None and g is None}
    crs = _crs_of(srids, declared, source, argument)
    frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(parsed, index=attrs.index), crs=crs)
    notes = [f"read from PostGIS ({len(rows)} rows, geometry column {geom!r}, "
             f"SRID {'none' if crs is None else crs.to_epsg()})"]
    return frame, source.label, problems, notes


def geometry_kind(url: str, layer: str | None = None) -> Literal["polygon", "point"]:
    """Return ``"point"`` when a table's geometry column holds points, else ``"polygon"``.

    For a query, or when the table cannot be looked up, ``"polygon"`` (the reader then
    says what it found).
    """
    source = parse_source(url, layer=layer)
    if source.table is None:
        return "polygon"
    try:
        with connect(source, argument="src", read_only=True) as conn, conn.cursor() as cur:
            declared = _resolve_table(cur, source, "src")
            cur.execute("SELECT type FROM geometry_columns WHERE f_table_schema = %s AND "
                        "f_table_name = %s AND f_geometry_column = %s", declared[:3])
            row = cur.fetchone()
    except InputError:
        return "polygon"
    return "point" if row is not None and "POINT" in str(row[0]).upper() else "polygon"


def quote_url(user: str, password: str, host: str, port: int, database: str,
              **params: str) -> str:
    """Build a ``postgresql://`` URL with each part percent-encoded.

    Examples
    --------
    >>> quote_url("me", "p@ss/w", "127.0.0.1", 5432, "gis", table="town.lsoa")
    'postgresql://me:p%40ss%2Fw@127.0.0.1:5432/gis?table=town.lsoa'
    """
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    query = "&".join(f"{k}={quote(v, safe='.')}" for k, v in params.items())
    return f"postgresql://{auth}@{host}:{port}/{quote(database, safe='')}" + (
        f"?{query}" if query else "")
