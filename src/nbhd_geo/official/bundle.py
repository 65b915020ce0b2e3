"""The one-GeoPackage "geography" bundle: its layers, vintages table, writer and reader.

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
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from nbhd_geo.errors import InputError, VintageError
from nbhd_geo.io.layers import LayerSpec

__all__ = ["Geography", "read_geography", "write_geography", "check_vintages",
           "VINTAGE_TABLE", "LOOKUP_TABLE", "LAYER_IDS"]

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
