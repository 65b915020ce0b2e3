"""``nbhd-geo``: the command line. Thin click wrappers over the library.

Every :class:`~nbhd_geo.errors.NbhdGeoError` is printed as one plain message
(argument, ids, fix) with exit status 2; anything unexpected is reported in one line
with exit status 3 (``-v`` shows the traceback). No bare tracebacks.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import click

from nbhd_geo.cli._common import (
    _common,
    _friendly,
    _progress,
    _setup_logging,
    log,
)
from nbhd_geo.cli._database import check_db_out, db_out_option, to_database
from nbhd_geo.errors import InputError, NbhdGeoError

__all__ = ["main", "cli"]



def _start_compiling(*, voices: bool = False) -> None:
    """Load the kernels this command needs from numba's cache, in the background.

    Called first thing by every command that crosses layers (``voices``: and builds a
    consensus), so that reading the inputs overlaps it; commands that cross nothing do not
    pay for it. A cold cache is left to the kernels' first calls, which run them as Python
    while that is cheaper than compiling (:meth:`~nbhd_geo.overlay.exact.jit.KernelSet.pick`).
    ``NBHD_GEO_PRECOMPILE=0`` turns it off.
    """
    if voices:  # the consensus comes before the crosswalks in the report
        from nbhd_geo.voices._grid import load_in_background as load_voices

        load_voices()
    from nbhd_geo.overlay.exact import load_in_background

    load_in_background()


def _named(option: str, func: Any, *args: Any) -> Any:
    """Call ``func``; an error it raises about its own parameter is re-worded for ``option``.

    Library errors name the Python argument (``path_or_dir``); a planner typed ``--imd``.
    """
    try:
        return func(*args)
    except NbhdGeoError as err:
        if err.argument is not None and err.argument.startswith("-"):
            raise
        try:
            named = type(err)(err.problem, argument=option, ids=err.ids, fix=err.fix)
        except TypeError:  # a subclass with its own constructor
            named = InputError(err.problem, argument=option, ids=err.ids, fix=err.fix)
        raise named from err

def write_csv(df: Any, path: str | Path, *, index: bool = False) -> Path:
    """Write a CSV safe to open in a spreadsheet (:func:`nbhd_geo.io.publish.write_csv`)."""
    from nbhd_geo.io.publish import write_csv as _write

    return _write(df, path, index=index)


def _is_db(spec: str) -> bool:
    """Tell a ``postgresql://`` source (read by :mod:`nbhd_geo.io.postgis`), not a file."""
    return spec.strip().lower().startswith(("postgresql://", "postgres://"))


def _split_layer(spec: str) -> tuple[str, str | None]:
    """``path.gpkg:layer`` -> (path, layer); plain paths and database URLs unchanged."""
    if ":" in spec and not _is_db(spec) and not Path(spec).exists():
        path, _, layer = spec.rpartition(":")
        if Path(path).exists():
            return path, layer
    return spec, None


def _read_layer(spec: str, *, id_col: str | None, argument: str, limits: Any = None) -> Any:
    from nbhd_geo.io.read import read_layer

    path, layer = _split_layer(spec)
    if not _is_db(path) and not Path(path).exists():
        raise InputError(
            f"file not found: {path}", argument=argument, fix="check the path (use path.gpkg:layer)"
        )
    data, report = read_layer(path, layer=layer, id_col=id_col, limits=limits)
    log.info("%s: %s", argument, report.summary(max_lines=5).splitlines()[0])
    return data


def _read_drawings(paths: Sequence[str], **kw: Any) -> tuple[Any, Any]:
    from nbhd_geo.reconcile import read_drawings_many

    return read_drawings_many([_split_layer(p) for p in paths], **kw)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nbhd_geo")
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less output (no warnings, no progress bars).")
def cli(verbose: int, quiet: int) -> None:
    """Reconcile resident-drawn neighbourhoods with statutory geographies."""


