"""PCN and practice footprints from GP registrations, and the deprivation of practice lists.

A Primary Care Network (PCN) is a group of GP practices, not an area. Its footprint is derived
from where its registered patients live (NHS Digital "Patients registered at a GP practice" by
LSOA), following METHODS.md section 6 and southwest-analytics/practice_pcn_catchment:

* the share of LSOA ``a`` held by organisation ``o`` is
  ``PCT(o, a) = registered(o, a) / sum over o' of registered(o', a)``, where the sum runs over
  every practice in the registrations (with or without a PCN);
* ``method="plurality"`` gives each LSOA to the organisation with the largest PCT, ties broken
  deterministically (larger total list, then code order; never at random);
* ``method="min_share"`` gives every ``(o, a)`` with ``PCT >= threshold`` (5 % by default);
  footprints then overlap and the overlaps are reported.

Nothing is dropped silently: practices without a PCN membership row are kept (each stands alone
in the competition for LSOAs) and listed in ``unassigned`` with their patients; registrations
whose LSOA is not in the layer are listed in ``unknown_lsoas``; ``accounting`` checks that every
registered patient is counted exactly once.

Vintage: registrations up to 2021 are published on LSOA 2011 codes. Pass them through
:func:`convert_registrations_vintage` (ONS LSOA 2011 -> 2021 lookup, population-weighted
splits) before pairing them with an LSOA 2021 layer or IoD2025.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import (
    ColumnError,
    InputError,
    NbhdGeoWarning,
    ValidationError,
    VintageError,
    format_ids,
)
from nbhd_geo.io.layers import prepare_polygons

__all__ = [
    "PCNFootprints",
    "pcn_footprints",
    "list_deprivation",
    "read_registrations",
    "read_pcn_membership",
    "convert_registrations_vintage",
    "IOD2019_N_LSOAS",
]

#: Number of LSOAs ranked by the English Indices of Deprivation 2019 (LSOA 2011).
IOD2019_N_LSOAS = 32_844

_PRACTICE_ALIASES = ("practice_code", "practice", "partner_organisation_code", "pcode",
                     "org_code", "code")
_LSOA_ALIASES = ("lsoa_code", "lsoa11_code", "lsoa11cd", "lsoa_2011_code", "lsoa21_code",
                 "lsoa21cd", "lsoa")
_COUNT_ALIASES = ("patients", "number_of_patients", "number_of_patients_all", "count",
                  "registered", "patient_count")
_PCN_CODE_ALIASES = ("pcn_code", "pcn_id")
_PCN_NAME_ALIASES = ("pcn_name", "pcn")
_END_DATE_ALIASES = ("practice_to_pcn_relationship_end_date", "end_date", "close_date")
_PRACTICE_RE = re.compile(r"^[A-Z][0-9]{5}$")
_LSOA_RE = re.compile(r"^[EW]0[12][0-9]{6}$")
_EPCN_SHEET = "PCN Core Partner Details"


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _find(columns: pd.Index, aliases: tuple[str, ...]) -> str | None:
    keys = {_key(c): c for c in columns}
    for alias in aliases:
        if alias in keys:
            return keys[alias]
    return None


def _require(frame: pd.DataFrame, cols: Mapping[str, str], argument: str) -> None:
    missing = [f"{role}={col!r}" for role, col in cols.items() if col not in frame.columns]
    if missing:
        raise ColumnError(
            f"missing column(s) {', '.join(missing)}; it has {list(map(str, frame.columns))}",
            argument=argument,
            fix="pass the matching column names as keyword arguments, or read the file with "
            "read_registrations / read_pcn_membership, which name the columns for you",
        )


def _codes(series: pd.Series, argument: str, col: str) -> pd.Series:
    bad = series.isna()
    if bad.any():
        raise ValidationError(
            f"{int(bad.sum())} rows have no value in column {col!r}",
            argument=argument,
            ids=series.index[bad],
            fix="fill or drop those rows (row labels listed)",
        )
    return series.astype(str).str.strip()


# --------------------------------------------------------------------------- normalising inputs


def _registrations(
    registrations: pd.DataFrame, practice_col: str, lsoa_col: str, count_col: str
) -> pd.DataFrame:
    if not isinstance(registrations, pd.DataFrame):
        raise InputError(
            f"expected a DataFrame, got {type(registrations).__name__}",
            argument="registrations",
            fix="read the file with nbhd_geo.pcn.footprints.read_registrations(path)",
        )
    _require(registrations, {"practice_col": practice_col, "lsoa_col": lsoa_col,
                             "count_col": count_col}, "registrations")
    counts = pd.to_numeric(registrations[count_col], errors="coerce")
    bad = counts.isna() | (counts < 0)
    if bad.any():
        raise ValidationError(
            f"column {count_col!r} has {int(bad.sum())} missing, non-numeric or negative counts",
            argument="registrations",
            ids=registrations.loc[bad, practice_col].astype(str).unique(),
            fix="patient counts must be numbers >= 0; fix or drop those rows",
        )
    out = pd.DataFrame({
        "practice": _codes(registrations[practice_col], "registrations", practice_col),
        "lsoa": _codes(registrations[lsoa_col], "registrations", lsoa_col),
        "patients": counts.to_numpy(),
    })
    return out.groupby(["practice", "lsoa"], as_index=False, sort=True)["patients"].sum()


def _membership(
    practice_to_pcn: pd.DataFrame | Mapping[str, str] | pd.Series | None,
    practice_col: str,
    pcn_col: str,
    pcn_name_col: str,
) -> pd.DataFrame:
    cols = ["practice", "pcn", "pcn_name"]
    if practice_to_pcn is None:
        return pd.DataFrame(columns=cols, dtype=object)
    if isinstance(practice_to_pcn, pd.Series | Mapping):
        items = pd.Series(practice_to_pcn)
        frame = pd.DataFrame({"practice": items.index.astype(str), "pcn": items.astype(str)})
    elif isinstance(practice_to_pcn, pd.DataFrame):
        _require(practice_to_pcn, {"practice_col": practice_col, "pcn_col": pcn_col},
                 "practice_to_pcn")
        frame = pd.DataFrame({
            "practice": _codes(practice_to_pcn[practice_col], "practice_to_pcn", practice_col),
            "pcn": _codes(practice_to_pcn[pcn_col], "practice_to_pcn", pcn_col),
        })
        if pcn_name_col in practice_to_pcn.columns:
            frame["pcn_name"] = practice_to_pcn[pcn_name_col].to_numpy()
    else:
        raise InputError(
            f"expected a DataFrame, Series or dict, got {type(practice_to_pcn).__name__}",
            argument="practice_to_pcn",
            fix="read the file with nbhd_geo.pcn.footprints.read_pcn_membership(path)",
        )
    if "pcn_name" not in frame:
        frame["pcn_name"] = frame["pcn"]
    frame = frame.drop_duplicates(["practice", "pcn"]).reset_index(drop=True)
    dup = frame["practice"].duplicated(keep=False)
    if dup.any():
        raise ValidationError(
            "practices belong to more than one PCN",
            argument="practice_to_pcn",
            ids=sorted(frame.loc[dup, "practice"].unique()),
            fix="keep one current relationship per practice (drop rows with an end date)",
        )
    return frame[cols]


def _org_table(regs: pd.DataFrame, members: pd.DataFrame, level: str) -> pd.DataFrame:
    """Add ``org`` and ``has_pcn`` to normalised registrations."""
    pcn_of = members.set_index("practice")["pcn"]
    out = regs.copy()
    out["pcn"] = out["practice"].map(pcn_of)
    out["has_pcn"] = out["pcn"].notna()
    if level == "pcn":
        out["org"] = out["pcn"].where(out["has_pcn"], out["practice"])
        clash = sorted(set(out.loc[~out["has_pcn"], "practice"]) & set(members["pcn"]))
        if clash:
            raise ValidationError(
                "practice codes equal PCN codes, so they cannot stand alone as organisations",
                argument="practice_to_pcn",
                ids=clash,
                fix="give those practices membership rows, or rename the clashing PCN codes",
            )
    else:
        out["org"] = out["practice"]
    return out


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class PCNFootprints:
    """Footprints of PCNs (or practices) derived from GP registrations.

    Attributes
    ----------
    footprints
        One row per organisation (every PCN in the membership at ``level="pcn"``; every
        practice at ``level="practice"``), EPSG:27700 MultiPolygon (``None`` if it holds no
        LSOA): ``org``, ``pcn_name``, ``patients`` (whole list), ``patients_in_footprint``,
        ``patients_unknown_lsoa``, ``residents`` (all registered residents of the footprint's
        LSOAs), ``n_lsoas``, ``leakage``, ``capture``, ``area_km2`` (and ``pcn_code`` at
        practice level).
    assignments
        One row per (LSOA, organisation) with patients > 0 and the LSOA in the layer:
        ``lsoa``, ``org``, ``has_pcn``, ``patients``, ``residents``, ``pct``, ``assigned``.
    overlaps
        LSOAs in two or more footprints (``min_share`` only; empty for plurality): ``lsoa``,
        ``n_orgs``, ``orgs`` (";"-joined), ``residents``, ``patients_claimed``, ``area_km2``.
    unassigned
        Practices with no membership row: ``practice``, ``patients``, ``patients_in_layer``,
        ``patients_unknown_lsoa``, ``n_lsoas``, ``n_lsoas_assigned`` (LSOAs the practice won
        standing alone, so held by no PCN footprint at ``level="pcn"``).
    unknown_lsoas
        Registration LSOA codes absent from the layer (e.g. ``NO2011``, other vintages):
        ``lsoa``, ``patients``, ``n_practices``.
    accounting
        ``total = in_footprint_orgs + no_pcn + unknown_lsoa`` and
        ``in_footprint_orgs = within_footprint + leaked``.
    method, level, threshold
        The options used.
    """

    footprints: gpd.GeoDataFrame
    assignments: pd.DataFrame
    overlaps: gpd.GeoDataFrame
    unassigned: pd.DataFrame
    unknown_lsoas: pd.DataFrame
    accounting: pd.Series
    method: str
    level: str
    threshold: float | None = field(default=None)

    def to_frame(self) -> pd.DataFrame:
        """Footprint table without geometry (for CSV or a report).

        Returns
        -------
        pandas.DataFrame
        """
        return pd.DataFrame(self.footprints.drop(columns="geometry"))

    def to_gpkg(self, path: str | PathLike[str], *, prefix: str | None = None) -> list[str]:
        """Write footprints (and overlaps, if any) as GeoPackage layers in EPSG:27700.

        Parameters
        ----------
        path
            GeoPackage to create or add layers to (existing layers of the same name are
            replaced).
        prefix
            Layer name prefix; defaults to ``f"{level}_{method}"``.

        Returns
        -------
        list of str
            The layer names written.
        """
        prefix = prefix or f"{self.level}_{self.method}"
        written = [f"{prefix}_footprints"]
        self.footprints.to_file(path, layer=written[0], driver="GPKG", engine="pyogrio")
        if len(self.overlaps):
            written.append(f"{prefix}_overlaps")
            self.overlaps.to_file(path, layer=written[1], driver="GPKG", engine="pyogrio")
        return written


# --------------------------------------------------------------------------- footprints


def _claims(known: pd.DataFrame, org_total: pd.Series, method: str,
            threshold: float, min_residents: float) -> pd.DataFrame:
    share = known.groupby(["lsoa", "org"], as_index=False, sort=True).agg(
        has_pcn=("has_pcn", "first"), patients=("patients", "sum"))
    share = share[share["patients"] > 0].reset_index(drop=True)
    share["residents"] = share.groupby("lsoa")["patients"].transform("sum")
    share["pct"] = share["patients"] / share["residents"]
    if method == "plurality":
        # Compare counts, not float shares: within an LSOA they rank identically and exactly.
        order = share.assign(_total=share["org"].map(org_total)).sort_values(
            ["lsoa", "patients", "_total", "org"], ascending=[True, False, False, True],
            kind="mergesort")
        share["assigned"] = False
        share.loc[order.drop_duplicates("lsoa").index, "assigned"] = True
    else:
        share["assigned"] = share["pct"] >= threshold
    share["assigned"] &= share["residents"] >= min_residents
    return share[["lsoa", "org", "has_pcn", "patients", "residents", "pct", "assigned"]]


def _multi(geom: object) -> object:
    if geom is None or shapely.is_empty(geom):
        return None
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) == 3]
    return shapely.multipolygons(polys)


def pcn_footprints(
    registrations: pd.DataFrame,
    practice_to_pcn: pd.DataFrame | Mapping[str, str] | pd.Series | None,
    lsoa_layer: gpd.GeoDataFrame,
    *,
    method: Literal["plurality", "min_share"] = "plurality",
    threshold: float = 0.05,
    level: Literal["pcn", "practice"] = "pcn",
    min_residents: float = 0,
    practice_col: str = "practice_code",
    lsoa_col: str = "lsoa_code",
    count_col: str = "patients",
    pcn_col: str = "pcn_code",
    pcn_name_col: str = "pcn_name",
    lsoa_id: str = "lsoa_code",
    crs: object | None = None,
) -> PCNFootprints:
    """Derive PCN (or practice) footprints from where registered patients live.

    Parameters
    ----------
    registrations
        Long table of patients registered at each practice by LSOA (one row per practice and
        LSOA; repeated pairs are summed). See :func:`read_registrations`.
    practice_to_pcn
        Membership table (``practice_col``, ``pcn_col``, optional ``pcn_name_col``) or a
        mapping practice -> PCN. May be ``None`` at ``level="practice"``.
    lsoa_layer
        LSOA polygons of the same vintage as the registrations, ids in ``lsoa_id``.
    method
        ``"plurality"`` (each LSOA to its largest share) or ``"min_share"`` (every share of
        at least ``threshold``).
    threshold
        Minimum share for ``method="min_share"``, in (0, 1].
    level
        ``"pcn"`` (practices pooled by PCN) or ``"practice"``.
    min_residents
        LSOAs with fewer registered residents than this in ``registrations`` go to no
        organisation (``assigned`` False throughout). Use it when the registrations are an
        extract (e.g. one area's practices only): outside the area an LSOA's few rows would
        make a share of 100 %. 0 (default) keeps every LSOA.
    practice_col, lsoa_col, count_col
        Columns of ``registrations``.
    pcn_col, pcn_name_col
        Columns of ``practice_to_pcn`` (the name column is optional).
    lsoa_id
        Id column of ``lsoa_layer``.
    crs
        Projected working CRS for the footprints; defaults to EPSG:27700.

    Returns
    -------
    PCNFootprints

    Raises
    ------
    ColumnError
        A named column is missing.
    ValidationError
        Bad counts, missing codes, a practice in two PCNs, or an invalid LSOA layer.
    VintageError
        No registration LSOA code is in the layer.

    Notes
    -----
    ``PCT(o, a) = registered(o, a) / sum_o' registered(o', a)`` over all practices registering
    residents of ``a``, including practices with no PCN row (each of those stands alone as its
    own organisation, so it can win an LSOA that then belongs to no PCN footprint).

    Plurality ties (equal counts in an LSOA) go to the organisation with the larger total
    registered list, then to the smaller code in string order; the result never depends on
    input order or chance (the reference R code breaks ties with an unseeded random draw).

    ``leakage = 1 - patients_in_footprint / patients`` (patients in unknown LSOAs count as
    outside the footprint); ``capture = patients_in_footprint / residents``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box
    >>> lsoa = gpd.GeoDataFrame({"lsoa_code": ["A", "B"]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=27700)
    >>> regs = pd.DataFrame({"practice_code": ["P1", "P1", "P2"],
    ...     "lsoa_code": ["A", "B", "B"], "patients": [90, 10, 30]})
    >>> fp = pcn_footprints(regs, {"P1": "N1", "P2": "N2"}, lsoa)
    >>> fp.to_frame()[["org", "n_lsoas", "patients", "leakage", "capture"]]
      org  n_lsoas  patients  leakage  capture
    0  N1        1       100      0.1     1.00
    1  N2        1        30      0.0     0.75
    """
    if method not in ("plurality", "min_share"):
        raise InputError(f"unknown method {method!r}", argument="method",
                         fix="use 'plurality' or 'min_share'")
    if level not in ("pcn", "practice"):
        raise InputError(f"unknown level {level!r}", argument="level",
                         fix="use 'pcn' or 'practice'")
    if not 0 < threshold <= 1:
        raise InputError(f"threshold {threshold!r} is not a share in (0, 1]",
                         argument="threshold", fix="pass e.g. threshold=0.05 for 5 %")
    if level == "pcn" and practice_to_pcn is None:
        raise InputError("level='pcn' needs a membership table", argument="practice_to_pcn",
                         fix="pass read_pcn_membership(path), or use level='practice'")
    regs = _registrations(registrations, practice_col, lsoa_col, count_col)
    members = _membership(practice_to_pcn, practice_col, pcn_col, pcn_name_col)
    layer = prepare_polygons(lsoa_layer, argument="lsoa_layer", id_col=lsoa_id, crs=crs)
    layer_ids = pd.Index(pd.Series(layer.ids).astype(str).str.strip())

    regs = _org_table(regs, members, level)
    regs["in_layer"] = regs["lsoa"].isin(layer_ids)
    total = float(regs["patients"].sum())
    unknown_total = float(regs.loc[~regs["in_layer"], "patients"].sum())
    if total > 0 and not regs["in_layer"].any():
        raise VintageError(
            "none of the registration LSOA codes are in the layer",
            argument="lsoa_layer",
            ids=sorted(regs["lsoa"].unique())[:10],
            fix=f"check lsoa_id={lsoa_id!r} names the code column and that both use the same "
            "LSOA vintage (convert with nbhd_geo.pcn.footprints.convert_registrations_vintage)",
        )
    if total > 0 and unknown_total / total > 0.5:
        warnings.warn(
            f"{unknown_total / total:.0%} of registered patients live in LSOAs absent from "
            "lsoa_layer (listed in .unknown_lsoas); check the layer's extent and LSOA vintage",
            NbhdGeoWarning, stacklevel=2)

    org_total = regs.groupby("org")["patients"].sum()
    known = regs[regs["in_layer"]]
    claims = _claims(known, org_total, method, threshold, min_residents)

    # Organisations that get a footprint row.
    if level == "pcn":
        orgs = pd.Index(sorted(members["pcn"].unique()), name="org")
        names = members.drop_duplicates("pcn").set_index("pcn")["pcn_name"]
    else:
        orgs = pd.Index(sorted(set(regs["practice"]) | set(members["practice"])), name="org")
        names = None
    held = claims[claims["assigned"] & claims["org"].isin(orgs)]
    residents = claims.drop_duplicates("lsoa").set_index("lsoa")["residents"]
    geom_of = pd.Series(layer.geoms, index=layer_ids)

    fp = pd.DataFrame(index=orgs)
    if level == "practice":
        fp["pcn_code"] = orgs.map(members.set_index("practice")["pcn"])
        fp["pcn_name"] = orgs.map(members.set_index("practice")["pcn_name"])
    else:
        fp["pcn_name"] = orgs.map(names)
    fp["patients"] = org_total.reindex(orgs, fill_value=0)
    fp["patients_in_footprint"] = held.groupby("org")["patients"].sum().reindex(
        orgs, fill_value=0)
    fp["patients_unknown_lsoa"] = regs[~regs["in_layer"]].groupby("org")["patients"].sum(
        ).reindex(orgs, fill_value=0)
    fp["residents"] = held.groupby("org")["lsoa"].agg(
        lambda s: residents.loc[s].sum()).reindex(orgs, fill_value=0)
    fp["n_lsoas"] = held.groupby("org").size().reindex(orgs, fill_value=0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        fp["leakage"] = 1 - fp["patients_in_footprint"] / fp["patients"].where(
            fp["patients"] > 0)
        fp["capture"] = fp["patients_in_footprint"] / fp["residents"].where(
            fp["residents"] > 0)
    lsoas_of = held.groupby("org")["lsoa"].agg(list)
    geoms = [_multi(shapely.union_all(geom_of.loc[lsoas_of[o]].to_numpy()))
             if o in lsoas_of.index else None for o in orgs]
    fp = gpd.GeoDataFrame(fp.reset_index(), geometry=geoms, crs=layer.frame.crs)
    fp["area_km2"] = fp.geometry.area.fillna(0) / 1e6
    fp = fp[[c for c in fp.columns if c != "geometry"] + ["geometry"]]

    # Overlaps (min_share): LSOAs in two or more footprints.
    multi = held.groupby("lsoa").filter(lambda g: len(g) > 1)
    ov = multi.groupby("lsoa", sort=True).agg(
        n_orgs=("org", "size"), orgs=("org", lambda s: ";".join(sorted(s))),
        patients_claimed=("patients", "sum")).reset_index()
    ov.insert(3, "residents", ov["lsoa"].map(residents).astype(float))
    ov_geoms = geom_of.loc[ov["lsoa"]].to_numpy() if len(ov) else []
    overlaps = gpd.GeoDataFrame(ov, geometry=list(ov_geoms), crs=layer.frame.crs)
    overlaps["area_km2"] = overlaps.geometry.area / 1e6
    overlaps = overlaps[[c for c in overlaps.columns if c != "geometry"] + ["geometry"]]

    # Practices with no membership row (always reported; nothing is dropped).
    lone = regs[~regs["has_pcn"]] if len(members) else regs.iloc[0:0]
    lone = lone.assign(in_layer_patients=lone["patients"].where(lone["in_layer"], 0))
    won = claims[claims["assigned"]].groupby("org").size()
    unassigned = lone.groupby("practice", sort=True).agg(
        patients=("patients", "sum"), patients_in_layer=("in_layer_patients", "sum"),
        n_lsoas=("in_layer", "sum")).reset_index()
    unassigned["patients_unknown_lsoa"] = unassigned["patients"] - unassigned[
        "patients_in_layer"]
    unassigned["n_lsoas"] = unassigned["n_lsoas"].astype(int)
    unassigned["n_lsoas_assigned"] = unassigned["practice"].map(won).fillna(0).astype(int)
    unassigned = unassigned[["practice", "patients", "patients_in_layer",
                             "patients_unknown_lsoa", "n_lsoas", "n_lsoas_assigned"]]

    unknown = regs[~regs["in_layer"]].groupby("lsoa", sort=True).agg(
        patients=("patients", "sum"), n_practices=("practice", "nunique")).reset_index()

    in_orgs = float(regs.loc[regs["in_layer"] & regs["org"].isin(orgs), "patients"].sum())
    within = float(fp["patients_in_footprint"].sum())
    accounting = pd.Series({
        "total": total,
        "in_footprint_orgs": in_orgs,
        "no_pcn": float(regs.loc[regs["in_layer"] & ~regs["org"].isin(orgs),
                                 "patients"].sum()),
        "unknown_lsoa": unknown_total,
        "within_footprint": within,
        "leaked": in_orgs - within,
    }, name="patients")
    return PCNFootprints(
        footprints=fp,
        assignments=claims.reset_index(drop=True),
        overlaps=overlaps,
        unassigned=unassigned,
        unknown_lsoas=unknown,
        accounting=accounting,
        method=method,
        level=level,
        threshold=threshold if method == "min_share" else None,
    )


# --------------------------------------------------------------------------- readers


def _pick(frame: pd.DataFrame, given: str | None, aliases: tuple[str, ...]) -> str | None:
    if given is not None:
        return given if given in frame.columns else None
    return _find(frame.columns, aliases)


def read_registrations(
    path: str | PathLike[str],
    *,
    practice_col: str | None = None,
    lsoa_col: str | None = None,
    count_col: str | None = None,
    sex: str = "ALL",
) -> pd.DataFrame:
    """Read patients registered at GP practices by LSOA into a long table.

    Parameters
    ----------
    path
        CSV (optionally ``.gz``). Long layout: one row per practice and LSOA (NHS Digital
        ``PRACTICE_CODE, LSOA_CODE, SEX, Number of Patients``; R exports with a blank first
        header such as Pennine Lancashire's ``lsoapops.csv`` are fine). Wide layout: an LSOA
        column and one column per practice code (``A81001``...), or a practice column and one
        column per LSOA code (``E01000001``...).
    practice_col, lsoa_col, count_col
        Column names; found by common names when ``None``.
    sex
        When a ``SEX`` column is present, keep rows with this value if any exist; otherwise
        sum over sexes.

    Returns
    -------
    pandas.DataFrame
        Columns ``practice_code``, ``lsoa_code``, ``patients``; repeated pairs summed, rows
        with zero patients kept out.

    Raises
    ------
    ColumnError
        The practice, LSOA or count column cannot be found (all columns are listed).

    Examples
    --------
    >>> from nbhd_geo.datasets import get_path
    >>> read_registrations(get_path("registrations")).columns.tolist()
    ['practice_code', 'lsoa_code', 'patients']
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", argument=str(path), fix="check the path")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raw = raw.loc[:, [c for c in raw.columns if not str(c).startswith("Unnamed: ")]]
    p_col = _pick(raw, practice_col, _PRACTICE_ALIASES)
    l_col = _pick(raw, lsoa_col, _LSOA_ALIASES)
    c_col = _pick(raw, count_col, _COUNT_ALIASES)
    if c_col is None and (p_col is None) != (l_col is None):
        # Wide layout: the other codes are column names.
        pattern = _PRACTICE_RE if p_col is None else _LSOA_RE
        wide = [c for c in raw.columns if pattern.match(str(c).strip())]
        if wide:
            row_col = l_col if p_col is None else p_col
            long = raw.melt(id_vars=[row_col], value_vars=wide, var_name="_code",
                            value_name="patients")
            p_col, l_col = (("_code", row_col) if p_col is None else (row_col, "_code"))
            raw, c_col = long, "patients"
    missing = [role for role, col in (("practice_col", p_col), ("lsoa_col", l_col),
                                      ("count_col", c_col)) if col is None]
    if missing:
        raise ColumnError(
            f"cannot find the {', '.join(missing)} column(s) among {list(map(str, raw.columns))}",
            argument=str(path),
            fix="pass " + ", ".join(f"{m}='...'" for m in missing),
        )
    sex_col = _find(raw.columns, ("sex", "gender"))
    if sex_col is not None and sex_col not in (p_col, l_col, c_col):
        values = raw[sex_col].astype(str).str.strip().str.upper()
        if (values == sex.upper()).any():
            raw = raw[values == sex.upper()]
    counts = pd.to_numeric(raw[c_col].astype(str).str.replace(",", "").str.strip(),
                           errors="coerce").fillna(0)
    frame = pd.DataFrame({"practice_code": raw[p_col].astype(str).str.strip(),
                          "lsoa_code": raw[l_col].astype(str).str.strip(),
                          "patients": counts.to_numpy()})
    frame = frame.groupby(["practice_code", "lsoa_code"], as_index=False, sort=True)[
        "patients"].sum()
    frame = frame[frame["patients"] > 0].reset_index(drop=True)
    if (frame["patients"] == frame["patients"].round()).all():
        frame["patients"] = frame["patients"].astype("int64")
    return frame


def read_pcn_membership(
    path: str | PathLike[str],
    *,
    sheet: str | None = None,
    practice_col: str | None = None,
    pcn_col: str | None = None,
    pcn_name_col: str | None = None,
    current_only: bool = True,
) -> pd.DataFrame:
    """Read a practice -> PCN membership table.

    Parameters
    ----------
    path
        NHS Digital ePCN workbook (``.xlsx``; sheet "PCN Core Partner Details") or a CSV such
        as ``practice_code, pcn_code, pcn_name`` or Pennine Lancashire's
        ``PCode, Practice Name, PCN, CCG``.
    sheet
        Worksheet; defaults to "PCN Core Partner Details" when present, else the first.
    practice_col, pcn_col, pcn_name_col
        Column names; found by common names when ``None``.
    current_only
        Drop relationships that have an end date (ePCN "Practice to PCN Relationship End
        Date").

    Returns
    -------
    pandas.DataFrame
        Columns ``practice_code``, ``pcn_code``, ``pcn_name``. When the file has PCN names but
        no codes (``PCNdefs.csv``), the name is used as the code.

    Raises
    ------
    ColumnError
        The practice or PCN column cannot be found.

    Examples
    --------
    >>> from nbhd_geo.datasets import get_path
    >>> members = read_pcn_membership(get_path("pcn_membership"))
    >>> members.columns.tolist(), members["pcn_code"].nunique()
    (['practice_code', 'pcn_code', 'pcn_name'], 3)
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", argument=str(path), fix="check the path")
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        with pd.ExcelFile(path) as book:
            names = book.sheet_names
            if sheet is None:
                sheet = _EPCN_SHEET if _EPCN_SHEET in names else names[0]
            if sheet not in names:
                raise InputError(f"has no sheet {sheet!r}", argument=str(path),
                                 fix=f"choose one of {names}")
            raw = pd.read_excel(book, sheet_name=sheet, dtype=str)
    else:
        raw = pd.read_csv(path, dtype=str)
    raw = raw.loc[:, [c for c in raw.columns if not str(c).startswith("Unnamed: ")]]
    p_col = _pick(raw, practice_col, _PRACTICE_ALIASES)
    c_col = _pick(raw, pcn_col, _PCN_CODE_ALIASES)
    n_col = _pick(raw, pcn_name_col, _PCN_NAME_ALIASES)
    if p_col is None or (c_col is None and n_col is None):
        missing = (["practice_col"] if p_col is None else []) + (
            ["pcn_col or pcn_name_col"] if c_col is None and n_col is None else [])
        raise ColumnError(
            f"cannot find the {', '.join(missing)} column(s) among {list(map(str, raw.columns))}",
            argument=str(path),
            fix="pass " + ", ".join(f"{m}='...'" for m in missing)
            + (f" (or sheet=...; read sheet {sheet!r})" if sheet else ""),
        )
    end_col = _find(raw.columns, _END_DATE_ALIASES)
    if current_only and end_col is not None:
        raw = raw[raw[end_col].isna() | (raw[end_col].astype(str).str.strip() == "")]
    code = raw[c_col if c_col is not None else n_col].astype(str).str.strip()
    name = raw[n_col].astype(str).str.strip() if n_col is not None else code
    frame = pd.DataFrame({"practice_code": raw[p_col].astype(str).str.strip(),
                          "pcn_code": code, "pcn_name": name})
    frame = frame[raw[p_col].notna().to_numpy()]
    return frame.drop_duplicates().sort_values(["pcn_code", "practice_code"]).reset_index(
        drop=True)


# --------------------------------------------------------------------------- deprivation


def list_deprivation(
    registrations: pd.DataFrame,
    practice_to_pcn: pd.DataFrame | Mapping[str, str] | pd.Series | None,
    imd: pd.DataFrame,
    *,
    level: Literal["practice", "pcn"] = "practice",
    n_lsoas: int = IOD2019_N_LSOAS,
    core20: Literal["rank", "decile"] | None = None,
    practice_col: str = "practice_code",
    lsoa_col: str = "lsoa_code",
    count_col: str = "patients",
    pcn_col: str = "pcn_code",
    pcn_name_col: str = "pcn_name",
    imd_lsoa_col: str = "lsoa_code",
    score_col: str = "score",
    rank_col: str = "rank",
    decile_col: str = "decile",
) -> pd.DataFrame:
    """Registration-weighted deprivation of practice (or PCN) lists.

    Parameters
    ----------
    registrations
        Long table of patients by practice and LSOA (see :func:`read_registrations`).
    practice_to_pcn
        Membership (needed for ``level="pcn"``; optional for practices, where it adds the PCN).
    imd
        One row per LSOA with ``imd_lsoa_col`` and any of ``score_col``, ``rank_col`` (1 = most
        deprived nationally) and ``decile_col``; same vintage as the registrations.
    level
        ``"practice"`` or ``"pcn"``. Practices with no membership row stay as their own rows
        (``has_pcn`` False) at ``level="pcn"``.
    n_lsoas
        Number of LSOAs nationally ranked (32,844 for IoD2019; 33,755 for IoD2025).
    core20
        ``"rank"``: Core20 LSOAs have ``rank <= 0.2 * n_lsoas``; ``"decile"``: deciles 1-2
        (national quintile 1). ``None`` uses rank when present, else decile. For IoD2019 both
        select the same 6,568 LSOAs.
    practice_col, lsoa_col, count_col, pcn_col, pcn_name_col
        Columns of ``registrations`` and ``practice_to_pcn``.
    imd_lsoa_col, score_col, rank_col, decile_col
        Columns of ``imd``; the measure columns are optional, at least one must be present.

    Returns
    -------
    pandas.DataFrame
        One row per organisation: ``org``, ``pcn_name``, ``has_pcn``, ``patients``,
        ``patients_with_imd``, ``patients_no_imd``, ``imd_score`` (NaN without a score
        column), ``mean_rank``, ``mean_decile``, ``core20_patients``, ``core20_share``.

    Notes
    -----
    The OHID Fingertips practice score is the registration-weighted mean of LSOA IMD scores,
    ``sum_a n(o, a) * score(a) / sum_a n(o, a)``, over patients whose LSOA has an IMD value.
    Where the IMD table has no score (e.g. IoD2019 File 1 holds only ranks and deciles), only
    the rank-based measures are filled: the weighted mean rank and decile are summaries of a
    patient's LSOA position, not a rank of the list itself. ``core20_share`` is
    ``core20_patients / patients_with_imd``. Patients whose LSOA has no IMD value (``NO2011``,
    Welsh LSOAs, another vintage) are counted in ``patients_no_imd``, never dropped silently.

    Examples
    --------
    >>> import pandas as pd
    >>> regs = pd.DataFrame({"practice_code": ["P1", "P1", "P1"],
    ...     "lsoa_code": ["A", "B", "NO2011"], "patients": [30, 10, 5]})
    >>> imd = pd.DataFrame({"lsoa_code": ["A", "B"], "score": [40.0, 8.0],
    ...     "rank": [100, 20000], "decile": [1, 7]})
    >>> out = list_deprivation(regs, None, imd)
    >>> out[["org", "patients_no_imd", "imd_score", "core20_share"]]
      org  patients_no_imd  imd_score  core20_share
    0  P1                5       32.0          0.75
    """
    if level not in ("pcn", "practice"):
        raise InputError(f"unknown level {level!r}", argument="level",
                         fix="use 'pcn' or 'practice'")
    if level == "pcn" and practice_to_pcn is None:
        raise InputError("level='pcn' needs a membership table", argument="practice_to_pcn",
                         fix="pass read_pcn_membership(path), or use level='practice'")
    if not isinstance(imd, pd.DataFrame):
        raise InputError(f"expected a DataFrame, got {type(imd).__name__}", argument="imd",
                         fix="pass a table with columns lsoa_code, score, rank, decile")
    _require(imd, {"imd_lsoa_col": imd_lsoa_col}, "imd")
    present = {k: c for k, c in (("score", score_col), ("rank", rank_col),
                                 ("decile", decile_col)) if c in imd.columns}
    if not present:
        raise ColumnError(
            f"has none of the measure columns {score_col!r}, {rank_col!r}, {decile_col!r}; "
            f"it has {list(map(str, imd.columns))}",
            argument="imd", fix="pass score_col=, rank_col= or decile_col=")
    if core20 is None:
        core20 = "rank" if "rank" in present else "decile" if "decile" in present else None
    elif core20 not in present:
        raise ColumnError(f"core20={core20!r} needs the {core20} column", argument="imd",
                          fix=f"pass {core20}_col=, or core20=None")
    table = pd.DataFrame({"lsoa": _codes(imd[imd_lsoa_col], "imd", imd_lsoa_col)})
    for key, col in present.items():
        table[key] = pd.to_numeric(imd[col].astype(str).str.replace(",", "").str.strip(),
                                   errors="coerce").to_numpy()
    dup = table["lsoa"].duplicated(keep=False)
    if dup.any():
        raise ValidationError("LSOA codes repeat", argument="imd",
                              ids=sorted(table.loc[dup, "lsoa"].unique()),
                              fix="keep one row per LSOA (one vintage, one index)")
    table = table.set_index("lsoa")

    regs = _registrations(registrations, practice_col, lsoa_col, count_col)
    members = _membership(practice_to_pcn, practice_col, pcn_col, pcn_name_col)
    regs = _org_table(regs, members, level)
    regs = regs.join(table, on="lsoa")
    measure = next(iter(present))
    regs["w"] = regs["patients"].where(regs[measure].notna(), 0)
    if core20 == "rank":
        regs["core20"] = regs["rank"] <= 0.2 * n_lsoas
    elif core20 == "decile":
        regs["core20"] = regs["decile"] <= 2
    else:
        regs["core20"] = False
    for key in ("score", "rank", "decile"):
        regs[f"wx_{key}"] = regs["w"] * regs[key] if key in present else np.nan
    regs["core20_patients"] = regs["w"].where(regs["core20"], 0)
    grouped = regs.groupby("org", sort=True)
    out = grouped.agg(has_pcn=("has_pcn", "first"), patients=("patients", "sum"),
                      patients_with_imd=("w", "sum"),
                      core20_patients=("core20_patients", "sum"))
    out["patients_no_imd"] = out["patients"] - out["patients_with_imd"]
    denom = out["patients_with_imd"].where(out["patients_with_imd"] > 0)
    for key, name in (("score", "imd_score"), ("rank", "mean_rank"), ("decile", "mean_decile")):
        out[name] = (grouped[f"wx_{key}"].sum(min_count=1) / denom) if key in present else np.nan
    out["core20_share"] = out["core20_patients"] / denom if core20 else np.nan
    if level == "pcn":
        names = members.drop_duplicates("pcn").set_index("pcn")["pcn_name"]
    else:
        names = members.set_index("practice")["pcn_name"]
    out.insert(0, "pcn_name", out.index.map(names))
    out = out.reset_index()
    return out[["org", "pcn_name", "has_pcn", "patients", "patients_with_imd",
                "patients_no_imd", "imd_score", "mean_rank", "mean_decile",
                "core20_patients", "core20_share"]]


# --------------------------------------------------------------------------- vintage


def convert_registrations_vintage(
    registrations: pd.DataFrame,
    lookup: pd.DataFrame,
    *,
    weights: pd.Series | Mapping[str, float] | None = None,
    lsoa_col: str = "lsoa_code",
    count_col: str = "patients",
    from_col: str = "lsoa11_code",
    to_col: str = "lsoa21_code",
) -> pd.DataFrame:
    """Move registrations from LSOA 2011 to LSOA 2021 codes (population-weighted splits).

    Parameters
    ----------
    registrations
        Long table with ``lsoa_col`` (LSOA 2011) and ``count_col``; other columns (practice)
        are carried over.
    lookup
        ONS LSOA 2011 -> 2021 best-fit lookup (``lookup_lsoa11_lsoa21_ltla22.csv``; change
        codes U unchanged, M merged, S split, X irregular).
    weights
        Population of each 2021 LSOA (e.g. Census 2021 usual residents), used to split a 2011
        LSOA across its 2021 successors. ``None`` splits equally and warns.
    lsoa_col, count_col
        Columns of ``registrations``.
    from_col, to_col
        Columns of ``lookup``.

    Returns
    -------
    pandas.DataFrame
        Same columns, ``lsoa_col`` now LSOA 2021, counts summed per row key (floats where
        split). Codes absent from the lookup (``NO2011``, Welsh codes if the lookup is
        England-only) pass through unchanged, so :func:`pcn_footprints` reports them.

    Notes
    -----
    A 2011 LSOA with successors ``t`` gets ``count * w(t) / sum w`` in each; totals are kept
    exactly. For X (irregular) changes the 2021 population is only a proxy for the part that
    came from each 2011 LSOA.

    Examples
    --------
    >>> import pandas as pd
    >>> regs = pd.DataFrame({"practice_code": ["P1", "P1"], "lsoa_code": ["S", "U"],
    ...     "patients": [100, 7]})
    >>> lookup = pd.DataFrame({"lsoa11_code": ["S", "S", "U"],
    ...     "lsoa21_code": ["S1", "S2", "U"]})
    >>> convert_registrations_vintage(regs, lookup, weights={"S1": 3, "S2": 1, "U": 5})
      practice_code lsoa_code  patients
    0            P1        S1      75.0
    1            P1        S2      25.0
    2            P1         U       7.0
    """
    _require(registrations, {"lsoa_col": lsoa_col, "count_col": count_col}, "registrations")
    _require(lookup, {"from_col": from_col, "to_col": to_col}, "lookup")
    pairs = lookup[[from_col, to_col]].astype(str).drop_duplicates()
    pairs.columns = ["_from", "_to"]
    if weights is None:
        pairs["_w"] = 1.0
        split = pairs["_from"].duplicated(keep=False) & pairs["_from"].isin(
            registrations[lsoa_col].astype(str))
        if split.any():
            warnings.warn(
                "no weights given: LSOAs that split are shared equally between successors "
                f"(ids: {format_ids(sorted(pairs.loc[split, '_from'].unique()))}); pass "
                "weights= (e.g. Census 2021 usual residents by LSOA 2021)",
                NbhdGeoWarning, stacklevel=2)
    else:
        w = pd.Series(weights, dtype=float)
        pairs["_w"] = pairs["_to"].map(w)
        gap = pairs["_w"].isna()
        if gap.any():
            raise ValidationError("weights lack 2021 LSOAs named in the lookup",
                                  argument="weights", ids=sorted(pairs.loc[gap, "_to"]),
                                  fix="give a population for every 2021 LSOA")
    pairs["_share"] = pairs["_w"] / pairs.groupby("_from")["_w"].transform("sum")
    pairs["_share"] = pairs["_share"].fillna(1 / pairs.groupby("_from")["_w"].transform("size"))
    keys = [c for c in registrations.columns if c not in (lsoa_col, count_col)]
    regs = registrations.assign(_from=registrations[lsoa_col].astype(str))
    merged = regs.merge(pairs[["_from", "_to", "_share"]], on="_from", how="left")
    hit = merged["_to"].notna()
    merged[lsoa_col] = merged["_to"].where(hit, merged["_from"])
    merged[count_col] = merged[count_col] * merged["_share"].where(hit, 1.0)
    out = merged.groupby(keys + [lsoa_col], as_index=False, sort=True)[count_col].sum()
    return out[list(registrations.columns)]
