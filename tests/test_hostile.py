"""Hostile input (issue 13): never a crash, a leak of personal data, or a connection out.

Every case of :mod:`tests._hostile_corpus` (real files, 100+) is read by the library and
by the real ``nbhd-geo read`` command; a few real ``nbhd-geo report`` runs check what is
published. A TCP listener on 127.0.0.1 is the target of every linked CRS: it records any
connection, and ``socket.socket.connect`` is guarded in-process as well.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from nbhd_geo.cli.main import cli
from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.publish import publish_frame, staged_output, write_csv
from nbhd_geo.io.read import read_drawings
from tests._hostile_corpus import build_corpus, read_kwargs

EXE = [sys.executable, "-m", "nbhd_geo.cli"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Listener:
    """A real TCP server on 127.0.0.1 that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.connections.append(addr)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, listener):
    root = tmp_path_factory.mktemp("hostile")
    return build_corpus(root, listener_url=f"http://127.0.0.1:{listener.port}/crs.wkt")


@pytest.fixture(autouse=True)
def no_outbound_connections(monkeypatch):
    """Any Python-level connect() during a test fails it."""
    attempts: list[object] = []
    real = socket.socket.connect

    def guarded(self, address):  # noqa: ANN001, ANN202
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise AssertionError(f"outbound connection attempted to {address!r}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield attempts
    assert attempts == []


def _cases():
    # Built once at collection for the ids; the fixture rebuilds them in a temp folder.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nbhd-hostile-ids-") as folder:
        return build_corpus(Path(folder))


CASES = _cases()
CASE_IDS = [c.id for c in CASES]


def test_corpus_covers_every_class():
    assert len(CASES) >= 100
    assert {c.cls for c in CASES} >= {0, 1, 2, 3, 5, 6, 7, 8, 9, 10}
    assert len(set(CASE_IDS)) == len(CASE_IDS)


def _case(corpus, case_id):
    return next(c for c in corpus if c.id == case_id)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_library_reads_or_raises_typed_error(corpus, case_id, listener):
    case = _case(corpus, case_id)
    try:
        data, report = read_drawings(case.path, **read_kwargs(case))
    except NbhdGeoError as err:
        assert case.expect == "error", f"unexpected error: {err}"
        if case.needle and not case.needle.startswith("--"):  # CLI spellings: CLI test
            assert case.needle in str(err)
        return
    assert case.expect == "ok", "expected an error, got a result"
    report.check()
    if case.n_features is not None:
        assert report.n_input == case.n_features  # no feature lost, GDAL or not
    assert report.n_rejected >= case.min_rejected
    assert len(data) == report.n_kept + report.n_repaired
    assert not set(case.forbidden_columns) & set(data.columns), report.dropped_columns
    for column in case.forbidden_columns:
        assert column in report.dropped_columns or column not in data.columns
    assert all(len(str(i)) <= 200 for i in data.index)
    if "name_col" in case.kwargs:
        assert data[case.kwargs["name_col"]].dropna().astype(str).str.len().max() <= 200
    assert listener.connections == []


def _cli_path(case):
    layer = case.kwargs.get("layer")
    return f"{case.path}:{layer}" if layer else str(case.path)


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _formula_cells(cells: list[str]) -> list[str]:
    bad = []
    for cell in cells:
        if cell.startswith(FORMULA_START):
            try:
                float(cell)
            except ValueError:
                bad.append(cell)
    return bad


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_cli_read_exit_codes_and_outputs(corpus, case_id, tmp_path, listener):
    case = _case(corpus, case_id)
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(cli, ["read", _cli_path(case), *case.cli, "--out", str(out), "-q"])
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1, result.stderr  # one line
        assert "error: " in result.stderr
        for python in ("crs=", "swap_xy", "override_crs", "outside=", "id_col", "keep_columns"):
            assert python not in result.stderr, result.stderr
        assert not out.exists()  # nothing half-written
        if case.expect == "ok":  # only when nothing at all could be used
            assert "no drawing can be used" in result.stderr
        elif case.needle and case.needle.startswith("--"):
            assert case.needle in result.stderr
        return
    assert case.expect == "ok", result.stdout
    rows = pd.read_csv(out / "read_report.csv", keep_default_na=False)
    if case.n_features is not None:
        assert len(rows) == case.n_features
    assert _formula_cells(_cells(out / "read_report.csv")) == []
    drawn = pyogrio.read_dataframe(out / "drawings.gpkg")
    assert not set(case.forbidden_columns) & set(drawn.columns)
    assert listener.connections == []


# ------------------------------------------------------------------ reports, end to end


def _grid(path: Path) -> Path:
    """A real statutory layer: 12 x 12 squares of 300 m over the corpus, tiny populations."""
    cells, codes, pops = [], [], []
    x0, y0 = 426_500, 420_500
    for i in range(12):
        for j in range(12):
            cells.append(shapely.box(x0 + 300 * i, y0 + 300 * j, x0 + 300 * (i + 1),
                                     y0 + 300 * (j + 1)))
            codes.append(f"G{i:02d}{j:02d}")
            pops.append([0.116, 3.0, 7.5, 42.0, 250.0][(i + j) % 5])
    gpd.GeoDataFrame({"code": codes, "pop": pops}, geometry=cells, crs=27700).to_file(
        path, layer="grid", driver="GPKG")
    return path


def _hostile_drawings(path: Path) -> Path:
    names = ["=HYPERLINK(\"x\")", "$x^$", "+Eastmoor", "@Belle", "a\rb", "n" * 5000]
    rows = []
    for k, name in enumerate(names):
        for j in range(3):  # three drawers each: counts of drawers below 10
            x = 427_000 + 600 * k + 40 * j
            rows.append({"drawing_id": f"{k}-{j}", "name": name,
                         "Your name": f"Person {k}{j}", "email": f"p{k}{j}@example.org",
                         "age": 30 + j, "geometry": shapely.box(x, 421_000, x + 700, 421_800)})
    gpd.GeoDataFrame(rows, crs=27700).to_file(path, driver="GeoJSON")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile_report")
    grid = _grid(folder / "grid.gpkg")
    drawings = _hostile_drawings(folder / "drawings.geojson")
    out = folder / "report"
    proc = run("-q", "report", str(drawings), "--layer", f"grid={grid}",
               "--layer-population", "grid=pop", "--name-col", "name", "--out", str(out))
    return folder, out, proc


@pytest.mark.slow
def test_report_on_hostile_drawings_publishes_nothing_unsafe(hostile_report):
    folder, out, proc = hostile_report
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # -q before the command: no warnings, no progress
    checked = 0
    for path in sorted(out.glob("*.csv")):
        assert _formula_cells(_cells(path)) == [], path.name
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        checked += _assert_suppressed(frame, path.name)
    for layer in pyogrio.list_layers(out / "layers.gpkg")[:, 0]:
        frame = pyogrio.read_dataframe(out / "layers.gpkg", layer=layer)
        assert not {"Your name", "email", "age"} & set(frame.columns), layer
        checked += _assert_suppressed(frame.drop(columns="geometry", errors="ignore")
                                      .astype(str), layer)
    assert checked >= 20  # counts were published, and all of them were checked
    assert not list(folder.glob(".report.partial-*"))
    html = (out / "index.html").read_text()
    assert "0.116" not in html and "Person 0" not in html and "@example.org" not in html


COUNT_COLUMNS = {"n_drawings", "n_excluded", "drawers", "pop_outside", "pop_included_outside",
                 "pop_excluded_inside", "fit_population"}


def _assert_suppressed(frame: pd.DataFrame, where: str) -> int:
    """Every count cell is empty, 0, "<10" or a whole number of at least 10."""
    n = 0
    for col in [c for c in frame.columns if "population" in c or c in COUNT_COLUMNS]:
        for value in frame[col]:
            if value in ("", "<10", "nan", "None") or ";" in value:
                continue
            n += 1
            assert float(value) == 0 or float(value) >= 10, (where, col, value)
            assert float(value) == round(float(value)), (where, col, value)
    return n


@pytest.mark.slow
def test_report_refuses_reused_out_then_overwrites_cleanly(hostile_report, tmp_path):
    folder, first, proc = hostile_report
    assert proc.returncode == 0, proc.stderr
    # Work on a copy, so the module's report stays as other tests expect it.
    out = tmp_path / "report"
    shutil.copytree(first, out)
    stale = out / "stale_from_before.csv"
    stale.write_text("old")
    again = run("report", str(folder / "drawings.geojson"), "--layer",
                f"grid={folder / 'grid.gpkg'}", "--out", str(out))
    assert again.returncode == 2
    assert "--overwrite" in again.stderr and again.stderr.count("\n") == 1
    assert stale.exists()
    replaced = run("report", str(folder / "drawings.geojson"), "--layer",
                   f"grid={folder / 'grid.gpkg'}", "--out", str(out), "--overwrite", "-q")
    assert replaced.returncode == 0, replaced.stderr
    assert not stale.exists() and (out / "index.html").exists()


@pytest.mark.slow
def test_failed_report_leaves_nothing_behind(hostile_report, tmp_path):
    folder, _, _ = hostile_report
    out = tmp_path / "failed"
    proc = run("report", str(folder / "drawings.geojson"), "--layer",
               f"grid={folder / 'grid.gpkg'}", "--layer-population", "grid=no_such_column",
               "--out", str(out), "-q")
    assert proc.returncode == 2, proc.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".failed*"))


