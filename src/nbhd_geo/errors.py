"""One error hierarchy for nbhd_geo.

Every error raised on purpose by the library derives from :class:`NbhdGeoError`
(itself a :class:`ValueError`, so ``except ValueError`` keeps working). A message
names the argument at fault, the offending ids (at most ten are listed, with a
count of the rest) and the fix. The command-line interface prints these messages
without a traceback and exits with status 2.

Examples
--------
>>> from nbhd_geo.errors import CRSError
>>> err = CRSError("has no CRS", argument="drawings", fix="pass crs='EPSG:4326'")
>>> print(err)
drawings: has no CRS. Fix: pass crs='EPSG:4326'.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "NbhdGeoError",
    "InputError",
    "CRSError",
    "ValidationError",
    "ColumnError",
    "VintageError",
    "NbhdGeoWarning",
    "format_ids",
]

_MAX_IDS = 10


def format_ids(ids: Iterable[Any], limit: int = _MAX_IDS) -> str:
    """Render ids for a message: the first ``limit`` and a count of the rest.

    Examples
    --------
    >>> format_ids(["a", "b", "c"], limit=2)
    "'a', 'b' and 1 more"
    """
    ids = list(ids)
    shown = ", ".join(repr(i.item() if hasattr(i, "item") else i) for i in ids[:limit])
    if len(ids) > limit:
        shown += f" and {len(ids) - limit} more"
    return shown


class NbhdGeoError(ValueError):
    """Base class of every error nbhd_geo raises on purpose.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    argument
        The name of the argument (or file, or column) at fault.
    ids
        The offending feature ids, if any.
    fix
        How to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        argument: str | None = None,
        ids: Iterable[Any] | None = None,
        fix: str | None = None,
    ) -> None:
        self.argument = argument
        self.ids = list(ids) if ids is not None else []
        self.fix = fix
        self.problem = message
        text = f"{argument}: {message}" if argument else message
        if self.ids:
            text += f" (ids: {format_ids(self.ids)})"
        text = text.rstrip(".") + "."
        if fix:
            text += f" Fix: {fix.rstrip('.')}."
        super().__init__(text)


class InputError(NbhdGeoError):
    """A file or object cannot be read as the layer asked for."""


class CRSError(NbhdGeoError):
    """A coordinate reference system is missing, geographic where metres are needed, or wrong."""


class ValidationError(NbhdGeoError):
    """Features fail validation; ``problems`` lists every problem found, not just the first."""

    def __init__(self, message: str, *, problems: list[str] | None = None, **kwargs: Any) -> None:
        self.problems = list(problems or [])
        if self.problems:
            message = message.rstrip(".") + ":\n  - " + "\n  - ".join(self.problems)
        super().__init__(message, **kwargs)


class ColumnError(NbhdGeoError):
    """A required column is missing, or a column name would be overwritten."""


class VintageError(NbhdGeoError):
    """Codes belong to another vintage of a geography (e.g. LSOA 2011 vs LSOA 2021)."""


class NbhdGeoWarning(UserWarning):
    """Something was done on the caller's behalf that may change results (listed ids)."""
