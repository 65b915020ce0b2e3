"""Proportionate-universalism allocation in whole pounds, and ranking areas by need."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from nbhd_geo.deprivation.summary import _rank_desc
from nbhd_geo.errors import ColumnError, InputError, NbhdGeoError, NbhdGeoWarning

__all__ = ["rank_targets", "AllocationWarning", "allocate"]


def rank_targets(
    summary_by_area: pd.DataFrame,
    summary_by_population: pd.DataFrame,
    *,
    measure: str = "average_score",
    domain: str = "imd",
    area_col: str | None = None,
    labels: tuple[str, str] = ("area", "population"),
) -> pd.DataFrame:
    """Compare area rankings under two apportionings (or any two summaries).

    Parameters
    ----------
    summary_by_area, summary_by_population
        Long summaries (:func:`imd_summary_from_weights`) of the same areas, e.g.
        weights apportioned by area and by population.
    measure, domain
        The measure ranked (e.g. ``"average_score"``, ``"extent"``) and its domain.
    area_col
        Area id column; ``None`` takes it from the summaries' ``attrs``.
    labels
        Suffixes of the two sets of columns.

    Returns
    -------
    pandas.DataFrame
        One row per area: ``value_<a>``, ``value_<b>``, ``rank_<a>``, ``rank_<b>``
        (1 = most deprived, ties by area id, among the areas in both), ``shift``
        (``rank_<b> − rank_<a>``), ``abs_shift``; sorted by ``rank_<a>``.
        ``attrs``: ``spearman`` (rank correlation), ``max_abs_shift``,
        ``mean_abs_shift``, ``top_changed`` (areas whose top-decile membership
        differs).

    Raises
    ------
    InputError
        Measure missing, or areas not in both summaries.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"area_id": ["x", "y", "z"], "domain": "imd",
    ...                   "measure": "extent", "value": [0.3, 0.2, 0.1]})
    >>> b = a.assign(value=[0.2, 0.3, 0.1])
    >>> r = rank_targets(a, b, measure="extent", area_col="area_id")
    >>> r["abs_shift"].tolist(), round(r.attrs["spearman"], 2)
    ([1, 1, 0], 0.5)
    """
    area_col = area_col or summary_by_area.attrs.get("area_col", "area_id")
    la, lb = labels
    vals = []
    for name, s in ((la, summary_by_area), (lb, summary_by_population)):
        sel = s[(s["domain"] == domain) & (s["measure"] == measure)]
        if sel.empty:
            raise InputError(
                f"has no {domain}/{measure} rows",
                argument=f"summary_by_{name}",
                fix=f"choose measure among {sorted(s['measure'].unique())}",
            )
        vals.append(sel.set_index(area_col)["value"].rename(f"value_{name}"))
    only = vals[0].index.symmetric_difference(vals[1].index)
    if len(only):
        raise InputError(
            "the two summaries cover different areas",
            argument="summary_by_population",
            ids=only,
            fix="summarise the same areas both ways",
        )
    out = pd.concat(vals, axis=1)
    out.index.name = area_col
    out = out.reset_index()
    ids = out[area_col]
    for name in labels:
        out[f"rank_{name}"] = _rank_desc(out[f"value_{name}"], ids).astype("Int64")
    out["shift"] = (out[f"rank_{lb}"] - out[f"rank_{la}"]).astype("Int64")
    out["abs_shift"] = out["shift"].abs()
    ra = out[f"rank_{la}"].to_numpy(float)
    rb = out[f"rank_{lb}"].to_numpy(float)
    ok = np.isfinite(ra) & np.isfinite(rb)
    spearman = float(np.corrcoef(ra[ok], rb[ok])[0, 1]) if ok.sum() > 1 else float("nan")
    n = len(out)
    top = max(1, int(np.ceil(0.1 * n)))
    in_a = set(out.loc[out[f"rank_{la}"] <= top, area_col])
    in_b = set(out.loc[out[f"rank_{lb}"] <= top, area_col])
    out = out.sort_values([f"rank_{la}", area_col], kind="stable").reset_index(drop=True)
    out.attrs.update(
        spearman=spearman,
        max_abs_shift=int(out["abs_shift"].max()) if n else 0,
        mean_abs_shift=float(out["abs_shift"].astype(float).mean()) if n else 0.0,
        top_changed=sorted(in_a ^ in_b, key=str),
        measure=measure,
        domain=domain,
    )
    return out


def _whole_budget(budget: Any) -> int:
    try:
        value = float(budget)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value < 0 or value != np.floor(value):
        raise InputError(
            f"must be a whole number of pounds ≥ 0, got {budget!r}",
            argument="budget",
            fix="round the budget to whole pounds",
        )
    return int(budget)


class _Desc:
    """Reverse the order of a sort key."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value


