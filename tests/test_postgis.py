"""PostGIS in and out, against a real throwaway PostgreSQL + PostGIS cluster.

All database tests live in this one file so pytest-xdist (--dist loadfile) runs them on one
worker with one cluster. Without PostgreSQL/PostGIS (``make postgis`` installs them as root)
they skip with the reason.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tests._pgcluster import start_cluster

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install psycopg)")

from nbhd_geo.cli.main import main  # noqa: E402
from nbhd_geo.errors import CRSError, InputError  # noqa: E402
from nbhd_geo.io.guards import DEFAULT_LIMITS  # noqa: E402
from nbhd_geo.io.pgwrite import pg_column_name, write_postgis  # noqa: E402
from nbhd_geo.io.read import read_drawings, read_layer  # noqa: E402
from nbhd_geo.report.database import folder_tables  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TOWN = SAMPLES / "town.gpkg"
WORKSHOP = SAMPLES / "drawings_workshop.gpkg"


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    cluster, why = start_cluster()
    if cluster is None:
        pytest.skip(f"no PostGIS for the tests: {why}")
    # Credentials the libpq way: a .pgpass file, never the URL (except where tested).
    pgpass = tmp_path_factory.mktemp("pgpass") / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{cluster.port}:*:{cluster.user}:{cluster.password}\n")
    pgpass.chmod(0o600)
    old = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(pgpass)
    tables = {n: gpd.read_file(TOWN, layer=n) for n in ("lsoa", "ward", "address_points")}
    tables["drawings"] = gpd.read_file(WORKSHOP, layer="drawings")
    write_postgis(cluster.url(), tables, schema="town")
    yield cluster
    if old is None:
        os.environ.pop("PGPASSFILE", None)
    else:
        os.environ["PGPASSFILE"] = old
    cluster.stop()


def sql(pg, query, params=()):
    with psycopg.connect(pg.url()) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def run_cli(capsys, *args):
    """Run the CLI in this process; (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _same_frame(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert a.index.tolist() == b.index.tolist()
    assert a.columns.tolist() == b.columns.tolist()
    for col in a.columns:
        if col == a.geometry.name:
            ga, gb = (np.asarray(x.geometry.array, dtype=object) for x in (a, b))
            assert shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), 0).all()
        else:
            assert a[col].astype(object).where(a[col].notna(), None).tolist() == \
                b[col].astype(object).where(b[col].notna(), None).tolist(), col


# ------------------------------------------------------------------------- reading


def test_layer_round_trip_equals_the_file(pg):
    from_db, rep_db = read_layer(pg.url(table="town.lsoa"), id_col="lsoa_code")
    from_file, rep_file = read_layer(TOWN, layer="lsoa", id_col="lsoa_code")
    _same_frame(from_db, from_file)
    assert from_db.crs.to_epsg() == 27700 and len(from_db) == 33
    assert rep_db.source == f"postgresql://127.0.0.1:{pg.port}/gis table town.lsoa"
    # The same layer through the API's layer= argument, and through a read-only query.
    by_layer, _ = read_layer(pg.url(), layer="town.lsoa", id_col="lsoa_code")
    _same_frame(by_layer, from_file)
    query = "SELECT lsoa_code, geometry FROM town.lsoa WHERE lsoa_code < 'E01990010'"
    some, rep = read_layer(pg.url(query=query), id_col="lsoa_code")
    assert some.index.tolist() == sorted(c for c in from_file.index if c < "E01990010")
    assert rep.source.endswith(" query")


