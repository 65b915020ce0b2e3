"""``nbhd-geo propose``: footprints of whole units that keep resident neighbourhoods whole.

A plain click command; the ``nbhd-geo`` group registers it. Library errors become one
line on stderr and exit status 2, as in the rest of the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from nbhd_geo import settings
from nbhd_geo.cli._common import _friendly, _setup_logging
from nbhd_geo.cli._database import check_db_out, db_out_option, to_database
from nbhd_geo.errors import InputError

__all__ = ["propose_cmd"]



def _layer(spec: str, id_col: str | None, argument: str):  # type: ignore[no-untyped-def]
    from nbhd_geo.io.postgis import is_postgis_url
    from nbhd_geo.io.read import read_layer

    path, layer = spec, None
    if is_postgis_url(spec):  # postgresql://…?table=…: read from the database
        return read_layer(spec, id_col=id_col)[0]
    if ":" in spec and not Path(spec).exists():
        head, _, tail = spec.rpartition(":")
        if Path(head).exists():
            path, layer = head, tail
    if not Path(path).exists():
        raise InputError(
            f"file not found: {path}", argument=argument, fix="check the path (path.gpkg:layer)"
        )
    data, _ = read_layer(path, layer=layer, id_col=id_col)
    return data


def _suppress(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Round people counts and blank those below the small-count threshold."""
    out = frame.copy()
    for c in cols:
        vals = out[c].round()
        out[c] = vals.where(vals >= settings.small_count_threshold).astype("Int64")
    return out


@click.command("propose")
@click.argument("units")
@click.option("--population", required=True, help="Population column of UNITS.")
@click.option("--id-col", default=None, help="Unit id column of UNITS (default: detected).")
@click.option("--neighbourhoods", default=None, help="Resident neighbourhoods (polygons).")
@click.option("--neighbourhood-id", default=None, help="Id column of --neighbourhoods.")
@click.option("--pcn", "pcn_csv", default=None, type=click.Path(dir_okay=False),
              help="CSV of GP registrations: unit (or lsoa), pcn (or org), patients.")
@click.option("--min-size", default=30_000.0, show_default=True,
              help="People per footprint, at least.")
@click.option("--max-size", default=50_000.0, show_default=True,
              help="People per footprint, at most.")
@click.option("--within", default=None,
              help="Column naming each unit's district/ICB; footprints never cross it.")
@click.option("--plans", "n_plans", default=5, show_default=True, help="Largest number of plans.")
@click.option("--seed", default=0, show_default=True, help="Seed (same seed, same plans).")
@click.option("--bridge-m", default=1_000.0, show_default=True,
              help="Link islands to the nearest unit within this distance (m).")
@click.option("--time-limit", default=8.0, show_default=True,
              help="Seconds for the certified optimiser (OR-Tools CP-SAT) after the fast "
                   "heuristic; it reports a proven bound on the residents any plan keeps "
                   "whole. 0: heuristic only. Progress is shown as it improves.")
@click.option("--whole-threshold", default=0.95, show_default=True,
              help="A neighbourhood is kept whole when at least this share of its "
                   "residents are in one footprint.")
@click.option("--workers", default=1, show_default=True,
              help="Solver threads (1 is reproducible with --work-limit).")
