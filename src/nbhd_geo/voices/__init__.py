"""Many voices: consensus of many drawings, outlier drawings, footprints from points.

The cut-offs of their verdicts are small option objects (:mod:`nbhd_geo.voices.options`).
"""

from __future__ import annotations

from nbhd_geo.voices.compare import Comparison, compare_drawings
from nbhd_geo.voices.consensus import (
    Consensus,
    auto_cell_size,
    consensus,
)
from nbhd_geo.voices.councillors import CouncillorView, councillor_view
from nbhd_geo.voices.coverage import Coverage, engagement_coverage
from nbhd_geo.voices.options import (
    ContestedRule,
    OutlierCutoffs,
    ReusedCrosswalks,
    StabilityRule,
    UnheardRule,
    WardColumns,
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
from nbhd_geo.voices.stability import Stability, core_stability
from nbhd_geo.voices.weighting import Weights, kish_ess, poststratify, rake

__all__ = [
    "engagement_coverage",
    "Coverage",
    "poststratify",
    "rake",
    "kish_ess",
    "Weights",
    "core_stability",
    "Stability",
    "compare_drawings",
    "Comparison",
    "councillor_view",
    "CouncillorView",

    "Consensus",
    "consensus",
    "auto_cell_size",
    "FLAGS",
    "outliers",
    "robust_far",
    "PointFootprints",
    "point_footprints",
    "ContestedRule",
    "OutlierCutoffs",
    "StabilityRule",
    "UnheardRule",
    "WardColumns",
    "ReusedCrosswalks",
]