def _largest_remainder(
    exact: np.ndarray, total: int, ids: np.ndarray, need: np.ndarray
) -> np.ndarray:
    """Hamilton rounding: floors, then a pound each to the largest remainders.

    Ties go to the more deprived area (larger oriented ``need``), then the smaller id.
    """
    base = np.floor(exact)
    left = int(total - base.sum())
    frac = exact - base
    if left < 0:  # only from float error in exact: take back from the smallest remainders
        pos = [i for i in range(len(exact)) if base[i] > 0]
        order = sorted(pos, key=lambda i: (frac[i], need[i], _Desc(ids[i])))
        base[order[:-left]] -= 1
    elif left > 0:
        if left > len(exact):
            raise NbhdGeoError(  # pragma: no cover - impossible for finite inputs
                "rounding failed", argument="budget", fix="report this as a bug"
            )
        order = sorted(range(len(exact)), key=lambda i: (-frac[i], -need[i], ids[i]))
        base[order[:left]] += 1
    return base.astype(np.int64)


class AllocationWarning(NbhdGeoWarning):
    """An allocation is valid but not what proportionate universalism intends."""


def _warn_if_per_head_falls(
    exact: np.ndarray, pop: np.ndarray, oriented: np.ndarray, ids: np.ndarray,
    floor_by: str, floor_share: float,
) -> None:
    """Warn when a more deprived area gets less per head than a less deprived one."""
    has = pop > 0
    if has.sum() < 2:
        return
    per_head = exact[has] / pop[has]
    need, idx = oriented[has], ids[has]
    order = np.lexsort((per_head, need))
    ph, nd = per_head[order], need[order]
    # Scan by need: the largest per-head amount among strictly less deprived areas.
    worst, pair = 0.0, None
    best_ph, best_i, i = -np.inf, -1, 0
    while i < len(nd):
        j = i
        while j < len(nd) and nd[j] == nd[i]:
            j += 1
        for k in range(i, j):
            gap = best_ph - ph[k]
            if gap > 1e-9 * max(best_ph, 1.0) and gap > worst:
                worst, pair = gap, (order[k], order[best_i])
        for k in range(i, j):
            if ph[k] > best_ph:
                best_ph, best_i = ph[k], k
        i = j
    if pair is None:
        return
    more, less = pair
    warnings.warn(
        AllocationWarning(
            f"money per head falls as deprivation rises: {idx[more]!r} (more deprived) "
            f"gets £{per_head[more]:,.2f} a head and {idx[less]!r} £{per_head[less]:,.2f}, "
            f"because the floor (floor_share={floor_share:g}, floor_by={floor_by!r}) "
            "dominates for small areas. Fix: floor_by='population' (the default) or a "
            "smaller floor_share"
        ),
        stacklevel=3,
    )


