"""Safe reading of statutory layers and resident drawings, accounting for every feature.

Two readers share one pipeline:

* :func:`read_layer` reads a statutory geography (LSOAs, wards, …). Its ids must be
  unique and every feature must survive validation: otherwise a single
  :class:`~nbhd_geo.errors.ValidationError` lists *every* problem (``strict=True``).
* :func:`read_drawings` reads resident-drawn neighbourhoods. It is lenient: faulty
  drawings are repaired or rejected, duplicate ids are made unique, only the columns
  the analysis uses (or the user keeps) are kept, and each decision is recorded in the
  report.

Both accept a GeoDataFrame or a path to GeoJSON, GeoPackage, Shapefile (also zipped),
KML/KMZ, FlatGeobuf, GeoParquet or CSV (a WKT column or x/y columns); a ``.gz`` suffix
is read transparently. Everything is reprojected to the working CRS
(:data:`nbhd_geo.settings.working_crs`, British National Grid, unless
``coords=CoordOptions(to_crs=...)``). The settings that travel together are small
option objects (:mod:`nbhd_geo.io.options`): ``coords=``, ``csv=`` and, for drawings,
``privacy=``.

**Return convention.** Both return a :class:`ReadResult`, a named tuple
``(data, report)``: unpack it (``gdf, report = read_drawings(...)``) or use
``result.data`` and ``result.report``. ``data`` is a GeoDataFrame indexed by the unique
feature id (index name: the id column, or ``"feature_id"`` when ids were created) with a
``geometry`` column in the working CRS; ``report`` is a :class:`ReadReport` with one row
per *input* feature.

Examples
--------
>>> import geopandas as gpd, shapely
>>> gdf = gpd.GeoDataFrame(
...     {"drawing_id": ["a", "a", "b"], "email": ["x@y.org", None, None]},
...     geometry=[shapely.box(430000, 420000, 430100, 420100),
...               shapely.Polygon([(430000, 420000), (430100, 420100),
...                                (430100, 420000), (430000, 420100)]),
...               shapely.Point(430000, 420000)],
...     crs="EPSG:27700")
>>> drawings, report = read_drawings(gdf)
>>> drawings.index.tolist(), drawings.columns.tolist()
(['a', 'a#2'], ['geometry'])
>>> report.n_input, report.n_kept, report.n_repaired, report.n_rejected
(3, 1, 1, 1)
>>> report.rows.loc[2, "reason"]
'not a polygon: Point'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo import settings
from nbhd_geo.errors import ColumnError, CRSError, ValidationError, format_ids
from nbhd_geo.io import crs as _crs
from nbhd_geo.io.formats import (
    _ID_CANDIDATES,
    _ONS_CODE,
    SUPPORTED_SUFFIXES,
    PathLike,
    _find_column,
    _Raw,
    _read_any,
)
from nbhd_geo.io.guards import (
    DEFAULT_LIMITS,
    Limits,
)
from nbhd_geo.io.options import (
    DEFAULT_COORDS,
    DEFAULT_CSV,
    DEFAULT_PRIVACY,
    CoordOptions,
    CsvColumns,
    Outside,
    PrivacyOptions,
)
from nbhd_geo.io.privacy import (
    allowlist_columns,
    left_out_reason,
    pseudonymise_ids,
    redact_column,
)
from nbhd_geo.io.readreport import ReadReport, ReadResult
from nbhd_geo.io.validate import validate_points, validate_polygons

__all__ = ["read_layer", "read_drawings", "ReadReport", "ReadResult", "SUPPORTED_SUFFIXES"]


# ----------------------------------------------------------------------------- pipeline


def _resolve_ids(frame: pd.DataFrame, id_col: str | None, kind: str,
                 label: str, points: bool = False,
                 unread: Sequence[str] = ()) -> tuple[np.ndarray, str | None, str]:
    """Raw ids (object array, may hold None), the id column used, and a note."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if id_col is not None:
        if id_col not in frame.columns:
            raise ColumnError(f"column {id_col!r} not found; columns are "
                              f"{format_ids([*columns, *unread], 50)}", argument="id_col",
                              fix="pass one of the listed columns, or id_col=None to "
                                  "auto-detect or create ids")
        values = frame[id_col]
        return _id_values(values), id_col, f"ids from column {id_col!r}"
    candidates = [c for c in columns if frame[c].notna().all()]
    found = _find_column(candidates, _ID_CANDIDATES)
    if found is None and kind == "layer":
        codes = [c for c in candidates if _ONS_CODE.match(str(c))
                 and str(c).lower() not in ("postcode", "pcd")]
        # A polygon layer's lone code column is its id (duplicates are then reported);
        # points (address points carrying their OA's code, repeated) need unique codes.
        unique = [c for c in codes if frame[c].is_unique]
        if len(unique) == 1:
            found = unique[0]
        elif len(codes) == 1 and not points:
            found = codes[0]
    if found is not None:
        return _id_values(frame[found]), found, f"ids from column {found!r} (auto-detected)"
    ids = np.array([f"row_{i}" for i in range(len(frame))], dtype=object)
    return ids, None, "no id column found: ids row_<n> created from the input row (0-based)"


