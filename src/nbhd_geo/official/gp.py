"""GP registrations and PCN membership as published, into PCN footprints for the bundle.

* Registrations: NHS England's quarterly zip (``gp-reg-pat-prac-lsoa-male-female-
  <Mon>-<YY>.zip``) holds three CSVs, all/male/female; the ``all`` one is read. A CSV
  is read as given.
* Membership: the ODS ePCN zip holds ``ePCN.xlsx`` (and a specification); the
  workbook is read.

Members are read from temporary folders, so nothing unverified is left in the cache.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd

from nbhd_geo.errors import InputError, VintageError
from nbhd_geo.official.arcgis import ArcGISClient
from nbhd_geo.official.fields import rename, static_row
from nbhd_geo.official.options import FetchOptions
from nbhd_geo.official.static import pick_member, resolve_source

__all__ = ["pcn_layer"]


def _registrations(path: Path, tmp: Path, options: FetchOptions) -> Path:
    member = pick_member(path, argument="registrations", want="lsoa", prefer="-all",
                         limits=options.limits)
    if member is None:
        return path
    fh, name = member
    out = tmp / Path(name).name
    with fh, open(out, "wb") as dst:
        shutil.copyfileobj(fh, dst)
    return out


def _membership(path: Path, tmp: Path, options: FetchOptions) -> Path:
    if not zipfile.is_zipfile(path) or path.suffix.lower() in (".xlsx", ".xlsm"):
        return path
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith((".csv", ".xlsx"))]
        names.sort(key=lambda n: ("epcn" not in Path(n).name.lower(), n))
        if not names:
            raise InputError(f"has no CSV or xlsx among {zf.namelist()}", argument=str(path),
                             fix="pass the ePCN zip or workbook, or a CSV")
        info = zf.getinfo(names[0])
        if info.file_size > options.limits.max_decompressed:
            raise InputError(f"its member {names[0]} would inflate to {info.file_size:,} "
                             "bytes", argument=str(path), fix="check the file")
        out = tmp / Path(names[0]).name
        with zf.open(names[0]) as fh, open(out, "wb") as dst:
            shutil.copyfileobj(fh, dst)
    return out


def pcn_layer(registrations: Any, membership: Any, lsoa: gpd.GeoDataFrame,
               client: ArcGISClient, population: pd.Series | None, convert: bool,
               notes: list[str], options: FetchOptions) -> tuple[gpd.GeoDataFrame, dict]:
    """PCN footprints over ``lsoa`` from registrations and membership (paths, URLs)."""
    with tempfile.TemporaryDirectory(prefix="nbhd_geo_") as tmp:
        return _pcn_layer(registrations, membership, lsoa, client, population, convert,
                          notes, options, Path(tmp))


def _pcn_layer(registrations: Any, membership: Any, lsoa: gpd.GeoDataFrame,
               client: ArcGISClient, population: pd.Series | None, convert: bool,
               notes: list[str], options: FetchOptions,
               tmp: Path) -> tuple[gpd.GeoDataFrame, dict]:
    from nbhd_geo.pcn import (
        convert_registrations_vintage,
        pcn_footprints,
        read_pcn_membership,
        read_registrations,
    )

    reg_path = resolve_source(registrations, argument="registrations", options=options)
    mem_path = resolve_source(membership, argument="membership", options=options)
    regs = read_registrations(_registrations(reg_path, tmp, options))
    members = read_pcn_membership(_membership(mem_path, tmp, options))
    codes = set(lsoa["lsoa_code"])
    # Which LSOA vintage? Codes retired in 2021 (split, merged or redrawn LSOAs) can
    # only be LSOA 2011 codes; the ONS exact-fit lookup says which those are.
    lk_svc = client.resolve("lsoa11_lsoa21")
    lk = client.query_in(lk_svc, lk_svc.field("lsoa11"), regs["lsoa_code"].unique())
    lk = rename(lk, lk_svc, {"lsoa11": "lsoa11_code", "lsoa21": "lsoa21_code",
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
    row = static_row("registrations", None, str(registrations), label, geography,
                      reg_path)
    return pcn, row


