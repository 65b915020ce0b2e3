"""A realistic planner's city for tests and benchmarks, built from the real ONS files.

``build_city(shared_data_dir, district="E08000036", n=150, seed=0)`` selects one real
district's LSOAs 2021 (with names), wards 2022 and its boundary, draws ``n`` seeded named
neighbourhoods over it (smooth blobs from a few streets to ~20,000 people; about a fifth
wholly inside one ward), and writes the files the real CLI reads to a folder.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["City", "build_city"]

_FIRST = ["Alder", "Ash", "Beck", "Birch", "Bramble", "Brook", "Castle", "Cherry", "Church",
          "Clay", "Cliff", "Common", "Copper", "Crag", "Cross", "Dale", "Elm", "Fern", "Field",
          "Fold", "Ford", "Fox", "Glen", "Grange", "Green", "Hall", "Hazel", "Heath", "Holly",
          "Holm", "Ings", "Kirk", "Lark", "Lea", "Lime", "Lock", "Low", "Marsh", "Mill", "Moor",
          "Oak", "Orchard", "Park", "Pit", "Quarry", "Rook", "Rose", "Rye", "Sand", "Spring",
          "Stone", "Swan", "Thorn", "Well", "Willow", "Wood", "Wren", "Yew"]
_SECOND = ["Bank", "Bottom", "End", "Gate", "Hill", "Lane", "Row", "Side", "Top", "Village",
           "Estate", "Fields", "Court", "Croft", "Rise"]


@dataclass(frozen=True)
class City:
    """Where :func:`build_city` wrote the files (all EPSG:27700 GeoPackages)."""

    folder: Path
    drawings: Path      # layer "neighbourhoods": name, geometry
    lsoa: Path          # lsoa21_code, lsoa21_name
    wards: Path         # ward22_code, ward22_name (with neighbouring districts' wards)
    lad: Path           # ltla24_code, ltla24_name (the district)
    population: Path    # CSV: lsoa21_code, usual_residents_total (Census 2021)
    imd: Path           # folder of IoD2025 + its census population
    n: int
    n_inside_one_ward: int
    outside_wards: tuple[str, ...] = ()  # ward codes of neighbouring districts in wards22


def _names(n: int, rng: np.random.Generator) -> list[str]:
    pool = [f"{a} {b}" for a in _FIRST for b in _SECOND]
    idx = rng.choice(len(pool), size=n, replace=False)
    return [pool[i] for i in idx]


def _blob(x: float, y: float, radius: float, rng: np.random.Generator) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    k = np.arange(1, 5)
    amp = rng.normal(0, 0.12, k.size) / k
    phase = rng.uniform(0, 2 * np.pi, k.size)
    r = radius * (1 + (amp[:, None] * np.cos(k[:, None] * t + phase[:, None])).sum(axis=0))
    return shapely.Polygon(np.c_[x + r * np.cos(t), y + r * np.sin(t)])


def build_city(shared_data_dir: str | Path, district: str = "E08000036", n: int = 150,
               seed: int = 0, out: str | Path | None = None, edge: int = 0) -> City:
    """Write a seeded city of ``n`` named neighbourhoods over a real district.

    Parameters
    ----------
    shared_data_dir
        The shared ``data`` folder (with ``ons/ew2021`` and ``imd2025``).
    district
        LAD 2024 code (default Wakefield).
    n
        Number of neighbourhoods.
    seed
        Random seed: the same seed gives the same city.
    out
        Folder to write to (default: a new temporary folder).
    edge
        Add this many neighbourhoods drawn across the district's edge (a part of each in a
        neighbouring district's wards and LSOAs), and write the neighbouring LSOAs (with
        their census population) too, as a planner's download of a bounding box would.
    """
    data = Path(shared_data_dir)
    ew = data / "ons" / "ew2021"
    folder = Path(out) if out else Path(tempfile.mkdtemp(prefix="nbhd_city_"))
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    lad = gpd.read_file(ew / "boundaries_ltla24.gpkg", where=f"ltla24_code = '{district}'")
    if lad.empty:
        raise ValueError(f"no district {district!r} in boundaries_ltla24.gpkg")
    lad = lad.to_crs(27700)
    lookup = pd.read_csv(ew / "lookup_lsoa21_ward24_ltla24.csv")
    codes = sorted(set(lookup.loc[lookup["ltla24_code"] == district, "lsoa21_code"]))
    in_list = ",".join(f"'{c}'" for c in codes)
    lsoa = gpd.read_file(ew / "boundaries_lsoa21.gpkg",
                         where=f"lsoa21_code IN ({in_list})").to_crs(27700)
    bbox = tuple(lad.to_crs(4326).total_bounds)
    wards = gpd.read_file(ew / "boundaries_wards22.gpkg", bbox=bbox).to_crs(27700)
    district_geom = lad.geometry.iloc[0]
    inside = wards.representative_point().within(district_geom)
    # The wards file keeps the neighbouring districts' wards in the bounding box, as a
    # planner's download would: --clip-to must leave them out.
    outside_codes = tuple(sorted(wards.loc[~inside, "ward22_code"]))
    all_wards = wards
    wards = wards[inside].reset_index(drop=True)

    pop_all = pd.read_csv(data / "imd2025" / "census2021_usual_residents_lsoa21.csv",
                          usecols=["lsoa21_code", "usual_residents_total"])
    pop = pop_all[pop_all["lsoa21_code"].isin(codes)]
    density = lsoa.merge(pop, on="lsoa21_code")
    density["per_m2"] = density["usual_residents_total"] / density.area

    dens_tree = shapely.STRtree(np.asarray(density.geometry.array, dtype=object))
    dens_per_m2 = density["per_m2"].to_numpy(float)
    core = district_geom.buffer(-400)
    shapely.prepare(core)
    minx, miny, maxx, maxy = core.bounds
    names = _names(n, rng)
    rows = []
    n_inside = max(1, n // 5)
    ward_geoms = list(wards.geometry)
    tree_geoms: shapely.STRtree | None = None
    for i, name in enumerate(names):
        for _ in range(1500):
            if i < n_inside:
                w = ward_geoms[int(rng.integers(len(ward_geoms)))]
                p = w.buffer(-300).representative_point() if not w.buffer(-300).is_empty \
                    else w.representative_point()
                x, y = p.x + rng.normal(0, 80), p.y + rng.normal(0, 80)
            else:
                x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            pt = shapely.Point(x, y)
            if not core.contains(pt):
                continue
            hit = dens_tree.query(pt, predicate="within")
            per_m2 = float(dens_per_m2[hit[0]]) if len(hit) else 0.002
            people = float(np.clip(rng.lognormal(np.log(1500), 1.0), 150, 20000))
            radius = float(np.clip(np.sqrt(people / max(per_m2, 1e-4) / np.pi), 120, 2200))
            geom = _blob(x, y, radius, rng)
            if i < n_inside:
                # Shrink until wholly inside the ward it was placed in.
                for _ in range(12):
                    if w.contains(geom):
                        break
                    radius *= 0.75
                    geom = _blob(x, y, radius, rng)
                if not w.contains(geom):
                    continue
            geom = geom.intersection(district_geom)
            # Residents' neighbourhoods mostly tile: little overlap with those drawn so far.
            if rows and tree_geoms is not None:
                near = tree_geoms.query(geom, predicate="intersects")
                if len(near) and sum(geom.intersection(rows[k]["geometry"]).area
                                     for k in near) > 0.25 * geom.area:
                    continue
            if geom.is_empty or geom.area < 2e4:
                continue
            if geom.geom_type != "Polygon":
                geom = max(geom.geoms, key=lambda g: g.area)
            rows.append({"name": name, "geometry": geom})
            tree_geoms = shapely.STRtree([r["geometry"] for r in rows])
            break
    if edge:
        edge_rng = np.random.default_rng(seed + 1000)
        ring = district_geom.exterior if district_geom.geom_type == "Polygon" else \
            max(district_geom.geoms, key=lambda g: g.area).exterior
        used = {r["name"] for r in rows}
        spare = [f"{a} {b}" for a in _FIRST for b in _SECOND if f"{a} {b}" not in used]
        for k in range(edge):
            p = ring.interpolate((k + 0.5) / edge, normalized=True)
            # Centre a little inside the edge: most of the neighbourhood in the district.
            inner = district_geom.buffer(-350).boundary.interpolate(
                district_geom.buffer(-350).boundary.project(p))
            geom = _blob(inner.x, inner.y, 600, edge_rng)
            rows.append({"name": spare[int(edge_rng.integers(len(spare)))] + " Edge",
                         "geometry": geom})
    drawings = gpd.GeoDataFrame(rows, crs=27700)
    n_in = int(sum(any(w.contains(g) for w in ward_geoms) for g in drawings.geometry))

    paths = {
        "drawings": folder / "neighbourhoods.gpkg",
        "lsoa": folder / "lsoa21.gpkg",
        "wards": folder / "wards22.gpkg",
        "lad": folder / "district.gpkg",
    }
    drawings.to_file(paths["drawings"], layer="neighbourhoods", driver="GPKG")
    if edge:
        lsoa = gpd.read_file(ew / "boundaries_lsoa21.gpkg", bbox=bbox).to_crs(27700)
        pop = pop_all[pop_all["lsoa21_code"].isin(set(lsoa["lsoa21_code"]))]
    lsoa[["lsoa21_code", "lsoa21_name", "geometry"]].to_file(paths["lsoa"], driver="GPKG")
    all_wards[["ward22_code", "ward22_name", "geometry"]].to_file(paths["wards"], driver="GPKG")
    lad[["ltla24_code", "ltla24_name", "geometry"]].to_file(paths["lad"], driver="GPKG")
    pop_path = folder / "census2021_population.csv"
    pop.to_csv(pop_path, index=False)
    return City(folder=folder, drawings=paths["drawings"], lsoa=paths["lsoa"],
                wards=paths["wards"], lad=paths["lad"], population=pop_path,
                imd=data / "imd2025", n=len(drawings), n_inside_one_ward=n_in,
                outside_wards=outside_codes)


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    c = build_city(sys.argv[1] if len(sys.argv) > 1 else "../shared/data",
                   out=sys.argv[2] if len(sys.argv) > 2 else None)
    print(c)


def many_drawings(city: City, n: int = 10_000, names: int = 300, seed: int = 1,
                  out: str | Path | None = None) -> Path:
    """Write ``n`` resident drawings of ``names`` neighbourhoods over the city's district.

    Each name has a seeded centre and size; its drawings are smooth blobs around it that
    differ in position (±60 m), size (±15 %) and outline, as different residents' would.
    """
    rng = np.random.default_rng(seed)
    lad = gpd.read_file(city.lad).to_crs(27700)
    district = lad.geometry.iloc[0]
    core = district.buffer(-800)
    minx, miny, maxx, maxy = core.bounds
    pool = [f"{a} {b}" for a in _FIRST for b in _SECOND]
    chosen = [pool[i] for i in rng.choice(len(pool), size=min(names, len(pool)),
                                          replace=False)]
    while len(chosen) < names:
        chosen.append(f"{chosen[len(chosen) % len(pool)]} {len(chosen)}")
    centres = []
    while len(centres) < names:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if core.contains(shapely.Point(x, y)):
            centres.append((x, y, float(np.clip(rng.lognormal(np.log(450), 0.5), 150, 1500))))
    per = np.full(names, n // names)
    per[: n - per.sum()] += 1
    rows = []
    for name, (x, y, r), k in zip(chosen, centres, per, strict=True):
        for _ in range(int(k)):
            dx, dy = rng.normal(0, 60, 2)
            rows.append({"neighbourhood": name,
                         "geometry": _blob(x + dx, y + dy, r * rng.uniform(0.85, 1.15), rng)})
    frame = gpd.GeoDataFrame(rows, crs=27700)
    path = Path(out) if out else city.folder / "many_drawings.gpkg"
    frame.to_file(path, layer="drawings", driver="GPKG")
    return path
