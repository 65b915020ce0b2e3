"""Boundary checks for polygon layers handed to the analysis functions.

Every analysis function (crosswalk, apportion, best_fit, ...) takes GeoDataFrames
that may come from anywhere, so each one passes them through :func:`prepare_polygons`:
the CRS is made explicit and projected, ids are unique, geometries are polygonal,
valid and non-empty. All problems are collected and raised once.
"""

from __future__ import annotations

import ctypes
import functools
import json
import re
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from nbhd_geo import settings
from nbhd_geo.errors import ColumnError, CRSError, InputError, ValidationError, format_ids

__all__ = [
    "PreparedLayer",
    "authority_code",
    "LayerFacts",
    "candidate_pairs",
    "clear_caches",
    "layer_facts",
    "object_ids",
    "prepare_polygon_pair",
    "prepare_polygons",
    "working_crs",
    "LayerSpec",
    "ValidityProof",
]

#: A cheaper, exact test that shows polygons valid: ``prove(geoms, pos, memo)`` is True
#: where ``geoms[pos]`` is shown valid (which must imply ``shapely.is_valid``), False where
#: not shown (GEOS then decides); ``memo`` is the layer's ``LayerFacts.memo``, where the
#: test may keep what it read for an engine to reuse.
ValidityProof = Callable[[np.ndarray, np.ndarray, dict[str, object]], np.ndarray]


@dataclass(frozen=True)
class PreparedLayer:
    """A polygon layer ready for area work.

    Attributes
    ----------
    ids
        Feature ids (unique), in input order.
    geoms
        Shapely polygons in the working CRS, aligned with ``ids``.
    id_name
        The name of the id (column name, or index name, or ``"index"``).
    frame
        The reprojected GeoDataFrame (a copy; the caller's input is never changed).
    crs
        The CRS of ``frame`` (the working CRS).
    """

    ids: np.ndarray
    geoms: np.ndarray
    id_name: str
    frame: gpd.GeoDataFrame
    crs: CRS | None = None

    @property
    def facts(self) -> LayerFacts:
        """Per-geometry facts (area, emptiness, type, search tree), computed once."""
        got: LayerFacts | None = self.__dict__.get("_facts")
        if got is None:
            got = layer_facts(self.geoms)
            object.__setattr__(self, "_facts", got)
        return got


def object_ids(values: np.ndarray) -> np.ndarray:
    """``id()`` of every element of a 1-D object array, as int64 (a new array).

    In CPython an object array's buffer holds the elements' addresses, which are their
    ids, so they are copied straight out of it (about 100× faster than ``map(id, ...)``
    on a national layer); elsewhere they are collected one by one.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = object(), object()
    >>> object_ids(np.array([a, b, a], dtype=object)).tolist() == [id(a), id(b), id(a)]
    True
    """
    arr = np.ascontiguousarray(values, dtype=object).reshape(-1)
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if sys.implementation.name == "cpython" and arr.itemsize == ctypes.sizeof(ctypes.c_void_p):
        # the buffer's bytes as pointer-sized integers (a ctypes view costs ~4× as much)
        raw = np.frombuffer(arr.data.cast("B"), dtype=np.intp)
        return raw.astype(np.int64, copy=True)  # copied while arr lives
    return np.fromiter(map(id, arr), dtype=np.int64, count=n)  # pragma: no cover


