"""nbhd_geo: reconcile resident-drawn neighbourhoods with England's statutory geographies.

The public API, by task:

- reading: :func:`read_layer`, :func:`read_drawings` (every feature accounted for),
  with the option objects :class:`CoordOptions`, :class:`CsvColumns`,
  :class:`PrivacyOptions`;
- reconciling: :func:`crosswalk`, :func:`apportion`, :func:`best_fit`,
  :func:`check_tiling`;
- tension: :func:`tension`, :func:`fragmentation`, :func:`layer_tension`,
  :func:`unit_splits`, :func:`boundary_f1`, :func:`hausdorff`;
- deprivation: :func:`read_imd`, :func:`imd_summary`, :func:`rank_targets`,
  :func:`allocate`, :func:`convert_lsoa_vintage`;
- PCNs: :func:`pcn_footprints`, :func:`list_deprivation`;
- many voices: :func:`consensus`, :func:`outliers`, :func:`point_footprints`, with
  the cut-offs :class:`ContestedRule`, :class:`OutlierCutoffs`, :class:`StabilityRule`,
  :class:`UnheardRule`, :class:`WardColumns`, :class:`ReusedCrosswalks`;
- proposed footprints: :func:`propose_footprints`, :func:`check_plan`;
- who was heard: :func:`engagement_coverage`, :func:`poststratify`, :func:`rake`,
  :func:`core_stability`, :func:`compare_drawings`, :func:`councillor_view`;
- samples: :mod:`nbhd_geo.samples`.
"""

from __future__ import annotations

from nbhd_geo import samples, settings
from nbhd_geo.deprivation import (
    IMDTable,
    allocate,
    convert_lsoa_vintage,
    imd_summary,
    imd_summary_from_weights,
    rank_targets,
    read_imd,
)
from nbhd_geo.errors import (
    ColumnError,
    CRSError,
    InputError,
    NbhdGeoError,
    NbhdGeoWarning,
    ValidationError,
    VintageError,
)
from nbhd_geo.io import (
    CoordOptions,
    CsvColumns,
    PrivacyOptions,
    ReadReport,
    ReadResult,
    drop_personal,
    personal_columns,
    read_drawings,
    read_layer,
    suppress_small_counts,
)
from nbhd_geo.measures import (
    BoundaryOptions,
    EngineOptions,
    SliverTolerance,
    boundary_f1,
    fragmentation,
    hausdorff,
    layer_tension,
    tension,
    unit_splits,
)
from nbhd_geo.overlay import (
    Apportionment,
    BestFit,
    Crosswalk,
    TilingReport,
    apportion,
    best_fit,
    check_tiling,
    crosswalk,
    pair_areas,
)
from nbhd_geo.pcn import (
    ImdColumns,
    PCNFootprints,
    RegistrationColumns,
    list_deprivation,
    pcn_footprints,
)
from nbhd_geo.plan import (
    ContiguityOptions,
    FootprintPlans,
    SearchOptions,
    check_plan,
    propose_footprints,
)
from nbhd_geo.voices import (
    FLAGS as OUTLIER_FLAGS,
)
from nbhd_geo.voices import (
    Comparison,
    Consensus,
    ContestedRule,
    CouncillorView,
    Coverage,
    OutlierCutoffs,
    PointFootprints,
    ReusedCrosswalks,
    Stability,
    StabilityRule,
    UnheardRule,
    WardColumns,
    Weights,
    compare_drawings,
    consensus,
    core_stability,
    councillor_view,
    engagement_coverage,
    kish_ess,
    outliers,
    point_footprints,
    poststratify,
    rake,
)

__version__ = "0.2.0"


def _load_kernels_in_background() -> None:
    """Load the crosswalk engine's kernels from numba's cache while a script reads its layers.

    A script imports nbhd_geo, reads its layers, then crosses them: loading the compiled
    kernels (about 0.2 s of CPU) in a background thread from here hides it behind the
    reading. It only loads a warm cache, never compiles (a cold cache is compiled by the
    first crosswalk, or in the background by a command that knows it will cross layers).
    The command line starts what each command needs itself, so ``nbhd-geo`` and
    ``python -m nbhd_geo.cli`` skip this; ``NBHD_GEO_PRECOMPILE=0`` turns it off.
    """
    import os
    import sys

    argv = list(getattr(sys, "orig_argv", sys.argv))
    ran = os.path.basename(sys.argv[0]) if sys.argv else ""
    by_cli = ran in ("nbhd-geo", "nbhd-geo.exe") or any(
        a == "-m" and b.split(".")[:2] == ["nbhd_geo", "cli"]
        for a, b in zip(argv, argv[1:], strict=False)
    )
    if not by_cli:
        from nbhd_geo.overlay.exact.jit import OVERLAY

        OVERLAY.load_in_background()


_load_kernels_in_background()

__all__ = [
    "__version__",
    "samples",
    "settings",
    # errors
    "NbhdGeoError",
    "InputError",
    "CRSError",
    "ValidationError",
    "ColumnError",
    "VintageError",
    "NbhdGeoWarning",
    # reading
    "read_layer",
    "read_drawings",
    "ReadReport",
    "ReadResult",
    "CoordOptions",
    "CsvColumns",
    "PrivacyOptions",
    "personal_columns",
    "drop_personal",
    # reconciling
    "crosswalk",
    "Crosswalk",
    "pair_areas",
    "apportion",
    "Apportionment",
    "best_fit",
    "BestFit",
    "check_tiling",
    "TilingReport",
    # tension
    "tension",
    "fragmentation",
    "layer_tension",
    "unit_splits",
    "boundary_f1",
    "hausdorff",
    "SliverTolerance",
    "BoundaryOptions",
    "EngineOptions",
    # deprivation
    "read_imd",
    "IMDTable",
    "convert_lsoa_vintage",
    "imd_summary",
    "imd_summary_from_weights",
    "rank_targets",
    "allocate",
    # PCNs
    "pcn_footprints",
    "PCNFootprints",
    "list_deprivation",
    "RegistrationColumns",
    "ImdColumns",
    # many voices
    "consensus",
    "Consensus",
    "outliers",
    "OUTLIER_FLAGS",
    "point_footprints",
    "PointFootprints",
    # proposed footprints
    "propose_footprints",
    "FootprintPlans",
    "check_plan",
    "SearchOptions",
    "ContiguityOptions",
    # who was heard
    "engagement_coverage",
    "Coverage",
    "poststratify",
    "rake",
    "kish_ess",
    "Weights",
    "core_stability",
    "Stability",
    "compare_drawings",
    "Comparison",
    "councillor_view",
    "CouncillorView",
    "ContestedRule",
    "OutlierCutoffs",
    "StabilityRule",
    "UnheardRule",
    "WardColumns",
    "ReusedCrosswalks",
    # publishing
    "suppress_small_counts",
]
