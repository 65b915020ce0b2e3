"""LSOA vintages: the ONS LSOA 2011 <-> 2021 lookup, vintage checks and conversion."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from nbhd_geo.deprivation.imd import _CODE_RE, IMDTable, _read_text
from nbhd_geo.errors import ColumnError, InputError, VintageError

__all__ = ['read_lsoa_lookup', 'check_vintage', 'convert_lsoa_vintage']


def read_lsoa_lookup(lookup_path: str | PathLike[str]) -> pd.DataFrame:
    """Read the ONS LSOA 2011 → LSOA 2021 lookup.

    Parameters
    ----------
    lookup_path
        CSV with columns ``lsoa11_code``, ``lsoa21_code`` and ``change_code``
        (ONS names ``LSOA11CD``, ``LSOA21CD``, ``CHGIND`` are accepted too).

    Returns
    -------
    pandas.DataFrame
        ``lsoa11_code, lsoa21_code, change_code`` (one row per pair; U unchanged,
        S split, M merged, X redrawn).

    Examples
    --------
    >>> lk = read_lsoa_lookup(
    ...     "../shared/data/ons/ew2021/lookup_lsoa11_lsoa21_ltla22.csv")  # doctest: +SKIP
    >>> sorted(lk["change_code"].unique())  # doctest: +SKIP
    ['M', 'S', 'U', 'X']
    """
    path = Path(lookup_path)
    if not path.is_file():
        raise InputError(
            f"file not found: {path}", argument="lookup_path", fix="pass the ONS lookup CSV"
        )
    frame = pd.read_csv(io.StringIO(_read_text(path)), dtype=str)
    aliases = {
        "lsoa11_code": ("lsoa11_code", "lsoa11cd"),
        "lsoa21_code": ("lsoa21_code", "lsoa21cd"),
        "change_code": ("change_code", "chgind"),
    }
    lower = {c.strip().lower(): c for c in frame.columns}
    rename = {}
    for canon, names in aliases.items():
        col = next((lower[n] for n in names if n in lower), None)
        if col is None:
            raise ColumnError(
                f"has no {canon} column",
                argument="lookup_path",
                fix=f"the lookup needs columns {list(aliases)} (or LSOA11CD, LSOA21CD, CHGIND)",
            )
        rename[col] = canon
    out = frame.rename(columns=rename)[list(aliases)]
    out = out.apply(lambda s: s.str.strip().astype(object))
    return out.drop_duplicates(["lsoa11_code", "lsoa21_code"]).reset_index(drop=True)


def check_vintage(
    codes: Iterable[str],
    imd: IMDTable,
    *,
    lookup_path: str | PathLike[str] | None = None,
    argument: str = "codes",
) -> None:
    """Check that LSOA codes belong to the vintage of ``imd``.

    Parameters
    ----------
    codes
        LSOA codes to be matched to ``imd``.
    imd
        The Indices table.
    lookup_path
        Optional ONS LSOA11→LSOA21 lookup: with it, codes of the other vintage are
        recognised for certain.
    argument
        Name of the argument to blame in messages.

    Raises
    ------
    VintageError
        Codes belong to the other LSOA vintage (known from the lookup, or because
        ``imd`` covers all of England and does not know them). The fix names
        :func:`convert_lsoa_vintage`.
    InputError
        Codes that are not LSOA codes, or are unknown to ``imd`` and to the lookup.

    Notes
    -----
    LSOA 2011 codes that were split, merged or redrawn in 2021 were retired, and the
    2021 pieces got new codes (U = unchanged keeps its code), so a code of one
    vintage that the other vintage lacks is decisive.

    Examples
    --------
    >>> import pandas as pd
    >>> t = IMDTable.from_frames(pd.DataFrame({"lsoa_code": ["E01000001"],
    ...     "domain": "imd", "rank": [1], "decile": [1]}), vintage="IoD2019")
    >>> check_vintage(["E01000001"], t)  # passes silently
    """
    code_index = pd.Index(
        pd.unique(pd.Series(list(codes), dtype=object).astype(str).astype(object))
    )
    unknown = code_index.difference(imd.codes, sort=False)
    if unknown.empty:
        return
    not_codes = [c for c in unknown if not _CODE_RE.match(c)]
    if not_codes:
        raise InputError(
            "has values that are neither LSOA codes nor in the IMD table",
            argument=argument,
            ids=not_codes,
            fix="LSOA codes look like E01000001",
        )
    other = "LSOA21" if imd.geography == "LSOA11" else "LSOA11"
    to = imd.geography
    fix = (
        f"convert them first: convert_lsoa_vintage(table, lookup_path=<ONS LSOA11->LSOA21 "
        f"lookup>, weights=<{to} populations>, to={to!r}), or use the IMD vintage of your "
        f"codes ({'IoD2025' if other == 'LSOA21' else 'IoD2019'})"
    )
    if lookup_path is not None:
        lk = read_lsoa_lookup(lookup_path)
        this_col = "lsoa11_code" if imd.geography == "LSOA11" else "lsoa21_code"
        other_col = "lsoa21_code" if this_col == "lsoa11_code" else "lsoa11_code"
        foreign = unknown.intersection(
            pd.Index(lk[other_col]).difference(pd.Index(lk[this_col])), sort=False
        )
        if len(foreign):
            raise VintageError(
                f"{len(foreign)} of {len(code_index)} codes are {other} codes, but the IMD is "
                f"{imd.vintage} on {imd.geography}",
                argument=argument,
                ids=foreign,
                fix=fix,
            )
    elif imd.long["lsoa_code"].nunique() >= imd.n:
        raise VintageError(
            f"{len(unknown)} of {len(code_index)} codes are not {imd.geography} codes of "
            f"{imd.vintage} (which covers all of England): they are probably {other} codes",
            argument=argument,
            ids=unknown,
            fix=fix,
        )
    raise InputError(
        f"{len(unknown)} of {len(code_index)} codes are not in the {imd.vintage} table",
        argument=argument,
        ids=unknown,
        fix="check the codes (England only, LSOA codes E01...); pass lookup_path= to test "
        "whether they belong to another LSOA vintage",
    )


_Weights: TypeAlias = pd.Series | pd.DataFrame | IMDTable | Mapping[str, float]


def _population_series(
    weights: _Weights,
    *,
    argument: str,
    code_col: str,
) -> pd.Series:
    if isinstance(weights, IMDTable):
        den = weights.denominators
        return pd.Series(den["population"].to_numpy(float), index=den["lsoa_code"].astype(str))
    if isinstance(weights, pd.DataFrame):
        code = code_col if code_col in weights.columns else "lsoa_code"
        if code not in weights.columns or "population" not in weights.columns:
            raise ColumnError(
                f"needs columns {code_col!r} (or 'lsoa_code') and 'population'",
                argument=argument,
                fix="pass a DataFrame [lsoa_code, population] or a Series indexed by code",
            )
        return pd.Series(
            pd.to_numeric(weights["population"], errors="coerce").to_numpy(float),
            index=weights[code].astype(str),
        )
    s = pd.Series(weights, dtype=float)
    s.index = s.index.astype(str)
    return s


def _value_columns(table: pd.DataFrame, code_col: str, sum_cols: Sequence[str] | None,
                   mean_cols: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Check the columns; with neither list given, every numeric column is a count."""
    if code_col not in table.columns:
        raise ColumnError(
            f"has no column {code_col!r}", argument="table", fix="pass code_col= its LSOA column"
        )
    if sum_cols is None and mean_cols is None:
        sum_cols = [
            c for c in table.columns if c != code_col and pd.api.types.is_numeric_dtype(table[c])
        ]
    sums = list(sum_cols or [])
    means = list(mean_cols or [])
    missing = [c for c in sums + means if c not in table.columns]
    if missing:
        raise ColumnError(
            f"has no column(s) {missing}", argument="table", fix="check sum_cols/mean_cols"
        )
    return sums, means