def _id_values(values: pd.Series) -> np.ndarray:
    """Ids as an array; integral floats (ids read with gaps) become ints; missing → None."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.floor(whole)).all():
            values = values.astype("Int64")
    out = values.to_numpy(dtype=object, copy=True)
    out[pd.isna(values).to_numpy()] = None
    return out


def _append(reasons: np.ndarray, where: np.ndarray, text: Any) -> None:
    """Append ``text`` (a string or an array aligned with ``where``) to ``reasons[where]``."""
    current = reasons[where]
    reasons[where] = np.where(current == "", text, current + "; " + text)


def _dedupe(ids: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Make ids unique as ``x``, ``x#2``, ``x#3``; return new ids and a reason per row."""
    new = ids.copy()
    reasons: dict[int, str] = {}
    dup = pd.Series(ids).duplicated().to_numpy()
    if not dup.any():
        return new, reasons
    taken = set(ids.tolist())
    for i in np.flatnonzero(dup):
        k = 2
        while f"{ids[i]}#{k}" in taken:
            k += 1
        new[i] = f"{ids[i]}#{k}"
        taken.add(new[i])
        reasons[int(i)] = f"duplicate id {ids[i]!r} renamed {new[i]!r}"
    return new, reasons


_RESERVED_DRAWING_COLUMNS = ("drawing_id", "feature_id", "source", "fid", "ogc_fid")


