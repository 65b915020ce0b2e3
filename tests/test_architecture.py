"""The package layout is the pipeline: contracts, no cycles, one crosswalk per layer pair."""

from __future__ import annotations

import importlib
import subprocess
import sys
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


def test_package_top_holds_few_modules_and_no_shims():
    top = sorted(p.name for p in (ROOT / "src" / "nbhd_geo").glob("*.py"))
    assert top == ["__init__.py", "errors.py", "reconcile.py", "settings.py"], top
    for name in ["bestfit", "imd", "workflow", "reporting", "_deprecated"]:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"nbhd_geo.{name}")


def test_reconcile_is_the_core_entry_point():
    import nbhd_geo.reconcile as rec

    assert callable(rec.reconcile) and rec.Reconciliation.__module__ == "nbhd_geo.reconcile"
    import nbhd_geo.report as rep

    assert not hasattr(rep, "reconcile")


def test_no_module_is_too_long():
    too_long = {str(p.relative_to(ROOT)): n for p in (ROOT / "src").rglob("*.py")
                if (n := len(p.read_text().splitlines())) > 800}
    assert not too_long, too_long


def test_no_issue_numbers_in_source():
    import re

    hits = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "src").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"(issue|#)\s?#?\d{1,3}\b(?![\d.])", line, re.I)
            and re.search(r"\bissue\b|\(#\d", line, re.I)]
    assert not hits, hits


def test_architecture_picture_is_current():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import gen_architecture
    finally:
        sys.path.pop(0)
    svg, md = gen_architecture.render()
    assert (ROOT / "docs" / "architecture.svg").read_text() == svg, "run `make docs`"
    assert (ROOT / "docs" / "architecture.md").read_text() == md, "run `make docs`"
    assert "`report` | `deprivation`" in md


SECTIONS = ["board", "index", "details", "appendix", "consensus", "voices", "plan"]


@pytest.mark.parametrize("name", SECTIONS)
def test_every_page_section_follows_one_protocol(name):
    """Each section module: ``build(facts: ReportFacts) -> SectionOutput``, nothing else asked."""
    import inspect
    import typing

    from nbhd_geo.report.facts.report import ReportFacts
    from nbhd_geo.report.sections.base import SectionOutput

    module = importlib.import_module(f"nbhd_geo.report.sections.{name}")
    build = module.build
    params = list(inspect.signature(build).parameters.values())
    assert [p.name for p in params] == ["facts"], params
    hints = typing.get_type_hints(build)
    assert hints == {"facts": ReportFacts, "return": SectionOutput}, hints


def test_report_folder_has_one_shape():
    """Facts, sections and page are packages; the report's top holds only the entry points."""
    report = ROOT / "src" / "nbhd_geo" / "report"
    top = sorted(p.name for p in report.glob("*.py"))
    assert top == ["__init__.py", "database.py", "demo.py", "options.py", "overlap.py",
                   "qgis.py"], top
    assert {p.name for p in report.iterdir() if (p / "__init__.py").exists()} == {
        "facts", "sections", "page", "maps"}
    sections = {p.stem for p in (report / "sections").glob("*.py")} - {"__init__", "base"}
    assert set(SECTIONS) <= sections
