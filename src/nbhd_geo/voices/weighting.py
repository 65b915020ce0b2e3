"""Representativeness weighting: make the drawings speak for the population, not the turnout.

Engagement reaches some groups far more than others. When drawings carry coarse
respondent attributes (age band, home LSOA or postcode district, ...) they can be
compared with census distributions and re-weighted: :func:`poststratify` uses a full
cross-table of the population (every combination of the attributes), :func:`rake`
only the separate margins (iterative proportional fitting). Both report the spread of
the weights and Kish's effective sample size, and both refuse, naming the category
and the fix, when a population group has no respondent at all: no weight can make
an absent group heard. The weights go into :func:`nbhd_geo.voices.consensus.consensus`
through ``weight_col=``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from nbhd_geo.errors import ColumnError, NbhdGeoError

__all__ = ["Weights", "kish_ess", "poststratify", "rake"]

Scale = Literal["sample", "population"]


def kish_ess(weights: Sequence[float] | np.ndarray | pd.Series) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``.

    Examples
    --------
    >>> kish_ess([1, 1, 1, 1])
    4.0
    >>> kish_ess([3, 1, 1, 1])
    3.0
    """
    w = np.asarray(weights, dtype=float)
    s2 = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


@dataclass(frozen=True)
class Weights:
    """Weights per respondent and how far they had to move the sample.

    Attributes
    ----------
    weights
        One weight per respondent (the sample's index), named ``weight``.
    summary
        ``method``, ``n``, ``sum``, ``min``, ``max``, ``max_min_ratio``, ``cv``
        (coefficient of variation), ``design_effect`` (Kish: ``n Σw² / (Σw)²``),
        ``effective_n`` (Kish ESS), ``iterations`` and ``converged`` (raking).
    balance
        One row per variable and category: ``sample_share`` (unweighted),
        ``population_share`` (census) and ``weighted_share`` (after weighting).
    """

    weights: pd.Series
    summary: dict[str, float | int | str | bool]
    balance: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Return the balance table (one row per variable and category)."""
        return self.balance.copy()

    def apply(self, frame: pd.DataFrame, column: str = "weight") -> pd.DataFrame:
        """Return a copy of ``frame`` (same index as the sample) with a weight column.

        Refuses to overwrite an existing column.
        """
        if column in frame.columns:
            raise ColumnError(f"already has a column {column!r}", argument="column",
                              fix="pass another column name")
        out = frame.copy()
        out[column] = self.weights.reindex(out.index).to_numpy()
        return out


def _check_vars(sample: pd.DataFrame, variables: Sequence[str], argument: str) -> None:
    if not isinstance(sample, pd.DataFrame):
        raise NbhdGeoError(f"expected a DataFrame, got {type(sample).__name__}",
                           argument="sample", fix="pass the drawings with their attributes")
    missing = [v for v in variables if v not in sample.columns]
    if missing:
        raise ColumnError(f"sample has no column(s) {missing}", argument=argument,
                          fix=f"choose from {[c for c in sample.columns if c != 'geometry']}")
    for v in variables:
        na = sample[v].isna().to_numpy()
        if na.any():
            raise NbhdGeoError(f"respondent attribute {v!r} is missing", argument="sample",
                               ids=sample.index[na],
                               fix=f"fill {v!r} with an explicit category such as 'not stated' "
                                   "that the census table also has, or drop those rows")


def _base(sample: pd.DataFrame, base_weight: str | None) -> np.ndarray:
    if base_weight is None:
        return np.ones(len(sample))
    if base_weight not in sample.columns:
        raise ColumnError(f"has no column {base_weight!r}", argument="base_weight",
                          fix="pass an existing numeric column or None")
    w = pd.to_numeric(sample[base_weight], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise NbhdGeoError("base weights must be finite and > 0", argument="base_weight",
                           ids=sample.index[bad], fix="fill or drop those rows")
    return w


def _finish(sample: pd.DataFrame, w: np.ndarray, method: str, scale: Scale, total: float,
            balance: pd.DataFrame, iterations: int = 0, converged: bool = True) -> Weights:
    if scale not in ("sample", "population"):
        raise NbhdGeoError(f"unknown scale {scale!r}", argument="scale",
                           fix="use 'sample' (weights average 1) or 'population'")
    w = w * ((len(w) if scale == "sample" else total) / w.sum())
    n = len(w)
    ess = kish_ess(w)
    summary: dict[str, float | int | str | bool] = {
        "method": method, "n": n, "sum": float(w.sum()), "min": float(w.min()),
        "max": float(w.max()), "max_min_ratio": float(w.max() / w.min()),
        "cv": float(w.std() / w.mean()), "design_effect": n / ess, "effective_n": ess,
        "iterations": iterations, "converged": converged,
    }
    return Weights(weights=pd.Series(w, index=sample.index, name="weight"), summary=summary,
                   balance=balance)


def _balance_rows(sample: pd.DataFrame, w: np.ndarray,
                  targets: Mapping[str, pd.Series]) -> pd.DataFrame:
    rows = []
    for var, target in targets.items():
        cat = sample[var].to_numpy()
        for c, share in target.items():
            hit = cat == c
            rows.append({"variable": var, "category": c, "sample_share": hit.mean(),
                         "population_share": float(share),
                         "weighted_share": float(w[hit].sum() / w.sum())})
    return pd.DataFrame(rows)


def _margin_shares(var: str, margin: pd.Series | Mapping) -> pd.Series:
    m = pd.Series(margin, dtype=float)
    if not np.isfinite(m.to_numpy()).all() or (m < 0).any() or m.sum() <= 0:
        raise NbhdGeoError(f"margin {var!r} must hold counts or shares ≥ 0 with a positive sum",
                           argument="margins", fix="pass census counts per category")
    return m / m.sum()


def _check_categories(sample: pd.DataFrame, var: str, target: pd.Series,
                      what: str) -> None:
    counts = sample[var].value_counts()
    empty = [c for c in target.index if target[c] > 0 and counts.get(c, 0) == 0]
    if empty:
        raise NbhdGeoError(
            f"{what} {var}={empty[0]!r} has people in the census but no respondent"
            + (f" (also empty: {empty[1:]})" if len(empty) > 1 else ""),
            argument="margins" if what == "margin category" else "population",
            fix=f"merge {empty[0]!r} with a neighbouring category of {var!r} (adjacent age "
                "bands, neighbouring areas) in both the sample and the census table, or reach "
                "that group "
                "before weighting; no weight can stand in for a group nobody heard")
    unknown = [c for c in counts.index if c not in target.index or target[c] == 0]
    if unknown:
        ids = sample.index[sample[var].isin(unknown).to_numpy()]
        raise NbhdGeoError(
            f"respondents have {var} categories absent from the census: {unknown}",
            argument="sample", ids=ids,
            fix=f"recode them to the census categories {list(target.index)}")


def poststratify(
    sample: pd.DataFrame,
    population: pd.DataFrame,
    *,
    by: Sequence[str],
    count_col: str = "population",
    base_weight: str | None = None,
    scale: Scale = "sample",
) -> Weights:
    """Post-stratify respondents to a census cross-table.

    Parameters
    ----------
    sample
        One row per respondent (drawing) with the attribute columns ``by``.
    population
        Census counts, one row per cell: the ``by`` columns and ``count_col``.
    by
        Attribute columns defining the cells (e.g. ``["age_band", "home_area"]``).
    count_col
        The census count column.
    base_weight
        Optional design weight column of ``sample``.
    scale
        ``"sample"``: weights average 1 (sum to the sample size);
        ``"population"``: weights sum to the census total.

    Returns
    -------
    Weights

    Raises
    ------
    NbhdGeoError
        A census cell with people has no respondent (named, with the fix), or a
        respondent's cell is not in the census table.

    Notes
    -----
    ``w_i = b_i · N_h / Σ_{j∈h} b_j`` for respondent ``i`` in cell ``h`` with census
    count ``N_h`` and base weight ``b``: each cell then weighs exactly its population
    share.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"group": ["A", "A", "A", "B"]})
    >>> census = pd.DataFrame({"group": ["A", "B"], "population": [300, 700]})
    >>> w = poststratify(s, census, by=["group"])
    >>> w.weights.round(3).tolist()
    [0.4, 0.4, 0.4, 2.8]
    >>> round(w.summary["effective_n"], 3)
    1.923
    """
    by = list(by)
    _check_vars(sample, by, "by")
    if not isinstance(population, pd.DataFrame):
        raise NbhdGeoError("expected a DataFrame of census counts", argument="population",
                           fix=f"pass a table with columns {by + [count_col]}")
    missing = [c for c in by + [count_col] if c not in population.columns]
    if missing:
        raise ColumnError(f"census table has no column(s) {missing}", argument="population",
                          fix=f"give it the columns {by + [count_col]}")
    b = _base(sample, base_weight)
    pop = population.groupby(by, sort=True)[count_col].sum()
    pop.index = pd.Index([k if isinstance(k, tuple) else (k,) for k in pop.index],
                         tupleize_cols=False)
    key = pd.Series([tuple(r) for r in sample[by].itertuples(index=False)], dtype=object)
    have = pd.Series(b).groupby(key, sort=True).sum()
    empty = [c for c in pop.index[pop.to_numpy() > 0] if c not in have.index]
    if empty:
        cell = dict(zip(by, empty[0], strict=True))
        raise NbhdGeoError(
            f"census cell {cell} has {pop[empty[0]]:,.0f} people but no respondent"
            + (f"; {len(empty) - 1} more empty cell(s)" if len(empty) > 1 else ""),
            argument="population",
            fix="merge that cell's categories with a neighbouring one (e.g. adjacent age "
                "bands, or the home area with its neighbour) in sample and census alike, or "
                "use rake() on the separate margins, which needs only every category, not "
                "every combination, to be present")
    unknown = [c for c in have.index if c not in pop.index or pop[c] <= 0]
    if unknown:
        raise NbhdGeoError(f"respondents fall in cells the census has no people in: "
                           f"{[dict(zip(by, u, strict=True)) for u in unknown[:3]]}",
                           argument="sample", ids=sample.index[key.isin(unknown).to_numpy()],
                           fix="recode their attributes to the census categories")
    factor = (pop / have).reindex(pd.Index(key, tupleize_cols=False)).to_numpy()
    w = b * factor
    shares = {v: population.groupby(v)[count_col].sum() / pop.sum() for v in by}
    return _finish(sample, w, "poststratify", scale, float(pop.sum()),
                   _balance_rows(sample, w * len(w) / w.sum(), shares))


def rake(
    sample: pd.DataFrame,
    margins: Mapping[str, pd.Series | Mapping],
    *,
    base_weight: str | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
    scale: Scale = "sample",
) -> Weights:
    """Rake respondents to several census margins (iterative proportional fitting).

    Parameters
    ----------
    sample
        One row per respondent with one column per margin.
    margins
        Census distribution per attribute: ``{"age_band": Series(counts or shares by
        category), "home_area": ...}``. Each margin is normalised to shares.
    base_weight
        Optional design weight column of ``sample``.
    max_iter
        Maximum full cycles over the margins.
    tol
        Convergence when every weighted category share is within ``tol`` of its target.
    scale
        As for :func:`poststratify` (``"population"`` uses the first margin's total).

    Returns
    -------
    Weights

    Raises
    ------
    NbhdGeoError
        A margin category with people has no respondent, a respondent's category is
        not in the margin, or the fit does not converge in ``max_iter`` cycles (the
        margins cannot all be met by re-weighting these respondents).

    Notes
    -----
    Deming–Stephan raking: cycle over the margins, multiplying each respondent's
    weight by ``target_share(c) / weighted_share(c)`` of its category ``c``, until
    all margins hold. It converges whenever a set of positive weights meeting all
    margins exists; when the sample's joint structure forbids it (e.g. every young
    respondent is in group A but the margins need more young than A), it does not,
    and :func:`rake` refuses rather than return weights that miss a margin.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"group": ["A", "A", "A", "B", "B"],
    ...                   "age": ["young", "old", "young", "old", "young"]})
    >>> w = rake(s, {"group": {"A": 30, "B": 70}, "age": {"young": 50, "old": 50}})
    >>> w.summary["converged"], w.to_frame()["weighted_share"].round(3).tolist()
    (True, [0.3, 0.7, 0.5, 0.5])

    With group B represented only by an old respondent, old people would weigh at least
    70 %, so the margins below cannot all be met:

    >>> rake(s.iloc[:4], {"group": {"A": 30, "B": 70}, "age": {"young": 50, "old": 50}})
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.NbhdGeoError: margins: raking did not converge in 100 cycles ...
    """
    if not margins:
        raise NbhdGeoError("no margins given", argument="margins",
                           fix="pass e.g. {'age_band': census_counts_by_band}")
    variables = list(margins)
    _check_vars(sample, variables, "margins")
    targets = {v: _margin_shares(v, margins[v]) for v in variables}
    for v in variables:
        _check_categories(sample, v, targets[v], "margin category")
    b = _base(sample, base_weight)
    w = b / b.sum()
    codes = {}
    for v in variables:
        cat = pd.Categorical(sample[v], categories=targets[v].index)
        codes[v] = (np.asarray(cat.codes), targets[v].to_numpy())
    converged = False
    it = 0
    for it in range(1, int(max_iter) + 1):  # noqa: B007
        for code, target in codes.values():
            cur = np.bincount(code, weights=w, minlength=len(target))
            w = w * np.divide(target, cur, out=np.zeros_like(target), where=cur > 0)[code]
            w = w / w.sum()
        gap = max(float(np.abs(np.bincount(code, weights=w, minlength=len(target)) - target)
                        .max()) for code, target in codes.values())
        if gap < tol:
            converged = True
            break
    if not converged:
        raise NbhdGeoError(
            f"raking did not converge in {max_iter} cycles (largest margin gap "
            f"{gap:.3g} > tol {tol:g}): these respondents cannot meet all margins at once",
            argument="margins",
            fix="check the margins describe the same population, merge sparse categories "
                "(a combination of categories may have no respondent), rake on fewer "
                "margins, or raise max_iter")
    first = pd.Series(margins[variables[0]], dtype=float).sum()
    return _finish(sample, w, "rake", scale, float(first),
                   _balance_rows(sample, w * len(w), targets), iterations=it,
                   converged=converged)
