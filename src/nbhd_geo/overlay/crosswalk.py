"""Exact overlap tables between two polygon layers (crosswalks).

A crosswalk says how much of each source polygon lies in each target polygon and
back again: one row per overlapping pair, with the intersection area in m² and the
shares of both polygons. It is the table every other analysis in nbhd_geo reads.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo import settings
from nbhd_geo.errors import InputError, NbhdGeoError, ValidationError, format_ids
from nbhd_geo.io.layers import (
    LayerFacts,
    PreparedLayer,
    ValidityProof,
    _layer_valid,
    authority_code,
    candidate_pairs,
    layer_facts,
    prepare_polygon_pair,
)
from nbhd_geo.overlay import exact
from nbhd_geo.overlay.exact.join import prove_valid_reading

__all__ = ["Crosswalk", "crosswalk", "pair_areas", "record_passes"]

Engine = Literal["exact", "geos"]


#: While :func:`record_passes` is active: one entry per intersection pass.
_PASSES: list[tuple[str, str]] | None = None


def _layer_key(geoms: np.ndarray) -> str:
    """Fingerprint a geometry array cheaply: its length and its rounded bounds."""
    bounds = np.round(shapely.bounds(geoms), 1) if len(geoms) else np.zeros((0, 4))
    return f"{len(geoms)}:{hash(bounds.tobytes()) & 0xFFFFFFFF:08x}"


@contextmanager
def record_passes() -> Iterator[list[tuple[str, str]]]:
    """Record every intersection pass (:func:`pair_areas` call) made inside the block.

    Each entry is a pair of layer fingerprints (length and rounded bounds of each
    geometry array). A reconciliation that computes each layer pair once shows no
    repeated entry; the test suite uses this to check the overlap report.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> a = np.array([shapely.box(0, 0, 10, 10)])
    >>> with record_passes() as passes:
    ...     _ = pair_areas(a, a)
    >>> len(passes)
    1
    """
    global _PASSES
    previous, _PASSES = _PASSES, []
    try:
        yield _PASSES
    finally:
        _PASSES = previous


class _Areas:
    """The areas of one side's polygons, indexed by id, measured when first asked for.

    A crosswalk's table needs the areas of the polygons in a pair only; the areas of the
    rest (one ward against 32,844 LSOAs: all but a few dozen) are measured when
    :attr:`Crosswalk.source_area` or :meth:`Crosswalk.coverage` asks, once.
    """

    __slots__ = ("_facts", "_series", "index")

    def __init__(
        self, index: pd.Index, *, facts: LayerFacts | None = None, series: pd.Series | None = None
    ) -> None:
        self.index = index
        self._facts = facts
        self._series = series

    def series(self) -> pd.Series:
        """Return the areas as a Series indexed by id, measuring them on the first call."""
        if self._series is None:
            assert self._facts is not None
            self._series = pd.Series(self._facts.area, index=self.index)
        return self._series

    def subset(self, keep: np.ndarray) -> _Areas:
        """Keep the areas of the polygons where ``keep`` (a boolean mask over the index)."""
        return _Areas(self.index[keep], series=self.series()[keep])

    def __len__(self) -> int:
        return len(self.index)


@dataclass(frozen=True)
class Crosswalk:
    """An overlap table between a source and a target layer.

    Attributes
    ----------
    table
        One row per overlapping pair: ``source_id``, ``target_id``, ``area_m2``,
        ``share_of_source`` (area / source area), ``share_of_target`` (area / target
        area) and ``is_sliver`` (area below ``sliver_tol_m2``). float64 throughout.
    source_area, target_area
        Area in m² of every input polygon, indexed by id (including polygons that
        overlap nothing, so nothing is lost). Properties: measured on first use, once
        (``source_areas``/``target_areas`` hold the ids and what measures them).
    source_id, target_id
        The names of the id columns (or index) of the inputs.
    sliver_tol_m2
        The sliver tolerance used to flag rows. Slivers are flagged, never dropped.
    crs
        The working CRS the areas were measured in.
    engine
        The engine that computed the areas.
    """

    table: pd.DataFrame
    source_areas: _Areas = field(repr=False)
    target_areas: _Areas = field(repr=False)
    source_id: str
    target_id: str
    sliver_tol_m2: float
    crs: str
    engine: str

    @property
    def source_area(self) -> pd.Series:
        """Area in m² of every source polygon, indexed by id (measured once, when asked)."""
        return self.source_areas.series()

    @property
    def target_area(self) -> pd.Series:
        """Area in m² of every target polygon, indexed by id (measured once, when asked)."""
        return self.target_areas.series()

    def to_frame(self) -> pd.DataFrame:
        """Return the pair table (a copy)."""
        return self.table.copy()

    def coverage(self, side: Literal["source", "target"] = "source") -> pd.DataFrame:
        """Area conservation per polygon of one side.

        Returns, per polygon: its area, the summed overlap with the other layer,
        the share covered and the uncovered area. Over a complete, non-overlapping
        other layer the share is 1 (up to the layers' own gaps and overlaps).

        Parameters
        ----------
        side
            ``"source"`` or ``"target"``.
        """
        if side not in ("source", "target"):
            raise NbhdGeoError(
                f"unknown side {side!r}", argument="side", fix="use 'source' or 'target'"
            )
        areas = self.source_area if side == "source" else self.target_area
        key = f"{side}_id"
        summed = self.table.groupby(key, sort=False)["area_m2"].sum()
        out = pd.DataFrame({"area_m2": areas})
        out["overlap_m2"] = summed.reindex(out.index).fillna(0.0).to_numpy()
        out["share_covered"] = out["overlap_m2"] / out["area_m2"]
        out["uncovered_m2"] = out["area_m2"] - out["overlap_m2"]
        out["n_partners"] = (
            self.table.groupby(key, sort=False).size().reindex(out.index).fillna(0).astype(int)
        )
        out.index.name = key
        return out

    def summary(self) -> dict[str, float | int | str]:
        """Headline figures: pairs, slivers and the area conservation check."""
        t = self.table
        src = self.coverage("source")
        return {
            "pairs": len(t),
            "slivers": int(t["is_sliver"].sum()),
            "sliver_area_m2": float(t.loc[t["is_sliver"], "area_m2"].sum()),
            "sliver_tol_m2": self.sliver_tol_m2,
            "source_features": len(self.source_areas),
            "target_features": len(self.target_areas),
            "source_area_m2": float(self.source_area.sum()),
            "target_area_m2": float(self.target_area.sum()),
            "overlap_area_m2": float(t["area_m2"].sum()),
            "sources_without_overlap": int((src["n_partners"] == 0).sum()),
            "crs": self.crs,
            "engine": self.engine,
        }


def _geos_pair_areas(
    a: np.ndarray,
    b: np.ndarray,
    threads: int,
    candidates: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise intersection areas with GEOS (not exact: see benchmarks/README.md, #17)."""
    if candidates is None:
        ia, ib = shapely.STRtree(b).query(a, predicate="intersects")
    else:
        ia, ib = candidates
    if len(ia) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)

    def work(sl: slice) -> np.ndarray:
        return shapely.area(shapely.intersection(a[ia[sl]], b[ib[sl]]))

    chunk = max(1, -(-len(ia) // max(1, threads * 8)))
    slices = [slice(s, s + chunk) for s in range(0, len(ia), chunk)]
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            area = np.concatenate(list(pool.map(work, slices)))
    else:
        area = np.concatenate([work(s) for s in slices])
    keep = area > 0
    order = np.lexsort((ib[keep], ia[keep]))
    return (
        ia[keep][order].astype(np.int64),
        ib[keep][order].astype(np.int64),
        area[keep][order].astype(np.float64),
    )


def pair_areas(
    a: np.ndarray,
    b: np.ndarray,
    *,
    engine: Engine = "exact",
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Areas of ``a[i] ∩ b[j]`` for every pair with positive overlap.

    Low-level: arrays of valid shapely polygons in a projected CRS in, positions
    and areas out (sorted by ``(i, j)``). Most users want :func:`crosswalk`.

    Parameters
    ----------
    a, b
        Arrays of valid, non-empty Polygon/MultiPolygon geometries. Every geometry is
        checked for type and emptiness, and every one whose bounding box meets one of the
        other layer's for validity (a bow-tie or a hole outside its shell would give a
        wrong area); problems raise :class:`~nbhd_geo.errors.ValidationError`.
    engine
        ``"exact"`` (default): areas by boundary integration over edges noded once
        for the whole layer pair, no intersection geometry is built (see
        :mod:`nbhd_geo.overlay.exact`). ``"geos"``: per-pair GEOS intersection.
    threads
        Worker threads; ``None`` uses every core.

    Returns
    -------
    (ia, ib, area)
        int64 positions into ``a`` and ``b`` and float64 areas in CRS units².

    Raises
    ------
    ValidationError
        Missing, empty, non-polygonal or invalid geometries (positions listed).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> a = np.array([shapely.box(0, 0, 10, 10)])
    >>> b = np.array([shapely.box(0, 0, 7, 10), shapely.box(7, 0, 20, 10)])
    >>> ia, ib, area = pair_areas(a, b)
    >>> ib.tolist(), area.tolist()
    ([0, 1], [70.0, 30.0])
    >>> bow_tie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    >>> pair_areas(np.array([bow_tie]), b)
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.ValidationError: a: 1 geometries checked, problems found:
      - invalid geometry at positions: 0. Fix: ...
    """
    a = _as_geometry_array(a, "a")
    b = _as_geometry_array(b, "b")
    pi, pj = candidate_pairs(a, b)
    for name, arr, used in (("a", a, pi), ("b", b, pj)):
        mask = np.zeros(len(arr), dtype=bool)
        mask[used] = True
        _check_positions(arr, mask, name, _prover(engine))
    return _pair_areas(a, b, (pi, pj), engine=engine, threads=threads)


def _prover(engine: str) -> ValidityProof | None:
    """Return the exact engine's validity test (GEOS checks what it does not show), or None.

    Only with ``engine="exact"``: the test runs the engine's kernels, which the GEOS engine
    must not wait for (nor compile, on a first run). It reads the polygons' coordinates
    once for both the test and the overlay (:func:`~nbhd_geo.overlay.exact.join.
    prove_valid_reading`).
    """
    return prove_valid_reading if engine == "exact" else None


def _as_geometry_array(values: object, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise InputError(
            f"expected a 1-D array of polygons, got shape {arr.shape}",
            argument=name,
            fix="pass a 1-D numpy array (or list) of shapely polygons",
        )
    return arr


def _check_positions(
    arr: np.ndarray, check: np.ndarray, name: str, prove: ValidityProof | None = None
) -> None:
    """Raise one ValidationError listing every unusable position of ``arr``."""
    problems = []
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    if missing.any():
        problems.append(
            f"empty or missing geometry at positions: {format_ids(np.flatnonzero(missing))}"
        )
    tid = shapely.get_type_id(arr)
    nonpoly = ~missing & (tid != 3) & (tid != 6)
    if nonpoly.any():
        problems.append(f"not a polygon at positions: {format_ids(np.flatnonzero(nonpoly))}")
    look = check & ~missing & ~nonpoly
    invalid = look & ~_layer_valid(layer_facts(arr), arr, look, prove)
    if invalid.any():
        problems.append(f"invalid geometry at positions: {format_ids(np.flatnonzero(invalid))}")
    if problems:
        raise ValidationError(
            f"{len(arr)} geometries checked, problems found",
            problems=problems,
            argument=name,
            fix=(
                "repair with shapely.make_valid (keeping the polygonal parts), or use "
                "nbhd_geo.crosswalk on layers read with nbhd_geo.read_layer, which repairs "
                "and reports"
            ),
        )


def _pair_areas(
    a: np.ndarray,
    b: np.ndarray,
    candidates: tuple[np.ndarray, np.ndarray],
    *,
    engine: Engine,
    threads: int | None,
    facts: tuple[dict[str, object], dict[str, object]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`pair_areas` on checked layers with their candidate pairs.

    ``facts``: the layers' ``LayerFacts.memo`` (looked up when ``None``), where the exact
    engine keeps edge arrays of layers that are crossed again and again.
    """
    threads = threads or os.cpu_count() or 1
    if _PASSES is not None:
        _PASSES.append((_layer_key(a), _layer_key(b)))
    if engine == "geos":
        return _geos_pair_areas(a, b, threads, candidates)
    if engine == "exact":
        memo = (layer_facts(a).memo, layer_facts(b).memo) if facts is None else facts
        ia, ib, area, _ = exact.intersection_areas_stats(
            a, b, threads=threads, candidates=candidates, memo=memo
        )
        return ia, ib, area
    raise NbhdGeoError(f"unknown engine {engine!r}", argument="engine", fix="use 'exact' or 'geos'")


def _crs_label(crs: object) -> str:
    """``crs.to_string()``: the code a CRS names itself by, or pyproj's label (remembered)."""
    code = authority_code(crs)
    if code is not None:  # what to_string gives, without identifying the CRS again
        return code
    srs = getattr(crs, "srs", None)
    if isinstance(srs, str):
        return _label_of_srs(srs)
    return str(crs.to_string())  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=64)
def _label_of_srs(srs: str) -> str:
    from pyproj import CRS

    return str(CRS.from_user_input(srs).to_string())


def _table(
    src: PreparedLayer,
    tgt: PreparedLayer,
    ia: np.ndarray,
    ib: np.ndarray,
    area: np.ndarray,
    src_area: np.ndarray,
    tgt_area: np.ndarray,
    sliver_tol_m2: float,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_id": src.ids[ia],
            "target_id": tgt.ids[ib],
            "area_m2": area,
            "share_of_source": area / src_area,
            "share_of_target": area / tgt_area,
            "is_sliver": area < sliver_tol_m2,
        }
    )


