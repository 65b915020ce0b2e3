"""Two sets of drawings compared: residents vs staff, or two workshops a year apart.

:func:`compare_drawings` puts both sets on one grid, computes each name's agreement
core in each set, and reports how far the cores agree (IoU), the ground gained and
lost from set ``a`` to set ``b``, the names drawn in only one set, and whether the
difference is larger than the noise of who happened to take part: a permutation test
that reshuffles the drawings of each name between the two sets (same sizes) and
recomputes the cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.errors import CRSError, NbhdGeoError
from nbhd_geo.voices._runs import DrawingRuns, prepared_drawings

__all__ = ["Comparison", "compare_drawings"]


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare_drawings`.

    Attributes
    ----------
    table
        One row per name drawn in both sets (index ``name``): ``n_a``, ``n_b``,
        ``core_a_m2``, ``core_b_m2``, ``iou`` (of the two cores), ``gained_m2`` (in
        ``b``'s core, not ``a``'s), ``lost_m2`` (in ``a``'s, not ``b``'s),
        ``p_value`` (permutation test of 1 − IoU), ``p_holm`` (Holm-adjusted over the
        names) and ``significant`` (``p_holm ≤ alpha``).
    only_a, only_b
        Names drawn in one set only, with their number of drawings.
    changes
        GeoDataFrame: ``name``, ``kind`` (``gained`` / ``lost``), ``area_m2``.
    p_value
        Overall permutation p-value of the mean 1 − IoU over the names compared.
    statistic
        Observed mean 1 − IoU.
    threshold, n_perm, seed, cell_size, alpha
        The settings used.
    crs
        The working CRS.
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


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def compare_drawings(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    threshold: float = 0.5,
    n_perm: int = 199,
    seed: int = 0,
    alpha: float = 0.05,
    cell_size: float | None = None,
    crs: object | None = None,
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
        Permutations for the test (≥ 19; the smallest p-value is 1 / (n_perm + 1)).
    seed
        Seed of the permutations.
    alpha
        Significance level for the ``significant`` flags.
    cell_size
        Grid cell in metres; ``None`` chooses it from the pooled drawings.
    crs
        Projected working CRS; default: ``a``'s CRS when projected, else
        ``settings.working_crs``.

    Returns
    -------
    Comparison

    Notes
    -----
    For a name drawn :math:`n_a` times in ``a`` and :math:`n_b` times in ``b`` the
    statistic is :math:`1 - \mathrm{IoU}(C_a, C_b)` of the two cores. Under the null
    hypothesis that both sets come from the same population of drawers, the set labels
    are exchangeable, so the :math:`n_a + n_b` drawings are reshuffled (sizes kept),
    the cores recomputed, and
    :math:`p = (1 + \#\{s^* \ge s\}) / (1 + n_{perm})`. The overall test uses the
    mean statistic over names with the same shuffles (labels permuted within each
    name), so it needs no correction; per-name p-values are Holm-adjusted.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> a = gpd.GeoDataFrame({"neighbourhood": ["A"] * 10 + ["B"]},
    ...     geometry=[shapely.box(i, 0, 100 + i, 100) for i in range(11)], crs=27700)
    >>> b = a.iloc[:10].copy()
    >>> b["geometry"] = b.translate(60, 0)
    >>> c = compare_drawings(a, b, cell_size=5.0, n_perm=99)
    >>> int(c.table.loc["A", "n_b"]), float(c.table.loc["A", "iou"])
    (10, 0.25)
    >>> bool(c.table.loc["A", "p_value"] < 0.05)
    True
    >>> list(c.only_a.index)
    ['B']
    """
    if int(n_perm) < 19:
        raise NbhdGeoError(f"needs at least 19 permutations, got {n_perm!r}",
                           argument="n_perm", fix="pass n_perm=199 (or 999 for a paper)")
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

    def stat(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ca = runs.core(lab.astype(float), threshold)
        cb = runs.core((~lab).astype(float), threshold)
        iou = runs.iou(ca, cb)
        return np.where(np.isnan(iou), 0.0, 1.0 - iou), ca, cb

    obs, core_a, core_b = stat(in_a)
    rng = np.random.default_rng(seed)
    n_a = np.bincount(runs.code, weights=in_a, minlength=runs.n_names)
    ge = np.zeros(runs.n_names)
    ge_all = 0
    order_code = runs.code
    for _ in range(int(n_perm)):
        key = rng.random(len(in_a))
        order = np.lexsort((key, order_code))
        rank = np.empty(len(in_a), np.int64)
        start = np.concatenate([[0], np.cumsum(np.bincount(order_code,
                                                            minlength=runs.n_names))[:-1]])
        rank[order] = np.arange(len(in_a)) - start[order_code[order]]
        perm, _, _ = stat(rank < n_a[order_code])
        ge += perm >= obs - 1e-12
        ge_all += perm.mean() >= obs.mean() - 1e-12
    p = (1 + ge) / (1 + n_perm)
    table = pd.DataFrame({"n_a": n_a.astype(int),
                          "n_b": np.bincount(runs.code, minlength=runs.n_names) - n_a.astype(int)},
                         index=runs.names)
    table["core_a_m2"] = runs.area(core_a)
    table["core_b_m2"] = runs.area(core_b)
    table["iou"] = runs.iou(core_a, core_b)
    table["gained_m2"] = runs.area(core_b & ~core_a)
    table["lost_m2"] = runs.area(core_a & ~core_b)
    table["p_value"] = p
    table["p_holm"] = _holm(p)
    table["significant"] = table["p_holm"] <= alpha + 1e-12
    changes = _changes(runs, core_a, core_b, target.to_string())
    return Comparison(table=table, only_a=only_a, only_b=only_b, changes=changes,
                      p_value=float((1 + ge_all) / (1 + n_perm)), statistic=float(obs.mean()),
                      threshold=float(threshold), n_perm=int(n_perm), seed=int(seed),
                      cell_size=runs.grid.cell, alpha=float(alpha), crs=target.to_string())


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