class _IdentityCache:
    """The last few values computed for object arrays, keyed by their elements' identities.

    An entry holds a copy of its array, so the objects stay alive and their ids stay
    theirs; an array whose elements are the same objects, in the same order, finds it.
    Only sound for immutable elements (shapely geometries, str).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, int], list[tuple[np.ndarray, np.ndarray, object]]]
        self._entries = OrderedDict()

    def _key(self, values: np.ndarray) -> tuple[tuple[int, int], np.ndarray]:
        ids = object_ids(values)
        return (len(ids), int(ids.sum(dtype=np.int64))), ids

    def get(self, values: np.ndarray) -> tuple[object | None, tuple[tuple[int, int], np.ndarray]]:
        key, ids = self._key(values)
        for held_ids, _held, value in self._entries.get(key, ()):
            if np.array_equal(held_ids, ids):
                self._entries.move_to_end(key)
                return value, (key, ids)
        return None, (key, ids)

    def put(
        self, found: tuple[tuple[int, int], np.ndarray], values: np.ndarray, value: object
    ) -> None:
        """Remember ``value``; ``values`` must be an array the caller will not change."""
        key, ids = found
        held = np.asarray(values, dtype=object).reshape(-1)
        self._entries.setdefault(key, []).append((ids, held, value))
        self._entries.move_to_end(key)
        while sum(len(v) for v in self._entries.values()) > self.size:
            oldest = next(iter(self._entries))
            self._entries[oldest].pop(0)
            if not self._entries[oldest]:
                del self._entries[oldest]

    def clear(self) -> None:
        self._entries.clear()


@functools.lru_cache(maxsize=32)
def _crs_from(value: str | int) -> CRS:
    return CRS.from_user_input(value)


def working_crs(crs: object | None = None) -> CRS:
    """Resolve the working CRS and refuse a geographic one.

    Examples
    --------
    >>> working_crs().to_epsg()
    27700
    >>> working_crs("EPSG:4326")
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.CRSError: crs: EPSG:4326 is geographic (degrees); areas need metres. Fix: ...
    """
    want = crs if crs is not None else settings.working_crs
    out = _crs_from(want) if isinstance(want, (str, int)) else CRS.from_user_input(want)
    if not out.is_projected:
        raise CRSError(
            f"{out.to_string()} is geographic (degrees); areas need metres",
            argument="crs",
            fix="use a projected CRS such as 'EPSG:27700' (British National Grid)",
        )
    return out


@functools.lru_cache(maxsize=64)
def _code_of_srs(srs: str) -> str | None:
    """``"AUTHORITY:CODE"`` a CRS definition names for itself, or ``None``.

    ``"EPSG:27700"`` names itself; a PROJJSON definition (what GeoParquet and GeoPackage
    readers build a CRS from) by its root ``id``. Nothing is looked up in PROJ's database
    (building a CRS from it costs a millisecond or more on a first call).
    """
    text = srs.strip()
    if re.fullmatch(r"(?i)[a-z]+:\d+", text):
        return text.upper()
    if text.startswith("{"):
        try:
            ident = json.loads(text).get("id")
        except (ValueError, AttributeError):
            return None
        if isinstance(ident, dict) and {"authority", "code"} <= ident.keys():
            return f"{ident['authority']}:{ident['code']}".upper()
    return None


def authority_code(crs: object) -> str | None:
    """``"AUTHORITY:CODE"`` the CRS names for itself (e.g. ``"EPSG:27700"``), or ``None``.

    Examples
    --------
    >>> from pyproj import CRS
    >>> authority_code(CRS.from_user_input(CRS("EPSG:27700").to_json()))
    'EPSG:27700'
    >>> authority_code("epsg:4326"), authority_code(None)
    ('EPSG:4326', None)
    """
    if isinstance(crs, int) and not isinstance(crs, bool):
        return f"EPSG:{crs}"
    srs = crs if isinstance(crs, str) else getattr(crs, "srs", None)
    return _code_of_srs(srs) if isinstance(srs, str) else None


def _target_crs(crs: object | None, layer_crs: CRS) -> CRS:
    """Resolve the working CRS for a layer in ``layer_crs``: its own when it is the one asked.

    A layer whose CRS names itself by the code the working CRS is asked by (the default
    ``"EPSG:27700"``) is taken as it is, projected; otherwise :func:`working_crs` resolves
    the CRS and the layer is compared with it (and reprojected when it differs).
    """
    want = crs if crs is not None else settings.working_crs
    code = authority_code(want) if isinstance(want, (str, int)) else None
    if code is not None and authority_code(layer_crs) == code and layer_crs.is_projected:
        return layer_crs
    return working_crs(crs)


def prepare_polygons(
    gdf: gpd.GeoDataFrame,
    *,
    argument: str,
    id_col: str | None = None,
    crs: object | None = None,
    check_valid: bool = True,
) -> PreparedLayer:
    """Check a polygon layer and bring it into the working CRS.

    Parameters
    ----------
    gdf
        The layer.
    argument
        The caller's argument name, used in error messages.
    id_col
        Column holding unique feature ids; ``None`` uses the index.
    crs
        Working CRS (projected); defaults to ``settings.working_crs``.
    check_valid
        ``False`` skips the per-geometry checks (ids, emptiness, type, validity) for a
        caller that makes them itself (see :func:`prepare_polygon_pair`).

    Returns
    -------
    PreparedLayer

    Raises
    ------
    InputError
        ``gdf`` is not a GeoDataFrame.
    CRSError
        ``gdf`` has no CRS.
    ColumnError
        ``id_col`` is missing.
    ValidationError
        Duplicate ids, or empty, invalid or non-polygonal geometries (all listed at once).
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(
            f"expected a GeoDataFrame, got {type(gdf).__name__}",
            argument=argument,
            fix="read files with nbhd_geo.read_layer(path) or nbhd_geo.read_drawings(path) first",
        )
    geometry = gdf.geometry  # each GeoDataFrame column lookup costs ~40 µs: once
    gdf_crs = geometry.crs
    if gdf_crs is None:
        working_crs(crs)  # a geographic working CRS is the first thing to fix
        raise CRSError(
            "has no CRS, so its coordinates cannot be interpreted",
            argument=argument,
            fix=f"set it with {argument}.set_crs(...) (e.g. 'EPSG:27700' or 'EPSG:4326')",
        )
    target = _target_crs(crs, gdf_crs)
    if id_col is None:
        ids = gdf.index.to_numpy()
        id_name = gdf.index.name or "index"
    else:
        if id_col not in gdf.columns:
            raise ColumnError(
                f"has no column {id_col!r}",
                argument=argument,
                fix=f"choose one of {list(map(str, gdf.columns.drop(gdf.geometry.name)))}",
            )
        ids = gdf[id_col].to_numpy()
        id_name = id_col
    if gdf_crs is target or gdf_crs == target:
        frame = gdf
        gdf_crs = target  # the same CRS; its short definition is cheaper to label
    else:
        frame = gdf.to_crs(target)
        geometry = frame.geometry
        gdf_crs = geometry.crs
    geoms = np.asarray(geometry.array, dtype=object)
    layer = PreparedLayer(ids=ids, geoms=geoms, id_name=str(id_name), frame=frame, crs=gdf_crs)
    # the facts are looked up once per prepared layer (one pass over the object ids)
    if check_valid:
        problems, _ = _problems(layer, None)
        _raise_problems(layer, argument, problems)
    return layer


