"""Settings of :func:`~nbhd_geo.plan.propose_footprints` that travel together, validated once.

The planner's data (units, population, neighbourhoods, registrations, districts) and its
essential choices (footprint size, number of plans, the kept-whole threshold) are plain
keywords. Two groups of settings that a caller either leaves alone or tunes together are
small frozen objects, checked when they are made so a wrong value is reported once,
naming the field and the fix:

:class:`ContiguityOptions`
    when two units are neighbours, and how far an island may be bridged;
:class:`SearchOptions`
    how hard and how reproducibly to search: seed, heuristic runs and rounds, and the
    certified optimiser's time, work and threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbhd_geo.errors import InputError
from nbhd_geo.plan.exact import Progress

__all__ = ["ContiguityOptions", "SearchOptions"]


def _length(value: Any, argument: str, example: str, *, infinite: bool = False) -> float:
    """``value`` as metres ≥ 0 (``inf`` allowed when ``infinite``), or an error naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    ok = v >= 0 and (math.isfinite(v) or (infinite and v == math.inf))
    if not ok:
        raise InputError(f"must be a distance ≥ 0 in metres, got {value!r}",
                         argument=argument, fix=f"pass e.g. {example}")
    return v


def _seconds(value: Any, argument: str, example: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v >= 0):
        raise InputError(f"must be seconds ≥ 0, got {value!r}", argument=argument,
                         fix=f"pass e.g. {example}")
    return v


def _whole(value: Any, argument: str, low: int, example: str, *, none: bool = False) -> Any:
    """``value`` as an int ≥ ``low`` (or ``None`` when ``none``), or an error naming it."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        also = " or None" if none else ""
        raise InputError(f"must be a whole number ≥ {low}{also}, got {value!r}",
                         argument=argument, fix=f"pass e.g. {example}")
    return int(value)


@dataclass(frozen=True)
class ContiguityOptions:
    """When two units are neighbours, and how far an island may be bridged.

    Parameters
    ----------
    min_shared_m
        Rook contiguity: two units are neighbours when they share at least this many
        metres of boundary (≥ 0).
    tol_m
        Gaps between units up to this many metres are ignored (generalised boundary
        files do not quite touch); ≥ 0.
    bridge_m
        An island that cannot form footprints alone is linked to the nearest unit within
        this distance (≥ 0; ``inf`` bridges any distance). Bridges are reported in
        ``FootprintPlans.contiguity.bridges``.

    See Also
    --------
    nbhd_geo.plan.unit_contiguity : the adjacency itself.

    Examples
    --------
    >>> ContiguityOptions(bridge_m=2_000)
    ContiguityOptions(min_shared_m=10.0, tol_m=0.5, bridge_m=2000.0)
    >>> ContiguityOptions(tol_m=-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: tol_m: must be a distance ≥ 0 in metres, got -1. Fix: ...
    """

    min_shared_m: float = 10.0
    tol_m: float = 0.5
    bridge_m: float = 1_000.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_shared_m", _length(
            self.min_shared_m, "min_shared_m", "ContiguityOptions(min_shared_m=10)"))
        object.__setattr__(self, "tol_m", _length(
            self.tol_m, "tol_m", "ContiguityOptions(tol_m=0.5)"))
        object.__setattr__(self, "bridge_m", _length(
            self.bridge_m, "bridge_m", "ContiguityOptions(bridge_m=1000)", infinite=True))


@dataclass(frozen=True)
class SearchOptions:
    """How hard and how reproducibly :func:`~nbhd_geo.plan.propose_footprints` searches.

    Parameters
    ----------
    seed
        Seed (a whole number ≥ 0): the same inputs and seed always give the same
        heuristic plans; the solver's plan too when it proves optimality or stops on
        ``work_limit`` (with ``workers=1``). A wall-clock ``time_limit`` that is hit
        depends on how busy the machine is.
    n_runs
        Heuristic runs (each: its own seed, footprint count and weighting); ``None``:
        ``max(n_plans, 5)``, one per weighting (the certified optimiser then improves
        the best of them).
    rounds
        Perturbation rounds of the iterated local search in each run (≥ 0).
    time_limit
        Seconds (wall clock, ≥ 0) for the certified optimiser (OR-Tools CP-SAT), started
        from the heuristic's best plan; its plan and proven bound are in
        ``FootprintPlans.certificate``. ``0`` skips it (heuristic only). Needs
        neighbourhoods.
    work_limit
        Deterministic work limit for the solver (CP-SAT ``max_deterministic_time``, about
        seconds on a fast core): with ``workers=1`` the same inputs then always give the
        same plan, however loaded the machine. The solver stops at whichever limit comes
        first. ``None``: no work limit.
    workers
        Solver threads (≥ 1; 1 is reproducible, more may close the gap sooner on a free
        machine).
    progress
        Called with ``{"seconds", "residents_whole", "bound"}`` each time the solver
        finds a better plan (progress is also logged to the ``nbhd_geo`` logger at INFO).

    Examples
    --------
    >>> SearchOptions(seed=4, time_limit=0).time_limit
    0.0
    >>> SearchOptions(work_limit=0.5, workers=1).work_limit
    0.5
    >>> SearchOptions(workers=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: workers: must be a whole number ≥ 1, got 0. Fix: ...
    """

    seed: int = 0
    n_runs: int | None = None
    rounds: int = 12
    time_limit: float = 8.0
    work_limit: float | None = None
    workers: int = 1
    progress: Progress | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "seed", _whole(self.seed, "seed", 0, "SearchOptions(seed=0)"))
        set_(self, "n_runs", _whole(self.n_runs, "n_runs", 1, "SearchOptions(n_runs=5)",
                                    none=True))
        set_(self, "rounds", _whole(self.rounds, "rounds", 0, "SearchOptions(rounds=12)"))
        set_(self, "workers", _whole(self.workers, "workers", 1, "SearchOptions(workers=1)"))
        set_(self, "time_limit", _seconds(
            self.time_limit, "time_limit",
            "SearchOptions(time_limit=15); 0 skips the certified optimiser"))
        if self.work_limit is not None:
            set_(self, "work_limit", _seconds(self.work_limit, "work_limit",
                                              "SearchOptions(work_limit=5), or None"))
        if self.progress is not None and not callable(self.progress):
            raise InputError(f"must be callable, got {type(self.progress).__name__}",
                             argument="progress",
                             fix="pass SearchOptions(progress=print), a function of one dict")


#: The defaults of :func:`~nbhd_geo.plan.propose_footprints`' option arguments.
DEFAULT_CONTIGUITY = ContiguityOptions()
DEFAULT_SEARCH = SearchOptions()
