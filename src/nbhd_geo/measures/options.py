"""Settings that travel together through the tension measures, validated once.

:func:`~nbhd_geo.fragmentation`, :func:`~nbhd_geo.unit_splits`, :func:`~nbhd_geo.tension`
and :func:`~nbhd_geo.layer_tension` share three groups of settings. Each group is a small
frozen object checked when it is made, so a wrong value is reported once, with the
argument that carries it, and a caller passes one object instead of copying a block of
keywords from call to call:

:class:`SliverTolerance`
    when a piece of overlap is too small to count as a split;
:class:`BoundaryOptions`
    the distances of boundary agreement (F1 tolerances, the one in the composite score,
    the densification step of the Hausdorff distances);
:class:`EngineOptions`
    which area engine intersects the layers, on how many threads, in which projected CRS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from nbhd_geo import settings
from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.crs import resolve_crs
from nbhd_geo.io.layers import working_crs
from nbhd_geo.measures.boundary import _check_spacing, _check_tolerances

__all__ = ["SliverTolerance", "BoundaryOptions", "EngineOptions"]

Engine = Literal["exact", "geos"]


def _check_fraction(value: float, argument: str, *, low_open: bool, example: str) -> float:
    value = float(value)
    ok = np.isfinite(value) and (0 < value if low_open else 0 <= value) and value <= 1
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise NbhdGeoError(
            f"must be a fraction in {interval}, got {value!r}",
            argument=argument,
            fix=f"pass e.g. {argument}={example}",
        )
    return value


@dataclass(frozen=True)
class SliverTolerance:
    """When a piece of a neighbourhood in a unit is a sliver, not a split.

    A piece is a sliver when it is small for both polygons — under ``share`` of the
    neighbourhood *and* under ``share`` of the unit (the neighbourhood grazes the unit)
    — or when its area is under ``m2``. Slivers are counted (``n_slivers``), never
    dropped from the totals.

    Parameters
    ----------
    share
        Fraction in [0, 1]; 1 % by default.
    m2
        Area in m² (≥ 0); ``None`` uses :data:`nbhd_geo.settings.sliver_tol_m2`.

    Examples
    --------
    >>> SliverTolerance(share=0.05).area_m2
    1.0
    >>> SliverTolerance(share=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.NbhdGeoError: sliver_share: must be a fraction in [0, 1], got 2.0. Fix: ...
    """

    share: float = 0.01
    m2: float | None = None

    def __post_init__(self) -> None:
        share = _check_fraction(self.share, "sliver_share", low_open=False, example="0.01")
        object.__setattr__(self, "share", share)
        if self.m2 is not None:
            m2 = float(self.m2)
            if not np.isfinite(m2) or m2 < 0:
                raise NbhdGeoError(
                    f"must be a finite area ≥ 0 in m², got {self.m2!r}",
                    argument="sliver_m2",
                    fix="pass e.g. SliverTolerance(m2=1.0)",
                )
            object.__setattr__(self, "m2", m2)

    @property
    def area_m2(self) -> float:
        """The area tolerance in m² (``m2``, or the library default)."""
        return float(settings.sliver_tol_m2) if self.m2 is None else float(self.m2)


@dataclass(frozen=True)
class BoundaryOptions:
    """Distances of the boundary-agreement measures of :func:`~nbhd_geo.tension`.

    Parameters
    ----------
    tolerances
        Distances ``d`` in metres (≥ 0) at which boundary F1 is reported.
    score_tolerance
        The ``d`` whose F1 enters the composite score; added to ``tolerances`` when
        absent (:attr:`all_tolerances`).
    spacing
        Densification step in metres (> 0) of the Hausdorff distances.

    Examples
    --------
    >>> BoundaryOptions(tolerances=(10, 30)).all_tolerances
    (10.0, 30.0, 50.0)
    """

    tolerances: Sequence[float] = (25.0, 50.0, 100.0)
    score_tolerance: float = 50.0
    spacing: float = 10.0
    all_tolerances: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tol = _check_tolerances(self.tolerances)
        score = _check_tolerances([self.score_tolerance])[0]
        object.__setattr__(self, "tolerances", tol)
        object.__setattr__(self, "score_tolerance", score)
        object.__setattr__(self, "spacing", _check_spacing(self.spacing))
        object.__setattr__(self, "all_tolerances", tol if score in tol else (*tol, score))


@dataclass(frozen=True)
class EngineOptions:
    """Which area engine intersects the layers, on how many threads, in which CRS.

    Parameters
    ----------
    engine
        ``"exact"`` (the library's own kernel) or ``"geos"``
        (:func:`shapely.intersection`), as for :func:`~nbhd_geo.crosswalk`.
    threads
        Threads of the exact kernel; ``None`` uses every core.
    crs
        Projected working CRS the layers are brought into before they are intersected
        (anything :func:`pyproj.CRS.from_user_input` reads); ``None`` uses
        :data:`nbhd_geo.settings.working_crs` (EPSG:27700).

    Examples
    --------
    >>> EngineOptions.of("geos")
    EngineOptions(engine='geos', threads=None, crs=None)
    >>> EngineOptions(crs="EPSG:4326")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.CRSError: crs: EPSG:4326 is geographic (degrees); areas need metres. Fix: ...
    >>> EngineOptions(threads=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.NbhdGeoError: threads: must be a whole number ≥ 1 or None, got 0. Fix: ...
    """

    engine: Engine = "exact"
    threads: int | None = None
    crs: object | None = None

    def __post_init__(self) -> None:
        if self.engine not in ("exact", "geos"):
            raise NbhdGeoError(
                f"unknown engine {self.engine!r}", argument="engine", fix="use 'exact' or 'geos'"
            )
        t = self.threads
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 1):
            raise NbhdGeoError(
                f"must be a whole number ≥ 1 or None, got {t!r}",
                argument="threads",
                fix="pass e.g. EngineOptions(threads=2), or None for every core",
            )
        if self.crs is not None:
            # an unknown or geographic CRS is refused here, once, naming the argument
            working_crs(resolve_crs(self.crs, "crs", projected=True))

    @classmethod
    def of(cls, engine: Engine | EngineOptions) -> EngineOptions:
        """``engine`` as options: a name gets the default threads."""
        return engine if isinstance(engine, EngineOptions) else cls(engine)


#: The defaults of the measures' ``sliver=`` and ``boundary=`` arguments.
DEFAULT_SLIVER = SliverTolerance()
DEFAULT_BOUNDARY = BoundaryOptions()
