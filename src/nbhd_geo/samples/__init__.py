"""Bundled sample data: the fictional town of Brackenfield and its resident drawings.

The files are small, synthetic and made by ``data/samples/generate.py`` (fixed seed,
byte-identical on re-run). Brackenfield is fictional: its codes (``E00990001``,
``E01990001``, ``Y99001``, ...) are not real ONS or NHS codes, and its people, emails
and phone numbers are invented. ``data/samples/README.md`` documents every column and
every deliberate fault.

Examples
--------
>>> from nbhd_geo import samples
>>> "town" in samples.available()
True
>>> samples.get_path("town").name
'town.gpkg'
"""

from __future__ import annotations

from pathlib import Path

from nbhd_geo.errors import InputError

__all__ = ["available", "get_path", "describe"]

#: name -> (file name, one-line description)
_DATASETS: dict[str, tuple[str, str]] = {
    "town": (
        "town.gpkg",
        "GeoPackage (EPSG:27700), layers oa, lsoa, msoa, ward, lad, practices, address_points",
    ),
    "truth": (
        "truth.gpkg",
        "generator ground truth: layer neighbourhood_truth, the shapes residents were drawing",
    ),
    "drawings_workshop": (
        "drawings_workshop.gpkg",
        "workshop drawings, layer drawings (EPSG:27700), with planted faults",
    ),
    "drawings_online": (
        "drawings_online.geojson",
        "web-map drawings, GeoJSON in lon/lat (RFC 7946, CRS84)",
    ),
    "drawings_mapmaker": (
        "drawings_mapmaker.kml",
        "Google My Maps style KML export, lon/lat, no ids",
    ),
    "drawings_survey": (
        "drawings_survey.csv",
        "survey drawings as WKT (EPSG:27700) in column wkt",
    ),
    "registrations": (
        "registrations.csv",
        "GP registrations: practice_code, lsoa_code, patients",
    ),
    "pcn_membership": (
        "pcn_membership.csv",
        "practice_code, pcn_code, pcn_name (one practice has no row)",
    ),
    "imd": (
        "imd.csv",
        "IoD2019-style deprivation per LSOA, real MHCLG headers, UTF-8 BOM, '1,296' numbers",
    ),
}


def _roots() -> list[Path]:
    here = Path(__file__).resolve()
    return [
        here.parent / "files",  # wheel: data/samples is force-included here
        here.parents[3] / "data" / "samples",  # editable install / source checkout
    ]


def available() -> list[str]:
    """Names of the bundled sample datasets.

    Returns
    -------
    list of str
        Sorted dataset names accepted by :func:`get_path`.

    Examples
    --------
    >>> from nbhd_geo import samples
    >>> samples.available()[:3]
    ['drawings_mapmaker', 'drawings_online', 'drawings_survey']
    """
    return sorted(_DATASETS)


def describe(name: str) -> str:
    """One-line description of a sample dataset.

    Parameters
    ----------
    name
        A name from :func:`available`.

    Returns
    -------
    str
        What the file holds.

    Raises
    ------
    nbhd_geo.errors.InputError
        If ``name`` is not a bundled dataset.

    Examples
    --------
    >>> from nbhd_geo import samples
    >>> samples.describe("registrations")
    'GP registrations: practice_code, lsoa_code, patients'
    """
    return _DATASETS[_check(name)][1]


def get_path(name: str) -> Path:
    """Path of a bundled sample file.

    Looks in the installed package (``nbhd_geo/samples/files/``) first, then in the
    source checkout's ``data/samples/`` (editable installs).

    Parameters
    ----------
    name
        A name from :func:`available`, e.g. ``"town"`` or ``"drawings_workshop"``.

    Returns
    -------
    pathlib.Path
        Absolute path of an existing file.

    Raises
    ------
    nbhd_geo.errors.InputError
        If ``name`` is unknown (the message lists the valid names) or the file is
        missing from both locations.

    Examples
    --------
    >>> from nbhd_geo import samples
    >>> path = samples.get_path("drawings_workshop")
    >>> path.suffix, path.exists()
    ('.gpkg', True)
    >>> import geopandas
    >>> oa = geopandas.read_file(samples.get_path("town"), layer="oa")
    >>> oa.crs.to_epsg()
    27700
    """
    filename = _DATASETS[_check(name)][0]
    roots = _roots()
    for root in roots:
        path = root / filename
        if path.is_file():
            return path
    raise InputError(
        f"sample file {filename!r} not found (looked in {', '.join(str(r) for r in roots)})",
        argument="name",
        ids=[name],
        fix="reinstall nbhd_geo, or run `python data/samples/generate.py` in a source checkout",
    )


def _check(name: str) -> str:
    if not isinstance(name, str) or name not in _DATASETS:
        raise InputError(
            "is not a bundled sample dataset",
            argument="name",
            ids=[name],
            fix=f"use one of {', '.join(available())}",
        )
    return name
