"""One cache folder for official data: checksummed, resumable downloads and offline mode.

* The folder is ``NBHD_GEO_DATA`` if set, else ``$XDG_CACHE_HOME/nbhd_geo`` (by default
  ``~/.cache/nbhd_geo``); every function takes ``cache_dir=`` to override both.
* Offline mode (``offline=True`` or ``NBHD_GEO_OFFLINE=1``) never touches the network:
  files come from the cache (or from paths the caller already has) or an
  :class:`~nbhd_geo.official.errors.OfflineError` names what is missing.
* A download goes to ``<name>.part`` first. When it breaks off, the next attempt asks
  for the rest with an HTTP ``Range`` header and appends it if the server answers
  ``206 Partial Content`` (it starts again otherwise). The finished file is checked
  against its pinned SHA-256 when there is one; the digest is recorded beside the file
  (``<name>.json``) and checked again on every reuse.

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

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from nbhd_geo.official import _http
from nbhd_geo.official.errors import ChecksumError, DownloadError, OfflineError

__all__ = ["cache_dir", "is_offline", "fetch_file", "cached_json", "sha256_file"]

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


def fetch_file(
    url: str,
    *,
    filename: str | None = None,
    sha256: str | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    progress: bool = True,
    retries: int = 4,
    backoff: float = 0.5,
) -> Path:
    """Download ``url`` into the cache once and return the cached path.

    Parameters
    ----------
    url
        The file's address.
    filename
        Name to keep in the cache (default: the last part of the URL path).
    sha256
        Pinned SHA-256 (hex). A mismatch deletes the download and raises.
    cache_dir
        Cache folder; default :func:`cache_dir`.
    offline
        Use only the cache (default: ``NBHD_GEO_OFFLINE``).
    progress
        Show a tqdm progress bar.
    retries, backoff
        Retries on connection failures, 429 and 5xx (``Retry-After`` honoured), and on
        truncated bodies (resumed with ``Range`` where the server allows).

    Returns
    -------
    pathlib.Path
        The cached file.

    Raises
    ------
    OfflineError
        Offline and not cached.
    ChecksumError
        The file does not match ``sha256``.
    DownloadError
        HTTP errors, retries spent, or the body kept breaking off.

    Examples
    --------
    >>> import tempfile
    >>> fetch_file("https://example.org/x.csv", cache_dir=tempfile.mkdtemp(),
    ...            offline=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.official.errors.OfflineError: https://example.org/x.csv: offline mode ...
    """
    root = _cache_root(cache_dir)
    path = _file_path(url, filename, root)
    if path.exists():
        meta = _read_meta(path)
        digest = meta.get("sha256") or sha256_file(path)
        if sha256 is None or digest == sha256.lower():
            if meta.get("sha256") and sha256_file(path) != meta["sha256"]:
                log.warning("cached %s changed on disk: downloading it again", path)
            else:
                log.debug("cache hit: %s", path)
                return path
        elif is_offline(offline):
            raise ChecksumError(
                f"the cached copy {path} has SHA-256 {digest}, not the pinned {sha256}",
                argument=url,
                fix="run once online to download it again, or delete the cached file",
            )
        path.unlink()
    if is_offline(offline):
        raise OfflineError(
            f"offline mode is on and the file is not in the cache {root}",
            argument=url,
            fix="run once with network access (unset NBHD_GEO_OFFLINE / drop --offline), "
            "point NBHD_GEO_DATA (or --cache-dir) at a cache that has it, or pass the path "
            "of a copy you already have",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _download(url, path, progress=progress, retries=retries, backoff=backoff)
    digest = sha256_file(path)
    if sha256 is not None and digest != sha256.lower():
        path.unlink()
        raise ChecksumError(
            f"downloaded file has SHA-256 {digest}, but {sha256} is pinned",
            argument=url,
            fix="the published file has changed or the download was tampered with: retry; if "
            "the publisher has re-issued it, check the new version and pass its sha256= "
            "(or checksums={...}) explicitly",
        )
    meta = {"url": url, "sha256": digest, "size": path.stat().st_size,
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.with_name(path.name + ".json").write_text(json.dumps(meta, indent=1))
    return path


def _download(url: str, path: Path, *, progress: bool, retries: int, backoff: float) -> None:
    from tqdm.auto import tqdm

    part = path.with_name(path.name + ".part")
    last = ""
    for attempt in range(retries + 1):
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        resp = _http.request(url, headers=headers, stream=True, retries=retries,
                             backoff=backoff, accept=(416,))
        if resp.status_code == 416:  # Range beyond the end: the .part is complete or stale
            resp.close()
            part.unlink()
            continue
        resume = have and resp.status_code == 206
        if have and not resume:
            log.info("%s: the server ignored the Range request; downloading from the start",
                     url)
            have = 0
        length = resp.headers.get("Content-Length")
        expected = have + int(length) if length and length.isdigit() else None
        got = have
        try:
            with open(part, "ab" if resume else "wb") as fh, tqdm(
                total=expected, initial=have, unit="B", unit_scale=True,
                desc=Path(urlsplit(url).path).name[:40], disable=not progress, leave=False,
            ) as bar:
                for chunk in resp.iter_content(_CHUNK):
                    fh.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
        except requests.RequestException as err:
            last = f"the body broke off after {got} bytes ({type(err).__name__})"
        else:
            if expected is None or got == expected:
                part.replace(path)
                return
            last = f"the body broke off after {got} of {expected} bytes"
        finally:
            resp.close()
        if attempt < retries:
            wait = backoff * 2**attempt
            log.info("%s: %s; resuming in %.1f s (%d/%d)", url, last, wait, attempt + 1,
                     retries)
            time.sleep(wait)
    raise DownloadError(
        f"download incomplete: {last}",
        argument=url,
        fix="retry later (the partial file is kept and resumed where the server allows), "
        "or download it by hand and pass its path",
    )


def cached_json(
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    max_age: float | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    what: str = "request",
) -> tuple[Any, bool]:
    """GET a JSON document once and keep it in the cache.

    Parameters
    ----------
    url, params
        The request; the cache key is the full URL with sorted parameters.
    max_age
        Seconds after which a cached answer is fetched again online (``None``: never).
        Offline, any cached answer is used, however old.

    Returns
    -------
    (object, bool)
        The decoded JSON and whether it came from the cache.

    Raises
    ------
    OfflineError, DownloadError
        As :func:`fetch_file`; also when the body is not JSON.

    Examples
    --------
    >>> import tempfile
    >>> cached_json("https://example.org/q", {"f": "json"}, cache_dir=tempfile.mkdtemp(),
    ...             offline=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.official.errors.OfflineError: https://example.org/q?f=json: offline mode ...
    """
    full = url + ("?" + urlencode(sorted((params or {}).items())) if params else "")
    root = _cache_root(cache_dir)
    key = hashlib.sha256(full.encode()).hexdigest()[:24]
    host_path = _safe(urlsplit(url).path.strip("/").replace("/", "_"))[-80:]
    path = root / "json" / f"{host_path}-{key}.json"
    if path.exists():
        fresh = max_age is None or time.time() - path.stat().st_mtime < max_age
        if fresh or is_offline(offline):
            try:
                return json.loads(path.read_text())["body"], True
            except (OSError, ValueError, KeyError):
                path.unlink()
    if is_offline(offline):
        raise OfflineError(
            f"offline mode is on and this request is not in the cache {root}",
            argument=full,
            fix="run the same fetch once with network access (unset NBHD_GEO_OFFLINE / drop "
            "--offline), or point NBHD_GEO_DATA (or --cache-dir) at a cache that has it",
        )
    resp = _http.request(url, params=params, retries=retries, backoff=backoff, what=what)
    try:
        body = resp.json()
    except ValueError as err:
        raise DownloadError(
            f"the answer is not JSON (HTTP {resp.status_code}, "
            f"{resp.headers.get('Content-Type', '?')}): {resp.text[:80]!r}",
            argument=full,
            fix="check the base URL (it must end in /arcgis/rest/services)",
        ) from err
    finally:
        resp.close()
    if not (isinstance(body, dict) and "error" in body):  # never cache error bodies
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": full, "body": body}))
        tmp.replace(path)
    return body, False
