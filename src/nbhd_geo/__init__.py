"""nbhd_geo: reconcile resident-drawn neighbourhoods with England's statutory geographies."""

from __future__ import annotations

from nbhd_geo.errors import (
    ColumnError,
    CRSError,
    InputError,
    NbhdGeoError,
    NbhdGeoWarning,
    ValidationError,
    VintageError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "NbhdGeoError",
    "InputError",
    "CRSError",
    "ValidationError",
    "ColumnError",
    "VintageError",
    "NbhdGeoWarning",
]
