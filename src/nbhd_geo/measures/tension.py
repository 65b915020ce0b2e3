"""Tension between drawn neighbourhoods and statutory layers, and between two layers.

How badly does a statutory layer (LSOA, MSOA, OA, ward, PCN footprint, LAD) cut a
resident-drawn neighbourhood ``C``? Every measure here is computed per neighbourhood
from one overlap table, by area and, when a unit population is given, by population:

fragmentation
    units touched (slivers ignored), effective number of units, effective splits,
    conditional entropy, directed containments and MGGG community-of-interest
    preservation (:func:`fragmentation`);
fit
    IoU of the best-fit union of whole units (:func:`nbhd_geo.best_fit`);
boundary agreement
    boundary F1 at 25/50/100 m and the Hausdorff distance with its 95th percentile,
    against the best-fit union's boundary (:mod:`nbhd_geo.measures.boundary`);
composite
    one score in [0, 1] (:func:`tension`, Notes).

:func:`layer_tension` applies the same measures to two statutory layers (each unit
of one layer in the role of ``C``), and :func:`unit_splits` turns the view round: per
statutory unit, how many neighbourhoods cut it and how evenly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.measures.boundary import _boundary_metrics, _clean_reference, _tol_label
from nbhd_geo.measures.options import (
    DEFAULT_BOUNDARY,
    DEFAULT_SLIVER,
    BoundaryOptions,
    Engine,
    EngineOptions,
    SliverTolerance,
)
from nbhd_geo.measures.split import _fragmentation_table
from nbhd_geo.overlay.apportion import Apportionment
from nbhd_geo.overlay.bestfit import BestFit, best_fit
from nbhd_geo.overlay.crosswalk import Crosswalk

__all__ = ["tension", "layer_tension"]

#: ``T`` of the community-of-interest columns in :func:`tension` (MGGG's default);
#: :func:`~nbhd_geo.fragmentation` takes any other.
COI_THRESHOLD = 0.5


def _composite(
    iou: np.ndarray, f1: np.ndarray, eff_units: np.ndarray, w: tuple[float, float, float]
) -> np.ndarray:
    """Weighted mean of (1 − IoU), (1 − F1) and (1 − 1/N); missing terms count as 1."""
    terms = np.stack(
        [
            1.0 - np.nan_to_num(iou, nan=0.0),
            1.0 - np.nan_to_num(f1, nan=0.0),
            1.0 - np.nan_to_num(1.0 / eff_units, nan=0.0),
        ]
    )
    terms = np.clip(terms, 0.0, 1.0)
    weights = np.asarray(w, dtype=float)[:, None]
    return (weights * terms).sum(axis=0) / weights.sum()


def _auto_score_weights(area_m2: np.ndarray, unit_m2: np.ndarray) -> tuple[float, float, float]:
    """Methods page weights by layer type: building blocks (1, 1, 0), containers (1, 1, 1).

    A layer is a building-block layer (OAs, LSOAs, MSOAs for most neighbourhoods) when
    its median unit is smaller than the median neighbourhood: being made of several of
    its units is then expected, not a misfit, so the split term gets no weight.
    """
    if len(unit_m2) and len(area_m2) and np.median(unit_m2) < np.median(area_m2):
        return (1.0, 1.0, 0.0)
    return (1.0, 1.0, 1.0)


def _check_score_weights(score_weights: Sequence[float]) -> tuple[float, float, float]:
    w = tuple(float(x) for x in score_weights)
    if len(w) != 3 or any(not np.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
        raise NbhdGeoError(
            f"must be three weights ≥ 0 with a positive sum, got {score_weights!r}",
            argument="score_weights",
            fix="pass (w_iou, w_boundary, w_split), e.g. (1, 1, 1) or (1, 1, 0) for "
            "building-block layers such as OAs and LSOAs",
        )
    return w


def tension(
    areas: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    area_id: str | None = None,
    unit_id: str | None = None,
    unit_population: str | pd.Series | None = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    boundary: BoundaryOptions = DEFAULT_BOUNDARY,
    score_weights: Sequence[float] | Literal["auto"] = (1, 1, 1),
    sliver: SliverTolerance = DEFAULT_SLIVER,
    engine: Engine | EngineOptions = "exact",
    crosswalk: Crosswalk | Apportionment | None = None,
) -> pd.DataFrame:
    r"""Every tension metric between drawn areas and one statutory layer, per area.

    Parameters
    ----------
    areas
        Drawn neighbourhoods ``C`` (may overlap each other).
    units
        One statutory layer (LSOA, MSOA, OA, ward, PCN footprint, LAD) that tiles.
    area_id, unit_id
        Id columns; ``None`` uses the index.
    unit_population
        Column of ``units`` (or Series by unit id) with each unit's population: adds
        the ``pop_`` columns and ``pop_tension``.
    weights, weight_col
        Where people live inside units (OA polygons or address points with
        counts), as for :func:`nbhd_geo.apportion`; alone, they also add the
        ``pop_`` columns (their counts are then the units' populations).
    boundary
        :class:`BoundaryOptions`: the distances in metres of boundary F1
        (``tolerances``), the F1 tolerance used in the composite score
        (``score_tolerance``, added to ``tolerances`` if absent) and the
        densification step of the Hausdorff distances (``spacing``, see
        :func:`nbhd_geo.hausdorff`).
    score_weights
        Weights of (1 − IoU, 1 − F1, 1 − 1/N) in the composite score, or ``"auto"``:
        the Methods page's weights by layer type — (1, 1, 0) for a building-block
        layer (its median unit smaller than the median neighbourhood, e.g. LSOAs),
        (1, 1, 1) otherwise (wards, PCNs). The weights used are in ``attrs``.
    sliver
        Sliver tolerance of the split measures (:class:`SliverTolerance`); see
        :func:`fragmentation`.
    engine
        ``"exact"``, ``"geos"`` or :class:`EngineOptions` (engine, threads and working
        CRS), as for :func:`fragmentation`.
    crosswalk
        The :class:`~nbhd_geo.Crosswalk` (or :class:`~nbhd_geo.Apportionment`) of these
        same layers, already computed: reused instead of intersecting again.

    Returns
    -------
    pandas.DataFrame
        Indexed by area id: the :func:`fragmentation` columns (``coi_preserved`` at
        MGGG's ``T = 0.5``; :func:`fragmentation` with ``threshold=`` and this
        ``crosswalk`` gives it at another ``T`` without intersecting again); ``iou``,
        ``n_fit_units``, ``included_outside_share``, ``excluded_inside_share`` of the
        maximum-IoU best fit (and ``pop_iou`` with a population); ``precision_<d>``,
        ``recall_<d>``, ``f1_<d>`` per tolerance; ``hausdorff_m``,
        ``hausdorff_p95_m``, ``mean_distance_m``; ``tension`` (and ``pop_tension``).

    See Also
    --------
    layer_tension : the same between two statutory layers.
    unit_splits : per statutory unit, the neighbourhoods that cut it.
    nbhd_geo.best_fit : the best-fit units themselves.

    Notes
    -----
    The statutory boundary compared with ``∂C`` is the boundary of ``C``'s
    best-fit union of whole units (maximum IoU, :func:`nbhd_geo.best_fit`): the
    polygon a planner would use instead of ``C``. Unit lines inside that union
    do not count, nor do lines of units far away; a ``C`` that equals a union of
    units therefore scores F1 = 1 and Hausdorff 0. The union is cleaned first:
    generalised boundary files leave hairline gaps between units (the union of
    the Wakefield LSOAs has 2,185 pinholes and many slits) whose rings would
    otherwise count as statutory boundary, doubling its length. Gaps narrower
    than 0.1 m are closed (mitred buffer out and back by 0.05 m) and holes
    smaller than ``sliver.share`` of the smallest unit (or ``sliver.m2``) are
    filled: a hole of a union of units is either a gap or a whole unit left
    out, and only the latter is statutory boundary.

    The composite score is

    .. math::

        \tau = \frac{w_1 (1 - \mathrm{IoU}) + w_2 (1 - F1_{d}) + w_3 (1 - 1/N)}
                     {w_1 + w_2 + w_3}

    with ``d = boundary.score_tolerance`` (50 m) and ``N`` the effective number of units,
    so ``1 − 1/N = 1 − Σ p_j²`` is the Gini–Simpson index of ``C``'s split.
    ``pop_tension`` uses ``pop_iou`` and the population ``N``. Why these terms:
    the best-fit IoU measures how much area (people) a whole-unit stand-in gets
    wrong, boundary F1 whether the lines a resident drew are statutory lines at
    all (a long thin mismatch costs little area but much boundary), and
    Gini–Simpson how divided the community is among units (several councillors,
    several PCNs). Each term lies in [0, 1], is 0 for a perfect match and grows
    with misfit, so τ is bounded in [0, 1], is 0 exactly when ``C`` coincides
    with one unit (IoU = 1, F1 = 1, N = 1) and tends to 1 when the best fit is
    poor, no boundary agrees and ``C`` is split among many units. Gini–Simpson is
    used rather than entropy normalised by ``log2(n)``: it needs no unit count
    (slivers move it continuously), it never falls when a piece is split further,
    and normalised entropy does (``(½, ½)`` scores 1, ``(½, ¼, ¼)`` 0.95). For
    building-block layers (OA, LSOA, MSOA), where covering several units is
    expected, pass ``score_weights=(1, 1, 0)``. Missing terms (no overlap at all)
    count as the worst value, 1.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]},
    ...     geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
    ...     crs=27700)
    >>> drawn = gpd.GeoDataFrame({"name": ["exact", "shifted"]},
    ...     geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(300, 0, 1300, 1000)],
    ...     crs=27700)
    >>> t = tension(drawn, wards, area_id="name", unit_id="ward")
    >>> t[["n_units", "iou", "f1_50", "hausdorff_m", "tension"]].round(3)
    ... # doctest: +NORMALIZE_WHITESPACE
             n_units    iou  f1_50  hausdorff_m  tension
    name
    exact          1  1.000    1.0          0.0    0.000
    shifted        2  0.538    0.4        300.0    0.494
    """
    auto, w = _score_weights_option(score_weights)
    eng = EngineOptions.of(engine)
    # A population is known when given per unit or by a weighting layer (whose own
    # counts then are the units' populations, as in apportion).
    with_pop = unit_population is not None or weights is not None

    a = prepare_polygons(areas, argument="areas", id_col=area_id, crs=eng.crs)
    fit = best_fit(
        a.frame, units, method="max_iou", area_id=area_id, unit_id=unit_id,
        unit_population=unit_population, weights=weights, weight_col=weight_col,
        crs=eng.crs, engine=eng.engine, threads=eng.threads, crosswalk=crosswalk,
    )
    area_m2 = shapely.area(a.geoms)
    frag = _fragmentation_table(
        fit.members, a.ids, area_m2, with_pop, threshold=COI_THRESHOLD, sliver=sliver
    )
    ref, unit_m2 = _reference_boundaries(fit, a.ids, sliver)
    bcols = _boundary_metrics(
        a.geoms, ref, tolerances=boundary.all_tolerances, spacing=boundary.spacing
    )
    out = pd.concat(
        [frag, pd.DataFrame(_fit_columns(fit, a.ids, with_pop)), pd.DataFrame(bcols)], axis=1
    )
    f1 = out[f"f1_{_tol_label(boundary.score_tolerance)}"].to_numpy(float)
    out["boundary_agreement"] = f1
    if auto:
        w = _auto_score_weights(area_m2, unit_m2)
    out["tension"] = _composite(out["iou"].to_numpy(float), f1, out["eff_units"].to_numpy(), w)
    if with_pop:
        out["pop_tension"] = _composite(
            out["pop_iou"].to_numpy(float), f1, out["pop_eff_units"].to_numpy(float), w
        )
    out.index = pd.Index(a.ids, name=a.id_name)
    out.attrs["score_weights"] = w
    return out


def _score_weights_option(
    score_weights: Sequence[float] | Literal["auto"],
) -> tuple[bool, tuple[float, float, float]]:
    """(auto?, weights): ``"auto"`` is resolved later, from the layers' unit sizes."""
    if isinstance(score_weights, str):
        if score_weights != "auto":
            raise NbhdGeoError(f"unknown option {score_weights!r}", argument="score_weights",
                               fix="pass 'auto' or three weights such as (1, 1, 0)")
        return True, (1.0, 1.0, 1.0)
    return False, _check_score_weights(score_weights)


