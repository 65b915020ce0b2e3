"""Generate the fictional sample town "Brackenfield" and its resident drawings.

Deterministic: a numpy Generator with a fixed seed, coordinates snapped to a 0.1 m grid,
GeoPackage timestamps pinned with ``OGR_CURRENT_DATE``. Re-running gives byte-identical
files. Everything here is invented: not real places, codes, people or contact details.

Usage::

    python data/samples/generate.py            # writes into data/samples/
    python data/samples/generate.py --out DIR  # writes into DIR (used by the tests)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
from pathlib import Path
from statistics import NormalDist

# Pin GeoPackage timestamps before GDAL writes anything.
os.environ["OGR_CURRENT_DATE"] = "2026-01-01T00:00:00.000Z"

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from pyproj import Transformer  # noqa: E402
from shapely.geometry import MultiPoint, Point, Polygon, box  # noqa: E402

SEED = 20261122
CRS = "EPSG:27700"
GRID = 0.1
TOWN = "Brackenfield"
LAD_CODE = "E06990001"
CX, CY = 457_000.0, 386_000.0
R0 = 2_900.0
N_NATIONAL = 32_844

OUT_FILES = [
    "town.gpkg",
    "truth.gpkg",
    "drawings_workshop.gpkg",
    "drawings_online.geojson",
    "drawings_mapmaker.kml",
    "drawings_survey.csv",
    "registrations.csv",
    "pcn_membership.csv",
    "imd.csv",
]

# --------------------------------------------------------------------------- helpers


def snap(geom):
    """Snap to the 0.1 m grid."""
    return shapely.set_precision(geom, GRID)


def ccw(geom):
    """Counter-clockwise exterior rings (clockwise holes)."""
    return shapely.orient_polygons(geom, exterior_cw=False)


def density(x, y):
    """Relative residential density: about five times denser in the centre."""
    d = np.hypot(x - CX, y - CY)
    return 0.2 + np.exp(-((d / 1_300.0) ** 2))


def sample_in(rng, poly, n, weighted=True):
    """``n`` random points inside ``poly`` (density-weighted by rejection)."""
    xmin, ymin, xmax, ymax = poly.bounds
    out = []
    while len(out) < n:
        x = rng.uniform(xmin, xmax, 64)
        y = rng.uniform(ymin, ymax, 64)
        keep = shapely.contains_xy(poly, x, y)
        if weighted:
            keep &= rng.uniform(0, 1.2, 64) < density(x, y)
        out.extend(zip(x[keep], y[keep], strict=True))
    return np.array(out[:n])


def voronoi_split(rng, poly, n, relax=2):
    """Split ``poly`` into ``n`` single-part Voronoi cells (retries until all are single)."""
    for _ in range(200):
        pts = sample_in(rng, poly, n)
        for _ in range(relax):
            cells = _cells(pts, poly)
            cent = np.array([[c.centroid.x, c.centroid.y] for c in cells])
            pts = 0.5 * pts + 0.5 * cent
        cells = _cells(pts, poly)
        if all(c.geom_type == "Polygon" for c in cells) and min(c.area for c in cells) > 4_000:
            return cells
    raise RuntimeError("could not split polygon")


def _cells(pts, poly):
    vor = shapely.voronoi_polygons(MultiPoint(pts), extend_to=poly.buffer(500), ordered=True)
    return [shapely.intersection(c, poly) for c in vor.geoms]


def blob(rng, cx, cy, r, n=240, harm=0.12, aspect=1.0, angle=0.0):
    """A smooth irregular closed shape."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = np.ones(n)
    for k in range(2, 6):
        rr += rng.uniform(0.3, 1.0) * harm / (k - 1) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    x = rr * np.cos(t) * aspect
    y = rr * np.sin(t) / aspect
    ca, sa = math.cos(angle), math.sin(angle)
    return Polygon(np.c_[cx + r * (ca * x - sa * y), cy + r * (sa * x + ca * y)])