@click.option("--work-limit", default=None, type=float,
              help="Deterministic work limit for the solver (same inputs, same plan).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="GeoPackage to write: layers plan_N (footprints) and plan_N_units.")
@click.option("--scorecards", default=None, type=click.Path(dir_okay=False),
              help="CSV of scorecards (default: OUT with _scorecards.csv).")
@db_out_option
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less output.")
@_friendly
def propose_cmd(units: str, population: str, id_col: str | None, neighbourhoods: str | None,
                neighbourhood_id: str | None, pcn_csv: str | None, min_size: float,
                max_size: float, within: str | None, n_plans: int, seed: int, bridge_m: float,
                time_limit: float, whole_threshold: float, workers: int,
                work_limit: float | None, out: str, scorecards: str | None, verbose: int,
                quiet: int, db_out: str | None = None) -> None:
    """Propose footprints of MIN–MAX people built from whole UNITS.

    Writes every plan to OUT (EPSG:27700), the scorecards to a CSV and, with
    neighbourhoods, which neighbourhoods each plan keeps whole to a second CSV.
    """
    _setup_logging(verbose, quiet)
    check_db_out(db_out)
    if neighbourhoods:
        # They are crossed with the units by the exact engine: load its kernels while the
        # inputs are read, as the other commands that cross layers do.
        from nbhd_geo.overlay.exact import load_in_background

        load_in_background()
    from nbhd_geo.plan import ContiguityOptions, SearchOptions

    plan_options = {
        "whole_threshold": whole_threshold,
        "contiguity": ContiguityOptions(bridge_m=bridge_m),
        "search": SearchOptions(seed=seed, time_limit=time_limit, work_limit=work_limit,
                                workers=workers),
    }
    written = _run(units, population, id_col, neighbourhoods, neighbourhood_id, pcn_csv,
                   (min_size, max_size), within, n_plans, out, scorecards, plan_options)
    if db_out:
        to_database(db_out, written, inputs=[units, *([neighbourhoods] if neighbourhoods
                                                      else [])])


def _run(units: str, population: str, id_col: str | None, neighbourhoods: str | None,
         neighbourhood_id: str | None, pcn_csv: str | None, size: tuple[float, float],
         within: str | None, n_plans: int, out: str, scorecards: str | None,
         plan_options: dict[str, Any]) -> list[str]:
    """Propose plans with ``plan_options`` (whole threshold, contiguity, search); write them."""
    from nbhd_geo.plan import propose_footprints

    unit_layer = _layer(units, id_col, "units")
    nb = _layer(neighbourhoods, neighbourhood_id, "neighbourhoods") if neighbourhoods else None
    pcn = None
    if pcn_csv:
        if not Path(pcn_csv).exists():
            raise InputError(f"file not found: {pcn_csv}", argument="pcn", fix="check the path")
        pcn = pd.read_csv(pcn_csv)
    res = propose_footprints(
        unit_layer, population=population, neighbourhoods=nb, pcn=pcn, size=size,
        within=within, n_plans=n_plans, **plan_options,
    )
    out_path = Path(out)
    if out_path.exists():
        out_path.unlink()
    for plan in res.plans:
        plan.footprints.to_file(out_path, layer=plan.name, driver="GPKG", engine="pyogrio")
        unit_gdf = unit_layer[[unit_layer.geometry.name]].copy()
        unit_gdf["footprint"] = plan.assignment.set_index("unit")["footprint"].reindex(
            unit_gdf.index).to_numpy()
        unit_gdf = unit_gdf.rename_axis("unit").reset_index()
        unit_gdf.to_file(out_path, layer=f"{plan.name}_units", driver="GPKG", engine="pyogrio")
    card_path = Path(scorecards) if scorecards else out_path.with_name(
        out_path.stem + "_scorecards.csv")
    res.to_frame().to_csv(card_path)
    written = [str(out_path), str(card_path)]
    if nb is not None:
        rows = [p.neighbourhoods.assign(plan=p.name) for p in res.plans]
        table = _suppress(pd.concat(rows, ignore_index=True), ["people", "people_in_main"])
        nb_path = out_path.with_name(out_path.stem + "_neighbourhoods.csv")
        table.to_csv(nb_path, index=False)
        written.append(str(nb_path))
    summary = res.contiguity.summary()
    best = res.best().scorecard
    click.echo(
        f"{len(res.plans)} plan(s); best keeps "
        + (f"{best['share_whole']:.1%} of neighbourhood residents whole "
           f"(at least {res.whole_threshold:.0%} in one footprint), "
           if "share_whole" in best else "")
        + f"{int(best['n_footprints'])} footprints of {best['pop_min']:,.0f}–"
        f"{best['pop_max']:,.0f} people; islands {summary['islands']}, bridges "
        f"{summary['bridges']}, enclaves {summary['enclaves']}"
    )
    if res.certificate is not None:
        c = res.certificate
        click.echo(f"certified optimiser ({c.status}, {c.seconds:.1f} s): {c.summary()}")
    click.echo("wrote " + ", ".join(written))
    return written
