"""Static maps for notebooks and the overlap report (matplotlib; imported only here).

Every function takes ``ax=None`` and returns ``(fig, ax)``; ``save``/``filepath`` and
``show`` are keyword-only, as in osmnx.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib

from nbhd_geo.errors import InputError

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

__all__ = ["ColourScale", "map_overlap", "map_layers", "map_choropleth", "save_show"]

#: Colours (Dark2) chosen to stay distinguishable for common colour-vision deficiencies.
DRAWN = "#d95f02"
FIT = "#1b9e77"
LAYER_COLOURS = ("#4d4d4d", "#7570b3", "#e7298a", "#66a61e")


@dataclass(frozen=True)
class ColourScale:
    """How :func:`map_choropleth` colours a column: colour map, classes, range, legend.

    Attributes
    ----------
    cmap
        A matplotlib colour map name.
    categorical
        One colour per value (deciles) with a legend of values, else a continuous bar.
    vmin, vmax
        The range the colours span (default: the column's).
    legend_title
        The legend's title (default: the column's name).

    Examples
    --------
    >>> ColourScale("Reds", vmin=0, vmax=1).cmap
    'Reds'
    >>> ColourScale(vmin=2, vmax=1)
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: vmin: vmin 2 is above vmax 1. Fix: give vmin <= vmax.
    """

    cmap: str = "RdYlBu"
    categorical: bool = False
    vmin: float | None = None
    vmax: float | None = None
    legend_title: str | None = None

    def __post_init__(self) -> None:
        if self.vmin is not None and self.vmax is not None and self.vmin > self.vmax:
            raise InputError(f"vmin {self.vmin:g} is above vmax {self.vmax:g}",
                             argument="vmin", fix="give vmin <= vmax")


def _ax(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def save_show(
    fig: Figure, *, save: bool = False, filepath: str | Path | None = None, show: bool = False,
    dpi: int = 110,
) -> None:
    """Save and/or show a figure (and close it when it was saved and not shown)."""
    if save:
        if filepath is None:
            raise ValueError("filepath is required when save=True")
        fig.savefig(filepath, dpi=dpi, bbox_inches="tight")
    if show:
        plt.show()
    elif save:
        plt.close(fig)


def map_overlap(
    area: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    fit: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    margin: float = 0.15,
    ax: Any = None,
    figsize: tuple[float, float] = (6.0, 6.0),
    save: bool = False,
    filepath: str | Path | None = None,
    show: bool = False,
) -> tuple[Figure, Any]:
    """Map one drawn area over statutory boundaries, with its best-fit approximation.

    Parameters
    ----------
    area
        The drawn area(s) (outlined in orange).
    layers
        Statutory layers by name, drawn as boundary lines (first layer thinnest).
    fit
        Best-fit union of units (filled green, translucent).
    title
        Map title.
    margin
        Extra space around the area, as a share of its extent.
    ax, figsize, save, filepath, show
        Standard plotting options; see :func:`save_show`.

    Returns
    -------
    (fig, ax)

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> sq = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=27700)
    >>> fig, ax = map_overlap(sq, {"grid": sq})
    >>> ax.get_title()
    ''
    """
    fig, ax = _ax(ax, figsize)
    minx, miny, maxx, maxy = area.total_bounds
    if fit is not None and len(fit) and not fit.geometry.is_empty.all():
        fb = fit.total_bounds
        minx, miny = min(minx, fb[0]), min(miny, fb[1])
        maxx, maxy = max(maxx, fb[2]), max(maxy, fb[3])
    pad = margin * max(maxx - minx, maxy - miny, 1.0)
    handles: list[Any] = []
    if fit is not None and len(fit):
        fit.plot(ax=ax, color=FIT, alpha=0.35, edgecolor="none")
        handles.append(Patch(color=FIT, alpha=0.35, label="best-fit units"))
    for k, (name, layer) in enumerate(layers.items()):
        colour = LAYER_COLOURS[k % len(LAYER_COLOURS)]
        clip = layer.cx[minx - pad: maxx + pad, miny - pad: maxy + pad]
        clip.boundary.plot(ax=ax, color=colour, linewidth=0.5 + 0.6 * k)
        handles.append(Line2D([], [], color=colour, linewidth=0.5 + 0.6 * k, label=name))
    area.boundary.plot(ax=ax, color=DRAWN, linewidth=2.2)
    handles.append(Line2D([], [], color=DRAWN, linewidth=2.2, label="drawn"))
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.8)
    if title:
        ax.set_title(title, parse_math=False)  # "$x$" is a name, not mathtext
    save_show(fig, save=save, filepath=filepath, show=show)
    return fig, ax


def map_layers(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    areas: gpd.GeoDataFrame | None = None,
    label_col: str | None = None,
    title: str | None = None,
    ax: Any = None,
    figsize: tuple[float, float] = (8.0, 8.0),
    save: bool = False,
    filepath: str | Path | None = None,
    show: bool = False,
) -> tuple[Figure, Any]:
    """Overview map: statutory boundaries with drawn areas on top, optionally labelled."""
    fig, ax = _ax(ax, figsize)
    for k, (_name, layer) in enumerate(layers.items()):
        colour = LAYER_COLOURS[k % len(LAYER_COLOURS)]
        layer.boundary.plot(ax=ax, color=colour, linewidth=0.4 + 0.6 * k)
    if areas is not None and len(areas):
        areas.boundary.plot(ax=ax, color=DRAWN, linewidth=1.6)
        if label_col is not None:
            for label, point in zip(areas[label_col], areas.geometry.representative_point(),
                                    strict=True):
                ax.annotate(str(label), (point.x, point.y), ha="center", fontsize=7,
                            parse_math=False,
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7})
    ax.set_aspect("equal")
    ax.set_axis_off()
    handles = [
        Line2D([], [], color=LAYER_COLOURS[k % 4], linewidth=0.4 + 0.6 * k, label=name)
        for k, name in enumerate(layers)
    ]
    if areas is not None:
        handles.append(Line2D([], [], color=DRAWN, linewidth=1.6, label="drawn"))
    ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.8)
    if title:
        ax.set_title(title, parse_math=False)  # "$x$" is a name, not mathtext
    save_show(fig, save=save, filepath=filepath, show=show)
    return fig, ax


def map_choropleth(
    layer: gpd.GeoDataFrame,
    column: str,
    *,
    outlines: gpd.GeoDataFrame | None = None,
    scale: ColourScale | None = None,
    title: str | None = None,
    ax: Any = None,
    figsize: tuple[float, float] = (8.0, 8.0),
    save: bool = False,
    filepath: str | Path | None = None,
    show: bool = False,
) -> tuple[Figure, Any]:
    """Shade a layer by a column (e.g. IMD decile), with drawn outlines on top.

    Parameters
    ----------
    layer
        Polygons to shade.
    column
        The column of ``layer`` to shade by.
    outlines
        Areas drawn as black outlines on top (the neighbourhoods).
    scale
        Colour map, classes, range and legend title (:class:`ColourScale`; default
        ``RdYlBu``, continuous).
    title
        Map title.
    ax, figsize, save, filepath, show
        Standard plotting options; see :func:`save_show`.

    Returns
    -------
    (fig, ax)

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> sq = gpd.GeoDataFrame({"decile": [1, 10]}, crs=27700,
    ...                       geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> fig, ax = map_choropleth(sq, "decile", scale=ColourScale(categorical=True))
    >>> ax.get_legend().get_title().get_text()
    'decile'
    """
    s = scale or ColourScale()
    fig, ax = _ax(ax, figsize)
    layer.plot(column=column, ax=ax, cmap=s.cmap, categorical=s.categorical, legend=True,
               vmin=s.vmin, vmax=s.vmax, edgecolor="white", linewidth=0.2,
               legend_kwds={"title": s.legend_title or column, "loc": "upper left",
                            "bbox_to_anchor": (1.0, 1.0), "fontsize": 8} if s.categorical else
               {"label": s.legend_title or column, "shrink": 0.6})
    if outlines is not None and len(outlines):
        outlines.boundary.plot(ax=ax, color="black", linewidth=1.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, parse_math=False)  # "$x$" is a name, not mathtext
    save_show(fig, save=save, filepath=filepath, show=show)
    return fig, ax
