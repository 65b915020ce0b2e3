"""Vector layers for the report's offline map, and small inline SVG maps.

Display geometry only: shapes are simplified in EPSG:27700 (metres) and rounded, so
the page stays small; every figure shown comes from the exact analysis, never from
these shapes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.io.publish import json_for_html

__all__ = ["geojson_layer", "svg_map"]


def _round(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def geojson_layer(
    frame: gpd.GeoDataFrame,
    properties: pd.DataFrame | None = None,
    *,
    tolerance_m: float = 15.0,
    decimals: int = 5,
) -> str:
    """Return a GeoJSON FeatureCollection (text) of ``frame`` for the web map.

    Parameters
    ----------
    frame
        Polygons in a projected CRS in metres (EPSG:27700).
    properties
        Columns to carry as feature properties (same index as ``frame``).
    tolerance_m
        Douglas–Peucker tolerance applied in metres before reprojection.
    decimals
        Decimal places of the WGS84 coordinates (5 ≈ 1 m).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame(geometry=[shapely.box(430000, 420000, 431000, 421000)],
    ...                      crs=27700)
    >>> text = geojson_layer(f)
    >>> text.startswith('{"type":"FeatureCollection"')
    True
    """
    if frame.crs is None or not frame.crs.is_projected:
        raise ValueError("geojson_layer needs a projected CRS in metres (EPSG:27700)")
    geoms = np.asarray(frame.geometry.array, dtype=object)
    simple = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    wgs = gpd.GeoSeries(simple, crs=frame.crs).to_crs(4326)
    out = _round(np.asarray(wgs.array, dtype=object), decimals)
    texts = shapely.to_geojson(out)
    props: list[dict[str, Any]]
    if properties is None:
        props = [{} for _ in range(len(frame))]
    else:
        clean = properties.reindex(frame.index).astype(object)
        clean = clean.where(pd.notna(clean), None)
        props = clean.to_dict("records")
    parts = [
        f'{{"type":"Feature","properties":{json.dumps(p, separators=(",", ":"))},'
        f'"geometry":{g}}}'
        for p, g in zip(props, texts, strict=True)
        if g is not None and g != "null"
    ]
    # Placed inside a <script> element of the page: names must not be able to end it.
    return json_for_html('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}")


def _path(geom: Any, x0: float, y1: float, k: float) -> str:
    """SVG path data of a (multi)polygon or line, y flipped, in pixels."""
    parts = []
    for g in getattr(geom, "geoms", [geom]):
        rings = []
        if g.geom_type == "Polygon":
            rings = [g.exterior, *g.interiors]
        elif g.geom_type in ("LineString", "LinearRing"):
            rings = [g]
        for ring in rings:
            c = np.asarray(ring.coords)
            if len(c) < 2:
                continue
            xy = np.empty((len(c), 2), dtype=np.int64)  # whole pixels: small and fast
            xy[:, 0] = np.rint((c[:, 0] - x0) * k)
            xy[:, 1] = np.rint((y1 - c[:, 1]) * k)
            keep = np.r_[True, (np.diff(xy, axis=0) != 0).any(axis=1)]
            pts = " ".join(map(str, xy[keep].ravel().tolist()))
            closed = "Z" if g.geom_type == "Polygon" else ""
            parts.append(f"M{pts}{closed}")
    return "".join(parts)


def svg_map(
    area: Any,
    layers: Sequence[tuple[str, gpd.GeoDataFrame, pd.Series | None, Mapping[str, str]]],
    *,
    width: int = 420,
    height: int = 300,
    title: str = "",
    margin: float = 0.12,
) -> str:
    """Draw a small inline SVG map of one area with the statutory units around it, named.

    Parameters
    ----------
    area
        The neighbourhood polygon (EPSG:27700).
    layers
        ``(label, units, names, style)``: units (GeoDataFrame in the same CRS), their
        display names by unit id (labels are placed on units the area overlaps) or
        ``None`` for no labels, and an SVG style mapping (``stroke``,
        ``stroke-width``, ``stroke-dasharray``).
    width, height
        Size in pixels.
    title
        Accessible title of the figure.
    margin
        Margin around the area as a share of its extent.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> units = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=27700,
    ...                          index=["W1"])
    >>> s = svg_map(shapely.box(10, 10, 50, 50),
    ...             [("ward", units, units.index.to_series(), {"stroke": "#333"})],
    ...             title="A")
    >>> s.startswith("<svg") and ">W1<" in s
    True
    """
    minx, miny, maxx, maxy = area.bounds
    dx, dy = maxx - minx, maxy - miny
    pad = max(dx, dy) * margin + 50
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    k = min(width / (maxx - minx), height / (maxy - miny))
    # Centre the extent in the frame.
    ox = (width / k - (maxx - minx)) / 2
    oy = (height / k - (maxy - miny)) / 2
    x0, y1 = minx - ox, maxy + oy
    view = shapely.box(x0, y1 - height / k, x0 + width / k, y1)
    tol = 1.0 / k  # one pixel
    body = []
    labels = []
    for label, units, names, style in layers:
        idx = units.sindex.query(view, predicate="intersects")
        if len(idx) == 0:
            continue
        sub = units.iloc[idx]
        geoms = shapely.simplify(shapely.intersection(
            np.asarray(sub.geometry.array, dtype=object), view.buffer(tol * 4)), tol)
        d = "".join(_path(shapely.boundary(g), x0, y1, k) for g in geoms if not g.is_empty)
        attrs = " ".join(f'{key}="{html.escape(str(v))}"' for key, v in style.items())
        body.append(f'<path class="u-{html.escape(label)}" d="{d}" fill="none" {attrs}/>')
        if names is not None:
            inside = shapely.intersection(np.asarray(sub.geometry.array, dtype=object), area)
            for uid, piece in zip(sub.index, inside, strict=True):
                if piece.is_empty or piece.area < 0.03 * area.area:
                    continue
                p = piece.representative_point()
                name = str(names.get(uid, uid))
                labels.append(
                    f'<text x="{(p.x - x0) * k:.0f}" y="{(y1 - p.y) * k:.0f}" '
                    f'class="lbl">{html.escape(name)}</text>')
    ad = _path(shapely.simplify(area, tol), x0, y1, k)
    body.append(f'<path d="{ad}" fill="#6a3d9a" fill-opacity="0.22" stroke="#4a2370" '
                'stroke-width="2" fill-rule="evenodd"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">'
        f"<title>{html.escape(title)}</title>"
        + "".join(body) + "".join(labels) + "</svg>"
    )