def smooth_noise(rng, n, n_harm=7, wiggle=0.25):
    """Smoothed circular noise of unit standard deviation (a hand's wobble)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    s = np.zeros(n)
    for k in range(1, n_harm + 1):
        s += rng.normal() / k**1.1 * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    raw = rng.normal(size=n)
    w = max(2, n // 40)
    kern = np.exp(-0.5 * (np.arange(-3 * w, 3 * w + 1) / w) ** 2)
    hf = np.convolve(np.r_[raw[-3 * w :], raw, raw[: 3 * w]], kern / kern.sum(), mode="valid")
    s = s / (s.std() or 1) + wiggle * hf / (hf.std() or 1)
    return s / s.std()


def hand_drawn(rng, truth, reach=None):
    """A resident's wobbly, densified, sometimes over/under-reaching copy of ``truth``."""
    ring = truth.exterior
    size = math.sqrt(truth.area / math.pi)
    for attempt in range(8):
        n = int(rng.integers(50, 301))
        step = ring.length / n
        d = (np.arange(n) + rng.uniform(-0.4, 0.4, n)) * step + rng.uniform(0, ring.length)
        d = np.sort(d % ring.length)
        p = shapely.get_coordinates(shapely.line_interpolate_point(ring, d))
        tang = np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)
        tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
        normal = np.c_[tang[:, 1], -tang[:, 0]]  # outward for a CCW ring
        amp = rng.uniform(0.04, 0.12) * size / (1 + attempt)
        off = smooth_noise(rng, n) * amp
        if reach is not None:  # over-reach (+) or under-reach (-) bulge
            centre = int(rng.integers(n))
            idx = np.minimum(np.abs(np.arange(n) - centre), n - np.abs(np.arange(n) - centre))
            off += reach * size * np.exp(-0.5 * (idx / (n / 14)) ** 2) / (1 + attempt)
        q = p + normal * off[:, None]
        c = np.array(truth.centroid.coords[0])
        q = c + (q - c) * rng.normal(1.0, 0.09) + rng.normal(0, 0.05 * size, 2)
        poly = Polygon(np.round(q, 1))
        if poly.is_valid and not poly.is_empty:
            return ccw(poly)
    raise RuntimeError("could not draw a valid copy")


def fmt_thousands(v):
    return f"{int(v):,}"


def write_gpkg(gdf, path, layer, **kwargs):
    gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", **kwargs)


# --------------------------------------------------------------------------- the town


def build_town(rng):
    t = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    r = np.ones_like(t)
    for k in range(2, 7):
        r += rng.uniform(0.02, 0.07) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    # A lobe along the valley to the east-north-east and a bite out of the south-west.
    r += 0.32 * np.exp(-0.5 * ((np.angle(np.exp(1j * (t - 0.35)))) / 0.32) ** 2)
    r -= 0.18 * np.exp(-0.5 * ((np.angle(np.exp(1j * (t - 3.9)))) / 0.25) ** 2)
    outline = snap(Polygon(np.c_[CX + R0 * r * np.cos(t), CY + R0 * 0.9 * r * np.sin(t)]))

    # Nested Voronoi: MSOA -> LSOA -> OA.
    msoa_cells = voronoi_split(rng, outline, 7)
    oa_raw, oa_lsoa, lsoa_msoa = [], [], []
    n_lsoa = 0
    for mi, mcell in enumerate(msoa_cells):
        for lcell in voronoi_split(rng, mcell, int(rng.choice([4, 5, 5, 6]))):
            for ocell in voronoi_split(rng, lcell, int(rng.choice([4, 5, 5, 6]))):
                oa_raw.append(ocell)
                oa_lsoa.append(n_lsoa)
            lsoa_msoa.append(mi)
            n_lsoa += 1

    # Node all boundaries on the 0.1 m grid and polygonise: edges coincide exactly.
    lines = shapely.union_all([o.boundary for o in oa_raw], grid_size=GRID)
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    tree = shapely.STRtree(oa_raw)
    owner = []
    for f in faces:
        cand = tree.query(f)
        owner.append(max(cand, key=lambda i: shapely.intersection(oa_raw[i], f).area))
    owner = np.array(owner)
    oas = [
        shapely.union_all([faces[j] for j in np.flatnonzero(owner == i)], grid_size=GRID)
        for i in range(len(oa_raw))
    ]
    assert all(o.geom_type == "Polygon" for o in oas)

    oa = gpd.GeoDataFrame({"_lsoa": oa_lsoa}, geometry=oas, crs=CRS)
    oa["_msoa"] = [lsoa_msoa[i] for i in oa_lsoa]
    return outline, oa, np.array(lsoa_msoa)


def name_and_code(oa, lsoa_msoa):
    """ONS-style fictional codes and names: MSOAs numbered north to south."""
    cent = oa.geometry.centroid
    m_y = pd.Series(cent.y.values).groupby(oa["_msoa"].values).mean()
    msoa_order = list(m_y.sort_values(ascending=False).index)
    msoa_num = {m: i + 1 for i, m in enumerate(msoa_order)}
    lsoa_rows = []
    for m in msoa_order:
        lsoas = [i for i, mm in enumerate(lsoa_msoa) if mm == m]
        ly = {i: cent.y[oa["_lsoa"] == i].mean() for i in lsoas}
        for k, i in enumerate(sorted(lsoas, key=lambda i: -ly[i])):
            lsoa_rows.append((i, m, chr(ord("A") + k)))
    lsoa_code = {i: f"E01{990001 + n:06d}" for n, (i, _, _) in enumerate(lsoa_rows)}
    lsoa_name = {i: f"{TOWN} {msoa_num[m]:03d}{letter}" for i, m, letter in lsoa_rows}
    msoa_code = {m: f"E02{990000 + msoa_num[m]:06d}" for m in msoa_order}
    msoa_name = {m: f"{TOWN} {msoa_num[m]:03d}" for m in msoa_order}
    oa["lsoa_code"] = oa["_lsoa"].map(lsoa_code)
    oa["lsoa_name"] = oa["_lsoa"].map(lsoa_name)
    oa["msoa_code"] = oa["_msoa"].map(msoa_code)
    oa["msoa_name"] = oa["_msoa"].map(msoa_name)
    # OA codes in LSOA order, then north to south within the LSOA.
    oa["_y"] = -cent.y.round(1)
    oa = oa.sort_values(["lsoa_code", "_y"]).reset_index(drop=True)
    oa["oa_code"] = [f"E00{990001 + i:06d}" for i in range(len(oa))]
    return oa