def _reading_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options of every command that reads resident drawings (applied to each file)."""
    options = [
        click.option("--crs", default=None,
                     help="CRS of files that declare none, e.g. EPSG:4326 or EPSG:27700."),
        click.option("--override-crs", is_flag=True,
                     help="Let --crs replace the CRS a file declares (when it is wrong)."),
        click.option("--to-crs", default=None,
                     help="Working CRS (projected, metres); default EPSG:27700."),
        click.option("--swap-xy", is_flag=True,
                     help="Swap x and y (files written as latitude, longitude)."),
        click.option("--outside", type=click.Choice(["raise", "reject"]), default="raise",
                     show_default=True,
                     help="Features outside Great Britain or with impossible coordinates: "
                          "stop with an error, or reject them and go on."),
        click.option("--keep-column", "keep_columns", multiple=True,
                     help="Keep this column of the drawings in the outputs (only the id, "
                          "the name column and the geometry are kept otherwise); personal "
                          "data inside it is still blanked out. Repeatable."),
        click.option("--overwrite", is_flag=True,
                     help="Replace a non-empty --out folder."),
        click.option("--max-features", type=int, default=None,
                     help="Most features per file (default 1,000,000)."),
        click.option("--max-vertices", type=int, default=None,
                     help="Most vertices per file (default 50,000,000)."),
        click.option("--max-bytes", type=int, default=None,
                     help="Largest file once decompressed, in bytes (default 1 GB)."),
        click.option("--max-label-length", type=int, default=None,
                     help="Longest id or name kept whole (default 200 characters)."),
        click.option("--max-attribute-bytes", type=int, default=None,
                     help="Most bytes of attribute values read per file (default 256 MB)."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


def _limits(max_features: int | None, max_vertices: int | None, max_bytes: int | None,
            max_label_length: int | None, max_attribute_bytes: int | None = None) -> Any:
    from nbhd_geo.io.guards import DEFAULT_LIMITS

    for name, value in (("--max-features", max_features), ("--max-vertices", max_vertices),
                        ("--max-bytes", max_bytes), ("--max-label-length", max_label_length),
                        ("--max-attribute-bytes", max_attribute_bytes)):
        if value is not None and value < 1:
            raise InputError(f"must be a positive number, not {value}", argument=name,
                             fix=f"use {name} 1 or more")
    return DEFAULT_LIMITS.with_overrides(max_features=max_features, max_vertices=max_vertices,
                                         max_bytes=max_bytes,
                                         max_label_length=max_label_length,
                                         max_attribute_bytes=max_attribute_bytes)


def _read_all_drawings(drawings: Sequence[str], *, name_col: str | None, id_col: str | None,
                       keep_personal: bool, crs: str | None, override_crs: bool,
                       to_crs: str | None, swap_xy: bool, outside: str,
                       keep_columns: Sequence[str], limits: Any) -> tuple[Any, Any, list[Any]]:
    """Read DRAWINGS with the reading options; refuse when nothing usable is left."""
    reports: list[Any] = []
    for spec in drawings:
        path, _ = _split_layer(spec)
        if not _is_db(path) and not Path(path).exists():
            raise InputError(f"file not found: {path}", argument="DRAWINGS",
                             fix="check the path (use path.gpkg:layer for one layer)")
    from nbhd_geo.io.options import CoordOptions, PrivacyOptions

    coords = CoordOptions(to_crs=to_crs, override_crs=override_crs, swap_xy=swap_xy,
                          outside=outside)  # type: ignore[arg-type]
    privacy = PrivacyOptions(keep_columns=keep_columns, keep_personal=keep_personal)
    kw: dict[str, Any] = dict(name_col=name_col, id_col=id_col, crs=crs, limits=limits,
                              coords=coords, privacy=privacy, on_report=reports.append)
    log.info("reading %d drawing file%s …", len(drawings), "s" if len(drawings) > 1 else "")
    data, report = _read_drawings(drawings, **kw)
    log.info("read %d features: %d usable", len(report), len(data))
    for rep in reports:
        if rep.dropped_columns:
            log.info("%s: columns left out: %s (keep one with --keep-column NAME)",
                     rep.source, ", ".join(f"{c} ({r})" for c, r in rep.dropped_columns.items()))
    if len(data) == 0:
        said = report.loc[report["reason"].fillna("") != "", "reason"]
        why = "; ".join(pd_unique(said)[:3]) or "no features"
        raise InputError(
            f"no drawing can be used: all {len(report)} features were rejected ({why})",
            argument="DRAWINGS",
            fix="check the file holds polygons, and its CRS (--crs, --swap-xy, --outside)")
    return data, report, reports


def pd_unique(values: Any) -> list[str]:
    """Distinct values in order of first appearance."""
    return list(dict.fromkeys(str(v) for v in values))


@cli.command("read")
@click.argument("drawings", nargs=-1, required=True)
@click.option("--name-col", default=None, help="Column with the neighbourhood name.")
@click.option("--id-col", default=None, help="Column with the drawing id.")
@click.option("--keep-personal", is_flag=True,
              help="Keep every column and id as read, unredacted (not for publishing).")
@_reading_options
@click.option("--out", required=True, type=click.Path(), help="Output folder.")
@_common
@_friendly
def read_cmd(drawings: tuple[str, ...], name_col: str | None, id_col: str | None,
             keep_personal: bool, crs: str | None, override_crs: bool, to_crs: str | None,
             swap_xy: bool, outside: str, keep_columns: tuple[str, ...], overwrite: bool,
             max_features: int | None, max_vertices: int | None, max_bytes: int | None,
             max_label_length: int | None, max_attribute_bytes: int | None, out: str,
             verbose: int, quiet: int) -> None:
    """Read, validate and repair DRAWINGS; write them and the read report.

    Writes drawings.gpkg (personal columns dropped), read_report.csv (one row per input
    feature) and read_summary.txt (per file: counts, CRS, notes, dropped columns).
    """
    from nbhd_geo.io.publish import check_output_folder, staged_output, write_csv, write_gpkg

    _setup_logging(verbose, quiet)
    check_output_folder(out, overwrite=overwrite)
    limits = _limits(max_features, max_vertices, max_bytes, max_label_length,
                     max_attribute_bytes)
    data, report, reports = _read_all_drawings(
        drawings, name_col=name_col, id_col=id_col, keep_personal=keep_personal, crs=crs,
        override_crs=override_crs, to_crs=to_crs, swap_xy=swap_xy, outside=outside,
        keep_columns=keep_columns, limits=limits)
    with staged_output(out, overwrite=overwrite) as stage:
        write_gpkg(data, stage / "drawings.gpkg", "drawings",
                   keep=[*keep_columns, "neighbourhood", "source"],
                   drop_personal=not keep_personal)
        write_csv(report, stage / "read_report.csv")
        (stage / "read_summary.txt").write_text(
            "\n\n".join(r.summary(max_lines=None) for r in reports) + "\n", encoding="utf-8")
    out_dir = Path(out)
    click.echo(f"{len(data)} drawings kept or repaired; report: {out_dir / 'read_report.csv'}")


@cli.command("crosswalk")
@click.argument("source")
@click.argument("target")
@click.option("--source-id", default=None, help="Id column of SOURCE.")
@click.option("--target-id", default=None, help="Id column of TARGET.")
@click.option("--sliver-tol", type=float, default=None, help="Flag overlaps below this many m².")
@click.option("--engine", type=click.Choice(["exact", "geos"]), default="exact", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output CSV.")
@db_out_option
@_common
@_friendly
def crosswalk_cmd(source: str, target: str, source_id: str | None, target_id: str | None,
                  sliver_tol: float | None, engine: str, out: str, verbose: int,
                  quiet: int, db_out: str | None = None) -> None:
    """Exact overlap table between two polygon layers (path or path.gpkg:layer)."""
    _start_compiling()
    from nbhd_geo.overlay.crosswalk import crosswalk

    _setup_logging(verbose, quiet)
    check_db_out(db_out)
    src = _read_layer(source, id_col=source_id, argument="SOURCE")
    tgt = _read_layer(target, id_col=target_id, argument="TARGET")
    cw = crosswalk(src, tgt, sliver_tol_m2=sliver_tol, engine=engine)  # type: ignore[arg-type]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_csv(cw.to_frame(), out)
    s = cw.summary()
    click.echo(
        f"{s['pairs']} overlapping pairs ({s['slivers']} slivers < {s['sliver_tol_m2']} m²); "
        f"{s['sources_without_overlap']} source features overlap nothing; wrote {out}"
    )
    if db_out:
        to_database(db_out, [out], inputs=[source, target])


@cli.command("best-fit")
@click.argument("areas")
@click.argument("units")
@click.option("--method", type=click.Choice(["max_iou", "majority", "centroid"]),
              default="max_iou", show_default=True)
@click.option("--area-id", default=None, help="Id column of AREAS.")
@click.option("--unit-id", default=None, help="Id column of UNITS.")
@click.option("--population", "population_col", default=None,
              help="Population column of UNITS (adds population fit measures).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output CSV.")
@_common
@_friendly
def best_fit_cmd(areas: str, units: str, method: str, area_id: str | None, unit_id: str | None,
                 population_col: str | None, out: str, verbose: int, quiet: int) -> None:
    """Statutory units standing in for each drawn area, and the quality of the fit."""
    _start_compiling()
    from nbhd_geo.overlay.bestfit import best_fit

    _setup_logging(verbose, quiet)
    drawn, _ = _read_drawings([areas], id_col=area_id)
    layer = _read_layer(units, id_col=unit_id, argument="UNITS")
    fit = best_fit(drawn, layer, method=method, unit_population=population_col)  # type: ignore[arg-type]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_csv(fit.members, Path(out).with_suffix(".members.csv"))
    write_csv(fit.to_frame(), out, index=True)
    click.echo(f"best fit ({method}) for {len(fit.quality)} areas; wrote {out}")


@cli.command("check-tiling")
@click.argument("layer")
@click.option("--id-col", default=None)
@click.option("--tolerance", type=float, default=0.0, help="Ignore gaps/overlaps below this m².")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output CSV.")
@_common
@_friendly
def check_tiling_cmd(layer: str, id_col: str | None, tolerance: float, out: str,
                     verbose: int, quiet: int) -> None:
    """Find gaps and overlaps in a layer that should tile."""
    _start_compiling()
    from nbhd_geo.overlay.tiling import check_tiling

    _setup_logging(verbose, quiet)
    data = _read_layer(layer, id_col=id_col, argument="LAYER")
    rep = check_tiling(data, tolerance_m2=tolerance)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_csv(rep.to_frame(), out)
    s = rep.summary()
    click.echo(
        f"{s['overlaps']} overlaps ({s['overlap_m2']:.1f} m²), {s['gaps']} gaps "
        f"({s['gap_m2']:.1f} m²); wrote {out}"
    )


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        out[name.strip()] = rest.strip()
    return out


@cli.command("report")
@click.argument("drawings", nargs=-1, required=True)
@click.option("--layer", "layer_specs", multiple=True,
              help="Statutory layer as NAME=PATH (PATH may be file.gpkg:layer). Repeatable.")
@click.option("--geography", default=None,
              help="A GeoPackage written by `nbhd-geo fetch`: its LSOAs (with census population "
                   "and IMD 2025), wards, district and PCN footprints become the layers, the "
                   "population and the --imd.")
@click.option("--layer-id", "layer_ids", multiple=True, help="NAME=COLUMN id column of a layer.")
@click.option("--layer-population", "layer_pops", multiple=True,
              help="NAME=COLUMN population column of a layer.")
@click.option("--label", "labels", multiple=True,
              help="LAYER=COLUMN naming a layer's units (default: a *NM or *_name column).")
@click.option("--population", "population_path", default=None,
              help="Population: OA polygons or address points with counts, or a CSV of "
                   "counts keyed by unit code (e.g. Census 2021 by LSOA).")
@click.option("--population-col", default=None, help="Count column of --population.")
@click.option("--population-key", default=None,
              help="Unit code column of a --population CSV (auto-detected if omitted).")
@click.option("--name-col", default=None,
              help="Neighbourhood name column of DRAWINGS (a label; names drawn more than "
                   "once are combined into a consensus core).")
@click.option("--consensus/--no-consensus", default=None,
              help="Force consensus cores for every name, or never (default: only for names "
                   "drawn two or more times).")
@click.option("--imd", "imd_path", default=None,
              help="English Indices of Deprivation 2019 or 2025: a folder or file(s).")
@click.option("--imd-population", "imd_population", default=None,
              help="Census 2021 usual residents by LSOA (IoD2025 population), if not in --imd.")
@click.option("--imd-layer", default=None,
              help="The layer holding LSOAs of the IMD's vintage (default: the layer named "
                   "lsoa, or whose codes start with E01).")
@click.option("--budget", type=int, default=None,
              help="Whole pounds to allocate by deprivation (needs --imd).")
@click.option("--floor-share", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Share of --budget given to every neighbourhood regardless of need, as the "
                   "same amount per person everywhere.")
@click.option("--gradient", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="After the floor, the rest is shared by people weighted 1 + GRADIENT x need "
                   "(need 0 for the least deprived, 1 for the most): the most deprived get "
                   "1 + GRADIENT times the least deprived's share of the rest per person. "
                   "With the floor, their total per person is less than that.")
@click.option("--propose", is_flag=True,
              help="Add proposed footprints of whole units (see --propose-size).")
@click.option("--propose-size", default="30000,50000", show_default=True,
              help="MIN,MAX people per proposed footprint.")
@click.option("--clip-to", default=None,
              help="Study area: a unit code found in one of the layers (e.g. a district "
                   "E08000036 in --layer lad=...) or a polygon file. Units mostly outside "
                   "it are left out.")
@click.option("--pdf", "pdf", is_flag=True,
              help="Also print the board summary and index to report.pdf (needs Chromium).")
@click.option("--small-count", type=int, default=None,
              help="Suppress counts below this in published tables (default 10).")
@click.option("--include-drawings", is_flag=True,
              help="Also publish every individual drawing (layers.gpkg layer 'drawings', "
                   "outliers.csv). Off by default: one row per drawing shows how many "
                   "people drew each name even where counts below --small-count are "
                   "suppressed, so the report is then no longer fit to publish.")
@click.option("--title", default="Neighbourhood overlap report", show_default=True)
@click.option("--id-col", default=None, help="Drawing id column of DRAWINGS.")
@_reading_options
@click.option("--out", required=True, type=click.Path(), help="Output folder.")
@db_out_option
@_common
@_friendly
def report_cmd(drawings: tuple[str, ...], layer_specs: tuple[str, ...], geography: str | None,
               layer_ids: tuple[str, ...], layer_pops: tuple[str, ...],
               labels: tuple[str, ...], population_path: str | None,
               population_col: str | None, population_key: str | None, name_col: str | None,
               consensus: bool | None, imd_path: str | None, imd_population: str | None,
               imd_layer: str | None, budget: int | None, floor_share: float, gradient: float,
               clip_to: str | None, pdf: bool, small_count: int | None,
               include_drawings: bool, title: str,
               id_col: str | None, crs: str | None,
               override_crs: bool, to_crs: str | None, swap_xy: bool, outside: str,
               keep_columns: tuple[str, ...], overwrite: bool, max_features: int | None,
               max_vertices: int | None, max_bytes: int | None,
               max_label_length: int | None, max_attribute_bytes: int | None, out: str,
               verbose: int, quiet: int, propose: bool = False,
               propose_size: str = "30000,50000", db_out: str | None = None) -> None:
    """Write the overlap report for DRAWINGS against statutory layers."""
    _start_compiling(voices=True)
    from nbhd_geo.cli.report_inputs import (
        clip_layers,
        imd_layer_name,
        population_inputs,
        read_size_option,
    )
    from nbhd_geo.io.publish import check_output_folder
    from nbhd_geo.reconcile import LayerSpec, neighbourhood_areas
    from nbhd_geo.report.overlap import overlap_report

    quiet = _setup_logging(verbose, quiet)
    check_output_folder(out, overwrite=overwrite)
    check_db_out(db_out)
    limits = _limits(max_features, max_vertices, max_bytes, max_label_length,
                     max_attribute_bytes)
    if small_count is not None and small_count < 0:
        raise InputError(f"must be 0 or more, not {small_count}", argument="--small-count",
                         fix="use --small-count 10 (the default) or another whole number")
    if not layer_specs and not geography:
        raise InputError("needs statutory layers to report against", argument="--layer",
                         fix="give --layer NAME=PATH (repeatable), or --geography FILE.gpkg "
                             "from `nbhd-geo fetch --district CODE --out FILE.gpkg`")
    paths = _pairs(layer_specs, "--layer")
    bad_names = [n for n in paths if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", n)]
    if bad_names:
        raise InputError(f"layer names {bad_names} are not plain names", argument="--layer",
                         fix="use letters, digits, _ or - in NAME (--layer NAME=PATH), "
                             "e.g. --layer lsoa=lsoa.gpkg")
    ids = _pairs(layer_ids, "--layer-id")
    pops = _pairs(layer_pops, "--layer-population")
    label_cols = _pairs(labels, "--label")
    unknown = (set(ids) | set(pops) | set(label_cols)) - set(paths)
    if unknown:
        raise InputError(f"refers to layers not given with --layer: {sorted(unknown)}",
                         argument="--layer-id/--layer-population/--label",
                         fix=f"use one of {sorted(paths)}")
    from nbhd_geo.cli.report_checks import check_report_options

    check_report_options(budget=budget, imd_path=imd_path, imd_population=imd_population,
                         population_path=population_path, layers=paths, labels=label_cols,
                         split=_split_layer)
    if budget is not None and not imd_path and not geography:
        raise InputError("--budget shares money by deprivation, so it needs the indices",
                         argument="--budget",
                         fix="add --imd PATH (IoD2019 or IoD2025), or --geography FILE.gpkg")
    # The indices first: a wrong --imd file is refused in seconds, before the drawings and
    # the statutory layers (the slow part) are read.
    imd = None
    if imd_path:
        from nbhd_geo.deprivation.imd import read_imd

        sources: list[str] = [imd_path] if not imd_population else [imd_path, imd_population]
        if imd_population and Path(imd_path).is_dir():
            sources = [str(p) for p in sorted(Path(imd_path).glob("*.csv*"))] + [imd_population]
        imd = _named("--imd", read_imd, sources if len(sources) > 1 else sources[0])
    size = read_size_option(propose_size) if propose else None
    data, report, _ = _read_all_drawings(
        drawings, name_col=name_col, id_col=id_col, keep_personal=False, crs=crs,
        override_crs=override_crs, to_crs=to_crs, swap_xy=swap_xy, outside=outside,
        keep_columns=keep_columns, limits=limits)
    data.attrs["keep_columns"] = list(keep_columns)  # honoured when layers.gpkg is written
    log.info("reading %d statutory layer%s …", len(paths), "s" if len(paths) > 1 else "")
    layers = [
        LayerSpec(name, _read_layer(spec, id_col=ids.get(name), argument=f"--layer {name}",
                                    limits=limits),
                  pops.get(name))
        for name, spec in paths.items()
    ]
    geo = None
    if geography:
        from nbhd_geo.official import read_geography

        if not Path(geography).exists():
            raise InputError(f"file not found: {geography}", argument="--geography",
                             fix="write it first: nbhd-geo fetch --district CODE --out FILE.gpkg")
        geo = read_geography(geography)
        layers += [s for s in geo.layer_specs() if s.name not in paths]
    if geo is not None and not imd_path:
        imd = geo.imd_table()
    weights, population_col, layers, pop_note = population_inputs(
        layers, population_path, population_col, population_key, _split_layer, _geom_kind)
    study = None
    if clip_to:  # after the population, so the units left out keep their people
        layers, study = clip_layers(layers, clip_to, _split_layer)
    log.info("finding the areas to report on …")
    if name_col:
        areas, label_col, intro, cons = neighbourhood_areas(data, by="neighbourhood",
                                                            consensus=consensus)
    else:
        areas, label_col, intro, cons = data, None, [], None
    log.info("reconciling %d areas with %s and writing the report …", len(areas),
             ", ".join(s.name for s in layers))
    from nbhd_geo.report.options import (
        AllocationOptions,
        DeprivationOptions,
        DrawingOptions,
        LabelOptions,
        PageOptions,
        PopulationOptions,
    )

    dep = None
    if imd is not None:
        allocation = (AllocationOptions(budget, floor_share, gradient)
                      if budget is not None else None)
        dep = DeprivationOptions(imd, imd_layer_name(layers, imd_layer), allocation)
    result = overlap_report(
        areas, layers, out, labels=LabelOptions(label_col, label_cols),
        drawings=DrawingOptions(data, cons, report, include_drawings),
        population=PopulationOptions(weights, population_col if weights is not None else None,
                                     pop_note),
        deprivation=dep, page=PageOptions(title=title, intro=intro, threshold=small_count),
        progress=_progress(quiet), overwrite=overwrite, propose=size, study_area=study)
    click.echo(f"report written to {out}/index.html ({len(result.files)} files; "
               f"open {out}/layers.qgs in QGIS)")
    if db_out:
        to_database(db_out, out, inputs=[*drawings, *paths.values()],
                    vintages={"imd": imd.vintage if imd is not None else None},
                    overwrite=overwrite)
    if pdf:
        from nbhd_geo.report.page.pdf import print_pdf

        path = print_pdf(Path(out) / "index.html", Path(out) / "report.pdf")
        click.echo(f"PDF of the board summary and index: {path}")


def _geom_kind(path: str, layer: str | None) -> Literal["polygon", "point"]:
    import pyogrio

    from nbhd_geo.io.guards import DEFAULT_LIMITS, clean_geojson, no_network, read_bytes_bounded

    if _is_db(path):
        from nbhd_geo.io.postgis import geometry_kind

        return geometry_kind(path, layer)
    no_network()
    try:
        name = Path(path).name.lower()
        target: Any = path
        if name.endswith((".geojson", ".json", ".geojson.gz", ".json.gz")):
            # Never let GDAL see a linked CRS, even just to look at the geometry type.
            data = read_bytes_bounded(Path(path), name.endswith(".gz"), "--population",
                                      DEFAULT_LIMITS)
            target, layer = clean_geojson(data, "--population", DEFAULT_LIMITS)[0], None
        info = pyogrio.read_info(target, layer=layer)
    except Exception:  # noqa: BLE001 - CSVs and odd sources: let read_layer decide
        return "polygon"
    return "point" if "Point" in str(info.get("geometry_type", "")) else "polygon"


@cli.command("imd-summary")
@click.argument("areas")
@click.option("--lsoa", "lsoa_path", required=True,
              help="LSOA boundaries of the IMD's vintage (path or path.gpkg:layer).")
@click.option("--lsoa-id", default=None, help="LSOA code column (auto-detected if omitted).")
@click.option("--imd", "imd_path", required=True,
              help="Folder or file(s) of the English Indices of Deprivation (2019 or 2025).")
@click.option("--area-id", default=None, help="Id column of AREAS.")
@click.option("--population", "population_path", default=None,
              help="Finer population (OA polygons or address points) to share partial LSOAs.")
@click.option("--population-col", default=None, help="Count column of --population.")
@click.option("--wide", is_flag=True, help="One row per area instead of the long table.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output CSV.")
@_common
@_friendly
def imd_summary_cmd(areas: str, lsoa_path: str, lsoa_id: str | None, imd_path: str,
                    area_id: str | None, population_path: str | None,
                    population_col: str | None, wide: bool, out: str, verbose: int,
                    quiet: int) -> None:
    """MHCLG deprivation summaries (IMD and domains) for any polygons in AREAS."""
    _start_compiling()
    from nbhd_geo.deprivation.imd import read_imd
    from nbhd_geo.deprivation.summary import imd_summary, to_wide
    from nbhd_geo.io.read import read_layer

    _setup_logging(verbose, quiet)
    path, layer = _split_layer(areas)
    drawn, _ = read_layer(path, layer=layer, id_col=area_id, strict=False)
    lsoa = _read_layer(lsoa_path, id_col=lsoa_id, argument="--lsoa")
    imd = _named("--imd", read_imd, imd_path)
    weights = None
    if population_path:
        ppath, player = _split_layer(population_path)
        weights, _ = read_layer(ppath, layer=player, geom_type=_geom_kind(ppath, player))
    summary = imd_summary(drawn.reset_index(), lsoa.reset_index(), imd, population=weights,
                          population_col=population_col, area_id=drawn.index.name,
                          lsoa_id=lsoa.index.name)
    table = to_wide(summary) if wide else summary
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_csv(table, out, index=wide)
    how = summary.attrs.get("apportioned_by", "")
    click.echo(f"IMD {imd.vintage} summaries for {len(drawn)} areas (partial LSOAs shared by "
               f"{how}); wrote {out}")


@cli.command("pcn-footprints")
@click.option("--registrations", required=True, help="Patients registered by practice and LSOA.")
@click.option("--membership", required=True, help="Practice -> PCN (ePCN xlsx or CSV).")
@click.option("--lsoa", "lsoa_path", required=True, help="LSOA boundaries (path[:layer]).")
@click.option("--lsoa-id", default=None, help="LSOA code column (auto-detected if omitted).")
@click.option("--method", type=click.Choice(["plurality", "min_share"]), default="plurality",
              show_default=True)
@click.option("--threshold", type=float, default=0.05, show_default=True,
              help="Minimum share for --method min_share.")
@click.option("--level", type=click.Choice(["pcn", "practice"]), default="pcn",
              show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@_common
@_friendly
def pcn_footprints_cmd(registrations: str, membership: str, lsoa_path: str,
                       lsoa_id: str | None, method: str, threshold: float, level: str,
                       out: str, verbose: int, quiet: int) -> None:
    """PCN (or practice) footprints from where registered patients live."""
    _start_compiling()
    from nbhd_geo.pcn import pcn_footprints, read_pcn_membership, read_registrations

    _setup_logging(verbose, quiet)
    for arg, value in (("--registrations", registrations), ("--membership", membership)):
        if not Path(value).exists():
            raise InputError(f"file not found: {value}", argument=arg, fix="check the path")
    regs = read_registrations(registrations)
    members = read_pcn_membership(membership)
    lsoa = _read_layer(lsoa_path, id_col=lsoa_id, argument="--lsoa")
    fp = pcn_footprints(regs, members, lsoa.reset_index(), method=method,  # type: ignore[arg-type]
                        threshold=threshold, level=level,  # type: ignore[arg-type]
                        lsoa_id=lsoa.index.name)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    gpkg = out_dir / "pcn_footprints.gpkg"
    layers = fp.to_gpkg(gpkg)
    fp.to_frame().to_csv(out_dir / "footprints.csv", index=False)
    fp.assignments.to_csv(out_dir / "assignments.csv", index=False)
    fp.unassigned.to_csv(out_dir / "unassigned_practices.csv", index=False)
    click.echo(f"{len(fp.footprints)} {level} footprints ({method}); layers {layers} in {gpkg}")


@cli.command("demo")
@click.option("--out", default="out/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --out folder.")
@_common
@_friendly
def demo_cmd(out: str, overwrite: bool, verbose: int, quiet: int) -> None:
    """Run the main job on the bundled sample town and write everything under OUT."""
    _start_compiling(voices=True)
    from nbhd_geo.report.demo import run_demo

    quiet = _setup_logging(verbose, quiet)
    written = run_demo(Path(out), progress=_progress(quiet), overwrite=overwrite)
    click.echo(f"demo written to {out}/ ({len(written)} files); open {out}/index.html")


def _register() -> None:
    """Commands that live in their own modules (one concern per module)."""
    from nbhd_geo.cli.fetch import fetch_cmd
    from nbhd_geo.cli.propose import propose_cmd

    cli.add_command(fetch_cmd)
    cli.add_command(propose_cmd)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``nbhd-geo`` console script.

    Usage errors (an unknown option, a missing argument) are one line with exit
    status 2, like every other error: ``error: … Fix: see nbhd-geo COMMAND --help.``
    """
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="nbhd-geo",
                        standalone_mode=False)
    except click.UsageError as err:
        command = err.ctx.command_path if err.ctx is not None else "nbhd-geo"
        message = " ".join(err.format_message().split()).rstrip(".")
        click.echo(f"error: {message}. Fix: see {command} --help.", err=True)
        sys.exit(2)
    except click.ClickException as err:
        click.echo(f"error: {' '.join(err.format_message().split())}", err=True)
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
