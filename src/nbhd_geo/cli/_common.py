"""Shared by every command: one-line errors and exit codes, logging from -v/-q, progress bars."""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from nbhd_geo.errors import NbhdGeoError

__all__: list[str] = []

log = logging.getLogger("nbhd_geo")


_CLI_SPELLING = (
    # The library's option objects hold the settings the CLI spells as flags.
    (re.compile(r"\b(?:coords|csv|privacy)=\w+\(([^()]*)\)"), r"\1"),
    (re.compile(r"\bto_crs=(?=[\s)/,;]|$)"), "--to-crs"),
    (re.compile(r"\bcrs=(?=[\s)/,;]|$)"), "--crs"),
    (re.compile(r"--crs/--to-crs"), "--crs/--to-crs"),
    (re.compile(r"""\bto_crs=["']?([^"',;)\s]+)["']?"""), r"--to-crs \1"),
    (re.compile(r"""\bcrs=["']?([^"',;)\s]+)["']?"""), r"--crs \1"),
    (re.compile(r",? or pass strict=False[^.]*"), ""),  # no such option in the CLI
    (re.compile(r"\bid_col=(?=[\s)/,;.]|$)"), "--id-col"),
    (re.compile(r"\bname_col=(?=[\s)/,;.]|$)"), "--name-col"),
    (re.compile(r"\bswap_xy=True\b"), "--swap-xy"),
    (re.compile(r"\boverride_crs=True\b"), "--override-crs"),
    (re.compile(r"""\boutside=["']?reject["']?"""), "--outside reject"),
    (re.compile(r"\bid_col=None\b"), "no --id-col"),
    (re.compile(r"""\bid_col=["']?([^"',;)\s]+)["']?"""), r"--id-col \1"),
    (re.compile(r"\bid_col="), "--id-col "),
    (re.compile(r"\bname_col="), "--name-col "),
    (re.compile(r"\bkeep_columns\b"), "--keep-column"),
    (re.compile(r"""\blayer=["']?([^"',;)\s]+)["']?"""), r"FILE:\1 (path:layer)"),
    (re.compile(r"\blayer=\s"), "FILE:LAYER "),
    (re.compile(r"\s*\((?:max_\w+|in Python:)[^)]*\)"), ""),
    (re.compile(r"^crs: "), "--crs: "),
    (re.compile(r"^to_crs: "), "--to-crs: "),
    (re.compile(r"^id_col: "), "--id-col: "),
    (re.compile(r"^name_col: "), "--name-col: "),
    (re.compile(r"^keep_columns: "), "--keep-column: "),
    (re.compile(r"^outside: "), "--outside: "),
    (re.compile(r"^layer: "), "layer: "),
)


class _StderrHandler(logging.StreamHandler):
    """Write to whatever ``sys.stderr`` is now (it is replaced when the CLI is embedded)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _setup_logging(verbose: int, quiet: int) -> int:
    """Set the log level from -v/-q (given before or after the command); return quiet.

    Warnings from pyogrio, geopandas, matplotlib, … go through the log as one line
    each (``warning: …``), and are silenced by ``-q``.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        root = ctx.find_root().params
        verbose += int(root.get("verbose") or 0)
        quiet += int(root.get("quiet") or 0)
    # -q: errors only (warnings and progress silenced); -v: more; -vv: debug.
    level = logging.ERROR if quiet else max(logging.INFO - 10 * verbose, logging.DEBUG)
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    for name in ("pyogrio", "fiona", "matplotlib", "PIL"):
        logging.getLogger(name).setLevel(logging.ERROR if quiet else logging.WARNING)
    if quiet:
        warnings.simplefilter("ignore")
    else:
        def show(message: Any, category: Any, filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
            text = " ".join(str(message).split())
            log.warning("warning: %s", text if verbose else text[:300])

        warnings.showwarning = show
    return quiet


def _progress(quiet: int) -> bool:
    """Progress bars: not under -q, and only when stderr is a terminal."""
    return quiet == 0 and sys.stderr.isatty()


def _cli_message(err: Exception) -> str:
    """Rewrite a library message in the CLI's own syntax, on one line."""
    text = str(err)
    problems = getattr(err, "problems", None)
    if problems and len(problems) > 10:  # one line, not a thousand
        head, _, _ = text.partition("\n  - ")
        rest = text.rpartition("\n  - ")[2].partition(". Fix: ")[2]
        text = (head + "\n  - " + "\n  - ".join(problems[:10])
                + f"\n  - … and {len(problems) - 10} more" + (f". Fix: {rest}" if rest else ""))
    text = " ".join(text.replace(":\n  - ", ": ").replace("\n  - ", "; ").split())
    for pattern, repl in _CLI_SPELLING:
        text = pattern.sub(repl, text)
    return text


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into clean messages and exit codes."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NbhdGeoError as err:
            click.echo(f"error: {_cli_message(err)}", err=True)
            sys.exit(2)
        except OSError as err:  # disk full, permissions, a folder removed meanwhile
            where = f" {err.filename}" if getattr(err, "filename", None) else ""
            click.echo(f"error: cannot read or write{where}: {err.strerror or err}. Fix: check "
                       "the path, free space and permissions.", err=True)
            sys.exit(2)
        except MemoryError:
            click.echo("error: out of memory. Fix: use smaller inputs, or lower the limits "
                       "(--max-features, --max-vertices, --max-bytes).", err=True)
            sys.exit(2)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as err:  # noqa: BLE001 - the CLI must never show a bare traceback
            if log.isEnabledFor(logging.DEBUG):
                log.exception("internal error")
            first = " ".join(str(err).split())[:300]
            click.echo(
                f"internal error: {type(err).__name__}: {first} (a bug in nbhd_geo: please "
                "report it with the command you ran; rerun with -v for the traceback)",
                err=True,
            )
            sys.exit(3)

    return wrapper


verbosity = [
    click.option("-v", "--verbose", count=True, help="More output (-vv for debug)."),
    click.option("-q", "--quiet", count=True, help="Less output."),
]


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(verbosity):
        func = opt(func)
    return func
