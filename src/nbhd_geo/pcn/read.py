"""Readers for NHS GP registrations by LSOA and PCN membership (ePCN), with column aliases."""

from __future__ import annotations

import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import pandas as pd

from nbhd_geo.errors import (
    ColumnError,
    InputError,
    ValidationError,
)
from nbhd_geo.pcn.options import RegistrationColumns

__all__ = ['read_registrations', 'read_pcn_membership']


_PRACTICE_ALIASES = ("practice_code", "practice", "partner_organisation_code", "pcode",
                     "org_code", "code")


_LSOA_ALIASES = ("lsoa_code", "lsoa11_code", "lsoa11cd", "lsoa_2011_code", "lsoa21_code",
                 "lsoa21cd", "lsoa")


_COUNT_ALIASES = ("patients", "number_of_patients", "number_of_patients_all", "count",
                  "registered", "patient_count")


_PCN_CODE_ALIASES = ("pcn_code", "pcn_id")


_PCN_NAME_ALIASES = ("pcn_name", "pcn")


_END_DATE_ALIASES = ("practice_to_pcn_relationship_end_date", "end_date", "close_date")


_PRACTICE_RE = re.compile(r"^[A-Z][0-9]{5}$")


_LSOA_RE = re.compile(r"^[EW]0[12][0-9]{6}$")


_EPCN_SHEET = "PCN Core Partner Details"


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _find(columns: pd.Index, aliases: tuple[str, ...]) -> str | None:
    keys = {_key(c): c for c in columns}
    for alias in aliases:
        if alias in keys:
            return keys[alias]
    return None


def _require(frame: pd.DataFrame, cols: Mapping[str, str], argument: str,
             fix: str = "pass the matching column names as keyword arguments") -> None:
    missing = [f"{role}={col!r}" for role, col in cols.items() if col not in frame.columns]
    if missing:
        raise ColumnError(
            f"missing column(s) {', '.join(missing)}; it has {list(map(str, frame.columns))}",
            argument=argument,
            fix=f"{fix}, or read the file with read_registrations / read_pcn_membership, "
            "which name the columns for you",
        )


_NAME_COLUMNS = "name them with columns=RegistrationColumns(...)"


def _codes(series: pd.Series, argument: str, col: str) -> pd.Series:
    bad = series.isna()
    if bad.any():
        raise ValidationError(
            f"{int(bad.sum())} rows have no value in column {col!r}",
            argument=argument,
            ids=series.index[bad],
            fix="fill or drop those rows (row labels listed)",
        )
    return series.astype(str).str.strip()


def _registrations(registrations: pd.DataFrame, columns: RegistrationColumns) -> pd.DataFrame:
    practice_col, lsoa_col, count_col = columns.practice, columns.lsoa, columns.patients
    if not isinstance(registrations, pd.DataFrame):
        raise InputError(
            f"expected a DataFrame, got {type(registrations).__name__}",
            argument="registrations",
            fix="read the file with nbhd_geo.pcn.read_registrations(path)",
        )
    _require(registrations, {"columns.practice": practice_col, "columns.lsoa": lsoa_col,
                             "columns.patients": count_col}, "registrations", _NAME_COLUMNS)
    counts = pd.to_numeric(registrations[count_col], errors="coerce")
    bad = counts.isna() | (counts < 0)
    if bad.any():
        raise ValidationError(
            f"column {count_col!r} has {int(bad.sum())} missing, non-numeric or negative counts",
            argument="registrations",
            ids=registrations.loc[bad, practice_col].astype(str).unique(),
            fix="patient counts must be numbers >= 0; fix or drop those rows",
        )
    out = pd.DataFrame({
        "practice": _codes(registrations[practice_col], "registrations", practice_col),
        "lsoa": _codes(registrations[lsoa_col], "registrations", lsoa_col),
        "patients": counts.to_numpy(),
    })
    return out.groupby(["practice", "lsoa"], as_index=False, sort=True)["patients"].sum()


