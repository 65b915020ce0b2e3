"""Plain data for the report sections "Who was heard" and "Councillors' view".

The builders here compute nothing new: they turn the results of
:mod:`nbhd_geo.voices` (coverage, weighting, stability, comparison, councillor view)
into short plain-language sentences and *published* tables (small counts suppressed)
that the HTML report lays out. They import no plotting code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from nbhd_geo import settings
from nbhd_geo.io.disclosure import suppress_small_counts

__all__ = ["HeardSection", "who_was_heard_section", "councillors_section"]


@dataclass
class HeardSection:
    """A report section as plain data.

    Attributes
    ----------
    title, anchor
        Heading and HTML anchor.
    paragraphs
        Short sentences, in order.
    tables
        Caption -> table ready to publish (small counts already suppressed).
    maps
        Caption -> (layer, column) to draw as a choropleth (may be empty).
    """

    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    maps: dict[str, tuple[gpd.GeoDataFrame, str]] = field(default_factory=dict)


def who_was_heard_section(
    coverage: Any,
    *,
    units: gpd.GeoDataFrame | None = None,
    weights: Any = None,
    stability: Any = None,
    comparison: Any = None,
    threshold: int | None = None,
) -> HeardSection:
    """Build "Who was heard": coverage, unheard units, weighting, stability, comparison.

    Parameters
    ----------
    coverage
        A :class:`~nbhd_geo.voices.coverage.Coverage`.
    units
        The units' polygons (indexed like ``coverage.table``) for a coverage map.
    weights
        Optional :class:`~nbhd_geo.voices.weighting.Weights`.
    stability
        Optional :class:`~nbhd_geo.voices.stability.Stability`.
    comparison
        Optional :class:`~nbhd_geo.voices.compare.Comparison`.
    threshold
        Small-count threshold (default ``settings.small_count_threshold``).

    Returns
    -------
    HeardSection

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from nbhd_geo.voices.coverage import engagement_coverage
    >>> lsoa = gpd.GeoDataFrame({"pop": [1000, 2000]}, index=["L1", "L2"],
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([10] * 12 + [150], [10] * 13),
    ...                        crs=27700)
    >>> cov = engagement_coverage(pts, lsoa, unit_population="pop",
    ...                           deprivation=pd.Series({"L1": 8, "L2": 1}))
    >>> sec = who_was_heard_section(cov)
    >>> print(sec.paragraphs[0])  # doctest: +NORMALIZE_WHITESPACE
    13 drawings from 3,000 residents: 4.3 per 1,000 overall, across 2 units (2 not shown:
    too few drawings to publish).
    >>> print(sec.paragraphs[1])  # doctest: +NORMALIZE_WHITESPACE
    1 unit is flagged unheard (coverage at or below 3.4 per 1,000 and in the most deprived
    20% nationally): L2.
    >>> sec.tables["Coverage by unit"]["drawings"].tolist()  # 13 - 12 would give the 1 back
    ['suppressed', '<10']
    """
    limit = settings.small_count_threshold if threshold is None else int(threshold)
    t = coverage.table
    n = coverage.conservation["n_drawings"]
    pop = float(t["population"].sum())
    published = coverage.published(limit)
    # Only the rates the table shows: a hidden unit's rate times its (published) population
    # would give its small count back.
    shown = published["per_1000"].astype(str).ne("").to_numpy()
    rate = t["per_1000"][shown].dropna()
    span = (f"from {rate.min():.1f} to {rate.max():.1f} per 1,000 across {len(t)} units"
            if len(rate) else f"across {len(t)} units")
    if (~shown).any():
        span += f" ({int((~shown).sum())} not shown: too few drawings to publish)"
    paras = [
        f"{n:,.0f} drawings from {pop:,.0f} residents: {1000 * n / pop:.1f} per 1,000 overall, "
        f"{span}."
        if pop > 0 else f"{n:,.0f} drawings; the units have no residents."
    ]
    unheard = coverage.unheard()
    if "imd_decile" in t:
        d = coverage.deprived_deciles
        crit = (f"coverage at or below {coverage.low_per_1000:.1f} per 1,000 and in the most "
                f"deprived {10 * d}% nationally")
        if len(unheard):
            noun = "unit is" if len(unheard) == 1 else "units are"
            shown = ", ".join(map(str, unheard.index[:10]))
            more = f" and {len(unheard) - 10} more" if len(unheard) > 10 else ""
            paras.append(f"{len(unheard)} {noun} flagged unheard ({crit}): {shown}{more}.")
        else:
            paras.append(f"No unit is flagged unheard ({crit}).")
    lost = (coverage.conservation["home_outside"] + coverage.conservation["outside_units"]
            + coverage.conservation["unassigned"])
    if lost > 1e-9:
        paras.append(f"{lost:,.1f} drawings' worth lies outside these units (home elsewhere, "
                     "or drawn beyond them) and is not counted above.")
    tables = {"Coverage by unit": published}
    if len(unheard):
        tables["Unheard units"] = tables["Coverage by unit"].set_index(
            tables["Coverage by unit"].columns[0]).loc[unheard.index].reset_index()
    if weights is not None:
        s = weights.summary
        paras.append(
            f"Weighted to census distributions ({s['method']}): weights run from "
            f"{s['min']:.2f} to {s['max']:.2f} (ratio {s['max_min_ratio']:.1f}); the "
            f"{s['n']:,} drawings count like {s['effective_n']:,.0f} unweighted ones "
            f"(Kish effective sample size, design effect {s['design_effect']:.2f}).")
        tables["Respondents vs census"] = weights.to_frame().round(3)
    if stability is not None:
        st = stability.summary
        bad = st.index[st["unstable"].to_numpy()]
        paras.append(
            f"Cores bootstrapped {stability.n_boot} times: "
            + (f"{len(bad)} of {len(st)} neighbourhoods have unstable cores "
               f"({', '.join(map(str, bad[:10]))})." if len(bad)
               else f"all {len(st)} neighbourhoods have stable cores."))
        tab = st.reset_index()
        tables["Core stability"] = suppress_small_counts(tab, ["n_drawings"], threshold=limit)
    if comparison is not None:
        c = comparison
        sig = c.table.index[c.table["significant"].to_numpy()]
        paras.append(
            f"The two sets' cores overlap with a mean IoU of {1 - c.statistic:.2f}: a "
            "difference "
            + (f"more than resampling noise (permutation p = {c.p_value:.3f})"
               if c.significant else
               f"within resampling noise (permutation p = {c.p_value:.3f})")
            + (f"; neighbourhoods that moved: {', '.join(map(str, sig))}." if len(sig) else ".")
        )
        tab = c.to_frame().reset_index()
        tables["Two sets compared"] = suppress_small_counts(tab, ["n_a", "n_b"], threshold=limit)
    maps = {}
    if units is not None:
        layer = units[[units.geometry.name]].join(t[["per_1000", "unheard"]], how="inner")
        hidden = tables["Coverage by unit"]["per_1000"].astype(str).eq("").to_numpy()
        layer.loc[layer.index.isin(t.index[hidden]), "per_1000"] = float("nan")
        maps["Drawings per 1,000 residents"] = (layer, "per_1000")
    return HeardSection("Who was heard", "who-was-heard", paras, tables, maps)


def councillors_section(view: Any, *, threshold: int | None = None) -> HeardSection:
    """Build "Councillors' view": per ward, the neighbourhoods it holds.

    Parameters
    ----------
    view
        A :class:`~nbhd_geo.voices.councillors.CouncillorView`.
    threshold
        Small-count threshold for the published populations.

    Returns
    -------
    HeardSection
    """
    limit = settings.small_count_threshold if threshold is None else int(threshold)
    paras = [
        f"For each ward, the named neighbourhoods holding at least {view.min_share:.0%} of "
        f"their people there (people shared out by {view.weighted_by})."
    ]
    paras += list(view.wards["summary"])
    split = view.neighbourhoods[view.neighbourhoods["n_wards"] > 1]
    if len(split):
        paras.append(f"{len(split)} of {len(view.neighbourhoods)} neighbourhoods span more "
                     "than one ward: " + ", ".join(
                         f"{n} ({k})" for n, k in split["n_wards"].items()) + ".")
    held = view.table[view.table["held"]].drop(columns="held")
    tab = held.assign(share_of_neighbourhood=held["share_of_neighbourhood"].round(3),
                      share_of_ward=held["share_of_ward"].round(3),
                      area_m2=held["area_m2"].round(0))
    tables = {
        "Neighbourhoods by ward": suppress_small_counts(tab, ["population"], threshold=limit),
        "Wards": suppress_small_counts(view.wards.drop(columns="summary").reset_index(),
                                       ["population", "population_in_neighbourhoods"],
                                       threshold=limit),
    }
    return HeardSection("Councillors' view", "councillors-view", paras, tables)
