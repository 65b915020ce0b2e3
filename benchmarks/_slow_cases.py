"""Deterministic synthetic inputs for the slow cases of issue #17 (EPSG:27700 metres).

Every shape is built from integers and fixed fractions placed around (430000, 430000), so
the same call gives the same polygons on every machine.
"""

from __future__ import annotations

import numpy as np
import shapely
import shapely.affinity

X0 = 430000.0
Y0 = 430000.0


def comb(teeth: int = 64000, width: float = 10.0, height: float = 100.0) -> shapely.Polygon:
    """A comb of trapezoid teeth on a base: 3 vertices per tooth, ``3·teeth + 4`` in all."""
    k = np.arange(teeth, dtype=float)
    xs = np.stack([k, k + 0.25, k + 0.75], axis=1).ravel() * width
    ys = np.tile([0.0, height, height], teeth)
    ring = np.r_[np.c_[xs, ys], [[teeth * width, 0.0], [teeth * width, -height], [0.0, -height]]]
    return shapely.Polygon(ring + [X0, Y0])


def comb_box(teeth: int = 64000, width: float = 10.0, height: float = 100.0) -> shapely.Polygon:
    """A 5-vertex box across every tooth of :func:`comb` (its top edge crosses them all)."""
    return shapely.box(X0 - 5.0, Y0 - height / 2, X0 + teeth * width + 5.0, Y0 + height / 2)


def serpentine(
    vertices: int = 16000,
    bar: float = 4.0,
    gap: float = 4.0,
    length: float = 20000.0,
    dy: float = 0.0,
) -> shapely.Polygon:
    """Horizontal bars joined alternately at the right and left ends: long edges stacked."""
    bars = vertices // 4
    # bars and the joints between them, dissolved into one polygon
    boxes = [
        shapely.box(0, b * (bar + gap) + dy, length, b * (bar + gap) + dy + bar)
        for b in range(bars)
    ]
    joints = [
        shapely.box(
            length - bar if b % 2 == 0 else 0.0,
            b * (bar + gap) + dy + bar,
            length if b % 2 == 0 else bar,
            (b + 1) * (bar + gap) + dy,
        )
        for b in range(bars - 1)
    ]
    g = shapely.union_all(boxes + joints)
    return shapely.affinity.translate(g, X0, Y0)


def many_parts(parts: int = 20000, size: float = 20.0, pitch: float = 50.0) -> shapely.MultiPolygon:
    """A multipolygon of ``parts`` small octagons on a square grid."""
    n = int(np.ceil(np.sqrt(parts)))
    t = (np.arange(8) + 0.5) * (2 * np.pi / 8)
    unit = np.c_[np.cos(t), np.sin(t)] * (size / 2)
    polys = []
    for p in range(parts):
        cx = X0 + (p % n) * pitch
        cy = Y0 + (p // n) * pitch
        polys.append(shapely.Polygon(unit + [cx, cy]))
    return shapely.MultiPolygon(polys)


def big_blob(
    vertices: int = 200000,
    centre: tuple[float, float] | None = None,
    radius: float = 4000.0,
    seed: int = 17,
) -> shapely.Polygon:
    """A star-shaped wobbly polygon with ``vertices`` vertices (valid by construction)."""
    rng = np.random.default_rng(seed)
    cx, cy = centre if centre is not None else (X0 + 3500.0, Y0 + 3500.0)
    theta = np.linspace(0.0, 2.0 * np.pi, vertices, endpoint=False)
    r = np.ones(vertices)
    for h in range(2, 6):
        r += rng.uniform(0.0, 0.25 / h) * np.cos(h * theta + rng.uniform(0, 2 * np.pi))
    for h in rng.integers(12, 400, size=6):
        r += rng.uniform(0.0, 0.03) * np.cos(h * theta + rng.uniform(0, 2 * np.pi))
    r += rng.normal(0.0, 0.0005, vertices)
    r = np.maximum(r, 0.2) * radius
    return shapely.Polygon(np.c_[cx + r * np.cos(theta), cy + r * np.sin(theta)])


def small_polygons(
    areas: np.ndarray, n: int, seed: int = 20260217, size: tuple[float, float] = (20.0, 200.0)
) -> np.ndarray:
    """``n`` small random hexagons centred in the given polygons (chosen by area)."""
    rng = np.random.default_rng(seed)
    w = shapely.area(areas)
    bounds = shapely.bounds(areas)
    cx = np.empty(n)
    cy = np.empty(n)
    k = 0
    while k < n:
        m = min(2 * (n - k), 1 << 20)
        which = rng.choice(len(areas), size=m, p=w / w.sum())
        x = rng.uniform(bounds[which, 0], bounds[which, 2])
        y = rng.uniform(bounds[which, 1], bounds[which, 3])
        ok = shapely.contains_xy(areas[which], x, y)
        take = min(int(ok.sum()), n - k)
        cx[k : k + take] = x[ok][:take]
        cy[k : k + take] = y[ok][:take]
        k += take
    d = np.exp(rng.uniform(np.log(size[0]), np.log(size[1]), n)) / 2
    rot = rng.uniform(0, np.pi / 3, n)
    t = rot[:, None] + np.arange(6)[None, :] * (np.pi / 3)
    xs = cx[:, None] + d[:, None] * np.cos(t)
    ys = cy[:, None] + d[:, None] * np.sin(t)
    coords = np.stack([xs, ys], axis=2)
    coords = np.concatenate([coords, coords[:, :1]], axis=1).reshape(-1, 2)
    return shapely.polygons(shapely.linearrings(coords, indices=np.repeat(np.arange(n), 7)))
