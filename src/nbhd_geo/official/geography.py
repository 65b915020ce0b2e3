"""Fetch the one-GeoPackage "geography" bundle a report needs.

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

The vintage is the newest year for which the LSOA→ward→LAD lookup, ward boundaries
and district boundaries all exist (each confirmed by its fields); the choice and why
are logged, printed by ``nbhd-geo fetch`` and kept in the ``why`` column of the
vintages table. The bundle must be complete: every LSOA of the lookup has a boundary,
a census population and (in England) an IMD row; every ward and district code of the
lookup has a boundary of the same year (else the next service of that year is tried,
then a :class:`~nbhd_geo.errors.VintageError` names the codes).

plus two attribute tables: ``nbhd_geo_vintages`` (one row per layer: product, ONS
service, vintage, how it was chosen, URL, licence, attribution) and ``nbhd_geo_lookup``
(LSOA→ward→LAD rows). Every layer also carries a ``vintage`` column. Vintages are never
mixed silently: ward boundaries must be of the lookup's year, the IMD must be on the
LSOA layer's vintage, registrations must be on LSOA 2021 codes; otherwise a
:class:`~nbhd_geo.errors.VintageError` names the conversion to use.

Examples
--------
>>> from nbhd_geo.official.bundle import check_vintages
>>> row = {"layer": "wards", "product": "wards", "year": 2022}
>>> lk = {"layer": "lookup", "product": "lsoa21_ward_lad", "year": 2024}
>>> check_vintages(pd.DataFrame([row, lk]))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nbhd_geo.errors.VintageError: wards: ward boundaries are of 2022 but the LSOA->ward lookup ...
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Sequence
from os import PathLike
from typing import Any

import geopandas as gpd
import pandas as pd

from nbhd_geo.errors import InputError, VintageError
from nbhd_geo.official.arcgis import ArcGISClient, Service
from nbhd_geo.official.bundle import (
    LOOKUP_TABLE,
    VINTAGE_TABLE,
    Geography,
    check_vintages,
    read_geography,
    write_geography,
)
from nbhd_geo.official.errors import DataError, ServiceError, ServiceNotFoundError
from nbhd_geo.official.fields import rename, row, static_row
from nbhd_geo.official.options import FetchOptions
from nbhd_geo.official.registry import STATIC
from nbhd_geo.official.static import read_census_population, resolve_source

__all__ = ["Geography", "fetch_geography", "read_geography", "write_geography",
           "check_vintages", "choose_vintage", "client_for", "VINTAGE_TABLE", "LOOKUP_TABLE"]

log = logging.getLogger("nbhd_geo")

_LOOKUP = "lsoa21_ward_lad"
_ROLES = {"lsoa": "lsoa_code", "lsoa_name": "lsoa_name", "ward": "ward_code",
          "ward_name": "ward_name", "lad": "lad_code", "lad_name": "lad_name"}


def client_for(options: FetchOptions) -> ArcGISClient:
    """Return the ArcGIS client of ``options`` (root, cache, offline mode, page size, limits)."""
    return ArcGISClient(options.base_url, cache_dir=options.cache_dir, offline=options.offline,
                        page_size=options.page_size, limits=options.limits)


def _products(resolution: str) -> tuple[str, str, str]:
    res = str(resolution).upper()
    if res not in ("BGC", "BFC"):
        raise InputError(f"unknown resolution {resolution!r}", argument="resolution",
                         fix="pass 'BGC' (generalised, 20 m; the default) or 'BFC' (full "
                         "resolution, larger downloads)")
    return ("lsoa21", "wards", "lad") if res == "BGC" else ("lsoa21_full", "wards_full",
                                                           "lad_full")


def choose_vintage(client: ArcGISClient, ward_year: int | None = None,
                   resolution: str = "BGC") -> tuple[Service, Service, Service, str]:
    """Choose the lookup, ward and district services of one year, and say why.

    Default: the newest year whose LSOA→ward→LAD lookup and ward and district
    boundaries all exist and are confirmed by their fields. ``ward_year`` asks for one.

    Raises
    ------
    VintageError
        No year (or not ``ward_year``) has all three; the message says what each lacks.
    """
    _, wards, lad = _products(resolution)
    lookups, _ = client.versions(_LOOKUP)
    years = sorted({v.year for v in lookups}, reverse=True)
    if ward_year is not None:
        want = ward_year + 2000 if ward_year < 100 else ward_year
        if want not in years:
            raise VintageError(
                f"ward boundaries of {want} were asked for, but there is no LSOA->ward "
                f"lookup of {want}; lookups found: {', '.join(v.name for v in lookups) or 'none'}",
                argument="ward_year",
                fix=(f"use ward_year={years[0]} (wards and lookup of the same year), or map "
                     f"{want} wards onto {years[0]} wards with nbhd_geo.crosswalk")
                if years else "check the base URL or network")
        years = [want]
    passed: list[str] = []
    ward_years = {v.year for v in client.versions(wards)[0]}
    newer = sorted((y for y in ward_years if years and y > years[0]), reverse=True)
    passed += [f"{y}: ward boundaries but no LSOA->ward lookup" for y in newer]
    for year in years:
        try:
            lk = client.resolve(_LOOKUP, year, matched=False)
            wd = client.resolve(wards, year, matched=True)
            ld = client.resolve(lad, year, matched=True)
        except ServiceNotFoundError as err:
            passed.append(f"{year}: {err.problem}")
            log.info("vintage %s passed over: %s", year, err.problem)
            continue
        if ward_year is None and lk.source == "given":
            lk = dataclasses.replace(lk, source="listing")
        how = "asked for" if ward_year is not None else (
            "the newest year with an LSOA->ward lookup, ward and district boundaries")
        why = f"{year}: {how} ({lk.name}, {wd.name}, {ld.name})"
        if passed:
            why += "; passed over " + "; ".join(passed)
        log.info("vintage %s", why)
        return lk, wd, ld, why
    raise VintageError(
        "no year has an LSOA->ward lookup and ward and district boundaries: "
        + "; ".join(passed), argument="ward_year" if ward_year is not None else "wards",
        fix="run nbhd-geo fetch --check to see what the services offer today, and pass "
        "ward_year= a year that has all three; never pair ward codes of one year with "
        "boundaries of another")


def _complete(client: ArcGISClient, svc: Service, codes: Sequence[str],
              what: str) -> tuple[gpd.GeoDataFrame, Service]:
    """Boundaries of every code, from ``svc`` or the next service of the same year."""
    tried: list[str] = []
    while True:
        frame = client.query_in(svc, svc.field("code"), codes)
        upper = {str(c).upper(): c for c in frame.columns}
        got = set(frame[upper[svc.field("code").upper()]].astype(str)) if len(frame) else set()
        missing = sorted(set(codes) - got)
        if not missing:
            return frame, svc
        tried.append(f"{svc.name} lacks {len(missing)}")
        try:
            svc = client.resolve(svc.product, svc.year, matched=True,
                                 skip=[t.split(" lacks")[0] for t in tried])
        except ServiceNotFoundError:
            raise VintageError(
                f"{len(missing)} {what} code(s) of the lookup have no boundary of "
                f"{svc.year} ({'; '.join(tried)})", argument=what, ids=missing,
                fix="the lookup and the boundaries disagree: pass ward_year= another year, "
                "or report it to ONS") from None


def _lsoa_layer(client: ArcGISClient, lk: Service, lsoa_product: str, district: str | None,
                bbox: Sequence[float] | None) -> tuple[Any, pd.DataFrame, Service]:
    lsoa_svc = client.resolve(lsoa_product)
    if district is not None:
        lookup = client.query(lk, f"{lk.field('lad')}='{district}'")
        if lookup.empty:
            raise DataError(
                f"no LSOA of district {district} in {lk.name}",
                argument="district",
                fix=f"check the code against the {lk.year} districts (codes change when "
                "councils merge, e.g. North Yorkshire E06000065 in 2023)")
        lookup = rename(lookup, lk, _ROLES)
        lsoa = client.query_in(lsoa_svc, lsoa_svc.field("code"), lookup["lsoa_code"])
    else:
        lsoa = client.query(lsoa_svc, bbox=bbox)
        lookup = rename(client.query_in(lk, lk.field("lsoa"), lsoa[lsoa_svc.field("code")]),
                        lk, _ROLES)
    lookup = lookup[[c for c in _ROLES.values() if c in lookup.columns]].drop_duplicates(
        "lsoa_code").sort_values("lsoa_code").reset_index(drop=True)
    lsoa = rename(lsoa, lsoa_svc, {"code": "lsoa_code", "name": "lsoa_name"})
    lsoa = lsoa[[c for c in ("lsoa_code", "lsoa_name", "geometry") if c in lsoa.columns]]
    missing = sorted(set(lookup["lsoa_code"]) - set(lsoa["lsoa_code"]))
    if missing:
        raise DataError(f"{len(missing)} LSOA(s) of the lookup have no boundary in "
                        f"{lsoa_svc.name}", argument="lsoa21", ids=missing,
                        fix="retry later (the service may be mid-update); if it persists, "
                        "report it to ONS")
    lsoa = lsoa.merge(lookup.drop(columns=["lsoa_name"], errors="ignore"), on="lsoa_code",
                      how="left")
    lsoa = gpd.GeoDataFrame(lsoa, geometry="geometry", crs=27700)
    lsoa["vintage"] = f"LSOA21 ({lsoa_svc.version.label})"
    return lsoa, lookup, lsoa_svc


def _boundaries(client: ArcGISClient, svc: Service, codes: Sequence[str], what: str,
                names: tuple[str, str]) -> tuple[gpd.GeoDataFrame, Service]:
    frame, svc = _complete(client, svc, codes, what)
    frame = rename(frame, svc, {"code": names[0], "name": names[1]})
    out = gpd.GeoDataFrame(frame[[names[0], names[1], "geometry"]], geometry="geometry",
                           crs=27700)
    out["vintage"] = f"{what} ({svc.version.label})"
    return out, svc


def fetch_geography(
    district: str | None = None,
    *,
    bbox: Sequence[float] | None = None,
    out: str | PathLike[str] | None = None,
    ward_year: int | None = None,
    resolution: str = "BGC",
    layers: Collection[str] = ("oa21", "msoa21"),
    imd: str | PathLike[str] | None = "imd2025",
    population: str | PathLike[str] | None = "census2021_ts001",
    registrations: str | PathLike[str] | None = None,
    membership: str | PathLike[str] | None = None,
    convert_registrations: bool = False,
    options: FetchOptions | None = None,
) -> Geography:
    """Fetch every layer a report needs for one district (or an extent) into one bundle.

    Parameters
    ----------
    district
        Local authority district code (``"E08000036"`` Wakefield), matched against the
        LAD code of the LSOA→ward→LAD lookup (server-side ``where=LAD25CD='...'``).
    bbox
        Instead of ``district``: an envelope ``(xmin, ymin, xmax, ymax)`` in EPSG:27700
        (e.g. the drawings' extent); LSOAs intersecting it are fetched.
    out
        GeoPackage to write (overwritten); None returns the layers only.
    ward_year
        Ward vintage; default the newest year with a lookup and ward and district
        boundaries (see :func:`choose_vintage`).
    resolution
        ``"BGC"`` (generalised, clipped; default) or ``"BFC"`` (full resolution).
    layers
        Extra layers to try: ``"oa21"``, ``"msoa21"`` (skipped with a note when their
        service is unavailable).
    imd, population
        Dataset key (``"imd2025"``, ``"census2021_ts001"``), URL or local path; None
        leaves the columns out.
    registrations, membership
        NHS "patients registered at a GP practice" by LSOA (the published zip or its
        ``all`` CSV) and the practice→PCN file (the ePCN zip or workbook), as keys,
        paths or URLs: with both, PCN footprints are added.
    convert_registrations
        Move registrations on LSOA 2011 codes to LSOA 2021 (ONS exact-fit lookup,
        population-weighted splits) instead of refusing them.
    options
        Service roots, cache, offline mode, accepted digests, progress, page size and
        :class:`~nbhd_geo.official.Limits` (:class:`~nbhd_geo.official.FetchOptions`).

    Returns
    -------
    Geography
        The layers, their vintages (with why each was chosen) and notes; written to
        ``out`` when given.

    Raises
    ------
    DataError
        Network, service or file problems, or an incomplete bundle (subclasses name the
        URL, the codes and the fix).
    VintageError
        Layers of vintages that do not belong together.
    """
    opts = options or FetchOptions()
    if (district is None) == (bbox is None):
        raise InputError("give exactly one of district and bbox", argument="district",
                         fix="pass district='E08000036' or bbox=(xmin, ymin, xmax, ymax)")
    unknown = sorted(set(layers) - {"oa21", "msoa21"})
    if unknown:
        raise InputError(f"unknown layers {unknown}", argument="layers",
                         fix="choose among 'oa21' and 'msoa21'")
    lsoa_product, _, _ = _products(resolution)
    client = client_for(opts)
    lk_svc, ward_svc, lad_svc, why = choose_vintage(client, ward_year, resolution)
    notes: list[str] = [f"vintage {why}"]
    rows: list[dict[str, Any]] = [row("lookup", lk_svc)]

    code = str(district).strip().upper() if district is not None else None
    lsoa, lookup, lsoa_svc = _lsoa_layer(client, lk_svc, lsoa_product, code, bbox)
    rows.append(row("lsoa21", lsoa_svc))
    wards, ward_svc = _boundaries(client, ward_svc, sorted(lookup["ward_code"].dropna()
                                                           .unique()), "wards",
                                  ("ward_code", "ward_name"))
    rows.append(row("wards", ward_svc))
    lad, lad_svc = _boundaries(client, lad_svc, sorted(lookup["lad_code"].dropna().unique()),
                               "LAD", ("lad_code", "lad_name"))
    rows.append(row("lad", lad_svc))
    out_layers: dict[str, gpd.GeoDataFrame] = {"lsoa21": lsoa, "wards": wards, "lad": lad}

    for key in ("oa21", "msoa21"):
        if key not in layers:
            continue
        try:
            layer, layer_row = _nested_layer(client, key, lsoa)
        except (ServiceNotFoundError, ServiceError) as err:
            notes.append(f"{key} skipped: {err}")
            log.warning("%s skipped: %s", key, err)
            continue
        out_layers[key] = layer
        rows.append(layer_row)

    pop_series = None
    if population is not None:
        path = resolve_source(population, argument="population", options=opts)
        pop_series = read_census_population(path)
        lsoa["population"] = lsoa["lsoa_code"].map(pop_series)
        gaps = lsoa.loc[lsoa["population"].isna(), "lsoa_code"].tolist()
        if gaps:
            raise DataError(f"{len(gaps)} LSOA(s) have no census population in {path.name}",
                            argument="population", ids=gaps,
                            fix="pass the Census 2021 TS001 file on LSOA 2021 codes "
                            "(census2021_ts001), or population=None")
        rows.append(static_row("population", str(population) if str(population) in STATIC
                               else None, str(population), "Census 2021", "LSOA21", path))
    if imd is not None:
        lsoa, imd_row = _imd_columns(lsoa, imd, rows[1], opts)
        rows.append(imd_row)
    out_layers["lsoa21"] = gpd.GeoDataFrame(lsoa, geometry="geometry", crs=27700)

    if registrations is not None and membership is not None:
        from nbhd_geo.official.gp import pcn_layer

        out_layers["pcn"], reg_row = pcn_layer(
            registrations, membership, out_layers["lsoa21"], client, pop_series,
            convert_registrations, notes, opts)
        rows.append(reg_row)
    elif registrations is not None or membership is not None:
        raise InputError("PCN footprints need both registrations and membership",
                         argument="registrations" if registrations is None else "membership",
                         fix="pass both (NHS registrations by LSOA and the ePCN file)")

    vintages = pd.DataFrame(rows)
    check_vintages(vintages)
    geo = Geography(out_layers, vintages, lookup, code, None, notes)
    if out is not None:
        write_geography(geo, out)
    return geo


def _imd_columns(lsoa: Any, imd: Any, lsoa_row: dict[str, Any],
                 opts: FetchOptions) -> tuple[Any, dict[str, Any]]:
    from nbhd_geo.deprivation.imd import read_imd
    from nbhd_geo.deprivation.vintage import check_vintage

    path = resolve_source(imd, argument="imd", options=opts)
    table = read_imd(path)
    imd_row = static_row("imd", str(imd) if str(imd) in STATIC else None, str(imd),
                         table.vintage, table.geography, path)
    check_vintages(pd.DataFrame([lsoa_row, imd_row]))
    check_vintage(lsoa["lsoa_code"], table, argument="lsoa21")
    for kind in ("score", "rank", "decile"):
        if kind == "score" and not table.has_scores():
            continue
        wide = table.wide(kind)
        wide.columns = [f"{d}_{kind}" for d in wide.columns]
        lsoa = lsoa.merge(wide, left_on="lsoa_code", right_index=True, how="left")
    english = lsoa["lsoa_code"].astype(str).str.startswith("E")
    gaps = lsoa.loc[english & lsoa["imd_rank"].isna(), "lsoa_code"].tolist() \
        if "imd_rank" in lsoa.columns else lsoa.loc[english, "lsoa_code"].tolist()
    if gaps:
        raise DataError(f"{len(gaps)} English LSOA(s) have no IMD row in {path.name}",
                        argument="imd", ids=gaps,
                        fix="pass the IoD2025 File 7 (imd2025), which covers every LSOA 2021 "
                        "in England, or imd=None")
    lsoa["imd_vintage"] = table.vintage
    return lsoa, imd_row


def _nested_layer(client: ArcGISClient, key: str,
                  lsoa: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """OAs or MSOAs of the LSOAs' area: envelope query, kept if mostly inside the LSOAs."""
    svc = client.resolve(key)
    code = "oa_code" if key == "oa21" else "msoa_code"
    roles = {"code": code} if key == "oa21" else {"code": code, "name": "msoa_name"}
    units = rename(client.query(svc, bbox=tuple(lsoa.total_bounds)), svc, roles)
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
    return out, row(key, svc)