def test_drawings_audit_is_the_same_as_from_the_file(pg):
    db, rep_db = read_drawings(pg.url(table="town.drawings"))
    file, rep_file = read_drawings(WORKSHOP)
    _same_frame(db, file)
    counts = (rep_file.n_input, rep_file.n_kept, rep_file.n_repaired, rep_file.n_rejected)
    assert (rep_db.n_input, rep_db.n_kept, rep_db.n_repaired, rep_db.n_rejected) == counts
    assert counts == (65, 62, 1, 2)
    a, b = rep_db.to_frame(), rep_file.to_frame()
    cols = [c for c in a.columns if c != "source"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    # Personal columns dropped as from the file, and said so.
    assert set(rep_db.dropped_columns) == set(rep_file.dropped_columns) >= {"phone"}


def test_batches_and_limits(pg):
    from nbhd_geo.io.postgis import read_postgis_raw

    frame, label, problems, _ = read_postgis_raw(pg.url(table="town.lsoa"), layer=None,
                                                 label="t", batch_size=4)
    assert len(frame) == 33 and frame.crs.to_epsg() == 27700 and problems == {}
    with pytest.raises(InputError, match="33 features, more than the limit of 10"):
        read_layer(pg.url(table="town.lsoa"), limits=DEFAULT_LIMITS.with_overrides(
            max_features=10))
    with pytest.raises(InputError, match="vertices, more than the limit of 50"):
        read_postgis_raw(pg.url(table="town.lsoa"), layer=None, label="t", batch_size=4,
                         limits=DEFAULT_LIMITS.with_overrides(max_vertices=50))


def test_points_are_told_from_polygons(pg):
    from nbhd_geo.cli.main import _geom_kind

    assert _geom_kind(pg.url(table="town.address_points"), None) == "point"
    assert _geom_kind(pg.url(), "town.lsoa") == "polygon"
    points, _ = read_layer(pg.url(table="town.address_points"), geom_type="point")
    assert len(points) == len(gpd.read_file(TOWN, layer="address_points")) > 100


def test_a_query_cannot_write(pg):
    n = sql(pg, "SELECT count(*) FROM town.ward")[0][0]
    for query in ("DELETE FROM town.ward RETURNING *",
                  "SELECT * FROM town.lsoa; DROP TABLE town.ward"):
        with pytest.raises(InputError, match="query failed"):
            read_layer(pg.url(query=query))
    # A function with side effects inside a SELECT meets the READ ONLY transaction.
    sql(pg, "CREATE OR REPLACE FUNCTION public.evil() RETURNS int LANGUAGE sql AS "
            "'DELETE FROM town.ward; SELECT 1'")
    with pytest.raises(InputError):
        read_layer(pg.url(query="SELECT public.evil() AS x, geometry FROM town.ward"))
    assert sql(pg, "SELECT count(*) FROM town.ward")[0][0] == n == 7


def test_srid_problems_are_clear(pg):
    sql(pg, "CREATE TABLE IF NOT EXISTS public.nosrid AS SELECT ward_code, "
            "ST_SetSRID(geometry, 0)::geometry(Geometry, 0) AS geom FROM town.ward")
    sql(pg, "CREATE TABLE IF NOT EXISTS public.mixed AS SELECT ward_code, "
            "CASE WHEN ward_code < 'E05990004' THEN geometry "
            "ELSE ST_Transform(geometry, 4326) END::geometry AS geom FROM town.ward")
    with pytest.raises(CRSError, match="has no CRS"):
        read_layer(pg.url(table="nosrid"))
    fixed, rep = read_layer(pg.url(table="nosrid"), crs="EPSG:27700")
    assert len(fixed) == 7
    with pytest.raises(CRSError, match=r"2 different SRIDs \(\[4326, 27700\]\)"):
        read_layer(pg.url(table="public.mixed"))


# ------------------------------------------------------------------------- errors (CLI)


def test_bad_sources_give_one_clear_error(pg, capsys, tmp_path):
    sneaky = 'lsoa"; DROP TABLE town.ward; --'
    cases = {
        "not a valid database URL": "postgresql://127.0.0.1:port/gis?table=town.lsoa",
        "cannot connect": "postgresql://nbhd@127.0.0.1:1/gis?table=town.lsoa",
        "table 'town.nothere' does not exist": pg.url(table="town.nothere"),
        "does not exist": pg.url() + "?table=" + quote(f"town.{sneaky}", safe=""),
        "names no table": pg.url(),
        "password authentication failed": pg.url(table="town.lsoa").replace(
            "nbhd@", "nbhd:Wr0ng-s3cret@"),
    }
    for expected, url in cases.items():
        code, out, err = run_cli(capsys, "crosswalk", url, f"{TOWN}:ward",
                                 "--out", str(tmp_path / "cw.csv"))
        assert code == 2, (expected, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: src") and expected in err, err
        assert "Traceback" not in err and "Wr0ng-s3cret" not in err + out
    assert sql(pg, "SELECT count(*) FROM town.ward")[0][0] == 7  # the injection did nothing
    code, _, err = run_cli(capsys, "crosswalk", f"{TOWN}:lsoa", f"{TOWN}:ward", "--out",
                           str(tmp_path / "cw.csv"), "--db-out",
                           pg.url(schema="x; DROP SCHEMA town CASCADE"))
    assert code == 2 and "is not a plain name" in err and not (tmp_path / "cw.csv").exists()
    sql(pg, "CREATE TABLE IF NOT EXISTS public.nosrid AS SELECT ward_code, "
            "ST_SetSRID(geometry, 0)::geometry(Geometry, 0) AS geom FROM town.ward")
    code, _, err = run_cli(capsys, "crosswalk", pg.url(table="nosrid"), f"{TOWN}:ward",
                           "--out", str(tmp_path / "cw.csv"))
    assert code == 2 and "has no CRS" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------- writing


def test_long_column_names_stay_apart_and_keep_their_full_name(pg):
    base = "living_environment_avg_rank_high_is_deprived_rank_1_most_deprived"
    frame = pd.DataFrame({base: [1], base + "_share": [0.5], "short": ["x"]})
    write_postgis(pg.url(schema="long_names"), {"t": frame})
    rows = sql(pg, "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM "
                   "pg_attribute a WHERE a.attrelid = 'long_names.t'::regclass AND "
                   "a.attnum > 0 AND a.attname <> 'fid' ORDER BY a.attnum")
    assert [r[1] for r in rows] == [base, base + "_share", None]
    assert len({r[0] for r in rows}) == 3 and all(len(r[0]) <= 63 for r in rows)


def test_an_interrupted_write_leaves_the_database_as_it_was(pg):
    good = gpd.read_file(TOWN, layer="ward")
    bad = pd.DataFrame({"note": ["fine", "a NUL \x00 the database refuses"]})
    with pytest.raises(InputError, match="nothing was written"):
        write_postgis(pg.url(schema="halfway"), {"a_ward": good, "b_bad": bad})
    assert sql(pg, "SELECT count(*) FROM pg_namespace WHERE nspname = 'halfway'")[0][0] == 0
    # Replacing an existing schema: a failure keeps the old one whole.
    write_postgis(pg.url(schema="kept"), {"a_ward": good})
    with pytest.raises(InputError, match="already exists"):
        write_postgis(pg.url(schema="kept"), {"a_ward": good})
    with pytest.raises(InputError, match="nothing was written"):
        write_postgis(pg.url(schema="kept"), {"a_ward": good.iloc[:2], "b_bad": bad},
                      overwrite=True)
    assert sql(pg, "SELECT count(*) FROM kept.a_ward")[0][0] == 7
    assert sql(pg, "SELECT count(*) FROM kept.nbhd_geo_run")[0][0] == 1


def _db_table(pg, schema, table):
    with psycopg.connect(pg.url()) as conn:
        cur = conn.execute(
            "SELECT column_name, udt_name FROM information_schema.columns WHERE "
            "table_schema = %s AND table_name = %s ORDER BY ordinal_position", (schema, table))
        cols = [(c, t) for c, t in cur.fetchall() if c != "fid"]
        select = ", ".join(f'ST_AsBinary("{c}")' if t == "geometry" else f'"{c}"'
                           for c, t in cols)
        rows = conn.execute(f'SELECT {select} FROM "{schema}"."{table}" ORDER BY fid').fetchall()
    return [c for c, _ in cols], dict(cols), rows


def test_report_from_postgis_to_postgis_equals_the_file_run(pg, capsys, tmp_path):
    common = ["--name-col", "neighbourhood", "--imd", str(SAMPLES / "imd.csv"),
              "--layer-id", "lsoa=lsoa_code", "--layer-id", "ward=ward_code", "-v"]
    code, _, err = run_cli(capsys, "report", f"{WORKSHOP}:drawings",
                           "--layer", f"lsoa={TOWN}:lsoa", "--layer", f"ward={TOWN}:ward",
                           *common, "--out", str(tmp_path / "files"))
    assert code == 0, err
    # From the database, a password written in one URL: it must appear nowhere.
    secret_url = pg.url(password=True, table="town.ward")
    code, out, err = run_cli(capsys, "report", pg.url(table="town.drawings"),
                             "--layer", f"lsoa={pg.url(table='town.lsoa')}",
                             "--layer", f"ward={secret_url}", *common,
                             "--out", str(tmp_path / "db"),
                             "--db-out", pg.url(password=True, schema="report_db"))
    assert code == 0, err
    assert "wrote " in out and "in schema report_db" in out

    # 1. The report read from PostGIS equals the report read from files.
    files = folder_tables(tmp_path / "files")
    db = folder_tables(tmp_path / "db")
    assert sorted(files) == sorted(db) and len(files) >= 15
    for name, frame in files.items():
        other = db[name]
        keep = [c for c in frame.columns if c != "source"]
        if isinstance(frame, gpd.GeoDataFrame):
            _same_frame(frame[keep], other[keep])
        else:
            pd.testing.assert_frame_equal(frame[keep], other[keep], check_exact=True)

    # 2. The schema holds exactly the rows of the files, typed.
    written = {r[0] for r in sql(pg, "SELECT table_name FROM information_schema.tables "
                                     "WHERE table_schema = 'report_db'")}
    assert written == set(db) | {"nbhd_geo_run", "layer_styles"}
    for name, frame in db.items():
        cols, types, rows = _db_table(pg, "report_db", name)
        assert cols == [pg_column_name(str(c)) for c in frame.columns], name
        assert len(rows) == len(frame), name
        for j, (col, full) in enumerate(zip(cols, frame.columns, strict=True)):
            got = [r[j] for r in rows]
            if types[col] == "geometry":
                want = shapely.to_wkb(shapely.normalize(np.asarray(frame.geometry.array)))
                assert [shapely.to_wkb(shapely.normalize(shapely.from_wkb(g))) for g in got] \
                    == list(want), (name, col)
                continue
            want = [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
                    for v in frame[full].astype(object)]
            assert got == want, (name, col)
    people = sql(pg, "SELECT data_type FROM information_schema.columns WHERE table_schema = "
                     "'report_db' AND table_name = 'deprivation' AND column_name = 'population'")
    assert people == [("bigint",)]
    shares = sql(pg, "SELECT data_type FROM information_schema.columns WHERE table_schema = "
                     "'report_db' AND table_name = 'crosswalk_lsoa' AND "
                     "column_name = 'share_of_source'")
    assert shares == [("double precision",)]

    # 3. Geometry columns in EPSG:27700 with spatial indexes; QGIS styles; the run table.
    geoms = sql(pg, "SELECT f_table_name, srid, type FROM geometry_columns "
                    "WHERE f_table_schema = 'report_db'")
    assert {g[0] for g in geoms} == {n for n, f in db.items() if isinstance(f, gpd.GeoDataFrame)}
    assert {g[1] for g in geoms} == {27700}
    gist = sql(pg, "SELECT tablename FROM pg_indexes WHERE schemaname = 'report_db' "
                   "AND indexdef LIKE '%%USING gist%%'")
    assert {g[0] for g in gist} == {g[0] for g in geoms}
    styles = sql(pg, "SELECT f_table_name, f_geometry_column, styleqml::text, useasdefault "
                     "FROM report_db.layer_styles")
    assert {s[0] for s in styles} == {g[0] for g in geoms}
    for _, column, qml, default in styles:
        assert column == "geometry" and default is True
        assert ET.fromstring(qml).find("renderer-v2") is not None
    public = sql(pg, "SELECT f_table_name FROM public.layer_styles WHERE "
                     "f_table_schema = 'report_db' AND f_table_catalog = 'gis'")
    assert sorted(p[0] for p in public) == sorted(s[0] for s in styles)  # where QGIS looks
    deciles = next(s[2] for s in styles if s[0] == "imd_deciles")
    assert deciles.count("<category ") == 10 and "165,0,38" in deciles
    run = sql(pg, "SELECT nbhd_geo_version, command, inputs, vintages, options, tables "
                  "FROM report_db.nbhd_geo_run")
    assert len(run) == 1
    version, command, inputs, vintages, options, tables = run[0]
    import nbhd_geo

    assert version == nbhd_geo.__version__ and command == "nbhd-geo report"
    assert f"postgresql://127.0.0.1:{pg.port}/gis table town.ward" in inputs
    assert vintages == {"imd": "IoD2019"} and options["name_col"] == "neighbourhood"
    assert tables["crosswalk_lsoa"] == len(db["crosswalk_lsoa"])

    # 4. The password is in no output, file, log line or database row.
    text = out + err + json.dumps(run[0][2:], default=str)
    text += "".join(sql(pg, "SELECT string_agg(styleqml::text, '') FROM report_db.layer_styles")
                    [0])
    where = text.find(pg.password)
    assert where < 0, text[max(0, where - 300):where + 50]
    for path in (tmp_path / "db").rglob("*"):
        assert pg.password.encode() not in path.read_bytes(), path
    server_log = (pg.root / "log").read_bytes() if os.access(pg.root / "log", os.R_OK) else b""
    assert pg.password.encode() not in server_log


def test_crosswalk_to_postgis_and_a_bad_value_writes_nothing(pg, capsys, tmp_path):
    code, out, err = run_cli(capsys, "crosswalk", pg.url(table="town.lsoa"),
                             pg.url(table="town.ward"), "--out", str(tmp_path / "cw.csv"),
                             "--db-out", pg.url(schema="cw"))
    assert code == 0, err
    expected = pd.read_csv(tmp_path / "cw.csv")
    rows = sql(pg, "SELECT source_id, target_id, area_m2 FROM cw.cw ORDER BY fid")
    assert [list(r[:2]) for r in rows] == expected[["source_id", "target_id"]].values.tolist()
    assert np.array_equal([r[2] for r in rows], expected["area_m2"].to_numpy())
    code, _, err = run_cli(capsys, "crosswalk", f"{TOWN}:lsoa", f"{TOWN}:ward",
                           "--out", str(tmp_path / "cw2.csv"), "--db-out", pg.url(schema="cw"))
    assert code == 2 and "schema 'cw' already exists" in err


def test_a_role_that_may_not_write_public_still_gets_its_schema(pg):
    sql(pg, "DROP ROLE IF EXISTS analyst")
    sql(pg, "CREATE ROLE analyst LOGIN PASSWORD 'analyst-pw'")
    sql(pg, "GRANT CREATE ON DATABASE gis TO analyst")
    sql(pg, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    url = pg.url(schema="analyst_out").replace("nbhd@", "analyst:analyst-pw@")
    ward = gpd.read_file(TOWN, layer="ward")
    summary = write_postgis(url, {"ward": ward}, styles={"ward": ("geometry", "<qgis/>")})
    assert summary.rows == {"ward": 7} and summary.qgis_styles is False
    assert sql(pg, "SELECT count(*) FROM analyst_out.layer_styles")[0][0] == 1


QGIS_PG = """
import sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(sys.argv[1], "imd", "postgres")
print(layer.isValid(), layer.featureCount(), layer.renderer().type())
app.exitQgis()
"""


def test_qgis_opens_a_written_layer_with_its_style(pg, capsys, tmp_path):
    """Only where Debian's python3-qgis is installed (not by make test)."""
    import subprocess

    if subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"],
                      capture_output=True).returncode:
        pytest.skip("QGIS Python bindings not installed (apt-get install python3-qgis "
                    "qgis-providers): the styles are checked as tables and XML")
    out = tmp_path / "files"
    out.mkdir()
    lsoa = gpd.read_file(TOWN, layer="lsoa")
    lsoa[["lsoa_code", "geometry"]].assign(imd_decile=[1 + i % 10 for i in range(len(lsoa))]
                                            ).to_file(out / "layers.gpkg", layer="imd_deciles")
    from nbhd_geo.report.database import publish_folder

    assert publish_folder(out, pg.url(schema="qgis_check")).qgis_styles
    uri = (f"dbname='gis' host=127.0.0.1 port={pg.port} user='nbhd' key='fid' srid=27700 "
           'type=Polygon table="qgis_check"."imd_deciles" (geometry)')
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    os.chmod(tmp_path, 0o700)
    done = subprocess.run(["/usr/bin/python3", "-c", QGIS_PG, uri], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.stdout.split() == ["True", "33", "categorizedSymbol"], done.stderr[-1500:]
