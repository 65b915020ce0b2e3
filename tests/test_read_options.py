"""The readers' option objects: checked when made, honoured by both readers, spelt for the CLI."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pytest
import shapely

import nbhd_geo as ng
from nbhd_geo.cli._common import _cli_message
from nbhd_geo.errors import ColumnError, CRSError, InputError
from nbhd_geo.io.options import CoordOptions, CsvColumns, PrivacyOptions
from nbhd_geo.io.read import read_drawings, read_layer
from nbhd_geo.reconcile import read_drawings_many

# Leeds, written latitude first: x and y must be swapped to make sense.
LEEDS_SWAPPED = [shapely.box(53.79, -1.55, 53.80, -1.54), shapely.box(53.80, -1.55, 53.81, -1.54)]


@pytest.mark.parametrize(("make", "error", "argument"), [
    (lambda: CoordOptions(to_crs="EPSG:4326"), CRSError, "to_crs"),
    (lambda: CoordOptions(to_crs="not a crs"), CRSError, "to_crs"),
    (lambda: CoordOptions(swap_xy="yes"), InputError, "swap_xy"),
    (lambda: CoordOptions(override_crs=1), InputError, "override_crs"),
    (lambda: CoordOptions(outside="drop"), InputError, "outside"),
    (lambda: CsvColumns(x_col=""), ColumnError, "x_col"),
    (lambda: CsvColumns(geometry_col=3), ColumnError, "geometry_col"),
    (lambda: PrivacyOptions(keep_columns="ward"), InputError, "keep_columns"),
    (lambda: PrivacyOptions(keep_columns=["ward", 2]), InputError, "keep_columns"),
    (lambda: PrivacyOptions(keep_personal="no"), InputError, "keep_personal"),
])
def test_bad_settings_are_refused_when_made(make, error, argument):
    with pytest.raises(error) as err:
        make()
    assert err.value.argument == argument
    assert err.value.fix  # every refusal says how to put it right


def test_options_are_frozen_and_normalised():
    privacy = PrivacyOptions(keep_columns=["ward", "age"])
    assert privacy.keep_columns == ("ward", "age")
    with pytest.raises(dataclasses.FrozenInstanceError):
        privacy.keep_personal = True  # type: ignore[misc]
    assert ng.CoordOptions is CoordOptions and ng.CsvColumns is CsvColumns
    assert ng.PrivacyOptions is PrivacyOptions


def test_one_coords_object_serves_both_readers():
    frame = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=LEEDS_SWAPPED, crs=4326)
    with pytest.raises(CRSError, match=r"coords=CoordOptions\(swap_xy=True\)"):
        read_layer(frame, id_col="code")
    coords = CoordOptions(swap_xy=True, to_crs="EPSG:32630")
    layer, layer_report = read_layer(frame, id_col="code", coords=coords)
    drawn, drawn_report = read_drawings(frame, id_col="code", coords=coords)
    assert layer.crs.to_epsg() == drawn.crs.to_epsg() == 32630
    assert layer_report.crs_out == drawn_report.crs_out == "EPSG:32630"
    assert layer.geometry.geom_equals_exact(drawn.geometry, tolerance=0).all()
    # swapped back, the first square is about 660 m (0.01° of longitude) by 1,110 m
    minx, miny, maxx, maxy = layer.geometry.iloc[0].bounds
    assert 600 < maxx - minx < 700 and 1050 < maxy - miny < 1150


def test_on_report_gets_each_file_report(tmp_path):
    paths = []
    for k in range(2):
        path = tmp_path / f"drawings_{k}.geojson"
        gpd.GeoDataFrame({"id": [f"x{k}", "y"], "nbhd": ["A", "B"], "email": ["a@b.org"] * 2},
                         geometry=[shapely.box(430000, 420000 + 50 * k, 430100, 420100),
                                   shapely.box(430200, 420000, 430300, 420100)],
                         crs=27700).to_file(path)
        paths.append(path)
    seen = []
    drawings, report = read_drawings_many(paths, name_col="nbhd", on_report=seen.append)
    assert [r.source for r in seen] == [p.name for p in paths]
    assert [r.n_kept for r in seen] == [2, 2]
    assert sum(r.n_input for r in seen) == len(report) == 4
    assert all(r.dropped_columns == {"email": r.dropped_columns["email"]} for r in seen)
    # kept only when asked, for every file
    kept, _ = read_drawings_many(paths, name_col="nbhd",
                                 privacy=PrivacyOptions(keep_columns=["email"]))
    assert "email" in kept.columns and "email" not in drawings.columns


@pytest.mark.parametrize(("python", "cli"), [
    ('pass crs="EPSG:4326", coords=CoordOptions(swap_xy=True)', "pass --crs EPSG:4326, --swap-xy"),
    ("pass coords=CoordOptions(outside='reject') to reject", "pass --outside reject to reject"),
    ("check the CRS (crs=/coords=CoordOptions(to_crs=))", "check the CRS (--crs/--to-crs)"),
])
def test_cli_messages_name_flags_not_objects(python, cli):
    assert _cli_message(CRSError("x", fix=python)).endswith(f"Fix: {cli}.")


def test_an_unreadable_working_crs_is_not_answered_with_a_geographic_one():
    """Where areas are measured, the fix must not offer EPSG:4326, which is refused next."""
    from nbhd_geo.errors import CRSError
    from nbhd_geo.io.options import CoordOptions
    from nbhd_geo.measures.options import EngineOptions

    for make, argument in ((lambda: EngineOptions(crs="nonsense"), "crs"),
                           (lambda: CoordOptions(to_crs="nonsense"), "to_crs")):
        with pytest.raises(CRSError) as err:
            make()
        assert err.value.argument == argument
        assert "EPSG:27700" in str(err.value) and "4326" not in str(err.value)
