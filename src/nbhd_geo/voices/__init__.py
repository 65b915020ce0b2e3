"""Many voices: consensus of many drawings, outlier drawings, footprints from points."""

from __future__ import annotations

from nbhd_geo.voices.consensus import (
    Consensus,
    auto_cell_size,
    consensus,
)
from nbhd_geo.voices.outliers import (
    FLAGS,
    outliers,
    robust_far,
)
from nbhd_geo.voices.points import (
    PointFootprints,
    point_footprints,
)

__all__ = [
    "Consensus",
    "consensus",
    "auto_cell_size",
    "FLAGS",
    "outliers",
    "robust_far",
    "PointFootprints",
    "point_footprints",
]
