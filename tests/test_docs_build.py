"""Build the documentation with ``mkdocs build --strict`` (warnings are errors).

mkdocs, the Material theme and mkdocstrings come with the ``test`` and ``docs``
extras; the test is skipped, with the reason, only where they are not installed. The
build needs no network access: the site is written to a temporary folder, and the
theme's web fonts are disabled in ``mkdocs.yml``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs", reason="mkdocs not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="mkdocs-material not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings", reason="mkdocstrings not installed: pip install -e '.[docs]'")
pytest.importorskip(
    "mkdocstrings_handlers.python",
    reason="mkdocstrings-python not installed: pip install -e '.[docs]'",
)

PUBLIC_MODULES = [
    "io.read", "io.validate", "io.privacy", "io.disclosure", "overlay.crosswalk",
    "overlay.apportion", "overlay.bestfit", "overlay.tiling", "measures.tension", "measures.split",
    "measures.boundary", "deprivation.summary", "deprivation.allocation", "deprivation.imd",
    "deprivation.vintage", "voices.consensus",
    "voices.outliers", "voices.points", "pcn.footprints", "pcn.read", "pcn.lists", "report.overlap", "reconcile",
    "cli.main",
]
PUBLIC_MODULES += ["io.postgis", "io.pgwrite", "report.database", "report.qgis"]
PUBLIC_MODULES += ["io.options", "voices.options"]


def test_every_public_module_has_a_reference_page():
    text = "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    missing = [m for m in PUBLIC_MODULES if f"::: nbhd_geo.{m}\n" not in text]
    assert not missing, f"no API reference page for nbhd_geo.{missing}"


def test_every_cli_command_is_documented():
    from nbhd_geo.cli.main import cli

    page = (ROOT / "docs" / "how-to" / "planner-cli.md").read_text()
    missing = [name for name in cli.commands if f"nbhd-geo {name}" not in page]
    assert not missing, f"CLI commands without a how-to section: {missing}"


def test_mkdocs_build_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    warnings = [line for line in log.splitlines() if re.match(r"^\s*WARNING", line)]
    assert not warnings, "\n".join(warnings)
    site = tmp_path / "site"
    for page in ["index.html", "tutorial/index.html", "methods/index.html",
                 "data-sources/index.html", "privacy/index.html",
                 "reference/overlay/index.html", "how-to/planner-cli/index.html"]:
        assert (site / page).is_file(), page
    # the API reference is really generated from the docstrings
    overlay = (site / "reference" / "overlay" / "index.html").read_text()
    assert "nbhd_geo.overlay.crosswalk.crosswalk" in overlay


def test_rst_markup_is_rewritten_for_the_site():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from griffe_rst import rst_to_markdown
    finally:
        sys.path.remove(str(ROOT / "docs"))
    text = (
        "See :func:`nbhd_geo.crosswalk` and :class:`~nbhd_geo.overlay.crosswalk.Crosswalk`.\n\n"
        "Agreement :math:`a_k(p)`:\n\n.. math::\n\n    x = \\frac{1}{2}\n\nDone."
    )
    out = rst_to_markdown(text)
    assert "`nbhd_geo.crosswalk`" in out and "`Crosswalk`" in out
    assert "$a_k(p)$" in out and "$$\nx = \\frac{1}{2}\n$$" in out
    assert ":func:" not in out and ".. math::" not in out
    # definition lists of the leading prose become bullets; numpydoc sections are untouched
    doc = ("Rules:\n\ncentroid\n    ONS rule.\nmajority\n    Half inside.\n\n"
           "Parameters\n----------\nareas\n    Drawn areas.\n")
    out = rst_to_markdown(doc)
    assert "- centroid: ONS rule.\n- majority: Half inside." in out
    assert "areas\n    Drawn areas." in out
