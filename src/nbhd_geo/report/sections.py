"""Optional sections of the overlap report: deprivation and allocation.

Each builder runs the analysis functions it needs and returns a
:class:`~nbhd_geo.report.html.Section` plus the tables to publish as CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo import settings
from nbhd_geo.deprivation.allocation import allocate, rank_targets
from nbhd_geo.deprivation.imd import IMDTable
from nbhd_geo.deprivation.summary import imd_summary, to_wide
from nbhd_geo.report.html import Section, figure_to_data_uri, table_html

__all__ = ["Deprivation", "SectionResult", "consensus_section", "deprivation_section",
           "deprivation_tables", "national_decile"]


@dataclass
class SectionResult:
    """A report section and the tables behind it (file name -> table)."""

    section: Section
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _need_column(wide: pd.DataFrame) -> tuple[str, bool, str]:
    """Pick the measure that drives targeting: average score if the indices have scores."""
    if "imd_average_score" in wide and wide["imd_average_score"].notna().all():
        return "imd_average_score", True, "IMD average score"
    return "imd_average_rank", True, "IMD average rank (N + 1 − rank, higher = more deprived)"


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
    need, _, need_label = _need_column(wide)
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

    from nbhd_geo.report.plot import map_choropleth

    deciles = imd.long.loc[imd.long["domain"] == "imd", ["lsoa_code", "decile"]]
    shaded = lsoa.join(deciles.set_index("lsoa_code"), how="left")
    shaded = shaded[shaded["decile"].notna()]
    fig, _ = map_choropleth(shaded.assign(decile=shaded["decile"].astype(int)), "decile",
                            outlines=areas, cmap="RdYlBu", categorical=True,
                            legend_title="IMD decile (1 = most deprived 10%)")
    section = Section(
        "Deprivation", "deprivation", paragraphs=paragraphs,
        figures=[(figure_to_data_uri(fig), "IMD decile of each LSOA with the neighbourhoods")],
        tables=tab_list,
    )
    return SectionResult(section, tables)



def _plain_agreement(summary: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Agreement table with plain headings, areas in hectares, small counts suppressed."""
    n = summary["n_drawings"] if "n_drawings" in summary else pd.Series(np.nan, summary.index)
    out = pd.DataFrame({
        "Neighbourhood": summary.iloc[:, 0].astype(str),
        "Drawings": [f"fewer than {threshold}" if 0 < v < threshold else f"{int(v):,}"
                     if v == v else "–" for v in n.to_numpy(float)],
        "Mean agreement": summary.get("mean_agreement", np.nan),
    })
    for col in summary.columns:
        if col.startswith("core_") and col.endswith("_m2"):
            level = float(col.removeprefix("core_").removesuffix("_m2"))
            out[f"Drawn by {level:.0%} or more (ha)"] = (summary[col] / 1e4).round(1)
    return out


def _count_text(n: int, threshold: int) -> str:
    return f"fewer than {threshold}" if 0 < n < threshold else f"{n:,}"


def consensus_section(
    cons: Any,
    drawings: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    report: pd.DataFrame | None = None,
    maps: bool = True,
    threshold: int | None = None,
) -> SectionResult:
    """Many voices: agreement per neighbourhood, disputed and contested ground, outliers.

    Counts of drawers below ``threshold`` (default ``settings.small_count_threshold``)
    are shown as "fewer than N" in the page.

    Parameters
    ----------
    cons
        A :class:`~nbhd_geo.voices.consensus.Consensus` of ``drawings``.
    drawings
        The drawings it was computed from (indexed by id, with the ``by`` column).
    by
        Neighbourhood name column.
    report
        The combined read report (repaired drawings are flagged as outliers too).
    maps
        Draw an agreement map per neighbourhood.
    """
    from nbhd_geo.report.plot_consensus import plot_consensus
    from nbhd_geo.voices.outliers import outliers

    flags = outliers(drawings, cons, by=by)
    if report is not None and "feature_id" in report.columns:
        repaired = set(report.loc[report["status"] == "repaired", "feature_id"].astype(str))
        extra = flags.index.astype(str).isin(repaired) & ~flags["reasons"].str.contains(
            "repaired", regex=False)
        flags.loc[extra, "reasons"] = flags.loc[extra, "reasons"].map(
            lambda r: "; ".join(x for x in (r, "repaired on reading") if x))
        flags.loc[extra, "flagged"] = True
    limit = settings.small_count_threshold if threshold is None else threshold
    summary = cons.summary.reset_index()
    zones = cons.to_frame()
    disputed = cons.disputed
    t50 = 0.5 if 0.5 in cons.thresholds else cons.thresholds[len(cons.thresholds) // 2]
    d50 = disputed[disputed["threshold"] == t50] if len(disputed) else disputed
    paragraphs = [
        f"{_count_text(int(summary['n_drawings'].sum()), limit)} drawings of "
        f"{len(summary)} neighbourhoods. "
        f"Agreement is the share of a neighbourhood's drawers whose drawing covers a place "
        f"({cons.method}"
        + (f", {cons.cell_size:g} m cells" if cons.cell_size else "")
        + "); cores are where at least "
        + ", ".join(f"{t:.0%}" for t in cons.thresholds)
        + " of them agree.",
        f"Disputed ground (inside two neighbourhoods' {t50:.0%} cores): "
        + (", ".join(f"{r.name_a} / {r.name_b} ({r.area_m2 / 1e4:,.1f} ha)"
                     for r in d50.itertuples()) if len(d50) else "none")
        + ".",
        f"{int(flags['flagged'].sum())} of {len(flags)} drawings are flagged as possible "
        "outliers (listed below with reasons); they are kept in the cores unless excluded.",
    ]
    figures = []
    if maps:
        for name in summary[summary.columns[0]]:
            fig, _ = plot_consensus(cons, name)
            figures.append((figure_to_data_uri(fig, dpi=70), f"Agreement: {name}"))
    listed = flags.loc[flags["flagged"], ["name", "area_m2", "n_flags", "reasons"]]
    tables = [
        ("Agreement by neighbourhood", table_html(_plain_agreement(summary, limit),
                                                  percent=["Mean agreement"])),
        ("Disputed ground", table_html(pd.DataFrame(disputed.drop(columns="geometry")))
         if len(disputed) else "<p>None.</p>"),
        ("Drawings flagged as possible outliers",
         table_html(listed.reset_index().rename(columns={
             "drawing_id": "Drawing", "name": "Neighbourhood", "area_m2": "Area (ha)",
             "n_flags": "Flags", "reasons": "Why"}).assign(**{
             "Area (ha)": lambda f: (f["Area (ha)"] / 1e4).round(1)}), max_rows=100)),
    ]
    section = Section("Many voices: consensus", "consensus", paragraphs=paragraphs,
                      figures=figures, tables=tables)
    return SectionResult(section, {
        "consensus_summary.csv": summary,
        "outliers.csv": flags.reset_index(),
        "_zones": pd.DataFrame(zones),
    })


@dataclass
class Deprivation:
    """Deprivation per neighbourhood for the planner's page (see :func:`deprivation_tables`)."""

    per_area: pd.DataFrame          # decile, score, share_most_deprived (indexed by area id)
    allocation: pd.DataFrame | None  # allocation, per_head (indexed by area id)
    lsoa_deciles: pd.Series         # LSOA code -> IMD decile
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    need_label: str = "IMD average score"  # the measure behind the deciles and the ranking


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
    need, _, need_label = _need_column(wide)
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
                       else "IMD average rank (higher = more deprived)")
