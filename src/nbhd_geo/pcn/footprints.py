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

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import (
    InputError,
    NbhdGeoWarning,
    VintageError,
)
from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.pcn.options import DEFAULT_REGISTRATION_COLUMNS, RegistrationColumns, _expect
from nbhd_geo.pcn.read import _membership, _org_table, _registrations

__all__ = [
    "PCNFootprints",
    "pcn_footprints",
    "IOD2019_N_LSOAS",
]

#: Number of LSOAs ranked by the English Indices of Deprivation 2019 (LSOA 2011).
IOD2019_N_LSOAS = 32_844


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
    columns: RegistrationColumns = DEFAULT_REGISTRATION_COLUMNS,
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
        Membership table (``columns.practice``, ``columns.pcn``, optional
        ``columns.pcn_name``) or a mapping practice -> PCN. May be ``None`` at
        ``level="practice"``.
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
    columns
        :class:`RegistrationColumns`: the columns of ``registrations`` (``practice``,
        ``lsoa``, ``patients``) and of ``practice_to_pcn`` (``practice``, ``pcn``, optional
        ``pcn_name``); the defaults are the names :func:`read_registrations` and
        :func:`read_pcn_membership` give.
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
    _expect(columns, RegistrationColumns, "columns")
    regs = _registrations(registrations, columns)
    members = _membership(practice_to_pcn, columns)
    layer = prepare_polygons(lsoa_layer, argument="lsoa_layer", id_col=lsoa_id, crs=crs)
    layer_ids = pd.Index(pd.Series(layer.ids).astype(str).str.strip())
    regs = _org_table(regs, members, level)
    regs["in_layer"] = regs["lsoa"].isin(layer_ids)
    _check_vintage(regs, lsoa_id)

    org_total = regs.groupby("org")["patients"].sum()
    claims = _claims(regs[regs["in_layer"]], org_total, method, threshold, min_residents)
    orgs, fp, held = _footprint_table(regs, members, claims, org_total, level)
    geom_of = pd.Series(layer.geoms, index=layer_ids)
    lsoas_of = held.groupby("org")["lsoa"].agg(list)
    geoms = [_multi(shapely.union_all(geom_of.loc[lsoas_of[o]].to_numpy()))
             if o in lsoas_of.index else None for o in orgs]
    fp = gpd.GeoDataFrame(fp.reset_index(), geometry=geoms, crs=layer.frame.crs)
    fp["area_km2"] = fp.geometry.area.fillna(0) / 1e6
    fp = fp[[c for c in fp.columns if c != "geometry"] + ["geometry"]]

    unknown = regs[~regs["in_layer"]].groupby("lsoa", sort=True).agg(
        patients=("patients", "sum"), n_practices=("practice", "nunique")).reset_index()
    return PCNFootprints(
        footprints=fp,
        assignments=claims.reset_index(drop=True),
        overlaps=_overlaps(held, claims, geom_of, layer.frame.crs),
        unassigned=_unassigned(regs, members, claims),
        unknown_lsoas=unknown,
        accounting=_accounting(regs, orgs, fp),
        method=method,
        level=level,
        threshold=threshold if method == "min_share" else None,
    )


def _check_vintage(regs: pd.DataFrame, lsoa_id: str) -> None:
    """Refuse registrations none of whose LSOAs are in the layer; warn when most are not."""
    total = float(regs["patients"].sum())
    unknown_total = float(regs.loc[~regs["in_layer"], "patients"].sum())
    if total > 0 and not regs["in_layer"].any():
        raise VintageError(
            "none of the registration LSOA codes are in the layer",
            argument="lsoa_layer",
            ids=sorted(regs["lsoa"].unique())[:10],
            fix=f"check lsoa_id={lsoa_id!r} names the code column and that both use the same "
            "LSOA vintage (convert with nbhd_geo.pcn.convert_registrations_vintage)",
        )
    if total > 0 and unknown_total / total > 0.5:
        warnings.warn(
            f"{unknown_total / total:.0%} of registered patients live in LSOAs absent from "
            "lsoa_layer (listed in .unknown_lsoas); check the layer's extent and LSOA vintage",
            NbhdGeoWarning, stacklevel=3)


def _footprint_table(
    regs: pd.DataFrame, members: pd.DataFrame, claims: pd.DataFrame, org_total: pd.Series,
    level: str,
) -> tuple[pd.Index, pd.DataFrame, pd.DataFrame]:
    """Return the organisations with a footprint row, their counts and the claims held."""
    if level == "pcn":
        orgs = pd.Index(sorted(members["pcn"].unique()), name="org")
        names = members.drop_duplicates("pcn").set_index("pcn")["pcn_name"]
    else:
        orgs = pd.Index(sorted(set(regs["practice"]) | set(members["practice"])), name="org")
        names = None
    held = claims[claims["assigned"] & claims["org"].isin(orgs)]
    residents = claims.drop_duplicates("lsoa").set_index("lsoa")["residents"]

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
    return orgs, fp, held


def _overlaps(held: pd.DataFrame, claims: pd.DataFrame, geom_of: pd.Series,
              crs: object) -> gpd.GeoDataFrame:
    """LSOAs in two or more footprints (``min_share`` only; none for plurality)."""
    residents = claims.drop_duplicates("lsoa").set_index("lsoa")["residents"]
    multi = held.groupby("lsoa").filter(lambda g: len(g) > 1)
    ov = multi.groupby("lsoa", sort=True).agg(
        n_orgs=("org", "size"), orgs=("org", lambda s: ";".join(sorted(s))),
        patients_claimed=("patients", "sum")).reset_index()
    ov.insert(3, "residents", ov["lsoa"].map(residents).astype(float))
    ov_geoms = geom_of.loc[ov["lsoa"]].to_numpy() if len(ov) else []
    overlaps = gpd.GeoDataFrame(ov, geometry=list(ov_geoms), crs=crs)
    overlaps["area_km2"] = overlaps.geometry.area / 1e6
    return overlaps[[c for c in overlaps.columns if c != "geometry"] + ["geometry"]]


def _unassigned(regs: pd.DataFrame, members: pd.DataFrame,
                claims: pd.DataFrame) -> pd.DataFrame:
    """Practices with no membership row (always reported; nothing is dropped)."""
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
    return unassigned[["practice", "patients", "patients_in_layer",
                       "patients_unknown_lsoa", "n_lsoas", "n_lsoas_assigned"]]


def _accounting(regs: pd.DataFrame, orgs: pd.Index, fp: pd.DataFrame) -> pd.Series:
    """Every registered patient counted once: where they went, summed two ways."""
    total = float(regs["patients"].sum())
    in_orgs = float(regs.loc[regs["in_layer"] & regs["org"].isin(orgs), "patients"].sum())
    within = float(fp["patients_in_footprint"].sum())
    return pd.Series({
        "total": total,
        "in_footprint_orgs": in_orgs,
        "no_pcn": float(regs.loc[regs["in_layer"] & ~regs["org"].isin(orgs),
                                 "patients"].sum()),
        "unknown_lsoa": float(regs.loc[~regs["in_layer"], "patients"].sum()),
        "within_footprint": within,
        "leaked": in_orgs - within,
    }, name="patients")
