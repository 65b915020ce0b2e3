"""Deprivation summaries for any area (MHCLG method), ranking and proportionate allocation.

An area is described by a *weights* table: the population of each LSOA counted inside
it (``area_id, lsoa_code, population``). A whole district gives each of its LSOAs its
full denominator, which reproduces MHCLG's published district summaries; a drawn
neighbourhood gives partial LSOAs partial populations (see :func:`nbhd_geo.population.
apportion`).

Examples
--------
>>> import pandas as pd
>>> from nbhd_geo.deprivation.imd import IMDTable
>>> imd = IMDTable.from_frames(pd.DataFrame({
...     "lsoa_code": ["A", "B"], "domain": "imd", "score": [50.0, 10.0],
...     "rank": [100, 20000], "decile": [1, 7]}), vintage="IoD2019")
>>> w = pd.DataFrame({"area_id": ["X", "X"], "lsoa_code": ["A", "B"],
...                   "population": [400.0, 1500.0]})
>>> s = imd_summary_from_weights(w, imd, lsoa_count="any")
>>> round(float(to_wide(s).loc["X", "imd_average_score"]), 4)
18.4211
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from nbhd_geo.deprivation.imd import IMDTable
from nbhd_geo.deprivation.vintage import check_vintage
from nbhd_geo.errors import ColumnError, InputError

__all__ = [
    "MEASURES",
    "extent_weight",
    "whole_lsoa_weights",
    "imd_summary_from_weights",
    "imd_summary",
    "to_wide",
    "rank_areas",
]

#: Measures of :func:`imd_summary_from_weights`, in output order.
MEASURES: tuple[str, ...] = (
    "average_score",
    "average_rank",
    "proportion_most_deprived_10pct",
    "extent",
    "local_concentration",
    "income_scale",
    "employment_scale",
)

_SCALE = {"income": "income_scale", "employment": "employment_scale"}


def extent_weight(rank: Any, n: int) -> np.ndarray:
    """MHCLG extent weight of LSOAs with national ``rank`` out of ``n``.

    Parameters
    ----------
    rank
        National ranks (1 = most deprived).
    n
        Number of LSOAs ranked (32,844 for IoD2019, 33,755 for IoD2025).

    Returns
    -------
    numpy.ndarray
        ``w`` = 1 for national percentile ``p ≤ 10``, ``0.95 − (0.9/19)(p − 11)`` for
        ``11 ≤ p ≤ 30`` (0.95 down to 0.05), else 0, where ``p = ceil(100·rank/n)``.

    Notes
    -----
    Source: MHCLG, *The English Indices of Deprivation 2019: Technical report*, §3.8
    (district summary measures, "extent").

    Examples
    --------
    >>> extent_weight([3284, 3285, 9853, 9854], 32844).round(4).tolist()
    [1.0, 0.95, 0.05, 0.0]
    """
    r = np.asarray(rank, dtype=float)
    p = np.ceil(100.0 * r / n)
    return np.where(p <= 10, 1.0, np.where(p <= 30, 0.95 - (0.9 / 19.0) * (p - 11), 0.0))


def whole_lsoa_weights(
    imd: IMDTable,
    membership: pd.DataFrame | None = None,
    *,
    area_col: str = "lad_code",
    lsoa_col: str = "lsoa_code",
) -> pd.DataFrame:
    """Weights for areas made of whole LSOAs (districts, wards): full denominators.

    Parameters
    ----------
    imd
        Gives the population denominator of each LSOA.
    membership
        LSOA → area table (e.g. the ONS LSOA21 → LAD24 lookup). ``None`` uses the
        districts named in the IMD files (IoD2019: LAD 2019).
    area_col, lsoa_col
        Columns of ``membership``.

    Returns
    -------
    pandas.DataFrame
        ``area_id, lsoa_code, population`` for every LSOA of ``membership`` that the
        IMD table knows.

    Raises
    ------
    ColumnError
        Missing columns, or no district membership in ``imd``.
    InputError
        LSOAs without a denominator.

    Examples
    --------
    >>> import pandas as pd
    >>> from nbhd_geo.deprivation.imd import IMDTable
    >>> imd = IMDTable.from_frames(
    ...     pd.DataFrame({"lsoa_code": ["A"], "domain": "imd", "rank": [9], "decile": [1]}),
    ...     vintage="IoD2019",
    ...     denominators=pd.DataFrame({"lsoa_code": ["A"], "population": [1500]}))
    >>> whole_lsoa_weights(imd, pd.DataFrame({"lad_code": ["D"], "lsoa_code": ["A"]}))
      area_id lsoa_code  population
    0       D         A      1500.0
    """
    if membership is None:
        if imd.districts.empty:
            raise ColumnError(
                "has no district membership",
                argument="imd",
                fix="pass membership= an LSOA → area lookup",
            )
        membership, area_col, lsoa_col = imd.districts, "lad_code", "lsoa_code"
    for col in (area_col, lsoa_col):
        if col not in membership.columns:
            raise ColumnError(
                f"has no column {col!r}",
                argument="membership",
                fix=f"pass area_col=/lsoa_col= among {list(membership.columns)}",
            )
    m = pd.DataFrame(
        {
            "area_id": membership[area_col].to_numpy(),
            "lsoa_code": membership[lsoa_col].astype(str).to_numpy(),
        }
    )
    m = m[m["lsoa_code"].isin(imd.codes)]
    pop = imd.denominators.set_index("lsoa_code")["population"]
    m["population"] = m["lsoa_code"].map(pop).astype(float)
    if m["population"].isna().any():
        raise InputError(
            "LSOAs have no population denominator",
            argument="imd",
            ids=m.loc[m["population"].isna(), "lsoa_code"],
            fix="read the denominators too (IoD2019 File 6, or Census 2021 for IoD2025)",
        )
    return m.reset_index(drop=True)


def _rank_desc(values: pd.Series, ids: pd.Series) -> pd.Series:
    """Rank 1 = largest value; ties broken by id (stable); NaN stays NaN."""
    v = values.to_numpy(float)
    ok = np.flatnonzero(~np.isnan(v))
    frame = pd.DataFrame({"v": v[ok], "id": ids.to_numpy()[ok], "pos": ok})
    frame = frame.sort_values(["v", "id"], ascending=[False, True], kind="stable")
    out = np.full(len(v), np.nan)
    out[frame["pos"].to_numpy()] = np.arange(1, len(frame) + 1, dtype=float)
    return pd.Series(out, index=values.index)


def rank_areas(summary: pd.DataFrame, *, area_col: str | None = None) -> pd.DataFrame:
    """(Re)rank every measure of a long summary across its areas (1 = most deprived).

    Parameters
    ----------
    summary
        Output of :func:`imd_summary_from_weights` (or a subset of its areas).
    area_col
        The area id column; ``None`` takes ``summary.attrs["area_col"]``.

    Returns
    -------
    pandas.DataFrame
        A copy with ``rank`` recomputed: larger value = more deprived = smaller rank;
        ties broken by area id; NaN values unranked.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"area_id": ["a", "b", "c"], "domain": "imd",
    ...                   "measure": "extent", "value": [0.1, 0.3, 0.1]})
    >>> rank_areas(s, area_col="area_id")["rank"].tolist()
    [2.0, 1.0, 3.0]
    """
    area_col = area_col or summary.attrs.get("area_col", "area_id")
    out = summary.copy()
    out["rank"] = np.nan
    for _, idx in out.groupby(["domain", "measure"], sort=False).groups.items():
        sub = out.loc[idx]
        r = _rank_desc(sub["value"].reset_index(drop=True), sub[area_col].reset_index(drop=True))
        out.loc[idx, "rank"] = r.to_numpy()
    out.loc[out["measure"] == "population", "rank"] = np.nan
    return out


def _positive_weights(
    weights: pd.DataFrame, area_col: str, lsoa_col: str, population_col: str
) -> pd.DataFrame:
    for col in (area_col, lsoa_col, population_col):
        if col not in weights.columns:
            raise ColumnError(
                f"has no column {col!r}",
                argument="weights",
                fix=f"give columns {area_col!r}, {lsoa_col!r}, {population_col!r} "
                "(or pass area_col=, lsoa_col=, population_col=)",
            )
    w = pd.DataFrame(
        {
            "area": weights[area_col].to_numpy(),
            "lsoa_code": weights[lsoa_col].astype(str).to_numpy(),
            "P": pd.to_numeric(weights[population_col], errors="coerce").to_numpy(float),
        }
    )
    bad = ~np.isfinite(w["P"]) | (w["P"] < 0)
    if bad.any():
        raise InputError(
            "populations must be numbers ≥ 0",
            argument="weights",
            ids=w.loc[bad, "lsoa_code"].unique(),
            fix="fix or drop those rows",
        )
    dup = w.duplicated(["area", "lsoa_code"])
    if dup.any():
        raise InputError(
            "has more than one row for the same area and LSOA",
            argument="weights",
            ids=w.loc[dup, "lsoa_code"].unique(),
            fix="sum them first: weights.groupby([area, lsoa]).sum()",
        )
    return w


def _lsoa_fractions(w: pd.DataFrame, lsoa_pop: np.ndarray, lsoa_count: str) -> np.ndarray:
    """How much of an LSOA each row counts as: its share of people inside, or 1 if any."""
    if lsoa_count == "fractional":
        missing = ~np.isfinite(lsoa_pop) & (w["P"].to_numpy() > 0)
        if missing.any():
            raise InputError(
                "LSOAs have no population denominator, needed to count partial LSOAs",
                argument="imd",
                ids=w.loc[missing, "lsoa_code"].unique(),
                fix="read the denominators (IoD2019 File 6 / Census 2021) or pass "
                "lsoa_count='any'",
            )
        people = w["P"].to_numpy()
        safe = np.where(lsoa_pop > 0, lsoa_pop, 1.0)
        # More people inside than the denominator holds (a denominator of 0 included)
        # is a whole LSOA: the cap at 1, not a share of 0 for the LSOA with people.
        frac = np.where(lsoa_pop > 0, np.minimum(people / safe, 1.0), (people > 0).astype(float))
    elif lsoa_count == "any":
        frac = (w["P"].to_numpy() > 0).astype(float)
    else:
        raise InputError(
            f"unknown option {lsoa_count!r}", argument="lsoa_count", fix="use 'fractional' or 'any'"
        )
    return frac


def imd_summary_from_weights(
    weights: pd.DataFrame,
    imd: IMDTable,
    *,
    area_col: str = "area_id",
    lsoa_col: str = "lsoa_code",
    population_col: str = "population",
    domains: Sequence[str] | None = None,
    lsoa_count: Literal["fractional", "any"] = "fractional",
    employment_population: Literal["working_age", "total"] = "working_age",
    apportioned_by: str | None = None,
) -> pd.DataFrame:
    """MHCLG district-style IMD summaries for any areas, from LSOA population weights.

    Parameters
    ----------
    weights
        One row per (area, LSOA): ``area_col``, ``lsoa_col`` and ``population_col``
        (the LSOA's population counted inside the area). Not modified.
    imd
        Indices table of the same LSOA vintage as ``weights`` (checked).
    area_col, lsoa_col, population_col
        Columns of ``weights``.
    domains
        Domains to summarise; ``None`` = all in ``imd`` (the IMD and seven domains).
    lsoa_count
        How a partial LSOA counts in the *proportion of LSOAs in the most deprived
        10 %*: ``"fractional"`` (default) counts the share of the LSOA's population
        inside the area (``population / denominator``, capped at 1); ``"any"`` counts
        every LSOA with population > 0 as one. Whole LSOAs count 1 either way, so
        both match MHCLG for whole districts.
    employment_population
        Population weight of the Employment domain's measures: ``"working_age"``
        (MHCLG; inside an area = population × the LSOA's working-age share) or
        ``"total"``.
    apportioned_by
        How the weights were made (``"whole"``, ``"area"``, ``"points"`` ...), copied
        to the output; ``None`` takes ``weights.attrs["apportioned_by"]`` or
        ``"given"``.

    Returns
    -------
    pandas.DataFrame
        Long: ``area_col, domain, measure, value, rank, apportioned_by``; one row per
        area, domain and measure (:data:`MEASURES`; the scales only for Income and
        Employment), plus ``domain="all", measure="population"`` (Σ population).
        ``rank`` is across the areas given (1 = most deprived, ties by area id).
        ``attrs`` carry vintage, geography, n, lsoa_count, apportioned_by and notes.
        Use :func:`to_wide` for one row per area.

    Raises
    ------
    ColumnError, InputError
        Missing columns, negative populations, duplicate pairs, LSOAs without
        denominators where needed.
    VintageError
        LSOA codes of the other vintage (fix: :func:`nbhd_geo.convert_lsoa_vintage`).

    Notes
    -----
    With ``P`` the population of an LSOA inside area A, ``r′ = N + 1 − rank`` and N
    national (32,844 or 33,755):

    * average score = Σ P·score / Σ P (NaN where the vintage's files have no scores);
    * average rank = Σ P·r′ / Σ P (higher = more deprived);
    * proportion of LSOAs in the most deprived 10 % = count with decile 1 / count
      (a count of LSOAs, not population-weighted; see ``lsoa_count``);
    * extent = Σ P·w / Σ P, ``w`` from :func:`extent_weight` (national percentiles);
    * local concentration = population-weighted mean r′ of A's most deprived LSOAs
      holding exactly 10 % of A's population, the LSOA straddling the line counting
      only the population needed;
    * income scale = Σ P·income rate; employment scale = Σ P_wa·employment rate
      (numbers of people).

    The Employment domain's measures weight by working-age population (IoD2019 File 6
    "working age 18-59/64"; Census 16-64 for IoD2025). Percentiles are national and
    never recomputed from the areas given. Sources: MHCLG, *English Indices of
    Deprivation 2019: Technical report* §3.8 and *Research report* Appendix; METHODS.md
    §5. With whole districts it reproduces MHCLG's published IoD2019 LAD proportion and
    extent, and the average rank of 3 of the 4 sample districts, to the published
    precision (Wakefield: 20,272.86 against 20,272.84 published); see
    ``tests/test_deprivation.py``.

    Examples
    --------
    >>> import pandas as pd
    >>> from nbhd_geo.deprivation.imd import IMDTable
    >>> imd = IMDTable.from_frames(pd.DataFrame({
    ...     "lsoa_code": ["A", "B"], "domain": "imd", "score": [50.0, 10.0],
    ...     "rank": [100, 20000], "decile": [1, 7]}), vintage="IoD2019",
    ...     denominators=pd.DataFrame({"lsoa_code": ["A", "B"], "population": [1000, 1500]}))
    >>> w = pd.DataFrame({"area_id": "X", "lsoa_code": ["A", "B"],
    ...                   "population": [400.0, 1500.0]})   # 40 % of A inside
    >>> wide = to_wide(imd_summary_from_weights(w, imd))
    >>> round(float(wide.loc["X", "imd_proportion_most_deprived_10pct"]), 4)
    0.2857
    """
    w = _positive_weights(weights, area_col, lsoa_col, population_col)
    check_vintage(w["lsoa_code"], imd, argument="weights")
    if apportioned_by is None:
        apportioned_by = str(weights.attrs.get("apportioned_by", "given"))
    doms = list(imd.domains if domains is None else domains)
    unknown = [d for d in doms if d not in imd.domains]
    if unknown:
        raise InputError(
            f"domains {unknown} are not in the IMD table",
            argument="domains",
            fix=f"choose among {list(imd.domains)}",
        )
    notes = list(imd.notes)
    den = imd.denominators.set_index("lsoa_code")
    lsoa_pop = w["lsoa_code"].map(den["population"]).to_numpy(float)
    lsoa_wa = w["lsoa_code"].map(den["working_age_population"]).to_numpy(float)

    frac = _lsoa_fractions(w, lsoa_pop, lsoa_count)
    wa_share = np.where(
        np.isfinite(lsoa_wa) & (lsoa_pop > 0), lsoa_wa / np.where(lsoa_pop > 0, lsoa_pop, 1), np.nan
    )
    if employment_population not in ("working_age", "total"):
        raise InputError(
            f"unknown option {employment_population!r}",
            argument="employment_population",
            fix="use 'working_age' or 'total'",
        )
    if employment_population == "working_age" and "employment" in doms:
        if np.isnan(wa_share[w["P"].to_numpy() > 0]).any():
            notes.append(
                "no working-age denominators for some LSOAs: there the Employment domain is "
                "weighted by total population"
            )
    wa_share = np.where(np.isnan(wa_share), 1.0, wa_share)

    areas = pd.Index(pd.unique(w["area"]))
    codes = pd.Categorical(w["area"], categories=areas).codes
    n_areas = len(areas)
    total_p = np.bincount(codes, weights=w["P"].to_numpy(), minlength=n_areas)
    if (total_p <= 0).any():
        notes.append(
            f"{int((total_p <= 0).sum())} area(s) have no population: their measures are NaN"
        )

    long = imd.long.set_index(["domain", "lsoa_code"])
    rows: list[pd.DataFrame] = []
    for dom in doms:
        P = w["P"].to_numpy(float)
        if dom == "employment" and employment_population == "working_age":
            P = P * wa_share
        vals = _domain_measures(long.loc[dom], dom, w["lsoa_code"], P, frac, codes, n_areas, imd.n)
        for measure, v in vals.items():
            rows.append(
                pd.DataFrame({area_col: areas, "domain": dom, "measure": measure, "value": v})
            )
    rows.append(
        pd.DataFrame({area_col: areas, "domain": "all", "measure": "population", "value": total_p})
    )
    out = pd.concat(rows, ignore_index=True)
    out.attrs.update(
        area_col=area_col,
        vintage=imd.vintage,
        geography=imd.geography,
        n=imd.n,
        lsoa_count=lsoa_count,
        apportioned_by=apportioned_by,
        notes=tuple(notes),
    )
    out = rank_areas(out, area_col=area_col)
    out["apportioned_by"] = apportioned_by
    return out


def _domain_measures(
    sub: pd.DataFrame,
    dom: str,
    lsoa_codes: pd.Series,
    P: np.ndarray,
    frac: np.ndarray,
    codes: np.ndarray,
    n_areas: int,
    n: int,
) -> dict[str, np.ndarray]:
    """Compute the MHCLG summary measures of one domain for every area (METHODS.md §5).

    ``sub`` holds the domain's rank, decile and score by LSOA; ``P`` the people of each
    (area, LSOA) row counted for this domain, ``frac`` how much of an LSOA the row
    counts as, ``codes`` the row's area position and ``n`` the number of LSOAs ranked.
    """

    def wmean(x: np.ndarray, p: np.ndarray) -> np.ndarray:
        num = np.bincount(codes, weights=p * x, minlength=n_areas)
        den_ = np.bincount(codes, weights=p, minlength=n_areas)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den_ > 0, num / den_, np.nan)

    rank = lsoa_codes.map(sub["rank"]).to_numpy(float)
    decile = lsoa_codes.map(sub["decile"]).to_numpy(float)
    score = lsoa_codes.map(sub["score"]).to_numpy(float)
    used = P > 0
    rprime = n + 1 - rank
    # scores: NaN where any contributing LSOA lacks one
    nan_score = np.bincount(codes, weights=(used & np.isnan(score)).astype(float),
                            minlength=n_areas) > 0
    avg_score = wmean(np.where(np.isnan(score), 0.0, score), P)
    avg_score[nan_score] = np.nan
    vals = {
        "average_score": avg_score,
        "average_rank": wmean(rprime, P),
        "proportion_most_deprived_10pct": wmean((decile == 1).astype(float), frac),
        "extent": wmean(extent_weight(rank, n), P),
        "local_concentration": _local_concentration(codes, n_areas, P, rank, rprime),
    }
    if dom in _SCALE:
        scale = np.bincount(codes, weights=P * np.where(np.isnan(score), 0.0, score),
                            minlength=n_areas)
        scale[nan_score] = np.nan
        vals[_SCALE[dom]] = scale
    return vals


def _local_concentration(
    codes: np.ndarray, n_areas: int, P: np.ndarray, rank: np.ndarray, rprime: np.ndarray
) -> np.ndarray:
    """Population-weighted mean r′ of the most deprived LSOAs holding 10 % of each area."""
    order = np.lexsort((rank, codes))  # by area, then most deprived first
    c, p, r = codes[order], P[order], rprime[order]
    total = np.bincount(c, weights=p, minlength=n_areas)
    cum = pd.Series(p).groupby(c).cumsum().to_numpy()
    before = cum - p
    need = 0.1 * total[c]
    take = np.clip(need - before, 0.0, p)
    num = np.bincount(c, weights=take * r, minlength=n_areas)
    den = np.bincount(c, weights=take, minlength=n_areas)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def to_wide(summary: pd.DataFrame, *, ranks: bool = False) -> pd.DataFrame:
    """One row per area: columns ``{domain}_{measure}`` (and ``..._rank``), ``population``.

    Parameters
    ----------
    summary
        Long output of :func:`imd_summary_from_weights`.
    ranks
        Also add the ranks across areas.

    Returns
    -------
    pandas.DataFrame
        Indexed by area id, ``attrs`` kept.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"area_id": ["a"], "domain": ["imd"], "measure": ["extent"],
    ...                   "value": [0.5], "rank": [1.0]})
    >>> to_wide(s, ranks=True).columns.tolist()
    ['imd_extent', 'imd_extent_rank']
    """
    area_col = summary.attrs.get("area_col", summary.columns[0])
    key = np.where(
        summary["domain"] == "all", summary["measure"], summary["domain"] + "_" + summary["measure"]
    )
    frame = summary.assign(key=key)
    out = frame.pivot(index=area_col, columns="key", values="value")
    cols = list(dict.fromkeys(key))
    out = out[cols]
    if ranks:
        rk = frame[frame["domain"] != "all"].pivot(index=area_col, columns="key", values="rank")
        rk.columns = [f"{c}_rank" for c in rk.columns]
        out = out.join(rk)
        ordered = []
        for c in cols:
            ordered.append(c)
            if f"{c}_rank" in out.columns:
                ordered.append(f"{c}_rank")
        out = out[ordered]
    out.columns.name = None
    out.attrs = dict(summary.attrs)
    return out


def imd_summary(
    areas: Any,
    lsoa_layer: Any,
    imd: IMDTable,
    *,
    population: Any = None,
    population_col: str | None = None,
    weights: pd.DataFrame | None = None,
    area_id: str | None = None,
    lsoa_id: str = "lsoa_code",
    by: str | None = None,
    crosswalk: Any = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """IMD summaries of drawn areas: apportion LSOA populations, then summarise.

    Parameters
    ----------
    areas
        Drawn areas (GeoDataFrame).
    lsoa_layer
        LSOA polygons of ``imd``'s vintage, with codes in ``lsoa_id``.
    imd
        Indices table; its denominators are the LSOA populations shared out.
    population
        Optional finer population layer (Output Area polygons or address/postcode
        points with counts) so shares follow where people live; ``None`` apportions
        by area.
    population_col
        The count column of ``population``.
    weights
        A ready weights table (``area_id, lsoa_code, population``): skips apportioning.
    area_id, lsoa_id
        Id columns of ``areas`` and ``lsoa_layer``.
    by
        Apportioning method passed on (``"area"``, ``"polygons"``, ``"points"``).
    crosswalk
        The :class:`~nbhd_geo.Crosswalk` of ``areas`` × ``lsoa_layer`` already computed
        (e.g. by the report's reconciliation): reused instead of intersecting again.
    **kwargs
        Passed to :func:`imd_summary_from_weights`.

    Returns
    -------
    pandas.DataFrame
        As :func:`imd_summary_from_weights`; column and ``attrs["apportioned_by"]``
        say how LSOA populations were shared (``"area"``, ``"polygons"``, ``"points"``,
        or ``"given"``), and ``attrs["area_fallback_lsoas"]`` lists LSOAs whose
        finer population was empty so area was used.

    Notes
    -----
    A partly covered LSOA contributes only the population inside the area, never its
    whole population (METHODS.md §1, §5). Welsh LSOAs in ``lsoa_layer`` are left out
    (the IMD is for England) and counted in ``attrs["notes"]``. With a national IMD
    table every English code of ``lsoa_layer`` must be known (else
    :class:`~nbhd_geo.errors.VintageError`); with a local extract (a user's CSV),
    LSOAs it lacks are left out and counted in ``attrs["notes"]``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from nbhd_geo.deprivation.imd import IMDTable
    >>> imd = IMDTable.from_frames(pd.DataFrame({
    ...     "lsoa_code": ["E01000001", "E01000002"], "domain": "imd",
    ...     "rank": [100, 20000], "decile": [1, 7]}), vintage="IoD2019",
    ...     denominators=pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"],
    ...                                "population": [1000, 500]}))
    >>> lsoa = gpd.GeoDataFrame({"lsoa_code": ["E01000001", "E01000002"]},
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> drawn = gpd.GeoDataFrame({"name": ["Oakfield"]},
    ...     geometry=[shapely.box(60, 0, 150, 100)], crs=27700)
    >>> s = imd_summary(drawn, lsoa, imd, area_id="name")  # doctest: +SKIP
    >>> s.attrs["apportioned_by"]  # doctest: +SKIP
    'area'
    """
    area_col = kwargs.pop("area_col", "area_id")
    if weights is not None:
        return imd_summary_from_weights(weights, imd, area_col=area_col, **kwargs)
    from nbhd_geo.overlay.apportion import apportion

    # Layers read with nbhd_geo.read_layer carry their ids in the index.
    if lsoa_id not in lsoa_layer.columns and lsoa_layer.index.name == lsoa_id:
        lsoa_layer = lsoa_layer.reset_index()
    if area_id is not None and area_id not in areas.columns and areas.index.name == area_id:
        areas = areas.reset_index()
    if lsoa_id not in lsoa_layer.columns:
        raise ColumnError(
            f"has no column {lsoa_id!r}",
            argument="lsoa_layer",
            fix="pass lsoa_id= its LSOA code column",
        )
    codes = lsoa_layer[lsoa_id].astype(str)
    welsh = codes.str.startswith("W")
    notes = []
    if welsh.any():
        notes.append(f"{int(welsh.sum())} Welsh LSOAs of lsoa_layer left out (IMD is England only)")
    layer = lsoa_layer[~welsh.to_numpy()]
    if imd.long["lsoa_code"].nunique() >= imd.n:  # national table: every code must match
        check_vintage(layer[lsoa_id], imd, argument="lsoa_layer")
    else:  # a local IMD extract: keep the LSOAs it covers, and say how many were left out
        known = layer[lsoa_id].astype(str).isin(imd.codes).to_numpy()
        if not known.any():
            check_vintage(layer[lsoa_id], imd, argument="lsoa_layer")
        if (~known).any():
            notes.append(
                f"{int((~known).sum())} LSOAs of lsoa_layer are not in the IMD table and "
                "were left out (their people count in no area)"
            )
        layer = layer[known]
    unit_pop = imd.denominators.set_index("lsoa_code")["population"]
    ap = apportion(
        areas,
        layer,
        area_id=area_id,
        unit_id=lsoa_id,
        unit_population=unit_pop,
        weights=population,
        weight_col=population_col,
        by=by,  # type: ignore[arg-type]
        crosswalk=crosswalk,
    )
    table = ap.table
    w = pd.DataFrame(
        {
            area_col: table["area_id"].to_numpy(),
            "lsoa_code": table["unit_id"].astype(str).to_numpy(),
            "population": table["population"].to_numpy(float),
        }
    )
    out = imd_summary_from_weights(w, imd, area_col=area_col, apportioned_by=ap.by, **kwargs)
    fallback: list[str] = []
    units = getattr(ap, "units", None)
    if ap.by != "area" and units is not None and "weighted_by" in units.columns:
        fallback = units.index[units["weighted_by"] == "area"].astype(str).tolist()
    out.attrs["area_fallback_lsoas"] = fallback
    out.attrs["notes"] = tuple(out.attrs.get("notes", ())) + tuple(notes)
    return out


