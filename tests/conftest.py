"""Shared fixtures. Real data lives in ../shared/data beside the checkout (never copied here).

With the shared data present, a skipped test fails the run (as geopandas' CI does): a skip
there means a test silently stopped testing. Only skips whose reason names a missing
system tool (see ``ALLOWED_SKIPS``) stay skips; ``NBHD_GEO_ALLOW_SKIPS=1`` turns the rule
off for a local run.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SHARED = Path(os.environ.get("NBHD_GEO_SHARED", ROOT.parent / "shared" / "data")).resolve()

#: Skip reasons (lower case substrings) that stay skips even with the shared data present:
#: a system tool or service the machine may lack, not data this project provides.
ALLOWED_SKIPS = ("chromium", "npm", "postgis", "playwright", "qgis", "word list")


def shared_present() -> bool:
    """True when ../shared/data (or $NBHD_GEO_SHARED) holds the project's real data."""
    return (SHARED / "SOURCES.md").is_file()


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data, or skip the calling test with a clear reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"real data not available: {path} is absent (put the project's shared/ folder "
            "beside the checkout, or set NBHD_GEO_SHARED to its data/ folder)"
        )
    return path


@pytest.fixture
def shared():
    """Callable fixture: ``shared('ons', 'wakefield', 'lsoa11.geojson')`` -> Path or skip."""
    return shared_path


@pytest.fixture(scope="session")
def city(tmp_path_factory):
    """One report on the realistic city, shared by every module that checks it (it is slow)."""
    import shutil
    import subprocess
    import sys

    from tests._planner_city import build_city

    exe = [sys.executable, "-m", "nbhd_geo.cli"]
    shared_path("ons", "ew2021", "boundaries_lsoa21.gpkg")
    shared_path("imd2025", "imd2025_england_lsoa21.csv")
    folder = tmp_path_factory.mktemp("city")
    c = build_city(SHARED, out=folder / "in", edge=4)
    out = folder / "report"
    args = [*exe, "report", str(c.drawings), "--name-col", "name",
            "--layer", f"lsoa={c.lsoa}", "--layer", f"ward={c.wards}",
            "--layer", f"district={c.lad}", "--clip-to", "E08000036",
            "--imd", str(c.imd / "imd2025_england_lsoa21.csv"),
            "--imd-population", str(c.imd / "census2021_usual_residents_lsoa21.csv"),
            "--budget", "1000000",
            "--population", str(c.population), "--population-col", "usual_residents_total",
            "--population-key", "lsoa21_code", "--label", "ward=ward22_name",
            "--out", str(out)]
    if shutil.which("chromium"):
        args.append("--pdf")
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Processor time, not wall time: the test machine is shared.
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, proc.stderr
    return c, out, proc, seconds



@pytest.fixture
def samples() -> Path:
    return SAMPLES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``shared`` every test that reaches the ``shared`` fixture, however indirectly."""
    for item in items:
        if "shared" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("shared"):
            item.add_marker(pytest.mark.shared)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def skip_is_allowed(reason: str) -> bool:
    """Whether a skip with this reason may stay a skip when the shared data is present."""
    low = reason.lower()
    return any(word in low for word in ALLOWED_SKIPS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    if os.environ.get("NBHD_GEO_ALLOW_SKIPS") == "1" or not shared_present():
        return
    reason = _skip_reason(report)
    if skip_is_allowed(reason):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped although the shared data is present under {SHARED}: {reason}\n"
        "A skip here means the test stopped testing: fix the cause, or if a missing system "
        "tool is the reason, name it so tests/conftest.py ALLOWED_SKIPS accepts it "
        "(NBHD_GEO_ALLOW_SKIPS=1 allows every skip for a local run)."
    )
