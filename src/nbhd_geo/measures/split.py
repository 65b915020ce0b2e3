"""How a neighbourhood is split across statutory units, and how each unit is cut."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.measures.options import (
    DEFAULT_SLIVER,
    Engine,
    EngineOptions,
    SliverTolerance,
    _check_fraction,
)
from nbhd_geo.overlay.apportion import Apportionment, apportion, reuse_or_apportion
from nbhd_geo.overlay.crosswalk import Crosswalk

__all__ = ["fragmentation", "unit_splits"]

def _split_stats(weight: np.ndarray, key: np.ndarray, n_keys: int) -> dict[str, np.ndarray]:
    """Effective number, effective splits and entropy of the shares within each key.

    ``weight`` is renormalised per key, so the shares sum to 1 over the kept pieces.
    Keys with no positive weight get NaN.
    """
    total = np.bincount(key, weights=weight, minlength=n_keys)
    safe = np.where(total > 0, total, 1.0)
    p = weight / safe[key]
    simpson = np.bincount(key, weights=p * p, minlength=n_keys)
    plogp = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    entropy = np.bincount(key, weights=plogp, minlength=n_keys)
    has = total > 0
    eff = np.where(has, 1.0 / np.where(has, simpson, 1.0), np.nan)
    return {
        "eff_units": eff,
        "eff_splits": eff - 1.0,
        "entropy": np.where(has, entropy + 0.0, np.nan),
    }


def _argmax_by(values: np.ndarray, key: np.ndarray, n_keys: int) -> np.ndarray:
    """Row position of the largest value per key (first in row order on ties; -1 if none)."""
    order = np.lexsort((np.arange(len(values)), -values, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    out = np.full(n_keys, -1, dtype=np.int64)
    out[key[order][first]] = order[first]
    return out


def _split_share(inside: np.ndarray, n_units: np.ndarray, in_main: np.ndarray) -> np.ndarray:
    """1 − share in the main unit; 0 inside one unit; NaN where no unit is touched."""
    split = np.clip(1.0 - in_main, 0.0, 1.0)
    split = np.where(inside, 0.0, split)
    return np.where(n_units == 0, np.nan, split)


def _fragmentation_table(
    members: pd.DataFrame,
    area_ids: np.ndarray,
    area_m2: np.ndarray,
    with_pop: bool,
    *,
    threshold: float,
    sliver: SliverTolerance,
) -> pd.DataFrame:
    """Fragmentation columns per area from an apportion/best-fit member table."""
    n = len(area_ids)
    key = pd.Index(area_ids).get_indexer(members["area_id"])
    overlap = members["overlap_m2"].to_numpy(float)
    share_of_area = overlap / area_m2[key]
    unit_inside = members["area_share"].to_numpy(float)
    # A sliver is a piece that is small for both polygons (C grazes S), or below sliver_m2.
    small = sliver.share
    is_sliver = (overlap < sliver.area_m2) | ((share_of_area < small) & (unit_inside < small))
    keep = ~is_sliver
    unit_ids = members["unit_id"].to_numpy()

    cols: dict[str, object] = {
        "area_m2": area_m2,
        "covered_share": np.bincount(key, weights=overlap, minlength=n) / area_m2,
        "n_units": np.bincount(key[keep], minlength=n),
        "n_slivers": np.bincount(key[is_sliver], minlength=n),
    }
    cols.update(_split_stats(overlap[keep], key[keep], n))
    cols.update(_containment(share_of_area, unit_inside, unit_ids, key, n, threshold, ""))
    out = pd.DataFrame(cols)
    # What planners mean by "split": the share of the neighbourhood outside its main unit,
    # exactly 0 when it lies inside one unit (slivers ignored), > 0 whenever it is cut.
    n_units = out["n_units"].to_numpy()
    inside = n_units == 1
    out["inside_one_unit"] = inside
    out["split"] = _split_share(inside, n_units, out["share_in_main_unit"].to_numpy(float))
    if with_pop:
        pop = members["population"].to_numpy(float)
        pop_total = np.bincount(key, weights=pop, minlength=n)
        pop_kept = np.bincount(key[keep], weights=pop[keep], minlength=n)
        safe = np.where(pop_total > 0, pop_total, 1.0)
        share_pop = np.where(pop_total[key] > 0, pop / safe[key], 0.0)
        pcols: dict[str, object] = {"population": pop_total, "population_kept": pop_kept}
        stats = _split_stats(pop[keep], key[keep], n)
        pcols.update({f"pop_{k}": v for k, v in stats.items()})
        pcols.update(
            _containment(
                share_pop, members["pop_share"].to_numpy(float), unit_ids, key, n,
                threshold, "pop_",
            )
        )
        frame = pd.DataFrame(pcols)
        frame["pop_split"] = _split_share(
            inside, n_units, frame["pop_share_in_main_unit"].to_numpy(float)
        )
        no_pop = pop_total <= 0
        if no_pop.any():
            for col in frame.columns:
                if col == "pop_coi_preserved":
                    frame.loc[no_pop, col] = False
                elif col == "pop_main_unit":
                    frame.loc[no_pop, col] = None
                elif col.startswith("pop_"):
                    frame.loc[no_pop, col] = np.nan
        out = pd.concat([out, frame], axis=1)
    return out


def _containment(
    share_of_area: np.ndarray,
    unit_inside: np.ndarray,
    unit_ids: np.ndarray,
    key: np.ndarray,
    n: int,
    threshold: float,
    prefix: str,
) -> dict[str, np.ndarray]:
    best = _argmax_by(share_of_area, key, n)
    has = best >= 0
    take = np.where(has, best, 0)
    in_main = np.where(has, share_of_area[take] if len(share_of_area) else 0.0, 0.0)
    main_inside = np.where(has, unit_inside[take] if len(unit_inside) else 0.0, np.nan)
    main_unit = np.full(n, None, dtype=object)
    if len(unit_ids):
        main_unit[has] = unit_ids[take][has]
    max_inside = np.zeros(n)
    np.maximum.at(max_inside, key, unit_inside)
    return {
        f"{prefix}main_unit": main_unit.astype(object),
        f"{prefix}share_in_main_unit": in_main,
        f"{prefix}main_unit_share_inside": main_inside,
        f"{prefix}max_unit_share_inside": max_inside,
        f"{prefix}coi_preserved": (in_main >= threshold) | (max_inside >= threshold),
    }


def fragmentation(
    areas: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    area_id: str | None = None,
    unit_id: str | None = None,
    unit_population: str | pd.Series | None = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    threshold: float = 0.5,
    sliver: SliverTolerance = DEFAULT_SLIVER,
    engine: Engine | EngineOptions = "exact",
    crosswalk: Crosswalk | Apportionment | None = None,
) -> pd.DataFrame:
    """How many statutory units split each area, how evenly, and whether it is preserved.

    Parameters
    ----------
    areas
        Drawn neighbourhoods ``C`` (may overlap each other).
    units
        One statutory layer ``S`` (LSOA, ward, PCN footprint...).
    area_id, unit_id
        Id columns; ``None`` uses the index.
    unit_population
        Column of ``units`` (or Series by unit id) with each unit's population: adds
        the ``pop_`` columns.
    weights, weight_col
        Where people live inside units: OA polygons or address points with counts
        (points weight by points, polygons by polygons), as for
        :func:`nbhd_geo.apportion`. Without ``unit_population`` their own counts
        inside each unit are the units' populations, and the ``pop_`` columns appear.
    threshold
        ``T`` of community-of-interest preservation.
    sliver
        A piece ``C ∩ S_j`` is a sliver, and ignored by the split measures, when it
        is smaller than ``sliver.share`` of both ``C``'s area and ``S_j``'s area
        (``C``'s boundary merely grazes ``S_j``), or smaller than ``sliver.m2`` m²
        (default ``settings.sliver_tol_m2``); see :class:`SliverTolerance`. A small
        unit wholly inside ``C`` is never a sliver, however many units ``C`` covers.
    engine
        ``"exact"``, ``"geos"`` or :class:`EngineOptions` (engine, threads and the
        projected working CRS, EPSG:27700 by default), as for :func:`nbhd_geo.crosswalk`.
    crosswalk
        The :class:`~nbhd_geo.Crosswalk` (or :class:`~nbhd_geo.Apportionment`) of these
        same layers, already computed: reused instead of intersecting again.

    Returns
    -------
    pandas.DataFrame
        Indexed by area id: ``area_m2``, ``covered_share`` (Σ overlap / area: below 1
        where ``C`` leaves the layer), ``n_units``, ``n_slivers``, ``eff_units``,
        ``eff_splits``, ``entropy``, ``main_unit``, ``share_in_main_unit``,
        ``main_unit_share_inside``, ``max_unit_share_inside``, ``coi_preserved``;
        with a population also ``population`` (all pieces), ``population_kept``
        (without slivers) and the same measures prefixed ``pop_``.

    See Also
    --------
    tension : these columns plus best fit, boundary agreement and a composite score.
    unit_splits : the same question asked per statutory unit.

    Notes
    -----
    For area ``C`` and the units ``S_j`` it overlaps beyond the sliver tolerance,
    the shares are ``p_j = |C ∩ S_j| / Σ_k |C ∩ S_k|`` (by area) or the same with
    population (the population of each piece comes from
    :func:`nbhd_geo.apportion`). Shares are renormalised over the kept pieces so
    they sum to 1 even where ``C`` runs off the edge of the layer
    (``covered_share`` reports that). Then

    * effective number of units ``N = 1 / Σ p_j²`` (inverse Simpson index) and
      effective splits ``N − 1``: 1 and 0 for an area inside one unit;
    * conditional entropy ``H = Σ p_j log2(1 / p_j)`` bits (the entropy of the unit
      given a random point/person of ``C``); these follow the locality-splitting
      metrics of Wachspress and Adler (jacobwachspress/locality-splitting);
    * directed containments, over all pieces: ``share_in_main_unit = max_j
      |C ∩ S_j| / |C|`` (``main_unit`` is the argmax, first in input order on
      ties), ``main_unit_share_inside = |C ∩ S*| / |S*|`` for that unit, and
      ``max_unit_share_inside = max_j |C ∩ S_j| / |S_j|``;
    * community of interest preserved at ``T`` (MGGG, mggg/coi-products): some
      unit holds ``≥ T`` of ``C`` (``share_in_main_unit ≥ T``) or some unit has
      ``≥ T`` of itself inside ``C`` (``max_unit_share_inside ≥ T``). The
      ``pop_`` version uses population shares, as MGGG does.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]},
    ...     geometry=[shapely.box(0, 0, 70, 100), shapely.box(70, 0, 200, 100)], crs=27700)
    >>> drawn = gpd.GeoDataFrame({"name": ["N"]},
    ...     geometry=[shapely.box(0, 0, 100, 100)], crs=27700)
    >>> f = fragmentation(drawn, wards, area_id="name", unit_id="ward")
    >>> f[["n_units", "eff_units", "entropy", "main_unit", "coi_preserved"]].round(4)
    ... # doctest: +NORMALIZE_WHITESPACE
          n_units  eff_units  entropy main_unit  coi_preserved
    name
    N           2     1.7241   0.8813        W1           True
    """
    threshold = _check_fraction(threshold, "threshold", low_open=True, example="0.5")
    eng = EngineOptions.of(engine)
    a = prepare_polygons(areas, argument="areas", id_col=area_id, crs=eng.crs)
    ap = reuse_or_apportion(
        crosswalk, a.frame, units, area_id=area_id, unit_id=unit_id,
        unit_population=unit_population, weights=weights, weight_col=weight_col, crs=eng.crs,
        engine=eng.engine, threads=eng.threads,
    )
    out = _fragmentation_table(
        ap.table, a.ids, shapely.area(a.geoms),
        unit_population is not None or weights is not None,
        threshold=threshold, sliver=sliver,
    )
    out.index = pd.Index(a.ids, name=a.id_name)
    return out


def unit_splits(
    areas: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    area_id: str | None = None,
    unit_id: str | None = None,
    unit_population: str | pd.Series | None = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    sliver: SliverTolerance = DEFAULT_SLIVER,
    engine: Engine | EngineOptions = "exact",
    crosswalk: Crosswalk | Apportionment | None = None,
) -> pd.DataFrame:
    r"""Per statutory unit: which neighbourhoods cut it, how evenly, and what is left out.

    Parameters
    ----------
    areas
        Drawn neighbourhoods (may overlap each other).
    units
        A statutory layer (wards, LSOAs...).
    area_id, unit_id
        Id columns; ``None`` uses the index.
    unit_population
        Column of ``units`` (or Series by unit id): adds the ``pop_`` columns.
    weights, weight_col
        Where people live inside units (OA polygons or address points with
        counts), as for :func:`nbhd_geo.apportion`; alone, they also add the
        ``pop_`` columns (their counts are then the units' populations).
    sliver
        A piece ``S ∩ C_k`` smaller than ``sliver.share`` of both the unit's and
        the area's area, or than ``sliver.m2`` m² (default
        ``settings.sliver_tol_m2``), is ignored by ``n_areas``, ``areas``/``shares``
        and the split measures; so is an outside part smaller than
        ``sliver.share`` of the unit or ``sliver.m2`` (:class:`SliverTolerance`).
    engine
        As for :func:`fragmentation`.
    crosswalk
        The :class:`~nbhd_geo.Crosswalk` (or :class:`~nbhd_geo.Apportionment`) of these
        same layers, already computed: reused instead of intersecting again.

    Returns
    -------
    pandas.DataFrame
        Indexed by unit id, in input order: ``unit_m2``, ``n_areas``, ``areas`` and
        ``shares`` (tuples of area ids and the share of the unit inside each,
        largest first), ``main_area``, ``main_share``, ``outside_share`` (share of
        the unit in no neighbourhood), ``split_entropy`` and ``eff_pieces``; with a
        population also ``population``, ``pop_shares`` (in the order of
        ``areas``), ``pop_main_area``, ``pop_main_share``, ``pop_outside_share``,
        ``pop_split_entropy``, ``pop_eff_pieces`` and ``pop_outside`` (people in
        no neighbourhood). Sort by ``split_entropy`` to see the most cut units.

    See Also
    --------
    fragmentation : the same split seen from each neighbourhood.

    Notes
    -----
    A unit ``S`` is cut into the pieces ``S ∩ C_k`` and the part in no
    neighbourhood, ``S \ ∪C``. With ``q_k = |S ∩ C_k| / |S|`` and
    ``q_0 = |S \ ∪C| / |S|`` (exact: measured against the union of all areas,
    so overlapping areas are not double counted) the split entropy is
    ``Σ r log2(1/r)`` and the effective number of pieces ``1 / Σ r²`` over the
    kept shares ``r`` renormalised to sum to 1 (they sum to more than 1 only
    where areas overlap). A unit wholly inside one neighbourhood, or in none,
    has entropy 0 and one piece. Population shares come from
    :func:`nbhd_geo.apportion` (the unit's people in each piece).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]},
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> drawn = gpd.GeoDataFrame({"name": ["N", "M"]},
    ...     geometry=[shapely.box(0, 0, 50, 100), shapely.box(50, 0, 100, 100)], crs=27700)
    >>> s = unit_splits(drawn, wards, area_id="name", unit_id="ward")
    >>> s[["n_areas", "areas", "shares", "outside_share", "split_entropy"]]
    ... # doctest: +NORMALIZE_WHITESPACE
          n_areas   areas      shares  outside_share  split_entropy
    ward
    W1          2  (N, M)  (0.5, 0.5)            0.0            1.0
    W2          0      ()          ()            1.0            0.0
    """
    sliver_share, tol_m2 = sliver.share, sliver.area_m2
    eng = EngineOptions.of(engine)
    # A population is known when given per unit or by a weighting layer (whose own
    # counts then are the units' populations, as in apportion).
    with_pop = unit_population is not None or weights is not None
    a = prepare_polygons(areas, argument="areas", id_col=area_id, crs=eng.crs)
    u = prepare_polygons(units, argument="units", id_col=unit_id, crs=eng.crs)
    common = {
        "unit_id": unit_id, "unit_population": unit_population, "weights": weights,
        "weight_col": weight_col, "crs": eng.crs, "engine": eng.engine, "threads": eng.threads,
    }
    ap = reuse_or_apportion(crosswalk, a.frame, u.frame, area_id=area_id, **common)
    union = gpd.GeoDataFrame(
        {"_all": [0]}, geometry=[shapely.union_all(a.geoms)], crs=a.frame.crs
    )
    cov = apportion(union, u.frame, area_id="_all", **common)  # type: ignore[arg-type]

    n = len(u.ids)
    uidx = pd.Index(u.ids)
    unit_m2 = shapely.area(u.geoms)
    t = ap.table
    key = uidx.get_indexer(t["unit_id"])
    overlap = t["overlap_m2"].to_numpy(float)
    share = t["area_share"].to_numpy(float)
    area_m2 = pd.Series(shapely.area(a.geoms), index=pd.Index(a.ids))
    of_area = overlap / area_m2.reindex(t["area_id"]).to_numpy()
    keep = (overlap >= tol_m2) & ((share >= sliver_share) | (of_area >= sliver_share))
    ckey = uidx.get_indexer(cov.table["unit_id"])
    covered = np.bincount(ckey, weights=cov.table["area_share"].to_numpy(float), minlength=n)
    outside = np.clip(1.0 - covered, 0.0, 1.0)
    out_kept = (outside * unit_m2 >= tol_m2) & (outside >= sliver_share) & (outside > 0)

    # One order for every tuple column: kept pieces by unit, then area share (desc).
    kk, ids = key[keep], t["area_id"].to_numpy()[keep]
    order = np.lexsort((np.arange(len(kk)), -share[keep], kk))
    kk, ids = kk[order], ids[order]
    cut = np.searchsorted(kk, np.arange(n + 1))
    frame = pd.DataFrame({"unit_m2": unit_m2})
    frame["n_areas"] = np.diff(cut)
    frame["areas"] = [tuple(ids[cut[i] : cut[i + 1]].tolist()) for i in range(n)]
    frame = frame.join(_piece_columns(share[keep][order], ids, cut, kk, outside, out_kept, ""))
    if with_pop:
        pshare = t["pop_share"].to_numpy(float)[keep][order]
        pcov = np.bincount(ckey, weights=cov.table["pop_share"].to_numpy(float), minlength=n)
        pout = np.clip(1.0 - pcov, 0.0, 1.0)
        pop = ap.units["population"].reindex(uidx).to_numpy(float)
        frame["population"] = pop
        frame = frame.join(_piece_columns(pshare, ids, cut, kk, pout, out_kept, "pop_"))
        frame["pop_outside"] = pout * pop
    frame.index = pd.Index(u.ids, name=u.id_name)
    return frame


def _piece_columns(
    share: np.ndarray,
    ids: np.ndarray,
    cut: np.ndarray,
    key: np.ndarray,
    outside: np.ndarray,
    out_kept: np.ndarray,
    prefix: str,
) -> pd.DataFrame:
    """Per-unit split columns from the kept pieces (grouped by unit) and the outside part."""
    n = len(cut) - 1
    shares = [tuple(share[cut[i] : cut[i + 1]].tolist()) for i in range(n)]
    best = [int(np.argmax(s)) if s else -1 for s in shares]
    w = np.concatenate([share, np.where(out_kept, outside, 0.0)])
    k = np.concatenate([key, np.arange(n)])
    stats = _split_stats(w, k, n)
    return pd.DataFrame(
        {
            f"{prefix}shares": shares,
            f"{prefix}main_area": [
                ids[cut[i] + b] if b >= 0 else None for i, b in enumerate(best)
            ],
            f"{prefix}main_share": [
                s[b] if b >= 0 else 0.0 for s, b in zip(shares, best, strict=True)
            ],
            f"{prefix}outside_share": outside,
            f"{prefix}split_entropy": np.nan_to_num(stats["entropy"], nan=0.0),
            f"{prefix}eff_pieces": np.nan_to_num(stats["eff_units"], nan=1.0),
        }
    )
