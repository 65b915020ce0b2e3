"""HTTP with bounded retries and bounded bodies.

Internal to :mod:`nbhd_geo.official`; the public entry points are in
:mod:`nbhd_geo.official.cache` and :mod:`nbhd_geo.official.arcgis`.

* :func:`request` retries connection failures, 429 and 5xx with exponential backoff
  (``Retry-After`` honoured), bounded by :attr:`Limits.retries` attempts and
  :attr:`Limits.max_retry_time` seconds of waiting in all.
* :func:`read_body` reads a streamed body into memory with caps on the bytes on the
  wire and after decoding, on wall time, and checks the body against
  ``Content-Length`` (counted on the wire, so a gzip-encoded body is measured before
  decoding, as the header is).
* :func:`parse_json` turns a body into JSON; deep nesting or garbage is a
  :class:`DownloadError`, never a crash.
"""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from nbhd_geo.official.errors import DownloadError, LimitError
from nbhd_geo.official.options import Limits, MiB

log = logging.getLogger("nbhd_geo")

#: Statuses worth retrying: rate limited, or the server is (temporarily) failing.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "nbhd_geo (+https://github.com/nbhd-geo; data fetcher)"
CHUNK = 1 << 16
_BUSY_FIX = ("the server is busy or unreachable: retry later, check the network (or a proxy), "
             "or run with --offline / NBHD_GEO_OFFLINE=1 to use cached files only")

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


