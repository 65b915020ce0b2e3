"""Checks of ``nbhd-geo report``'s options that run before any work.

Each reads at most a file's header or schema (never a whole layer), so a mistake is
reported in the first seconds, in one line that names the option and the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from nbhd_geo.errors import InputError

__all__ = ["check_report_options", "layer_columns"]

log = logging.getLogger("nbhd_geo")

IMD_POPULATION_FILE = "census2021_usual_residents_lsoa21.csv"


def layer_columns(path: str, layer: str | None) -> list[str] | None:
    """Column names of a vector file from its schema (``None`` when it cannot be read)."""
    try:
        import pyogrio

        if path.lower().endswith((".csv", ".csv.gz")):
            return list(pd.read_csv(path, nrows=0).columns)
        return [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
    except Exception:  # noqa: BLE001 - unreadable here: reading the layer will say why
        return None


def _has_names(columns: list[str]) -> bool:
    return any(c.upper().endswith("NM") or c.lower().endswith("_name") or c.lower() == "name"
               for c in columns)


def _imd_has_population(imd_path: str) -> bool:
    """Whether the indices given carry a population (a folder with a population file)."""
    p = Path(imd_path)
    files = sorted(p.glob("*.csv*")) if p.is_dir() else [p]
    for f in files:
        try:
            head = [c.lower() for c in pd.read_csv(f, nrows=0).columns]
        except Exception:  # noqa: BLE001 - reading the indices will say why
            return True
        if any("population" in c or "residents" in c or "denominator" in c for c in head):
            return True
    return False


def check_report_options(*, budget: int | None, imd_path: str | None,
                         imd_population: str | None, population_path: str | None,
                         layers: Mapping[str, str], labels: Mapping[str, str],
                         split: Callable[[str], tuple[str, str | None]]) -> None:
    """Refuse mistakes in the report's options before reading any layer in full.

    Raises
    ------
    InputError
        ``--budget`` not above 0; IoD2025 indices without ``--imd-population``; a
        ``--label`` column the layer does not have (the message lists those it has).

    Examples
    --------
    >>> try:
    ...     check_report_options(budget=0, imd_path=None, imd_population=None,
    ...                          population_path=None, layers={}, labels={},
    ...                          split=lambda s: (s, None))
    ... except InputError as err:
    ...     print(str(err).split(".")[0])
    --budget: must be more than £0, not £0
    """
    for name, spec in layers.items():
        path, layer = split(spec)
        if not Path(path).exists():
            continue  # reading the layer names the missing file
        cols = layer_columns(path, layer)
        if cols is None:
            continue
        col = labels.get(name)
        if col is not None and col not in cols:
            raise InputError(f"layer {name!r} ({Path(path).name}) has no column {col!r}",
                             argument="--label",
                             fix=f"use --label {name}=COLUMN with one of {cols}")
        if col is None and not _has_names(cols):
            log.warning("--layer %s: %s has no column of unit names, so the report prints "
                        "codes; add --label %s=COLUMN to name them (columns: %s)", name,
                        Path(path).name, name, ", ".join(cols) or "none")
    if budget is not None and budget <= 0:
        raise InputError(f"must be more than £0, not £{budget:,}", argument="--budget",
                         fix="give the whole pounds to share, e.g. --budget 1000000, or leave "
                             "--budget out for no allocation")
    if imd_path and not imd_population and Path(imd_path).exists() \
            and not _imd_has_population(imd_path):
        raise InputError(
            f"the indices in {Path(imd_path).name} carry no population per LSOA, which the "
            "deprivation figures weight by", argument="--imd-population",
            fix=f"add --imd-population PATH/{IMD_POPULATION_FILE} (Census 2021 usual "
                "residents by LSOA 2021, columns lsoa21_code and usual_residents_total)")