def _membership(
    practice_to_pcn: pd.DataFrame | Mapping[str, str] | pd.Series | None,
    columns: RegistrationColumns,
) -> pd.DataFrame:
    practice_col, pcn_col, pcn_name_col = columns.practice, columns.pcn, columns.pcn_name
    cols = ["practice", "pcn", "pcn_name"]
    if practice_to_pcn is None:
        return pd.DataFrame(columns=cols, dtype=object)
    if isinstance(practice_to_pcn, pd.Series | Mapping):
        items = pd.Series(practice_to_pcn)
        frame = pd.DataFrame({"practice": items.index.astype(str), "pcn": items.astype(str)})
    elif isinstance(practice_to_pcn, pd.DataFrame):
        _require(practice_to_pcn, {"columns.practice": practice_col, "columns.pcn": pcn_col},
                 "practice_to_pcn", _NAME_COLUMNS)
        frame = pd.DataFrame({
            "practice": _codes(practice_to_pcn[practice_col], "practice_to_pcn", practice_col),
            "pcn": _codes(practice_to_pcn[pcn_col], "practice_to_pcn", pcn_col),
        })
        if pcn_name_col in practice_to_pcn.columns:
            frame["pcn_name"] = practice_to_pcn[pcn_name_col].to_numpy()
    else:
        raise InputError(
            f"expected a DataFrame, Series or dict, got {type(practice_to_pcn).__name__}",
            argument="practice_to_pcn",
            fix="read the file with nbhd_geo.pcn.read_pcn_membership(path)",
        )
    if "pcn_name" not in frame:
        frame["pcn_name"] = frame["pcn"]
    frame = frame.drop_duplicates(["practice", "pcn"]).reset_index(drop=True)
    dup = frame["practice"].duplicated(keep=False)
    if dup.any():
        raise ValidationError(
            "practices belong to more than one PCN",
            argument="practice_to_pcn",
            ids=sorted(frame.loc[dup, "practice"].unique()),
            fix="keep one current relationship per practice (drop rows with an end date)",
        )
    return frame[cols]


def _pick(frame: pd.DataFrame, given: str | None, aliases: tuple[str, ...]) -> str | None:
    if given is not None:
        return given if given in frame.columns else None
    return _find(frame.columns, aliases)


