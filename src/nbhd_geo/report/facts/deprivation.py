"""Deprivation and the allocation per neighbourhood, as plain tables (no drawing).

:func:`deprivation_tables` runs :mod:`nbhd_geo.deprivation` on the neighbourhoods and
returns the figures the board, the index and ``deprivation.csv``/``allocation.csv``
show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.deprivation.allocation import allocate
from nbhd_geo.deprivation.imd import IMDTable
from nbhd_geo.deprivation.summary import imd_summary, to_wide

__all__ = [
    "Deprivation", "deprivation_tables", "national_decile", "need_column", "published_deprivation",
]


@dataclass
class Deprivation:
    """Deprivation per neighbourhood for the planner's page (see :func:`deprivation_tables`)."""

    per_area: pd.DataFrame          # decile, score, share_most_deprived (indexed by area id)
    allocation: pd.DataFrame | None  # allocation, per_head (indexed by area id)
    lsoa_deciles: pd.Series         # LSOA code -> IMD decile
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    need_label: str = "IMD average score"  # the measure behind the deciles and the ranking
    budget: int | None = None       # whole pounds allocated (None: no allocation)
    vintage: str = ""               # the indices' edition ("IoD2025")


def need_column(wide: pd.DataFrame) -> tuple[str, bool, str]:
    """Pick the measure that drives targeting: average score if the indices have scores.

    Returns the column of ``wide`` (the wide IMD summary), whether higher means more
    deprived, and its label for a reader.

    Examples
    --------
    >>> need_column(pd.DataFrame({"imd_average_score": [21.5, 30.2]}))[0]
    'imd_average_score'
    >>> need_column(pd.DataFrame({"imd_average_rank": [9000.0, 2000.0]}))[0]
    'imd_average_rank'
    """
    if "imd_average_score" in wide and wide["imd_average_score"].notna().all():
        return "imd_average_score", True, "IMD average score"
    return "imd_average_rank", True, "IMD average rank (N + 1 − rank, higher = more deprived)"


def national_decile(values: np.ndarray, national: np.ndarray, n: int, *,
                    higher_is_more: bool = True,
                    national_rank: np.ndarray | None = None) -> np.ndarray:
    """Decile (1 = most deprived 10 %) of each value among England's LSOAs.

    ``higher_is_more``: ``values`` are scores (higher = more deprived) placed among the
    LSOAs' ``national`` scores; with ``national_rank`` (each of those LSOAs' rank in
    England, 1 = most deprived) the equivalent rank is read off the known LSOAs, so a
    table holding only some of England's LSOAs still gives national deciles. Otherwise
    ``values`` are average ranks with MHCLG's convention (N + 1 − rank: higher = more
    deprived).

    Examples
    --------
    >>> national_decile(np.array([95.0, 5.0]), np.arange(100.0), 100).tolist()
    [1, 10]
    >>> national_decile(np.array([99.0]), np.array([10.0, 50.0]), 100,
    ...                 national_rank=np.array([90.0, 5.0])).tolist()
    [1]
    >>> national_decile(np.array([95.0]), np.arange(100.0), 100, higher_is_more=False).tolist()
    [1]
    """
    vals = np.asarray(values, dtype=float)
    if higher_is_more and national_rank is not None and len(national) < n:
        order = np.argsort(national.astype(float), kind="stable")
        rank = np.interp(vals, national.astype(float)[order],
                         np.asarray(national_rank, dtype=float)[order])
    elif higher_is_more:
        nat = np.sort(national.astype(float))
        rank = len(nat) - np.searchsorted(nat, vals, side="right") + 1
    else:
        rank = n + 1 - vals
    dec = np.ceil(rank * 10 / n).clip(1, 10)
    return np.where(np.isnan(vals), 0, dec).astype(int)


