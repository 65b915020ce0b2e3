"""One cache folder for official data: checksummed, resumable downloads and offline mode.

* The folder is ``NBHD_GEO_DATA`` if set, else ``$XDG_CACHE_HOME/nbhd_geo`` (by default
  ``~/.cache/nbhd_geo``); every function takes ``cache_dir=`` to override both.
* Offline mode (``offline=True`` or ``NBHD_GEO_OFFLINE=1``) never touches the network:
  files come from the cache (or from paths the caller already has) or an
  :class:`~nbhd_geo.official.errors.OfflineError` names what is missing.
* A download goes to ``<name>.part`` first, within the bounds of
  :class:`~nbhd_geo.official.Limits` (bytes on the wire and decoded, wall time).
  When it breaks off, the next attempt asks for the rest with an HTTP ``Range`` header
  and appends it only if the server answers ``206 Partial Content`` starting exactly
  where the part ends (it starts again otherwise).
* Only **verified** files enter the cache: complete against ``Content-Length``; not an
  HTML error page; a zip (or xlsx) whose directory and CRCs read back and whose
  members stay under ``max_decompressed``; a CSV that does not end mid-row; and, when
  digests are known for the file, one of them (else the first digest seen is pinned in
  ``pins.json`` and a later, different copy is refused until accepted). The file is
  moved into place atomically and its digest recorded beside it (``<name>.json``,
  ``"verified": true``); it is checked again on every reuse. Anything else is deleted,
  so an interrupted or refused download leaves nothing behind.
* JSON answers are cached only when they are a real answer: never an error body, an
  empty services listing, or a truncated or non-JSON body.

Examples
--------
>>> import tempfile
>>> d = cache_dir(tempfile.mkdtemp())
>>> d.is_dir()
True
>>> is_offline(False), is_offline(True)
(False, True)
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from nbhd_geo.official import _http
from nbhd_geo.official.errors import (
    ChecksumError,
    DownloadError,
    LimitError,
    OfflineError,
    ServiceError,
)
from nbhd_geo.official.options import Limits, MiB

__all__ = ["cache_dir", "is_offline", "fetch_file", "cached_json", "sha256_file",
           "verify_file", "Known"]

log = logging.getLogger("nbhd_geo")

_TRUE = {"1", "true", "yes", "on"}
_CHUNK = 1 << 16


def cache_dir(path: str | PathLike[str] | None = None) -> Path:
    """Return the cache folder (created): ``path``, else ``NBHD_GEO_DATA``, else the user cache.

    Examples
    --------
    >>> import tempfile, os
    >>> cache_dir(os.path.join(tempfile.mkdtemp(), "x")).name
    'x'
    """
    if path is None:
        env = os.environ.get("NBHD_GEO_DATA")
        if env:
            path = env
        else:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
            path = os.path.join(base, "nbhd_geo")
    out = Path(path).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    return out


_cache_root = cache_dir


def is_offline(offline: bool | None = None) -> bool:
    """Offline mode: ``offline`` if given, else ``NBHD_GEO_OFFLINE`` in (1, true, yes, on).

    Examples
    --------
    >>> is_offline(True)
    True
    """
    if offline is not None:
        return bool(offline)
    return os.environ.get("NBHD_GEO_OFFLINE", "").strip().lower() in _TRUE


def sha256_file(path: str | PathLike[str]) -> str:
    """SHA-256 of a file, hex.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); _ = open(p, "w").write("abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "file"


def _file_path(url: str, filename: str | None, root: Path) -> Path:
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    name = _safe(filename or Path(urlsplit(url).path).name or "download")
    return root / "files" / f"{key}-{name}"


def _read_meta(path: Path) -> dict[str, Any]:
    meta = path.with_name(path.name + ".json")
    if not meta.exists():
        return {}
    try:
        return dict(json.loads(meta.read_text()))
    except (OSError, ValueError):
        return {}



def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _discard(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


class Known:
    """A published version of a file: its SHA-256, size in bytes and a label.

    Examples
    --------
    >>> k = Known("ab" * 32, 10, "first release")
    >>> k.size, k.label
    (10, 'first release')
    """

    __slots__ = ("sha256", "size", "label")

    def __init__(self, sha256: str, size: int | None = None, label: str = "") -> None:
        self.sha256 = sha256.lower()
        self.size = size
        self.label = label

    def __repr__(self) -> str:
        return f"Known({self.sha256[:12]}..., {self.size}, {self.label!r})"


# ------------------------------------------------------------------ verification

_HTML = re.compile(rb"^\s*(?:<!doctype\s+html|<html|<head|<body|<\?xml[^>]*>\s*<html)",
                   re.IGNORECASE)


def _csv_ok(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        fh.seek(max(0, size - (1 << 16)))
        tail = fh.read()
    if b"\0" in head:
        return "it is binary, not a CSV"
    text = head.decode("utf-8-sig", "replace")
    first = text.splitlines()[0] if text else ""
    header = next(csv.reader([first]), [])
    if len(header) < 2:
        return "its first line is not a CSV header"
    if tail.endswith((b"\n", b"\r")):
        return None
    last = tail.decode("utf-8", "replace").splitlines()[-1]
    row = next(csv.reader([last]), [])
    if len(row) != len(header):
        return (f"it ends mid-row (the last line has {len(row)} fields, the header "
                f"{len(header)})")
    return None


def _zip_ok(path: Path, limits: Limits) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > limits.max_decompressed:
                return (f"it would inflate to {total / MiB:,.0f} MiB, more than "
                        f"max_decompressed ({limits.max_decompressed / MiB:,.0f} MiB)")
            bad = zf.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError) as err:
        return f"it is not a complete zip ({type(err).__name__}: {err})"
    if bad is not None:
        return f"its member {bad!r} is damaged (CRC)"
    return None


def verify_file(path: str | PathLike[str], *, limits: Limits | None = None,
                kind: str | None = None) -> str | None:
    r"""Why ``path`` is not a usable download, or None when it is.

    ``kind`` is ``"zip"``, ``"csv"`` or None (from the file name's suffix; ``.xlsx`` is a
    zip). Checks: not empty, not an HTML page, a zip that reads back within
    ``max_decompressed``, a CSV that does not end mid-row.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> _ = open(p, "w").write("a,b\n1,2\n3")
    >>> verify_file(p)
    'it ends mid-row (the last line has 1 fields, the header 2)'
    >>> _ = open(p, "w").write("<!DOCTYPE html><html>Service unavailable</html>")
    >>> verify_file(p)
    'it is an HTML page, not the file'
    """
    path = Path(path)
    limits = limits or Limits()
    if path.stat().st_size == 0:
        return "it is empty"
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if _HTML.match(head.lstrip(b"\xef\xbb\xbf")):
        return "it is an HTML page, not the file"
    suffix = path.name.lower().rsplit(".", 1)[-1]
    kind = kind or {"zip": "zip", "xlsx": "zip", "xlsm": "zip", "csv": "csv"}.get(suffix)
    if kind == "zip":
        return _zip_ok(path, limits)
    if kind == "csv":
        return _csv_ok(path)
    return None


# ------------------------------------------------------------------ pins (first digest seen)

def _pins(root: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((root / "pins.json").read_text()))
    except (OSError, ValueError):
        return {}


def _pin(root: Path, key: str, digest: str, size: int, url: str) -> None:
    pins = _pins(root)
    pins[key] = {"sha256": digest, "size": size, "url": url,
                 "first": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _write_atomic(root / "pins.json", json.dumps(pins, indent=1, sort_keys=True))


def _accept_fix(pin_key: str, digest: str) -> str:
    return (f"if the publisher has re-issued the file, check the new version on its landing "
            f"page, then accept it with --accept {pin_key}={digest} (Python: "
            f"FetchOptions(accept={{{pin_key!r}: {digest!r}}})); otherwise retry later "
            "(a proxy or the server may have sent something else)")


def _check_digest(root: Path, url: str, pin_key: str, digest: str, size: int,
                  accepted: set[str], known: Iterable[Known]) -> None:
    known = list(known)
    if accepted:
        if digest in accepted:
            return
        what = ", ".join(f"{k.sha256[:12]}... ({k.label or '?'}, {k.size} bytes)"
                         for k in known) or ", ".join(sorted(accepted))
        raise ChecksumError(
            f"the downloaded file ({size} bytes) has SHA-256 {digest}, which is none of the "
            f"known versions: {what}", argument=url, fix=_accept_fix(pin_key, digest))
    pinned = _pins(root).get(pin_key)
    if pinned is None:
        _pin(root, pin_key, digest, size, url)
        log.info("%s: first copy pinned (SHA-256 %s, %d bytes)", pin_key, digest, size)
        return
    if pinned.get("sha256") != digest:
        raise ChecksumError(
            f"the downloaded file ({size} bytes, SHA-256 {digest}) differs from the copy "
            f"first fetched on {pinned.get('first', '?')} ({pinned.get('size')} bytes, "
            f"SHA-256 {pinned.get('sha256')})", argument=url,
            fix=_accept_fix(pin_key, digest))


# ------------------------------------------------------------------ files

def fetch_file(
    url: str,
    *,
    filename: str | None = None,
    sha256: str | None = None,
    known: Iterable[Known] = (),
    pin_key: str | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    progress: bool = True,
    limits: Limits | None = None,
) -> Path:
    """Download ``url`` into the cache once, verified, and return the cached path.

    Parameters
    ----------
    url
        The file's address.
    filename
        Name to keep in the cache (default: the last part of the URL path).
    sha256
        A digest to accept (hex), besides ``known``.
    known
        The published versions of the file (:class:`Known`): other bytes are refused.
        With neither ``sha256`` nor ``known``, the first digest seen is pinned under
        ``pin_key`` and later different bytes are refused until accepted.
    pin_key
        Name of the file in ``pins.json`` and in the fix of a checksum error (default
        the URL).
    cache_dir
        Cache folder; default :func:`cache_dir`.
    offline
        Use only verified cached files (default: ``NBHD_GEO_OFFLINE``).
    progress
        Show a tqdm progress bar.
    limits
        Retries and caps (:class:`~nbhd_geo.official.Limits`).

    Returns
    -------
    pathlib.Path
        The cached, verified file.

    Raises
    ------
    OfflineError
        Offline and no verified copy cached.
    ChecksumError
        The bytes are not a known or accepted version.
    LimitError
        A cap of ``limits`` was passed.
    DownloadError
        HTTP errors, retries spent, a truncated body, an HTML page or a damaged file.

    Examples
    --------
    >>> import tempfile
    >>> fetch_file("https://example.org/x.csv", cache_dir=tempfile.mkdtemp(),
    ...            offline=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.official.errors.OfflineError: https://example.org/x.csv: offline mode ...
    """
    limits = limits or Limits()
    known = list(known)
    accepted = {k.sha256 for k in known} | ({sha256.lower()} if sha256 else set())
    pin_key = pin_key or url
    root = _cache_root(cache_dir)
    path = _file_path(url, filename, root)
    meta_path = path.with_name(path.name + ".json")
    if path.exists():
        meta = _read_meta(path)
        ok = (meta.get("verified") is True and meta.get("size") == path.stat().st_size
              and (not accepted or meta.get("sha256") in accepted))
        if ok and sha256_file(path) == meta.get("sha256"):
            log.debug("cache hit: %s", path)
            return path
        if is_offline(offline):
            raise OfflineError(
                f"offline mode is on and the cached copy {path} is not verified (changed "
                "on disk, unfinished, or not an accepted version)", argument=url,
                fix="run once online to download it again, or pass the path of a copy you "
                "trust")
        log.warning("cached %s is not verified: downloading it again", path)
        _discard(path, meta_path)
    if is_offline(offline):
        raise OfflineError(
            f"offline mode is on and the file is not in the cache {root}",
            argument=url,
            fix="run once with network access (unset NBHD_GEO_OFFLINE / drop --offline), "
            "point NBHD_GEO_DATA (or --cache-dir) at a cache that has it, or pass the path "
            "of a copy you already have",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    sizes = [k.size for k in known if k.size]
    cap = max(sizes) if sizes and len(sizes) == len(known) and not sha256 else None
    back = _http.Backoff(limits)
    try:
        while True:  # a body that is complete but not the file (an error page) is retried
            _download(url, part, limits=limits, progress=progress, size_cap=cap)
            why = verify_file(part, limits=limits,
                              kind=_kind(filename or Path(urlsplit(url).path).name))
            if not why:
                break
            _discard(part)
            if "inflate" in why or not back.wait(url, f"refused: {why}"):
                raise DownloadError(
                    f"the download is refused: {why}", argument=url,
                    fix="retry later (the server sent an error page or a damaged file); if "
                    "it persists, download it by hand and pass its path")
        digest, size = sha256_file(part), part.stat().st_size
        _check_digest(root, url, pin_key, digest, size, accepted, known)
        part.replace(path)
    finally:
        _discard(part)
    meta = {"url": url, "sha256": digest, "size": size, "verified": True,
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _write_atomic(meta_path, json.dumps(meta, indent=1))
    return path


def _kind(name: str) -> str | None:
    suffix = name.lower().rsplit(".", 1)[-1]
    return {"zip": "zip", "xlsx": "zip", "xlsm": "zip", "csv": "csv"}.get(suffix)


_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _download(url: str, part: Path, *, limits: Limits, progress: bool,
              size_cap: int | None) -> None:
    from tqdm.auto import tqdm

    back = _http.Backoff(limits)
    started = time.monotonic()
    resumable = True
    while True:
        have = part.stat().st_size if part.exists() and resumable else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        resp = _http.request(url, limits=limits, headers=headers, accept=(416,), backoff=back)
        encoded = resp.headers.get("Content-Encoding", "identity").lower() not in (
            "", "identity")
        total: int | None = None
        if resp.status_code == 206:
            m = _RANGE.match(resp.headers.get("Content-Range", ""))
            if not have or encoded or not m or int(m.group(1)) != have:
                resp.close()
                _discard(part)
                resumable = False
                if not back.wait(url, f"a wrong 206 answer (Content-Range "
                                 f"{resp.headers.get('Content-Range')!r}, asked from {have})"):
                    raise DownloadError("the server answers ranges wrongly", argument=url,
                                        fix="retry later, or download the file by hand")
                continue
            total = int(m.group(3)) if m.group(3) != "*" else None
        elif resp.status_code == 416:  # the .part is complete or stale: start again
            resp.close()
            _discard(part)
            resumable = False
            if not back.wait(url, "HTTP 416 to a Range request"):
                raise DownloadError("the server refuses every Range request", argument=url,
                                    fix="retry later, or download the file by hand")
            continue
        else:
            if have:
                log.info("%s: the server ignored the Range request; downloading from the "
                         "start", url)
            have = 0
            if not encoded:
                total = _http.declared_length(resp)
        # A file on disk is never larger than max_bytes, encoded on the wire or not.
        cap = min(limits.max_decompressed, limits.max_bytes) if encoded else limits.max_bytes
        if size_cap is not None:
            cap = min(cap, size_cap)
        got = have
        short: str | None = None
        try:
            with open(part, "ab" if have else "wb") as fh, tqdm(
                total=total, initial=have, unit="B", unit_scale=True,
                desc=Path(urlsplit(url).path).name[:40], disable=not progress, leave=False,
            ) as bar:
                for chunk in _http.iter_body(resp, limits=limits, url=url, cap=cap - have,
                                             started=started):
                    fh.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            short = _http.check_complete(resp, got - have)
            if short is None and total is not None and got != total:
                short = f"the body ended after {got} of {total} bytes"
        except LimitError:
            raise
        except requests.RequestException as err:
            short = f"the body broke off after {got} bytes ({type(err).__name__})"
        finally:
            resp.close()
        if short is None:
            return
        resumable = not encoded
        if not resumable:
            _discard(part)
        if not back.wait(url, short):
            raise DownloadError(
                f"download incomplete: {short}", argument=url,
                fix="retry later, or download it by hand and pass its path")


# ------------------------------------------------------------------ JSON answers

def _json_path(full: str, url: str, root: Path) -> Path:
    key = hashlib.sha256(full.encode()).hexdigest()[:24]
    host_path = _safe(urlsplit(url).path.strip("/").replace("/", "_"))[-80:]
    return root / "json" / f"{host_path}-{key}.json"


_RETRY_CODES = {"429", "500", "502", "503", "504"}


def _transient(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", ""))
        if code in _RETRY_CODES or not code:
            return f"ArcGIS error {code or '?'} in an HTTP 200 answer"
    return None


def cached_json(
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    max_age: float | None = None,
    limits: Limits | None = None,
    what: str = "request",
    check: Callable[[Any], str | None] | None = None,
) -> tuple[Any, bool]:
    """GET a JSON document once and keep it in the cache when it is a real answer.

    Parameters
    ----------
    url, params
        The request; the cache key is the full URL with sorted parameters.
    max_age
        Seconds after which a cached answer is fetched again online (``None``: never).
        Offline, any cached answer is used, however old.
    limits
        Retries and caps. Retried: HTTP 429/5xx, ArcGIS error bodies with a 5xx or 429
        code (sent with HTTP 200), bodies that break off or are not JSON (an error
        page), and answers ``check`` finds wanting.
    check
        ``check(body)`` returns why an answer is not usable yet (e.g. an empty services
        listing), or None.

    Returns
    -------
    (object, bool)
        The decoded JSON and whether it came from the cache. An ArcGIS error body is
        returned (never cached) for the caller to explain.

    Raises
    ------
    OfflineError, DownloadError, LimitError
        As :func:`fetch_file`; also when the body is never JSON.
    ServiceError
        ``check`` kept finding the answer wanting.

    Examples
    --------
    >>> import tempfile
    >>> cached_json("https://example.org/q", {"f": "json"}, cache_dir=tempfile.mkdtemp(),
    ...             offline=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.official.errors.OfflineError: https://example.org/q?f=json: offline mode ...
    """
    limits = limits or Limits()
    full = url + ("?" + urlencode(sorted((params or {}).items())) if params else "")
    root = _cache_root(cache_dir)
    path = _json_path(full, url, root)
    if path.exists():
        fresh = max_age is None or time.time() - path.stat().st_mtime < max_age
        if fresh or is_offline(offline):
            try:
                return json.loads(path.read_text())["body"], True
            except (OSError, ValueError, KeyError, RecursionError):
                path.unlink()
    if is_offline(offline):
        raise OfflineError(
            f"offline mode is on and this request is not in the cache {root}",
            argument=full,
            fix="run the same fetch once with network access (unset NBHD_GEO_OFFLINE / drop "
            "--offline), or point NBHD_GEO_DATA (or --cache-dir) at a cache that has it",
        )
    back = _http.Backoff(limits)
    started = time.monotonic()
    while True:
        resp = _http.request(url, params=params, limits=limits, what=what, backoff=back)
        status, ctype = resp.status_code, resp.headers.get("Content-Type", "")
        try:
            raw = _http.read_body(resp, limits=limits, url=full, started=started)
            body = _http.parse_json(raw, url=full, status=status, ctype=ctype)
            del raw
        except LimitError:
            raise
        except DownloadError as err:
            if not back.wait(full, f"{what}: {err.problem}"):
                raise
            continue
        reason = _transient(body) or (check(body) if check is not None and not (
            isinstance(body, dict) and "error" in body) else None)
        if reason is None:
            break
        if not back.wait(full, f"{what}: {reason}"):
            if isinstance(body, dict) and "error" in body:
                return body, False
            raise ServiceError(f"{what}: {reason}, {back.attempt + 1} times", argument=full,
                               fix="retry later; if it persists, report it to the publisher")
    if not (isinstance(body, dict) and "error" in body):  # never cache error bodies
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, json.dumps({"url": full, "body": body}))
    return body, False


def forget_json(url: str, params: Mapping[str, Any] | None = None, *,
                cache_dir: str | PathLike[str] | None = None) -> None:
    """Drop a cached JSON answer (one found unreadable after it was cached)."""
    full = url + ("?" + urlencode(sorted((params or {}).items())) if params else "")
    _discard(_json_path(full, url, _cache_root(cache_dir)))
