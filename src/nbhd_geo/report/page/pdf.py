"""Print the report's board summary and index to PDF with headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from nbhd_geo.errors import NbhdGeoError

__all__ = ["find_chromium", "print_pdf"]


def find_chromium() -> str | None:
    """Path of a Chromium executable (``$NBHD_GEO_CHROMIUM``, then ``chromium`` on PATH).

    Examples
    --------
    >>> isinstance(find_chromium(), (str, type(None)))
    True
    """
    env = os.environ.get("NBHD_GEO_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 180) -> Path:
    """Print ``html`` to ``pdf`` (A4) with headless Chromium; the page's print CSS applies.

    The report's print styles keep the board summary and the index of neighbourhoods and
    leave out the interactive map, the per-neighbourhood detail and the appendix.

    Raises
    ------
    NbhdGeoError
        Chromium is not installed, or it failed to print.
    """
    exe = find_chromium()
    if exe is None:
        raise NbhdGeoError("cannot print a PDF: no Chromium browser found",
                           argument="--pdf",
                           fix="install Debian's chromium (apt-get install chromium) or set "
                               "NBHD_GEO_CHROMIUM to a Chromium executable")
    src = Path(html).resolve()
    out = Path(pdf).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nbhd_pdf_") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000",
               f"--print-to-pdf={out}", src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as err:
            raise NbhdGeoError(f"Chromium did not finish printing within {timeout:.0f} s",
                               argument="--pdf", fix="retry, or print index.html from a "
                               "browser") from err
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise NbhdGeoError(f"Chromium failed to print the PDF: {proc.stderr.strip()[-300:]}",
                           argument="--pdf", fix="print index.html from a browser instead")
    return out
