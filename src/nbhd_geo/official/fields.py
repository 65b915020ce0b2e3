"""Rows of the bundle's vintages table and field renaming, shared by the fetchers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nbhd_geo.official.arcgis import Service
from nbhd_geo.official.errors import ServiceError
from nbhd_geo.official.registry import STATIC

__all__ = ["row", "static_row", "rename"]


def row(layer: str, svc: Service, **extra: Any) -> dict[str, Any]:
    """One row of the vintages table for a layer from an ArcGIS service."""
    return {
        "layer": layer, "product": svc.product.key, "service": svc.name,
        "vintage": svc.version.label, "year": svc.year, "source": svc.source,
        "geography": svc.product.geography, "url": svc.url,
        "licence": svc.product.licence, "attribution": svc.product.attribution(svc.year),
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "why": svc.why,
    } | extra


def static_row(layer: str, key: str | None, source: str, vintage: str, geography: str,
               path: Path) -> dict[str, Any]:
    """One row of the vintages table for a published file (or the user's)."""
    item = STATIC.get(key or "")
    return {
        "layer": layer, "product": key or "user file", "service": path.name,
        "vintage": vintage, "year": np.nan, "source": "file" if item is None else "static",
        "geography": geography, "url": source,
        "licence": item.licence if item else "as published by its source",
        "attribution": item.attribution if item else "",
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def rename(frame: Any, svc: Service, roles: Mapping[str, str]) -> Any:
    """Rename the service's fields (any case) to the bundle's names; a missing one raises."""
    mapping = {}
    upper = {str(c).upper(): c for c in frame.columns}
    for role, canon in roles.items():
        try:
            name = svc.field(role)
        except KeyError:
            continue
        col = upper.get(name.upper())
        if col is None:
            raise ServiceError(
                f"has no field {name} (fields: {list(frame.columns)[:12]})",
                argument=svc.url,
                fix="the service layout changed: report it, or choose another vintage",
            )
        mapping[col] = canon
    return frame.rename(columns=mapping)


