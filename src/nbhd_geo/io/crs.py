"""Private CRS helpers: resolve CRS values, guess a missing CRS, spot swapped axes.

All functions work on per-feature bounds arrays (``shapely.bounds``: ``xmin, ymin,
xmax, ymax`` per row, NaN for missing or empty geometries) so they are vectorised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from nbhd_geo import settings
from nbhd_geo.errors import CRSError

__all__ = [
    "resolve_crs",
    "crs_label",
    "is_bng",
    "in_degree_range",
    "looks_swapped_gb",
    "looks_swapped_generic",
    "outside_bounds",
    "suggest_crs",
]

# Great Britain in degrees, as (lon_min, lat_min, lon_max, lat_max), a little generous.
_GB_LONLAT = (-8.8, 49.0, 2.1, 61.0)


def resolve_crs(value: Any, argument: str, *, projected: bool = False) -> CRS:
    """Turn a user CRS value (``"EPSG:27700"``, 27700, a pyproj CRS) into a :class:`pyproj.CRS`.

    ``projected=True`` is for a CRS that areas are measured in: its error then suggests only
    projected systems, since offering EPSG:4326 there would lead to a second refusal.

    Examples
    --------
    >>> resolve_crs("EPSG:27700", "crs").to_epsg()
    27700
    """
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError as exc:
        raise CRSError(
            f"{value!r} is not a coordinate reference system pyproj understands ({exc})",
            argument=argument,
            fix=('pass an EPSG code such as "EPSG:27700" (British National Grid)'
                 + ("" if projected else ' or "EPSG:4326"')),
        ) from None


def crs_label(crs: CRS | None) -> str | None:
    """Short label for a CRS: ``"EPSG:27700"`` when it has an EPSG code, else its name.

    Examples
    --------
    >>> crs_label(CRS.from_epsg(4326))
    'EPSG:4326'
    >>> crs_label(None) is None
    True
    """
    if crs is None:
        return None
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    if crs.equals(CRS.from_user_input("OGC:CRS84"), ignore_axis_order=True):
        return "OGC:CRS84"
    return crs.name


def is_bng(crs: CRS) -> bool:
    """Whether ``crs`` is British National Grid (EPSG:27700).

    Examples
    --------
    >>> is_bng(CRS.from_epsg(27700)), is_bng(CRS.from_epsg(32618))
    (True, False)
    """
    return crs.to_epsg() == 27700


def in_degree_range(bounds: np.ndarray) -> np.ndarray:
    """Rows whose bounds fit lon in [-180, 180] and lat in [-90, 90]."""
    with np.errstate(invalid="ignore"):
        return (
            (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
        )


def looks_swapped_gb(bounds: np.ndarray) -> np.ndarray:
    """Rows whose x looks like a GB latitude and y like a GB longitude.

    Examples
    --------
    >>> looks_swapped_gb(np.array([[53.6, -1.5, 53.7, -1.4], [-1.5, 53.6, -1.4, 53.7]]))
    array([ True, False])
    """
    lon0, lat0, lon1, lat1 = _GB_LONLAT
    with np.errstate(invalid="ignore"):
        return (
            (bounds[:, 0] >= lat0) & (bounds[:, 2] <= lat1)
            & (bounds[:, 1] >= lon0) & (bounds[:, 3] <= lon1)
        )


def looks_swapped_generic(bounds: np.ndarray) -> np.ndarray:
    """Rows where x fits a latitude but y cannot be one (``|y| > 90``): surely swapped."""
    with np.errstate(invalid="ignore"):
        x_ok = (bounds[:, 0] >= -90) & (bounds[:, 2] <= 90)
        y_lon = (bounds[:, 1] >= -180) & (bounds[:, 3] <= 180)
        y_not_lat = (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
        return x_ok & y_lon & y_not_lat


def outside_bounds(bounds: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Non-empty rows not lying wholly inside ``box`` (non-finite bounds count as outside)."""
    present = ~np.isnan(bounds).any(axis=1)
    with np.errstate(invalid="ignore"):
        inside = (
            (bounds[:, 0] >= box[0]) & (bounds[:, 1] >= box[1])
            & (bounds[:, 2] <= box[2]) & (bounds[:, 3] <= box[3])
        )
    return present & ~inside


def suggest_crs(bounds: np.ndarray) -> tuple[str, str]:
    """Describe the coordinate range and suggest a ``crs=`` value for data without a CRS.

    Returns
    -------
    tuple[str, str]
        What the coordinates look like, and the suggested fix.

    Examples
    --------
    >>> suggest_crs(np.array([[-1.5, 53.6, -1.4, 53.7]]))[1]
    'pass crs="EPSG:4326"'
    >>> suggest_crs(np.array([[430000.0, 420000.0, 431000.0, 421000.0]]))[1]
    'pass crs="EPSG:27700"'
    """
    present = bounds[~np.isnan(bounds).any(axis=1)]
    if len(present) == 0:
        return "no coordinates", 'pass crs="EPSG:27700" or crs="EPSG:4326"'
    total = (present[:, 0].min(), present[:, 1].min(), present[:, 2].max(), present[:, 3].max())
    rng = f"x {total[0]:.6g}..{total[2]:.6g}, y {total[1]:.6g}..{total[3]:.6g}"
    box = np.array([total])
    if looks_swapped_gb(box)[0]:
        return (
            f"coordinates range {rng}, which look like latitude/longitude in swapped order",
            'pass crs="EPSG:4326", coords=CoordOptions(swap_xy=True)',
        )
    if in_degree_range(box)[0]:
        return (
            f"coordinates range {rng}, which look like longitude/latitude degrees",
            'pass crs="EPSG:4326"',
        )
    if not outside_bounds(box, settings.gb_bounds_27700)[0]:
        return (
            f"coordinates range {rng}, which look like British National Grid metres",
            'pass crs="EPSG:27700"',
        )
    return (
        f"coordinates range {rng}",
        'pass crs= with the CRS the coordinates were made in (e.g. "EPSG:27700" or "EPSG:4326")',
    )
