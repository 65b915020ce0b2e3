"""Primary Care Network footprints from GP registrations: leakage, capture, list deprivation."""

from __future__ import annotations

from nbhd_geo.pcn.footprints import IOD2019_N_LSOAS, PCNFootprints, pcn_footprints
from nbhd_geo.pcn.lists import convert_registrations_vintage, list_deprivation
from nbhd_geo.pcn.options import ImdColumns, RegistrationColumns
from nbhd_geo.pcn.read import read_pcn_membership, read_registrations

__all__ = [
    "PCNFootprints",
    "pcn_footprints",
    "list_deprivation",
    "read_registrations",
    "read_pcn_membership",
    "convert_registrations_vintage",
    "RegistrationColumns",
    "ImdColumns",
    "IOD2019_N_LSOAS",
]