def _fit_columns(fit: BestFit, ids: np.ndarray, with_pop: bool) -> dict[str, np.ndarray]:
    """Return the maximum-IoU best fit's quality per area, in the order of ``ids``."""
    q = fit.quality.reindex(pd.Index(ids))
    cols = {
        "iou": q["iou"].to_numpy(float),
        "n_fit_units": q["n_units_selected"].to_numpy(),
        "included_outside_share": q["included_outside_share"].to_numpy(float),
        "excluded_inside_share": q["excluded_inside_share"].to_numpy(float),
    }
    if with_pop:
        cols["pop_iou"] = q["pop_iou"].to_numpy(float)
    return cols


def _reference_boundaries(
    fit: BestFit, ids: np.ndarray, sliver: SliverTolerance
) -> tuple[np.ndarray, np.ndarray]:
    """Each area's best-fit union, cleaned of hairline gaps; and the units' areas.

    Holes smaller than the sliver tolerance of the smallest unit are gaps between
    generalised boundaries, not units left out (see :func:`tension`, Notes).
    """
    ref = fit.geometries().geometry.reindex(pd.Index(ids))
    b = np.asarray(ref.array, dtype=object)
    b = np.where(shapely.is_missing(b), shapely.Polygon(), b)
    unit_m2 = shapely.area(np.asarray(fit.units.geometry.array, dtype=object))
    min_hole = max(sliver.area_m2, sliver.share * unit_m2.min())
    return _clean_reference(b, np.full(len(b), min_hole)), unit_m2