WARD_ANCHORS = [  # name, (x, y) in units of R0 from the centre
    ("Abbey", (0.02, 0.0)),
    ("Castle Hill", (-0.5, 0.42)),
    ("Northgate", (0.15, 0.62)),
    ("Millbank", (0.72, 0.12)),
    ("Hollins Green", (0.35, -0.55)),
    ("Moorside", (-0.72, -0.12)),
    ("St Helen's", (-0.25, -0.6)),
]


def build_wards(rng, oa):
    cent = oa.geometry.centroid
    for _ in range(200):
        seeds = np.array([[CX + R0 * ax, CY + R0 * ay] for _, (ax, ay) in WARD_ANCHORS])
        seeds += rng.normal(0, 0.09 * R0, seeds.shape)
        d = np.hypot(cent.x.values[:, None] - seeds[:, 0], cent.y.values[:, None] - seeds[:, 1])
        w = d.argmin(axis=1)
        geoms = [
            shapely.union_all(oa.geometry.values[w == k], grid_size=GRID) for k in range(len(seeds))
        ]
        if not all(g.geom_type == "Polygon" and len(g.interiors) == 0 for g in geoms):
            continue
        split = (pd.Series(w).groupby(oa["lsoa_code"].values).nunique() > 1).sum()
        sizes = np.bincount(w, minlength=len(seeds))
        if split >= 5 and sizes.min() >= 16 and sizes.max() <= 36:
            break
    names = [n for n, _ in WARD_ANCHORS]
    order = sorted(range(len(names)), key=lambda k: names[k])
    code = {k: f"E05{990001 + i:06d}" for i, k in enumerate(order)}
    oa["ward_code"] = [code[k] for k in w]
    oa["ward_name"] = [names[k] for k in w]
    ward = gpd.GeoDataFrame(
        {
            "ward_code": [code[k] for k in order],
            "ward_name": [names[k] for k in order],
            "lad_code": LAD_CODE,
        },
        geometry=[geoms[k] for k in order],
        crs=CRS,
    )
    return oa, ward


def populations(rng, oa):
    x = oa.geometry.centroid.x.values
    east = (x - CX) / R0
    pop = np.clip(np.round(rng.normal(300, 45, len(oa))), 180, 480).astype(int)
    hh_size = np.clip(2.35 + 0.18 * east + rng.normal(0, 0.1, len(oa)), 1.9, 2.9)
    oa["population"] = pop
    oa["households"] = np.round(pop / hh_size).astype(int)
    return oa


# --------------------------------------------------------------------------- points


POSTCODE_UNITS = "ABDEFGHJLNPQRSTUWXYZ"


def address_points(rng, oa):
    rows, used = [], set()
    msoa_num = {c: int(c[-2:]) for c in sorted(oa["msoa_code"].unique())}
    for r in oa.itertuples():
        k = int(rng.integers(3, 7))
        pts = sample_in(rng, r.geometry.buffer(-8), k, weighted=False)
        share = rng.dirichlet(np.full(k, 2.0))
        counts = 1 + rng.multinomial(r.population - k, share)
        for (px, py), c in zip(np.round(pts, 1), counts, strict=True):
            while True:
                pc = (
                    f"BK{msoa_num[r.msoa_code]} {int(rng.integers(1, 10))}"
                    f"{rng.choice(list(POSTCODE_UNITS))}{rng.choice(list(POSTCODE_UNITS))}"
                )
                if pc not in used:
                    used.add(pc)
                    break
            rows.append((f"AP{len(rows) + 1:05d}", pc, r.oa_code, int(c), Point(px, py)))
    df = pd.DataFrame(rows, columns=["id", "postcode", "oa_code", "count", "geometry"])
    return gpd.GeoDataFrame(df, geometry="geometry", crs=CRS)


