"""``nbhd-geo report`` refuses mistakes in its options in the first seconds, in one line
naming the option, with exit status 2; and its --help about the allocation holds."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests._planner_city import build_city
from tests.conftest import SHARED, shared_path

EXE = [sys.executable, "-m", "nbhd_geo.cli"]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    shared_path("ons", "ew2021", "boundaries_lsoa21.gpkg")
    shared_path("imd2025", "imd2025_england_lsoa21.csv")
    return build_city(SHARED, out=tmp_path_factory.mktemp("city"))


def _run(city, *extra: str, tmp) -> tuple[subprocess.CompletedProcess[str], float]:
    args = [*EXE, "report", str(city.drawings), "--name-col", "name",
            "--layer", f"lsoa={city.lsoa}", "--layer", f"ward={city.wards}",
            "--out", str(tmp / "out"), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return proc, time.perf_counter() - t0


@pytest.mark.shared
@pytest.mark.parametrize(("extra", "option", "says"), [
    (("--imd", "IMD", "--budget", "0"), "--budget", "must be more than £0"),
    (("--imd", "IMD", "--budget", "-5"), "--budget", "must be more than £0"),
    (("--imd", "IMD"), "--imd-population", "census2021_usual_residents_lsoa21.csv"),
    (("--label", "ward=ward_nm"), "--label", "['ward22_code', 'ward22_name']"),
])
def test_mistakes_refused_first(city, tmp_path, extra, option, says):
    extra = tuple(str(city.imd / "imd2025_england_lsoa21.csv") if e == "IMD" else e
                  for e in extra)
    proc, seconds = _run(city, *extra, tmp=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {option}: ") and says in lines[0]
    assert not (tmp_path / "out").exists()
    # Before any layer is read in full: the time is Python's start-up (the CI machine is
    # shared; a quiet machine takes under 2 s).
    assert seconds < 10, seconds


@pytest.mark.shared
def test_layer_without_names_warns_which_option_adds_them(city, tmp_path):
    import geopandas as gpd

    bare = tmp_path / "wards_codes_only.gpkg"
    gpd.read_file(city.wards)[["ward22_code", "geometry"]].to_file(bare)
    args = [*EXE, "report", str(city.drawings), "--name-col", "name",
            "--layer", f"ward={bare}", "--imd", str(city.imd / "imd2025_england_lsoa21.csv"),
            "--budget", "0", "--out", str(tmp_path / "out")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert ("--layer ward: wards_codes_only.gpkg has no column of unit names, so the report "
            "prints codes; add --label ward=COLUMN to name them (columns: ward22_code)"
            in proc.stderr)
