"""The study area: what ``--clip-to`` kept, and the parts of neighbourhoods beyond it.

Clipping keeps the statutory units mostly inside the study area. A neighbourhood drawn
across its edge then has part of its area in units that were left out; the report says
how much (area and people) and in which of those units, rather than letting the part
vanish, and never calls such a neighbourhood "inside one" unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.io.disclosure import suppress_with_total
from nbhd_geo.io.publish import publish_frame, write_csv
from nbhd_geo.reconcile import LayerSpec
from nbhd_geo.report.facts.page import unit_names
from nbhd_geo.report.facts.wording import area_text, people_text, plural

__all__ = ["StudyArea", "add_study_area", "outside_pieces"]


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


def add_study_area(page: Any, study: Any, areas: gpd.GeoDataFrame, layers: Sequence[LayerSpec],
                unit_labels: Mapping[str, str], out: Path, limit: int) -> list[Path]:
    """Name the study area; add the parts of neighbourhoods beyond it to the page."""
    frames = []
    for lv in page.layers:
        units = study.outside.get(lv.name)
        if units is None or not len(units) or len(lv.units) <= 1:
            continue
        spec = next(s for s in layers if s.name == lv.name)
        op = outside_pieces(areas, units, unit_names(units, unit_labels.get(lv.name)),
                            spec.population)
        if not len(op):
            continue
        tagged = op["unit_name"].astype(str) + " (outside the study area)"
        lv.pieces = pd.concat([lv.pieces, op[["area_id", "unit_id", "share"]]],
                              ignore_index=True)
        lv.names = pd.concat([lv.names, pd.Series(tagged.to_numpy(), index=op["unit_id"])])
        lv.names = lv.names[~lv.names.index.duplicated()]
        frames.append(op.assign(layer=lv.name))
    text = f"Study area: {study.name}. Statutory units mostly outside it are left out."
    files: list[Path] = []
    if frames:
        allp = pd.concat(frames, ignore_index=True)
        labels = page.labels
        allp.insert(1, "name", labels.reindex(allp["area_id"]).astype(str).to_numpy())
        allp = allp[["area_id", "name", "layer", "unit_id", "unit_name", "area_m2", "share",
                     "people"]].rename(columns={"area_m2": "area_outside_m2",
                                                "share": "share_of_neighbourhood",
                                                "people": "people_outside_by_area"})
        path = out / "outside_study_area.csv"
        # The page quotes the people outside summed over a layer: with one small cell in
        # that layer, the total minus the others would give it back.
        pub = publish_frame(allp, counts=["people_outside_by_area"], threshold=limit)
        pub["people_outside_by_area"] = suppress_with_total(
            allp, "people_outside_by_area", by="layer", threshold=limit,
        )["people_outside_by_area"].to_numpy()
        files.append(write_csv(pub, path))
        allp = allp.rename(columns={"area_outside_m2": "area_m2",
                                    "people_outside_by_area": "people"})
        main = next((lv for lv in page.layers if lv.name in set(allp["layer"])
                     and not lv.name.lower().startswith(("lsoa", "oa", "msoa"))),
                    page.layers[0])
        m = allp[allp["layer"] == main.name]
        if len(m):
            n = m["area_id"].nunique()
            known = allp.dropna(subset=["people"])
            people = (known.loc[known["layer"] == known["layer"].iloc[0], "people"].sum()
                      if len(known) else float("nan"))
            who = (f" and about {people_text(float(people), limit)} people"
                   if pd.notna(people) else "")
            text += (f" {plural(n, 'neighbourhood')} reach beyond it: "
                     f"{area_text(float(m['area_m2'].sum()))}{who} lie outside, in the "
                     f"{main.word}s " + ", ".join(sorted(set(m["unit_name"].astype(str))))
                     + " (listed in outside_study_area.csv).")
    page.study_area = text
    return files