PRACTICES = [  # name, (x, y) in R0 units, list size attractiveness
    ("Old Town Surgery", (-0.05, 0.05), 1.6),
    ("Station Road Medical Practice", (0.2, -0.1), 1.3),
    ("Millbank Medical Centre", (0.62, 0.08), 1.5),
    ("Northgate Health Centre", (0.05, 0.55), 1.1),
    ("Castle Hill Practice", (-0.45, 0.35), 0.9),
    ("Hollins Green Surgery", (0.3, -0.55), 0.8),
    ("Moorside Group Practice", (-0.6, -0.2), 1.0),
    ("Oakfield Family Practice", (0.35, -0.22), 0.7),
]

PCNS = [
    ("U99001", "Brackenfield Riverside PCN"),
    ("U99002", "Brackenfield Health Alliance PCN"),
    ("U99003", "Moor and Castle PCN"),
]
# Interleaved on purpose: central and outer practices mixed in each PCN.
PRACTICE_PCN = {0: 0, 1: 1, 2: 2, 3: 1, 4: 2, 5: None, 6: 0, 7: 0}


def practices(rng, outline):
    rows = []
    for i, (name, (ax, ay), _) in enumerate(PRACTICES):
        while True:
            x = round(CX + R0 * ax + rng.normal(0, 60), 1)
            y = round(CY + R0 * ay + rng.normal(0, 60), 1)
            if outline.contains(Point(x, y)):
                break
        k = PRACTICE_PCN[i]
        rows.append((f"Y99{i + 1:03d}", name, PCNS[k][0] if k is not None else None, Point(x, y)))
    df = pd.DataFrame(rows, columns=["practice_code", "practice_name", "pcn_code", "geometry"])
    return gpd.GeoDataFrame(df, geometry="geometry", crs=CRS)


def registrations(rng, addr, oa, prac):
    lsoa_of = dict(zip(oa["oa_code"], oa["lsoa_code"], strict=True))
    px = prac.geometry.x.values
    py = prac.geometry.y.values
    attract = np.array([a for _, _, a in PRACTICES])
    ax = addr.geometry.x.values[:, None]
    ay = addr.geometry.y.values[:, None]
    w = attract * np.exp(-np.hypot(ax - px, ay - py) / 800.0)
    w = w / w.sum(axis=1, keepdims=True) * addr["count"].values[:, None]
    lsoa = addr["oa_code"].map(lsoa_of).values
    rows = []
    for code in sorted(set(lsoa)):
        expected = w[lsoa == code].sum(axis=0)
        total = int(round(expected.sum() * rng.uniform(0.97, 1.05)))
        counts = rng.multinomial(total, expected / expected.sum())
        for j, c in enumerate(counts):
            if c > 0:
                rows.append((prac["practice_code"].iloc[j], code, int(c)))
    # A few patients registered from LSOAs outside the town (neighbouring district).
    for j, code in [
        (4, "E01991004"),
        (4, "E01991007"),
        (6, "E01991012"),
        (2, "E01991020"),
        (5, "E01991021"),
        (0, "E01991004"),
    ]:
        rows.append((prac["practice_code"].iloc[j], code, int(rng.integers(1, 40))))
    df = pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])
    return df.sort_values(["practice_code", "lsoa_code"]).reset_index(drop=True)


# --------------------------------------------------------------------------- deprivation

IMD_HEADER = [
    "LSOA code (2011)",
    "LSOA name (2011)",
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
    "Index of Multiple Deprivation (IMD) Score",
    "Index of Multiple Deprivation (IMD) Rank",
    "Index of Multiple Deprivation (IMD) Decile",
    "Income Score (rate)",
    "Income Rank (where 1 is most deprived)",
    "Income Decile (where 1 is most deprived 10% of LSOAs)",
    "Employment Score (rate)",
    "Employment Rank (where 1 is most deprived)",
    "Employment Decile (where 1 is most deprived 10% of LSOAs)",
    "Education, Skills and Training Rank (where 1 is most deprived)",
    "Education, Skills and Training Decile (where 1 is most deprived 10% of LSOAs)",
    "Health Deprivation and Disability Rank (where 1 is most deprived)",
    "Health Deprivation and Disability Decile (where 1 is most deprived 10% of LSOAs)",
    "Crime Rank (where 1 is most deprived)",
    "Crime Decile (where 1 is most deprived 10% of LSOAs)",
    "Barriers to Housing and Services Rank (where 1 is most deprived)",
    "Barriers to Housing and Services Decile (where 1 is most deprived 10% of LSOAs)",
    "Living Environment Rank (where 1 is most deprived)",
    "Living Environment Decile (where 1 is most deprived 10% of LSOAs)",
    "Total population: mid 2015 (excluding prisoners)",
    "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "Population aged 16-59: mid 2015 (excluding prisoners)",
    "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners)",
]