def layer_tension(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    *,
    a_id: str | None = None,
    b_id: str | None = None,
    b_population: str | pd.Series | None = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    boundary: BoundaryOptions = DEFAULT_BOUNDARY,
    score_weights: Sequence[float] | Literal["auto"] = (1, 1, 1),
    sliver: SliverTolerance = DEFAULT_SLIVER,
    engine: Engine | EngineOptions = "exact",
) -> pd.DataFrame:
    """Tension between two statutory layers: each unit of ``a`` against layer ``b``.

    The "spatial spaghetti" planners meet: how PCN footprints cut wards, wards cut
    LSOAs, and so on. Each unit of ``a`` plays the drawn area ``C`` of
    :func:`tension`; run it both ways (``a`` vs ``b`` and ``b`` vs ``a``) to see
    both sides.

    Parameters
    ----------
    a
        The layer whose units are scored (index or ``a_id`` gives the row ids).
    b
        The layer they are scored against.
    a_id, b_id
        Id columns; ``None`` uses the index.
    b_population
        Population of the units of ``b`` (column or Series): adds the ``pop_``
        columns.
    weights, weight_col, boundary, score_weights, sliver, engine
        As for :func:`tension`.

    Returns
    -------
    pandas.DataFrame
        The :func:`tension` table, indexed by the ids of ``a``.

    See Also
    --------
    tension : the metrics and the composite score, documented.

    Notes
    -----
    Generalised boundary files from different sources do not nest exactly even
    where the geographies do (an LSOA 2011 nests in its 2011 ward): expect
    ``iou`` a little below 1, F1 at 25 m below 1 and slivers. The sliver
    tolerance keeps those out of the split counts; F1 at 50–100 m and the 95th
    percentile distance show whether a mismatch is generalisation or real.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> grid = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> big = gpd.GeoDataFrame({"code": ["AB"]},
    ...     geometry=[shapely.box(0, 0, 200, 100)], crs=27700)
    >>> layer_tension(big, grid, a_id="code", b_id="code")[["n_units", "iou", "f1_25"]]
    ... # doctest: +NORMALIZE_WHITESPACE
          n_units  iou  f1_25
    code
    AB          2  1.0    1.0
    """
    return tension(
        a, b, area_id=a_id, unit_id=b_id, unit_population=b_population, weights=weights,
        weight_col=weight_col, boundary=boundary, score_weights=score_weights,
        sliver=sliver, engine=engine,
    )


