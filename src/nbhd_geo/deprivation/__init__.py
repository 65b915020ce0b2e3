"""The English Indices of Deprivation: readers, MHCLG summaries, ranking, allocation."""

from __future__ import annotations

from nbhd_geo.deprivation.allocation import (
    AllocationWarning,
    allocate,
    rank_targets,
)
from nbhd_geo.deprivation.imd import (
    DOMAINS,
    VINTAGES,
    IMDTable,
    read_imd,
)
from nbhd_geo.deprivation.summary import (
    MEASURES,
    extent_weight,
    imd_summary,
    imd_summary_from_weights,
    rank_areas,
    to_wide,
    whole_lsoa_weights,
)
from nbhd_geo.deprivation.vintage import (
    check_vintage,
    convert_lsoa_vintage,
    read_lsoa_lookup,
)

__all__ = [
    "AllocationWarning",
    "DOMAINS",
    "VINTAGES",
    "IMDTable",
    "read_imd",
    "check_vintage",
    "convert_lsoa_vintage",
    "read_lsoa_lookup",
    "MEASURES",
    "extent_weight",
    "whole_lsoa_weights",
    "imd_summary_from_weights",
    "imd_summary",
    "to_wide",
    "rank_areas",
    "rank_targets",
    "allocate",
]