class Backoff:
    """Waits between attempts, bounded in number and in total time.

    Examples
    --------
    >>> b = Backoff(Limits(retries=2, backoff=0.0))
    >>> b.wait("x", "HTTP 503"), b.wait("x", "HTTP 503"), b.wait("x", "HTTP 503")
    (True, True, False)
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.attempt = 0
        self.waited = 0.0

    def wait(self, url: str, why: str, hint: float | None = None) -> bool:
        """Sleep before the next attempt; False when attempts or time are spent."""
        lim = self.limits
        if self.attempt >= lim.retries:
            return False
        pause = lim.backoff * 2**self.attempt if hint is None else hint
        budget = lim.max_retry_time - self.waited
        if pause > budget:
            if hint is None or budget <= 0:
                return False
            log.info("%s: the server asks for %.0f s, more than the %.0f s left; waiting "
                     "what is left", url, pause, budget)
            pause = budget
        self.attempt += 1
        self.waited += pause
        log.info("%s: %s; retrying in %.1f s (%d/%d)", url, why, pause, self.attempt,
                 lim.retries)
        time.sleep(pause)
        return True


def request(
    url: str,
    *,
    limits: Limits,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    what: str = "download",
    accept: tuple[int, ...] = (),
    backoff: Backoff | None = None,
) -> requests.Response:
    """GET ``url`` (streamed), retrying connection failures, 429 and 5xx with backoff.

    Other 4xx statuses fail at once. ``backoff`` shares one retry budget between
    several calls (e.g. a retried body).

    Raises
    ------
    DownloadError
        The server kept failing, refused the request, or could not be reached; the
        message names the URL, the status and the fix.
    """
    back = backoff or Backoff(limits)
    last = ""
    while True:
        try:
            resp = session().get(url, params=params, headers=dict(headers or {}), stream=True,
                                 timeout=limits.timeout)
        except requests.RequestException as err:
            last = f"{type(err).__name__}: {err}"[:300]
            hint = None
        else:
            if resp.status_code < 400 or resp.status_code in accept:
                return resp
            if resp.status_code not in RETRY_STATUSES:
                resp.close()
                fix = ("the service or file has moved or been withdrawn: check the dataset's "
                       "landing page (nbhd-geo fetch --list or --check), pass a newer URL or "
                       "vintage, or use a file you already have"
                       if resp.status_code in (404, 410) else
                       "check the URL and parameters (nbhd-geo fetch --list shows them)")
                raise DownloadError(f"{what} failed with HTTP {resp.status_code}",
                                    argument=resp.url, fix=fix)
            last = f"HTTP {resp.status_code}"
            hint = (retry_after(resp.headers.get("Retry-After"), 0.0)
                    if resp.headers.get("Retry-After") else None)
            resp.close()
        if not back.wait(url, f"{what}: {last}", hint):
            break
    raise DownloadError(
        f"{what} failed after {back.attempt + 1} attempts in {back.waited:.0f} s of "
        f"waiting ({last})", argument=url, fix=_BUSY_FIX)


def wire_bytes(resp: requests.Response) -> int:
    """Bytes read from the connection so far (before any ``Content-Encoding`` decoding)."""
    try:
        return int(resp.raw.tell())
    except (AttributeError, TypeError, ValueError):
        return 0


def declared_length(resp: requests.Response) -> int | None:
    """Return the ``Content-Length`` header as an int, or None."""
    length = (resp.headers.get("Content-Length") or "").strip()
    return int(length) if length.isdigit() else None


def iter_body(resp: requests.Response, *, limits: Limits, url: str, cap: int,
              started: float) -> Iterator[bytes]:
    """Yield the decoded chunks of ``resp`` within the caps.

    More than ``cap`` decoded bytes, more than ``max_bytes`` on the wire, or a body
    still arriving after ``max_seconds`` is refused.

    Raises
    ------
    DownloadError
        A cap was passed (the fix names the option to raise).
    """
    declared = declared_length(resp)
    if declared is not None and declared > limits.max_bytes:
        raise LimitError(
            f"the server announces {declared / MiB:,.1f} MiB, more than max_bytes "
            f"({limits.max_bytes / MiB:,.0f} MiB)", argument=url,
            fix="check that this is the file meant; if so raise Limits(max_bytes=...)")
    # A body that trickles in never trips the socket timeout; a watchdog cuts the
    # connection at the deadline so that the blocked read returns.
    fired = threading.Event()
    watchdog = threading.Timer(max(0.0, limits.max_seconds - (time.monotonic() - started)),
                               _cut, (resp, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        yield from _chunks(resp, limits=limits, url=url, cap=cap, started=started,
                           fired=fired)
    except Exception:
        if fired.is_set():
            raise _too_slow(limits, url) from None
        raise
    finally:
        watchdog.cancel()
    if fired.is_set():
        raise _too_slow(limits, url)


def _cut(resp: requests.Response, fired: threading.Event) -> None:
    fired.set()
    sock = getattr(getattr(resp.raw, "_connection", None), "sock", None)
    if sock is None:  # a "Connection: close" answer holds its socket in the file object
        fp = getattr(getattr(resp.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    resp.close()


def _too_slow(limits: Limits, url: str) -> LimitError:
    return LimitError(
        f"the download took longer than max_seconds ({limits.max_seconds:.0f} s) and was "
        "stopped", argument=url,
        fix="retry later or on a faster connection, or raise Limits(max_seconds=...)")


def _chunks(resp: requests.Response, *, limits: Limits, url: str, cap: int, started: float,
            fired: threading.Event) -> Iterator[bytes]:
    got = 0
    for chunk in resp.iter_content(CHUNK):
        if fired.is_set():
            raise _too_slow(limits, url)
        got += len(chunk)
        if got > cap:
            raise LimitError(
                f"the body passed {cap / MiB:,.0f} MiB after decoding and was stopped",
                argument=url,
                fix="the server sent far more than expected (an endless or inflating body): "
                "retry later; if the file really is this large raise Limits(max_decompressed"
                "=...) or Limits(max_json_bytes=...)")
        if wire_bytes(resp) > limits.max_bytes:
            raise LimitError(
                f"the body passed max_bytes ({limits.max_bytes / MiB:,.0f} MiB) and was "
                "stopped", argument=url,
                fix="retry later; if the file really is this large raise Limits(max_bytes=...)")
        if time.monotonic() - started > limits.max_seconds:
            raise _too_slow(limits, url)
        yield chunk


def check_complete(resp: requests.Response, received: int) -> str | None:
    """Why the body is incomplete (``Content-Length`` against bytes on the wire), or None.

    ``received`` is the count of decoded bytes, used when the wire count is unknown
    and the body was not encoded.
    """
    declared = declared_length(resp)
    if declared is None:
        return None
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    wire = wire_bytes(resp) or (0 if encoded else received)
    if wire and wire < declared:
        return f"the body broke off after {wire} of {declared} bytes"
    return None


def read_body(resp: requests.Response, *, limits: Limits, url: str, cap: int | None = None,
              started: float | None = None) -> bytes:
    """Return the whole (decoded) body, within the caps; an incomplete body raises.

    Raises
    ------
    DownloadError
        A cap was passed, the connection broke, or fewer bytes came than announced.
    """
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in iter_body(resp, limits=limits, url=url,
                               cap=limits.max_json_bytes if cap is None else cap,
                               started=time.monotonic() if started is None else started):
            parts.append(chunk)
            size += len(chunk)
        short = check_complete(resp, size)
    except requests.RequestException as err:
        short = f"the body broke off after {size} bytes ({type(err).__name__})"
    finally:
        resp.close()
    if short:
        raise DownloadError(short, argument=url, fix=_BUSY_FIX)
    return b"".join(parts)


def parse_json(body: bytes, *, url: str, status: int, ctype: str) -> Any:
    """Decode JSON; HTML pages, garbage and absurd nesting raise :class:`DownloadError`.

    Examples
    --------
    >>> parse_json(b'{"a": 1}', url="u", status=200, ctype="application/json")
    {'a': 1}
    >>> parse_json(b"[" * 100000, url="u", status=200, ctype="")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.official.errors.DownloadError: u: the answer is not JSON ...
    """
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        head = body[:80].decode("utf-8", "replace")
        kind = "nested too deeply" if isinstance(err, RecursionError) else "not JSON"
        raise DownloadError(
            f"the answer is {'not JSON' if kind == 'not JSON' else 'not JSON (' + kind + ')'} "
            f"(HTTP {status}, {ctype or '?'}): {head!r}", argument=url,
            fix="check the base URL (it must end in /arcgis/rest/services); if the server "
            "sent an error page, retry later") from None
