"""Rules and settings of the many-voices analyses that travel together, validated once.

Each analysis keeps its common arguments (the name column ``by``, the agreement
``threshold``, the number of resamples and the seed, the units and their population)
as plain keywords. The cut-offs that define a verdict — when a zone is contested,
when a drawing is an outlier, when a core is unstable, when a unit is unheard — are
small frozen objects checked when they are made, so a wrong value is reported once,
with the setting at fault, and a caller who tunes one passes one object from call to
call:

:class:`ContestedRule` (:func:`~nbhd_geo.voices.consensus.consensus`, ``contested=``)
    when a piece claimed by several names is contested;
:class:`OutlierCutoffs` (:func:`~nbhd_geo.voices.outliers.outliers`, ``cutoffs=``)
    the cut-off of each outlier flag;
:class:`StabilityRule` (:func:`~nbhd_geo.voices.stability.core_stability`, ``rule=``)
    when a bootstrapped core is unstable, and how far resampling goes to decide;
:class:`UnheardRule` (:func:`~nbhd_geo.voices.coverage.engagement_coverage`, ``unheard=``)
    when a unit's coverage is low and when it counts as deprived;
:class:`WardColumns` and :class:`ReusedCrosswalks`
    (:func:`~nbhd_geo.voices.councillors.councillor_view`, ``ward_cols=`` and
    ``reuse=``): the wards' code and name columns, and crosswalks already computed.

Examples
--------
>>> OutlierCutoffs(far_z=3.0).far_z
3.0
>>> StabilityRule(min_iou=1.5)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nbhd_geo.errors.NbhdGeoError: min_iou: must be a share in [0, 1], got 1.5. Fix: ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.options import check_column_name
from nbhd_geo.overlay.crosswalk import Crosswalk

__all__ = [
    "ContestedRule",
    "OutlierCutoffs",
    "StabilityRule",
    "UnheardRule",
    "WardColumns",
    "ReusedCrosswalks",
]


def _number(value: object, argument: str, owner: str, example: str) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
    if not ok or not np.isfinite(float(value)):  # type: ignore[arg-type]
        raise NbhdGeoError(f"must be a finite number, got {value!r}", argument=argument,
                           fix=f"pass e.g. {owner}({argument}={example})")
    return float(value)  # type: ignore[arg-type]


def _share(value: object, argument: str, owner: str, example: str, *,
           low_open: bool = False) -> float:
    v = _number(value, argument, owner, example)
    if not ((0 < v) if low_open else (0 <= v)) or v > 1:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise NbhdGeoError(f"must be a share in {interval}, got {value!r}", argument=argument,
                           fix=f"pass e.g. {owner}({argument}={example})")
    return v


def _at_least(value: object, argument: str, owner: str, example: str, least: float, *,
              whole: bool = False, strict: bool = False) -> float:
    v = _number(value, argument, owner, example)
    bad = (v <= least) if strict else (v < least)
    if bad or (whole and v != int(v)):
        kind = "a whole number" if whole else "a number"
        rel = ">" if strict else "≥"
        raise NbhdGeoError(f"must be {kind} {rel} {least:g}, got {value!r}", argument=argument,
                           fix=f"pass e.g. {owner}({argument}={example})")
    return v


@dataclass(frozen=True)
class ContestedRule:
    """When a piece claimed by drawings of several names is *contested*.

    A piece covered by at least ``min_cover`` (weighted) drawings of two or more names
    is contested when the Shannon entropy of its name mix is at least ``bits`` or the
    runner-up name has at least ``tie_ratio`` times the leading name's share.

    Parameters
    ----------
    bits
        Entropy in bits (≥ 0); 1 bit is an even split between two names.
    tie_ratio
        Runner-up share over the leading share, in [0, 1].
    min_cover
        Least (weighted) number of drawings covering the piece (≥ 0).

    Examples
    --------
    >>> ContestedRule(bits=0.9, tie_ratio=0.5)
    ContestedRule(bits=0.9, tie_ratio=0.5, min_cover=2.0)
    >>> ContestedRule(tie_ratio=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.NbhdGeoError: tie_ratio: must be a share in [0, 1], got 2. Fix: ...
    """

    bits: float = 1.0
    tie_ratio: float = 0.8
    min_cover: float = 2.0

    def __post_init__(self) -> None:
        owner = "ContestedRule"
        object.__setattr__(self, "bits", _at_least(self.bits, "bits", owner, "1.0", 0))
        object.__setattr__(self, "tie_ratio", _share(self.tie_ratio, "tie_ratio", owner, "0.8"))
        object.__setattr__(self, "min_cover",
                           _at_least(self.min_cover, "min_cover", owner, "2", 0))


@dataclass(frozen=True)
class OutlierCutoffs:
    """The cut-off of each flag of :func:`~nbhd_geo.voices.outliers.outliers`.

    Parameters
    ----------
    rect_min
        ``rectangle``: area / bounding-box area ≥ this (in (0, 1]), i.e. an
        axis-aligned rectangle.
    min_vertices
        ``few_vertices``: fewer distinct vertices than this (a whole number ≥ 0) on
        the outer ring.
    sliver_max
        ``sliver``: Polsby–Popper compactness 4πA/P² below this (in [0, 1]; a 1:50
        strip is 0.06).
    area_factor
        ``area_ratio``: area over the neighbourhood's median area ≥ this or ≤ 1/this
        (> 0).
    far_z
        ``far_centroid``: robust score of the centroid's distance to the median
        centroid above this (see :func:`~nbhd_geo.voices.outliers.robust_far`).
    core_threshold, iou_min
        ``low_core_overlap``: intersection over union with the neighbourhood's core at
        ``core_threshold`` (in (0, 1]) below ``iou_min`` (in [0, 1]).
    duplicate_iou
        ``duplicate``: IoU above this (in [0, 1]) with another drawing of the same
        neighbourhood (identical geometries are duplicates whatever it is).

    Examples
    --------
    >>> OutlierCutoffs(min_vertices=5, sliver_max=0.1).min_vertices
    5
    >>> OutlierCutoffs(area_factor=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.NbhdGeoError: area_factor: must be a number > 0, got 0. Fix: ...
    """

    rect_min: float = 0.98
    min_vertices: int = 4
    sliver_max: float = 0.05
    area_factor: float = 10.0
    far_z: float = 3.5
    core_threshold: float = 0.5
    iou_min: float = 0.2
    duplicate_iou: float = 0.999

    def __post_init__(self) -> None:
        owner = "OutlierCutoffs"
        set_ = object.__setattr__
        set_(self, "rect_min", _share(self.rect_min, "rect_min", owner, "0.98", low_open=True))
        set_(self, "min_vertices", int(_at_least(self.min_vertices, "min_vertices", owner, "4",
                                                 0, whole=True)))
        set_(self, "sliver_max", _share(self.sliver_max, "sliver_max", owner, "0.05"))
        set_(self, "area_factor", _at_least(self.area_factor, "area_factor", owner, "10", 0,
                                            strict=True))
        set_(self, "far_z", _number(self.far_z, "far_z", owner, "3.5"))
        set_(self, "core_threshold", _share(self.core_threshold, "core_threshold", owner, "0.5",
                                            low_open=True))
        set_(self, "iou_min", _share(self.iou_min, "iou_min", owner, "0.2"))
        set_(self, "duplicate_iou", _share(self.duplicate_iou, "duplicate_iou", owner, "0.999"))


@dataclass(frozen=True)
class StabilityRule:
    """When a neighbourhood's bootstrapped core is *unstable*, and how far to resample.

    A name is unstable when more than 5 % of its resampled cores overlap the
    full-sample core by an IoU below ``min_iou`` (one resample in 20 moves the core
    that much), or when it has fewer than ``min_drawings`` drawings. Names whose share
    of such resamples is within ``mc_z`` Monte Carlo standard errors of 5 % are
    resampled again, doubling, up to ``max_boot`` resamples; still within it they are
    ``undecided``.

    Parameters
    ----------
    min_iou
        IoU with the full-sample core, in [0, 1].
    min_drawings
        Fewest drawings for a verdict (a whole number ≥ 0).
    max_boot
        Most resamples of one name (a whole number ≥ 10; at least the ``n_boot`` of
        the call).
    mc_z
        Monte Carlo standard errors (≥ 0); 2.576 makes a decision that a repeat with
        another seed would reverse about once in a hundred.

    Examples
    --------
    >>> StabilityRule(min_drawings=5).max_boot
    4000
    """

    min_iou: float = 0.75
    min_drawings: int = 10
    max_boot: int = 4000
    mc_z: float = 2.576

    def __post_init__(self) -> None:
        owner = "StabilityRule"
        set_ = object.__setattr__
        set_(self, "min_iou", _share(self.min_iou, "min_iou", owner, "0.75"))
        set_(self, "min_drawings", int(_at_least(self.min_drawings, "min_drawings", owner, "10",
                                                 0, whole=True)))
        set_(self, "max_boot", int(_at_least(self.max_boot, "max_boot", owner, "4000", 10,
                                             whole=True)))
        set_(self, "mc_z", _at_least(self.mc_z, "mc_z", owner, "2.576", 0))


@dataclass(frozen=True)
class UnheardRule:
    """When a unit's engagement coverage is low, and when the unit counts as deprived.

    A unit is *unheard* when both hold: its drawings per 1,000 residents are at or
    below ``low_per_1000`` (by default the ``low_quantile`` quantile of the units'
    coverage), and it lies in national IMD deciles ``1 … deprived_deciles``.

    Parameters
    ----------
    low_quantile
        Quantile of the units' coverage, in [0, 1], used when ``low_per_1000`` is None.
    low_per_1000
        A fixed coverage bar in drawings per 1,000 residents (≥ 0).
    deprived_deciles
        Deciles counted as deprived, a whole number from 1 to 10 (2: the most deprived
        20 %).

    Examples
    --------
    >>> UnheardRule(low_per_1000=2.5, deprived_deciles=3)
    UnheardRule(low_quantile=0.25, low_per_1000=2.5, deprived_deciles=3)
    """

    low_quantile: float = 0.25
    low_per_1000: float | None = None
    deprived_deciles: int = 2

    def __post_init__(self) -> None:
        owner = "UnheardRule"
        set_ = object.__setattr__
        set_(self, "low_quantile", _share(self.low_quantile, "low_quantile", owner, "0.25"))
        if self.low_per_1000 is not None:
            set_(self, "low_per_1000", _at_least(self.low_per_1000, "low_per_1000", owner,
                                                 "2.0", 0))
        d = int(_at_least(self.deprived_deciles, "deprived_deciles", owner, "2", 1, whole=True))
        if d > 10:
            raise NbhdGeoError(f"must be a decile from 1 to 10, got {self.deprived_deciles!r}",
                               argument="deprived_deciles",
                               fix=f"pass e.g. {owner}(deprived_deciles=2)")
        set_(self, "deprived_deciles", d)


@dataclass(frozen=True)
class WardColumns:
    """Which columns of the wards layer hold the ward code and its name.

    Parameters
    ----------
    code
        Ward code column (e.g. ``"WD23CD"``); ``None`` uses the index.
    name
        Ward name column (e.g. ``"WD23NM"``); ``None`` names wards by their code.

    Examples
    --------
    >>> WardColumns(code="WD23CD", name="WD23NM").name
    'WD23NM'
    """

    code: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        for field_, argument in (("code", "ward_id"), ("name", "ward_name")):
            check_column_name(getattr(self, field_), argument,
                              fix=f"pass WardColumns({field_}='…') with a column of the wards, "
                                  "or None")


@dataclass(frozen=True)
class ReusedCrosswalks:
    """Crosswalks already computed by the caller, reused instead of intersecting again.

    Parameters
    ----------
    wards
        Neighbourhoods × wards.
    units
        Neighbourhoods × the population units.

    Examples
    --------
    >>> ReusedCrosswalks().wards is None
    True
    """

    wards: Crosswalk | None = None
    units: Crosswalk | None = None

    def __post_init__(self) -> None:
        for argument in ("wards", "units"):
            value = getattr(self, argument)
            if value is not None and not isinstance(value, Crosswalk):
                raise NbhdGeoError(f"must be a Crosswalk, got {type(value).__name__}",
                                   argument=f"reuse.{argument}",
                                   fix="pass the result of nbhd_geo.crosswalk(), or None")


#: The defaults of the voices' option arguments.
DEFAULT_CONTESTED = ContestedRule()
DEFAULT_CUTOFFS = OutlierCutoffs()
DEFAULT_STABILITY = StabilityRule()
DEFAULT_UNHEARD = UnheardRule()
DEFAULT_WARD_COLUMNS = WardColumns()
DEFAULT_REUSE = ReusedCrosswalks()
