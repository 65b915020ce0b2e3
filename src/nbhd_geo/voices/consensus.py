"""Consensus of many drawings: agreement surfaces, cores, contested and disputed zones.

Many residents draw "their" neighbourhood; :func:`consensus` turns the drawings into
one agreement surface per neighbourhood (the share of its drawers covering each
piece of ground), cores at agreement thresholds, and the zones between
neighbourhoods: *contested* (the names drawn there are mixed: high Shannon entropy or
a near tie), *disputed* (inside the cores of two neighbourhoods at once) and *no-man's
land* (inside the study area, nobody's core). Cores are an ordinary drawing layer, so
they feed :func:`nbhd_geo.crosswalk`, :func:`nbhd_geo.best_fit` and the deprivation
summaries unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import ColumnError, InputError, NbhdGeoError
from nbhd_geo.voices import _grid
from nbhd_geo.voices import _pieces as _pc
from nbhd_geo.voices._crs import prepare_layer, voices_crs
from nbhd_geo.voices._grid import Grid
from nbhd_geo.voices.options import DEFAULT_CONTESTED, ContestedRule

__all__ = ["Consensus", "consensus", "auto_cell_size"]

_NICE = np.array([1.0, 2.0, 2.5, 5.0])

#: Registered by :mod:`nbhd_geo.voices.outliers` when it is imported: (its flag names, its
#: ``outliers`` function). Outlier checks compare each drawing with the consensus core, so the
#: dependency runs outliers -> consensus; this hook lets ``consensus(exclude=[flags])`` call back
#: without an import cycle.
_OUTLIER_HOOK: tuple[Sequence[str], Callable[..., pd.DataFrame]] | None = None


@dataclass(frozen=True)
class Consensus:
    """The result of :func:`consensus`.

    Attributes
    ----------
    summary
        One row per neighbourhood (index ``name``): ``n_drawings`` used,
        ``n_excluded``, ``drawers`` (weighted count, the denominator of agreement),
        ``drawn_area_m2`` (ground drawn by anyone of that name), ``mean_agreement``
        (area-weighted mean share over that ground), ``core_<t>_m2`` per threshold and,
        with a population layer, ``population_drawn``, ``pop_weighted_agreement`` and
        ``core_<t>_population``.
    surface
        The agreement surface, one row per piece and name with positive count:
        ``name``, the piece key (grid: ``row, c0, c1``, a run of cells ``[c0, c1)``;
        base: ``unit``), ``count`` (weighted drawers covering it), ``share``
        (= count / drawers) and, with a population, ``population``.
    mix
        The name mix per piece covered by anyone (NYT Upshot): piece key, ``total``
        (drawings covering), ``n_names``, ``entropy_bits`` (Shannon entropy of the
        name shares), ``top_name``/``top_share`` and ``second_name``/``second_share``
        (shares of the covering drawings), ``best_name``/``best_agreement`` (the
        name with the highest agreement there) and ``contested`` (bool).
    cores
        GeoDataFrame indexed by ``core_id`` (``"<name>@<threshold>"``) with ``name``,
        ``threshold``, ``n_drawings``, ``area_m2`` (and ``population``): the union of
        pieces with agreement ≥ threshold. Empty cores have no row.
    contested
        GeoDataFrame: contested ground per pair of leading names (``name_a``,
        ``name_b``, ``area_m2``).
    disputed
        GeoDataFrame: ground inside the cores of both ``name_a`` and ``name_b`` at
        ``threshold`` (``area_m2``).
    no_mans_land
        GeoDataFrame, one row: ground in the study area where no neighbourhood
        reaches ``threshold`` (the lowest of ``thresholds``).
    method
        ``"grid"`` or ``"base"``.
    cell_size
        Grid resolution in metres (``None`` for a polygon base).
    thresholds
        The agreement thresholds.
    excluded
        Ids of drawings excluded (``exclude=``) or without a name; never silent.
    crs
        The working CRS.
    grid
        The grid (``None`` for a polygon base).
    """

    summary: pd.DataFrame
    surface: pd.DataFrame
    mix: pd.DataFrame
    cores: gpd.GeoDataFrame
    contested: gpd.GeoDataFrame
    disputed: gpd.GeoDataFrame
    no_mans_land: gpd.GeoDataFrame
    method: str
    cell_size: float | None
    thresholds: tuple[float, ...]
    excluded: pd.Series
    crs: str
    grid: Grid | None = None
    pieces: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        res = f"{self.cell_size:g} m grid" if self.method == "grid" else "polygon base"
        return (f"Consensus({len(self.summary)} neighbourhoods, {res}, thresholds "
                f"{self.thresholds}, {len(self.cores)} cores, {len(self.disputed)} disputed, "
                f"{len(self.contested)} contested, {len(self.excluded)} excluded)")

    def to_frame(self) -> gpd.GeoDataFrame:
        """Stack all zones in one GeoDataFrame.

        Columns: ``kind`` (core, contested, disputed, no_mans_land), ``name``,
        ``name_b``, ``threshold``, ``area_m2`` and the geometry.
        """
        c = self.cores.reset_index(drop=True)
        parts = [
            c.assign(kind="core", name_b=None)[["kind", "name", "name_b", "threshold",
                                                  "area_m2", "geometry"]],
            self.contested.assign(kind="contested", threshold=np.nan).rename(
                columns={"name_a": "name"})[["kind", "name", "name_b", "threshold",
                                              "area_m2", "geometry"]],
            self.disputed.assign(kind="disputed").rename(columns={"name_a": "name"})[
                ["kind", "name", "name_b", "threshold", "area_m2", "geometry"]],
            self.no_mans_land.assign(kind="no_mans_land", name=None, name_b=None)[
                ["kind", "name", "name_b", "threshold", "area_m2", "geometry"]],
        ]
        parts = [p for p in parts if len(p)]
        if not parts:
            return gpd.GeoDataFrame(columns=["kind", "name", "name_b", "threshold", "area_m2",
                                             "geometry"], geometry="geometry", crs=self.crs)
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                                crs=self.crs)

    def name_mix(self) -> pd.DataFrame:
        """Return the full name mix: one row per piece of ``mix`` and name covering it.

        Columns: ``piece`` (row position in ``mix``), ``name``, ``count`` (weighted
        drawings of that name covering the piece) and ``share`` (of all drawings
        covering it, NYT Upshot's "of drawings covering it, the share with each name").
        The shares of a piece sum to 1 and give its ``entropy_bits``.
        """
        mix = self.mix
        s = self.surface
        if self.method == "base":
            pos = pd.Series(np.arange(len(mix)), index=mix["unit"].to_numpy())
            piece = pos.reindex(s["unit"].to_numpy()).to_numpy()
            rep = np.arange(len(s))
        else:
            width = int(max(mix["c1"].max(), s["c1"].max()) - min(mix["c0"].min(),
                                                                   s["c0"].min()) + 2)
            off = int(min(mix["c0"].min(), s["c0"].min()))
            mk = mix["row"].to_numpy() * width + (mix["c0"].to_numpy() - off)
            lo = np.searchsorted(mk, s["row"].to_numpy() * width + (s["c0"].to_numpy() - off))
            hi = np.searchsorted(mk, s["row"].to_numpy() * width + (s["c1"].to_numpy() - off))
            rep = np.repeat(np.arange(len(s)), hi - lo)
            piece = np.arange(len(rep)) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
            piece = np.repeat(lo, hi - lo) + piece
        out = pd.DataFrame({"piece": piece, "name": s["name"].to_numpy()[rep],
                            "count": s["count"].to_numpy()[rep]})
        out["share"] = out["count"] / mix["total"].to_numpy()[out["piece"].to_numpy()]
        return out.sort_values(["piece", "name"], kind="stable").reset_index(drop=True)

    def agreement(self, name: str) -> gpd.GeoDataFrame:
        """Return one neighbourhood's agreement surface as polygons, one per share level."""
        if name not in self.summary.index:
            raise NbhdGeoError(f"unknown neighbourhood {name!r}", argument="name",
                               fix=f"choose one of {list(self.summary.index)[:20]}")
        s = self.surface[self.surface["name"] == name]
        levels = np.sort(s["share"].unique())
        geoms = self.pieces.union(s, group=np.searchsorted(levels, s["share"].to_numpy()),
                                  n_groups=len(levels))
        return gpd.GeoDataFrame({"name": name, "share": levels}, geometry=geoms, crs=self.crs)


def auto_cell_size(areas: np.ndarray, *, cells_across: float = 40.0) -> float:
    """Choose a "nice" cell size (1, 2, 2.5, 5 × 10ᵏ m) about 1/40 of a drawing's width.

    Examples
    --------
    >>> auto_cell_size(np.array([2.15e6]))
    25.0
    """
    target = float(np.sqrt(np.median(areas))) / cells_across
    if not np.isfinite(target) or target <= 0:
        return 1.0
    k = np.floor(np.log10(target))
    nice = _NICE * 10.0**k
    return float(nice[nice <= target * (1 + 1e-12)].max())


def _exclusions(frame: gpd.GeoDataFrame, exclude: Any, by: str,
                report: Any) -> pd.Series:
    """Reason text per excluded drawing id (exclusion list or outlier flags)."""
    if exclude is None:
        return pd.Series(dtype=object)
    if isinstance(exclude, pd.Series) and exclude.dtype == bool:
        ids = exclude.index[exclude.to_numpy()]
        return pd.Series("excluded by caller", index=ids[ids.isin(frame.index)], dtype=object)
    if isinstance(exclude, str):
        exclude = [exclude]
    flags = list(exclude)
    if _OUTLIER_HOOK is None:  # pragma: no cover - nbhd_geo.voices always imports outliers
        raise NbhdGeoError("outlier flags are not available", argument="exclude",
                           fix="import nbhd_geo.voices (it registers the outlier checks)")
    FLAGS, outliers = _OUTLIER_HOOK

    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        raise NbhdGeoError(f"unknown outlier flags {unknown}", argument="exclude",
                           fix=f"use flags from {list(FLAGS)}, or a boolean Series by drawing id")
    table = outliers(frame, by=by, report=report, checks=flags)
    hit = table[flags].any(axis=1)
    return table.loc[hit, "reasons"].astype(object)


def consensus(
    drawings: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    base: gpd.GeoDataFrame | float | None = None,
    thresholds: Sequence[float] = (0.25, 0.5, 0.75),
    population: gpd.GeoDataFrame | None = None,
    population_col: str = "population",
    weight_col: str | None = None,
    exclude: Sequence[str] | pd.Series | None = None,
    study_area: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry | None = None,
    contested: ContestedRule = DEFAULT_CONTESTED,
    report: Any = None,
    crs: object | None = None,
) -> Consensus:
    r"""Compute per-neighbourhood agreement of many drawings and the zones between them.

    Parameters
    ----------
    drawings
        Polygon drawings indexed by unique drawing id (as returned by
        :func:`nbhd_geo.read_drawings`), with a neighbourhood-name column ``by``.
        Drawings without a name are left out and listed in ``excluded``.
    by
        The neighbourhood-name column.
    base
        ``None`` (default): a square grid with an automatic cell size
        (:func:`auto_cell_size`, reported in ``cell_size``); a number: a grid with
        that cell size in metres; a GeoDataFrame of polygons (e.g. Output Areas): the
        pieces are its units.
    thresholds
        Agreement levels (shares of drawers, in (0, 1]) for cores and disputed zones.
    population, population_col
        Optional points or polygons with a count column: population-weighted
        agreement (the mean agreement of the people living where a name was drawn,
        ``Σ pop·share / Σ pop``) and the population of each core. On a grid, points
        count in their cell and polygons are spread evenly over the cells whose
        centres they hold; on a polygon base, points count in the unit holding them
        and polygons are split by area.
    weight_col
        Optional non-negative weight per drawing (default: every drawing counts 1).
    exclude
        Outlier flags of :func:`nbhd_geo.voices.outliers.outliers` (e.g. ``["rectangle",
        "duplicate"]``) whose drawings are left out, or a boolean Series by drawing
        id. Outliers are never left out unless asked.
    study_area
        Polygon(s) bounding the analysis (a bare shapely geometry is taken to be in
        the working CRS); default: the union of the drawings. Only no-man's land
        depends on it.
    contested
        :class:`~nbhd_geo.voices.options.ContestedRule`: a piece covered by at least
        ``min_cover`` drawings of two or more names is contested when the entropy of
        its name mix is ≥ ``bits`` (1 by default) or the runner-up name has ≥
        ``tie_ratio`` (0.8) × the leading name's share.
    report
        The :class:`nbhd_geo.io.read.ReadReport` of the drawings (for the ``repaired``
        flag in ``exclude``).
    crs
        Projected working CRS; default: the drawings' CRS when projected, else
        ``settings.working_crs``.

    Returns
    -------
    Consensus

    Notes
    -----
    For neighbourhood :math:`k` with drawings :math:`D_k` and weights :math:`w_d`, the
    agreement at a point :math:`p` is
    :math:`a_k(p) = \sum_{d \in D_k} w_d [p \in d] / \sum_{d \in D_k} w_d`
    (Bostonography 2012: cores at > 25, 50, 75 % of drawers), and the core at
    :math:`t` is :math:`\{p : a_k(p) \ge t\}`. The name mix at :math:`p` is
    :math:`\pi_k(p) = c_k(p) / \sum_j c_j(p)` with :math:`c_k` the weighted drawings of
    name :math:`k` covering :math:`p`, and its uncertainty the Shannon entropy
    :math:`H = -\sum_k \pi_k \log_2 \pi_k` bits (NYT Upshot 2023).

    *Why a grid by default.* An exact arrangement of :math:`n` overlapping freehand
    drawings has :math:`O(n^2)` crossings and faces; for the 1,994 drawings of one
    New York neighbourhood that is millions of sliver faces. A grid keeps the cost
    linear: each drawing is scan-line filled (cell-centre rule, even–odd over its
    edge crossings per row) into runs of cells, and the runs of all drawings are
    summed by one sorted sweep, so memory is proportional to the drawings' outlines,
    not their areas, and the result is identical for any order of the drawings.
    Agreement is exact at cell centres; boundaries are within one cell (the
    resolution, ``cell_size``). With a polygon ``base`` the agreement of a unit
    :math:`u` is the area-weighted mean coverage
    :math:`\sum_{d} w_d |d \cap u| / (|u| \sum_d w_d)` (exact areas from
    :func:`nbhd_geo.overlay.crosswalk.pair_areas`): the mean of the exact surface over the unit.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> d = gpd.GeoDataFrame({"neighbourhood": ["A", "A", "A"]},
    ...     geometry=[shapely.box(0, 0, 20, 20), shapely.box(10, 0, 30, 20),
    ...               shapely.box(0, 0, 20, 20)], index=["d1", "d2", "d3"], crs=27700)
    >>> c = consensus(d, base=1.0, thresholds=(0.5, 1.0))
    >>> c.cores["area_m2"].to_dict()
    {'A@0.50': 400.0, 'A@1.00': 200.0}
    """
    _grid.load_in_background()  # the rasteriser's kernels, while the drawings are checked
    frame, names, weight, excluded, target, all_names = _prepare(
        drawings, by=by, weight_col=weight_col, exclude=exclude, report=report, crs=crs)
    thresholds = _check_thresholds(thresholds)
    if isinstance(base, gpd.GeoDataFrame):
        pieces: _pc.Pieces = _pc.BasePieces.build(base, target)
        cell = None
    else:
        areas = shapely.area(np.asarray(frame.geometry.array))
        cell = auto_cell_size(areas) if base is None else float(base)
        if not np.isfinite(cell) or cell <= 0:
            raise NbhdGeoError(f"grid cell size must be a positive number of metres, got {base!r}",
                               argument="base", fix="pass e.g. base=25.0, or a GeoDataFrame")
        bounds = shapely.total_bounds(np.asarray(frame.geometry.array))
        pieces = _pc.GridPieces.build(Grid.covering(bounds, cell))
    codes, uniq = pd.factorize(names, sort=True)
    uniq = pd.Index(uniq, name="name")
    drawers = np.bincount(codes, weights=weight, minlength=len(uniq))
    surface = pieces.surface(np.asarray(frame.geometry.array), codes, weight, drawers)
    pop = _pc.population_values(population, population_col, target) \
        if population is not None else None
    if pop is not None:
        surface["population"] = pieces.population(surface, pop)
    mix = pieces.mix(surface, drawers)
    rule = contested
    mix["contested"] = ((mix["total"] >= rule.min_cover) & (mix["n_names"] >= 2)
                        & ((mix["entropy_bits"] >= rule.bits - 1e-12)
                           | (mix["second_share"] >= rule.tie_ratio * mix["top_share"])))
    if pop is not None:
        mix["population"] = pieces.population(mix, pop)
    crs_str = target.to_string()
    cores = _cores(pieces, surface, uniq, thresholds, codes, crs_str)
    contested = _pairs_frame(pieces, mix[mix["contested"]], "top_name", "second_name",
                             uniq, crs_str)
    disputed = _disputed(pieces, surface, thresholds, uniq, crs_str)
    nml = _no_mans_land(pieces, mix, min(thresholds), study_area, target, crs_str)
    summary = _summary(surface, pieces, uniq, codes, drawers, thresholds, cores, excluded,
                       names_all=all_names, pop=pop is not None)
    surface = surface.assign(name=uniq[surface.pop("name").to_numpy()])
    surface.insert(0, "name", surface.pop("name"))
    for col in ("top_name", "second_name", "best_name"):
        k = mix[col].to_numpy().astype(np.int64)
        mix[col] = np.where(k >= 0, uniq.to_numpy()[np.maximum(k, 0)], None)
    return Consensus(summary=summary, surface=surface, mix=mix, cores=cores,
                     contested=contested, disputed=disputed, no_mans_land=nml,
                     method=pieces.method, cell_size=cell, thresholds=thresholds,
                     excluded=excluded, crs=crs_str, grid=getattr(pieces, "grid", None),
                     pieces=pieces)


def _check_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    t = tuple(sorted({float(v) for v in np.atleast_1d(thresholds)}))
    if not t or any(not (0 < v <= 1) for v in t):
        raise NbhdGeoError(f"thresholds must be shares in (0, 1], got {thresholds!r}",
                           argument="thresholds", fix="pass e.g. (0.25, 0.5, 0.75)")
    return t


def checked_drawings(drawings: gpd.GeoDataFrame, *, by: str, weight_col: str | None,
                     crs: object | None, argument: str = "drawings") -> tuple[Any, Any]:
    """Check a drawings layer for the voices analyses; return (frame, working CRS).

    The frame is validated and in the working CRS (the drawings' own CRS when projected).
    Shared by :func:`consensus` and the who-was-heard functions.
    """
    if not isinstance(drawings, gpd.GeoDataFrame):
        raise InputError(f"expected a GeoDataFrame, got {type(drawings).__name__}",
                         argument=argument, fix="read files with nbhd_geo.read_drawings(path)")
    if by not in drawings.columns:
        raise ColumnError(f"has no column {by!r}", argument="by",
                          fix=f"choose one of {[c for c in drawings.columns if c != 'geometry']}")
    if weight_col is not None and weight_col not in drawings.columns:
        raise ColumnError(f"has no column {weight_col!r}", argument="weight_col",
                          fix="pass an existing numeric column (e.g. weights from "
                              "nbhd_geo.rake) or None")
    target = voices_crs(crs, drawings)
    return prepare_layer(drawings, argument=argument, crs=target).frame, target


def drawing_weights(frame: gpd.GeoDataFrame, weight_col: str | None) -> np.ndarray:
    """Per-drawing weights: 1 each, or ``weight_col`` checked finite and ≥ 0."""
    if weight_col is None:
        return np.ones(len(frame))
    weight = pd.to_numeric(frame[weight_col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        raise NbhdGeoError("weights must be finite and ≥ 0", argument="weight_col",
                           ids=frame.index[bad], fix="fill or drop those weights")
    return weight


def _prepare(drawings: gpd.GeoDataFrame, *, by: str, weight_col: str | None, exclude: Any,
             report: Any, crs: object | None) -> tuple:
    frame, target = checked_drawings(drawings, by=by, weight_col=weight_col, crs=crs)
    all_names = frame[by]
    unnamed = frame[by].isna() | frame[by].astype("string").str.strip().eq("")
    excluded = _exclusions(frame[~unnamed.to_numpy()], exclude, by, report)
    if unnamed.any():
        excluded = pd.concat([excluded, pd.Series("no neighbourhood name",
                                                  index=frame.index[unnamed.to_numpy()])])
    excluded.index.name = frame.index.name
    keep = ~frame.index.isin(excluded.index)
    frame = frame[keep]
    if len(frame) == 0:
        raise NbhdGeoError("no drawings left to compare", argument="drawings",
                           fix="check the name column `by` and the exclude= flags")
    weight = drawing_weights(frame, weight_col)
    names = frame[by].astype(str).to_numpy()
    return frame, names, weight, excluded, target, all_names


def _cores(pieces: _pc.Pieces, surface: pd.DataFrame, uniq: pd.Index,
           thresholds: tuple[float, ...], codes: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    k = len(uniq)
    counts = np.bincount(codes, minlength=k)
    rows = []
    geoms = []
    share = surface["share"].to_numpy()
    name = surface["name"].to_numpy()
    for t in thresholds:
        sel = share >= t - 1e-12
        sub = surface[sel]
        g = pieces.union(sub, group=name[sel], n_groups=k)
        pop = (np.bincount(name[sel], weights=sub["population"].to_numpy(), minlength=k)
               if "population" in surface else None)
        for j in range(k):
            if g[j] is None or shapely.is_empty(g[j]):
                continue
            row = {"core_id": f"{uniq[j]}@{t:.2f}", "name": uniq[j], "threshold": t,
                   "n_drawings": int(counts[j]), "area_m2": float(shapely.area(g[j]))}
            if pop is not None:
                row["population"] = float(pop[j])
            rows.append(row)
            geoms.append(g[j])
    cols = ["core_id", "name", "threshold", "n_drawings", "area_m2"]
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols + (
        ["population"] if "population" in surface else [])), geometry=geoms, crs=crs)
    out = out.set_index("core_id").sort_values(["name", "threshold"], kind="stable")
    return out


def _pairs_frame(pieces: _pc.Pieces, sel: pd.DataFrame, a_col: str, b_col: str,
                 uniq: pd.Index, crs: str, extra: dict | None = None) -> gpd.GeoDataFrame:
    a = sel[a_col].to_numpy().astype(np.int64)
    b = sel[b_col].to_numpy().astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pair = lo * (len(uniq) + 1) + hi
    keys, group = np.unique(pair, return_inverse=True)
    g = pieces.union(sel, group=group, n_groups=len(keys))
    frame = pd.DataFrame({"name_a": uniq.to_numpy()[keys // (len(uniq) + 1)],
                          "name_b": uniq.to_numpy()[keys % (len(uniq) + 1)],
                          **(extra or {})})
    frame["area_m2"] = shapely.area(g) if len(g) else np.zeros(0)
    return gpd.GeoDataFrame(frame, geometry=list(g), crs=crs)


def _disputed(pieces: _pc.Pieces, surface: pd.DataFrame, thresholds: tuple[float, ...],
              uniq: pd.Index, crs: str) -> gpd.GeoDataFrame:
    parts = []
    for t in thresholds:
        sub = surface[surface["share"].to_numpy() >= t - 1e-12]
        both = pieces.claims(sub)
        if len(both):
            parts.append(_pairs_frame(pieces, both, "a", "b", uniq, crs, {"threshold": t}))
    if not parts:
        return gpd.GeoDataFrame({"name_a": [], "name_b": [], "threshold": [], "area_m2": []},
                                geometry=[], crs=crs)
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out[["name_a", "name_b", "threshold", "area_m2", "geometry"]],
                            geometry="geometry", crs=crs)


def _no_mans_land(pieces: _pc.Pieces, mix: pd.DataFrame, t: float, study_area: Any,
                  target: Any, crs: str) -> gpd.GeoDataFrame:
    unclaimed = mix[mix["best_agreement"].to_numpy() < t - 1e-12]
    if study_area is None:
        geom = pieces.union(unclaimed, group=None, n_groups=1)[0]
    else:
        area = _pc.as_geometry(study_area, target)
        geom = pieces.outside(mix[mix["best_agreement"].to_numpy() >= t - 1e-12], area)
    return gpd.GeoDataFrame({"threshold": [t], "area_m2": [float(shapely.area(geom))]},
                            geometry=[geom], crs=crs)


def _summary(surface: pd.DataFrame, pieces: _pc.Pieces, uniq: pd.Index, codes: np.ndarray,
             drawers: np.ndarray, thresholds: tuple[float, ...], cores: gpd.GeoDataFrame,
             excluded: pd.Series, names_all: pd.Series | None, pop: bool) -> pd.DataFrame:
    k = len(uniq)
    name = surface["name"].to_numpy()
    area = pieces.area(surface)
    share = surface["share"].to_numpy()
    drawn = np.bincount(name, weights=area, minlength=k)
    out = pd.DataFrame({"n_drawings": np.bincount(codes, minlength=k)},
                       index=pd.Index(uniq, name="name"))
    if names_all is not None and len(excluded):
        ex = names_all.reindex(excluded.index).dropna().astype(str).value_counts()
        out["n_excluded"] = ex.reindex(out.index).fillna(0).astype(int).to_numpy()
    else:
        out["n_excluded"] = 0
    out["drawers"] = drawers
    out["drawn_area_m2"] = drawn
    out["mean_agreement"] = np.bincount(name, weights=area * share, minlength=k) / drawn
    for t in thresholds:
        c = cores[cores["threshold"] == t].set_index("name")
        out[f"core_{t:.2f}_m2"] = c["area_m2"].reindex(out.index).fillna(0.0).to_numpy()
    if pop:
        p = surface["population"].to_numpy()
        out["population_drawn"] = np.bincount(name, weights=p, minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["pop_weighted_agreement"] = (np.bincount(name, weights=p * share, minlength=k)
                                             / out["population_drawn"].to_numpy())
        for t in thresholds:
            c = cores[cores["threshold"] == t].set_index("name")
            out[f"core_{t:.2f}_population"] = (c["population"].reindex(out.index).fillna(0.0)
                                               .to_numpy())
    return out
