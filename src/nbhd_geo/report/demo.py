"""The demo: the main job run on the bundled sample town (``make demo``)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from nbhd_geo.deprivation.imd import read_imd
from nbhd_geo.io.read import read_layer
from nbhd_geo.pcn import pcn_footprints, read_pcn_membership, read_registrations
from nbhd_geo.reconcile import (
    LayerSpec,
    Source,
    neighbourhood_areas,
    read_drawings_many,
)
from nbhd_geo.report.options import (
    AllocationOptions,
    DeprivationOptions,
    DrawingOptions,
    LabelOptions,
    PageOptions,
    PopulationOptions,
)
from nbhd_geo.report.overlap import overlap_report
from nbhd_geo.samples import get_path

__all__ = ["run_demo"]


def _sample_layers() -> tuple[list[LayerSpec], gpd.GeoDataFrame]:
    town = get_path("town")
    specs = []
    for name, code, pop in [
        ("oa", "oa_code", "population"),
        ("lsoa", "lsoa_code", "population"),
        ("msoa", "msoa_code", None),
        ("ward", "ward_code", None),
    ]:
        data, _ = read_layer(town, layer=name, id_col=code)
        specs.append(LayerSpec(name, data, pop))
    # PCN footprints: where each PCN's registered patients live (plurality per LSOA).

    lsoa = specs[1].data
    fp = pcn_footprints(
        read_registrations(get_path("registrations")),
        read_pcn_membership(get_path("pcn_membership")),
        lsoa.reset_index(), lsoa_id="lsoa_code",
    )
    pcn = fp.footprints[~fp.footprints.geometry.is_empty].set_index("org")
    pcn.index.name = "pcn_code"
    specs.append(LayerSpec("pcn", pcn[["pcn_name", "geometry"]]))
    lad, _ = read_layer(town, layer="lad", id_col="lad_code")
    specs.append(LayerSpec("lad", lad))
    points, _ = read_layer(town, layer="address_points", geom_type="point")
    return specs, points


def run_demo(out: Path, *, progress: bool = True, overwrite: bool = False) -> list[Path]:
    """Run the main job on the bundled sample town; return the files written.

    Reads every sample drawing file (accounting for each feature), finds each
    neighbourhood's consensus core, reconciles the cores with OAs, LSOAs, MSOAs, wards,
    PCN footprints (from GP registrations) and the district, and writes the overlap
    report with its deprivation and consensus sections, its tables and the GeoPackage
    under ``out``.
    """
    out = Path(out)
    sources: list[Source] = [
        (get_path("drawings_workshop"), "drawings"),
        get_path("drawings_online"),
        {"path": get_path("drawings_mapmaker"), "name_col": "Name"},
        {"path": get_path("drawings_survey"), "crs": "EPSG:27700"},
    ]
    drawings, report = read_drawings_many(sources, name_col="neighbourhood")
    layers, points = _sample_layers()
    areas, label_col, intro, cons = neighbourhood_areas(drawings)
    imd = read_imd(get_path("imd"))
    title = "Brackenfield (sample town): overlap report"
    result = overlap_report(
        areas, layers, out, labels=LabelOptions(label_col),
        drawings=DrawingOptions(drawings, cons, report),
        population=PopulationOptions(points, "count"),
        deprivation=DeprivationOptions(imd, allocation=AllocationOptions(1_000_000)),
        page=PageOptions(title=title, intro=intro, primary="lsoa", sample_data=True),
        progress=progress, overwrite=overwrite,
    )
    return result.files
