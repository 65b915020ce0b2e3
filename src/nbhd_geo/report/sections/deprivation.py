"""The deprivation section of the matplotlib report (``render_report``).

The planner's page shows deprivation in its board summary and index; this section
adds a ranking, the rank stability and a decile map as a
:class:`~nbhd_geo.report.sections.base.Section`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from nbhd_geo.deprivation.allocation import rank_targets
from nbhd_geo.deprivation.imd import IMDTable
from nbhd_geo.deprivation.summary import imd_summary
from nbhd_geo.report.facts.deprivation import deprivation_tables, need_column
from nbhd_geo.report.sections.base import Section, SectionResult, figure_to_data_uri, table_html

__all__ = ["deprivation_section"]


def deprivation_section(
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
) -> SectionResult:
    """Deprivation of each area by MHCLG's measures, a ranking, and an allocation.

    The figures are :func:`deprivation_tables`'; this adds the ranking, the rank stability
    (with ``weights``) and a decile map, for the round-1 matplotlib report.

    Parameters
    ----------
    areas
        The areas reported on, indexed by id.
    lsoa
        LSOA polygons of ``imd``'s vintage, indexed by LSOA code.
    imd
        The indices (:func:`nbhd_geo.read_imd`).
    weights, weight_col
        Finer population; partial LSOAs are then shared by where people live (and the
        ranking's stability against area shares is shown).
    label_col
        Column naming the areas.
    budget
        Whole pounds to allocate by proportionate universalism; ``None`` skips it.
    floor_share, gradient
        Allocation parameters (see :func:`nbhd_geo.allocate`).
    crosswalk
        The crosswalk of ``areas`` × ``lsoa`` the report already computed (reused).
    """
    dep = deprivation_tables(areas, lsoa, imd, weights=weights, weight_col=weight_col,
                             label_col=label_col, budget=budget, floor_share=floor_share,
                             gradient=gradient, crosswalk=crosswalk)
    tables = dict(dep.tables)
    wide = tables["deprivation.csv"].set_index(tables["deprivation.csv"].columns[0])
    need, _, need_label = need_column(wide)
    cols = ["name", "population", "imd_average_score", "imd_average_rank",
            "imd_proportion_most_deprived_10pct", "imd_extent", "imd_local_concentration",
            f"{need}_rank"]
    ranked = wide[[c for c in cols if c in wide.columns]].sort_values(f"{need}_rank")
    paragraphs = [*dep.notes, f"Rank 1 = most deprived by {need_label}."]
    if weights is not None:  # how much sharing partial LSOAs by people, not area, matters
        frame = areas.reset_index()
        lsoa_frame = lsoa.reset_index()
        kw = {"area_id": frame.columns[0], "lsoa_id": lsoa_frame.columns[0],
              "crosswalk": crosswalk}
        stab = rank_targets(
            imd_summary(frame, lsoa_frame, imd, **kw),
            imd_summary(frame, lsoa_frame, imd, population=weights, population_col=weight_col,
                        **kw),
            measure=need.removeprefix("imd_"),
        )
        moved = int((stab["abs_shift"] > 0).sum())
        paragraphs.append(
            f"Rank stability: sharing partial LSOAs by area instead of by population moves "
            f"{moved} of {len(stab)} neighbourhoods in the ranking (Spearman "
            f"{stab.attrs.get('spearman', float('nan')):.2f})."
        )
        tables["rank_stability.csv"] = stab.reset_index()
    tab_list = [("Neighbourhoods ranked by deprivation",
                 table_html(ranked.reset_index(), counts=["population"],
                            percent=["imd_proportion_most_deprived_10pct", "imd_extent"]))]
    if "allocation.csv" in tables:
        alloc = tables["allocation.csv"]
        shown = alloc[["area_id", "name", "population", "need", "floor", "allocation"]].assign(
            floor=alloc["floor"].map(lambda v: f"£{v:,.0f}"),
            allocation=alloc["allocation"].map(lambda v: f"£{v:,}"),
        )
        tab_list.append(("Allocation", table_html(
            shown.iloc[np.argsort(-alloc["allocation"].to_numpy(), kind="stable")],
            counts=["population"])))

    from nbhd_geo.report.maps.plot import ColourScale, map_choropleth

    deciles = imd.long.loc[imd.long["domain"] == "imd", ["lsoa_code", "decile"]]
    shaded = lsoa.join(deciles.set_index("lsoa_code"), how="left")
    shaded = shaded[shaded["decile"].notna()]
    fig, _ = map_choropleth(shaded.assign(decile=shaded["decile"].astype(int)), "decile",
                            outlines=areas,
                            scale=ColourScale("RdYlBu", categorical=True,
                                              legend_title="IMD decile (1 = most deprived 10%)"))
    section = Section(
        "Deprivation", "deprivation", paragraphs=paragraphs,
        figures=[(figure_to_data_uri(fig), "IMD decile of each LSOA with the neighbourhoods")],
        tables=tab_list,
    )
    return SectionResult(section, tables)