# Score against national rank fraction (0 = most deprived): roughly IoD2019's shape.
_U = [0.0, 0.01, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0]
_IMD = [92.0, 62.0, 34.2, 27.0, 21.5, 14.0, 9.5, 5.5, 0.6]
_INC = [0.62, 0.42, 0.26, 0.19, 0.145, 0.09, 0.06, 0.035, 0.006]
_EMP = [0.50, 0.33, 0.2, 0.15, 0.12, 0.08, 0.055, 0.035, 0.005]


def decile(rank):
    return np.ceil(10 * np.asarray(rank) / N_NATIONAL).astype(int)


def imd_table(rng, lsoa):
    nd = NormalDist()
    c = lsoa.geometry.centroid
    ex = (c.x.values - CX) / R0
    ey = (c.y.values - CY) / R0
    # Deprived inner-east (around the Millbank / Oakfield estates), affluent west.
    z = (
        0.9 * ex
        + 1.6 * np.exp(-((ex - 0.4) ** 2 + (ey + 0.05) ** 2) / 0.12)
        - 0.6 * np.maximum(0, -ex)
        + rng.normal(0, 0.3, len(lsoa))
    )
    n = len(lsoa)
    k = round(0.15 * n)
    u_dep = np.sort(rng.uniform(0.004, 0.095, k))
    u_rest = np.sort(
        np.clip(np.linspace(0.13, 0.97, n - k) + rng.uniform(-0.02, 0.02, n - k), 0.11, 0.995)
    )
    u = np.empty(n)
    u[np.argsort(-z)] = np.r_[u_dep, u_rest]
    rank = np.maximum(1, np.ceil(u * N_NATIONAL)).astype(int)
    assert len(set(rank)) == n

    def domain(sd):
        zz = np.array([nd.inv_cdf(v) for v in u]) + rng.normal(0, sd, n)
        r = np.ceil(np.array([nd.cdf(v) for v in zz]) * N_NATIONAL).astype(int)
        return np.clip(r, 1, N_NATIONAL)

    inc_r, emp_r = domain(0.25), domain(0.35)
    other = [domain(sd) for sd in (0.5, 0.45, 0.8, 1.2, 0.9)]
    pop15 = np.round(lsoa["population"].values * rng.uniform(0.92, 1.0, n)).astype(int)
    child_sh = np.clip(0.19 + 0.05 * (1 - u) - 0.02 + rng.normal(0, 0.01, n), 0.12, 0.3)
    old_sh = np.clip(0.2 + 0.1 * u - 0.05 + rng.normal(0, 0.015, n), 0.1, 0.4)
    child = np.round(pop15 * child_sh).astype(int)
    old = np.round(pop15 * old_sh).astype(int)
    mid = pop15 - child - old
    work = np.round(mid * rng.uniform(0.93, 0.99, n) + old * rng.uniform(0.12, 0.18, n))

    rows = []
    for f in range(n):
        rows.append(
            [
                lsoa["lsoa_code"].iloc[f],
                lsoa["lsoa_name"].iloc[f],
                LAD_CODE,
                TOWN,
                f"{np.interp(rank[f] / N_NATIONAL, _U, _IMD):.3f}",
                fmt_thousands(rank[f]),
                int(decile(rank[f])),
                f"{np.interp(inc_r[f] / N_NATIONAL, _U, _INC):.3f}",
                int(inc_r[f]),
                int(decile(inc_r[f])),
                f"{np.interp(emp_r[f] / N_NATIONAL, _U, _EMP):.3f}",
                int(emp_r[f]),
                int(decile(emp_r[f])),
                *[v for r in other for v in (int(r[f]), int(decile(r[f])))],
                fmt_thousands(pop15[f]),
                fmt_thousands(child[f]),
                fmt_thousands(mid[f]),
                fmt_thousands(old[f]),
                fmt_thousands(work[f]),
            ]
        )
    buf = io.StringIO()
    buf.write("\ufeff")  # the real MHCLG CSVs start with a UTF-8 byte-order mark
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(IMD_HEADER)
    w.writerows(rows)
    return buf.getvalue()


# --------------------------------------------------------------------------- drawings

NEIGHBOURHOODS = [  # name, centre (R0 units), radius (R0), aspect, drawings
    ("Old Town", (0.0, 0.05), 0.25, 1.1, 30),
    ("Millbank", (0.52, 0.04), 0.24, 1.6, 24),
    ("Oakfield Estate", (0.34, -0.2), 0.16, 1.2, 17),
    ("Northgate", (0.05, 0.4), 0.2, 1.3, 12),
    ("Castle Hill", (-0.42, 0.3), 0.21, 1.0, 9),
    ("Hollins Green", (0.25, -0.56), 0.17, 1.4, 7),
    ("Station Quarter", (0.18, -0.12), 0.09, 1.2, 5),
    ("Brackenfield Moor", (-0.62, -0.22), 0.3, 1.2, 3),
]