def crosswalk(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    source_id: str | None = None,
    target_id: str | None = None,
    sliver_tol_m2: float | None = None,
    crs: object | None = None,
    engine: Engine = "exact",
    threads: int | None = None,
) -> Crosswalk:
    """Exact overlap table between two polygon layers.

    Parameters
    ----------
    source, target
        Polygon layers. Each is reprojected (on a copy) to ``crs``; inputs are never
        changed. Geometries must be valid and non-empty: read files with
        :func:`nbhd_geo.read_layer` / :func:`nbhd_geo.read_drawings`, which repair and
        report.
    source_id, target_id
        Columns with unique ids; ``None`` uses the index.
    sliver_tol_m2
        Overlaps smaller than this many m² are flagged ``is_sliver`` (kept, and
        counted in :meth:`Crosswalk.summary`). Defaults to ``settings.sliver_tol_m2``.
    crs
        Projected working CRS; defaults to ``settings.working_crs`` (EPSG:27700).
        A geographic CRS is refused.
    engine
        ``"exact"`` (default) or ``"geos"``; see :func:`pair_areas`. Both give the
        same table to ~1e-9 relative.
    threads
        Worker threads; ``None`` uses every core.

    Returns
    -------
    Crosswalk
        ``.table`` has one row per pair with positive overlap (zero-area touches are
        excluded), sorted by source then target position in the inputs.

    See Also
    --------
    nbhd_geo.apportion : population-weighted shares built on this table.
    nbhd_geo.best_fit : statutory units standing in for each drawn area.

    Notes
    -----
    ``share_of_source`` sums to 1 for a source polygon lying wholly inside a target
    layer that tiles without gaps or overlaps; :meth:`Crosswalk.coverage` reports
    that check for every polygon, so gaps and overlaps in real layers are visible.
    Unlike ``tobler.area_interpolate(allocate_total=True)``, nothing is rescaled.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> drawn = gpd.GeoDataFrame({"name": ["Oakfield"]},
    ...     geometry=[shapely.box(0, 0, 10, 10)], crs=27700)
    >>> wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]},
    ...     geometry=[shapely.box(0, 0, 7, 10), shapely.box(7, 0, 20, 10)], crs=27700)
    >>> cw = crosswalk(drawn, wards, source_id="name", target_id="ward")
    >>> cw.table[["source_id", "target_id", "area_m2", "share_of_source"]]
      source_id target_id  area_m2  share_of_source
    0  Oakfield        W1     70.0              0.7
    1  Oakfield        W2     30.0              0.3
    """
    if engine not in ("exact", "geos"):
        raise NbhdGeoError(
            f"unknown engine {engine!r}", argument="engine", fix="use 'exact' or 'geos'"
        )
    src, tgt, pi, pj = prepare_polygon_pair(
        source,
        target,
        source_id=source_id,
        target_id=target_id,
        crs=crs,
        prove_valid=_prover(engine),
    )
    tol = settings.sliver_tol_m2 if sliver_tol_m2 is None else float(sliver_tol_m2)
    if tol < 0 or not np.isfinite(tol):
        raise NbhdGeoError(
            f"must be a finite area ≥ 0, got {sliver_tol_m2!r}",
            argument="sliver_tol_m2",
            fix="pass an area in m², e.g. 1.0",
        )
    ia, ib, area = _pair_areas(
        src.geoms,
        tgt.geoms,
        (pi, pj),
        engine=engine,
        threads=threads,
        facts=(src.facts.memo, tgt.facts.memo),
    )
    table = _table(src, tgt, ia, ib, area, src.facts.area_at(ia), tgt.facts.area_at(ib), tol)
    return Crosswalk(
        table=table,
        source_areas=_Areas(pd.Index(src.ids, name=src.id_name), facts=src.facts),
        target_areas=_Areas(pd.Index(tgt.ids, name=tgt.id_name), facts=tgt.facts),
        source_id=src.id_name,
        target_id=tgt.id_name,
        sliver_tol_m2=tol,
        crs=_crs_label(src.crs if src.crs is not None else src.frame.crs),
        engine=engine,
    )
