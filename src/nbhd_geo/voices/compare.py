"""Two sets of drawings compared: residents vs staff, or two workshops a year apart.

:func:`compare_drawings` puts both sets on one grid, computes each name's agreement
core in each set, and reports how far the cores agree (IoU), the ground gained and
lost from set ``a`` to set ``b``, the names drawn in only one set, and whether the
difference is larger than the noise of who happened to take part: a permutation test
that reshuffles the drawings of each name between the two sets (same sizes) and
recomputes the cores.

A per-name test can only say "changed" when it has run enough permutations for the
number of names: with Holm's correction over ``m`` names and ``B`` permutations the
smallest adjusted p-value is ``m / (B + 1)``. The number of permutations is therefore
chosen from ``m`` (sequentially, so names that have not changed stop early), and a
warning names the smallest attainable p-value when a budget cannot reach ``alpha``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.errors import CRSError, NbhdGeoError, NbhdGeoWarning
from nbhd_geo.voices._permute import benjamini_hochberg, holm, reachable_names, split_test
from nbhd_geo.voices._runs import DrawingRuns, prepared_drawings

__all__ = ["Comparison", "compare_drawings", "permutation_budget"]

#: permutations of the overall test (all names relabelled together)
OVERALL_PERM = 199
#: the automatic budget runs this many times ``m / alpha`` permutations
BUDGET_FACTOR = 2.0
#: the automatic budget's ceiling
MAX_PERM = 9_999

Correction = Literal["holm", "bh"]


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare_drawings`.

    Attributes
    ----------
    table
        One row per name drawn in both sets (index ``name``): ``n_a``, ``n_b``,
        ``core_a_m2``, ``core_b_m2``, ``iou`` (of the two cores), ``gained_m2`` (in
        ``b``'s core, not ``a``'s), ``lost_m2`` (in ``a``'s, not ``b``'s),
        ``p_value`` (sequential permutation test of 1 − IoU), ``n_perm``
        (permutations run for that name), ``tested`` (in the corrected family: enough
        distinct relabellings to reach ``alpha``), ``p_holm`` (Holm-adjusted over the
        tested names: family-wise error), ``p_bh`` (Benjamini-Hochberg: false
        discovery rate) and ``significant`` (the adjusted p of ``correction`` ≤
        ``alpha``).
    only_a, only_b
        Names drawn in one set only, with their number of drawings.
    changes
        GeoDataFrame: ``name``, ``kind`` (``gained`` / ``lost``), ``area_m2``.
    p_value
        Overall permutation p-value of the mean 1 − IoU over the names compared.
    statistic
        Observed mean 1 − IoU.
    threshold, n_perm, seed, cell_size, alpha
        The settings used; ``n_perm`` is the most permutations any name could run.
    crs
        The working CRS.
    correction
        ``"holm"`` or ``"bh"``: the adjustment behind ``significant``.
    n_tested
        Names in the corrected family (``m``).
    min_attainable_p
        The smallest Holm-adjusted p-value the budget allows, ``m / (n_perm + 1)``.
    overall_n_perm
        Permutations of the overall test.
    """

    table: pd.DataFrame
    only_a: pd.Series
    only_b: pd.Series
    changes: gpd.GeoDataFrame
    p_value: float
    statistic: float
    threshold: float
    n_perm: int
    seed: int
    cell_size: float
    alpha: float
    crs: str
    correction: str = "holm"
    n_tested: int = 0
    min_attainable_p: float = float("nan")
    overall_n_perm: int = OVERALL_PERM

    @property
    def significant(self) -> bool:
        """Whether the overall difference exceeds resampling noise at ``alpha``."""
        return bool(self.p_value <= self.alpha + 1e-12)

    def to_frame(self) -> pd.DataFrame:
        """Return every name, compared or not: the table plus one-set names (``in``)."""
        both = self.table.assign(**{"in": "both"})
        one = pd.DataFrame({"in": ["a only"] * len(self.only_a) + ["b only"] * len(self.only_b),
                            "n_a": list(self.only_a.to_numpy()) + [0] * len(self.only_b),
                            "n_b": [0] * len(self.only_a) + list(self.only_b.to_numpy())},
                           index=pd.Index(list(self.only_a.index) + list(self.only_b.index),
                                          name="name"))
        return pd.concat([both, one]) if len(one) else both


def permutation_budget(m: int, alpha: float = 0.05, *, factor: float = BUDGET_FACTOR,
                       cap: int = MAX_PERM) -> int:
    """Most permutations per name so that ``m`` names can be flagged at ``alpha``.

    Holm's smallest adjusted p-value is ``m / (B + 1)``; the budget is
    ``B = factor · m / alpha − 1`` (at least 199, at most ``cap``), so a name no
    permutation reaches gets an adjusted p of ``alpha / factor``, and one reached by
    ``factor − 1`` permutations can still get ``alpha``.

    Examples
    --------
    >>> permutation_budget(5), permutation_budget(127), permutation_budget(1000)
    (199, 5079, 9999)
    """
    want = math.ceil(factor * max(m, 1) / alpha) - 1
    return int(min(max(want, OVERALL_PERM), cap))


