"""The consensus rasteriser's kernels as one family, compiled once, only when needed.

The kernels of :mod:`._grid` and :mod:`._vectorise` each have one signature (C-contiguous
int64/float64/bool arrays) and join :data:`KERNELS`, compiled (or loaded from numba's cache)
together by :func:`nbhd_geo.voices._grid.compile_kernels`, in the background from the moment
a command knows it will build a consensus. Allocation stays in Python, so the kernels are
plain loops: array expressions and numba's own sorts cost seconds of compiling each.
"""

from __future__ import annotations

import numba as nb

from nbhd_geo.overlay.exact.jit import KernelSet

__all__ = ["B1", "F1", "F2", "I1", "KERNELS"]

KERNELS = KernelSet("voices", home="nbhd_geo.voices._grid", seconds=5.0)
I1 = nb.int64[::1]
F1 = nb.float64[::1]
F2 = nb.float64[:, ::1]
B1 = nb.boolean[::1]
