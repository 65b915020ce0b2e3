"""Exact pairwise overlap areas of two polygon layers, without building intersection geometry.

For every pair of polygons ``(a[i], b[j])`` whose bounding boxes meet, the area of
``a[i] ∩ b[j]`` is obtained from Green's theorem,

    area(A ∩ B) = ∮ x dy over ∂(A ∩ B)
                = Σ ∫ x dy over pieces of ∂A inside B  +  Σ ∫ x dy over pieces of ∂B inside A,

with every ring oriented so that its polygon lies on its left (exteriors counter-clockwise,
holes clockwise). The pieces are delimited by the crossings of A-edges with B-edges.

Degeneracies (shared vertices, collinear overlapping edges, T-junctions), which are the rule
rather than the exception between statutory layers built from the same building blocks, are
resolved exactly by Simulation of Simplicity: layer ``b`` is translated by the infinitesimal
vector ``v = (ε, ε²)``. Under that translation no vertex of one layer lies on an edge of the
other, collinear edges never cross, and every predicate is non-zero; the result, in the limit
ε → 0, is the exact area. Orientation predicates are exact (floating-point filter with
Shewchuk's error bound, falling back to exact expansion arithmetic), so an exact zero is
always recognised. Crossing parameters only feed the integral and use floating point, from
orientation values that are near-exact when the edges are nearly collinear; each crossing
point is computed once and shared by the walks of both boundaries, so the pieces always form
closed loops (computing it separately along each edge leaves gaps whose ``∫x dy`` is not
small for nearly collinear edges).

The work is done per candidate pair (bounding boxes intersect), in numba-compiled code that
releases the GIL, so pairs are processed by several threads at once:

1. edges of ``a[i]`` meeting bbox(``b[j]``) and edges of ``b[j]`` meeting bbox(``a[i]``)
   are collected (other edges are strictly outside the other polygon); a polygon with at
   least ``_POLY_INDEX_MIN`` edges has a band index of its own, built once per layer
   (:func:`_polygon_bands`), and only the bands the partner's box spans are read;
2. their crossings are found (brute force for small sets, otherwise sort-and-sweep on x
   within horizontal bands of the boxes' common heights, a pair of edges being tested in the
   lowest band both span; the number of bands is chosen per pair from its edges' heights, so
   long edges at different heights, e.g. two serpentines, are not all compared);
3. each ring of ``a[i]`` is walked: the membership of its start point in ``b[j]`` is 0 after an
   edge outside bbox(``b[j]``), or from an exact perturbed point-in-polygon test when the whole
   ring lies in the box (over the other polygon's edges in the point's band: its own band
   index, or one built for the pair when many rings need one, e.g. a many-part
   multipolygon); every crossing toggles the membership, and the
   integral of the runs
   inside ``b[j]`` is accumulated; the same for the rings of ``b[j]`` against ``a[i]``;
4. the terms are summed with Neumaier compensation, and the sum is kept when it exceeds a
   floating-point error bound, ``64·u·Σ(M_p + M_q)·(|x_q − x_p| + |y_q − y_p|)`` over the
   pieces p→q, where M is ``|x| + |y|`` at a vertex and, at a crossing, the same over the
   end points of the edge it was computed on (crossing parameters come from orientation
   values exact to a few ulps); zero-area touches are exact zeros up to that bound, and a
   real overlap above it is kept (and flagged as a sliver by :func:`nbhd_geo.crosswalk`
   when small).

The polygon that sorts first (edge count, then coordinates) plays ``a`` in each pair, so the
result for a pair of polygons is the same, to the bit, whichever layer each comes from.
Coordinates are taken relative to a per-pair origin (the centre of the two boxes' overlap) to
limit cancellation. Each pair is computed by the same code whatever the number of threads, so
results do not depend on ``threads``. Coordinates smaller than 2**-400 in magnitude are
flushed to zero, and larger than 2**400 refused, so that exact products never under- or
overflow.

Rooms, in the order a pair flows through them (each module's docstring says what it
guarantees; everything but ``join`` is numba-compiled):

- :mod:`~nbhd_geo.overlay.exact.jit` — each kernel compiled once for one signature, in the
  background if wanted; where numba's cache lives.
- :mod:`~nbhd_geo.overlay.exact.predicates` — Shewchuk-filtered exact orientation under the
  symbolic shift.
- :mod:`~nbhd_geo.overlay.exact.bands` — edge indexes over y (per pair, per polygon), a
  polygon's edges in a box, point-in-polygon.
- :mod:`~nbhd_geo.overlay.exact.sweep` — crossings (brute force or sort-and-sweep), ordered
  along each edge, and the boundary integral (``_walk``).
- :mod:`~nbhd_geo.overlay.exact.pairs` — one pair's area and error bound, argument-order
  independence, a range of pairs on one thread.
- :mod:`~nbhd_geo.overlay.exact.rings` — layers read into oriented edge arrays (``_Layer``).
- :mod:`~nbhd_geo.overlay.exact.join` — the entry points :func:`intersection_areas` and
  :func:`intersection_areas_stats` (what :func:`nbhd_geo.overlay.crosswalk.pair_areas` calls).
"""

from __future__ import annotations

from nbhd_geo.overlay.exact.jit import (
    OVERLAY,
    compile_in_background,
    compile_kernels,
    load_in_background,
    started_by_cli,
)
from nbhd_geo.overlay.exact.join import intersection_areas, intersection_areas_stats

# Every kernel is declared now: a script that imports nbhd_geo goes on importing the rest of
# the package and then reads its layers, and loading the kernels from a warm cache (numba's
# start-up, about 0.3 s of CPU) overlaps that from here. Never compiles; the command line
# starts what each command needs itself.
if not started_by_cli():
    OVERLAY.load_in_background()

__all__ = [
    "compile_in_background",
    "compile_kernels",
    "intersection_areas",
    "intersection_areas_stats",
    "load_in_background",
]
