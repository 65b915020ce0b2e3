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