def _target_vintage(codes: pd.Series, lk: pd.DataFrame, to: str | None) -> str:
    """Return the target vintage given, or the one the codes imply (they are all of the other)."""
    in11, in21 = codes.isin(lk["lsoa11_code"]), codes.isin(lk["lsoa21_code"])
    if to is None:
        if in11.all() and not in21.all():
            to = "LSOA21"
        elif in21.all() and not in11.all():
            to = "LSOA11"
        elif in11.all():  # every code unchanged: identity either way
            to = "LSOA21"
        else:
            raise InputError(
                "cannot tell the vintage of the codes (not all LSOA 2011 nor all LSOA 2021)",
                argument="table",
                ids=codes[~in11 & ~in21].tolist() or codes[~in11].tolist(),
                fix="pass to='LSOA21' or to='LSOA11' and check the codes",
            )
    if to not in ("LSOA21", "LSOA11"):
        raise InputError(f"unknown target {to!r}", argument="to", fix="use 'LSOA21' or 'LSOA11'")
    return to


def _lookup_pairs(codes: pd.Series, lk: pd.DataFrame, to: str
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the (source, target) pairs of the codes and every source feeding those targets."""
    src, tgt = ("lsoa11_code", "lsoa21_code") if to == "LSOA21" else ("lsoa21_code", "lsoa11_code")
    unknown = codes[~codes.isin(lk[src])]
    if len(unknown):
        raise InputError(
            f"{len(unknown)} codes are not {'LSOA11' if to == 'LSOA21' else 'LSOA21'} codes of "
            "the lookup",
            argument="table",
            ids=unknown,
            fix="check the codes and to=",
        )
    pairs = lk[lk[src].isin(codes.to_numpy())].rename(columns={src: "source", tgt: "target"})
    pairs = pairs[["source", "target", "change_code"]].reset_index(drop=True)
    # every source feeding a reached target (for merges the whole family matters)
    fam = lk[lk[tgt].isin(pairs["target"].to_numpy())]
    fam = fam.rename(columns={src: "source", tgt: "target"})
    return pairs, fam


def _target_populations(pairs: pd.DataFrame, n_targets: pd.Series, weights: _Weights, *,
                        code_col: str, to: str) -> np.ndarray:
    """Return P_t(b) per pair; a split cannot be shared without its targets' populations."""
    p_t = _population_series(weights, argument="weights", code_col=code_col)
    pt = pairs["target"].map(p_t).to_numpy(float)
    need = (n_targets > 1).to_numpy() & ~(np.isfinite(pt) & (pt >= 0))
    if need.any():
        raise InputError(
            "target populations are missing or negative where a source LSOA is split",
            argument="weights",
            ids=pairs.loc[need, "target"].unique(),
            fix=f"give a population ≥ 0 for every {to} code",
        )
    return np.where(np.isfinite(pt), pt, 1.0)


def _source_fractions(pairs: pd.DataFrame, fam: pd.DataFrame, n_sources_all: pd.Series,
                      source_weights: _Weights | None, *, code_col: str,
                      mean_cols: list[str]) -> np.ndarray:
    """Return P_s(a) / Σ_{a′→b} P_s(a′) per pair: 1 where a target has one source."""
    s_in = np.ones(len(pairs))
    multi = pairs["target"].map(n_sources_all).to_numpy() > 1
    if multi.any():
        if source_weights is not None:
            p_s = _population_series(source_weights, argument="source_weights", code_col=code_col)
            fam_ps = fam["source"].map(p_s)
            if fam_ps.isna().any() or (fam_ps < 0).any():
                raise InputError(
                    "source populations are missing or negative where LSOAs merge",
                    argument="source_weights",
                    ids=fam.loc[fam_ps.isna() | (fam_ps < 0), "source"].unique(),
                    fix="give a population ≥ 0 for every source code",
                )
            tot = fam.assign(p=fam_ps.to_numpy(float)).groupby("target")["p"].sum()
            ps = pairs["source"].map(p_s).to_numpy(float)
            denom = pairs["target"].map(tot).to_numpy(float)
            s_in = np.where(denom > 0, ps / np.where(denom > 0, denom, 1.0), 1.0)
        elif mean_cols:
            raise InputError(
                "several source LSOAs merge into one target, and means need their populations",
                argument="source_weights",
                ids=pairs.loc[multi, "target"].unique(),
                fix="pass source_weights= populations of the source vintage",
            )
    return s_in


def _converted_values(values: pd.DataFrame, pairs: pd.DataFrame, share: np.ndarray,
                      pi: np.ndarray, sum_cols: list[str], mean_cols: list[str]
                      ) -> dict[str, pd.Series]:
    """Share counts out by ``share``; average means weighted by π(a, b); keyed by target."""
    g_index = pairs["target"].to_numpy()
    res: dict[str, pd.Series] = {}
    for col in sum_cols:
        v = pd.to_numeric(values[col], errors="coerce").reindex(pairs["source"]).to_numpy(float)
        res[col] = pd.Series(v * share).groupby(g_index).sum(min_count=1)
    for col in mean_cols:
        v = pd.to_numeric(values[col], errors="coerce").reindex(pairs["source"]).to_numpy(float)
        ok = np.isfinite(v)
        num = pd.Series(np.where(ok, v * pi, 0.0)).groupby(g_index).sum()
        den = pd.Series(np.where(ok, pi, 0.0)).groupby(g_index).sum()
        res[col] = (num / den.where(den > 0)).astype(float)
    return res


def _change_letters(pairs: pd.DataFrame) -> pd.Series:
    """Return the change codes (U/S/M/X) involved in each target, letters in order."""
    flags = pd.get_dummies(pairs["change_code"]).groupby(pairs["target"].to_numpy()).any()
    letters = pd.Series("", index=flags.index, dtype=object)
    for letter in sorted(flags.columns):
        letters = letters + np.where(flags[letter].to_numpy(), letter, "")
    return letters


def convert_lsoa_vintage(
    table: pd.DataFrame,
    *,
    lookup_path: str | PathLike[str],
    weights: pd.Series | pd.DataFrame | IMDTable | Mapping[str, float],
    source_weights: pd.Series | pd.DataFrame | IMDTable | Mapping[str, float] | None = None,
    code_col: str = "lsoa_code",
    to: Literal["LSOA21", "LSOA11"] | None = None,
    sum_cols: Sequence[str] | None = None,
    mean_cols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Convert a table keyed by LSOA code between LSOA 2011 and LSOA 2021.

    Parameters
    ----------
    table
        One row per LSOA (``code_col``) with values to convert. Not modified.
    lookup_path
        The ONS LSOA11→LSOA21 lookup with change codes (U/S/M/X).
    weights
        Populations of the *target* vintage (Series indexed by code, DataFrame
        ``[lsoa_code, population]``, or an :class:`IMDTable` of the target vintage,
        whose denominators are used). They split a source LSOA among its targets.
    source_weights
        Populations of the *source* vintage. Needed only for ``mean_cols`` where
        several source LSOAs feed one target (merges M and redrawn X).
    code_col
        The code column of ``table``.
    to
        ``"LSOA21"`` or ``"LSOA11"``; ``None`` infers it from the codes.
    sum_cols
        Counts (people, patients): shared out and summed.
    mean_cols
        Rates or scores: population-weighted means.
        If neither ``sum_cols`` nor ``mean_cols`` is given, every numeric column is
        treated as a count.

    Returns
    -------
    pandas.DataFrame
        One row per target LSOA reached: ``code_col`` (target codes), the converted
        columns, ``change_code`` (the change codes involved, e.g. ``"S"``, ``"M"``,
        ``"X"``) and ``n_sources``. ``attrs["to"]`` holds the target geography.

    Raises
    ------
    InputError
        Codes not in the lookup, missing populations where a split needs them, or
        merges of means without ``source_weights``.
    ColumnError
        Missing columns.

    Notes
    -----
    Each (source *a*, target *b*) pair gets an estimated population
    π(a, b) = P_t(b) · P_s(a) / Σ_{a′→b} P_s(a′) (the second factor is 1 where *b* has
    one source). Counts: *a* sends π(a, b)/Σ_b′ π(a, b′) of its count to *b*, i.e. a
    split (S) is shared in proportion to the target populations, not 1/N; a merge (M)
    sends everything to the one target. Means: value(b) = Σ_a π(a, b)·v(a)/Σ_a π(a, b),
    i.e. a merge is weighted by the source populations. Redrawn LSOAs (X) combine both
    rules, an approximation without Output Area data. Source: ONS, *LSOA (2011) to
    LSOA (2021) to Local Authority District (2022) Lookup for England and Wales*.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "lk.csv")
    >>> pd.DataFrame({"lsoa11_code": ["E01000001", "E01000002", "E01000002"],
    ...               "lsoa21_code": ["E01000001", "E01040001", "E01040002"],
    ...               "change_code": ["U", "S", "S"]}).to_csv(p, index=False)
    >>> reg = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"], "patients": [10, 100]})
    >>> pop21 = pd.Series({"E01000001": 1500, "E01040001": 600, "E01040002": 900})
    >>> convert_lsoa_vintage(reg, lookup_path=p, weights=pop21)[["lsoa_code", "patients"]]
       lsoa_code  patients
    0  E01000001      10.0
    1  E01040001      40.0
    2  E01040002      60.0
    """
    sum_cols, mean_cols = _value_columns(table, code_col, sum_cols, mean_cols)
    lk = read_lsoa_lookup(lookup_path)
    codes = table[code_col].astype(str).astype(object)
    if codes.duplicated().any():
        raise InputError(
            "has more than one row per LSOA code",
            argument="table",
            ids=codes[codes.duplicated()].unique(),
            fix="aggregate to one row per LSOA first",
        )
    target = _target_vintage(codes, lk, to)
    pairs, fam = _lookup_pairs(codes, lk, target)

    n_targets = pairs.groupby("source")["target"].transform("size")
    pt = _target_populations(pairs, n_targets, weights, code_col=code_col, to=target)
    n_sources_all = fam.groupby("target")["source"].size()
    s_in = _source_fractions(pairs, fam, n_sources_all, source_weights, code_col=code_col,
                             mean_cols=mean_cols)
    pi = pt * s_in
    tot_a = pd.Series(pi).groupby(pairs["source"].to_numpy()).transform("sum").to_numpy()
    n_t = n_targets.to_numpy()
    share = np.where(tot_a > 0, pi / np.where(tot_a > 0, tot_a, 1.0), 1.0 / n_t)

    values = table.set_index(codes)
    out = pd.DataFrame({code_col: pd.unique(pairs["target"])})
    res = _converted_values(values, pairs, share, pi, sum_cols, mean_cols)
    for col, s in res.items():
        out[col] = out[code_col].map(s).to_numpy(float)
    out["change_code"] = out[code_col].map(_change_letters(pairs))
    out["n_sources"] = out[code_col].map(n_sources_all).astype(int)
    out = out.sort_values(code_col, kind="stable").reset_index(drop=True)
    out.attrs["to"] = target
    partial = out["n_sources"] > out[code_col].map(pairs.groupby("target").size())
    if partial.any():
        out.attrs["incomplete_targets"] = out.loc[partial, code_col].tolist()
    return out
