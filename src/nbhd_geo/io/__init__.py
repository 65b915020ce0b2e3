"""Reading and checking inputs: formats, CRS, validation, personal data, disclosure.

The bottom layer: imports only :mod:`nbhd_geo.errors` and :mod:`nbhd_geo.settings`.
"""

from __future__ import annotations

from nbhd_geo.io.crs import (
    crs_label,
    in_degree_range,
    is_bng,
    looks_swapped_gb,
    looks_swapped_generic,
    outside_bounds,
    resolve_crs,
    suggest_crs,
)
from nbhd_geo.io.disclosure import (
    suppress_small_counts,
)
from nbhd_geo.io.layers import (
    LayerSpec,
    PreparedLayer,
    prepare_polygons,
    working_crs,
)
from nbhd_geo.io.options import (
    CoordOptions,
    CsvColumns,
    PrivacyOptions,
)
from nbhd_geo.io.privacy import (
    drop_personal,
    personal_column_reasons,
    personal_columns,
)
from nbhd_geo.io.read import (
    SUPPORTED_SUFFIXES,
    ReadReport,
    ReadResult,
    read_drawings,
    read_layer,
)
from nbhd_geo.io.validate import (
    STATUSES,
    describe_invalid,
    validate_points,
    validate_polygons,
)

__all__ = [
    "LayerSpec",
    "read_layer",
    "read_drawings",
    "ReadReport",
    "ReadResult",
    "CoordOptions",
    "CsvColumns",
    "PrivacyOptions",
    "SUPPORTED_SUFFIXES",
    "resolve_crs",
    "crs_label",
    "is_bng",
    "in_degree_range",
    "looks_swapped_gb",
    "looks_swapped_generic",
    "outside_bounds",
    "suggest_crs",
    "validate_polygons",
    "validate_points",
    "describe_invalid",
    "STATUSES",
    "personal_columns",
    "personal_column_reasons",
    "drop_personal",
    "PreparedLayer",
    "prepare_polygons",
    "working_crs",
    "suppress_small_counts",
]
