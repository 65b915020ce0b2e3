"""``--db-out``: a command's written outputs also go to a PostGIS schema, in one transaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

_URL = re.compile(r"postgres(?:ql)?://\S+", re.IGNORECASE)

__all__: list[str] = []

db_out_option = click.option(
    "--db-out", default=None, metavar="URL",
    help="Also write every table and layer to a new PostGIS schema, all or nothing: "
         "postgresql://HOST[:PORT]/DATABASE?schema=NAME (credentials from PGPASSWORD, "
         "~/.pgpass or a service file; --overwrite replaces the schema).")


def _shown(value: Any) -> Any:
    """Return an option value fit for the run table: database URLs without credentials."""
    from nbhd_geo.errors import InputError
    from nbhd_geo.io.postgis import parse_source

    def label(match: re.Match[str]) -> str:
        try:
            return parse_source(match.group(0)).label
        except InputError:
            return "postgresql://***"

    if isinstance(value, str):  # also NAME=URL (--layer) and URLs inside other text
        return _URL.sub(label, value)
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    return value


def check_db_out(url: str | None) -> None:
    """Refuse a bad ``--db-out`` before the work starts (no connection yet)."""
    if url is None:
        return
    from nbhd_geo.io.pgwrite import check_destination

    check_destination(url)


def to_database(url: str, written: str | Path | Sequence[str | Path], *, inputs: Sequence[str],
                vintages: Mapping[str, Any] | None = None, overwrite: bool = False,
                echo: Callable[[str], None] = click.echo) -> None:
    """Publish what the current command wrote; the run table records its options."""
    from nbhd_geo.report.database import publish_folder

    ctx = click.get_current_context()
    options = {k: _shown(v) for k, v in ctx.params.items()
               if k not in ("verbose", "quiet", "db_out")}
    from nbhd_geo import __version__

    run = {"version": __version__, "command": f"nbhd-geo {ctx.info_name}",
           "inputs": [_shown(i) for i in inputs],
           "vintages": dict(vintages or {}), "options": options}
    summary = publish_folder(written, url, run=run, overwrite=overwrite)
    echo(f"wrote {summary}")
