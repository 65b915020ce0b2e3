"""nbhd_geo: reconcile resident-drawn neighbourhoods with England's statutory geographies.

The public API, by task:

- reading: :func:`read_layer`, :func:`read_drawings` (every feature accounted for);
- reconciling: :func:`crosswalk`, :func:`apportion`, :func:`best_fit`,
  :func:`check_tiling`;
- PCNs: :func:`pcn_footprints`, :func:`list_deprivation`;
- samples: :mod:`nbhd_geo.datasets`.
"""

from __future__ import annotations

from nbhd_geo import datasets, settings
from nbhd_geo.bestfit import BestFit, best_fit
from nbhd_geo.errors import (
    ColumnError,
    CRSError,
    InputError,
    NbhdGeoError,
    NbhdGeoWarning,
    ValidationError,
    VintageError,
)
from nbhd_geo.io import ReadReport, ReadResult, read_drawings, read_layer
from nbhd_geo.layerqa import TilingReport, check_tiling
from nbhd_geo.overlay import Crosswalk, crosswalk, pair_areas
from nbhd_geo.pcn import PCNFootprints, list_deprivation, pcn_footprints
from nbhd_geo.population import Apportionment, apportion
from nbhd_geo.privacy import drop_personal, personal_columns

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "datasets",
    "settings",
    # errors
    "NbhdGeoError",
    "InputError",
    "CRSError",
    "ValidationError",
    "ColumnError",
    "VintageError",
    "NbhdGeoWarning",
    # reading
    "read_layer",
    "read_drawings",
    "ReadReport",
    "ReadResult",
    "personal_columns",
    "drop_personal",
    # reconciling
    "crosswalk",
    "Crosswalk",
    "pair_areas",
    "apportion",
    "Apportionment",
    "best_fit",
    "BestFit",
    "check_tiling",
    "TilingReport",
    # PCNs
    "pcn_footprints",
    "PCNFootprints",
    "list_deprivation",
]
