"""The study area: what ``--clip-to`` kept, and the parts of neighbourhoods beyond it.

Clipping keeps the statutory units mostly inside the study area. A neighbourhood drawn
across its edge then has part of its area in units that were left out; the report says
how much (area and people) and in which of those units, rather than letting the part
vanish, and never calls such a neighbourhood "inside one" unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["StudyArea", "outside_pieces"]


@dataclass
class StudyArea:
    """Where the report is about.

    Attributes
    ----------
    name
        In words (``"E08000036 (Wakefield)"``).
    outside
        Layer name -> the units left out because they lie mostly outside it.
    """

    name: str
    outside: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)


def outside_pieces(areas: gpd.GeoDataFrame, units: gpd.GeoDataFrame, names: pd.Series,
                   population: str | None = None, *, sliver: float = 0.01) -> pd.DataFrame:
    """Pieces of each neighbourhood in units outside the study area.

    Parameters
    ----------
    areas
        Neighbourhoods, indexed by id.
    units
        Units left out of the study area, indexed by code.
    names
        Unit code -> name.
    population
        Column of ``units`` with its people (shared by area), if known.
    sliver
        Pieces under this share of the neighbourhood are left out.

    Returns
    -------
    pandas.DataFrame
        ``area_id, unit_id, unit_name, area_m2, share, people`` (``people`` NaN when
        not known).

    Examples
    --------
    >>> a = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=27700,
    ...                      index=pd.Index(["A"]))
    >>> u = gpd.GeoDataFrame({"pop": [100.0]}, geometry=[shapely.box(8, 0, 20, 10)],
    ...                      crs=27700, index=pd.Index(["W9"]))
    >>> outside_pieces(a, u, pd.Series({"W9": "Far Ward"}), "pop")[["share", "people"]].round(3)
       share  people
    0    0.2  16.667
    """
    cols = ["area_id", "unit_id", "unit_name", "area_m2", "share", "people"]
    if not len(units) or not len(areas):
        return pd.DataFrame(columns=cols)
    ag = np.asarray(areas.geometry.array, dtype=object)
    ug = np.asarray(units.geometry.array, dtype=object)
    ui, ai = shapely.STRtree(ag).query(ug, predicate="intersects")
    if not len(ai):
        return pd.DataFrame(columns=cols)
    piece = shapely.area(shapely.intersection(ag[ai], ug[ui]))
    share = piece / shapely.area(ag[ai])
    people = np.full(len(ai), np.nan)
    if population and population in units.columns:
        pop = pd.to_numeric(units[population], errors="coerce").to_numpy(float)
        people = pop[ui] * piece / shapely.area(ug[ui])
    uid = units.index.to_numpy()[ui]
    out = pd.DataFrame({"area_id": areas.index.to_numpy()[ai], "unit_id": uid,
                        "unit_name": names.reindex(uid).fillna(pd.Series(uid, index=uid)
                                                               .astype(str)).to_numpy(),
                        "area_m2": piece, "share": share, "people": people})
    out = out[out["share"] >= sliver]
    return out.sort_values(["area_id", "share", "unit_id"],
                           ascending=[True, False, True]).reset_index(drop=True)
