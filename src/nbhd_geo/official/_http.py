"""HTTP with retries: backoff on 429 and 5xx, honouring ``Retry-After``.

Internal to :mod:`nbhd_geo.official`; the public entry points are in :mod:`nbhd_geo.official.cache`
and :mod:`nbhd_geo.official.arcgis`.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Mapping
from typing import Any

import requests

from nbhd_geo.official.errors import DownloadError

log = logging.getLogger("nbhd_geo")

#: Statuses worth retrying: rate limited, or the server is (temporarily) failing.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "nbhd_geo (+https://github.com/nbhd-geo; data fetcher)"

_session: requests.Session | None = None


def session() -> requests.Session:
    """Return the shared :class:`requests.Session` (connection pooling, one User-Agent)."""
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = USER_AGENT
    return _session


def retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date).

    Examples
    --------
    >>> retry_after("3", 1.0), retry_after(None, 1.0), retry_after("soon", 2.0)
    (3.0, 1.0, 2.0)
    """
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def request(
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    stream: bool = False,
    retries: int = 4,
    backoff: float = 0.5,
    max_wait: float = 120.0,
    timeout: float = 60.0,
    what: str = "download",
    accept: tuple[int, ...] = (),
) -> requests.Response:
    """GET ``url``, retrying connection failures, 429 and 5xx with backoff.

    A ``Retry-After`` header (seconds or HTTP date) sets the wait, capped at
    ``max_wait``; otherwise the wait is ``backoff * 2**attempt``. Other 4xx statuses
    fail at once.

    Raises
    ------
    DownloadError
        The server kept failing, refused the request, or could not be reached; the
        message names the URL, the status and the fix.
    """
    last = ""
    for attempt in range(retries + 1):
        try:
            resp = session().get(url, params=params, headers=dict(headers or {}),
                                 stream=stream, timeout=timeout)
        except requests.RequestException as err:
            last = f"{type(err).__name__}: {err}"
            wait = backoff * 2**attempt
        else:
            if resp.status_code < 400 or resp.status_code in accept:
                return resp
            if resp.status_code not in RETRY_STATUSES:
                resp.close()
                fix = ("the service or file has moved or been withdrawn: check the dataset's "
                       "landing page (nbhd-geo fetch --list), pass a newer URL or vintage, or "
                       "use a file you already have"
                       if resp.status_code in (404, 410) else
                       "check the URL and parameters (nbhd-geo fetch --list shows them)")
                raise DownloadError(f"{what} failed with HTTP {resp.status_code}",
                                    argument=resp.url, fix=fix)
            last = f"HTTP {resp.status_code}"
            wait = retry_after(resp.headers.get("Retry-After"), backoff * 2**attempt)
            resp.close()
        if attempt == retries:
            break
        wait = min(wait, max_wait)
        log.info("%s of %s: %s; retrying in %.1f s (%d/%d)", what, url, last, wait,
                 attempt + 1, retries)
        time.sleep(wait)
    raise DownloadError(
        f"{what} failed after {retries + 1} attempts ({last})",
        argument=url,
        fix="the server is busy or unreachable: retry later, check the network (or a proxy), "
        "or run with --offline / NBHD_GEO_OFFLINE=1 to use cached files only",
    )
