"""The package layout is the pipeline: contracts, no cycles, one crosswalk per layer pair."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import grimp
import pytest

import nbhd_geo

ROOT = Path(__file__).resolve().parents[1]
SHIMS = {
    "bestfit", "boundary", "consensus", "disclosure", "imd", "layerqa", "outliers", "plot",
    "plot_consensus", "points", "population", "privacy", "reporting", "sections", "tension",
    "validate", "workflow",
}


def _graph():
    return grimp.build_graph("nbhd_geo", cache_dir=None)


def test_import_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "BROKEN" not in run.stdout


def test_no_import_cycle_between_modules():
    graph = _graph()
    modules = {m for m in graph.modules
               if m != "nbhd_geo" and m.split(".")[1] not in SHIMS}
    # Tarjan's strongly connected components over module -> imported module.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in modules:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            # A package importing its own submodules (re-exports) is not a cycle.
            real = [m for m in comp if not any(o.startswith(m + ".") for o in comp)]
            if len(real) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for m in sorted(modules):
        if m not in index:
            visit(m)
    assert cycles == []


def test_cli_and_report_are_never_imported_from_below():
    graph = _graph()
    below = [m for m in graph.modules if m.split(".")[1:2]
             and m.split(".")[1] in {"io", "overlay", "measures", "deprivation", "voices", "pcn"}]
    for m in below:
        for imported in graph.find_modules_directly_imported_by(m):
            assert not imported.startswith(("nbhd_geo.cli", "nbhd_geo.report")), (m, imported)


def test_top_level_exports_every_readme_feature():
    for name in ["read_layer", "read_drawings", "crosswalk", "apportion", "best_fit",
                 "check_tiling", "tension", "fragmentation", "layer_tension", "unit_splits",
                 "boundary_f1", "hausdorff", "read_imd", "imd_summary", "rank_targets",
                 "allocate", "consensus", "outliers", "point_footprints", "pcn_footprints",
                 "list_deprivation", "suppress_small_counts"]:
        assert callable(getattr(nbhd_geo, name)), name
        assert name in nbhd_geo.__all__, name


@pytest.mark.parametrize("old, new, name", [
    ("nbhd_geo.bestfit", "nbhd_geo.overlay.bestfit", "best_fit"),
    ("nbhd_geo.population", "nbhd_geo.overlay.apportion", "apportion"),
    ("nbhd_geo.imd", "nbhd_geo.deprivation", "read_imd"),
    ("nbhd_geo.imd", "nbhd_geo.deprivation", "convert_lsoa_vintage"),
    ("nbhd_geo.tension", "nbhd_geo.measures", "unit_splits"),
    ("nbhd_geo.workflow", "nbhd_geo.report.workflow", "reconcile"),
    ("nbhd_geo.privacy", "nbhd_geo.io.privacy", "personal_columns"),
])
def test_old_paths_still_work_and_warn(old, new, name):
    code = (
        "import warnings, importlib\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        f"    old = importlib.import_module({old!r})\n"
        f"new = importlib.import_module({new!r})\n"
        f"assert getattr(old, {name!r}) is getattr(new, {name!r})\n"
        "assert any(issubclass(x.category, DeprecationWarning) and "
        f"{new!r} in str(x.message) for x in w), [str(x.message) for x in w]\n"
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "ok", run.stderr


def test_function_is_not_shadowed_by_its_old_module():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import nbhd_geo.consensus  # noqa: F401
        import nbhd_geo.outliers  # noqa: F401
        import nbhd_geo.tension  # noqa: F401
    # The old module paths bind a module on the package; it must still behave as the function.
    for name in ["tension", "consensus", "outliers"]:
        assert callable(getattr(nbhd_geo, name)), name
    import geopandas as gpd
    import shapely

    drawn = gpd.GeoDataFrame({"name": ["N"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=27700)
    wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]}, geometry=[
        shapely.box(0, 0, 70, 100), shapely.box(70, 0, 200, 100)], crs=27700)
    t = nbhd_geo.tension(drawn, wards, area_id="name", unit_id="ward")
    assert t.loc["N", "n_units"] == 2


def test_architecture_picture_is_current():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import gen_architecture
    finally:
        sys.path.pop(0)
    svg, md = gen_architecture.render()
    assert (ROOT / "docs" / "architecture.svg").read_text() == svg, "run `make docs`"
    assert (ROOT / "docs" / "architecture.md").read_text() == md, "run `make docs`"
    assert "`report` | `datasets`, `deprivation`" in md
