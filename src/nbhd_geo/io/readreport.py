"""The per-feature read report: every input feature kept, repaired (how) or rejected (why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import geopandas as gpd
import pandas as pd

__all__ = ['ReadReport', 'ReadResult']


@dataclass
class ReadReport:
    """What happened to every input feature of one read.

    Attributes
    ----------
    source
        The file read (or ``"<GeoDataFrame>"``), with the layer if one was chosen.
    n_input, n_kept, n_repaired, n_rejected
        Feature counts; ``n_kept + n_repaired + n_rejected == n_input`` always.
    rows
        One row per input feature, in input order: ``feature_id``, ``input_row``
        (0-based position in the source), ``status`` (``kept``, ``repaired``,
        ``rejected``), ``reason`` (``""`` when nothing to say; several reasons are
        joined by ``"; "``), ``area_in_m2`` and ``area_out_m2`` (in the working CRS).
    dropped_columns
        Columns left out of the data, by name, with the reason for each (what the
        column looks like when it looks personal, else "not used by the analysis").
        Only the id, the name column and the columns kept on request are read into
        the data; values are never quoted here.
    crs_in
        The source CRS (``"EPSG:4326"``, …), or the ``crs=`` assumed when it had none.
    crs_out
        The working CRS of the returned data.
    id_col
        Where ids came from: a column name, or ``None`` when ``row_<n>`` ids were made.
    notes
        File-level notes (ids created, CRS assumed, coordinates swapped, …).
    """

    source: str
    n_input: int
    n_kept: int
    n_repaired: int
    n_rejected: int
    rows: pd.DataFrame
    dropped_columns: dict[str, str] = field(default_factory=dict)
    crs_in: str | None = None
    crs_out: str | None = None
    id_col: str | None = None
    notes: list[str] = field(default_factory=list)

    def check(self) -> ReadReport:
        """Check that every input feature is accounted for exactly once; return self.

        Raises
        ------
        AssertionError
            If the counts do not add up, or a feature id or input row repeats.
        """
        counts = self.rows["status"].value_counts()
        problems = []
        if self.n_kept + self.n_repaired + self.n_rejected != self.n_input:
            problems.append("kept + repaired + rejected != input")
        if len(self.rows) != self.n_input:
            problems.append(f"{len(self.rows)} report rows for {self.n_input} input features")
        for status in ("kept", "repaired", "rejected"):
            if counts.get(status, 0) != getattr(self, f"n_{status}"):
                problems.append(f"n_{status} disagrees with rows")
        if not set(counts.index) <= {"kept", "repaired", "rejected"}:
            problems.append(f"unknown statuses {sorted(set(counts.index))}")
        if self.rows["feature_id"].duplicated().any():
            problems.append("duplicate feature ids in report")
        if self.rows["input_row"].duplicated().any():
            problems.append("duplicate input rows in report")
        if problems:
            raise AssertionError(f"{self.source}: report does not add up: {'; '.join(problems)}")
        return self

    def to_frame(self) -> pd.DataFrame:
        """Return the per-feature rows (a copy) with the source as an extra first column."""
        frame = self.rows.copy()
        frame.insert(0, "source", self.source)
        return frame

    def lines(self) -> list[str]:
        """One line per feature with something to say: ``"<status> <id>: <reason>"``."""
        said = self.rows[self.rows["reason"] != ""]
        return [f"{s} {i}: {r}" for i, s, r in zip(said["feature_id"], said["status"],
                                                     said["reason"], strict=True)]

    def summary(self, max_lines: int | None = 50) -> str:
        """Human-readable account of the read.

        Parameters
        ----------
        max_lines
            At most this many per-feature lines (``None``: all of them).
        """
        head = [
            f"{self.source}: {self.n_input} features read: {self.n_kept} kept, "
            f"{self.n_repaired} repaired, {self.n_rejected} rejected.",
            f"CRS {self.crs_in} → {self.crs_out}.",
        ]
        head += self.notes
        said = self.rows.loc[self.rows["reason"] != "", ["status", "reason"]]
        said = said.assign(reason=said["reason"].str.split("; ")).explode("reason")
        key = (said["status"] + ": " + said["reason"]
               .str.replace(r" at \(.*$", "", regex=True)
               .str.replace(r"'[^']*'", "<id>", regex=True))
        tally = key.value_counts()
        if len(tally):
            head.append("counts: " + "; ".join(f"{k} ×{c}" for k, c in tally.items()))
        if self.dropped_columns:
            head.append("columns left out (keep one with --keep-column NAME): " + ", ".join(
                f"{c} ({r})" for c, r in self.dropped_columns.items()))
        lines = self.lines()
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[:max_lines] + [f"… and {len(lines) - max_lines} more"]
        return "\n".join(head + lines)

    def __str__(self) -> str:
        return self.summary()


class ReadResult(NamedTuple):
    """``(data, report)``: the cleaned GeoDataFrame and its :class:`ReadReport`."""

    data: gpd.GeoDataFrame
    report: ReadReport
