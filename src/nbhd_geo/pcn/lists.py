"""Registered lists: list deprivation (registration-weighted IMD, Core20), vintage conversion."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from nbhd_geo.errors import (
    ColumnError,
    InputError,
    NbhdGeoWarning,
    ValidationError,
    format_ids,
)
from nbhd_geo.pcn.footprints import IOD2019_N_LSOAS
from nbhd_geo.pcn.options import (
    DEFAULT_IMD_COLUMNS,
    DEFAULT_REGISTRATION_COLUMNS,
    ImdColumns,
    RegistrationColumns,
    _expect,
)
from nbhd_geo.pcn.read import _codes, _membership, _org_table, _registrations, _require

__all__ = ['list_deprivation', 'convert_registrations_vintage']


def list_deprivation(
    registrations: pd.DataFrame,
    practice_to_pcn: pd.DataFrame | Mapping[str, str] | pd.Series | None,
    imd: pd.DataFrame,
    *,
    level: Literal["practice", "pcn"] = "practice",
    n_lsoas: int = IOD2019_N_LSOAS,
    core20: Literal["rank", "decile"] | None = None,
    columns: RegistrationColumns = DEFAULT_REGISTRATION_COLUMNS,
    imd_columns: ImdColumns = DEFAULT_IMD_COLUMNS,
) -> pd.DataFrame:
    """Registration-weighted deprivation of practice (or PCN) lists.

    Parameters
    ----------
    registrations
        Long table of patients by practice and LSOA (see :func:`read_registrations`).
    practice_to_pcn
        Membership (needed for ``level="pcn"``; optional for practices, where it adds the PCN).
    imd
        One row per LSOA with the ``imd_columns``: the LSOA code and any of the score, the
        rank (1 = most deprived nationally) and the decile; same vintage as the
        registrations.
    level
        ``"practice"`` or ``"pcn"``. Practices with no membership row stay as their own rows
        (``has_pcn`` False) at ``level="pcn"``.
    n_lsoas
        Number of LSOAs nationally ranked (32,844 for IoD2019; 33,755 for IoD2025).
    core20
        ``"rank"``: Core20 LSOAs have ``rank <= 0.2 * n_lsoas``; ``"decile"``: deciles 1-2
        (national quintile 1). ``None`` uses rank when present, else decile. For IoD2019 both
        select the same 6,568 LSOAs.
    columns
        :class:`RegistrationColumns` of ``registrations`` and ``practice_to_pcn``, as for
        :func:`pcn_footprints`.
    imd_columns
        :class:`ImdColumns` of ``imd`` (``lsoa``, ``score``, ``rank``, ``decile``); the
        measure columns are optional, at least one must be present.

    Returns
    -------
    pandas.DataFrame
        One row per organisation: ``org``, ``pcn_name``, ``has_pcn``, ``patients``,
        ``patients_with_imd``, ``patients_no_imd``, ``imd_score`` (NaN without a score
        column), ``mean_rank``, ``mean_decile``, ``core20_patients``, ``core20_share``.

    Notes
    -----
    The OHID Fingertips practice score is the registration-weighted mean of LSOA IMD scores,
    ``sum_a n(o, a) * score(a) / sum_a n(o, a)``, over patients whose LSOA has an IMD value.
    Where the IMD table has no score (e.g. IoD2019 File 1 holds only ranks and deciles), only
    the rank-based measures are filled: the weighted mean rank and decile are summaries of a
    patient's LSOA position, not a rank of the list itself. ``core20_share`` is
    ``core20_patients / patients_with_imd``. Patients whose LSOA has no IMD value (``NO2011``,
    Welsh LSOAs, another vintage) are counted in ``patients_no_imd``, never dropped silently.

    Examples
    --------
    >>> import pandas as pd
    >>> regs = pd.DataFrame({"practice_code": ["P1", "P1", "P1"],
    ...     "lsoa_code": ["A", "B", "NO2011"], "patients": [30, 10, 5]})
    >>> imd = pd.DataFrame({"lsoa_code": ["A", "B"], "score": [40.0, 8.0],
    ...     "rank": [100, 20000], "decile": [1, 7]})
    >>> out = list_deprivation(regs, None, imd)
    >>> out[["org", "patients_no_imd", "imd_score", "core20_share"]]
      org  patients_no_imd  imd_score  core20_share
    0  P1                5       32.0          0.75
    """
    if level not in ("pcn", "practice"):
        raise InputError(f"unknown level {level!r}", argument="level",
                         fix="use 'pcn' or 'practice'")
    if level == "pcn" and practice_to_pcn is None:
        raise InputError("level='pcn' needs a membership table", argument="practice_to_pcn",
                         fix="pass read_pcn_membership(path), or use level='practice'")
    if not isinstance(imd, pd.DataFrame):
        raise InputError(f"expected a DataFrame, got {type(imd).__name__}", argument="imd",
                         fix="pass a table with columns lsoa_code, score, rank, decile")
    _expect(columns, RegistrationColumns, "columns")
    _expect(imd_columns, ImdColumns, "imd_columns")
    table, present, core20 = _imd_table(imd, imd_columns, core20)

    regs = _registrations(registrations, columns)
    members = _membership(practice_to_pcn, columns)
    regs = _org_table(regs, members, level)
    regs = regs.join(table, on="lsoa")
    measure = next(iter(present))
    regs["w"] = regs["patients"].where(regs[measure].notna(), 0)
    if core20 == "rank":
        regs["core20"] = regs["rank"] <= 0.2 * n_lsoas
    elif core20 == "decile":
        regs["core20"] = regs["decile"] <= 2
    else:
        regs["core20"] = False
    for key in ("score", "rank", "decile"):
        regs[f"wx_{key}"] = regs["w"] * regs[key] if key in present else np.nan
    regs["core20_patients"] = regs["w"].where(regs["core20"], 0)
    grouped = regs.groupby("org", sort=True)
    out = grouped.agg(has_pcn=("has_pcn", "first"), patients=("patients", "sum"),
                      patients_with_imd=("w", "sum"),
                      core20_patients=("core20_patients", "sum"))
    out["patients_no_imd"] = out["patients"] - out["patients_with_imd"]
    denom = out["patients_with_imd"].where(out["patients_with_imd"] > 0)
    for key, name in (("score", "imd_score"), ("rank", "mean_rank"), ("decile", "mean_decile")):
        out[name] = (grouped[f"wx_{key}"].sum(min_count=1) / denom) if key in present else np.nan
    out["core20_share"] = out["core20_patients"] / denom if core20 else np.nan
    if level == "pcn":
        names = members.drop_duplicates("pcn").set_index("pcn")["pcn_name"]
    else:
        names = members.set_index("practice")["pcn_name"]
    out.insert(0, "pcn_name", out.index.map(names))
    out = out.reset_index()
    return out[["org", "pcn_name", "has_pcn", "patients", "patients_with_imd",
                "patients_no_imd", "imd_score", "mean_rank", "mean_decile",
                "core20_patients", "core20_share"]]


def _imd_table(
    imd: pd.DataFrame, ic: ImdColumns, core20: Literal["rank", "decile"] | None
) -> tuple[pd.DataFrame, dict[str, str], Literal["rank", "decile"] | None]:
    """Read ``imd`` into one row per LSOA of its measures; settle the Core20 rule.

    Returns the table (indexed by LSOA code; columns among ``score``, ``rank``,
    ``decile``), the measures present (key → column of ``imd``) and the Core20 rule.
    """
    _require(imd, {"imd_columns.lsoa": ic.lsoa}, "imd",
             "name it with imd_columns=ImdColumns(lsoa=...)")
    present = {k: c for k, c in (("score", ic.score), ("rank", ic.rank),
                                 ("decile", ic.decile)) if c in imd.columns}
    if not present:
        raise ColumnError(
            f"has none of the measure columns {ic.score!r}, {ic.rank!r}, {ic.decile!r}; "
            f"it has {list(map(str, imd.columns))}",
            argument="imd", fix="name them with imd_columns=ImdColumns(score=, rank=, decile=)")
    if core20 is None:
        core20 = "rank" if "rank" in present else "decile" if "decile" in present else None
    elif core20 not in present:
        raise ColumnError(f"core20={core20!r} needs the {core20} column", argument="imd",
                          fix=f"name it with imd_columns=ImdColumns({core20}=...), "
                          "or core20=None")
    table = pd.DataFrame({"lsoa": _codes(imd[ic.lsoa], "imd", ic.lsoa)})
    for key, col in present.items():
        table[key] = pd.to_numeric(imd[col].astype(str).str.replace(",", "").str.strip(),
                                   errors="coerce").to_numpy()
    dup = table["lsoa"].duplicated(keep=False)
    if dup.any():
        raise ValidationError("LSOA codes repeat", argument="imd",
                              ids=sorted(table.loc[dup, "lsoa"].unique()),
                              fix="keep one row per LSOA (one vintage, one index)")
    table = table.set_index("lsoa")
    return table, present, core20


def convert_registrations_vintage(
    registrations: pd.DataFrame,
    lookup: pd.DataFrame,
    *,
    weights: pd.Series | Mapping[str, float] | None = None,
    lsoa_col: str = "lsoa_code",
    count_col: str = "patients",
    from_col: str = "lsoa11_code",
    to_col: str = "lsoa21_code",
) -> pd.DataFrame:
    """Move registrations from LSOA 2011 to LSOA 2021 codes (population-weighted splits).

    Parameters
    ----------
    registrations
        Long table with ``lsoa_col`` (LSOA 2011) and ``count_col``; other columns (practice)
        are carried over.
    lookup
        ONS LSOA 2011 -> 2021 best-fit lookup (``lookup_lsoa11_lsoa21_ltla22.csv``; change
        codes U unchanged, M merged, S split, X irregular).
    weights
        Population of each 2021 LSOA (e.g. Census 2021 usual residents), used to split a 2011
        LSOA across its 2021 successors. ``None`` splits equally and warns.
    lsoa_col, count_col
        Columns of ``registrations``.
    from_col, to_col
        Columns of ``lookup``.

    Returns
    -------
    pandas.DataFrame
        Same columns, ``lsoa_col`` now LSOA 2021, counts summed per row key (floats where
        split). Codes absent from the lookup (``NO2011``, Welsh codes if the lookup is
        England-only) pass through unchanged, so :func:`pcn_footprints` reports them.

    Notes
    -----
    A 2011 LSOA with successors ``t`` gets ``count * w(t) / sum w`` in each; totals are kept
    exactly. For X (irregular) changes the 2021 population is only a proxy for the part that
    came from each 2011 LSOA.

    Examples
    --------
    >>> import pandas as pd
    >>> regs = pd.DataFrame({"practice_code": ["P1", "P1"], "lsoa_code": ["S", "U"],
    ...     "patients": [100, 7]})
    >>> lookup = pd.DataFrame({"lsoa11_code": ["S", "S", "U"],
    ...     "lsoa21_code": ["S1", "S2", "U"]})
    >>> convert_registrations_vintage(regs, lookup, weights={"S1": 3, "S2": 1, "U": 5})
      practice_code lsoa_code  patients
    0            P1        S1      75.0
    1            P1        S2      25.0
    2            P1         U       7.0
    """
    _require(registrations, {"lsoa_col": lsoa_col, "count_col": count_col}, "registrations")
    _require(lookup, {"from_col": from_col, "to_col": to_col}, "lookup")
    pairs = lookup[[from_col, to_col]].astype(str).drop_duplicates()
    pairs.columns = ["_from", "_to"]
    if weights is None:
        pairs["_w"] = 1.0
        split = pairs["_from"].duplicated(keep=False) & pairs["_from"].isin(
            registrations[lsoa_col].astype(str))
        if split.any():
            warnings.warn(
                "no weights given: LSOAs that split are shared equally between successors "
                f"(ids: {format_ids(sorted(pairs.loc[split, '_from'].unique()))}); pass "
                "weights= (e.g. Census 2021 usual residents by LSOA 2021)",
                NbhdGeoWarning, stacklevel=2)
    else:
        w = pd.Series(weights, dtype=float)
        pairs["_w"] = pairs["_to"].map(w)
        gap = pairs["_w"].isna()
        if gap.any():
            raise ValidationError("weights lack 2021 LSOAs named in the lookup",
                                  argument="weights", ids=sorted(pairs.loc[gap, "_to"]),
                                  fix="give a population for every 2021 LSOA")
    pairs["_share"] = pairs["_w"] / pairs.groupby("_from")["_w"].transform("sum")
    pairs["_share"] = pairs["_share"].fillna(1 / pairs.groupby("_from")["_w"].transform("size"))
    keys = [c for c in registrations.columns if c not in (lsoa_col, count_col)]
    regs = registrations.assign(_from=registrations[lsoa_col].astype(str))
    merged = regs.merge(pairs[["_from", "_to", "_share"]], on="_from", how="left")
    hit = merged["_to"].notna()
    merged[lsoa_col] = merged["_to"].where(hit, merged["_from"])
    merged[count_col] = merged[count_col] * merged["_share"].where(hit, 1.0)
    out = merged.groupby(keys + [lsoa_col], as_index=False, sort=True)[count_col].sum()
    return out[list(registrations.columns)]
