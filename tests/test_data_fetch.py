"""nbhd_geo.official against a real HTTP server on 127.0.0.1 (tests/_fake_services.py).

The server imitates the ONS ArcGIS REST services and the publishers' static files with
their real formats, built from ../shared/data; nothing of nbhd_geo.official is mocked.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

import nbhd_geo as ng
from nbhd_geo import official as data
from nbhd_geo.cli.fetch import fetch_cmd
from nbhd_geo.errors import InputError, NbhdGeoError, VintageError
from nbhd_geo.official import (
    ArcGISClient,
    ChecksumError,
    CountMismatchError,
    DownloadError,
    OfflineError,
    ServiceError,
    ServiceNotFoundError,
    fetch_file,
    fetch_geography,
    fetch_static,
    read_geography,
)
from tests._fake_services import FakeServer
from tests.conftest import shared_path

HARTLEPOOL = "E06000001"
BLACKBURN = "E06000008"
LSOA_SVC = "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5"
FAST = {"retries": 2, "backoff": 0.01, "progress": False}

# The fake ArcGIS server serves files out of ../shared/data: every test here needs it.
pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def server():
    srv = FakeServer(shared_path()).start()
    yield srv
    srv.stop()


@pytest.fixture
def fake(server):
    server.requests.clear()
    server.faults.clear()
    server.range_support = True
    return server


@pytest.fixture(scope="module")
def bundle(server, tmp_path_factory):
    """Hartlepool fetched once: (Geography, GeoPackage path, cache folder, request count)."""
    root = tmp_path_factory.mktemp("bundle")
    server.requests.clear()
    geo = fetch_geography(HARTLEPOOL, out=root / "hartlepool.gpkg", base_url=server.arcgis,
                          static_base_url=server.static_url, cache_dir=root / "cache", **FAST)
    return geo, root / "hartlepool.gpkg", root / "cache", list(server.requests)


def _urls(server):
    return {"base_url": server.arcgis, "static_base_url": server.static_url}


# --------------------------------------------------------------------------- the bundle

def test_bundle_has_every_layer_with_real_values(bundle, shared):
    geo, path, _, requests = bundle
    lookup = pd.read_csv(shared("ons", "ew2021", "lookup_lsoa21_ward24_ltla24.csv"), dtype=str)
    lookup = lookup[lookup["ltla24_code"] == HARTLEPOOL]
    lsoa = geo["lsoa21"]
    assert sorted(lsoa["lsoa_code"]) == sorted(lookup["lsoa21_code"])
    assert len(lsoa) == 57 and len(geo["wards"]) == 12 and len(geo["lad"]) == 1
    assert set(geo["wards"]["ward_code"]) == set(lookup["ward24_code"])
    assert all(layer.crs.to_epsg() == 27700 for layer in geo.layers.values())
    # Census population: the fetched column equals the published counts.
    census = pd.read_csv(shared("imd2025", "census2021_usual_residents_lsoa21.csv"))
    census = census.set_index("lsoa21_code")["usual_residents_total"]
    assert lsoa["population"].sum() == pytest.approx(census[lookup["lsoa21_code"]].sum())
    # IMD 2025 columns equal the published ranks, deciles and scores.
    imd = pd.read_csv(shared("imd2025", "imd2025_england_lsoa21.csv")).set_index("lsoa21_code")
    got = lsoa.set_index("lsoa_code")
    for code in lookup["lsoa21_code"][:5]:
        assert got.at[code, "imd_rank"] == imd.at[code, "IMD_rank"]
        assert got.at[code, "imd_decile"] == imd.at[code, "IMD_decile"]
        assert got.at[code, "income_score"] == pytest.approx(imd.at[code, "Income_score"])
    # Geometry survives Esri JSON rings: areas equal the source polygons' in EPSG:27700.
    src = pyogrio.read_dataframe(shared("ons", "ew2021", "boundaries_lsoa21.gpkg"),
                                 where="lsoa21_code IN ({})".format(
                                     ",".join(f"'{c}'" for c in lookup["lsoa21_code"])))
    src = src.to_crs(27700).set_index("lsoa21_code").area
    assert (got.geometry.area - src[got.index]).abs().max() < 1e-3
    # Paging: 57 LSOAs at 25 per page = 3 pages, then one returnCountOnly check.
    lsoa_q = [r for r in requests if r["path"].startswith(f"/arcgis/rest/services/{LSOA_SVC}/")
              and r["path"].endswith("/query")]
    pages = [r for r in lsoa_q if "resultOffset" in r["query"]]
    assert [r["query"]["resultOffset"] for r in pages] == ["0", "25", "50"]
    assert all(r["query"]["outSR"] == "27700" for r in pages)
    assert sum(r["query"].get("returnCountOnly") == "true" for r in lsoa_q) == 1
    lk_q = [r for r in requests if "LSOA21_WD24_LAD24_EW_LU/FeatureServer/0/query" in r["path"]]
    assert lk_q[0]["query"]["where"] == f"LAD24CD='{HARTLEPOOL}'"


def test_bundle_says_which_vintage_was_used(bundle):
    geo, *_ = bundle
    v = geo.vintages.set_index("layer")
    # The services directory lists wards 2022, 2024 and 2025: the lookup is WD24, so the
    # 2024 wards are used (not the newest), and the reason is recorded.
    assert v.at["lookup", "service"] == "LSOA21_WD24_LAD24_EW_LU"
    assert v.at["lookup", "source"] == "listing"
    assert v.at["wards", "service"] == "Wards_December_2024_Boundaries_UK_BGC"
    assert v.at["wards", "source"] == "matched" and v.at["wards", "year"] == 2024
    assert v.at["lsoa21", "service"] == LSOA_SVC  # V5, not the V4 also listed
    assert v.at["imd", "vintage"] == "IoD2025" and v.at["imd", "geography"] == "LSOA21"
    assert "Open Government Licence" in v.at["lsoa21", "licence"]
    assert "Crown copyright" in v.at["wards", "attribution"]
    assert set(geo["wards"]["vintage"]) == {"wards (December 2024)"}
    assert any(n.startswith("oa21 skipped") for n in geo.notes)


def test_msoas_by_envelope_keep_only_the_district(bundle, server, shared):
    geo, *_ = bundle
    lk = pd.read_csv(shared("ons", "ew2021", "lookup_msoa11_msoa21_ltla22.csv"), dtype=str)
    want = set(lk.loc[lk["ltla22_code"] == HARTLEPOOL, "msoa21_code"])
    assert set(geo["msoa21"]["msoa_code"]) == want and len(want) == 11
    # The envelope query returned neighbours too (e.g. Stockton's), left out by area.
    layer = server.layers["Middle_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V3"]
    box = gpd.GeoSeries.from_xy(geo["lsoa21"].total_bounds[[0, 2]],
                                geo["lsoa21"].total_bounds[[1, 3]]).union_all().envelope
    touched = {c for c, g in zip(layer.frame["MSOA21CD"], layer.geoms, strict=True)
               if g.intersects(box)}
    assert touched > want


def test_read_geography_round_trip(bundle):
    geo, path, _, _ = bundle
    back = read_geography(path)
    assert set(back.layers) == {"lsoa21", "msoa21", "wards", "lad"}
    assert back.district == HARTLEPOOL
    assert back["lsoa21"]["population"].sum() == pytest.approx(geo["lsoa21"]["population"].sum())
    assert back["wards"].attrs["nbhd_geo_vintage"]["service"] == \
        "Wards_December_2024_Boundaries_UK_BGC"
    assert len(back.lookup) == 57
    info = pyogrio.read_info(path, layer="wards")
    assert info["layer_metadata"]["nbhd_geo_year"] == "2024"
    weights, col = back.population_weights()
    assert col == "population" and weights[col].sum() == back["lsoa21"]["population"].sum()
    specs = back.layer_specs()
    assert [s.name for s in specs] == ["lsoa", "msoa", "ward", "lad"]
    assert specs[0].population == "population" and specs[0].data.index.name == "lsoa_code"
    assert specs[0].data.crs.to_epsg() == 27700
    # The layers feed the overlap engine directly: a drawing made of two LSOAs is
    # matched to exactly those two, whole.
    lsoa = specs[0].data
    two = lsoa.index[:2]
    drawing = gpd.GeoDataFrame({"name": ["A"]}, geometry=[lsoa.loc[two].union_all()],
                               crs=27700, index=pd.Index(["A"], name="area_id"))
    table = ng.crosswalk(drawing, lsoa).table
    whole = table[table["share_of_target"] > 0.999]
    assert sorted(whole["target_id"]) == sorted(two)


def test_read_geography_refuses_mixed_vintages(bundle, tmp_path):
    _, path, _, _ = bundle
    copy = tmp_path / "edited.gpkg"
    copy.write_bytes(path.read_bytes())
    table = pyogrio.read_dataframe(copy, layer="nbhd_geo_vintages", read_geometry=False)
    table.loc[table["layer"] == "wards", "year"] = 2022
    pyogrio.write_dataframe(table, copy, layer="nbhd_geo_vintages", driver="GPKG")
    with pytest.raises(VintageError, match="ward boundaries are of 2022.*2024"):
        read_geography(copy)


def test_read_geography_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_geography(tmp_path / "nope.gpkg")
    plain = tmp_path / "plain.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([0], [0]), crs=27700).to_file(plain)
    with pytest.raises(InputError, match="not a geography bundle"):
        read_geography(plain)


# --------------------------------------------------------------------------- cache, offline

def test_cache_reuse_makes_no_second_download(bundle, fake):
    _, _, cache, _ = bundle
    geo = fetch_geography(HARTLEPOOL, cache_dir=cache, **_urls(fake), **FAST)
    assert fake.requests == []  # every answer and file came from the cache
    assert len(geo["lsoa21"]) == 57
    offline = fetch_geography(HARTLEPOOL, cache_dir=cache, offline=True, **_urls(fake), **FAST)
    assert fake.requests == []
    assert offline["lsoa21"]["imd_rank"].tolist() == geo["lsoa21"]["imd_rank"].tolist()


def test_offline_env_without_cache_names_url_and_fix(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("NBHD_GEO_OFFLINE", "1")
    monkeypatch.setenv("NBHD_GEO_DATA", str(tmp_path / "env-cache"))
    with pytest.raises(OfflineError) as err:
        fetch_geography(HARTLEPOOL, **_urls(fake), **FAST)
    msg = str(err.value)
    # The listing is not cached, so the pinned registry names the lookup to request.
    assert "LSOA21_WD25_LAD25_EW_LU_v2/FeatureServer/0" in msg and fake.arcgis in msg
    assert "offline mode is on" in msg and "NBHD_GEO_OFFLINE" in msg
    assert fake.requests == []
    with pytest.raises(OfflineError, match="File_7_IoD2025"):
        fetch_static("imd2025", base_url=fake.static_url)
    assert fake.requests == []


def test_env_vars_set_base_urls_and_cache(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("NBHD_GEO_DATA", str(tmp_path / "c"))
    monkeypatch.setenv("NBHD_GEO_ARCGIS_URL", fake.arcgis)
    monkeypatch.setenv("NBHD_GEO_STATIC_URL", fake.static_url)
    path = fetch_static("census2021_ts001", progress=False)
    assert path.parent.parent == tmp_path / "c"
    assert fake.count("/static/census2021-ts001.zip") == 1
    svc = ArcGISClient().resolve("lad")
    assert svc.url.startswith(fake.arcgis) and svc.source == "listing"
    pop = data.read_census_population(path)
    assert pop["E01011949"] > 0 and len(pop) > 35_000


# --------------------------------------------------------------------------- discovery

def test_discovery_newest_and_pinned_fallback(fake, tmp_path):
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    versions, source = client.versions("wards")
    assert source == "listing"
    assert [v.name for v in versions] == ["Wards_May_2025_Boundaries_UK_BGC",
                                          "Wards_December_2024_Boundaries_UK_BGC",
                                          "Wards_May_2022_Boundaries_UK_BGC"]  # BSC left out
    assert client.resolve("wards").year == 2025
    with pytest.raises(ServiceNotFoundError, match="no wards service of 2023.*found: Wards_May"):
        client.resolve("wards", 2023)
    # Listing down (HTTP 500 on every try): the pinned registry is used and said so.
    fake.fault("/arcgis/rest/services", "status", times=3, status=500, retry_after=None,
               when={"f": "json"})
    down = ArcGISClient(fake.arcgis + "/", cache_dir=tmp_path / "other", retries=2,
                        backoff=0.01)
    svc = down.resolve("lsoa21")
    assert svc.source == "pinned" and svc.name == LSOA_SVC
    assert "pinned fallback" in svc.describe()


def test_pinned_service_that_moved_is_a_clear_error(fake, tmp_path):
    fake.fault("/arcgis/rest/services", "status", times=3, status=503, retry_after="0",
               when={"f": "json"})
    with pytest.raises(ServiceError) as err:
        fetch_geography(HARTLEPOOL, cache_dir=tmp_path, base_url=fake.arcgis,
                        static_base_url=fake.static_url, **FAST)
    msg = str(err.value)
    assert "ArcGIS error 400: Invalid URL" in msg
    assert "LSOA21_WD25_LAD25_EW_LU_v2" in msg and "renamed or withdrawn" in msg


# --------------------------------------------------------------------------- queries

def test_envelope_query_and_geojson_pages(fake, tmp_path, shared):
    lsoa = pyogrio.read_dataframe(shared("ons", "ew2021", "boundaries_lsoa21.gpkg"),
                                  where="lsoa21_code IN ('E01011949','E01011950')").to_crs(27700)
    box = tuple(lsoa.total_bounds)
    geo = fetch_geography(bbox=box, cache_dir=tmp_path, imd=None, population=None,
                          include_oa=False, **_urls(fake), **FAST)
    env = [r for r in fake.requests if r["query"].get("geometryType")]
    assert env and all(r["query"]["geometryType"] == "esriGeometryEnvelope"
                       and r["query"]["inSR"] == "27700"
                       and r["query"]["spatialRel"] == "esriSpatialRelIntersects" for r in env)
    every = fake.layers[LSOA_SVC]
    want = {c for c, g in zip(every.frame["LSOA21CD"], every.geoms, strict=True)
            if g.intersects(gpd.GeoSeries.from_xy([box[0]], [box[1]]).iloc[0].envelope.union(
                gpd.GeoSeries.from_xy([box[2]], [box[3]]).iloc[0]).envelope)}
    assert set(geo["lsoa21"]["lsoa_code"]) == want
    assert {"E01011949", "E01011950"} <= want and geo.district is None
    # The same LSOAs through f=geojson (EPSG:4326 pages) give the same areas.
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path, fmt="geojson", page_size=2)
    svc = client.resolve("lsoa21")
    gj = client.query_in(svc, "LSOA21CD", sorted(want)).set_index("LSOA21CD")
    assert gj.crs.to_epsg() == 27700 and len(gj) == len(want)
    js = geo["lsoa21"].set_index("lsoa_code")
    assert (gj.area - js.area[gj.index]).abs().max() < 1e-2
    assert fake.count(f"/arcgis/rest/services/{LSOA_SVC}/FeatureServer/0/query",
                      f="geojson") >= 2


def test_count_mismatch_is_refused(fake, tmp_path):
    fake.fault(f"/arcgis/rest/services/{LSOA_SVC}/", "short_count",
               when={"returnCountOnly": "true"})
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    svc = client.resolve("lsoa21")
    with pytest.raises(CountMismatchError, match="returned 57 features in 3 page.*counts 58"):
        client.query_in(svc, "LSOA21CD", fake.layers[LSOA_SVC].frame["LSOA21CD"][:57])


def test_arcgis_error_bodies(fake, tmp_path):
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    svc = client.resolve("lsoa21_ward_lad")
    with pytest.raises(ServiceError) as err:
        client.query(svc, "NOPE='x'")
    assert "ArcGIS error 400: Unable to complete operation" in str(err.value)
    assert "'where' parameter is invalid" in str(err.value)
    assert "where=NOPE='x'" in str(err.value) and "field names" in str(err.value)
    # Error bodies are not cached: the same request asks the server again.
    n = len(fake.requests)
    with pytest.raises(ServiceError):
        client.query(svc, "NOPE='x'")
    assert len(fake.requests) > n
    with pytest.raises(NbhdGeoError, match="letters, digits"):
        client.query_in(svc, "LSOA21CD", ["x') OR (1=1"])


def test_unknown_district_is_explained(fake, tmp_path):
    with pytest.raises(data.DataError, match="no LSOA of district E06000099.*codes change"):
        fetch_geography("E06000099", cache_dir=tmp_path, **_urls(fake), **FAST)


# --------------------------------------------------------------------------- vintages

def test_ward_year_without_matching_lookup_is_refused(fake, tmp_path):
    with pytest.raises(VintageError) as err:
        fetch_geography(HARTLEPOOL, ward_year=2022, cache_dir=tmp_path, **_urls(fake), **FAST)
    msg = str(err.value)
    assert "no LSOA->ward lookup of 2022" in msg and "ward_year=2024" in msg
    assert "crosswalk" in msg


def test_check_vintages_refuses_mixed_layers():
    rows = pd.DataFrame([{"layer": "lookup", "product": "lsoa21_ward_lad", "year": 2024,
                          "service": "LSOA21_WD24_LAD24_EW_LU"},
                         {"layer": "wards", "product": "wards", "year": 2022}])
    with pytest.raises(VintageError, match="ward boundaries are of 2022.*LSOA21_WD24"):
        data.check_vintages(rows)
    imd = pd.DataFrame([{"layer": "lsoa21", "geography": "LSOA21", "year": 2021},
                        {"layer": "imd", "geography": "LSOA11", "vintage": "IoD2019"}])
    with pytest.raises(VintageError, match="convert_lsoa_vintage.*IoD2025"):
        data.check_vintages(imd)


def test_imd2019_on_lsoa21_is_refused(fake, tmp_path, shared):
    imd19 = shared("imd2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
    with pytest.raises(VintageError) as err:
        fetch_geography(HARTLEPOOL, imd=imd19, population=None, include_oa=False,
                        cache_dir=tmp_path, **_urls(fake), **FAST)
    assert "imd is on LSOA11" in str(err.value)
    assert "convert_lsoa_vintage" in str(err.value)


def test_registrations_lsoa11_refused_then_converted(fake, tmp_path, shared):
    kw = {"registrations": f"{fake.static_url}/gp-reg-pat-prac-lsoa-all.csv",
          "membership": f"{fake.static_url}/ePCN.xlsx", "imd": None, "include_oa": False,
          "cache_dir": tmp_path, **_urls(fake), **FAST}
    with pytest.raises(VintageError) as err:
        fetch_geography(BLACKBURN, **kw)
    assert "registrations is on LSOA11" in str(err.value)
    assert "--convert-registrations" in str(err.value)
    geo = fetch_geography(BLACKBURN, convert_registrations=True, **kw)
    pcn = geo["pcn"]
    assert pcn.crs.to_epsg() == 27700 and len(pcn) >= 3
    assert pcn["pcn_code"].str.match(r"^U\d{5}$").all()
    # Footprints are made of the district's LSOAs: together they tile the LSOA layer
    # (plurality: each LSOA in one footprint) and lie in the district (up to the
    # generalisation slivers between the layers).
    union = pcn.geometry.union_all()
    assert union.area == pytest.approx(geo["lsoa21"].geometry.union_all().area, rel=1e-6)
    assert union.intersection(geo["lad"].geometry.iloc[0]).area / union.area > 0.97
    assert any("LSOA11_LSOA21_LAD22_EW_LU_v5" in n for n in geo.notes)
    v = geo.vintages.set_index("layer")
    assert v.at["registrations", "geography"] == "LSOA21"
    lk = [r for r in fake.requests if "LSOA11_LSOA21_LAD22_EW_LU_v5" in r["path"]
          and "resultOffset" in r["query"]]
    assert lk and all(r["query"]["where"].startswith("LSOA11CD IN (") for r in lk)


# --------------------------------------------------------------------------- downloads

def test_retry_after_on_429_and_503_is_honoured(fake, tmp_path):
    name = "census2021-ts001.zip"
    fake.fault(f"/static/{name}", "status", status=429, retry_after="1")
    fake.fault(f"/static/{name}", "status", status=503, retry_after="0")
    t0 = time.monotonic()
    path = fetch_file(f"{fake.static_url}/{name}", cache_dir=tmp_path, **FAST)
    assert time.monotonic() - t0 >= 1.0  # waited as told, not the 0.01 s backoff
    assert [r["status"] for r in fake.requests] == [429, 503, 200]
    assert path.read_bytes() == fake.static[name]


def test_retries_exhausted_names_url_and_fix(fake, tmp_path):
    url = f"{fake.static_url}/census2021-ts001.zip"
    fake.fault("/static/", "status", times=5, status=503, retry_after="0")
    with pytest.raises(DownloadError) as err:
        fetch_file(url, cache_dir=tmp_path, **FAST)
    assert url in str(err.value) and "after 3 attempts (HTTP 503)" in str(err.value)
    assert "--offline" in str(err.value)


def test_missing_file_and_refused_connection(fake, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404.*moved or been withdrawn"):
        fetch_file(f"{fake.static_url}/gone.csv", cache_dir=tmp_path, **FAST)
    assert len(fake.requests) == 1  # a 404 is not retried
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"127.0.0.1:{port}/x.csv.*ConnectionError"):
        fetch_file(f"http://127.0.0.1:{port}/x.csv", cache_dir=tmp_path, **FAST)
    with pytest.raises(DownloadError, match="not JSON"):
        ArcGISClient(fake.static_url + "/census2021-ts001.zip", cache_dir=tmp_path,
                     retries=0).services()


def test_truncated_download_is_resumed_with_range(fake, tmp_path):
    name = "census2021-ts001.zip"
    fake.fault(f"/static/{name}", "truncate")
    path = fetch_file(f"{fake.static_url}/{name}", cache_dir=tmp_path, **FAST)
    body = fake.static[name]
    assert path.read_bytes() == body
    first, second = fake.requests
    kept = int(second["range"].removeprefix("bytes=").rstrip("-"))
    assert first["range"] is None and 0 < kept <= len(body) // 2  # asked only for the rest
    assert second["status"] == 206
    meta = path.with_name(path.name + ".json").read_text()
    assert hashlib.sha256(body).hexdigest() in meta


def test_truncated_download_restarts_without_range_support(fake, tmp_path):
    fake.range_support = False
    name = "gp-reg-pat-prac-lsoa-all.csv"
    fake.fault(f"/static/{name}", "truncate")
    path = fetch_file(f"{fake.static_url}/{name}", cache_dir=tmp_path, **FAST)
    assert path.read_bytes() == fake.static[name]
    assert [r["status"] for r in fake.requests] == [200, 200]
    assert fake.requests[1]["range"] is not None  # asked, but the server sent it all


def test_always_truncated_fails_clearly(fake, tmp_path):
    url = f"{fake.static_url}/census2021-ts001.zip"
    fake.fault("/static/", "truncate", times=10)
    with pytest.raises(DownloadError, match="download incomplete: the body broke off"):
        fetch_file(url, cache_dir=tmp_path, **FAST)


def test_checksum_pinned_mismatch_and_reuse(fake, tmp_path):
    name = "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
    good = hashlib.sha256(fake.static[name]).hexdigest()
    with pytest.raises(ChecksumError) as err:
        fetch_static("imd2025", base_url=fake.static_url, cache_dir=tmp_path,
                     checksums={"imd2025": "0" * 64}, **FAST)
    assert good in str(err.value) and f"{fake.static_url}/{name}" in str(err.value)
    assert not list((tmp_path / "files").glob("*IoD2025*.csv"))  # nothing bad kept
    path = fetch_static("imd2025", base_url=fake.static_url, cache_dir=tmp_path,
                        sha256=good, **FAST)
    n = len(fake.requests)
    again = fetch_static("imd2025", base_url=fake.static_url, cache_dir=tmp_path,
                         sha256=good, offline=True, **FAST)
    assert again == path and len(fake.requests) == n
    # A cached file that no longer matches its recorded digest is downloaded again.
    path.write_bytes(b"tampered")
    fetch_static("imd2025", base_url=fake.static_url, cache_dir=tmp_path, **FAST)
    assert len(fake.requests) == n + 1 and path.read_bytes() == fake.static[name]
    with pytest.raises(ChecksumError, match="run once online"):
        fetch_static("imd2025", base_url=fake.static_url, cache_dir=tmp_path,
                     sha256="1" * 64, offline=True)


def test_static_datasets_without_url_and_unknown():
    with pytest.raises(data.DataError, match="no stable download address.*digital.nhs.uk"):
        fetch_static("gp_registrations")
    with pytest.raises(data.DataError, match="unknown dataset 'nope'"):
        fetch_static("nope")


# --------------------------------------------------------------------------- command line

def test_cli_fetch_writes_bundle(bundle, fake, tmp_path):
    _, _, cache, _ = bundle
    out = tmp_path / "h.gpkg"
    res = CliRunner().invoke(fetch_cmd, ["--district", HARTLEPOOL, "--out", str(out),
                                         "--cache-dir", str(cache), "--base-url", fake.arcgis,
                                         "--static-url", fake.static_url, "-q"])
    assert res.exit_code == 0, res.output
    assert "Wards_December_2024_Boundaries_UK_BGC (December 2024; matched)" in res.output
    assert f"geography written to {out} (lsoa21 57, wards 12, lad 1, msoa21 11)" in res.output
    assert fake.requests == []  # all from the cache
    assert len(read_geography(out)["lsoa21"]) == 57


def test_cli_list_dataset_and_errors(fake, tmp_path):
    runner = CliRunner()
    res = runner.invoke(fetch_cmd, ["--list"])
    assert res.exit_code == 0
    for key in ("wards", "lsoa21", "lsoa21_ward_lad", "imd2025", "census2021_ts001", "epcn"):
        assert f"\n{key} " in "\n" + res.output
    res = runner.invoke(fetch_cmd, ["--dataset", "imd2025", "--static-url", fake.static_url,
                                    "--cache-dir", str(tmp_path), "-q"])
    assert res.exit_code == 0 and Path(res.output.strip()).is_file()
    res = runner.invoke(fetch_cmd, ["--dataset", "wards", "--base-url", fake.arcgis,
                                    "--cache-dir", str(tmp_path), "-q"])
    assert res.exit_code == 0 and "Wards_May_2025_Boundaries_UK_BGC" in res.output
    res = runner.invoke(fetch_cmd, ["--district", HARTLEPOOL, "--out", str(tmp_path / "x.gpkg"),
                                    "--offline", "--cache-dir", str(tmp_path / "empty"),
                                    "--base-url", fake.arcgis, "-q"])
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and "offline mode is on" in res.output
    res = runner.invoke(fetch_cmd, ["--district", HARTLEPOOL])
    assert res.exit_code == 2 and "--out: is required" in res.output


def test_cli_fetch_by_drawings_extent(fake, tmp_path):
    drawings = tmp_path / "drawings.geojson"
    poly = gpd.GeoSeries.from_xy([450500], [532500], crs=27700).buffer(400)
    gpd.GeoDataFrame({"name": ["Headland"]}, geometry=poly).to_crs(4326).to_file(drawings)
    out = tmp_path / "extent.gpkg"
    res = CliRunner().invoke(fetch_cmd, ["--extent", str(drawings), "--out", str(out),
                                         "--imd", "none", "--population", "none", "--no-oa",
                                         "--cache-dir", str(tmp_path / "c"),
                                         "--base-url", fake.arcgis, "-q"])
    assert res.exit_code == 0, res.output
    geo = read_geography(out)
    box = poly.envelope.iloc[0]
    assert len(geo["lsoa21"]) >= 1 and geo["lsoa21"].intersects(box).all()
    assert geo.district is None and set(geo["lad"]["lad_code"]) == {HARTLEPOOL}


# --------------------------------------------------------------------------- more error paths

def test_malformed_service_answers(fake, tmp_path):
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    svc = client.resolve("lsoa21")
    prefix = f"/arcgis/rest/services/{LSOA_SVC}/"
    fake.fault(prefix, "empty_page", when={"resultOffset": "0"})
    with pytest.raises(ServiceError, match="says there is more, but sent an empty page"):
        client.query(svc, "1=1")
    fake.fault(prefix, "no_count", when={"returnCountOnly": "true"})
    with pytest.raises(ServiceError, match="count answer has no 'count'"):
        client.count(svc, "LSOA21CD='E01011949'")
    fake.fault(prefix, "drop_field", message="LSOA21NM", when={"resultOffset": "0"})
    with pytest.raises(ServiceError, match="has no field LSOA21NM.*layout changed"):
        fetch_geography(bbox=(450000, 532000, 451000, 533000), cache_dir=tmp_path / "c",
                        imd=None, population=None, **_urls(fake), **FAST)
    # A base URL that is not a services directory.
    bad = ArcGISClient(f"{fake.arcgis}/{LSOA_SVC}/FeatureServer/0", cache_dir=tmp_path)
    with pytest.raises(ServiceError, match="no 'services' list.*/arcgis/rest/services"):
        bad.services()


def test_argument_errors(fake, tmp_path):
    with pytest.raises(InputError, match="exactly one of district and bbox"):
        fetch_geography(HARTLEPOOL, bbox=(0, 0, 1, 1), cache_dir=tmp_path)
    with pytest.raises(InputError, match="need both registrations and membership"):
        fetch_geography(HARTLEPOOL, registrations="x.csv", imd=None, population=None,
                        cache_dir=tmp_path, **_urls(fake), **FAST)
    with pytest.raises(InputError, match="neither a dataset name, a URL nor an existing file"):
        fetch_geography(HARTLEPOOL, imd="no/such/file.csv", population=None,
                        cache_dir=tmp_path, **_urls(fake), **FAST)
    bad = tmp_path / "census.csv"
    bad.write_text("code,people\nE01011949,5\n")
    with pytest.raises(NbhdGeoError, match="cannot find the LSOA code and usual residents"):
        data.read_census_population(bad)


def test_retry_after_http_date_and_cap():
    from email.utils import formatdate

    from nbhd_geo.official._http import retry_after

    assert 1.0 <= retry_after(formatdate(time.time() + 3, usegmt=True), 0.1) <= 3.5
    assert retry_after(formatdate(time.time() - 60, usegmt=True), 0.1) == 0.0


def test_report_from_the_fetched_geography(bundle, tmp_path):
    """Two commands: fetch (above, against the local server), then report --geography."""
    import subprocess
    import sys

    geo, gpkg, _, _ = bundle
    lsoa = geo.layers["lsoa21"]
    # Three resident neighbourhoods around LSOA centroids inside Hartlepool, two drawings each.
    pts = lsoa.geometry.representative_point().iloc[[0, 20, 40]].to_numpy()
    rows = []
    for i, p in enumerate(pts):
        for r in (500, 650):
            rows.append({"neighbourhood": f"N{i}", "geometry": p.buffer(r)})
    drawings = gpd.GeoDataFrame(rows, crs=27700)
    path = tmp_path / "drawings.geojson"
    drawings.to_crs(4326).to_file(path)
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "nbhd_geo.cli", "report", str(path), "--geography", str(gpkg),
         "--name-col", "neighbourhood", "--budget", "100000", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (out / "index.html").read_text()
    assert "Board summary" in html and "IMD decile" in html
    alloc = pd.read_csv(out / "allocation.csv")
    assert alloc["allocation"].sum() == 100000
    assert set(alloc.iloc[:, 0].astype(str)) == {"N0", "N1", "N2"}
    imd = geo.imd_table() if hasattr(geo, "imd_table") else None
    assert imd is not None and imd.vintage == "IoD2025"


def test_report_without_layers_or_geography_says_how(tmp_path):
    import subprocess
    import sys

    d = tmp_path / "d.geojson"
    gpd.GeoDataFrame({"n": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=27700).to_file(d)
    proc = subprocess.run([sys.executable, "-m", "nbhd_geo.cli", "report", str(d), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--geography" in proc.stderr and "Traceback" not in proc.stderr