def _min_p(m: int, cap: int) -> float:
    return float(min(1.0, m / (cap + 1))) if m else float("nan")


def _warn_unreachable(m: int, cap: int, alpha: float, correction: str,
                      n_perm: int | None) -> None:
    """Warn when no name can be flagged: the budget's smallest adjusted p exceeds alpha."""
    if m == 0:
        warnings.warn(NbhdGeoWarning(
            "no name has drawings enough in both sets to reach alpha after correction, so "
            "no name can be flagged as changed"), stacklevel=3)
        return
    low = (m if correction == "holm" else 1) / (cap + 1)
    if low > alpha + 1e-12:
        need = math.ceil((m if correction == "holm" else 1) / alpha) - 1
        how = (f"pass n_perm=None (chosen from the number of names) or n_perm>={need}"
               if n_perm is not None else f"raise max_perm to at least {need}")
        warnings.warn(NbhdGeoWarning(
            f"with {m} names tested and at most {cap} permutations the smallest attainable "
            f"{'Holm' if correction == 'holm' else 'BH'}-adjusted p-value is {low:.3g} > "
            f"alpha = {alpha:g}: no name can be flagged as changed. Fix: {how}"),
            stacklevel=3)


def compare_drawings(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    threshold: float = 0.5,
    n_perm: int | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    cell_size: float | None = None,
    crs: object | None = None,
    correction: Correction = "holm",
    exceedances: int = 10,
    max_perm: int = MAX_PERM,
) -> Comparison:
    r"""Compare the agreement cores of two sets of drawings, name by name.

    Parameters
    ----------
    a, b
        Two sets of polygon drawings, each indexed by id with the name column ``by``.
        They are put in one working CRS and on one grid.
    by
        The neighbourhood-name column (the same in both sets).
    threshold
        Agreement level of the cores compared (0.5: half of a set's drawers).
    n_perm
        Most permutations per name (≥ 19). ``None`` (default) chooses
        :func:`permutation_budget` of the number of names tested, so that every name
        can reach ``alpha`` after Holm's correction; a budget that cannot warns with
        the smallest attainable adjusted p-value.
    seed
        Seed of the permutations.
    alpha
        Significance level for the ``significant`` flags.
    cell_size
        Grid cell in metres; ``None`` chooses it from the pooled drawings.
    crs
        Projected working CRS; default: ``a``'s CRS when projected, else
        ``settings.working_crs``.
    correction
        ``"holm"`` (default: the chance of flagging any unchanged name is at most
        ``alpha``) or ``"bh"`` (Benjamini-Hochberg: on average at most a share
        ``alpha`` of the flagged names are unchanged; flags more when many names
        changed). Both adjusted p-values are in the table.
    exceedances
        Sequential stopping: a name stops being permuted once this many permutations
        reach its observed statistic (Besag and Clifford's ``h``).
    max_perm
        Ceiling of the automatic budget.

    Returns
    -------
    Comparison

    Warns
    -----
    NbhdGeoWarning
        When the permutation budget cannot reach ``alpha`` for the number of names
        tested (the message names the smallest attainable adjusted p-value).

    Notes
    -----
    For a name drawn :math:`n_a` times in ``a`` and :math:`n_b` times in ``b`` the
    statistic is :math:`s = 1 - \mathrm{IoU}(C_a, C_b)` of the two cores. Under the
    null hypothesis that both sets come from the same population of drawers, the set
    labels are exchangeable, so the :math:`n_a + n_b` drawings are reshuffled (sizes
    kept) and the cores recomputed. Permutations run sequentially (Besag and
    Clifford 1991): a name stops after :math:`L` permutations when the ``h``-th one
    reaches :math:`s`, with :math:`p = h / L`; otherwise it runs the whole budget
    :math:`B` and :math:`p = (1 + \#\{s^* \ge s\}) / (1 + B)`. Both are valid
    p-values. Names whose sizes cannot reach ``alpha / m`` (fewer than
    :math:`m / \alpha` distinct relabellings :math:`\binom{n_a+n_b}{n_a}`) are left out
    of the corrected family (``tested`` False): the sizes are fixed by the design, so
    the family-wise guarantee holds for the names left. The overall test uses the
    mean statistic over names with the first 199 shuffles of all names (fewer if the
    budget is smaller), so it needs no correction.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> a = gpd.GeoDataFrame({"neighbourhood": ["A"] * 10 + ["B"]},
    ...     geometry=[shapely.box(i, 0, 100 + i, 100) for i in range(11)], crs=27700)
    >>> b = a.iloc[:10].copy()
    >>> b["geometry"] = b.translate(60, 0)
    >>> c = compare_drawings(a, b, cell_size=5.0)
    >>> int(c.table.loc["A", "n_b"]), float(c.table.loc["A", "iou"])
    (10, 0.25)
    >>> bool(c.table.loc["A", "significant"]), float(c.min_attainable_p)
    (True, 0.005)
    >>> list(c.only_a.index)
    ['B']
    """
    if n_perm is not None and int(n_perm) < 19:
        raise NbhdGeoError(f"needs at least 19 permutations, got {n_perm!r}",
                           argument="n_perm",
                           fix="pass n_perm=None to choose it from the number of names")
    if correction not in ("holm", "bh"):
        raise NbhdGeoError(f"unknown correction {correction!r}", argument="correction",
                           fix="use 'holm' (family-wise error) or 'bh' (false discovery rate)")
    if int(exceedances) < 1:
        raise NbhdGeoError(f"must be at least 1, got {exceedances!r}", argument="exceedances",
                           fix="pass exceedances=10")
    if not 0 < alpha < 1:
        raise NbhdGeoError(f"must be in (0, 1), got {alpha!r}", argument="alpha",
                           fix="pass e.g. alpha=0.05")
    if not 0 < threshold <= 1:
        raise NbhdGeoError(f"must be a share in (0, 1], got {threshold!r}",
                           argument="threshold", fix="pass e.g. threshold=0.5")
    fa, na, _, target = prepared_drawings(a, by=by, argument="a", crs=crs)
    if b.crs is None:
        raise CRSError("has no CRS", argument="b", fix="set it with b.set_crs(...)")
    fb, nb_, _, _ = prepared_drawings(b, by=by, argument="b", crs=target)
    count_a = pd.Series(na).value_counts().sort_index()
    count_b = pd.Series(nb_).value_counts().sort_index()
    common = count_a.index.intersection(count_b.index)
    only_a = count_a.drop(common).rename_axis("name").rename("n_drawings")
    only_b = count_b.drop(common).rename_axis("name").rename("n_drawings")
    if len(common) == 0:
        raise NbhdGeoError("no neighbourhood name is drawn in both sets", argument="by",
                           fix="check that both sets use the same names in the column "
                               f"{by!r} (a: {list(count_a.index[:5])}, b: "
                               f"{list(count_b.index[:5])})")
    ka = np.isin(na, common)
    kb = np.isin(nb_, common)
    geoms = np.concatenate([np.asarray(fa.geometry.array)[ka], np.asarray(fb.geometry.array)[kb]])
    names = np.concatenate([na[ka], nb_[kb]])
    in_a = np.concatenate([np.ones(ka.sum(), bool), np.zeros(kb.sum(), bool)])
    runs = DrawingRuns.build(geoms, names, cell_size)
    n_a = np.bincount(runs.code, weights=in_a, minlength=runs.n_names).astype(int)
    n_b = np.bincount(runs.code, minlength=runs.n_names) - n_a
    tested = reachable_names(n_a, n_b, alpha)
    m = int(tested.sum())
    cap = permutation_budget(m, alpha, cap=max_perm) if n_perm is None else int(n_perm)
    _warn_unreachable(m, cap, alpha, correction, n_perm)
    res = split_test(runs, in_a, threshold, max_perm=cap, exceedances=int(exceedances),
                     overall_perm=min(cap, OVERALL_PERM), seed=seed)
    core_a = runs.core(in_a.astype(float), threshold)
    core_b = runs.core((~in_a).astype(float), threshold)
    table = pd.DataFrame({"n_a": n_a, "n_b": n_b}, index=runs.names)
    table["core_a_m2"] = runs.area(core_a)
    table["core_b_m2"] = runs.area(core_b)
    table["iou"] = runs.iou(core_a, core_b)
    table["gained_m2"] = runs.area(core_b & ~core_a)
    table["lost_m2"] = runs.area(core_a & ~core_b)
    table["p_value"] = res.p_value
    table["n_perm"] = res.n_perm
    table["tested"] = tested
    adj_holm = np.full(runs.n_names, np.nan)
    adj_bh = np.full(runs.n_names, np.nan)
    adj_holm[tested] = holm(res.p_value[tested])
    adj_bh[tested] = benjamini_hochberg(res.p_value[tested])
    table["p_holm"] = adj_holm
    table["p_bh"] = adj_bh
    adj = adj_holm if correction == "holm" else adj_bh
    table["significant"] = tested & (np.nan_to_num(adj, nan=1.0) <= alpha + 1e-12)
    changes = _changes(runs, core_a, core_b, target.to_string())
    return Comparison(table=table, only_a=only_a, only_b=only_b, changes=changes,
                      p_value=res.overall_p, statistic=float(res.statistic.mean()),
                      threshold=float(threshold), n_perm=int(cap), seed=int(seed),
                      cell_size=runs.grid.cell, alpha=float(alpha), crs=target.to_string(),
                      correction=correction, n_tested=m, min_attainable_p=_min_p(m, cap),
                      overall_n_perm=res.overall_n)


def _changes(runs: DrawingRuns, core_a: np.ndarray, core_b: np.ndarray,
             crs: str) -> gpd.GeoDataFrame:
    rows = []
    geoms = []
    for kind, mask in (("gained", core_b & ~core_a), ("lost", core_a & ~core_b)):
        g = runs.geometry(mask)
        area = runs.area(mask)
        for k, name in enumerate(runs.names):
            if area[k] > 0:
                rows.append({"name": name, "kind": kind, "area_m2": float(area[k])})
                geoms.append(g[k])
    frame = pd.DataFrame(rows, columns=["name", "kind", "area_m2"])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=crs)
