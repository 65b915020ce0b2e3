"""Boundary checks for polygon layers handed to the analysis functions.

Every analysis function (crosswalk, apportion, best_fit, ...) takes GeoDataFrames
that may come from anywhere, so each one passes them through :func:`prepare_polygons`:
the CRS is made explicit and projected, ids are unique, geometries are polygonal,
valid and non-empty. All problems are collected and raised once.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from nbhd_geo import settings
from nbhd_geo.errors import ColumnError, CRSError, InputError, ValidationError, format_ids

__all__ = ["PreparedLayer", "prepare_polygons", "working_crs", "LayerSpec"]


@dataclass(frozen=True)
class PreparedLayer:
    """A polygon layer ready for area work.

    Attributes
    ----------
    ids
        Feature ids (unique), in input order.
    geoms
        Shapely polygons in the working CRS, aligned with ``ids``.
    id_name
        The name of the id (column name, or index name, or ``"index"``).
    frame
        The reprojected GeoDataFrame (a copy; the caller's input is never changed).
    """

    ids: np.ndarray
    geoms: np.ndarray
    id_name: str
    frame: gpd.GeoDataFrame


def working_crs(crs: object | None = None) -> CRS:
    """Resolve the working CRS and refuse a geographic one.

    Examples
    --------
    >>> working_crs().to_epsg()
    27700
    >>> working_crs("EPSG:4326")
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.CRSError: crs: EPSG:4326 is geographic (degrees); areas need metres. Fix: ...
    """
    out = CRS.from_user_input(crs if crs is not None else settings.working_crs)
    if not out.is_projected:
        raise CRSError(
            f"{out.to_string()} is geographic (degrees); areas need metres",
            argument="crs",
            fix="use a projected CRS such as 'EPSG:27700' (British National Grid)",
        )
    return out


def prepare_polygons(
    gdf: gpd.GeoDataFrame,
    *,
    argument: str,
    id_col: str | None = None,
    crs: object | None = None,
) -> PreparedLayer:
    """Check a polygon layer and bring it into the working CRS.

    Parameters
    ----------
    gdf
        The layer.
    argument
        The caller's argument name, used in error messages.
    id_col
        Column holding unique feature ids; ``None`` uses the index.
    crs
        Working CRS (projected); defaults to ``settings.working_crs``.

    Returns
    -------
    PreparedLayer

    Raises
    ------
    InputError
        ``gdf`` is not a GeoDataFrame.
    CRSError
        ``gdf`` has no CRS.
    ColumnError
        ``id_col`` is missing.
    ValidationError
        Duplicate ids, or empty, invalid or non-polygonal geometries (all listed at once).
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(
            f"expected a GeoDataFrame, got {type(gdf).__name__}",
            argument=argument,
            fix="read files with nbhd_geo.read_layer(path) or nbhd_geo.read_drawings(path) first",
        )
    target = working_crs(crs)
    if gdf.crs is None:
        raise CRSError(
            "has no CRS, so its coordinates cannot be interpreted",
            argument=argument,
            fix=f"set it with {argument}.set_crs(...) (e.g. 'EPSG:27700' or 'EPSG:4326')",
        )
    if id_col is None:
        ids = gdf.index.to_numpy()
        id_name = gdf.index.name or "index"
    else:
        if id_col not in gdf.columns:
            raise ColumnError(
                f"has no column {id_col!r}",
                argument=argument,
                fix=f"choose one of {list(map(str, gdf.columns.drop(gdf.geometry.name)))}",
            )
        ids = gdf[id_col].to_numpy()
        id_name = id_col
    frame = gdf if CRS.from_user_input(gdf.crs) == target else gdf.to_crs(target)
    geoms = np.asarray(frame.geometry.array, dtype=object)

    problems: list[str] = []
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        problems.append(f"duplicate ids: {format_ids(pd.unique(ids[dup]))}")
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        problems.append(f"empty or missing geometry: {format_ids(ids[missing])}")
    types = shapely.get_type_id(geoms)
    nonpoly = ~missing & ~np.isin(types, (3, 6))
    if nonpoly.any():
        problems.append(f"not a polygon: {format_ids(ids[nonpoly])}")
    invalid = ~missing & ~nonpoly & ~shapely.is_valid(geoms)
    if invalid.any():
        problems.append(f"invalid geometry: {format_ids(ids[invalid])}")
    if problems:
        raise ValidationError(
            f"{len(gdf)} features checked, problems found",
            problems=problems,
            argument=argument,
            fix=(
                "read it with nbhd_geo.read_layer / read_drawings, which repair invalid "
                "polygons and report every change, or drop the listed features"
            ),
        )
    return PreparedLayer(ids=ids, geoms=geoms, id_name=str(id_name), frame=frame)


@dataclass(frozen=True)
class LayerSpec:
    """A statutory layer to reconcile against.

    Attributes
    ----------
    name
        Short label used in file names and tables (``"lsoa"``, ``"ward"``).
    data
        The layer, indexed by unique unit id (as :func:`nbhd_geo.read_layer` returns it).
    population
        Optional population column of ``data``.
    """

    name: str
    data: gpd.GeoDataFrame
    population: str | None = None