FIRST = [
    "Amira",
    "Ben",
    "Chloe",
    "Dev",
    "Eleanor",
    "Farid",
    "Grace",
    "Harry",
    "Isla",
    "Jamal",
    "Kerry",
    "Liam",
    "Maya",
    "Nadia",
    "Owen",
    "Priya",
    "Rhys",
    "Sophie",
    "Tom",
    "Zara",
]
LAST = [
    "Ashworth",
    "Begum",
    "Clegg",
    "Dawson",
    "Entwistle",
    "Fairclough",
    "Greenhalgh",
    "Hussain",
    "Iqbal",
    "Jowett",
    "Kaur",
    "Lomax",
    "Mistry",
    "Nuttall",
    "Ormerod",
]
COMMENTS = [
    "",
    "",
    "",
    "Everything inside the ring road really.",
    "I grew up here.",
    "Not sure where it stops on the east side.",
    "The park is part of it!",
    "Where my kids go to school.",
    "Bus routes define it for me.",
    "Up to the canal.",
    "The estate, not the posh bit.",
    "Roughly; the map was hard to use on my phone.",
    "Includes the shops on Mill Lane.",
    "People argue about the bit by the station.",
]


def truth_shapes(rng, outline):
    rows = []
    for name, (ax, ay), rad, aspect, _ in NEIGHBOURHOODS:
        shape = blob(
            rng, CX + R0 * ax, CY + R0 * ay, R0 * rad, aspect=aspect, angle=rng.uniform(0, np.pi)
        )
        shape = shapely.intersection(shape, outline, grid_size=GRID)
        if shape.geom_type != "Polygon":
            shape = max(shapely.get_parts(shape), key=lambda g: g.area)
        rows.append((name, ccw(shape)))
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["neighbourhood", "geometry"]), geometry="geometry", crs=CRS
    )


def contributor(rng):
    f, la = rng.choice(FIRST), rng.choice(LAST)
    return (
        f"{f} {la}",
        f"{f.lower()}.{la.lower()}@example.org",
        f"07700 900{int(rng.integers(0, 1000)):03d}",
    )


def drawings(rng, truth):
    """All hand-drawn copies, each tagged with the file it is exported to."""
    rows = []
    for (name, *_, count), shape in zip(NEIGHBOURHOODS, truth.geometry, strict=True):
        n_ws, n_on = math.ceil(0.55 * count), round(0.28 * count)
        sources = ["workshop"] * n_ws + ["online"] * n_on + ["survey"] * (count - n_ws - n_on)
        for src in rng.permutation(sources):
            reach = None
            if rng.uniform() < 0.2:
                reach = float(rng.choice([-1, 1]) * rng.uniform(0.3, 0.7))
            geom = hand_drawn(rng, shape, reach)
            rows.append(
                {
                    "neighbourhood": name,
                    "source": str(src),
                    "geometry": geom,
                    "comments": str(rng.choice(COMMENTS)),
                }
            )
    # Exactly three (an online drawing each of three neighbourhoods) go to Google My Maps.
    for nbhd in ("Old Town", "Millbank", "Castle Hill"):
        k = next(
            i for i, r in enumerate(rows) if r["neighbourhood"] == nbhd and r["source"] == "online"
        )
        rows[k]["source"] = "mapmaker"
    return rows


