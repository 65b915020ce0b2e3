"""``nbhd-geo fetch``: official data for one district into one GeoPackage.

The lead registers :func:`fetch_cmd` on the ``nbhd-geo`` group. Errors follow the CLI's
convention: an :class:`~nbhd_geo.errors.NbhdGeoError` is one line on stderr and exit
status 2; anything unexpected is one line and exit status 3 (``-v`` for the traceback).
"""

from __future__ import annotations

from typing import Any

import click

from nbhd_geo.cli._common import _friendly, _progress, _setup_logging
from nbhd_geo.errors import InputError

__all__ = ["fetch_cmd"]


def _none(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in ("", "none", "no") else value


def _extent(path: str) -> tuple[float, float, float, float]:
    from nbhd_geo.io.read import read_drawings

    data, _ = read_drawings(path)
    xmin, ymin, xmax, ymax = (float(v) for v in data.to_crs(27700).total_bounds)
    return xmin, ymin, xmax, ymax


def _options(base_url: str | None, static_url: str | None, cache_dir: str | None,
             offline: bool | None, accept: tuple[str, ...], retries: int | None,
             max_mb: float | None, progress: bool) -> Any:
    from nbhd_geo.official import FetchOptions, Limits

    pairs = {}
    for item in accept:
        key, sep, digest = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{item!r} is not KEY=SHA256", argument="--accept",
                             fix="e.g. --accept imd2025=<the 64-hex digest the error printed>")
        pairs[key.strip()] = digest.strip()
    changes: dict[str, Any] = {}
    if retries is not None:
        changes["retries"] = retries
    if max_mb is not None:
        changes["max_bytes"] = int(max_mb * (1 << 20))
    return FetchOptions(base_url=base_url, static_base_url=static_url, cache_dir=cache_dir,
                        offline=offline, accept=pairs, progress=progress,
                        limits=Limits().replace(**changes))


def _check(opts: Any, resolution: str) -> None:
    from nbhd_geo.official import DataError, check_sources

    if opts.offline:
        raise InputError("needs network access", argument="--check",
                         fix="drop --offline / unset NBHD_GEO_OFFLINE")
    table = check_sources(opts, resolution=resolution.upper())
    for r in table.itertuples():
        mark = "ok  " if r.status == "ok" else ("FAIL" if r.required else "warn")
        click.echo(f"{mark} {r.item:<18} {r.uses}")
        click.echo(f"     {'':<18} {r.detail}")
    failed = table[(table["status"] != "ok") & table["required"]]
    if len(failed):
        raise DataError(f"{len(failed)} required source(s) do not resolve today",
                        argument="--check", ids=list(failed["item"]),
                        fix="see the lines marked FAIL; a moved service or file needs "
                        "--base-url/--static-url, a new vintage, or an updated nbhd_geo")
    click.echo("every required source resolves")


@click.command("fetch")
@click.option("--district", default=None,
              help="Local authority district code, e.g. E08000036 (Wakefield).")
@click.option("--extent", "extent_path", default=None,
              help="Instead of --district: fetch the LSOAs meeting these drawings' extent.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="GeoPackage to write (every layer the report needs).")
@click.option("--ward-year", type=int, default=None,
              help="Ward vintage (default: the newest LSOA->ward lookup's year).")
@click.option("--imd", default="imd2025", show_default=True,
              help="IMD: dataset name, URL or file; 'none' to leave it out.")
@click.option("--population", default="census2021_ts001", show_default=True,
              help="Census 2021 population: dataset name, URL or file; 'none' to leave out.")
@click.option("--registrations", default=None,
              help="NHS patients registered at a GP practice by LSOA (file or URL).")
@click.option("--membership", default=None, help="Practice -> PCN file (ePCN; file or URL).")
@click.option("--convert-registrations", is_flag=True,
              help="Move LSOA 2011 registrations onto LSOA 2021 (ONS lookup, population "
              "weights) instead of refusing them.")
@click.option("--no-oa", is_flag=True, help="Do not try to add Output Areas 2021.")
@click.option("--no-msoa", is_flag=True, help="Do not try to add MSOAs 2021.")
@click.option("--offline", is_flag=True, default=None,
              help="Use only the cache and your files (also NBHD_GEO_OFFLINE=1).")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False),
              help="Cache folder (default NBHD_GEO_DATA, else ~/.cache/nbhd_geo).")
