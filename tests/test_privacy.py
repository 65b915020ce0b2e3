"""Tests for nbhd_geo.privacy."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from nbhd_geo.io.privacy import drop_personal, personal_column_reasons, personal_columns


@pytest.mark.parametrize("column", [
    "contributor_name", "contributor_email", "email", "E-mail", "eMail", "phone", "tel",
    "mobile", "Telephone Number", "address", "home_address", "postcode", "comments", "notes",
    "description", "free_text", "ip_address", "author", "submitted_by", "firstName", "surname",
    "userName",
])
def test_flagged_by_name(column):
    df = pd.DataFrame({column: ["x"], "neighbourhood": ["Belle Isle"]})
    assert personal_columns(df) == [column]


@pytest.mark.parametrize("column", [
    "neighbourhood", "neighborhood", "nbhd_name", "name", "Name", "drawing_id", "folder",
    "yearsLived", "neighborhoodLive", "otherNeighborhood", "city", "LSOA11CD", "area_name",
    "shapeID", "notable",
])
def test_not_flagged(column):
    df = pd.DataFrame({column: ["Belle Isle", "Eastmoor"]})
    assert personal_columns(df) == []


@pytest.mark.parametrize("values, why", [
    (["Belle Isle", "jo.bloggs@example.co.uk"], "content contains e-mail addresses"),
    (["Belle Isle", "07700 900123"], "content contains phone numbers"),
    (["Belle Isle", "+44 1924 123456"], "content contains phone numbers"),
    (["WF1 2AB", "Eastmoor"], "content contains postcodes"),
    (["192.168.0.1"], "content contains IP addresses"),
    (["it is a lovely place to live with a great park and friendly people", "ok"],
     "content is long free text"),
])
def test_flagged_by_content(values, why):
    df = pd.DataFrame({"field_3": values})
    assert personal_column_reasons(df) == {"field_3": why}


def test_ambiguous_name_resolved_by_content():
    places = pd.DataFrame({"name": ["Belle Isle", "Eastmoor"]})
    people = pd.DataFrame({"name": ["jo@example.org", "al@example.org"]})
    assert personal_columns(places) == []
    assert personal_columns(people) == ["name"]
    assert personal_columns(people, keep=["name"]) == []


def test_numbers_and_geometry_ignored():
    gdf = gpd.GeoDataFrame({"count": [1, 2], "score": [0.5, 0.7]},
                           geometry=[shapely.Point(0, 0), shapely.Point(1, 1)])
    assert personal_columns(gdf) == []


def test_drop_personal_returns_copy():
    gdf = gpd.GeoDataFrame({"neighbourhood": ["a"], "email": ["a@b.org"]},
                           geometry=[shapely.Point(0, 0)], crs=27700)
    out = drop_personal(gdf)
    assert isinstance(out, gpd.GeoDataFrame)
    assert out.columns.tolist() == ["neighbourhood", "geometry"]
    assert gdf.columns.tolist() == ["neighbourhood", "email", "geometry"]
    assert drop_personal(gdf, keep=["email"]).columns.tolist() == gdf.columns.tolist()