def read_registrations(
    path: str | PathLike[str],
    *,
    practice_col: str | None = None,
    lsoa_col: str | None = None,
    count_col: str | None = None,
    sex: str = "ALL",
) -> pd.DataFrame:
    """Read patients registered at GP practices by LSOA into a long table.

    Parameters
    ----------
    path
        CSV (optionally ``.gz``). Long layout: one row per practice and LSOA (NHS Digital
        ``PRACTICE_CODE, LSOA_CODE, SEX, Number of Patients``; R exports with a blank first
        header such as Pennine Lancashire's ``lsoapops.csv`` are fine). Wide layout: an LSOA
        column and one column per practice code (``A81001``...), or a practice column and one
        column per LSOA code (``E01000001``...).
    practice_col, lsoa_col, count_col
        Column names; found by common names when ``None``.
    sex
        When a ``SEX`` column is present, keep rows with this value if any exist; otherwise
        sum over sexes.

    Returns
    -------
    pandas.DataFrame
        Columns ``practice_code``, ``lsoa_code``, ``patients``; repeated pairs summed, rows
        with zero patients kept out.

    Raises
    ------
    ColumnError
        The practice, LSOA or count column cannot be found (all columns are listed).

    Examples
    --------
    >>> from nbhd_geo.samples import get_path
    >>> read_registrations(get_path("registrations")).columns.tolist()
    ['practice_code', 'lsoa_code', 'patients']
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", argument=str(path), fix="check the path")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raw = raw.loc[:, [c for c in raw.columns if not str(c).startswith("Unnamed: ")]]
    p_col = _pick(raw, practice_col, _PRACTICE_ALIASES)
    l_col = _pick(raw, lsoa_col, _LSOA_ALIASES)
    c_col = _pick(raw, count_col, _COUNT_ALIASES)
    if c_col is None and (p_col is None) != (l_col is None):
        # Wide layout: the other codes are column names.
        pattern = _PRACTICE_RE if p_col is None else _LSOA_RE
        wide = [c for c in raw.columns if pattern.match(str(c).strip())]
        if wide:
            row_col = l_col if p_col is None else p_col
            long = raw.melt(id_vars=[row_col], value_vars=wide, var_name="_code",
                            value_name="patients")
            p_col, l_col = (("_code", row_col) if p_col is None else (row_col, "_code"))
            raw, c_col = long, "patients"
    missing = [role for role, col in (("practice_col", p_col), ("lsoa_col", l_col),
                                      ("count_col", c_col)) if col is None]
    if missing:
        raise ColumnError(
            f"cannot find the {', '.join(missing)} column(s) among {list(map(str, raw.columns))}",
            argument=str(path),
            fix="pass " + ", ".join(f"{m}='...'" for m in missing),
        )
    sex_col = _find(raw.columns, ("sex", "gender"))
    if sex_col is not None and sex_col not in (p_col, l_col, c_col):
        values = raw[sex_col].astype(str).str.strip().str.upper()
        if (values == sex.upper()).any():
            raw = raw[values == sex.upper()]
    counts = pd.to_numeric(raw[c_col].astype(str).str.replace(",", "").str.strip(),
                           errors="coerce").fillna(0)
    frame = pd.DataFrame({"practice_code": raw[p_col].astype(str).str.strip(),
                          "lsoa_code": raw[l_col].astype(str).str.strip(),
                          "patients": counts.to_numpy()})
    frame = frame.groupby(["practice_code", "lsoa_code"], as_index=False, sort=True)[
        "patients"].sum()
    frame = frame[frame["patients"] > 0].reset_index(drop=True)
    if (frame["patients"] == frame["patients"].round()).all():
        frame["patients"] = frame["patients"].astype("int64")
    return frame


def read_pcn_membership(
    path: str | PathLike[str],
    *,
    sheet: str | None = None,
    practice_col: str | None = None,
    pcn_col: str | None = None,
    pcn_name_col: str | None = None,
    current_only: bool = True,
) -> pd.DataFrame:
    """Read a practice -> PCN membership table.

    Parameters
    ----------
    path
        NHS Digital ePCN workbook (``.xlsx``; sheet "PCN Core Partner Details") or a CSV such
        as ``practice_code, pcn_code, pcn_name`` or Pennine Lancashire's
        ``PCode, Practice Name, PCN, CCG``.
    sheet
        Worksheet; defaults to "PCN Core Partner Details" when present, else the first.
    practice_col, pcn_col, pcn_name_col
        Column names; found by common names when ``None``.
    current_only
        Drop relationships that have an end date (ePCN "Practice to PCN Relationship End
        Date").

    Returns
    -------
    pandas.DataFrame
        Columns ``practice_code``, ``pcn_code``, ``pcn_name``. When the file has PCN names but
        no codes (``PCNdefs.csv``), the name is used as the code.

    Raises
    ------
    ColumnError
        The practice or PCN column cannot be found.

    Examples
    --------
    >>> from nbhd_geo.samples import get_path
    >>> members = read_pcn_membership(get_path("pcn_membership"))
    >>> members.columns.tolist(), members["pcn_code"].nunique()
    (['practice_code', 'pcn_code', 'pcn_name'], 3)
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", argument=str(path), fix="check the path")
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        with pd.ExcelFile(path) as book:
            names = book.sheet_names
            if sheet is None:
                sheet = _EPCN_SHEET if _EPCN_SHEET in names else names[0]
            if sheet not in names:
                raise InputError(f"has no sheet {sheet!r}", argument=str(path),
                                 fix=f"choose one of {names}")
            raw = pd.read_excel(book, sheet_name=sheet, dtype=str)
    else:
        raw = pd.read_csv(path, dtype=str)
    raw = raw.loc[:, [c for c in raw.columns if not str(c).startswith("Unnamed: ")]]
    p_col = _pick(raw, practice_col, _PRACTICE_ALIASES)
    c_col = _pick(raw, pcn_col, _PCN_CODE_ALIASES)
    n_col = _pick(raw, pcn_name_col, _PCN_NAME_ALIASES)
    if p_col is None or (c_col is None and n_col is None):
        missing = (["practice_col"] if p_col is None else []) + (
            ["pcn_col or pcn_name_col"] if c_col is None and n_col is None else [])
        raise ColumnError(
            f"cannot find the {', '.join(missing)} column(s) among {list(map(str, raw.columns))}",
            argument=str(path),
            fix="pass " + ", ".join(f"{m}='...'" for m in missing)
            + (f" (or sheet=...; read sheet {sheet!r})" if sheet else ""),
        )
    end_col = _find(raw.columns, _END_DATE_ALIASES)
    if current_only and end_col is not None:
        raw = raw[raw[end_col].isna() | (raw[end_col].astype(str).str.strip() == "")]
    code = raw[c_col if c_col is not None else n_col].astype(str).str.strip()
    name = raw[n_col].astype(str).str.strip() if n_col is not None else code
    frame = pd.DataFrame({"practice_code": raw[p_col].astype(str).str.strip(),
                          "pcn_code": code, "pcn_name": name})
    frame = frame[raw[p_col].notna().to_numpy()]
    return frame.drop_duplicates().sort_values(["pcn_code", "practice_code"]).reset_index(
        drop=True)


def _org_table(regs: pd.DataFrame, members: pd.DataFrame, level: str) -> pd.DataFrame:
    """Add ``org`` and ``has_pcn`` to normalised registrations."""
    pcn_of = members.set_index("practice")["pcn"]
    out = regs.copy()
    out["pcn"] = out["practice"].map(pcn_of)
    out["has_pcn"] = out["pcn"].notna()
    if level == "pcn":
        out["org"] = out["pcn"].where(out["has_pcn"], out["practice"])
        clash = sorted(set(out.loc[~out["has_pcn"], "practice"]) & set(members["pcn"]))
        if clash:
            raise ValidationError(
                "practice codes equal PCN codes, so they cannot stand alone as organisations",
                argument="practice_to_pcn",
                ids=clash,
                fix="give those practices membership rows, or rename the clashing PCN codes",
            )
    else:
        out["org"] = out["practice"]
    return out
