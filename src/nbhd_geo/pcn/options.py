"""Column names of the registrations, membership and IMD tables, named once.

:func:`~nbhd_geo.pcn.pcn_footprints` and :func:`~nbhd_geo.pcn.list_deprivation` read the
same two tables (patients by practice and LSOA; practice → PCN), so they take the same
:class:`RegistrationColumns`; :func:`~nbhd_geo.pcn.list_deprivation` also reads an IMD
table, named by :class:`ImdColumns`. The defaults are the names
:func:`~nbhd_geo.pcn.read_registrations` and :func:`~nbhd_geo.pcn.read_pcn_membership`
give, so a caller who reads the files with them never needs either object.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from nbhd_geo.errors import InputError

__all__ = ["RegistrationColumns", "ImdColumns"]


def _check_names(options: object) -> None:
    """Every field of ``options`` must be a non-empty column name."""
    kind = type(options).__name__
    for f in fields(options):  # type: ignore[arg-type]
        value = getattr(options, f.name)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"must be a column name, got {value!r}", argument=f.name,
                             fix=f"pass e.g. {kind}({f.name}={f.default!r})")


def _expect(value: object, kind: type, argument: str) -> None:
    """Refuse a ``columns=`` argument that is not its object (a dict, a string)."""
    if not isinstance(value, kind):
        raise InputError(f"expected {kind.__name__}, got {type(value).__name__}",
                         argument=argument, fix=f"pass {kind.__name__}(...) or leave it out")


@dataclass(frozen=True)
class RegistrationColumns:
    """Columns of a registrations table and of a practice → PCN membership table.

    Parameters
    ----------
    practice
        Practice code, in both tables.
    lsoa
        LSOA code of the patients' residence (registrations).
    patients
        Number of patients (registrations).
    pcn
        PCN code (membership).
    pcn_name
        PCN name (membership; optional in the table: the code stands in).

    Examples
    --------
    >>> RegistrationColumns(practice="prac", patients="n")
    ... # doctest: +NORMALIZE_WHITESPACE
    RegistrationColumns(practice='prac', lsoa='lsoa_code', patients='n', pcn='pcn_code',
                        pcn_name='pcn_name')
    >>> RegistrationColumns(lsoa="")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: lsoa: must be a column name, got ''. Fix: ...
    """

    practice: str = "practice_code"
    lsoa: str = "lsoa_code"
    patients: str = "patients"
    pcn: str = "pcn_code"
    pcn_name: str = "pcn_name"

    def __post_init__(self) -> None:
        _check_names(self)


@dataclass(frozen=True)
class ImdColumns:
    """Columns of an IMD table: the LSOA code and the measures.

    Parameters
    ----------
    lsoa
        LSOA code.
    score, rank, decile
        IMD score, national rank (1 = most deprived) and decile; a table may lack any
        of them, but not all three.

    Examples
    --------
    >>> ImdColumns(lsoa="LSOA11CD", score="imd_score")
    ImdColumns(lsoa='LSOA11CD', score='imd_score', rank='rank', decile='decile')
    """

    lsoa: str = "lsoa_code"
    score: str = "score"
    rank: str = "rank"
    decile: str = "decile"

    def __post_init__(self) -> None:
        _check_names(self)


#: The defaults of the ``columns=`` and ``imd_columns=`` arguments.
DEFAULT_REGISTRATION_COLUMNS = RegistrationColumns()
DEFAULT_IMD_COLUMNS = ImdColumns()
