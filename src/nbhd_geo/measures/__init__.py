"""How well a neighbourhood and a statutory layer agree: splits, fit and boundary agreement.

Built on :mod:`nbhd_geo.overlay`; never imports report or cli.
"""

from __future__ import annotations

from nbhd_geo.measures.boundary import (
    boundary_f1,
    hausdorff,
)
from nbhd_geo.measures.options import BoundaryOptions, EngineOptions, SliverTolerance
from nbhd_geo.measures.split import fragmentation, unit_splits
from nbhd_geo.measures.tension import layer_tension, tension

__all__ = [
    "fragmentation",
    "tension",
    "layer_tension",
    "unit_splits",
    "boundary_f1",
    "hausdorff",
    "SliverTolerance",
    "BoundaryOptions",
    "EngineOptions",
]
