"""The working CRS of the voices analyses: the data's own projected CRS by default.

Drawings are often already in a good local projected CRS (UTM, a state plane). Moving
them to the British National Grid when they lie in New York distorts them and can make
thousands of drawn polygons invalid. So every voices function works in the first
projected CRS among its layers (the drawings first), and only layers in degrees are
projected to ``settings.working_crs`` (EPSG:27700). When geometries are invalid after
a reprojection, the error names ``crs=`` and a CRS that fits the data.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from pyproj import CRS

from nbhd_geo.errors import ValidationError
from nbhd_geo.io.layers import PreparedLayer, prepare_polygons, working_crs

__all__ = ["voices_crs", "prepare_layer", "crs_hint"]


def voices_crs(crs: object | None, *layers: Any) -> CRS:
    """Return the working CRS: ``crs`` if given, else the first projected CRS of ``layers``.

    Layers that are all in degrees (or have no CRS) fall back to
    ``settings.working_crs``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> ny = gpd.GeoDataFrame(geometry=[shapely.Point(583000, 4507000)], crs=32618)
    >>> deg = ny.to_crs(4326)
    >>> voices_crs(None, deg, ny).to_epsg(), voices_crs(None, deg).to_epsg()
    (32618, 27700)
    >>> voices_crs("EPSG:2263", ny).to_epsg()
    2263
    """
    if crs is None:
        for layer in layers:
            own = getattr(layer, "crs", None)
            if own is not None and CRS.from_user_input(own).is_projected:
                return working_crs(own)
    return working_crs(crs)


def prepare_layer(gdf: gpd.GeoDataFrame, *, argument: str, crs: CRS,
                  id_col: str | None = None) -> PreparedLayer:
    """:func:`~nbhd_geo.io.layers.prepare_polygons`, naming ``crs=`` when reprojecting broke it.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> far = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> prepare_layer(far, argument="drawings", crs=CRS(27700)).crs.to_epsg()
    27700
    """
    try:
        return prepare_polygons(gdf, argument=argument, id_col=id_col, crs=crs)
    except ValidationError as err:
        better = crs_hint(err, gdf, argument, crs)
        if better is None:
            raise
        raise better from err


def crs_hint(err: ValidationError, gdf: Any, argument: str,
             crs: CRS) -> ValidationError | None:
    """Return the error again with a ``crs=`` fix when reprojecting made ``gdf`` invalid."""
    own = getattr(gdf, "crs", None)
    moved = own is not None and CRS.from_user_input(own) != crs
    if not moved or not any(p.startswith("invalid geometry") for p in err.problems):
        return None
    src = CRS.from_user_input(own)
    if src.is_projected:
        fit = f"crs={src.to_string()!r}, the layer's own CRS"
    else:
        try:
            utm = gdf.estimate_utm_crs()
            fit = f"crs={utm.to_string()!r}, the local UTM zone"
        except (RuntimeError, ValueError):
            fit = "crs= a projected CRS of the place drawn"
    own_invalid = int((~gdf.geometry.is_valid).sum())
    already = (f" ({own_invalid} invalid in {src.to_string()} already)" if own_invalid
               else f" (all valid in {src.to_string()})")
    return ValidationError(
        f"{len(gdf)} features checked after reprojecting from {src.to_string()} to the "
        f"working CRS {crs.to_string()}{already}, problems found", problems=err.problems,
        argument=argument,
        fix=f"pass {fit} (geometries may turn invalid when moved far from their own "
            "projection), or repair them with nbhd_geo.read_drawings / read_layer")
