"""Write tables and layers to a PostGIS schema: one transaction, all or nothing.

:func:`write_postgis` creates the schema, one table per frame (typed columns, a
``fid`` key, geometry columns with their SRID and a GiST index), QGIS's
``layer_styles`` table when styles are given, and a ``nbhd_geo_run`` table recording the
inputs, vintages, options and package version. Every statement runs in one
transaction: if anything fails (a value the database refuses, the connection lost, the
disk full) the database is left exactly as it was. Identifiers are quoted with
:mod:`psycopg.sql`; no SQL is ever built from user strings. An existing schema is only
replaced with ``overwrite=True`` (dropped and re-created inside the same transaction).

Examples
--------
>>> column_type(pd.Series([1, 2]))
'bigint'
>>> column_type(pd.Series(["E01000001", None]))
'text'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import InputError
from nbhd_geo.io.postgis import _psycopg, connect, parse_source, redact

__all__ = ["write_postgis", "check_destination", "pg_column_name", "WriteSummary",
           "column_type", "RUN_TABLE", "STYLE_TABLE"]

RUN_TABLE = "nbhd_geo_run"
STYLE_TABLE = "layer_styles"
_PLAIN = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass
class WriteSummary:
    """What :func:`write_postgis` wrote: schema, rows per table, where (no credentials)."""

    schema: str
    where: str
    rows: dict[str, int] = field(default_factory=dict)
    qgis_styles: bool = False  # styles also in public.layer_styles, where QGIS reads them

    def __str__(self) -> str:
        return (f"{len(self.rows)} tables ({sum(self.rows.values())} rows) in schema "
                f"{self.schema} of {self.where}")


def column_type(values: pd.Series) -> str:
    """Return the PostgreSQL type for a pandas column (integer people stay integers)."""
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "bigint"
    if pd.api.types.is_float_dtype(values):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "timestamp"
    return "text"


def _geometry_type(geoms: np.ndarray) -> tuple[str, np.ndarray]:
    """Return the geometry type; mixed polygons and multipolygons all made multi."""
    kinds = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint",
             5: "MultiLineString", 6: "MultiPolygon"}
    if len(kinds) == 1 and next(iter(kinds)) in names:  # one type: kept as it is
        return names[next(iter(kinds))], geoms
    if kinds == {3, 6}:  # Polygon and MultiPolygon: all multi, as GIS layers have them
        promote = shapely.get_type_id(geoms) == 3
        geoms = geoms.copy()
        geoms[promote] = [shapely.MultiPolygon([g]) for g in geoms[promote]]
        return "MultiPolygon", geoms
    return "Geometry", geoms


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and np.isnan(value) else value
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    return value


def pg_column_name(name: str) -> str:
    """Return the column name as written: PostgreSQL keeps 63 bytes of a name.

    A longer name is cut and given a short hash of the whole, so two long names that
    share a beginning stay apart; the full name is kept as the column's comment.

    Examples
    --------
    >>> pg_column_name("population")
    'population'
    >>> n = pg_column_name("living_environment_avg_rank_high_is_deprived_rank_1_most_deprived")
    >>> len(n), n[:20]
    (63, 'living_environment_a')
    """
    if len(name.encode()) <= 63:
        return name
    import hashlib

    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name.encode()[:54].decode(errors="ignore")
    return f"{head}_{digest}"


def _key_name(columns: list[str]) -> str:
    name = "fid"
    while name in {c.lower() for c in columns}:
        name = "_" + name
    return name


def _create_table(cur: Any, sql: Any, schema: str, name: str, frame: pd.DataFrame) -> int:
    ident = sql.Identifier(schema, name)
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    columns = [str(c) for c in frame.columns]
    key = _key_name(columns)
    defs = [sql.SQL("{} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY").format(
        sql.Identifier(key))]
    values: dict[str, list[Any]] = {}
    long_names: list[str] = []
    for col in columns:
        if pg_column_name(col) != col:
            long_names.append(col)
        if col == geometry:
            assert isinstance(frame, gpd.GeoDataFrame)
            epsg = frame.crs.to_epsg() if frame.crs is not None else None
            gtype, geoms = _geometry_type(np.asarray(frame.geometry.array, dtype=object))
            geoms = shapely.set_srid(geoms, epsg or 0)
            defs.append(sql.SQL("{} geometry({}, {})").format(
                sql.Identifier(pg_column_name(col)), sql.SQL(gtype), sql.Literal(epsg or 0)))
            values[col] = [None if g is None else g for g in
                           shapely.to_wkb(geoms, hex=True, include_srid=True)]
        else:
            series = frame[col]
            defs.append(sql.SQL("{} {}").format(sql.Identifier(pg_column_name(col)),
                                                sql.SQL(column_type(series))))
            values[col] = [_cell(v) for v in series.tolist()]
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(ident, sql.SQL(", ").join(defs)))
    for col in long_names:
        cur.execute(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
            ident, sql.Identifier(pg_column_name(col)), sql.Literal(col)))
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        ident, sql.SQL(", ").join(sql.Identifier(pg_column_name(c)) for c in columns))
    with cur.copy(copy_sql) as copy:
        for row in zip(*(values[c] for c in columns), strict=True):
            copy.write_row(row)
    if geometry is not None:
        cur.execute(sql.SQL("CREATE INDEX {} ON {} USING GIST ({})").format(
            sql.Identifier(f"{name}_{geometry}_gist"[:63]), ident,
            sql.Identifier(pg_column_name(geometry))))
    cur.execute(sql.SQL("ANALYZE {}").format(ident))
    return len(frame)


_STYLE_COLUMNS = (
    "(id serial PRIMARY KEY, f_table_catalog varchar, f_table_schema varchar, "
    "f_table_name varchar, f_geometry_column varchar, stylename text, styleqml xml, "
    "stylesld xml, useasdefault boolean, description text, "
    "owner varchar(63) DEFAULT CURRENT_USER, ui xml, "
    "update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)")


def _insert_styles(cur: Any, sql: Any, table: Any, schema: str, database: str,
                   styles: Mapping[str, tuple[str, str]]) -> None:
    for layer, (geometry, qml) in styles.items():
        # type NULL: QGIS matches a style of any geometry type to the layer.
        cur.execute(sql.SQL(
            "INSERT INTO {} (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "stylename, styleqml, useasdefault, description) VALUES "
            "(%s, %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), true, %s)").format(table),
            (database, schema, layer, geometry, layer, qml,
             "nbhd_geo: the colours of the HTML report"))


def _write_styles(cur: Any, sql: Any, schema: str, database: str,
                  styles: Mapping[str, tuple[str, str]]) -> bool:
    """Write QGIS's ``layer_styles`` (its own layout), one default style per layer.

    The schema keeps its own copy (all of a run in one place). QGIS reads styles from
    ``public.layer_styles``, where its *Save style in database* writes them, so they go
    there too (rows of this schema replaced) when the role may write there; return
    whether they did. A refusal there is rolled back alone, not the run.
    """
    table = sql.Identifier(schema, STYLE_TABLE)
    cur.execute(sql.SQL("CREATE TABLE {} " + _STYLE_COLUMNS).format(table))
    _insert_styles(cur, sql, table, schema, database, styles)
    public = sql.Identifier("public", STYLE_TABLE)
    cur.execute("SAVEPOINT nbhd_geo_styles")
    try:
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} " + _STYLE_COLUMNS).format(public))
        cur.execute(sql.SQL("DELETE FROM {} WHERE f_table_catalog = %s AND "
                            "f_table_schema = %s").format(public), (database, schema))
        _insert_styles(cur, sql, public, schema, database, styles)
    except _psycopg().Error:
        cur.execute("ROLLBACK TO SAVEPOINT nbhd_geo_styles")
        return False
    cur.execute("RELEASE SAVEPOINT nbhd_geo_styles")
    return True


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nbhd_geo")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def check_destination(url: str, *, schema: str | None = None,
                      argument: str = "--db-out") -> tuple[Any, str]:
    """Parse a destination URL and its schema name, without connecting.

    Examples
    --------
    >>> check_destination("postgresql://h/db?schema=nbhd_report")[1]
    'nbhd_report'
    >>> check_destination("postgresql://h/db?schema=x;drop")
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: --db-out: schema name 'x;drop' is not a plain name. ...
    """
    source = parse_source(url, argument=argument)
    schema = schema or source.schema
    if not schema:
        raise InputError("names no schema to write to", argument=argument,
                         fix="add ?schema=NAME to the URL, e.g. postgresql://HOST/DB"
                             "?schema=nbhd_report")
    if not _PLAIN.fullmatch(schema):
        raise InputError(f"schema name {schema!r} is not a plain name", argument=argument,
                         fix="use lower-case letters, digits and _ (at most 63), starting "
                             "with a letter, e.g. ?schema=nbhd_report")
    if source.table or source.query:
        raise InputError("names a table or query; a destination names a schema",
                         argument=argument, fix="use ?schema=NAME only")
    return source, schema


def write_postgis(url: str, tables: Mapping[str, pd.DataFrame], *, schema: str | None = None,
                  run: Mapping[str, Any] | None = None,
                  styles: Mapping[str, tuple[str, str]] | None = None,
                  overwrite: bool = False, argument: str = "--db-out") -> WriteSummary:
    """Write ``tables`` (frames and GeoDataFrames) to ``schema`` in one transaction.

    Parameters
    ----------
    url
        ``postgresql://HOST[:PORT]/DATABASE?schema=NAME`` (credentials as libpq finds
        them: ``PGPASSWORD``, ``~/.pgpass``, a service file).
    tables
        Table name (letters, digits, ``_``) → frame. A GeoDataFrame's geometry column
        becomes ``geometry(TYPE, SRID)`` with a GiST index.
    schema
        The schema to create (default: the URL's ``?schema=``): a plain lower-case name.
    run
        Facts about the run (command, inputs, vintages, options, version) for the
        ``nbhd_geo_run`` table; the time is added, and the installed package's version
        when ``version`` is not given.
    styles
        Table name → ``(geometry column, QML)`` for QGIS's ``layer_styles`` table.
    overwrite
        Replace the schema if it exists (inside the same transaction).
    argument
        The option named in errors.

    Returns
    -------
    WriteSummary

    Raises
    ------
    InputError
        Bad URL or schema name, a schema that exists (without ``overwrite``), no
        PostGIS, or any failure while writing (then nothing was written).
    """
    source, schema = check_destination(url, schema=schema, argument=argument)
    bad = [t for t in tables if not _PLAIN.fullmatch(t) or t in (RUN_TABLE, STYLE_TABLE)]
    if bad:
        raise InputError(f"table names {bad} are not plain names", argument="tables",
                         fix="use lower-case letters, digits and _")
    psycopg = _psycopg()
    sql = psycopg.sql
    started = datetime.now(UTC)
    summary = WriteSummary(schema, source.label.split(" ")[0])
    database = summary.where.rsplit("/", 1)[-1]
    with connect(source, argument=argument, read_only=False) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT to_regtype('geometry') IS NOT NULL")
                if not cur.fetchone()[0]:
                    raise InputError(f"{summary.where} has no PostGIS", argument=argument,
                                     fix="CREATE EXTENSION postgis in that database")
                cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,))
                if cur.fetchone()[0]:
                    if not overwrite:
                        raise InputError(f"schema {schema!r} already exists in "
                                         f"{summary.where}", argument=argument,
                                         fix="choose another ?schema=NAME, or drop it "
                                             "first (nbhd-geo report: --overwrite "
                                             "replaces it)")
                    cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
                cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
                for name, frame in tables.items():
                    summary.rows[name] = _create_table(cur, sql, schema, name, frame)
                if styles:
                    summary.qgis_styles = _write_styles(
                        cur, sql, schema, database,
                        {k: v for k, v in styles.items() if k in tables})
                facts = {**(run or {})}
                cur.execute(sql.SQL(
                    "CREATE TABLE {} (nbhd_geo_version text, started_at timestamptz, "
                    "finished_at timestamptz, command text, inputs jsonb, vintages jsonb, "
                    "options jsonb, tables jsonb)").format(sql.Identifier(schema, RUN_TABLE)))
                cur.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s, now(), %s, %s, %s, %s, %s)")
                            .format(sql.Identifier(schema, RUN_TABLE)),
                            (facts.get("version") or _version(), started,
                             str(facts.get("command", "")),
                             json.dumps(facts.get("inputs", []), default=str),
                             json.dumps(facts.get("vintages", {}), default=str),
                             json.dumps(facts.get("options", {}), default=str),
                             json.dumps(summary.rows)))
        except psycopg.Error as exc:
            reason = " ".join(redact(str(exc), source).split())[:300]
            raise InputError(f"writing schema {schema!r} in {summary.where} failed, so "
                             f"nothing was written ({reason})", argument=argument,
                             fix="fix the cause named and run again; the database is as it "
                                 "was before") from None
    return summary
