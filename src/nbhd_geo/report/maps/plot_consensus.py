"""Map one neighbourhood's agreement surface, its cores and its disputed zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_consensus"]


def plot_consensus(
    consensus: Any,
    name: str,
    ax: Any = None,
    *,
    cmap: str = "viridis",
    show: bool = False,
    save: bool = False,
    filepath: str | Path | None = None,
) -> tuple[Any, Any]:
    """Map the agreement surface of ``name`` with its cores and disputed zones.

    Parameters
    ----------
    consensus
        A :class:`~nbhd_geo.voices.consensus.Consensus`.
    name
        The neighbourhood to map.
    ax
        Axes to draw on; a new figure when ``None``.
    cmap
        Colour map of the agreement share (0 to 1).
    show, save, filepath
        Show the figure, or save it to ``filepath``.

    Returns
    -------
    (fig, ax)

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from nbhd_geo.voices.consensus import consensus
    >>> d = gpd.GeoDataFrame({"neighbourhood": ["A", "A"]},
    ...     geometry=[shapely.box(0, 0, 20, 20), shapely.box(10, 0, 30, 20)], crs=27700)
    >>> fig, ax = plot_consensus(consensus(d, base=1.0), "A")
    >>> ax.get_title()
    'A: agreement of 2 drawings (1 m grid)'
    """
    import matplotlib.pyplot as plt

    surface = consensus.agreement(name)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 7))
    else:
        fig = ax.figure
    surface.plot(ax=ax, column="share", cmap=cmap, vmin=0, vmax=1, linewidth=0,
                 legend=True, legend_kwds={"label": "share of drawers", "shrink": 0.6})
    cores = consensus.cores[consensus.cores["name"] == name]
    styles = ["dotted", "dashed", "solid"]
    for i, (t, row) in enumerate(cores.set_index("threshold").iterrows()):
        ax.plot(*_outline(row.geometry), color="black",
                linestyle=styles[min(max(0, 3 - len(cores)) + i, 2)],
                linewidth=1.0, label=f"core ≥ {t:.0%}")
    d = consensus.disputed
    mine = d[(d["name_a"] == name) | (d["name_b"] == name)]
    if len(mine):
        low = mine[mine["threshold"] == mine["threshold"].min()]
        low.plot(ax=ax, facecolor="none", edgecolor="red", hatch="///", linewidth=0.5)
    n = int(consensus.summary.loc[name, "n_drawings"])
    res = (f"{consensus.cell_size:g} m grid" if consensus.method == "grid"
           else "polygon base")
    ax.set_title(f"{name}: agreement of {n} drawings ({res})", parse_math=False)
    ax.set_aspect("equal")
    if len(cores):
        ax.legend(loc="lower left", fontsize="small")
    if save and filepath is not None:
        fig.savefig(filepath, dpi=150, bbox_inches="tight")
    if show:
        plt.show()
    return fig, ax


def _outline(geom: Any) -> tuple[list[float], list[float]]:
    """X and y lists of every ring of a polygonal geometry, separated by NaN breaks."""
    import shapely

    xs: list[float] = []
    ys: list[float] = []
    for ring in shapely.get_rings(shapely.get_parts(geom)):
        xy = shapely.get_coordinates(ring)
        xs += list(xy[:, 0]) + [float("nan")]
        ys += list(xy[:, 1]) + [float("nan")]
    return xs, ys
