"""A live smoke test of the sources: which services and files resolve today.

:func:`check_sources` (``nbhd-geo fetch --check``) reads the services listing, chooses
the vintage a default fetch would use (and says why), confirms every other service by
its fields, and asks each published file for its first kilobyte (``Range: bytes=0-1023``)
to see that it is there, how large it is and that it is not an error page. Nothing is
kept: the check uses a temporary cache, so it always asks the servers afresh. Run it by
hand or from a scheduled job with internet access; a failed required source makes
``nbhd-geo fetch --check`` exit with status 2.

Examples
--------
>>> import tempfile
>>> from nbhd_geo.official.options import FetchOptions, Limits
>>> t = check_sources(FetchOptions(base_url="http://127.0.0.1:9/arcgis/rest/services",
...     static_base_url="http://127.0.0.1:9/static", progress=False,
...     limits=Limits(retries=0, timeout=2)))
>>> t.set_index("item").loc["listing", "status"]
'failed'
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from typing import Any

import pandas as pd
import requests

from nbhd_geo.official import _http
from nbhd_geo.official.cache import _HTML
from nbhd_geo.official.errors import DataError
from nbhd_geo.official.geography import _products, choose_vintage, client_for
from nbhd_geo.official.options import FetchOptions
from nbhd_geo.official.registry import STATIC, static_url

__all__ = ["check_sources", "REQUIRED"]

#: Items a default ``nbhd-geo fetch`` cannot do without.
REQUIRED = ("vintage", "lsoa21", "imd2025", "census2021_ts001")


def _probe(url: str, opts: FetchOptions) -> tuple[str, str]:
    try:
        resp = _http.request(url, limits=opts.limits, headers={"Range": "bytes=0-1023"},
                             what="check")
    except DataError as err:
        return "failed", err.problem
    try:
        head = next(resp.iter_content(1024), b"")
    except requests.RequestException as err:
        return "failed", f"the body broke off ({type(err).__name__})"
    finally:
        resp.close()
    m = re.match(r"bytes\s+\d+-\d+/(\d+)", resp.headers.get("Content-Range", ""))
    size = m.group(1) if m else resp.headers.get("Content-Length", "?")
    if _HTML.match(head):
        return "failed", f"HTTP {resp.status_code} but an HTML page, not the file"
    return "ok", f"HTTP {resp.status_code}, {size} bytes"


def check_sources(options: FetchOptions | None = None, *,
                  resolution: str = "BGC") -> pd.DataFrame:
    """Report what a default fetch would use today, and whether each source answers.

    Returns
    -------
    pandas.DataFrame
        One row per item: ``item, status ("ok"/"failed"), required, uses, detail``.
    """
    opts = options or FetchOptions()
    rows: list[dict[str, Any]] = []

    def add(item: str, status: str, uses: str, detail: str) -> None:
        rows.append({"item": item, "status": status, "required": item in REQUIRED,
                     "uses": uses, "detail": detail})

    with tempfile.TemporaryDirectory(prefix="nbhd_geo_check_") as tmp:
        live = dataclasses.replace(opts, cache_dir=tmp, offline=False)
        client = client_for(live)
        try:
            listing = client.services()
            add("listing", "ok", client.base_url, f"{len(listing)} services listed")
        except DataError as err:
            add("listing", "failed", client.base_url,
                f"{err.problem} (pinned service names are tried instead)")
        try:
            lk, wd, ld, why = choose_vintage(client, None, resolution)
            add("vintage", "ok", f"{lk.name}, {wd.name}, {ld.name}", why)
        except DataError as err:
            add("vintage", "failed", "", err.problem)
        lsoa, _, _ = _products(resolution)
        for key in (lsoa, "oa21", "msoa21", "lsoa11_lsoa21"):
            try:
                svc = client.resolve(key)
                add("lsoa21" if key == lsoa else key, "ok", svc.name,
                    f"{svc.version.label}; {svc.why}")
            except DataError as err:
                add("lsoa21" if key == lsoa else key, "failed", "", err.problem)
    for key, item in STATIC.items():
        url = static_url(item, opts.static_base_url)
        if url is None:
            add(key, "ok", "(your file)", f"no stable address: download it from {item.landing}")
            continue
        status, detail = _probe(url, opts)
        if status != "ok" and url == item.url:
            for alt in item.alternates:
                s2, d2 = _probe(alt, opts)
                if s2 == "ok":
                    url, status, detail = alt, s2, d2 + f" (first address: {detail})"
                    break
        add(key, status, url, detail)
    return pd.DataFrame(rows)