def _problems(
    layer: PreparedLayer, check: np.ndarray | None, prove: ValidityProof | None = None
) -> tuple[list[str], np.ndarray]:
    """Problems of a layer, and the mask of polygonal, non-empty geometries.

    Validity is checked where ``check`` is True (everywhere when ``None``); a polygon
    elsewhere (in no candidate pair, so in no overlap) is checked for emptiness and type only.
    ``prove``: see :func:`_layer_valid`.
    """
    ids = layer.ids
    geoms = layer.geoms
    facts = layer.facts
    problems: list[str] = []
    if not _ids_unique(ids):
        dup = pd.Series(ids).duplicated(keep=False).to_numpy()
        problems.append(f"duplicate ids: {format_ids(pd.unique(ids[dup]))}")
    missing = facts.missing
    if missing.any():
        problems.append(f"empty or missing geometry: {format_ids(ids[missing])}")
    nonpoly = ~missing & ~facts.polygonal
    if nonpoly.any():
        problems.append(f"not a polygon: {format_ids(ids[nonpoly])}")
    ok = facts.polygonal
    if check is None:
        invalid = ok & ~_layer_valid(facts, geoms, ok, prove)
    else:
        look = ok & check
        invalid = look & ~_layer_valid(facts, geoms, look, prove)
    if invalid.any():
        problems.append(f"invalid geometry: {format_ids(ids[invalid])}")
    return problems, ok & ~invalid


# object-dtype id arrays (str codes) found unique, by the identities of their elements
_UNIQUE_IDS = _IdentityCache(8)


