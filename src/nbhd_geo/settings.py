"""Library-wide defaults. Every function that uses one also takes it as an argument.

Attributes
----------
working_crs
    The projected CRS all area and distance work happens in (British National Grid).
sliver_tol_m2
    Default area below which an overlap is flagged as a sliver (not dropped: flagged).
small_count_threshold
    Counts below this are suppressed in published tables (statistical disclosure control).
gb_bounds_27700
    Generous bounds of Great Britain and its islands in EPSG:27700 metres, used to
    detect coordinates that cannot be in Great Britain.
"""

from __future__ import annotations

__all__ = ["working_crs", "sliver_tol_m2", "small_count_threshold", "gb_bounds_27700"]

working_crs: str = "EPSG:27700"
sliver_tol_m2: float = 1.0
small_count_threshold: int = 10
gb_bounds_27700: tuple[float, float, float, float] = (-120_000.0, -20_000.0, 760_000.0, 1_300_000.0)
