"""Build and read the one-GeoPackage "geography" bundle a report needs.

:func:`fetch_geography` gathers, for one district (or an extent), from the ONS Open
Geography Portal and the publishers' files:

=========  ====================================================================
layer      contents
=========  ====================================================================
``lsoa21`` LSOA 2021 polygons with ward and district codes (from the LSOA→ward→LAD
           lookup), ``population`` (Census 2021 usual residents) and IMD 2025
           ``<domain>_score/_rank/_decile`` columns
``oa21``   Output Areas 2021 inside the district, when the service is available
``msoa21`` MSOAs 2021 inside the district, when the service is available
``wards``  electoral wards of the lookup's vintage
``lad``    the district boundary
``pcn``    PCN footprints built from GP registrations (when registrations are given)
=========  ====================================================================

plus two attribute tables: ``nbhd_geo_vintages`` (one row per layer: product, ONS
service, vintage, how it was chosen, URL, licence, attribution) and ``nbhd_geo_lookup``
(LSOA→ward→LAD rows). Every layer also carries a ``vintage`` column. Vintages are never
mixed silently: ward boundaries must be of the lookup's year, the IMD must be on the
LSOA layer's vintage, registrations must be on LSOA 2021 codes; otherwise a
:class:`~nbhd_geo.errors.VintageError` names the conversion to use.

Examples
--------
>>> row = {"layer": "wards", "product": "wards", "year": 2022}
>>> lk = {"layer": "lookup", "product": "lsoa21_ward_lad", "year": 2024}
>>> check_vintages(pd.DataFrame([row, lk]))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nbhd_geo.errors.VintageError: wards: ward boundaries are of 2022 but the LSOA->ward lookup ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from nbhd_geo.errors import InputError, VintageError
from nbhd_geo.io.layers import LayerSpec
from nbhd_geo.official.arcgis import ArcGISClient, Service
from nbhd_geo.official.errors import DataError, ServiceError, ServiceNotFoundError
from nbhd_geo.official.registry import PRODUCTS, STATIC
from nbhd_geo.official.static import read_census_population, resolve_source

__all__ = ["Geography", "fetch_geography", "read_geography", "check_vintages",
           "VINTAGE_TABLE", "LOOKUP_TABLE"]

log = logging.getLogger("nbhd_geo")

VINTAGE_TABLE = "nbhd_geo_vintages"
LOOKUP_TABLE = "nbhd_geo_lookup"

#: Layer -> (id column, name column, population column) in the bundle.
LAYER_IDS: dict[str, tuple[str, str | None, str | None]] = {
    "lsoa21": ("lsoa_code", "lsoa_name", "population"),
    "oa21": ("oa_code", None, None),
    "msoa21": ("msoa_code", "msoa_name", None),
    "wards": ("ward_code", "ward_name", None),
    "lad": ("lad_code", "lad_name", None),
    "pcn": ("pcn_code", "pcn_name", None),
}
_REPORT_NAMES = {"lsoa21": "lsoa", "oa21": "oa", "msoa21": "msoa", "wards": "ward", "lad": "lad",
                 "pcn": "pcn"}


@dataclass
class Geography:
    """The layers of a geography bundle and their vintages.

    Attributes
    ----------
    layers
        Layer name -> GeoDataFrame in EPSG:27700 (``lsoa21``, ``wards``, ``lad`` and,
        when available, ``oa21`` and ``pcn``).
    vintages
        One row per layer and lookup: ``layer, product, service, vintage, year, source,
        url, licence, attribution, fetched``.
    lookup
        LSOA→ward→LAD rows (``lsoa_code, ward_code, ward_name, lad_code, lad_name``).
    district
        The district code asked for (None for an extent).
    path
        Where the bundle was written or read from.
    notes
        What was skipped or converted, and why.
    """

    layers: dict[str, gpd.GeoDataFrame]
    vintages: pd.DataFrame
    lookup: pd.DataFrame = field(default_factory=pd.DataFrame)
    district: str | None = None
    path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        return self.layers[name]

    def population_weights(self) -> tuple[gpd.GeoDataFrame, str] | None:
        """Return LSOA polygons with Census population, for ``weights=``/``weight_col=``.

        None when the bundle has no population column.
        """
        lsoa = self.layers.get("lsoa21")
        if lsoa is None or "population" not in lsoa.columns:
            return None
        return lsoa[["lsoa_code", "population", "geometry"]].copy(), "population"

    def imd_table(self) -> Any:
        """Return the IoD2025 columns of ``lsoa21`` as an :class:`~nbhd_geo.IMDTable`.

        Ranks and deciles are the published national ones; the census population is the
        denominator. ``None`` when the bundle was fetched without the IMD.
        """
        from nbhd_geo.deprivation.imd import DOMAINS, IMDTable

        lsoa = self.layers.get("lsoa21")
        if lsoa is None or "imd_rank" not in lsoa.columns:
            return None
        frames = []
        for d in DOMAINS:
            if f"{d}_rank" not in lsoa.columns:
                continue
            part = pd.DataFrame({"lsoa_code": lsoa["lsoa_code"].astype(str), "domain": d,
                                 "rank": lsoa[f"{d}_rank"], "decile": lsoa[f"{d}_decile"]})
            if f"{d}_score" in lsoa.columns:
                part["score"] = lsoa[f"{d}_score"]
            frames.append(part)
        den = None
        if "population" in lsoa.columns:
            den = pd.DataFrame({"lsoa_code": lsoa["lsoa_code"].astype(str),
                                "population": lsoa["population"]})
        return IMDTable.from_frames(pd.concat(frames, ignore_index=True), vintage="IoD2025",
                                    denominators=den,
                                    notes=[f"from the geography bundle {self.path}"])

    def layer_specs(self) -> list[LayerSpec]:
        """Return the layers as :class:`nbhd_geo.io.layers.LayerSpec` for the overlap report.

        Names are ``oa``, ``lsoa``, ``msoa``, ``ward``, ``pcn``, ``lad``; each is indexed by its
        code; the LSOA layer's population column is ``population``.
        """
        from nbhd_geo.io.layers import LayerSpec
        from nbhd_geo.io.read import read_layer

        specs = []
        for key in ("oa21", "lsoa21", "msoa21", "wards", "pcn", "lad"):
            if key not in self.layers:
                continue
            id_col, _, pop = LAYER_IDS[key]
            data, _ = read_layer(self.layers[key], id_col=id_col, name=key)
            if pop is not None and pop not in data.columns:
                pop = None
            specs.append(LayerSpec(_REPORT_NAMES[key], data, pop))
        return specs


# --------------------------------------------------------------------------- vintages

def check_vintages(vintages: pd.DataFrame) -> None:
    """Refuse a set of layers whose vintages do not belong together.

    Parameters
    ----------
    vintages
        Rows with at least ``layer``, ``product`` and ``year`` (and ``geography`` for
        IMD/registrations rows), as in a bundle's ``nbhd_geo_vintages`` table.

    Raises
    ------
    VintageError
        Ward or district boundaries of another year than the LSOA→ward→LAD lookup; IMD
        or registrations on another LSOA vintage than the LSOA layer. The fix names
        the conversion.
    """
    rows = {str(r["layer"]): r for r in vintages.to_dict("records")}
    lookup = rows.get("lookup")
    if lookup is not None:
        lk_year = int(lookup["year"])
        for layer, what in (("wards", "ward"), ("lad", "district")):
            row = rows.get(layer)
            if row is not None and int(row["year"]) != lk_year:
                raise VintageError(
                    f"{what} boundaries are of {int(row['year'])} but the LSOA->ward lookup "
                    f"({lookup.get('service', 'lookup')}) is of {lk_year}: codes would not "
                    "match",
                    argument=layer,
                    fix=f"fetch {what} boundaries of {lk_year} (ward_year={lk_year}), or the "
                    f"LSOA21_WD{int(row['year']) % 100:02d} lookup of the boundaries' year; to "
                    "move data between ward vintages use nbhd_geo.crosswalk(old_wards, "
                    "new_wards) and apportion by population",
                )
    lsoa = rows.get("lsoa21")
    lsoa_geo = str(lsoa.get("geography", "LSOA21")) if lsoa is not None else "LSOA21"
    for layer in ("imd", "registrations"):
        row = rows.get(layer)
        if row is None or lsoa is None:
            continue
        geo = str(row.get("geography") or "")
        if geo and geo != lsoa_geo:
            conv = ("nbhd_geo.convert_lsoa_vintage(table, lookup_path=<ONS LSOA11->LSOA21 "
                    "lookup>, weights=<LSOA21 population>, to='LSOA21')" if layer == "imd"
                    else "nbhd_geo.pcn.convert_registrations_vintage(registrations, "
                    "lookup, "
                    "weights=population) (nbhd-geo fetch --convert-registrations)")
            raise VintageError(
                f"{layer} is on {geo} ({row.get('vintage', '')}) but the LSOA layer is "
                f"{lsoa_geo}",
                argument=layer,
                fix=f"convert first with {conv}"
                + (", or use IoD2025 (imd='imd2025'), which is on LSOA 2021"
                   if layer == "imd" else ""),
            )


def _row(layer: str, svc: Service, **extra: Any) -> dict[str, Any]:
    return {
        "layer": layer, "product": svc.product.key, "service": svc.name,
        "vintage": svc.version.label, "year": svc.year, "source": svc.source,
        "geography": svc.product.geography, "url": svc.url,
        "licence": svc.product.licence, "attribution": svc.product.attribution(svc.year),
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    } | extra


def _static_row(layer: str, key: str | None, source: str, vintage: str, geography: str,
                path: Path) -> dict[str, Any]:
    item = STATIC.get(key or "")
    return {
        "layer": layer, "product": key or "user file", "service": path.name,
        "vintage": vintage, "year": np.nan, "source": "file" if item is None else "static",
        "geography": geography, "url": source,
        "licence": item.licence if item else "as published by its source",
        "attribution": item.attribution if item else "",
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# --------------------------------------------------------------------------- fetching

def _rename(frame: Any, svc: Service, roles: Mapping[str, str]) -> Any:
    mapping = {}
    upper = {str(c).upper(): c for c in frame.columns}
    for role, canon in roles.items():
        try:
            name = svc.field(role)
        except KeyError:
            continue
        col = upper.get(name.upper())
        if col is None:
            raise ServiceError(
                f"has no field {name} (fields: {list(frame.columns)[:12]})",
                argument=svc.url,
                fix="the service layout changed: report it, or choose another vintage",
            )
        mapping[col] = canon
    return frame.rename(columns=mapping)


def fetch_geography(
    district: str | None = None,
    *,
    bbox: Sequence[float] | None = None,
    out: str | PathLike[str] | None = None,
    ward_year: int | None = None,
    include_oa: bool = True,
    include_msoa: bool = True,
    imd: str | PathLike[str] | None = "imd2025",
    population: str | PathLike[str] | None = "census2021_ts001",
    registrations: str | PathLike[str] | None = None,
    membership: str | PathLike[str] | None = None,
    convert_registrations: bool = False,
    base_url: str | None = None,
    static_base_url: str | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool = True,
    retries: int = 4,
    backoff: float = 0.5,
    page_size: int = 2000,
) -> Geography:
    """Fetch every layer a report needs for one district (or an extent) into one bundle.

    Parameters
    ----------
    district
        Local authority district code (``"E08000036"`` Wakefield), matched against the
        LAD code of the LSOA→ward→LAD lookup (server-side ``where=LAD24CD='...'``).
    bbox
        Instead of ``district``: an envelope ``(xmin, ymin, xmax, ymax)`` in EPSG:27700
        (e.g. the drawings' extent); LSOAs intersecting it are fetched.
    out
        GeoPackage to write (overwritten); None returns the layers only.
    ward_year
        Ward vintage; default the newest LSOA→ward lookup's. Ward boundaries must be of
        the same year as the lookup (else :class:`~nbhd_geo.errors.VintageError`).
    include_oa, include_msoa
        Try to add Output Areas / MSOAs 2021 (skipped with a note when unavailable).
    imd, population
        Dataset key (``"imd2025"``, ``"census2021_ts001"``), URL or local path; None
        leaves the columns out.
    registrations, membership
        NHS "patients registered at a GP practice" by LSOA and the practice→PCN file
        (ePCN), as paths or URLs: with both, PCN footprints are added.
    convert_registrations
        Move registrations on LSOA 2011 codes to LSOA 2021 (ONS exact-fit lookup,
        population-weighted splits) instead of refusing them.
    base_url, static_base_url
        ArcGIS services root and static files root (default ``NBHD_GEO_ARCGIS_URL``,
        ``NBHD_GEO_STATIC_URL``, else the publishers').
    cache_dir, offline, checksums, progress, retries, backoff, page_size
        Cache folder, offline mode, ``{dataset: sha256}`` to require, progress bars,
        retry policy and ArcGIS page size.

    Returns
    -------
    Geography
        The layers, their vintages and notes; written to ``out`` when given.

    Raises
    ------
    DataError
        Network, service or file problems (subclasses name the URL and the fix).
    VintageError
        Layers of vintages that do not belong together.
    """
    if (district is None) == (bbox is None):
        raise InputError("give exactly one of district and bbox", argument="district",
                         fix="pass district='E08000036' or bbox=(xmin, ymin, xmax, ymax)")
    client = ArcGISClient(base_url, cache_dir=cache_dir, offline=offline, page_size=page_size,
                          retries=retries, backoff=backoff)
    files: dict[str, Any] = {
        "base_url": static_base_url, "cache_dir": cache_dir, "offline": offline,
        "checksums": checksums, "progress": progress, "retries": retries, "backoff": backoff,
    }
    notes: list[str] = []
    rows: list[dict[str, Any]] = []

    # 1. LSOA -> ward -> LAD lookup: fixes the ward and district vintage.
    lk_product = PRODUCTS["lsoa21_ward_lad"]
    try:
        lk_svc = client.resolve(lk_product, ward_year)
    except ServiceNotFoundError as err:
        if ward_year is None:
            raise
        newest = client.resolve(lk_product)
        raise VintageError(
            f"ward boundaries of {ward_year} were asked for, but there is no LSOA->ward "
            f"lookup of {ward_year} ({err.problem}); the newest lookup is {newest.name}",
            argument="ward_year",
            fix=f"use ward_year={newest.year} (wards and lookup of the same year), or map "
            f"{ward_year} wards onto {newest.year} wards with nbhd_geo.crosswalk",
        ) from err
    rows.append(_row("lookup", lk_svc))
    roles = {"lsoa": "lsoa_code", "lsoa_name": "lsoa_name", "ward": "ward_code",
             "ward_name": "ward_name", "lad": "lad_code", "lad_name": "lad_name"}
    lsoa_svc = client.resolve("lsoa21")
    if district is not None:
        code = str(district).strip().upper()
        lookup = client.query(lk_svc, f"{lk_svc.field('lad')}='{code}'")
        if lookup.empty:
            raise DataError(
                f"no LSOA of district {code} in {lk_svc.name}",
                argument="district",
                fix=f"check the code against the {lk_svc.year} districts (codes change when "
                "councils merge, e.g. North Yorkshire E06000065 in 2023)",
            )
        lookup = _rename(lookup, lk_svc, roles)
        lsoa = client.query_in(lsoa_svc, lsoa_svc.field("code"), lookup["lsoa_code"])
    else:
        lsoa = client.query(lsoa_svc, bbox=bbox)
        lookup = client.query_in(lk_svc, lk_svc.field("lsoa"), lsoa[lsoa_svc.field("code")])
        lookup = _rename(lookup, lk_svc, roles)
        code = None
    lookup = lookup[[c for c in roles.values() if c in lookup.columns]].drop_duplicates(
        "lsoa_code").sort_values("lsoa_code").reset_index(drop=True)
    lsoa = _rename(lsoa, lsoa_svc, {"code": "lsoa_code", "name": "lsoa_name"})
    lsoa = lsoa[["lsoa_code", "lsoa_name", "geometry"]] if "lsoa_name" in lsoa.columns else \
        lsoa[["lsoa_code", "geometry"]]
    missing = sorted(set(lookup["lsoa_code"]) - set(lsoa["lsoa_code"]))
    if missing:
        notes.append(f"{len(missing)} LSOA(s) of the lookup have no boundary in "
                     f"{lsoa_svc.name}: {missing[:10]}")
    lsoa = lsoa.merge(lookup.drop(columns=["lsoa_name"], errors="ignore"), on="lsoa_code",
                      how="left")
    lsoa = gpd.GeoDataFrame(lsoa, geometry="geometry", crs=27700)
    lsoa["vintage"] = f"LSOA21 ({lsoa_svc.version.label})"
    rows.append(_row("lsoa21", lsoa_svc))

    # 2. Wards of the lookup's year.
    try:
        ward_svc = client.resolve("wards", lk_svc.year, matched=True)
    except ServiceNotFoundError as err:
        raise VintageError(
            f"there are no ward boundaries of {lk_svc.year}, the year of the LSOA->ward "
            f"lookup {lk_svc.name} ({err.problem})",
            argument="wards",
            fix=f"pass ward_year= a year that has both a lookup and boundaries; never pair "
            f"{lk_svc.year} ward codes with boundaries of another year",
        ) from err
    wards = client.query_in(ward_svc, ward_svc.field("code"), lookup["ward_code"].dropna())
    wards = _rename(wards, ward_svc, {"code": "ward_code", "name": "ward_name"})
    wards = gpd.GeoDataFrame(wards[["ward_code", "ward_name", "geometry"]],
                             geometry="geometry", crs=27700)
    wards["vintage"] = f"wards ({ward_svc.version.label})"
    rows.append(_row("wards", ward_svc))

    # 3. District boundary(ies) of the lookup's year.
    try:
        lad_svc = client.resolve("lad", lk_svc.year, matched=True)
    except ServiceNotFoundError as err:
        raise VintageError(
            f"there are no district boundaries of {lk_svc.year}, the year of {lk_svc.name}",
            argument="lad", fix="pass ward_year= a year with district boundaries too",
        ) from err
    lad_codes = sorted(lookup["lad_code"].dropna().unique())
    lad = client.query_in(lad_svc, lad_svc.field("code"), lad_codes)
    lad = _rename(lad, lad_svc, {"code": "lad_code", "name": "lad_name"})
    lad = gpd.GeoDataFrame(lad[["lad_code", "lad_name", "geometry"]], geometry="geometry",
                           crs=27700)
    lad["vintage"] = f"LAD ({lad_svc.version.label})"
    rows.append(_row("lad", lad_svc))
    layers: dict[str, gpd.GeoDataFrame] = {"lsoa21": lsoa, "wards": wards, "lad": lad}

    # 4. Output Areas and MSOAs, if their services are there: an envelope query on the
    #    LSOAs' extent, keeping the units mostly (> 50 % of their area) inside the LSOAs.
    for key, wanted in (("oa21", include_oa), ("msoa21", include_msoa)):
        if not wanted:
            continue
        try:
            layer, row = _nested_layer(client, key, lsoa)
        except (ServiceNotFoundError, ServiceError) as err:
            notes.append(f"{key} skipped: {err}")
            log.warning("%s skipped: %s", key, err)
            continue
        layers[key] = layer
        rows.append(row)

    # 5. Census population and IMD columns on the LSOAs.
    pop_series = None
    if population is not None:
        path = resolve_source(population, argument="population", **files)
        pop_series = read_census_population(path)
        lsoa["population"] = lsoa["lsoa_code"].map(pop_series)
        gaps = lsoa.loc[lsoa["population"].isna(), "lsoa_code"].tolist()
        if gaps:
            notes.append(f"{len(gaps)} LSOA(s) have no census population: {gaps[:10]}")
        rows.append(_static_row("population", str(population) if str(population) in STATIC
                                else None, str(population), "Census 2021", "LSOA21", path))
    if imd is not None:
        from nbhd_geo.deprivation.imd import read_imd
        from nbhd_geo.deprivation.vintage import check_vintage

        path = resolve_source(imd, argument="imd", **files)
        table = read_imd(path)
        imd_row = _static_row("imd", str(imd) if str(imd) in STATIC else None, str(imd),
                              table.vintage, table.geography, path)
        check_vintages(pd.DataFrame([rows[1], imd_row]))
        check_vintage(lsoa["lsoa_code"], table, argument="lsoa21")
        for kind in ("score", "rank", "decile"):
            if kind == "score" and not table.has_scores():
                continue
            wide = table.wide(kind)
            wide.columns = [f"{d}_{kind}" for d in wide.columns]
            lsoa = lsoa.merge(wide, left_on="lsoa_code", right_index=True, how="left")
        lsoa["imd_vintage"] = table.vintage
        rows.append(imd_row)
    layers["lsoa21"] = gpd.GeoDataFrame(lsoa, geometry="geometry", crs=27700)

    # 6. PCN footprints from registrations.
    if registrations is not None and membership is not None:
        layers["pcn"], reg_row = _pcn_layer(
            registrations, membership, layers["lsoa21"], client, pop_series,
            convert_registrations, notes, files)
        rows.append(reg_row)
    elif registrations is not None or membership is not None:
        raise InputError("PCN footprints need both registrations and membership",
                         argument="registrations" if registrations is None else "membership",
                         fix="pass both (NHS registrations by LSOA and the ePCN file)")

    vintages = pd.DataFrame(rows)
    check_vintages(vintages)
    geo = Geography(layers, vintages, lookup, code, None, notes)
    if out is not None:
        write_geography(geo, out)
    return geo


def _nested_layer(client: ArcGISClient, key: str,
                  lsoa: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """OAs or MSOAs of the LSOAs' area: envelope query, kept if mostly inside the LSOAs."""
    svc = client.resolve(key)
    code = "oa_code" if key == "oa21" else "msoa_code"
    roles = {"code": code} if key == "oa21" else {"code": code, "name": "msoa_name"}
    units = _rename(client.query(svc, bbox=tuple(lsoa.total_bounds)), svc, roles)
    area = units.geometry.area
    inside = units.geometry.intersection(lsoa.geometry.union_all()).area
    units = units[(inside > 0.5 * area).to_numpy()].reset_index(drop=True)
    keep = [c for c in (code, "msoa_name") if c in units.columns]
    out = gpd.GeoDataFrame(units[keep + ["geometry"]], geometry="geometry", crs=27700)
    if key == "oa21":  # the LSOA each OA nests in (its representative point's)
        pts = gpd.GeoDataFrame(geometry=out.representative_point(), crs=27700)
        hit = gpd.sjoin(pts, lsoa[["lsoa_code", "geometry"]], predicate="within", how="left")
        out["lsoa_code"] = hit[~hit.index.duplicated()]["lsoa_code"].to_numpy()
    out["vintage"] = f"{svc.product.geography} ({svc.version.label})"
    return out, _row(key, svc)


def _pcn_layer(registrations: Any, membership: Any, lsoa: gpd.GeoDataFrame,
               client: ArcGISClient, population: pd.Series | None, convert: bool,
               notes: list[str], files: dict[str, Any]) -> tuple[gpd.GeoDataFrame, dict]:
    from nbhd_geo.pcn import (
        convert_registrations_vintage,
        pcn_footprints,
        read_pcn_membership,
        read_registrations,
    )

    reg_path = resolve_source(registrations, argument="registrations", **files)
    mem_path = resolve_source(membership, argument="membership", **files)
    regs = read_registrations(reg_path)
    members = read_pcn_membership(_unzip_first(mem_path))
    codes = set(lsoa["lsoa_code"])
    # Which LSOA vintage? Codes retired in 2021 (split, merged or redrawn LSOAs) can
    # only be LSOA 2011 codes; the ONS exact-fit lookup says which those are.
    lk_svc = client.resolve("lsoa11_lsoa21")
    lk = client.query_in(lk_svc, lk_svc.field("lsoa11"), regs["lsoa_code"].unique())
    lk = _rename(lk, lk_svc, {"lsoa11": "lsoa11_code", "lsoa21": "lsoa21_code",
                              "change": "change_code"})
    retired = set(lk.loc[lk["change_code"] != "U", "lsoa11_code"]) - set(lk["lsoa21_code"])
    old = sorted(set(regs["lsoa_code"]) & retired)
    geography = "LSOA21"
    if old:
        if not convert:
            raise VintageError(
                f"registrations is on LSOA11: {len(old)} of its codes were retired in 2021 "
                f"({lk_svc.name}), but the LSOA layer is LSOA21",
                argument="registrations", ids=old,
                fix="convert first with nbhd_geo.pcn.convert_registrations_vintage("
                "registrations, lookup, weights=population) (nbhd-geo fetch "
                "--convert-registrations / convert_registrations=True)")
        regs = convert_registrations_vintage(
            regs, lk[["lsoa11_code", "lsoa21_code", "change_code"]], weights=population)
        notes.append(f"registrations moved from LSOA 2011 to LSOA 2021 with {lk_svc.name} "
                     f"({len(old)} retired codes; Census 2021 population weights)")
    if not regs["lsoa_code"].isin(codes).any():
        raise InputError(
            "no registration is in an LSOA of the layer",
            argument="registrations", ids=sorted(regs["lsoa_code"].unique())[:10],
            fix="pass the registrations of practices serving this district")
    # Shares are computed LSOA by LSOA, so keeping the layer's LSOAs changes no share;
    # patients living elsewhere are reported, not silently dropped.
    inside = regs["lsoa_code"].isin(codes)
    outside = float(regs.loc[~inside, "patients"].sum())
    if outside:
        notes.append(f"{outside:,.0f} of {float(regs['patients'].sum()):,.0f} registered "
                      f"patients ({regs.loc[~inside, 'practice_code'].nunique()} practices) live "
                      "outside the layer's LSOAs: PCN footprints cover the layer only")
    fp = pcn_footprints(regs[inside], members, lsoa[["lsoa_code", "geometry"]].copy(),
                        lsoa_id="lsoa_code")
    geom = fp.footprints.geometry
    pcn = fp.footprints[geom.notna() & ~geom.is_empty].rename(columns={"org": "pcn_code"})
    keep = [c for c in ("pcn_code", "pcn_name", "patients", "n_lsoas", "geometry")
            if c in pcn.columns]
    pcn = gpd.GeoDataFrame(pcn[keep], geometry="geometry", crs=27700).reset_index(drop=True)
    label = Path(urlsplit(str(registrations)).path).name
    label += " (LSOA 2011 codes converted to LSOA 2021)" if old else ""
    pcn["vintage"] = f"PCN footprints from {label}"
    row = _static_row("registrations", None, str(registrations), label, geography,
                      reg_path)
    return pcn, row


def _unzip_first(path: Path) -> Path:
    import zipfile

    if not zipfile.is_zipfile(path) or path.suffix.lower() in (".xlsx", ".xlsm"):
        return path
    out = path.with_suffix("")
    out.mkdir(exist_ok=True)
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith((".csv", ".xlsx"))]
        if not names:
            raise InputError(f"has no CSV or xlsx among {zf.namelist()}", argument=str(path),
                             fix="pass the ePCN workbook or a CSV")
        zf.extract(names[0], out)
    return out / names[0]


# --------------------------------------------------------------------------- bundle I/O

def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_geography(geo: Geography, out: str | PathLike[str]) -> Path:
    """Write a :class:`Geography` to one GeoPackage (replacing the file)."""
    path = Path(out)
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, layer in geo.layers.items():
        meta = geo.vintages[geo.vintages["layer"] == name]
        layer_meta = {f"nbhd_geo_{k}": _text(v) for k, v in
                      (meta.iloc[0].to_dict().items() if len(meta) else [])}
        pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG",
                                layer_metadata=layer_meta or None)
    table = geo.vintages.copy()
    table["district"] = geo.district or ""
    table["notes"] = " | ".join(geo.notes)
    pyogrio.write_dataframe(table, path, layer=VINTAGE_TABLE, driver="GPKG")
    if not geo.lookup.empty:
        pyogrio.write_dataframe(geo.lookup, path, layer=LOOKUP_TABLE, driver="GPKG")
    geo.path = path
    log.info("geography bundle written to %s (%s)", path, ", ".join(geo.layers))
    return path


