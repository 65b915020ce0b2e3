"""Shared fixtures. Real data lives in ../shared/data beside the checkout (never copied here)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SHARED = Path(os.environ.get("NBHD_GEO_SHARED", ROOT.parent / "shared" / "data")).resolve()


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


@pytest.fixture
def samples() -> Path:
    return SAMPLES