def _ids_unique(ids: np.ndarray) -> bool:
    """Whether ``ids`` has no repeated value, with fast paths for layers crossed again.

    Sorted numbers are unique without hashing; an object array (e.g. ``str`` codes) whose
    elements are the same objects as an array found unique before is unique again.
    """
    if len(ids) < 2:
        return True
    if ids.dtype.kind in "iuf" and bool(np.all(ids[1:] > ids[:-1])):
        return True
    if ids.dtype == object:
        hit, found = _UNIQUE_IDS.get(ids)
        if hit is True:
            return True
        unique = len(pd.unique(ids)) == len(ids)
        if unique and pd.api.types.infer_dtype(ids, skipna=False) == "string":  # immutable
            _UNIQUE_IDS.put(found, ids.copy(), True)
        return unique
    return len(pd.unique(ids)) == len(ids)


def _raise_problems(layer: PreparedLayer, argument: str, problems: list[str]) -> None:
    if problems:
        raise ValidationError(
            f"{len(layer.ids)} features checked, problems found",
            problems=problems,
            argument=argument,
            fix=(
                "read it with nbhd_geo.read_layer / read_drawings, which repair invalid "
                "polygons and report every change, or drop the listed features"
            ),
        )


def _layer_valid(
    facts: LayerFacts, geoms: np.ndarray, mask: np.ndarray, prove: ValidityProof | None = None
) -> np.ndarray:
    """``shapely.is_valid`` where ``mask`` (True elsewhere), remembered in the layer's facts.

    ``prove`` (e.g. the exact engine's ring test) is asked first; GEOS only checks the
    polygons it does not show valid, so the answer is GEOS's either way.
    """
    known = facts.memo.get("valid")
    if not isinstance(known, np.ndarray):
        known = np.full(len(geoms), -1, dtype=np.int8)  # -1: not checked yet
        facts.memo["valid"] = known
    todo = np.flatnonzero(mask & (known < 0))
    if len(todo) and prove is not None:
        shown = np.asarray(prove(geoms, todo, facts.memo), dtype=bool)
        known[todo[shown]] = 1
        todo = todo[~shown]
    if len(todo):
        known[todo] = shapely.is_valid(geoms[todo])
    return ~mask | (known == 1)


def prepare_polygon_pair(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    source_id: str | None = None,
    target_id: str | None = None,
    crs: object | None = None,
    arguments: tuple[str, str] = ("source", "target"),
    prove_valid: ValidityProof | None = None,
) -> tuple[PreparedLayer, PreparedLayer, np.ndarray, np.ndarray]:
    """Prepare two layers for overlay, checking validity only where they can overlap.

    The candidate pairs (bounding boxes meet) are found first; geometries that take part in
    one are checked as :func:`prepare_polygons` checks them, the others only for what is
    cheap (ids, missing, type), so one polygon crossed with a national layer
    does not pay for validating the whole layer. ``prove_valid``: an exact test asked before
    GEOS's validity check (see :func:`_layer_valid`).

    Returns
    -------
    source, target : PreparedLayer
    pi, pj : numpy.ndarray
        int64 positions of the candidate pairs, sorted by ``(pi, pj)``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> a = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 2, 2)], crs=27700)
    >>> b = gpd.GeoDataFrame(geometry=[shapely.box(1, 1, 3, 3), shapely.box(5, 5, 6, 6)],
    ...                      crs=27700)
    >>> _, _, pi, pj = prepare_polygon_pair(a, b)
    >>> pi.tolist(), pj.tolist()
    ([0], [0])
    """
    src = prepare_polygons(
        source, argument=arguments[0], id_col=source_id, crs=crs, check_valid=False
    )
    tgt = prepare_polygons(
        target, argument=arguments[1], id_col=target_id, crs=crs, check_valid=False
    )
    pi, pj = candidate_pairs(src.geoms, tgt.geoms, (src.facts, tgt.facts))
    cs = np.zeros(len(src.geoms), dtype=bool)
    cs[pi] = True
    ct = np.zeros(len(tgt.geoms), dtype=bool)
    ct[pj] = True
    ps, _ = _problems(src, cs, prove_valid)
    pt, _ = _problems(tgt, ct, prove_valid)
    _raise_problems(src, arguments[0], ps)
    _raise_problems(tgt, arguments[1], pt)
    return src, tgt, pi, pj