def build_workshop(rng, rows, outline):
    ws = [r for r in rows if r["source"] == "workshop"]
    out = []
    for i, r in enumerate(ws):
        name, email, phone = contributor(rng)
        out.append(
            {
                "drawing_id": f"WS-{i + 1:03d}",
                "neighbourhood": r["neighbourhood"],
                "contributor_name": name,
                "contributor_email": email,
                "phone": phone,
                "comments": r["comments"],
                "geometry": r["geometry"],
            }
        )
    faults = []

    def first(nbhd, skip=0):
        return [k for k, r in enumerate(out) if r["neighbourhood"] == nbhd][skip]

    # Bow-tie: the second half of the ring walked backwards, so the ring crosses itself.
    k = first("Oakfield Estate")
    c = shapely.get_coordinates(out[k]["geometry"].exterior)[:-1]
    h = len(c) // 2
    out[k]["geometry"] = Polygon(np.r_[c[:h], c[h:][::-1]])
    faults.append(("self-intersecting bow-tie polygon", out[k]["drawing_id"]))
    # Clockwise exterior ring.
    k = first("Old Town", 2)
    out[k]["geometry"] = shapely.orient_polygons(out[k]["geometry"], exterior_cw=True)
    faults.append(("clockwise (reversed) exterior ring", out[k]["drawing_id"]))
    # Empty-string and missing neighbourhood names.
    k = first("Millbank", 3)
    out[k]["neighbourhood"] = ""
    faults.append(("empty-string neighbourhood name", out[k]["drawing_id"]))
    k = first("Northgate", 1)
    out[k]["neighbourhood"] = None
    faults.append(("missing (NULL) neighbourhood name", out[k]["drawing_id"]))
    # Duplicate id: a different drawing re-uses an earlier id.
    k = first("Castle Hill", 1)
    dup = out[first("Old Town", 5)]["drawing_id"]
    out[k]["drawing_id"] = dup
    faults.append(("duplicate drawing_id (two different drawings)", dup))
    # Extra junk rows.
    n = len(ws)
    xmin, ymin, xmax, ymax = outline.bounds
    extras = [
        (
            "junk axis-aligned rectangle covering half the town",
            "Old Town",
            "test - sorry, pressed the wrong button",
            box(xmin - 150, ymin - 150, CX, ymax + 150),
        ),
        (
            "stray Point feature in the polygon layer",
            "Millbank",
            "I live here",
            Point(round(CX + 0.55 * R0, 1), round(CY + 0.05 * R0, 1)),
        ),
        ("NULL geometry", "Castle Hill", "couldn't get the map to work", None),
    ]
    for j, (fault, nbhd, comment, geom) in enumerate(extras):
        name, email, phone = contributor(rng)
        did = f"WS-{n + j + 1:03d}"
        out.append(
            {
                "drawing_id": did,
                "neighbourhood": nbhd,
                "contributor_name": name,
                "contributor_email": email,
                "phone": phone,
                "comments": comment,
                "geometry": ccw(geom) if geom is not None else None,
            }
        )
        faults.append((fault, did))
    gdf = gpd.GeoDataFrame(pd.DataFrame(out), geometry="geometry", crs=CRS)
    return gdf, faults


def lonlat(transformer, geom, nd=7):
    xy = shapely.get_coordinates(geom.exterior)
    lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
    return [[round(float(a), nd), round(float(b), nd)] for a, b in zip(lon, lat, strict=True)]


def geojson_online(rng, rows, tr):
    feats = []
    online = [r for r in rows if r["source"] == "online"]
    day = 0
    for i, r in enumerate(online):
        _, email, _ = contributor(rng)
        day += int(rng.integers(0, 3))
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "drawing_id": f"ON-{i + 1:03d}",
                    "neighbourhood": r["neighbourhood"],
                    "email": email,
                    "submitted": f"2026-03-{1 + day % 28:02d}T{int(rng.integers(8, 22)):02d}:"
                    f"{int(rng.integers(0, 60)):02d}:00Z",
                },
                "geometry": {"type": "Polygon", "coordinates": [lonlat(tr, r["geometry"])]},
            }
        )
    return (
        json.dumps(
            {"type": "FeatureCollection", "name": "brackenfield_drawings", "features": feats},
            separators=(",", ":"),
        )
        + "\n"
    )


def kml_mapmaker(rows, tr):
    mm = [r for r in rows if r["source"] == "mapmaker"]
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        "  <Document>",
        "    <name>Our Brackenfield</name>",
        "    <description>Neighbourhoods drawn at the library drop-in</description>",
        '    <Style id="poly-1267FF-1200-77-normal">',
        "      <LineStyle><color>ffff6712</color><width>1.2</width></LineStyle>",
        "      <PolyStyle><color>4dff6712</color><fill>1</fill><outline>1</outline></PolyStyle>",
        "    </Style>",
        "    <Folder>",
        "      <name>Untitled layer</name>",
    ]
    for r in mm:
        coords = " ".join(f"{a:.7f},{b:.7f},0" for a, b in lonlat(tr, r["geometry"]))
        desc = r["comments"] or "Drawn by a visitor"
        parts += [
            "      <Placemark>",
            f"        <name>{r['neighbourhood']}</name>",
            f"        <description>{desc}</description>",
            "        <styleUrl>#poly-1267FF-1200-77-normal</styleUrl>",
            "        <Polygon>",
            "          <outerBoundaryIs>",
            "            <LinearRing>",
            "              <tessellate>1</tessellate>",
            f"              <coordinates>{coords}</coordinates>",
            "            </LinearRing>",
            "          </outerBoundaryIs>",
            "        </Polygon>",
            "      </Placemark>",
        ]
    parts += ["    </Folder>", "  </Document>", "</kml>", ""]
    return "\n".join(parts)


def survey_csv(rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["drawing_id", "neighbourhood", "comments", "wkt"])
    sv = [r for r in rows if r["source"] == "survey"]
    for i, r in enumerate(sv):
        w.writerow(
            [
                f"SV-{i + 1:03d}",
                r["neighbourhood"],
                r["comments"],
                shapely.to_wkt(r["geometry"], rounding_precision=1, trim=True),
            ]
        )
    return buf.getvalue()


