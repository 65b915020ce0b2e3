"""Deterministic synthetic 'resident drawings' for the crosswalk benchmark.

Each drawing is a star-shaped blob around a centre inside the study area: a radius
function of the angle made of a few low-frequency harmonics (the overall shape), a
mid-frequency wobble (a hand following streets) and a small per-vertex tremor, sampled
at a few hundred to a couple of thousand vertices. A star-shaped ring with a positive
radius never self-intersects, so every drawing is a valid polygon.
"""

from __future__ import annotations

import numpy as np
import shapely


def resident_drawings(
    area: shapely.Geometry,
    n: int = 1000,
    *,
    seed: int = 20240607,
    min_diameter: float = 200.0,
    max_diameter: float = 3000.0,
    min_vertices: int = 200,
    max_vertices: int = 2000,
) -> np.ndarray:
    """``n`` wobbly blobs (object array of Polygon) centred at random points of ``area``."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = area.bounds
    shapely.prepare(area)
    out = np.empty(n, dtype=object)
    k = 0
    while k < n:
        cx = rng.uniform(xmin, xmax)
        cy = rng.uniform(ymin, ymax)
        if not shapely.contains_xy(area, cx, cy):
            continue
        diameter = np.exp(rng.uniform(np.log(min_diameter), np.log(max_diameter)))
        size = (np.log(diameter) - np.log(min_diameter)) / np.log(max_diameter / min_diameter)
        nv = int(np.clip(min_vertices + (max_vertices - min_vertices) * (0.3 * size +
                                                                         0.7 * rng.random()),
                         min_vertices, max_vertices))  # fmt: skip
        theta = np.sort(rng.uniform(0.0, 2.0 * np.pi, nv))
        r = np.ones(nv)
        for h in range(2, 6):  # overall shape
            r += rng.uniform(0.0, 0.25 / h) * np.cos(h * theta + rng.uniform(0, 2 * np.pi))
        for h in rng.integers(12, 40, size=3):  # following streets
            r += rng.uniform(0.0, 0.03) * np.cos(h * theta + rng.uniform(0, 2 * np.pi))
        r += rng.normal(0.0, 0.004, nv)  # tremor
        r = np.maximum(r, 0.2) * diameter / 2.0
        ring = np.c_[cx + r * np.cos(theta), cy + r * np.sin(theta)]
        out[k] = shapely.Polygon(ring)
        k += 1
    return out