def read_geography(path: str | PathLike[str]) -> Geography:
    """Read a bundle written by :func:`fetch_geography` / ``nbhd-geo fetch``.

    Parameters
    ----------
    path
        The GeoPackage.

    Returns
    -------
    Geography
        Layers in EPSG:27700 (``attrs["nbhd_geo_vintage"]`` set from the vintages
        table), the vintages table, the lookup and the district.

    Raises
    ------
    InputError
        Not a bundle (no ``nbhd_geo_vintages`` table).
    VintageError
        The bundle's layers do not belong together (e.g. edited by hand).

    Examples
    --------
    >>> read_geography("missing.gpkg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: missing.gpkg: file not found...
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", argument=str(path),
                         fix="write it first: nbhd-geo fetch --district CODE --out FILE.gpkg")
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    if VINTAGE_TABLE not in names:
        raise InputError(
            f"is not a geography bundle (no {VINTAGE_TABLE} table; layers {names})",
            argument=str(path), fix="write it with nbhd-geo fetch, or pass --layer NAME=PATH")
    vintages = pyogrio.read_dataframe(path, layer=VINTAGE_TABLE, read_geometry=False)
    district = None
    notes: list[str] = []
    if len(vintages):
        district = str(vintages["district"].iloc[0]) or None
        notes = [n for n in str(vintages["notes"].iloc[0]).split(" | ") if n]
        vintages = vintages.drop(columns=["district", "notes"])
    check_vintages(vintages)
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in LAYER_IDS:
        if name not in names:
            continue
        layer = pyogrio.read_dataframe(path, layer=name)
        if layer.crs is None or layer.crs.to_epsg() != 27700:
            raise InputError(f"layer {name} is not in EPSG:27700", argument=str(path),
                             fix="rewrite the bundle with nbhd-geo fetch")
        meta = vintages[vintages["layer"] == name]
        layer.attrs["nbhd_geo_vintage"] = meta.iloc[0].to_dict() if len(meta) else {}
        layers[name] = layer
    lookup = (pyogrio.read_dataframe(path, layer=LOOKUP_TABLE, read_geometry=False)
              if LOOKUP_TABLE in names else pd.DataFrame())
    return Geography(layers, vintages, lookup, district, path, notes)
