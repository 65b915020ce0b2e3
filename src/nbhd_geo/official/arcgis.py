"""Client for the ONS Open Geography Portal's ArcGIS REST FeatureServer services.

What it does, per request:

* **discovery** — ``GET <root>?f=json`` lists the services (``{"services": [{"name":
  "WD_MAY_2025_UK_BGC_V2", "type": "FeatureServer", "url": ...}]}``). Names in either
  of ONS's styles make *candidates* of a :class:`~nbhd_geo.official.registry.Product`,
  newest (year, month, ``_V`` number) first; a candidate is used only once its layer
  description confirms it: the product's fields for that year (``WD25CD``... in any
  case) and, for boundaries, polygons whose extent is in the UK. An empty listing or an
  error is retried and never cached; when the listing cannot be read, the product's
  pinned names are confirmed the same way, and the :class:`Service` says so.
* **layer info** — ``GET <service>/FeatureServer/0?f=json`` (object-id field, maximum
  record count, field names).
* **query** — ``GET .../FeatureServer/0/query`` with ``where=`` (e.g.
  ``LAD24CD='E08000036'`` or ``LSOA21CD IN (...)``) or an envelope ``geometry=`` with
  ``geometryType=esriGeometryEnvelope&inSR=27700&spatialRel=esriSpatialRelIntersects``,
  ``outFields=*``, ``outSR=27700``, ``f=json`` (Esri JSON; ``f=geojson`` is understood
  too), paged with ``resultOffset``/``resultRecordCount`` and ``orderByFields=<object
  id>`` until ``exceededTransferLimit`` is false; the total is then checked against
  the same query with ``returnCountOnly=true``.
* **errors** — ArcGIS reports failures as ``{"error": {"code": 400, "message": ...,
  "details": [...]}}``, often with HTTP status 200; 429 and 5xx codes are retried
  like the HTTP statuses, others become :class:`~nbhd_geo.official.errors.ServiceError`
  naming the URL and the fix. Pages are bounded (:class:`~nbhd_geo.official.Limits`:
  pages, features, bytes, time) and checked (features are objects, geometries parse).

Every answer is cached (see :mod:`nbhd_geo.official.cache`), so the same query is never
downloaded twice and works offline afterwards; the directory listing is refreshed
after a day.

Examples
--------
>>> esri_geometry({"rings": [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]]}).area
100.0
>>> where_in("LSOA21CD", ["E01011949", "E01011950"])
"LSOA21CD IN ('E01011949','E01011950')"
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from nbhd_geo.official.cache import cached_json, forget_json, is_offline
from nbhd_geo.official.errors import (
    CountMismatchError,
    DataError,
    LimitError,
    ServiceError,
    ServiceNotFoundError,
)
from nbhd_geo.official.options import Limits
from nbhd_geo.official.registry import PRODUCTS, Product, ServiceVersion, arcgis_url

__all__ = ["ArcGISClient", "Service", "esri_geometry", "where_in"]

log = logging.getLogger("nbhd_geo")

_CODE = re.compile(r"^[A-Za-z0-9_]+$")
_DAY = 86_400.0


@dataclass(frozen=True)
class Service:
    """A resolved service: product, vintage, URL and how it was found.

    Attributes
    ----------
    product
        The product.
    version
        Its vintage, read from the service name.
    url
        The layer URL (``.../FeatureServer/0``).
    source
        ``"listing"`` (newest in the services directory), ``"pinned"`` (the listing
        could not be read), ``"given"`` (the caller named the vintage) or ``"matched"``
        (the year of another layer, e.g. wards of the lookup's year).
    fields
        Role -> the field's name as the layer spells it (``{"code": "wd25cd"}``).
    why
        Why this service: the candidates passed over and what confirmed it.
    """

    product: Product
    version: ServiceVersion
    url: str
    source: Literal["listing", "pinned", "given", "matched"]
    fields: Mapping[str, str] = field(default_factory=dict)
    why: str = ""

    @property
    def name(self) -> str:
        """Service name."""
        return self.version.name

    @property
    def year(self) -> int:
        """Vintage year."""
        return self.version.year

    def field(self, role: str) -> str:
        """Field name for ``role`` in this vintage (``"code"`` -> ``"WD24CD"``)."""
        return self.fields.get(role) or self.product.field(role, self.year)

    def describe(self) -> str:
        """One line for logs and reports."""
        how = {"listing": "newest in the services directory",
               "pinned": "pinned fallback (services directory not readable)",
               "given": "vintage asked for",
               "matched": "same year as the LSOA->ward lookup"}[self.source]
        return (f"{self.product.key}: {self.name} ({self.version.label}; {how})"
                + (f" - {self.why}" if self.why else ""))


def where_in(field: str, values: Iterable[str]) -> str:
    """Build an SQL ``IN`` clause for codes (codes are checked to be plain identifiers).

    Examples
    --------
    >>> where_in("LAD24CD", ["E08000036"])
    "LAD24CD IN ('E08000036')"
    """
    vals = list(values)
    bad = [v for v in vals if not _CODE.match(str(v))]
    if bad or not _CODE.match(field):
        raise DataError("codes must be letters, digits and underscores", argument="where",
                        ids=bad or [field], fix="pass ONS codes such as E08000036")
    return f"{field} IN (" + ",".join(f"'{v}'" for v in vals) + ")"


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(0.5 * (np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


def esri_geometry(geom: dict[str, Any] | None) -> Any:
    """Esri JSON geometry -> shapely (polygons from ``rings``, points, ``paths``).

    Outer rings are clockwise and holes anticlockwise (Esri's rule); each hole goes to
    the smallest outer ring that contains it.

    Examples
    --------
    >>> g = esri_geometry({"rings": [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]],
    ...                              [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]]})
    >>> g.geom_type, g.area
    ('MultiPolygon', 96.0)
    """
    if not geom:
        return None
    if "rings" in geom:
        rings = []
        for r in geom["rings"]:
            ring = np.asarray(r, dtype=float)  # strings raise ValueError
            if ring.ndim != 2 or ring.shape[1] < 2:
                raise DataError("a ring is not a list of coordinate pairs",
                                argument="geometry", fix="report it to the data's publisher")
            if len(ring) >= 4:
                rings.append(ring[:, :2])
        areas = [_ring_area(r) for r in rings]
        outers = [shapely.Polygon(r) for r, a in zip(rings, areas, strict=True) if a < 0]
        holes = [r for r, a in zip(rings, areas, strict=True) if a >= 0]
        if not outers:  # wrong winding everywhere: treat every ring as an outer ring
            return shapely.MultiPolygon([shapely.Polygon(r) for r in rings])
        shells: list[list[np.ndarray]] = [[] for _ in outers]
        for h in holes:
            pt = shapely.Point(h[0])
            inside = [i for i, o in enumerate(outers) if o.covers(pt)]
            if inside:
                shells[min(inside, key=lambda i: outers[i].area)].append(h)
            else:
                outers.append(shapely.Polygon(h))
                shells.append([])
        return shapely.MultiPolygon([
            shapely.Polygon(o.exterior.coords, hs) for o, hs in zip(outers, shells, strict=True)
        ])
    if "x" in geom and "y" in geom:
        return shapely.Point(geom["x"], geom["y"])
    if "paths" in geom:
        return shapely.MultiLineString([np.asarray(p)[:, :2] for p in geom["paths"]])
    if "points" in geom:
        return shapely.MultiPoint(np.asarray(geom["points"])[:, :2])
    raise DataError(f"unknown Esri geometry with keys {sorted(geom)}", argument="geometry",
                    fix="request polygons, points or lines")


#: Generous bounds of the UK (with Northern Ireland), by spatial reference.
_UK_EXTENT = {27700: (-250_000.0, -150_000.0, 900_000.0, 1_400_000.0),
              4326: (-11.0, 49.0, 2.5, 61.5), 4258: (-11.0, 49.0, 2.5, 61.5),
              3857: (-1_230_000.0, 6_270_000.0, 280_000.0, 8_760_000.0),
              102100: (-1_230_000.0, 6_270_000.0, 280_000.0, 8_760_000.0)}


def _extent_problem(info: Mapping[str, Any]) -> str | None:
    ext = info.get("extent")
    if not isinstance(ext, dict):
        return None
    sr = ext.get("spatialReference") or {}
    wkid = sr.get("latestWkid") or sr.get("wkid") if isinstance(sr, dict) else None
    box = _UK_EXTENT.get(int(wkid)) if isinstance(wkid, int | float) else None
    try:
        xmin, ymin, xmax, ymax = (float(ext[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
    except (KeyError, TypeError, ValueError):
        return None
    if box is None or not all(map(math.isfinite, (xmin, ymin, xmax, ymax))):
        return None
    if xmax < box[0] or xmin > box[2] or ymax < box[1] or ymin > box[3]:
        return f"its extent ({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f}) is not in the UK"
    return None


def _page_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the answer is not a JSON object"
    if "error" in body:
        return None
    feats = body.get("features", [])
    if not isinstance(feats, list):
        return "'features' is not a list"
    bad = next((i for i, f in enumerate(feats) if not isinstance(f, dict)), None)
    if bad is not None:
        return f"feature {bad} is {type(feats[bad]).__name__}, not an object"
    return None


class ArcGISClient:
    """Query ONS ArcGIS REST services with discovery, paging, count checks and a cache.

    Parameters
    ----------
    base_url
        Services root (``.../arcgis/rest/services``); default ``NBHD_GEO_ARCGIS_URL``,
        else ONS's.
    cache_dir, offline
        See :mod:`nbhd_geo.official.cache`.
    page_size
        ``resultRecordCount`` per page (the server may cap it lower; paging follows
        ``exceededTransferLimit`` either way).
    fmt
        ``"json"`` (Esri JSON, honours ``outSR=27700``) or ``"geojson"`` (requested in
        EPSG:4326 and projected here).
    limits
        Retries and caps (:class:`~nbhd_geo.official.Limits`).
    listing_max_age
        Seconds before the cached services directory is read again online.

    Examples
    --------
    >>> c = ArcGISClient("http://127.0.0.1:9/arcgis/rest/services", offline=True)
    >>> c.base_url
    'http://127.0.0.1:9/arcgis/rest/services'
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        cache_dir: str | PathLike[str] | None = None,
        offline: bool | None = None,
        page_size: int = 2000,
        fmt: Literal["json", "geojson"] = "json",
        limits: Limits | None = None,
        listing_max_age: float = _DAY,
    ) -> None:
        self.base_url = arcgis_url(base_url)
        self.cache_dir = cache_dir
        self.offline = is_offline(offline)
        self.page_size = int(page_size)
        self.fmt = fmt
        self.limits = limits or Limits()
        self.listing_max_age = listing_max_age
        self._listing: list[dict[str, Any]] | None = None
        self._listing_error: DataError | None = None
        self._confirmed: dict[str, Service | str] = {}

    # ------------------------------------------------------------------ plumbing
    def _get(self, url: str, params: dict[str, Any], *, max_age: float | None = None,
             what: str = "query", check: Any = None) -> Any:
        body, _ = cached_json(url, params, cache_dir=self.cache_dir, offline=self.offline,
                              max_age=max_age, limits=self.limits, what=what, check=check)
        if isinstance(body, dict) and "error" in body:
            err = body["error"] if isinstance(body["error"], dict) else {}
            code = err.get("code")
            details = "; ".join(str(d) for d in err.get("details") or [] if d)
            msg = f"ArcGIS error {code}: {err.get('message', '?')}" + (
                f" ({details})" if details else "")
            if str(code) in ("400", "404", "499") and "invalid url" in msg.lower():
                fix = ("the service does not exist (renamed or withdrawn for a new vintage): run "
                       "`nbhd-geo fetch --check`, let the newest vintage be discovered, or "
                       "pass --base-url if the portal has moved")
            elif str(code) in ("498", "499", "403"):
                fix = "the service is not public any more: pick another vintage"
            elif str(code) in ("429", "500", "502", "503", "504"):
                fix = "the service kept failing: retry later"
            else:
                fix = "check the where clause and field names against the layer's fields"
            full = url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
            raise ServiceError(msg, argument=full[:500], fix=fix)
        return body

    # ------------------------------------------------------------------ discovery
    def services(self) -> list[dict[str, Any]]:
        """Read the services directory listing (``[{"name", "type", "url"}, ...]``).

        An empty listing (which the ONS root sometimes sends) is retried and never cached.

        Raises
        ------
        DataError
            The listing cannot be read (offline and not cached, HTTP or ArcGIS error,
            empty every time).
        """
        if self._listing is None and self._listing_error is not None:
            raise self._listing_error  # asked once per client: one answer for every product
        if self._listing is None:
            def empty(body: Any) -> str | None:
                if isinstance(body, dict) and body.get("services") == []:
                    return "the services listing is empty"
                return None

            body = self._get(self.base_url, {"f": "json"}, max_age=self.listing_max_age,
                             what="services directory listing", check=empty)
            if not isinstance(body, dict) or not isinstance(body.get("services"), list):
                raise ServiceError("the services directory listing has no 'services' list",
                                   argument=f"{self.base_url}?f=json",
                                   fix="check the base URL (it must end in "
                                   "/arcgis/rest/services)")
            self._listing = [s for s in body["services"] if isinstance(s, dict)]
        return self._listing

    def versions(self, product: str | Product) -> tuple[list[ServiceVersion], str]:
        """Candidate vintages of ``product``, newest first, and where they came from.

        Returns ``(versions, "listing")`` from the services directory, or the pinned
        names and ``"pinned"`` when the listing cannot be read. Candidates are not yet
        confirmed (see :meth:`resolve`).

        Examples
        --------
        >>> c = ArcGISClient("http://127.0.0.1:9/none", offline=True,
        ...                  cache_dir=__import__("tempfile").mkdtemp())
        >>> vs, src = c.versions("wards"); src, vs[0].name
        ('pinned', 'WD_DEC_2025_UK_BGC')
        """
        prod = PRODUCTS[product] if isinstance(product, str) else product
        try:
            listing = self.services()
        except DataError as err:
            if isinstance(err, LimitError):
                raise
            self._listing_error = err
            log.warning("services directory not readable (%s); using the pinned registry",
                        err.problem)
            found = [v for v in map(prod.parse, prod.pinned) if v is not None]
            return sorted(found, reverse=True), "pinned"
        names = [str(s.get("name", "")).rsplit("/", 1)[-1] for s in listing
                 if s.get("type", "FeatureServer") == "FeatureServer"]
        found = [v for v in map(prod.parse, names) if v is not None]
        return sorted(set(found), reverse=True), "listing"

    def confirm(self, product: str | Product, version: ServiceVersion) -> Service | str:
        """Return the service of ``version`` if confirmed, else why not (a sentence).

        Confirmed: its layer has the product's fields for the year (any case) and, for
        boundaries, polygons with an extent in the UK.
        """
        prod = PRODUCTS[product] if isinstance(product, str) else product
        url = f"{self.base_url}/{version.name}/FeatureServer/{prod.layer}"
        if url in self._confirmed:
            return self._confirmed[url]
        result: Service | str
        try:
            info = self._get(url, {"f": "json"}, what="layer info")
        except ServiceError as err:  # the service answers, but not as this product
            result = f"{version.name}: {err.problem}"
        else:
            result = self._check_layer(prod, version, url, info)
        self._confirmed[url] = result
        return result

    def _check_layer(self, prod: Product, version: ServiceVersion, url: str,
                     info: Any) -> Service | str:
        if not isinstance(info, dict) or not isinstance(info.get("fields"), list):
            return f"{version.name}: the layer description has no fields"
        have = {str(f.get("name", "")).upper(): str(f.get("name")) for f in info["fields"]
                if isinstance(f, dict)}
        fields: dict[str, str] = {}
        for role in prod.fields:
            name = prod.field(role, version.year).upper()
            if name in have:
                fields[role] = have[name]
        missing = [prod.field(r, version.year) for r in prod.required if r not in fields]
        if missing:
            return (f"{version.name}: has no field {', '.join(missing)} (fields: "
                    f"{', '.join(list(have.values())[:8])})")
        if prod.geometry:
            gtype = str(info.get("geometryType") or "esriGeometryPolygon")
            if "polygon" not in gtype.lower():
                return f"{version.name}: its geometry is {gtype}, not polygons"
            where = _extent_problem(info)
            if where:
                return f"{version.name}: {where}"
        return Service(prod, version, url, "listing", fields)

    def resolve(self, product: str | Product, year: int | None = None, *,
                matched: bool = False, skip: Iterable[str] = ()) -> Service:
        """Pick the service to use: the newest confirmed vintage, or the newest of ``year``.

        ``matched=True`` records that ``year`` was taken from another layer; ``skip``
        names services to pass over (e.g. one missing codes).

        Raises
        ------
        ServiceNotFoundError
            No service of the product (or of that year) is listed or pinned and confirmed.
        """
        prod = PRODUCTS[product] if isinstance(product, str) else product
        found, source = self.versions(prod)
        if year is not None:
            year = year + 2000 if year < 100 else year
            pick = [v for v in found if v.year == year]
        else:
            pick = found
        skipped = set(skip)
        rejected: list[str] = []
        for v in pick:
            if v.name in skipped:
                continue
            got = self.confirm(prod, v)
            if isinstance(got, str):
                rejected.append(got)
                log.info("%s: passed over %s", prod.key, got)
                continue
            how: Literal["listing", "pinned", "given", "matched"] = source  # type: ignore[assignment]
            if year is not None and source == "listing":
                how = "matched" if matched else "given"
            why = (f"newest of {len(pick)} candidate(s) with fields "
                   f"{', '.join(got.fields[r] for r in prod.required)}")
            if rejected:
                why += "; passed over " + "; ".join(rejected)
            svc = Service(prod, v, got.url, how, got.fields, why)
            log.info("using %s", svc.describe())
            return svc
        have = ", ".join(v.name for v in found) or "none"
        where = ("in the services directory " + self.base_url if source == "listing"
                 else "in the pinned registry (the services directory was not readable"
                 + (f": {self._listing_error.problem}" if self._listing_error else "")
                 + ")")
        raise ServiceNotFoundError(
            f"no usable {prod.key} service{'' if year is None else f' of {year}'} {where}; "
            f"candidates: {have}" + (f"; rejected: {'; '.join(rejected)}" if rejected else ""),
            argument=prod.key,
            fix=(f"choose one of the vintages found ({', '.join(str(v.year) for v in found)})"
                 if found else "check the base URL or network, or use a file you have")
            + f"; the product page is {prod.landing}",
        )

    def layer_info(self, service: Service) -> dict[str, Any]:
        """Read the layer's description (fields, object-id field, maxRecordCount)."""
        body = self._get(service.url, {"f": "json"}, what="layer info")
        if not isinstance(body, dict):
            raise ServiceError("the layer description is not a JSON object",
                               argument=service.url, fix="check the service URL")
        return body

    # ------------------------------------------------------------------ queries
    def _params(self, where: str, bbox: Sequence[float] | None) -> dict[str, Any]:
        params: dict[str, Any] = {"where": where or "1=1"}
        if bbox is not None:
            xmin, ymin, xmax, ymax = (float(b) for b in bbox)
            params.update({"geometry": f"{xmin},{ymin},{xmax},{ymax}",
                           "geometryType": "esriGeometryEnvelope", "inSR": 27700,
                           "spatialRel": "esriSpatialRelIntersects"})
        return params

    def count(self, service: Service, where: str = "1=1",
              bbox: Sequence[float] | None = None) -> int:
        """Count the features matching (``returnCountOnly=true``)."""
        params = self._params(where, bbox) | {"returnCountOnly": "true", "f": "json"}
        body = self._get(service.url + "/query", params, what="count query")
        try:
            n = int(body["count"])
        except (KeyError, TypeError, ValueError, OverflowError) as err:
            raise ServiceError("the count answer has no 'count'",
                               argument=service.url + "/query",
                               fix="check that the server is an ArcGIS FeatureServer") from err
        if n < 0:
            raise ServiceError(f"the count answer is negative ({n})",
                               argument=service.url + "/query", fix="retry later")
        return n

    def _parse_page(self, body: dict[str, Any], url: str, params: dict[str, Any],
                    rows: list[dict[str, Any]], geoms: list[Any]) -> tuple[int, bool, Any]:
        feats = body.get("features") or []
        try:
            if self.fmt == "geojson":
                rows.extend(dict(f.get("properties") or {}) for f in feats)
                geoms.extend(shape(f["geometry"]) if f.get("geometry") else None
                             for f in feats)
                props = body.get("properties")
                exceeded = bool(body.get("exceededTransferLimit")
                                or (props.get("exceededTransferLimit")
                                    if isinstance(props, dict) else False))
                wkid = None
            else:
                rows.extend(dict(f.get("attributes") or {}) for f in feats)
                geoms.extend(esri_geometry(f.get("geometry")) for f in feats)
                sr = body.get("spatialReference") or {}
                wkid = (sr.get("latestWkid") or sr.get("wkid")) if isinstance(sr, dict) \
                    else None
                exceeded = bool(body.get("exceededTransferLimit"))
        except (TypeError, ValueError, KeyError, IndexError, AttributeError,
                shapely.errors.GEOSException) as err:
            forget_json(url, params, cache_dir=self.cache_dir)
            raise ServiceError(f"a page has features that cannot be read ({type(err).__name__}:"
                               f" {str(err)[:120]})", argument=url,
                               fix="retry later; if it persists, report it to ONS") from None
        return len(feats), exceeded, wkid

    def query(
        self,
        service: Service,
        where: str = "1=1",
        *,
        bbox: Sequence[float] | None = None,
        out_fields: str = "*",
        check_count: bool = True,
    ) -> gpd.GeoDataFrame | pd.DataFrame:
        """All features matching ``where`` (and ``bbox``), paged, in EPSG:27700.

        Parameters
        ----------
        service
            From :meth:`resolve`.
        where
            SQL filter evaluated by the server, e.g. ``"LAD24CD='E08000036'"``.
        bbox
            Envelope ``(xmin, ymin, xmax, ymax)`` in EPSG:27700; features intersecting it.
        out_fields
            Comma-separated fields, or ``"*"``.
        check_count
            Ask ``returnCountOnly=true`` first: paging stops with an error when the
            server keeps saying there is more than it counted, and the rows must add up.

        Returns
        -------
        geopandas.GeoDataFrame or pandas.DataFrame
            GeoDataFrame in EPSG:27700 for boundary services, DataFrame for lookups.
            ``attrs["nbhd_geo_vintage"]`` describes the service and vintage.

        Raises
        ------
        ServiceError
            The server answered with an ArcGIS error body or unreadable features.
        CountMismatchError
            The pages do not add up to the reported count.
        LimitError
            More pages, features or time than :class:`~nbhd_geo.official.Limits` allow.
        """
        info = self.layer_info(service)
        oid = info.get("objectIdField") or next(
            (f["name"] for f in info.get("fields", []) if isinstance(f, dict)
             and f.get("type") == "esriFieldTypeOID"), None)
        try:
            page = min(self.page_size, int(info.get("maxRecordCount") or self.page_size))
        except (TypeError, ValueError):
            page = self.page_size
        page = max(1, page)
        geometry = service.product.geometry
        base = self._params(where, bbox) | {
            "outFields": out_fields, "returnGeometry": "true" if geometry else "false",
            "f": self.fmt,
        }
        if geometry:
            base["outSR"] = 4326 if self.fmt == "geojson" else 27700
        if oid:
            base["orderByFields"] = oid
        expected = self.count(service, where, bbox) if check_count else None
        lim = self.limits
        if expected is not None and expected > lim.max_features:
            raise LimitError(f"the query matches {expected} features, more than max_features "
                             f"({lim.max_features})", argument=f"{service.url}/query",
                             fix="narrow the query, or raise Limits(max_features=...)")
        most_pages = lim.max_pages if expected is None else min(
            lim.max_pages, math.ceil(expected / page) + 2)
        rows: list[dict[str, Any]] = []
        geoms: list[Any] = []
        wkid = base.get("outSR")
        offset, pages = 0, 0
        started = time.monotonic()
        url = service.url + "/query"
        while True:
            if pages >= most_pages:
                raise (ServiceError if expected is not None else LimitError)(
                    f"the server still says there is more after {pages} pages and "
                    f"{len(rows)} features" + (f" (it counts {expected})"
                                               if expected is not None else ""),
                    argument=url, fix="retry later; if it persists, report it to ONS, or "
                    "raise Limits(max_pages=...)")
            if time.monotonic() - started > lim.max_seconds:
                raise LimitError(f"paging took longer than max_seconds ({lim.max_seconds:.0f}"
                                 " s)", argument=url,
                                 fix="retry later, or raise Limits(max_seconds=...)")
            params = base | {"resultOffset": offset, "resultRecordCount": page}
            body = self._get(url, params, check=_page_problem)
            if not isinstance(body, dict):
                raise ServiceError("a page is not a JSON object", argument=url,
                                   fix="retry later")
            n, exceeded, page_wkid = self._parse_page(body, url, params, rows, geoms)
            wkid = page_wkid or wkid
            pages += 1
            offset += n
            if len(rows) > lim.max_features:
                raise LimitError(f"the query passed max_features ({lim.max_features})",
                                 argument=url, fix="narrow the query, or raise "
                                 "Limits(max_features=...)")
            if not exceeded:
                break
            if not n:
                raise ServiceError("the server says there is more, but sent an empty page",
                                   argument=url,
                                   fix="retry later; if it persists, report it to ONS")
        log.info("%s: %d features in %d page(s)", service.name, len(rows), pages)
        if expected is not None and expected != len(rows):
            raise CountMismatchError(
                f"the query returned {len(rows)} features in {pages} page(s), but the "
                f"server counts {expected} (returnCountOnly=true)",
                argument=f"{service.url}/query?where={where}",
                fix="the service changed while paging or ignores resultOffset: delete the "
                "cached answers (the json/ folder of the cache) and run again",
            )
        frame = pd.DataFrame(rows)
        attrs = {"product": service.product.key, "service": service.name,
                 "year": service.year, "vintage": service.version.label,
                 "source": service.source, "url": service.url,
                 "geography": service.product.geography}
        if not geometry:
            frame.attrs["nbhd_geo_vintage"] = attrs
            return frame
        crs = f"EPSG:{wkid}" if wkid else "EPSG:27700"
        if str(wkid) == "102100":
            crs = "EPSG:3857"
        out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs))
        if out.crs is not None and out.crs.to_epsg() != 27700:
            out = out.to_crs(27700)
        out.attrs["nbhd_geo_vintage"] = attrs
        return out

    def query_in(self, service: Service, field: str, values: Iterable[str], *,
                 chunk: int = 150, out_fields: str = "*") -> gpd.GeoDataFrame | pd.DataFrame:
        """Features whose ``field`` is in ``values`` (one ``IN`` query per ``chunk`` codes)."""
        vals = sorted(set(map(str, values)))
        parts = [self.query(service, where_in(field, vals[i:i + chunk]), out_fields=out_fields)
                 for i in range(0, len(vals), chunk)] or [
            self.query(service, "1=0", out_fields=out_fields)]
        attrs = parts[0].attrs
        out = pd.concat(parts, ignore_index=True)
        if isinstance(parts[0], gpd.GeoDataFrame):
            out = gpd.GeoDataFrame(out, geometry="geometry", crs=parts[0].crs)
        out.attrs = attrs
        return out