@click.option("--base-url", default=None,
              help="ArcGIS services root (default NBHD_GEO_ARCGIS_URL, else ONS's).")
@click.option("--static-url", default=None,
              help="Root for published files, fetched as <root>/<file name> "
              "(default NBHD_GEO_STATIC_URL, else each publisher's URL).")
@click.option("--resolution", type=click.Choice(["BGC", "BFC"], case_sensitive=False),
              default="BGC", show_default=True,
              help="Boundaries generalised (BGC) or full resolution (BFC).")
@click.option("--accept", "accept", multiple=True, metavar="KEY=SHA256",
              help="Accept these bytes for a published file (a re-issue whose digest a "
              "checksum error printed), e.g. --accept imd2025=<64 hex digits>.")
@click.option("--retries", type=int, default=None,
              help="Retries per request on 429/5xx/ArcGIS errors (default 6).")
@click.option("--max-mb", type=float, default=None,
              help="Largest download in MiB (default 1024).")
@click.option("--check", "check", is_flag=True,
              help="Live smoke test: which services and files resolve today and what a "
              "default fetch would use; exit 2 if a required one fails.")
@click.option("--list", "list_", is_flag=True, help="List the datasets and exit.")
@click.option("--dataset", default=None,
              help="Fetch one dataset: a file name prints its cached path; an ONS product "
              "prints the vintage that would be used.")
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less output.")
@_friendly
def fetch_cmd(district: str | None, extent_path: str | None, out: str | None,
              ward_year: int | None, imd: str, population: str, registrations: str | None,
              membership: str | None, convert_registrations: bool, no_oa: bool, no_msoa: bool,
              offline: bool | None, cache_dir: str | None, base_url: str | None,
              static_url: str | None, resolution: str, accept: tuple[str, ...],
              retries: int | None, max_mb: float | None, check: bool, list_: bool,
              dataset: str | None, verbose: int, quiet: int) -> None:
    """Fetch official data (ONS, MHCLG, NHS) for a district into one GeoPackage.

    Example: ``nbhd-geo fetch --district E08000036 --out wakefield.gpkg``, then
    ``nbhd-geo report drawings.geojson --geography wakefield.gpkg --out report/``.
    ``nbhd-geo fetch --check`` shows what resolves today.
    """
    from nbhd_geo import official as data

    quiet = _setup_logging(verbose, quiet)
    opts = _options(base_url, static_url, cache_dir, offline, accept, retries, max_mb,
                    _progress(quiet))
    if check:
        _check(opts, resolution)
        return
    if list_:
        table = data.list_datasets()
        for row in table.itertuples():
            click.echo(f"{row.key:<18} {row.kind:<7} {row.vintages:<28} {row.title}")
            click.echo(f"{'':<18} {row.request}")
        return
    if dataset is not None:
        if dataset in data.STATIC:
            path = data.fetch_static(dataset, options=opts)
            click.echo(str(path))
            return
        if dataset in data.PRODUCTS:
            from nbhd_geo.official.geography import client_for

            svc = client_for(opts).resolve(dataset)
            click.echo(f"{svc.describe()}\n{svc.url}")
            return
        raise InputError(f"unknown dataset {dataset!r}", argument="--dataset",
                         fix="see nbhd-geo fetch --list")
    if out is None:
        raise InputError("is required", argument="--out",
                         fix="pass --out FILE.gpkg (or --list to see the datasets)")
    if (district is None) == (extent_path is None):
        raise InputError("give exactly one of --district and --extent", argument="--district",
                         fix="e.g. --district E08000036")
    layers = [k for k, off in (("oa21", no_oa), ("msoa21", no_msoa)) if not off]
    geo = data.fetch_geography(
        district, bbox=_extent(extent_path) if extent_path else None, out=out,
        ward_year=ward_year, resolution=resolution.upper(), layers=layers, imd=_none(imd),
        population=_none(population), registrations=registrations, membership=membership,
        convert_registrations=convert_registrations, options=opts)
    for row in geo.vintages.itertuples():
        click.echo(f"  {row.layer:<14} {row.service} ({row.vintage}; {row.source})")
    for note in geo.notes:
        click.echo(f"  note: {note}")
    counts = ", ".join(f"{k} {len(v)}" for k, v in geo.layers.items())
    click.echo(f"geography written to {out} ({counts})")