# --------------------------------------------------------------------------- main


def generate(out: Path) -> dict:
    """Write every sample file into ``out``; return summary statistics."""
    out.mkdir(parents=True, exist_ok=True)
    for f in OUT_FILES:
        (out / f).unlink(missing_ok=True)
    rng = np.random.default_rng(SEED)

    outline, oa, lsoa_msoa = build_town(rng)
    oa = name_and_code(oa, lsoa_msoa)
    oa, ward = build_wards(rng, oa)
    oa = populations(rng, oa)

    lsoa = oa.dissolve(
        "lsoa_code", aggfunc={"lsoa_name": "first", "msoa_code": "first", "population": "sum"}
    ).reset_index()
    lsoa["geometry"] = [
        shapely.union_all(oa.geometry[oa.lsoa_code == c].values, grid_size=GRID)
        for c in lsoa.lsoa_code
    ]
    msoa = oa.dissolve(
        "msoa_code", aggfunc={"msoa_name": "first", "population": "sum"}
    ).reset_index()
    msoa["geometry"] = [
        shapely.union_all(oa.geometry[oa.msoa_code == c].values, grid_size=GRID)
        for c in msoa.msoa_code
    ]
    ward["population"] = [int(oa.population[oa.ward_code == c].sum()) for c in ward.ward_code]
    lad = gpd.GeoDataFrame(
        {"lad_code": [LAD_CODE], "lad_name": [TOWN], "population": [int(oa.population.sum())]},
        geometry=[shapely.union_all(oa.geometry.values, grid_size=GRID)],
        crs=CRS,
    )

    oa_out = oa[
        ["oa_code", "lsoa_code", "msoa_code", "ward_code", "population", "households", "geometry"]
    ].copy()
    lsoa_out = lsoa[["lsoa_code", "lsoa_name", "msoa_code", "population", "geometry"]].copy()
    msoa_out = msoa[["msoa_code", "msoa_name", "population", "geometry"]].copy()
    for g in (oa_out, lsoa_out, msoa_out, ward, lad):
        g["geometry"] = ccw(g.geometry.values)
        g.set_crs(CRS, allow_override=True, inplace=True)

    prac = practices(rng, outline)
    addr = address_points(rng, oa_out)
    regs = registrations(rng, addr, oa_out, prac)

    town = out / "town.gpkg"
    for name, g in [
        ("oa", oa_out),
        ("lsoa", lsoa_out),
        ("msoa", msoa_out),
        ("ward", ward),
        ("lad", lad),
        ("practices", prac),
        ("address_points", addr),
    ]:
        write_gpkg(g, town, name)

    imd_text = imd_table(rng, lsoa_out)
    (out / "imd.csv").write_bytes(imd_text.encode("utf-8"))
    regs.to_csv(out / "registrations.csv", index=False, lineterminator="\n")
    mem = pd.DataFrame(
        [(f"Y99{i + 1:03d}", *PCNS[k]) for i, k in PRACTICE_PCN.items() if k is not None],
        columns=["practice_code", "pcn_code", "pcn_name"],
    )
    mem.to_csv(out / "pcn_membership.csv", index=False, lineterminator="\n")

    truth = truth_shapes(rng, outline)
    truth["drawings"] = [n for *_, n in NEIGHBOURHOODS]
    write_gpkg(truth, out / "truth.gpkg", "neighbourhood_truth")
    rows = drawings(rng, truth)
    ws, faults = build_workshop(rng, rows, outline)
    write_gpkg(ws, out / "drawings_workshop.gpkg", "drawings", geometry_type="Unknown")
    tr = Transformer.from_crs(CRS, "OGC:CRS84", always_xy=True)
    (out / "drawings_online.geojson").write_bytes(geojson_online(rng, rows, tr).encode())
    (out / "drawings_mapmaker.kml").write_bytes(kml_mapmaker(rows, tr).encode())
    (out / "drawings_survey.csv").write_bytes(survey_csv(rows).encode())

    per_nbhd = pd.DataFrame(rows).groupby(["neighbourhood", "source"]).size().unstack(fill_value=0)
    return {
        "population": int(oa.population.sum()),
        "households": int(oa.households.sum()),
        "oa": len(oa),
        "lsoa": len(lsoa),
        "msoa": len(msoa),
        "ward": len(ward),
        "practices": len(prac),
        "address_points": len(addr),
        "registered": int(regs.patients.sum()),
        "faults": faults,
        "per_nbhd": per_nbhd,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="output folder (default: this folder)",
    )
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    stats = generate(a.out)
    if not a.quiet:
        for k, v in stats.items():
            print(f"{k}:", v if k != "faults" else "")
        for fault, did in stats["faults"]:
            print(f"  {did}: {fault}")


if __name__ == "__main__":
    main()