def _safe_columns(attrs: pd.DataFrame, *, kind: str, index_name: str,
                  name_col: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Rename attribute columns that would clash when written or combined.

    GeoPackage column names are case-insensitive and ``fid`` is its own key; a combined
    drawings layer adds ``drawing_id``, ``source`` and ``neighbourhood`` columns. An
    attribute already called so is kept under a ``_original`` name.
    """
    reserved = {index_name.lower(), "fid", "ogc_fid", "geometry", "geom"}
    if kind == "drawings":
        reserved |= set(_RESERVED_DRAWING_COLUMNS)
        if name_col is not None and name_col.lower() != "neighbourhood":
            reserved.add("neighbourhood")
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    # The name column keeps its name: it is claimed first.
    order = sorted(attrs.columns, key=lambda c: c != name_col)
    for col in order:
        low = str(col).lower()
        if col != name_col and (low in reserved or low in taken):
            k, new = 1, f"{col}_original"
            while new.lower() in taken or new.lower() in reserved or new in attrs.columns:
                k += 1
                new = f"{col}_original{k}"
            mapping[col] = new
            low = new.lower()
        taken.add(low)
    if not mapping:
        return attrs, []
    note = "columns renamed to avoid a clash: " + ", ".join(
        f"{a!r} → {b!r}" for a, b in mapping.items())
    return attrs.rename(columns=mapping), [note]


def _drawing_columns(id_col: str | None, name_col: str | None,
                     keep: Sequence[str] | None) -> Callable[[Sequence[str]], list[str]]:
    """Choose the columns of a drawings file worth reading: id, name, kept ones."""
    named = {c for c in (id_col, name_col, *(keep or ())) if c}

    def choose(fields: Sequence[str]) -> list[str]:
        return [f for f in fields if f in named or str(f).lower() in _ID_CANDIDATES]

    return choose


def _allowlist(attrs: pd.DataFrame, frame: pd.DataFrame, name_col: str | None,
               keep_columns: Sequence[str] | None, unread: Sequence[str] = ()
               ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Only the name column and the kept columns pass; personal text inside them is blanked.

    A list of personal column names can never be complete (survey tools export whatever
    their authors typed, in any language), so drawings keep what the analysis uses and
    what the user named, nothing else. Returns the attributes, ``{left-out column:
    reason}`` and notes.
    """
    keep = list(keep_columns or [])
    unknown = [c for c in keep if c not in frame.columns]
    if unknown:
        raise ColumnError(f"columns {format_ids(unknown)} not found; columns are "
                          f"{format_ids([*attrs.columns, *unread], 50)}",
                          argument="keep_columns", fix="pass existing column names")
    allowed = list(dict.fromkeys([*([name_col] if name_col else []), *keep]))
    attrs, left = allowlist_columns(attrs, [c for c in allowed if c in attrs.columns])
    notes: list[str] = []
    redacted = {}
    for col in allowed:
        if col in attrs.columns:
            attrs[col], found = redact_column(attrs[col])
            if found:
                redacted[col] = found
    if redacted:
        notes.append("personal data inside kept columns blanked out: " + "; ".join(
            f"{c}: {', '.join(f)}" for c, f in redacted.items()))
    return attrs, left, notes


def _normalise_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Make column names strings and name the geometry column ``geometry``, as steps expect."""
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns={c: str(c) for c in frame.columns if not isinstance(c, str)})
    if frame.geometry.name != "geometry":
        if "geometry" in frame.columns:
            frame = frame.drop(columns="geometry")
        frame = frame.rename_geometry("geometry")
    return frame


def _lenient_ids(raw_ids: np.ndarray, rows_missing: np.ndarray, fill: np.ndarray, *,
                 kind: str, keep_personal: bool, limits: Limits, reasons: np.ndarray,
                 notes: list[str]) -> np.ndarray:
    """Drawings (and non-strict layers) fill, pseudonymise, cut and de-duplicate ids."""
    raw_ids = pd.Series(raw_ids, dtype=object).astype(str).to_numpy(dtype=object)
    raw_ids[rows_missing] = fill
    _append(reasons, rows_missing, "missing id; assigned '" + fill + "'")
    if kind == "drawings" and not keep_personal:
        # Before de-duplication, so that "x#2" suffixes and reasons name pseudonyms.
        raw_ids, n_pseudo = pseudonymise_ids(raw_ids)
        if n_pseudo:
            notes.append(f"{n_pseudo} ids holding personal data (e-mail, phone, postcode, "
                         "NHS number) replaced by keyed pseudonyms 'pid-…'")
    cap = limits.max_label_length
    if cap is not None:
        long_ids = np.flatnonzero([len(v) > cap for v in raw_ids])
        for k in long_ids:
            raw_ids[k] = raw_ids[k][:cap]
        _append(reasons, long_ids, f"id longer than {cap} characters cut "
                                   f"(--max-label-length)")
    ids, dup_reasons = _dedupe(raw_ids)
    where = np.fromiter(dup_reasons, dtype=int, count=len(dup_reasons))
    _append(reasons, where, np.array(list(dup_reasons.values()), dtype=object))
    if dup_reasons:
        notes.append(f"{len(dup_reasons)} duplicate ids made unique with a '#<n>' suffix")
    return ids


def _strict_ids(raw_ids: np.ndarray, missing_id: np.ndarray, rows_missing: np.ndarray,
                fill: np.ndarray, used_id_col: str | None, problems: list[str]) -> np.ndarray:
    """Record a strict layer's missing and duplicate ids as problems; keep report ids unique."""
    ids = raw_ids.copy()
    ids[rows_missing] = fill
    if len(rows_missing):
        problems.append(f"{len(rows_missing)} features have no id in column "
                        f"{used_id_col!r} (input rows {format_ids(rows_missing)})")
    present = pd.Series(raw_ids[~missing_id])
    dups = present[present.duplicated(keep=False)].unique().tolist()
    if dups:
        problems.append(f"{len(dups)} duplicate ids in column {used_id_col!r}: "
                        f"{format_ids(dups)}")
    if len(rows_missing) or dups:
        ids, _ = _dedupe(ids)  # unique ids for the report only
    return ids


def _check_names(frame: gpd.GeoDataFrame, name_col: str, *, kind: str, limits: Limits,
                 unread: Sequence[str], reasons: np.ndarray) -> gpd.GeoDataFrame:
    """Note features without a name; cut drawings' over-long names to the label limit."""
    if name_col not in frame.columns:
        cols = [*(c for c in frame.columns if c != "geometry"), *unread]
        raise ColumnError(f"column {name_col!r} not found; columns are "
                          f"{format_ids(cols, 50)}", argument="name_col",
                          fix="pass one of the listed columns")
    names = frame[name_col]
    unnamed = (names.isna() | names.astype("string").str.strip().eq("")).to_numpy()
    _append(reasons, unnamed, "no neighbourhood name")
    cap = limits.max_label_length
    if cap is not None and kind == "drawings":
        text = names.astype("string")
        long_names = text.str.len().fillna(0).to_numpy() > cap
        if long_names.any():
            frame = frame.copy()
            frame[name_col] = text.where(~long_names, text.str.slice(0, cap)).astype(object)
            _append(reasons, long_names, f"neighbourhood name longer than {cap} "
                                         "characters cut (--max-label-length)")
    return frame


def _target_crs(to_crs: Any) -> Any:
    """Resolve the working CRS, which must be projected so that areas come out in square metres."""
    target = _crs.resolve_crs(settings.working_crs if to_crs is None else to_crs, "to_crs",
                              projected=True)
    if not target.is_projected:
        raise CRSError(f"working CRS {_crs.crs_label(target)} is not projected (areas would be "
                       "in square degrees)", argument="to_crs",
                       fix='pass a projected CRS in metres, e.g. "EPSG:27700"')
    return target


def _flat_geometries(frame: gpd.GeoDataFrame, *, limits: Limits, label: str,
                     notes: list[str]) -> np.ndarray:
    """Return the geometries as a 2-D object array, checked against the vertex limit."""
    geoms = np.asarray(frame.geometry.array, dtype=object).copy()
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
        notes.append("Z coordinates dropped")
    limits.check_vertices(int(shapely.get_num_coordinates(geoms).sum()), label)
    return geoms


def _source_crs(src_crs: Any, given: Any, bounds: np.ndarray, *, coords: CoordOptions,
                label: str, notes: list[str]) -> Any:
    """Return the CRS the coordinates are in: declared, assumed from ``crs=`` or overridden."""
    if src_crs is None:
        if given is None:
            looks, fix = _crs.suggest_crs(bounds[:, [1, 0, 3, 2]] if coords.swap_xy else bounds)
            raise CRSError(f"has no CRS ({looks})", argument=label, fix=fix)
        src_crs = given
        notes.append(f"no CRS in the source: assumed crs={_crs.crs_label(given)}")
    elif given is not None and not given.equals(src_crs):
        if not coords.override_crs:
            raise CRSError(
                f"declares CRS {_crs.crs_label(src_crs)} but crs={_crs.crs_label(given)} "
                "was given", argument="crs",
                fix="drop crs= to use the declared CRS, or pass "
                    "coords=CoordOptions(override_crs=True) if the declared CRS is wrong")
        notes.append(f"declared CRS {_crs.crs_label(src_crs)} overridden by crs="
                     f"{_crs.crs_label(given)}")
        src_crs = given
    return src_crs


class _Flagger:
    """Raise on, or reject (``outside="reject"``), features whose coordinates are wrong."""

    def __init__(self, *, n: int, reject: dict[int, str], outside: Outside, ids: np.ndarray,
                 label: str) -> None:
        self.n, self.reject, self.outside, self.ids, self.label = n, reject, outside, ids, label

    def __call__(self, mask: np.ndarray, what: str, fix: str) -> None:
        mask = mask & ~np.isin(np.arange(self.n), list(self.reject))
        if not mask.any():
            return
        if self.outside == "reject":
            for i in np.flatnonzero(mask):
                self.reject[int(i)] = what
            return
        raise CRSError(f"{mask.sum()} of {self.n} features have {what}", argument=self.label,
                       ids=self.ids[mask], fix=fix)


def _check_source_coordinates(bounds: np.ndarray, present: np.ndarray, src_crs: Any, *,
                              gb: bool, swap_xy: bool, flag: _Flagger) -> None:
    """Catch coordinates that do not fit the source CRS: swapped, out of range, degrees."""
    n_present = max(int(present.sum()), 1)
    if src_crs.is_geographic:
        swapped = _crs.looks_swapped_generic(bounds)
        if gb:
            swapped |= _crs.looks_swapped_gb(bounds)
        all_swapped = swapped.sum() == n_present
        flag(swapped, "coordinates that look like latitude/longitude in swapped order",
             ("pass coords=CoordOptions(swap_xy=True)" if all_swapped and not swap_xy else
              "correct these features' coordinates in the source, or pass "
              "coords=CoordOptions(outside='reject')"))
        flag(present & ~_crs.in_degree_range(bounds),
             f"coordinates out of range for {_crs.crs_label(src_crs)} (not degrees)",
             'if the coordinates are metres, pass crs="EPSG:27700", '
             "coords=CoordOptions(override_crs=True); or pass "
             "coords=CoordOptions(outside='reject') to reject these features")
    else:
        degrees = present & _crs.in_degree_range(bounds)
        flag(degrees, f"coordinates that look like degrees although the CRS is "
                      f"{_crs.crs_label(src_crs)}",
             'pass crs="EPSG:4326", coords=CoordOptions(override_crs=True) if the whole file '
             "is longitude/latitude")


def _reproject(geoms: np.ndarray, present: np.ndarray, src_crs: Any, target: Any, *,
               gb: bool, flag: _Flagger) -> np.ndarray:
    """Project to the working CRS, catching coordinates that fail or land outside GB."""
    if not src_crs.equals(target):
        series = gpd.GeoSeries(geoms, crs=src_crs).to_crs(target)
        geoms = np.asarray(series.array, dtype=object)
        projected = shapely.bounds(geoms)
        flag(present & ~np.isfinite(projected).all(axis=1),
             f"coordinates that cannot be projected to {_crs.crs_label(target)}",
             "check the CRS (crs=/coords=CoordOptions(to_crs=)), or pass "
             "coords=CoordOptions(outside='reject') to reject these features")
    if gb:
        outside_gb = _crs.outside_bounds(shapely.bounds(geoms), settings.gb_bounds_27700)
        flag(outside_gb, "coordinates outside Great Britain",
             "check the CRS (crs=/coords=CoordOptions(to_crs=)), or pass "
             "coords=CoordOptions(outside='reject') to reject these features; for data "
             "outside Great Britain pass coords=CoordOptions(to_crs=) a local projected CRS")
    return geoms


def _to_working_crs(frame: gpd.GeoDataFrame, crs: Any, coords: CoordOptions, *,
                    ids: np.ndarray, reject: dict[int, str], limits: Limits, label: str,
                    notes: list[str]) -> tuple[np.ndarray, Any, Any]:
    """Settle the source CRS, check the coordinates fit it and project to the working CRS."""
    src_crs = frame.crs
    given = _crs.resolve_crs(crs, "crs") if crs is not None else None
    target = _target_crs(coords.to_crs)
    geoms = _flat_geometries(frame, limits=limits, label=label, notes=notes)
    bounds = shapely.bounds(geoms)
    src_crs = _source_crs(src_crs, given, bounds, coords=coords, label=label, notes=notes)
    if coords.swap_xy:
        geoms = shapely.transform(geoms, lambda xy: xy[:, ::-1])
        bounds = shapely.bounds(geoms)
        notes.append("x and y swapped (swap_xy=True)")
    gb = _crs.is_bng(target)
    flag = _Flagger(n=len(frame), reject=reject, outside=coords.outside, ids=ids, label=label)
    present = ~np.isnan(bounds).any(axis=1)
    _check_source_coordinates(bounds, present, src_crs, gb=gb, swap_xy=coords.swap_xy,
                              flag=flag)
    geoms = _reproject(geoms, present, src_crs, target, gb=gb, flag=flag)
    return geoms, src_crs, target


def _validate_geometries(geoms: np.ndarray, reject: dict[int, str], *,
                         geom_type: Literal["polygon", "point"], repair: bool,
                         min_area_m2: float | None, reasons: np.ndarray
                         ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Validate every geometry; features rejected earlier keep the reason they were given."""
    for i in reject:
        geoms[i] = None
    if geom_type == "point":
        geoms_out, checked = validate_points(geoms)
    else:
        geoms_out, checked = validate_polygons(geoms, repair=repair, min_area_m2=min_area_m2)
    status = checked["status"].to_numpy(dtype=object)
    geo_reason = checked["reason"].to_numpy(dtype=object)
    for i, text in reject.items():
        geo_reason[i] = text
    said = geo_reason != ""
    _append(reasons, said, geo_reason[said])
    return geoms_out, checked, status


def _raise_layer_problems(rows: pd.DataFrame, problems: list[str], label: str) -> None:
    """Fail a strict layer once, listing every id problem and every rejected feature."""
    bad = rows[rows["status"] == "rejected"]
    problems += [f"{fid}: {r}" for fid, r in zip(bad["feature_id"], bad["reason"],
                                                 strict=True)]
    if problems:
        raise ValidationError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the layer",
            problems=problems, argument=label,
            fix="correct the source layer, pick the right id_col=, or pass strict=False "
                "to drop rejected features and make ids unique")


def _attributes(frame: gpd.GeoDataFrame, raw: _Raw, *, kind: str, used_id_col: str | None,
                name_col: str | None, keep_columns: Sequence[str] | None,
                keep_personal: bool, notes: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the attributes kept (drawings allowlisted, clashes renamed) and those left out."""
    dropped: dict[str, str] = {}
    attrs = frame.drop(columns=["geometry"] + ([used_id_col] if used_id_col else []))
    if kind == "drawings" and not keep_personal:
        attrs, dropped, more = _allowlist(attrs, frame, name_col, keep_columns, raw.unread)
        notes += more
        dropped.update({c: left_out_reason(c) for c in raw.unread if c not in dropped})
    attrs, renamed = _safe_columns(attrs, kind=kind, index_name=used_id_col or "feature_id",
                                   name_col=name_col)
    notes += renamed
    return attrs, dropped


def _prepare(
    raw: _Raw,
    *,
    kind: Literal["layer", "drawings"],
    label: str,
    id_col: str | None,
    name_col: str | None,
    crs: Any,
    coords: CoordOptions,
    repair: bool,
    min_area_m2: float | None,
    strict: bool,
    geom_type: Literal["polygon", "point"],
    keep_columns: Sequence[str] | None,
    keep_personal: bool,
    limits: Limits = DEFAULT_LIMITS,
) -> ReadResult:
    """Turn a raw read into the validated frame and its report, one named step after another."""
    frame = _normalise_frame(raw.frame)
    n = len(frame)
    limits.check_features(n, label)
    notes = list(raw.notes)
    problems: list[str] = []  # layer problems, raised together
    reasons = np.full(n, "", dtype=object)
    reject: dict[int, str] = dict(raw.row_problems)

    # --- ids
    raw_ids, used_id_col, id_note = _resolve_ids(frame, id_col, kind, label,
                                                 points=geom_type == "point", unread=raw.unread)
    notes.append(id_note)
    missing_id = pd.isna(raw_ids)
    rows_missing = np.flatnonzero(missing_id)
    fill = np.array([f"row_{i}" for i in rows_missing], dtype=object)
    if kind == "drawings" or not strict:
        ids = _lenient_ids(raw_ids, rows_missing, fill, kind=kind, keep_personal=keep_personal,
                           limits=limits, reasons=reasons, notes=notes)
    else:
        ids = _strict_ids(raw_ids, missing_id, rows_missing, fill, used_id_col, problems)

    # --- name column
    if name_col is not None:
        frame = _check_names(frame, name_col, kind=kind, limits=limits, unread=raw.unread,
                             reasons=reasons)

    # --- CRS, then validate
    geoms, src_crs, target = _to_working_crs(frame, crs, coords, ids=ids, reject=reject,
                                             limits=limits, label=label, notes=notes)
    geoms_out, checked, status = _validate_geometries(
        geoms, reject, geom_type=geom_type, repair=repair, min_area_m2=min_area_m2,
        reasons=reasons)

    rows = pd.DataFrame({
        "feature_id": ids.tolist(),
        "input_row": np.arange(n),
        "status": status,
        "reason": reasons,
        "area_in_m2": checked["area_in_m2"].to_numpy(),
        "area_out_m2": checked["area_out_m2"].to_numpy(),
    })
    if kind == "layer" and strict:
        _raise_layer_problems(rows, problems, label)

    # --- columns
    attrs, dropped = _attributes(frame, raw, kind=kind, used_id_col=used_id_col,
                                 name_col=name_col, keep_columns=keep_columns,
                                 keep_personal=keep_personal, notes=notes)

    live = status != "rejected"
    index = pd.Index(ids[live].tolist(), name=used_id_col or "feature_id")
    data = gpd.GeoDataFrame(
        attrs.iloc[np.flatnonzero(live)].set_axis(index, axis=0),
        geometry=gpd.GeoSeries(geoms_out[live], index=index, crs=target),
        crs=target,
    )
    counts = rows["status"].value_counts()
    report = ReadReport(
        source=raw.source,
        n_input=n,
        n_kept=int(counts.get("kept", 0)),
        n_repaired=int(counts.get("repaired", 0)),
        n_rejected=int(counts.get("rejected", 0)),
        rows=rows,
        dropped_columns=dropped,
        crs_in=_crs.crs_label(src_crs),
        crs_out=_crs.crs_label(target),
        id_col=used_id_col,
        notes=notes,
    ).check()
    data.attrs["source"] = raw.source
    return ReadResult(data, report)


# ----------------------------------------------------------------------------- public


def read_layer(
    src: gpd.GeoDataFrame | PathLike,
    *,
    layer: str | None = None,
    id_col: str | None = None,
    crs: Any = None,
    name: str | None = None,
    repair: bool = True,
    strict: bool = True,
    geom_type: Literal["polygon", "point"] = "polygon",
    coords: CoordOptions = DEFAULT_COORDS,
    csv: CsvColumns = DEFAULT_CSV,
    limits: Limits | None = None,
) -> ReadResult:
    """Read a statutory layer (LSOAs, wards, …) into the working CRS, validated.

    Parameters
    ----------
    src
        A GeoDataFrame (not modified) or the path of a GeoJSON, GeoPackage, Shapefile
        (``.shp``, ``.zip``, ``.shp.zip``), KML/KMZ, FlatGeobuf, GeoParquet or CSV file;
        ``.gz`` is read transparently.
    layer
        Layer of a multi-layer file (GeoPackage, zip, KML). A file with several spatial
        layers and no ``layer=`` is an :class:`~nbhd_geo.errors.InputError` listing them.
    id_col
        Column holding the feature codes. If None, a column named like ``id``/``fid``
        or a single ONS code column (``LSOA11CD``, ``WD13CD``, …) is used, else ids
        ``row_<n>`` are created.
    crs
        CRS to assume when the source has none (a CSV, a GeoJSON without CRS). Without
        it such a source is a :class:`~nbhd_geo.errors.CRSError`.
    name
        Label for the source in messages and the report (default: the file name).
    repair
        Repair invalid polygons with ``shapely.make_valid``; if False they are rejected.
    strict
        Raise one :class:`~nbhd_geo.errors.ValidationError` listing every duplicate or
        missing id and every rejected feature. If False, rejected features are dropped
        and duplicate ids made unique (``x#2``), as for drawings, and reported.
    geom_type
        ``"polygon"`` (default) or ``"point"`` (for point layers such as survey points).
    coords
        What to do with the coordinates (:class:`~nbhd_geo.io.options.CoordOptions`):
        the working CRS ``to_crs`` (default :data:`nbhd_geo.settings.working_crs`,
        EPSG:27700, projected), ``override_crs`` (let ``crs=`` replace a CRS the source
        declares), ``swap_xy`` (files written as latitude, longitude) and ``outside``
        (``"raise"``, the default: coordinates outside Great Britain, in swapped order
        or impossible for the CRS raise a CRSError naming the ids; ``"reject"``: such
        features are rejected and reported instead).
    csv
        CSV only (:class:`~nbhd_geo.io.options.CsvColumns`): the WKT column, or the x
        (longitude/easting) and y columns. By default ``wkt``/``geometry``/``geom``,
        then ``lon``/``lng``/``longitude``/``easting`` and ``lat``/``latitude``/
        ``northing`` are looked for.
    limits
        Resource limits (:class:`nbhd_geo.io.guards.Limits`: decompressed bytes,
        features, vertices, label length); default :data:`~nbhd_geo.io.guards.DEFAULT_LIMITS`.

    Returns
    -------
    ReadResult
        ``(data, report)``: the GeoDataFrame indexed by id (id column moved to the index)
        in the working CRS, and the :class:`ReadReport`.

    Raises
    ------
    InputError
        Missing file, unknown extension, unreadable file, ambiguous layer.
    CRSError
        No CRS and no ``crs=``; coordinates swapped, impossible or outside Great Britain.
    ColumnError
        ``id_col`` (or a CSV column argument) does not exist.
    ValidationError
        ``strict=True`` and ids are duplicated or missing, or features are rejected.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> lsoa = gpd.GeoDataFrame({"LSOA11CD": ["E01000001", "E01000002"]},
    ...     geometry=[shapely.box(-1.50, 53.68, -1.49, 53.69),
    ...               shapely.box(-1.49, 53.68, -1.48, 53.69)], crs="EPSG:4326")
    >>> data, report = read_layer(lsoa)
    >>> data.index.name, data.crs.to_epsg(), report.n_kept
    ('LSOA11CD', 27700, 2)
    >>> from nbhd_geo.errors import ValidationError
    >>> try:
    ...     read_layer(lsoa.assign(LSOA11CD="E01000001"))
    ... except ValidationError as err:
    ...     print(err.problems)
    ["1 duplicate ids in column 'LSOA11CD': 'E01000001'"]
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    raw = _read_any(src, layer, name, csv.geometry_col, csv.x_col, csv.y_col, id_col, limits)
    label = name or (Path(src).name if isinstance(src, str | Path) else "<GeoDataFrame>")
    return _prepare(
        raw, kind="layer", label=label, id_col=id_col, name_col=None, crs=crs, coords=coords,
        repair=repair, min_area_m2=None, strict=strict, geom_type=geom_type,
        keep_columns=None, keep_personal=True, limits=limits,
    )


def read_drawings(
    src: gpd.GeoDataFrame | PathLike,
    *,
    layer: str | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
    crs: Any = None,
    name: str | None = None,
    repair: bool = True,
    min_area_m2: float | None = None,
    privacy: PrivacyOptions = DEFAULT_PRIVACY,
    coords: CoordOptions = DEFAULT_COORDS,
    csv: CsvColumns = DEFAULT_CSV,
    limits: Limits | None = None,
) -> ReadResult:
    """Read resident-drawn neighbourhoods: repair, reject, de-duplicate and account for all.

    Every input feature ends up ``kept``, ``repaired`` or ``rejected``, by id, in the
    report. Null, empty, point and line features are rejected; GeometryCollections keep
    their polygonal parts; invalid polygons (bow-ties, …) are repaired with
    ``shapely.make_valid``; rings are oriented counter-clockwise; duplicate ids become
    ``x``, ``x#2``, …; features with an empty ``name_col`` are kept and reported as
    ``"no neighbourhood name"``.

    Privacy by allowlist: the data holds the id (as index), ``name_col``, the
    ``privacy.keep_columns`` and the geometry, nothing else; the report lists every other
    column, by name, as left out. Ids holding an e-mail address, phone number,
    postcode or NHS number become keyed pseudonyms ``pid-…``
    (:func:`nbhd_geo.io.privacy.pseudonym`); e-mail addresses, phone numbers,
    postcodes and NHS numbers inside the name and kept columns are blanked out.

    Parameters
    ----------
    src
        A GeoDataFrame (not modified) or a path, as for :func:`read_layer`.
    layer
        Layer of a multi-layer file; KML folders are all read and combined when omitted.
    id_col
        Drawing id column. If None, ``id``/``drawing_id``/``fid``/… is used when present
        and complete, else ids ``row_<n>`` (0-based input row) are created. Ids are
        strings.
    name_col
        Neighbourhood-name column: never dropped as personal; empty names are reported.
    crs
        CRS to assume when the source has none.
    name
        As for :func:`read_layer`.
    repair
        Repair invalid polygons; if False they are rejected.
    min_area_m2
        Reject drawings smaller than this (square metres), if given.
    privacy
        :class:`~nbhd_geo.io.options.PrivacyOptions`: ``keep_columns``, further columns
        to keep (they are checked: personal data inside their values is blanked out),
        or ``keep_personal=True`` to keep every column and every id as read,
        unredacted (the report then lists no left-out columns; outputs then carry
        whatever the source held).
    coords, csv, limits
        As for :func:`read_layer`. For drawings outside Great Britain pass a local
        projected CRS, e.g. ``coords=CoordOptions(to_crs="EPSG:32618")`` for New York.

    Returns
    -------
    ReadResult
        ``(data, report)``: kept and repaired drawings indexed by unique id (index name:
        the id column, or ``"feature_id"``), and the :class:`ReadReport`.

    Raises
    ------
    InputError, CRSError, ColumnError
        As for :func:`read_layer`.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"nbhd": ["Belle Isle", None]},
    ...     geometry=[shapely.box(-1.50, 53.68, -1.49, 53.69, ccw=False),
    ...               shapely.box(-1.49, 53.68, -1.48, 53.69)], crs="EPSG:4326")
    >>> data, report = read_drawings(gdf, name_col="nbhd")
    >>> for line in report.lines():
    ...     print(line)
    kept row_0: clockwise exterior ring reoriented
    kept row_1: no neighbourhood name
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    keep = list(privacy.keep_columns)
    # Columns the analysis does not use are never decoded (nor can they cost memory).
    wanted = None if privacy.keep_personal else _drawing_columns(id_col, name_col, keep)
    raw = _read_any(src, layer, name, csv.geometry_col, csv.x_col, csv.y_col, id_col, limits,
                    wanted)
    label = name or (Path(src).name if isinstance(src, str | Path) else "<GeoDataFrame>")
    return _prepare(
        raw, kind="drawings", label=label, id_col=id_col, name_col=name_col, crs=crs,
        coords=coords, repair=repair, min_area_m2=min_area_m2, strict=False,
        geom_type="polygon", keep_columns=keep, keep_personal=privacy.keep_personal,
        limits=limits,
    )