def _area_columns(
    areas: pd.DataFrame, id_col: str, need: str, population: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the checked ids (unique), populations (≥ 0) and needs (finite) of ``areas``."""
    for col in (id_col, need, population):
        if col not in areas.columns:
            raise ColumnError(
                f"has no column {col!r}", argument="areas", fix=f"columns are {list(areas.columns)}"
            )
    ids = areas[id_col].to_numpy()
    if pd.Series(ids).duplicated().any():
        raise InputError(
            "ids are not unique",
            argument="areas",
            ids=pd.Series(ids)[pd.Series(ids).duplicated()].unique(),
            fix=f"make {id_col!r} unique",
        )
    if len(ids) == 0:
        raise InputError("has no rows", argument="areas", fix="pass at least one area")
    pop = pd.to_numeric(areas[population], errors="coerce").to_numpy(float)
    nd = pd.to_numeric(areas[need], errors="coerce").to_numpy(float)
    for name, arr in (("population", pop), ("need", nd)):
        bad = ~np.isfinite(arr) | ((arr < 0) if name == "population" else False)
        if np.any(bad):
            raise InputError(
                f"{name} must be finite{' and ≥ 0' if name == 'population' else ''}",
                argument=name,
                ids=ids[bad],
                fix="fix those areas or leave them out",
            )
    return ids, pop, nd


def _gradient_weights(
    oriented: np.ndarray,
    gradient: float | Callable[[np.ndarray], np.ndarray],
    need_scale: str,
) -> np.ndarray:
    """Per-head weights ``1 + gradient·x`` (``x`` the scaled need), or the callable's."""
    n = len(oriented)
    if callable(gradient):
        g = np.asarray(gradient(oriented.copy()), dtype=float)
        if g.shape != (n,) or not np.all(np.isfinite(g)) or np.any(g < 0):
            raise InputError(
                "the gradient callable must return one finite weight ≥ 0 per area",
                argument="gradient",
                fix="return an array of len(areas) non-negative numbers",
            )
    else:
        if not np.isfinite(gradient) or gradient < 0:
            raise InputError(
                f"must be ≥ 0, got {gradient!r}", argument="gradient", fix="e.g. 1.0 (doubling)"
            )
        if need_scale == "minmax":
            lo, hi = oriented.min(), oriented.max()
            x = (oriented - lo) / (hi - lo) if hi > lo else np.zeros(n)
        elif need_scale == "rank":
            r = pd.Series(oriented).rank(method="average").to_numpy()
            x = (r - 1) / (n - 1) if n > 1 else np.zeros(n)
        else:
            raise InputError(
                f"unknown option {need_scale!r}", argument="need_scale", fix="'minmax' or 'rank'"
            )
        g = 1.0 + float(gradient) * x
    return g


def _floors(b: int, pop: np.ndarray, floor_share: float, floor_by: str) -> np.ndarray:
    """Each area's part of the floor ("something for all"): equal, or per head."""
    n = len(pop)
    if floor_by == "equal":
        floor = np.full(n, floor_share * b / n)
    elif floor_by == "population":
        if pop.sum() <= 0:
            raise InputError(
                "all populations are 0, so money per head cannot be shared",
                argument="population",
                fix="give some area a population > 0, or use floor_by='equal'",
            )
        floor = floor_share * b * pop / pop.sum()
    else:
        raise InputError(
            f"unknown option {floor_by!r}", argument="floor_by", fix="'equal' or 'population'"
        )
    return floor


def allocate(
    budget: int,
    areas: pd.DataFrame,
    *,
    need: str,
    population: str,
    id_col: str = "area_id",
    floor_share: float = 0.2,
    floor_by: Literal["equal", "population"] = "population",
    gradient: float | Callable[[np.ndarray], np.ndarray] = 1.0,
    need_scale: Literal["minmax", "rank"] = "minmax",
    higher_is_more_deprived: bool = True,
) -> pd.DataFrame:
    """Share a budget by proportionate universalism, in whole pounds summing exactly.

    Parameters
    ----------
    budget
        Whole pounds ≥ 0.
    areas
        One row per area with ``id_col``, ``need`` and ``population`` columns. Not
        modified.
    need
        Column measuring deprivation (e.g. IMD average score, extent). With
        ``higher_is_more_deprived=False`` (e.g. an MHCLG rank, 1 = most deprived)
        smaller values mean more need.
    population
        Column of populations ≥ 0.
    id_col
        Area id column (unique); breaks rounding ties.
    floor_share
        Share of the budget given to every area regardless of deprivation ("something
        for all"), in [0, 1].
    floor_by
        ``"population"`` (default): the floor is the same amount per head everywhere,
        so money per head never falls as deprivation rises (up to whole-pound
        rounding). ``"equal"``: the floor is shared equally between areas, whatever
        their size; a small area then gets far more per head than a large one, and a
        :class:`AllocationWarning` says when that makes money per head fall with
        deprivation.
    gradient
        Steepness of the deprivation gradient: the per-head weight is
        ``1 + gradient · x`` where ``x`` in [0, 1] is the area's scaled need (0 least
        deprived, 1 most), so the most deprived area gets ``1 + gradient`` times the
        per-head share of the least deprived. A callable maps need (oriented so larger
        = more deprived) to per-head weights ≥ 0 directly.
    need_scale
        How ``x`` is made: ``"minmax"`` (``(need − min)/(max − min)``) or ``"rank"``
        (rank position, ties averaged).
    higher_is_more_deprived
        Orientation of ``need``.

    Returns
    -------
    pandas.DataFrame
        ``id_col, population, need, gradient_weight, floor, exact, allocation,
        per_head``: ``exact`` the unrounded share, ``allocation`` whole pounds,
        Σ = ``budget``, ``per_head`` = allocation / population (NaN for no people).
        Same row order as ``areas``. ``attrs`` record the parameters.

    Raises
    ------
    InputError, ColumnError
        Invalid budget, shares, populations, needs or ids.

    Notes
    -----
    ``exact_i = floor_i + (B − Σ floor)·P_i·g_i / Σ_j P_j·g_j`` with ``floor_i =
    floor_share·B/n`` (equal) or ``floor_share·B·P_i/ΣP`` (per head). Rounding is by
    largest remainder (Hamilton): each area gets ``⌊exact_i⌋`` and the pounds left go
    one each to the largest remainders (ties: the more deprived area, then the smaller
    id), so the total is exactly
    ``B``, every area gets at least its floor rounded down, and at equal population a
    more deprived area never gets less. Proportionate universalism: Marmot, *Fair
    Society, Healthy Lives* (2010).

    Examples
    --------
    >>> import pandas as pd
    >>> areas = pd.DataFrame({"area_id": ["a", "b", "c"], "score": [40.0, 20.0, 10.0],
    ...                       "pop": [1000, 1000, 1000]})
    >>> allocate(1000, areas, need="score", population="pop",
    ...          floor_share=0.3, gradient=1.0)["allocation"].tolist()
    [423, 315, 262]
    """
    b = _whole_budget(budget)
    ids, pop, nd = _area_columns(areas, id_col, need, population)
    n = len(ids)
    if not 0.0 <= float(floor_share) <= 1.0:
        raise InputError(
            f"must be in [0, 1], got {floor_share!r}", argument="floor_share", fix="e.g. 0.2"
        )
    oriented = nd if higher_is_more_deprived else -nd
    g = _gradient_weights(oriented, gradient, need_scale)
    floor = _floors(b, pop, floor_share, floor_by)
    rest = max(0.0, (1.0 - float(floor_share)) * b)  # not b - Σfloor: float noise < 0
    pg = pop * g
    if pg.sum() > 0:
        exact = floor + rest * pg / pg.sum()
    elif rest <= 1e-9 * max(b, 1):
        exact = floor.copy()
    else:
        raise InputError(
            "population × gradient weight is 0 for every area, so the non-floor part "
            "cannot be shared",
            argument="areas",
            fix="give some area a population > 0, or floor_share=1",
        )
    alloc = _largest_remainder(exact, b, np.array([str(i) for i in ids], dtype=object), oriented)
    _warn_if_per_head_falls(exact, pop, oriented, ids, floor_by, floor_share)
    out = pd.DataFrame(
        {
            id_col: ids,
            "population": pop,
            "need": nd,
            "gradient_weight": g,
            "floor": floor,
            "exact": exact,
            "allocation": alloc,
            "per_head": np.divide(alloc, pop, out=np.full(n, np.nan), where=pop > 0),
        },
        index=areas.index,
    )
    out.attrs.update(
        budget=b,
        floor_share=float(floor_share),
        floor_by=floor_by,
        gradient=gradient if not callable(gradient) else getattr(gradient, "__name__", "callable"),
        need_scale=need_scale,
        higher_is_more_deprived=higher_is_more_deprived,
    )
    return out