def candidate_pairs(
    a: np.ndarray,
    b: np.ndarray,
    facts: tuple[LayerFacts, LayerFacts] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the pairs of polygonal geometries whose bounding boxes meet, by (i, j).

    Missing, empty and non-polygonal geometries take part in no pair. The search tree is
    built on the larger layer (and kept with its :func:`layer_facts`), and queried with
    the smaller one.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> a = np.array([shapely.box(0, 0, 1, 1), None])
    >>> b = np.array([shapely.box(1, 1, 2, 2), shapely.box(3, 3, 4, 4)])
    >>> [v.tolist() for v in candidate_pairs(a, b)]
    [[0], [0]]
    """
    fa, fb = (layer_facts(a), layer_facts(b)) if facts is None else facts
    ua = fa.usable
    ub = fb.usable
    if len(ua) == 0 or len(ub) == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e.copy()
    if min(len(ua), len(ub)) <= _FEW and not (fa.has_tree or fb.has_tree):
        # a handful against a layer without a tree yet: compare boxes (a tree costs ~3×)
        pi, pj = _box_pairs(fa, fb)
    elif len(ub) >= len(ua):
        qi, tj = fb.tree().query(a[ua])
        pi, pj = ua[qi], ub[tj]
    else:
        qj, ti = fa.tree().query(b[ub])
        pi, pj = ua[ti], ub[qj]
    pi = pi.astype(np.int64, copy=False)
    pj = pj.astype(np.int64, copy=False)
    key = pi * len(b) + pj  # < len(a)·len(b), far below 2**63
    if len(key) > 1 and not bool(np.all(key[1:] > key[:-1])):
        order = np.argsort(key, kind="stable")
        pi, pj = pi[order], pj[order]
    return np.ascontiguousarray(pi), np.ascontiguousarray(pj)


#: At most this many polygons on one side: candidates by comparing bounding boxes.
_FEW = 16


def _box_pairs(fa: LayerFacts, fb: LayerFacts) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs by direct bounding-box comparison (one side has at most ``_FEW``)."""
    ba, bb = fa.usable_bounds(), fb.usable_bounds()  # (4, n): xmin, ymin, xmax, ymax rows
    small_a = ba.shape[1] <= bb.shape[1]
    few, many = (ba, bb) if small_a else (bb, ba)
    hits_few: list[np.ndarray] = []
    hits_many: list[np.ndarray] = []
    for k in range(few.shape[1]):
        x0, y0, x1, y1 = few[:, k]
        hit = np.flatnonzero((many[0] <= x1) & (many[2] >= x0) & (many[1] <= y1) & (many[3] >= y0))
        hits_few.append(np.full(len(hit), k, dtype=np.int64))
        hits_many.append(hit)
    qf = np.concatenate(hits_few) if hits_few else np.empty(0, dtype=np.int64)
    qm = np.concatenate(hits_many) if hits_many else np.empty(0, dtype=np.int64)
    if small_a:
        return fa.usable[qf], fb.usable[qm]
    return fa.usable[qm], fb.usable[qf]


class LayerFacts:
    """Per-geometry facts of a layer that cost a pass over it, computed once per layer.

    Attributes
    ----------
    missing
        Missing or empty geometries.
    polygonal
        Non-empty Polygon/MultiPolygon.
    usable
        Positions of the polygonal geometries (int64).
    area
        GEOS area of each geometry (0 where missing), measured when first asked for: a
        crosswalk needs the areas of the polygons in a pair only (:meth:`area_at`), which
        for one ward against a national layer is a thousandth of them.
    memo
        Room for an engine's per-layer work, kept as long as the facts are.
    """

    __slots__ = ("_area", "_bounds", "_geoms", "_tree", "memo", "missing", "polygonal", "usable")

    def __init__(self, geoms: np.ndarray) -> None:
        self._geoms = geoms.copy()  # holds the geometries, so their ids stay theirs
        # Two passes over the layer, each a GEOS call per geometry: types and bounding
        # boxes. A missing or empty geometry has NaN bounds, so the boxes the candidate
        # search needs also tell emptiness (an area pass would cost as much again).
        types = shapely.get_type_id(geoms)  # -1: missing
        bounds = shapely.bounds(geoms)  # NaN rows where missing or empty
        self.missing = np.isnan(bounds[:, 0])
        self.polygonal = ~self.missing & ((types == 3) | (types == 6))
        self.usable = np.flatnonzero(self.polygonal)
        self._bounds = np.ascontiguousarray(bounds[self.usable].T)
        self._area: np.ndarray | None = None
        self._tree: shapely.STRtree | None = None
        self.memo: dict[str, object] = {}  # engines' own per-layer work (e.g. edge arrays)

    @property
    def area(self) -> np.ndarray:
        """GEOS area of every geometry (0 where missing), measured once."""
        if self._area is None:
            area = shapely.area(self._geoms)  # NaN where missing
            self._area = np.where(self.missing, 0.0, area)
        return self._area

    def area_at(self, positions: np.ndarray) -> np.ndarray:
        """GEOS area of the geometries at ``positions`` (0 where missing), as :attr:`area`.

        Measures only those, unless they are a large part of the layer or the whole layer
        is measured already.

        Examples
        --------
        >>> import numpy as np, shapely
        >>> f = LayerFacts(np.array([shapely.box(0, 0, 2, 2), None, shapely.box(0, 0, 1, 3)]))
        >>> f.area_at(np.array([2, 0, 2, 1])).tolist()
        [3.0, 4.0, 3.0, 0.0]
        """
        pos = np.asarray(positions, dtype=np.int64)
        if self._area is not None or 4 * len(pos) >= len(self._geoms):
            return self.area[pos]
        if len(pos) == 0:
            return np.zeros(0, dtype=np.float64)
        todo, back = np.unique(pos, return_inverse=True)
        area = shapely.area(self._geoms[todo])
        return np.where(self.missing[todo], 0.0, area)[back.reshape(-1)]

    @property
    def has_tree(self) -> bool:
        """Whether :meth:`tree` has been built."""
        return self._tree is not None

    def usable_bounds(self) -> np.ndarray:
        """``(4, len(usable))`` bounding boxes of the usable geometries, a row per side."""
        return self._bounds

    def tree(self) -> shapely.STRtree:
        """STRtree over the usable geometries (positions into ``usable``)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self._geoms[self.usable])
        return self._tree


# Facts of the last few layers, keyed by the identities of their geometry objects (which
# each entry holds): the same geometries are the same layer, since shapely geometries are
# immutable.
_FACTS = _IdentityCache(8)


def layer_facts(geoms: np.ndarray) -> LayerFacts:
    """:class:`LayerFacts` of ``geoms``, remembered across calls for the last few layers.

    A national layer crossed with many small ones is scanned once per session; the check
    that it is the same layer compares the geometry objects' ids (tens of microseconds).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> layer = np.array([shapely.box(0, 0, 2, 2), None])
    >>> layer_facts(layer).area.tolist(), layer_facts(layer) is layer_facts(layer)
    ([4.0, 0.0], True)
    """
    hit, found = _FACTS.get(geoms)
    if isinstance(hit, LayerFacts):
        return hit
    facts = LayerFacts(np.asarray(geoms, dtype=object))
    _FACTS.put(found, facts._geoms, facts)
    return facts


def clear_caches() -> None:
    """Forget remembered layer facts and validity (frees the geometries they hold)."""
    _FACTS.clear()
    _UNIQUE_IDS.clear()


@dataclass(frozen=True)
class LayerSpec:
    """A statutory layer to reconcile against.

    Attributes
    ----------
    name
        Short label used in file names and tables (``"lsoa"``, ``"ward"``).
    data
        The layer, indexed by unique unit id (as :func:`nbhd_geo.read_layer` returns it).
    population
        Optional population column of ``data``.
    """

    name: str
    data: gpd.GeoDataFrame
    population: str | None = None