def deprivation_tables(
    areas: gpd.GeoDataFrame,
    lsoa: gpd.GeoDataFrame,
    imd: IMDTable,
    *,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    label_col: str | None = None,
    budget: int | None = None,
    floor_share: float = 0.2,
    gradient: float = 1.0,
    crosswalk: Any = None,
) -> Deprivation:
    """Deprivation and the allocation per neighbourhood, without drawing anything.

    Parameters are as for :func:`deprivation_section`. Each neighbourhood's IMD decile is
    the national decile of its population-weighted average IMD score (of its average
    rank where the indices carry no scores).
    """
    frame = areas.reset_index()
    id_name = frame.columns[0]
    lsoa_frame = lsoa.reset_index()
    lsoa_id = lsoa_frame.columns[0]
    summary = imd_summary(frame, lsoa_frame, imd, population=weights,
                          population_col=weight_col if weights is not None else None,
                          area_id=id_name, lsoa_id=lsoa_id, crosswalk=crosswalk)
    wide = to_wide(summary, ranks=True)
    need, _, need_label = need_column(wide)
    labels = (areas[label_col] if label_col else pd.Series(areas.index, index=areas.index))
    wide.insert(0, "name", labels.reindex(wide.index).astype(str).to_numpy())
    national = imd.long[imd.long["domain"] == "imd"]
    if need == "imd_average_score":
        dec = national_decile(wide[need].to_numpy(float), national["score"].to_numpy(float),
                              imd.n, national_rank=national["rank"].to_numpy(float))
    else:
        dec = national_decile(wide[need].to_numpy(float), national["rank"].to_numpy(float),
                              imd.n, higher_is_more=False)
    per_area = pd.DataFrame({
        "decile": pd.Series(dec, index=wide.index).replace(0, np.nan),
        "score": wide.get("imd_average_score", pd.Series(np.nan, index=wide.index)),
        "need": wide[need].astype(float),
        "share_most_deprived": wide.get("imd_proportion_most_deprived_10pct",
                                        pd.Series(np.nan, index=wide.index)),
        "population": wide.get("population", pd.Series(np.nan, index=wide.index)),
    })
    notes = [f"Deprivation by MHCLG's measures ({imd.vintage}, {imd.n:,} LSOAs in England); "
             f"partial LSOAs count with the share of their people inside each neighbourhood, "
             f"shared by {summary.attrs.get('apportioned_by', 'area')}. The neighbourhood's "
             f"decile is that of its {need_label} among England's LSOAs."]
    tables = {"deprivation.csv": wide.assign(imd_decile=per_area["decile"]).reset_index()}
    alloc_out = None
    if budget is not None:
        alloc_in = wide.reset_index().rename(columns={wide.index.name or "index": "area_id"})
        alloc_in["population"] = alloc_in["population"].fillna(0)
        alloc = allocate(int(budget), alloc_in, need=need, population="population",
                         id_col="area_id", floor_share=floor_share, gradient=gradient)
        if "name" not in alloc.columns:
            alloc.insert(1, "name", alloc_in["name"].to_numpy())
        if "per_head" not in alloc.columns:
            pop = alloc["population"].astype(float)
            alloc["per_head"] = np.where(pop > 0, alloc["allocation"] / pop.where(pop > 0), np.nan)
        tables["allocation.csv"] = alloc
        alloc_out = alloc.set_index("area_id")[["allocation", "per_head"]]
        notes.append(
            f"Allocation: £{budget:,} in whole pounds, {floor_share:.0%} as a floor for every "
            f"neighbourhood and the rest by population weighted 1 + {gradient:g}·need "
            "(need scaled 0 = least deprived to 1 = most deprived).")
    lsoa_dec = national.set_index("lsoa_code")["decile"]
    return Deprivation(per_area, alloc_out, lsoa_dec, tables, notes,
                       "IMD average score" if need == "imd_average_score"
                       else "IMD average rank (higher = more deprived)",
                       budget=budget, vintage=imd.vintage)


def published_deprivation(wide: pd.DataFrame) -> pd.DataFrame:
    """``deprivation.csv``: the key and the decile first; each rank says its direction.

    MHCLG's average rank is higher for more deprived places (``*_avg_rank_high_is_deprived``);
    a neighbourhood's rank among the neighbourhoods is 1 for the most deprived
    (``*_rank_1_most_deprived``).

    Examples
    --------
    >>> w = pd.DataFrame({"area_id": ["A"], "name": ["A"], "imd_average_rank": [3.0],
    ...                   "imd_average_rank_rank": [1.0], "imd_decile": [1]})
    >>> list(published_deprivation(w).columns)  # doctest: +NORMALIZE_WHITESPACE
    ['area_id', 'name', 'imd_decile', 'imd_avg_rank_high_is_deprived',
     'imd_avg_rank_high_is_deprived_rank_1_most_deprived']
    """
    cols = list(wide.columns)
    ren: dict[str, str] = {}
    for c in cols:
        base = c[: -len("_rank")] if c.endswith("_rank") and c[: -len("_rank")] in cols else None
        new = base if base is not None else c
        new = new.replace("_average_rank", "_avg_rank_high_is_deprived")
        ren[c] = f"{new}_rank_1_most_deprived" if base is not None else new
    out = wide.rename(columns=ren)
    first = [c for c in ("area_id", "name", "imd_decile") if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]