@pytest.mark.parametrize("setup, needle", [
    ("file", "is a file"),
    ("under-file", "cannot write"),
    ("bad-layer-name", "plain names"),
])
def test_report_output_checks_come_first(tmp_path, setup, needle):
    grid = _grid(tmp_path / "grid.gpkg")
    drawings = _hostile_drawings(tmp_path / "d.geojson")
    out = tmp_path / "out"
    layer = f"grid={grid}"
    if setup == "file":
        out.write_text("x")
    elif setup == "under-file":
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "out"
    else:
        layer = f"a/b={grid}"
    result = CliRunner().invoke(cli, ["report", str(drawings), "--layer", layer,
                                      "--out", str(out)])
    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_read_keep_column_override(tmp_path):
    path = tmp_path / "d.geojson"
    gpd.GeoDataFrame({"drawing_id": ["a", "b"], "age": [3, 4], "email": ["a@b.org", "c@d.org"]},
                     geometry=[shapely.box(-1.5, 53.68, -1.49, 53.69),
                               shapely.box(-1.48, 53.68, -1.47, 53.69)],
                     crs=4326).to_file(path, driver="GeoJSON")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["read", str(path), "--keep-column", "age", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.stderr
    columns = set(pyogrio.read_dataframe(out / "drawings.gpkg").columns)
    assert "age" in columns and "email" not in columns
    summary = (out / "read_summary.txt").read_text()
    assert "columns left out (keep one with --keep-column NAME): email (column name suggests e-mail)" in summary
    assert "email" in result.stderr  # the read says what it dropped


def test_verbose_and_quiet_before_or_after_the_command(tmp_path):
    path = tmp_path / "d.geojson"
    gpd.GeoDataFrame({"drawing_id": ["a"]}, geometry=[shapely.box(-1.5, 53.68, -1.49, 53.69)],
                     crs=4326).to_file(path, driver="GeoJSON")
    for args in (["-q", "read", str(path), "--out", str(tmp_path / "a")],
                 ["read", str(path), "--out", str(tmp_path / "b"), "-q"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
    loud = CliRunner().invoke(cli, ["-v", "read", str(path), "--out", str(tmp_path / "c")])
    assert loud.exit_code == 0, loud.stderr


def test_linked_crs_never_reaches_the_listener_in_a_real_process(corpus, listener, tmp_path):
    linked = [c for c in corpus if c.cls == 5 and c.expect == "ok"]
    assert len(linked) >= 4
    for case in linked:
        proc = run("read", str(case.path), "--out", str(tmp_path / case.name), "-q")
        assert proc.returncode == 0, proc.stderr
    assert listener.connections == []


def test_listener_does_record_a_connection(listener):
    """The guard can fail: a real connection from another process is recorded."""
    before = len(listener.connections)
    code = (f"import socket; s = socket.create_connection(('127.0.0.1', {listener.port})); "
            "s.close()")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    for _ in range(50):
        if len(listener.connections) > before:
            break
        threading.Event().wait(0.05)
    assert len(listener.connections) == before + 1
    listener.connections.clear()


def test_raw_gdal_would_connect_to_a_linked_crs(corpus, listener):
    """Without nbhd_geo's guard GDAL does connect: the listener test above can fail."""
    case = next(c for c in corpus if c.name == "network-crs-link")
    before = len(listener.connections)
    code = f"import pyogrio; pyogrio.read_dataframe({str(case.path)!r})"
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    for _ in range(50):
        if len(listener.connections) > before:
            break
        threading.Event().wait(0.05)
    assert len(listener.connections) > before
    listener.connections.clear()


def test_write_csv_neutralises_formulas_and_quotes_cr(tmp_path):
    frame = pd.DataFrame({"name": ["=1+1", "+x", "-y", "@z", "\tt", "\rr", "a\rb", "ok"],
                          "n": range(8)})
    path = write_csv(frame, tmp_path / "x.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert len(back) == 8  # the bare \r did not split a row
    assert back["name"].tolist()[:6] == ["'=1+1", "'+x", "'-y", "'@z", "'\tt", "'\rr"]
    assert back["name"].tolist()[6:] == ["a\rb", "ok"]


def test_publish_frame_suppresses_drawers_and_fractions():
    frame = pd.DataFrame({"n_drawings": [1, 3, 12], "population": [0.116, 9.6, 10.4],
                          "pop_iou": [0.5, 0.6, 0.7]})
    out = publish_frame(frame, threshold=10)
    assert out["n_drawings"].tolist() == ["<10", "<10", "12"]
    assert out["population"].tolist() == ["<10", "<10", "10"]
    # A ratio of counts in a row where one is suppressed would give it back.
    assert out["pop_iou"].tolist() == ["suppressed", "suppressed", 0.7]


def test_staged_output_leaves_nothing_when_the_body_fails(tmp_path):
    target = tmp_path / "report"
    with pytest.raises(RuntimeError), staged_output(target) as stage:
        (stage / "best_fit.csv").write_text("unsuppressed")
        raise RuntimeError("failed half-way")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_html_suppresses_counts_of_drawers(hostile_report):
    _, out, proc = hostile_report
    assert proc.returncode == 0, proc.stderr
    html = (out / "index.html").read_text()
    table = html[html.index("Agreement by neighbourhood"):]
    table = table[:table.index("</table>")]
    cells = re.findall(r"<td>([^<]*)</td>", table)
    assert cells and "3" not in cells and "3.00" not in cells


def test_boundary_metrics_by_batch_are_identical(monkeypatch):
    """Tension's boundary stage works a batch of areas at a time: same numbers as at once."""
    import numpy as np

    from nbhd_geo.measures import boundary

    rng = np.random.default_rng(13)
    a = np.array([shapely.Point(rng.uniform(0, 5000, 2)).buffer(rng.uniform(100, 600))
                  for _ in range(23)], dtype=object)
    b = np.array([shapely.box(*(np.asarray(g.bounds) + rng.normal(0, 40, 4))) for g in a],
                 dtype=object)
    b[4] = shapely.Polygon()  # an area with no reference
    kw = {"tolerances": (25.0, 50.0), "spacing": 10.0}
    monkeypatch.setattr(boundary, "_PAIR_BATCH", 10_000)
    whole = boundary._boundary_metrics(a, b, **kw)
    monkeypatch.setattr(boundary, "_PAIR_BATCH", 4)
    batched = boundary._boundary_metrics(a, b, **kw)
    assert whole.keys() == batched.keys()
    for key in whole:
        np.testing.assert_array_equal(whole[key], batched[key])
    assert np.isnan(whole["hausdorff_m"][4]) and whole["f1_50"][4] == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["layout-drawing-id-with-null", "layout-id-and-drawing-id",
                                  "layout-text-fid", "layout-case-clash",
                                  "layout-name-col-next-to-neighbourhood",
                                  "layout-name-col-case-clash", "mathtext-ids"])
def test_report_survives_column_layouts(corpus, name, tmp_path):
    case = next(c for c in corpus if c.name == name)
    grid = tmp_path / "grid.gpkg"
    cells = [shapely.box(-1.51 + 0.01 * i, 53.67 + 0.01 * j, -1.50 + 0.01 * i, 53.68 + 0.01 * j)
             for i in range(6) for j in range(4)]
    gpd.GeoDataFrame({"code": [f"c{k}" for k in range(len(cells))]}, geometry=cells,
                     crs=4326).to_file(grid, layer="grid", driver="GPKG")
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["report", str(case.path), *case.cli, "--layer",
                                      f"grid={grid}", "--layer-id", "grid=code",
                                      "--out", str(out), "-q"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    layers = set(pyogrio.list_layers(out / "layers.gpkg")[:, 0])
    assert {"areas", "best_fit_grid", "split_units_grid"} <= layers
    assert "drawings" not in layers  # individual drawings only with --include-drawings
    rows = pd.read_csv(out / "read_report.csv")
    assert len(rows) == case.n_features


@pytest.mark.slow
def test_population_file_with_linked_crs_is_read_offline(listener, tmp_path):
    grid = _grid(tmp_path / "grid.gpkg")
    drawings = _hostile_drawings(tmp_path / "d.geojson")
    points = {"type": "FeatureCollection",
              "crs": {"type": "link", "properties": {
                  "href": f"http://127.0.0.1:{listener.port}/pop.wkt", "type": "ogcwkt"}},
              "features": [{"type": "Feature", "properties": {"count": 5 + k},
                            "geometry": {"type": "Point",
                                         "coordinates": [-1.535 + 0.004 * k, 53.675]}}
                           for k in range(20)]}
    pop = tmp_path / "pop.geojson"
    pop.write_text(__import__("json").dumps(points))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["report", str(drawings), "--layer", f"grid={grid}",
                                      "--population", str(pop), "--out", str(out), "-q"])
    assert result.exit_code in (0, 2), (result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    assert listener.connections == []


@pytest.mark.parametrize("args, needle", [
    (["read"], "Missing argument"),
    (["read", "x.geojson", "--bogus"], "No such option"),
    (["nosuch"], "No such command"),
    (["read", "x.geojson", "--out", "o", "--outside", "maybe"], "--outside"),
])
def test_usage_errors_are_one_line(args, needle):
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
    assert "Fix: see nbhd-geo" in proc.stderr


@pytest.mark.slow
def test_report_keeps_a_kept_column_and_drops_the_rest(tmp_path):
    grid = _grid(tmp_path / "grid.gpkg")
    drawings = _hostile_drawings(tmp_path / "d.geojson")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["report", str(drawings), "--layer", f"grid={grid}",
                                      "--keep-column", "age", "--include-drawings",
                                      "--out", str(out), "-q"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    for layer in ("drawings", "areas"):
        columns = set(pyogrio.read_dataframe(out / "layers.gpkg", layer=layer).columns)
        assert "age" in columns and not {"Your name", "email"} & columns, (layer, columns)


# ------------------------------------------------------------------ names that could break the page

PAGE_BREAKERS = ["Hollins <!--<script> Green", "Low </script><b>Moor", "Ash\u2028Vale",
                 "Mill & <!-- --> Dale"]


@pytest.fixture(scope="module")
def page_breaker_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page_breakers")
    grid = _grid(folder / "grid.gpkg")
    rows = []
    for k, name in enumerate(PAGE_BREAKERS):
        for j in range(3):
            x = 427_000 + 800 * k + 40 * j
            rows.append({"drawing_id": f"{k}-{j}", "name": name,
                         "geometry": shapely.box(x, 421_000, x + 700, 421_800)})
    drawings = folder / "drawings.geojson"
    gpd.GeoDataFrame(rows, crs=27700).to_file(drawings, driver="GeoJSON")
    out = folder / "report"
    proc = run("-q", "report", str(drawings), "--layer", f"grid={grid}",
               "--layer-population", "grid=pop", "--name-col", "name", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def _script_bodies(html: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.DOTALL)


def test_page_breaking_names_stay_inside_their_script(page_breaker_report):
    html = (page_breaker_report / "index.html").read_text(encoding="utf-8")
    bodies = _script_bodies(html)
    assert len(bodies) == html.count("<script")  # every script ends where it should
    layers = [b for b in bodies if b.startswith('{"type":"FeatureCollection"')]
    assert layers
    for body in bodies:
        assert "<!--" not in body and "<script" not in body.lower()
        assert "\u2028" not in body and "\u2029" not in body
    names = {v for body in layers for f in json.loads(body)["features"]
             for v in f["properties"].values() if isinstance(v, str)}
    assert set(PAGE_BREAKERS) <= names  # read back exactly, once parsed as JSON


@pytest.mark.browser
def test_page_breaking_names_leave_the_map_and_scripts_running(page_breaker_report):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("headless Chromium not installed (install Debian's chromium)")
    pytest.importorskip("playwright", reason="playwright (test extra) not installed")
    from playwright.sync_api import sync_playwright

    html = (page_breaker_report / "index.html").read_text(encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.goto((page_breaker_report / "index.html").as_uri(), wait_until="load")
        n_scripts = page.evaluate("document.scripts.length")
        map_ready = page.evaluate("document.querySelector('#map.leaflet-container') !== null")
        n_shapes = page.evaluate("document.querySelectorAll('#map path').length")
        injected = page.evaluate("document.querySelectorAll('b').length")
        browser.close()
    assert problems == []
    assert n_scripts == html.count("<script")
    assert map_ready and n_shapes >= len(PAGE_BREAKERS)
    assert injected == html.count("<b>")  # no element made from a name


# ------------------------------------------------------------------ one writer per output folder

_HOLDER = """
import sys, time, pathlib
from nbhd_geo.io.publish import staged_output
out, ready, seconds = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), float(sys.argv[3])
with staged_output(out, overwrite=True) as stage:
    (stage / "who.txt").write_text("holder")
    ready.write_text("ready")
    time.sleep(seconds)
"""


def _start_holder(out: Path, tmp_path: Path, seconds: float) -> subprocess.Popen[bytes]:
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out), str(ready), str(seconds)])
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def _tiny_drawings(path: Path) -> Path:
    gpd.GeoDataFrame({"drawing_id": ["a"]}, geometry=[shapely.box(430000, 420000, 430100,
                                                                  420100)],
                     crs=27700).to_file(path, driver="GeoJSON")
    return path


def test_second_writer_to_the_same_out_stops_with_exit_2(tmp_path):
    out = tmp_path / "out"
    holder = _start_holder(out, tmp_path, seconds=30)
    try:
        started = time.monotonic()
        proc = run("read", str(_tiny_drawings(tmp_path / "d.geojson")), "--out", str(out))
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "another nbhd-geo run is writing" in proc.stderr and "Traceback" not in proc.stderr
    assert waited >= 5  # it waited for the lock before giving up
    assert (out / "who.txt").read_text() == "holder"  # the first run's output, whole
    assert not list(tmp_path.glob(".out.*"))  # lock and staging folders gone


def test_run_killed_mid_write_keeps_the_old_output_and_is_cleaned_next_time(tmp_path):
    out = tmp_path / "out"
    with staged_output(out) as stage:
        (stage / "who.txt").write_text("old")
    holder = _start_holder(out, tmp_path, seconds=60)
    holder.kill()  # SIGKILL: no cleanup of any kind
    holder.wait(timeout=30)
    assert (out / "who.txt").read_text() == "old"
    assert list(tmp_path.glob(".out.partial-*"))  # what the killed run left
    proc = run("read", str(_tiny_drawings(tmp_path / "d.geojson")), "--out", str(out),
               "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert (out / "drawings.gpkg").exists() and not (out / "who.txt").exists()
    assert not list(tmp_path.glob(".out.*"))


def test_kill_between_two_renames_is_recovered_at_the_next_run(tmp_path):
    # The state a run killed between "out -> .out.old-*" and ".partial -> out" leaves.
    out = tmp_path / "out"
    old = tmp_path / ".out.old-x1"
    old.mkdir()
    (old / "who.txt").write_text("old")
    with pytest.raises(RuntimeError), staged_output(out, overwrite=True):
        raise RuntimeError("the next run fails early")
    assert (out / "who.txt").read_text() == "old"
    assert not list(tmp_path.glob(".out.*"))


def test_swap_leaves_a_complete_output_at_every_moment(tmp_path):
    out = tmp_path / "out"
    with staged_output(out) as stage:
        (stage / "who.txt").write_text("0")
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                seen.append((out / "who.txt").read_text())
            except FileNotFoundError:
                seen.append("missing")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for k in range(1, 40):
            with staged_output(out, overwrite=True) as stage:
                (stage / "who.txt").write_text(str(k))
    finally:
        stop.set()
        watcher.join()
    assert "missing" not in seen and len(seen) > 40
    assert (out / "who.txt").read_text() == "39"


def _encrypted_flag(zip_path: Path) -> None:
    """Set the "encrypted" bit of every member, as a password-protected zip has."""
    data = bytearray(zip_path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            data[start + offset] |= 0x1
            start = data.find(signature, start + 4)
    zip_path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix", [".zip", ".kmz"])
def test_encrypted_zip_is_a_clear_exit_2(tmp_path, suffix):
    import zipfile

    src = tmp_path / "shape"
    src.mkdir()
    gpd.GeoDataFrame({"drawing_id": ["a"]}, geometry=[shapely.box(-1.5, 53.6, -1.49, 53.61)],
                     crs=4326).to_file(src / "d.shp")
    path = tmp_path / f"locked{suffix}"
    with zipfile.ZipFile(path, "w") as zf:
        for member in sorted(src.iterdir()):
            zf.write(member, member.name)
    _encrypted_flag(path)
    assert all(i.flag_bits & 0x1 for i in zipfile.ZipFile(path).infolist())
    proc = run("-q", "read", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "encrypted (password-protected) zip" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "out").exists()
