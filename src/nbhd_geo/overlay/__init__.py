"""One reconciliation of two polygon layers: the exact crosswalk and what is computed from it.

:func:`crosswalk` (exact engine), :func:`apportion` (population shares),
:func:`best_fit` (whole-unit stand-ins), :func:`check_tiling` (gaps and overlaps).
Imports only :mod:`nbhd_geo.io` below it.
"""

from __future__ import annotations

from nbhd_geo.overlay.apportion import (
    Apportionment,
    apportion,
)
from nbhd_geo.overlay.bestfit import (
    BestFit,
    best_fit,
)
from nbhd_geo.overlay.crosswalk import (
    Crosswalk,
    crosswalk,
    pair_areas,
)
from nbhd_geo.overlay.tiling import (
    TilingReport,
    check_tiling,
)

__all__ = [
    "Crosswalk",
    "crosswalk",
    "pair_areas",
    "Apportionment",
    "apportion",
    "BestFit",
    "best_fit",
    "TilingReport",
    "check_tiling",
]
