"""A realistic test city: real LSOAs with Census 2021 population, seeded resident neighbourhoods.

``load_district`` reads a real district from ../shared/data (LSOA 2021 boundaries, the
LSOA→LAD lookup, Census 2021 usual residents). ``make_neighbourhoods`` draws resident
neighbourhoods inside it: smooth blobs (a buffered random walk, opened and closed to round
it off) started where people live, sized from a few streets (~300 people) to ~20,000
people (log-uniform), and kept disjoint, as a community mapping exercise would give.
Both are deterministic by seed. Reusable by any test or benchmark.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["load_district", "make_neighbourhoods"]


def load_district(shared: Path, ltla: str = "E08000036") -> gpd.GeoDataFrame:
    """LSOA 2021 of one district (default Wakefield) in EPSG:27700 with ``population``.

    ``shared`` is the ../shared/data folder. Columns: ``lsoa21_code``, ``lsoa21_name``,
    ``ltla24_code``, ``population`` (Census 2021 usual residents), geometry; index = code.
    """
    ew = shared / "ons" / "ew2021"
    lookup = pd.read_csv(ew / "lookup_lsoa21_ward24_ltla24.csv")
    codes = lookup.loc[lookup["ltla24_code"] == ltla, ["lsoa21_code", "ltla24_code"]]
    codes = codes.drop_duplicates("lsoa21_code")
    pop = pd.read_csv(
        shared / "imd2025" / "census2021_usual_residents_lsoa21.csv",
        usecols=["lsoa21_code", "usual_residents_total"],
    ).rename(columns={"usual_residents_total": "population"})
    gdf = gpd.read_file(
        ew / "boundaries_lsoa21.gpkg",
        where="lsoa21_code IN ({})".format(",".join(f"'{c}'" for c in codes["lsoa21_code"])),
        engine="pyogrio",
    ).to_crs(27700)
    gdf = gdf.merge(codes, on="lsoa21_code").merge(pop, on="lsoa21_code", how="left")
    gdf["geometry"] = shapely.make_valid(gdf.geometry.array)
    return gdf.sort_values("lsoa21_code").set_index("lsoa21_code", drop=False)


def _point_in(poly: shapely.Geometry, rng: np.random.Generator) -> shapely.Point:
    x0, y0, x1, y1 = poly.bounds
    for _ in range(1000):
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if poly.contains(p):
            return p
    return poly.representative_point()


def _blob(start: shapely.Point, r: float, steps: int, heading: float,
          turns: np.ndarray) -> shapely.Geometry:
    pts = [(start.x, start.y)]
    for t in turns[:steps]:
        heading += t
        x, y = pts[-1]
        pts.append((x + 0.8 * r * np.cos(heading), y + 0.8 * r * np.sin(heading)))
    core = shapely.LineString(pts) if len(pts) > 1 else start
    return core.buffer(0.7 * r, quad_segs=12).buffer(0.3 * r).buffer(-0.3 * r)


def make_neighbourhoods(
    lsoa_gdf: gpd.GeoDataFrame,
    n: int,
    seed: int,
    *,
    population: str = "population",
    min_people: float = 300,
    max_people: float = 20_000,
) -> gpd.GeoDataFrame:
    """Draw ``n`` disjoint resident neighbourhoods inside the district's LSOAs.

    Returns a GeoDataFrame (EPSG:27700) with ``name`` (``"N01"``...), ``target_people``,
    ``est_people`` (area-weighted estimate from LSOA densities) and geometry.
    """
    rng = np.random.default_rng(seed)
    g = lsoa_gdf.to_crs(27700)
    geoms = np.asarray(g.geometry.array, dtype=object)
    pop = g[population].to_numpy(float)
    dens = pop / shapely.area(geoms)
    district = shapely.union_all(geoms)
    tree = shapely.STRtree(geoms)
    taken = shapely.Polygon()
    rows = []
    tries = 0
    while len(rows) < n and tries < 60 * n:
        tries += 1
        target = float(np.exp(rng.uniform(np.log(min_people), np.log(max_people))))
        i = int(rng.choice(len(g), p=pop / pop.sum()))
        start = _point_in(geoms[i], rng)
        steps = int(rng.integers(1, 5))
        heading = float(rng.uniform(0, 2 * np.pi))
        turns = rng.normal(0, 0.6, 5)
        if taken.contains(start):
            continue
        r = float(np.sqrt(target / dens[i] / np.pi / (1 + 0.5 * steps)))
        est, blob = 0.0, None
        for _ in range(4):  # resize until the estimated people match the target
            shape = _blob(start, r, steps, heading, turns).intersection(district)
            shape = shapely.make_valid(shape.difference(taken))
            parts = [p for p in shapely.get_parts(shape) if p.geom_type == "Polygon"]
            if not parts:
                break
            blob = max(parts, key=lambda p: p.area)
            hit = tree.query(blob, predicate="intersects")
            est = float((shapely.area(shapely.intersection(geoms[hit], blob)) * dens[hit]).sum())
            if est <= 0:
                break
            if abs(est / target - 1) < 0.15:
                break
            r *= float(np.clip(np.sqrt(target / est), 0.5, 2.0))
        if blob is None or not (0.5 * min_people <= est <= 1.3 * max_people):
            continue
        rows.append((f"N{len(rows) + 1:02d}", round(target), round(est), blob))
        taken = shapely.union(taken, blob)
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["name", "target_people", "est_people", "geometry"]),
        geometry="geometry",
        crs=27700,
    )
