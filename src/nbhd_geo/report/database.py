"""A written output folder to a PostGIS schema: the same rows, typed, styled, in one go.

:func:`folder_tables` reads back what a command published (every ``*.csv`` and every
layer of ``layers.gpkg``, small counts already suppressed), so the database holds exactly
the rows of the files; :func:`publish_folder` writes them with
:func:`nbhd_geo.io.pgwrite.write_postgis` in one transaction, with the GeoPackage's QGIS
styles in the schema's ``layer_styles`` table.

CSV columns are typed as a GIS expects: whole-number counts (people, patients, units)
become integers, other numbers ``double precision``, ``True``/``False`` booleans, and
codes stay text (a leading zero is kept). A count column holding a suppressed ``<10``
stays text so the suppression survives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from nbhd_geo.io.pgwrite import WriteSummary, write_postgis
from nbhd_geo.io.publish import count_columns

__all__ = ["file_tables", "folder_tables", "publish_folder", "typed_column"]

_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$|^-?0?\.\d+$|^-?(inf|nan)$")


def typed_column(text: pd.Series, *, count: bool = False) -> pd.Series:
    """Type a CSV column read as text: booleans, integers, floats, or left as text.

    Examples
    --------
    >>> typed_column(pd.Series(["1", "2", None])).dtype
    Int64Dtype()
    >>> typed_column(pd.Series(["0123", "7"])).tolist()
    ['0123', '7']
    >>> typed_column(pd.Series(["7326.0", "12.0"]), count=True).tolist()
    [7326, 12]
    """
    values = text.dropna()
    if len(values) == 0:
        return text
    if values.isin(["True", "False"]).all():
        return text.map({"True": True, "False": False}).astype("boolean")
    if not values.map(lambda v: bool(_NUMBER.match(v))).all():
        return text
    numbers = pd.to_numeric(text)
    whole = numbers.dropna()
    integral = bool((whole == whole.round()).all()) and bool(whole.abs().lt(2**62).all())
    if integral and (count or not values.str.contains(r"[.eE]").any()):
        return numbers.astype("Int64")
    return numbers.astype(float)


def _name(stem: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", stem.lower()).strip("_")[:60] or "table"


def file_tables(paths: Sequence[str | Path]) -> dict[str, pd.DataFrame]:
    r"""Tables of written files: a CSV by its stem, each GeoPackage layer by its name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "best_fit.csv").write_text("area_id,population\na,12.0\nb,<10\n")
    >>> file_tables([d / "best_fit.csv"])["best_fit"]["population"].tolist()
    ['12.0', '<10']
    """
    tables: dict[str, pd.DataFrame] = {}
    for path in map(Path, paths):
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            counts = set(count_columns(frame))
            tables[_name(path.stem)] = pd.DataFrame(
                {c: typed_column(frame[c], count=c in counts) for c in frame.columns})
        elif path.suffix.lower() == ".gpkg":
            for layer, geometry_type in pyogrio.list_layers(path):
                if layer == "layer_styles" or geometry_type is None:
                    continue
                name = _name(layer)
                tables[f"{name}_layer" if name in tables else name] = gpd.read_file(
                    path, layer=layer)
    return tables


def folder_tables(out: str | Path) -> dict[str, pd.DataFrame]:
    """Every published table of an output folder: its CSVs, then ``layers.gpkg``."""
    out = Path(out)
    return file_tables([*sorted(out.glob("*.csv")), out / "layers.gpkg"]
                       if (out / "layers.gpkg").exists() else sorted(out.glob("*.csv")))


def publish_folder(out: str | Path | Sequence[str | Path], url: str, *,
                   run: Mapping[str, Any] | None = None, overwrite: bool = False,
                   argument: str = "--db-out") -> WriteSummary:
    """Write an output folder's tables and layers, with their QGIS styles, to PostGIS.

    Parameters
    ----------
    out
        The folder a command wrote, or the files it wrote (CSVs, GeoPackages).
    url
        ``postgresql://HOST[:PORT]/DATABASE?schema=NAME``.
    run
        Command, inputs (no credentials), vintages and options for the run table.
    overwrite
        Replace the schema if it exists.
    argument
        The option named in errors.
    """
    if isinstance(out, str | Path):
        tables = folder_tables(out)
        gpkgs = [Path(out) / "layers.gpkg"]
    else:
        tables = file_tables(out)
        gpkgs = [Path(p) for p in out if Path(p).suffix.lower() == ".gpkg"]
    styles: dict[str, tuple[str, str]] = {}
    from nbhd_geo.report.qgis import styles_for

    for gpkg in (g for g in gpkgs if g.exists()):
        for layer, (_, qml, _style) in styles_for(gpkg).items():
            if _name(layer) in tables and isinstance(tables[_name(layer)], gpd.GeoDataFrame):
                styles[_name(layer)] = (tables[_name(layer)].geometry.name, qml)
    return write_postgis(url, tables, run=run, styles=styles, overwrite=overwrite,
                         argument=argument)
