"""Read the English Indices of Deprivation (IoD2019, IoD2025) into one tidy table.

Two vintages are supported:

* **IoD2019** on LSOA 2011 (N = 32,844): MHCLG's File 1 (IMD rank, decile), File 2
  (domain ranks, deciles), File 5 (scores) and File 6 (population denominators), as
  published (CSV or gzipped CSV, thousands separators such as ``"29,199"`` allowed), or
  a user's CSV that uses the same headers.
* **IoD2025** on LSOA 2021 (N = 33,755): the tidy file with ``lsoa21_code`` and
  ``IMD_score``/``IMD_rank``/``IMD_decile`` style columns for the IMD and its seven
  domains, with Census 2021 usual residents (``usual_residents_total``) as the
  population weight. MHCLG files with ``LSOA code (2021)`` headers are read as well.

The result, :class:`IMDTable`, knows its vintage, geography and N (ranks are always
national, so N never depends on how many LSOAs a file holds).

Examples
--------
>>> import pandas as pd
>>> t = IMDTable.from_frames(
...     pd.DataFrame({"lsoa_code": ["E01000001"], "domain": ["imd"], "score": [8.7],
...                   "rank": [26525], "decile": [8]}),
...     vintage="IoD2025")
>>> t.geography, t.n
('LSOA21', 33755)
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from nbhd_geo.errors import ColumnError, InputError, VintageError

__all__ = [
    "DOMAINS",
    "VINTAGES",
    "IMDTable",
    "read_imd",
]

Vintage = Literal["IoD2019", "IoD2025"]

#: Vintage -> (geography, number of LSOAs ranked nationally).
VINTAGES: dict[str, tuple[str, int]] = {
    "IoD2019": ("LSOA11", 32_844),
    "IoD2025": ("LSOA21", 33_755),
}

#: Canonical domain names, in MHCLG order (the IMD first).
DOMAINS: tuple[str, ...] = (
    "imd",
    "income",
    "employment",
    "education",
    "health",
    "crime",
    "barriers",
    "living_environment",
)

# MHCLG header label (lower case, before " Score"/" Rank"/" Decile") -> domain.
_MHCLG_LABELS: dict[str, str] = {
    "index of multiple deprivation (imd)": "imd",
    "income": "income",
    "employment": "employment",
    "education, skills and training": "education",
    "health deprivation and disability": "health",
    "crime": "crime",
    "barriers to housing and services": "barriers",
    "living environment": "living_environment",
}

# IoD2025 tidy-file prefix -> domain.
_TIDY_PREFIXES: dict[str, str] = {
    "IMD": "imd",
    "Income": "income",
    "Employment": "employment",
    "Education": "education",
    "Health": "health",
    "Crime": "crime",
    "Housing_and_Services": "barriers",
    "Environment": "living_environment",
}

_MHCLG_RE = re.compile(r"^(?P<label>.+?) (?P<kind>score|rank|decile)\b", re.IGNORECASE)
_TIDY_RE = re.compile(r"^(?P<prefix>.+)_(?P<kind>score|rank|decile)$")
_CODE_RE = re.compile(r"^[EW]01\d{6}$")

# Census 2021 age bands that approximate the working-age population (16-64).
_CENSUS_WORKING_AGE = (
    "Aged 16 to 24 years",
    "Aged 25 to 34 years",
    "Aged 35 to 49 years",
    "Aged 50 to 64 years",
)

_DOMAIN_ORDER = {d: i for i, d in enumerate(DOMAINS)}
_LONG_COLUMNS = ["lsoa_code", "domain", "score", "rank", "decile"]
_DENOM_COLUMNS = ["lsoa_code", "population", "working_age_population"]


@dataclass(frozen=True, eq=False)
class IMDTable:
    """Indices of Deprivation for one vintage, as tidy tables.

    Attributes
    ----------
    vintage
        ``"IoD2019"`` or ``"IoD2025"``.
    geography
        ``"LSOA11"`` or ``"LSOA21"``.
    n
        Number of LSOAs ranked nationally (32,844 or 33,755): the ``N`` of
        ``r′ = N + 1 − rank`` and of national percentiles, whatever the file holds.
    long
        One row per (LSOA, domain): ``lsoa_code, domain, score, rank, decile``.
        ``score`` is NaN where the source has no scores (IoD2019 Files 1 and 2).
    denominators
        One row per LSOA: ``lsoa_code, population, working_age_population`` (may be
        empty; ``working_age_population`` NaN where unknown).
    districts
        ``lsoa_code, lad_code, lad_name`` where the source names the district
        (IoD2019 files: LAD 2019), else empty.
    sources
        The files read.
    notes
        Caveats found while reading (missing scores, approximate denominators).

    Examples
    --------
    >>> import pandas as pd
    >>> t = IMDTable.from_frames(pd.DataFrame({"lsoa_code": ["E01000001"],
    ...     "domain": "imd", "rank": [5], "decile": [1]}), vintage="IoD2019")
    >>> t.vintage, t.geography, t.n, t.has_scores()
    ('IoD2019', 'LSOA11', 32844, False)
    """

    vintage: str
    geography: str
    n: int
    long: pd.DataFrame
    denominators: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=_DENOM_COLUMNS)
    )
    districts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["lsoa_code", "lad_code", "lad_name"])
    )
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def from_frames(
        cls,
        long: pd.DataFrame,
        *,
        vintage: Vintage,
        denominators: pd.DataFrame | None = None,
        districts: pd.DataFrame | None = None,
        notes: Sequence[str] = (),
    ) -> IMDTable:
        """Build a table from in-memory frames (validated; inputs are copied).

        Parameters
        ----------
        long
            Columns ``lsoa_code, domain, rank, decile`` and optionally ``score``.
        vintage
            ``"IoD2019"`` or ``"IoD2025"``.
        denominators
            Optional ``lsoa_code, population[, working_age_population]``.
        districts
            Optional ``lsoa_code, lad_code[, lad_name]``.
        notes
            Caveats to carry along.

        Returns
        -------
        IMDTable

        Examples
        --------
        >>> import pandas as pd
        >>> t = IMDTable.from_frames(pd.DataFrame({"lsoa_code": ["A", "B"],
        ...     "domain": "imd", "rank": [1, 2], "decile": [1, 1]}), vintage="IoD2019")
        >>> t.n
        32844
        """
        geography, n = _vintage_info(vintage)
        missing = [c for c in ("lsoa_code", "domain", "rank", "decile") if c not in long.columns]
        if missing:
            raise ColumnError(
                f"has no column(s) {missing}",
                argument="long",
                fix="give columns lsoa_code, domain, score, rank, decile",
            )
        lt = long.copy()
        if "score" not in lt.columns:
            lt["score"] = np.nan
        lt = lt[_LONG_COLUMNS]
        lt["lsoa_code"] = lt["lsoa_code"].astype(str).astype(object)
        lt["domain"] = lt["domain"].astype(str)
        for col in ("score", "rank", "decile"):
            lt[col] = pd.to_numeric(lt[col], errors="coerce").astype(float)
        _validate_long(lt, n, argument="long")
        den = _empty_denominators() if denominators is None else denominators.copy()
        if "working_age_population" not in den.columns:
            den["working_age_population"] = np.nan
        den = den[_DENOM_COLUMNS].copy()
        den["lsoa_code"] = den["lsoa_code"].astype(str).astype(object)
        den[["population", "working_age_population"]] = den[
            ["population", "working_age_population"]
        ].astype(float)
        dis = (
            pd.DataFrame(columns=["lsoa_code", "lad_code", "lad_name"])
            if districts is None
            else districts.copy()
        )
        if "lad_name" not in dis.columns:
            dis["lad_name"] = pd.NA
        return cls(
            vintage=vintage,
            geography=geography,
            n=n,
            long=lt.sort_values(
                ["domain", "lsoa_code"],
                key=_domain_sort_key,
                kind="stable",
            ).reset_index(drop=True),
            denominators=den.reset_index(drop=True),
            districts=dis[["lsoa_code", "lad_code", "lad_name"]].reset_index(drop=True),
            notes=tuple(notes),
        )

    @property
    def domains(self) -> tuple[str, ...]:
        """Domains present, in MHCLG order (then any others alphabetically)."""
        present = set(self.long["domain"].unique())
        return tuple(d for d in DOMAINS if d in present) + tuple(
            sorted(present - set(DOMAINS))
        )

    @property
    def codes(self) -> pd.Index:
        """LSOA codes with at least one index value."""
        return pd.Index(self.long["lsoa_code"].unique(), name="lsoa_code")

    def has_scores(self, domain: str = "imd") -> bool:
        """Whether every LSOA of ``domain`` has a score."""
        sel = self.long.loc[self.long["domain"] == domain, "score"]
        return bool(len(sel)) and bool(sel.notna().all())

    def wide(self, value: Literal["score", "rank", "decile"] = "rank") -> pd.DataFrame:
        """One row per LSOA, one column per domain, holding ``value``.

        Examples
        --------
        >>> import pandas as pd
        >>> t = IMDTable.from_frames(pd.DataFrame({"lsoa_code": ["A", "A"],
        ...     "domain": ["imd", "income"], "rank": [5, 7], "decile": [1, 1]}),
        ...     vintage="IoD2019")
        >>> float(t.wide("rank").loc["A", "income"])
        7.0
        """
        out = self.long.pivot(index="lsoa_code", columns="domain", values=value)
        return out[list(self.domains)]

    def __repr__(self) -> str:
        return (
            f"IMDTable(vintage={self.vintage!r}, geography={self.geography!r}, n={self.n}, "
            f"lsoas={self.long['lsoa_code'].nunique()}, domains={list(self.domains)}, "
            f"denominators={len(self.denominators)})"
        )


def _domain_sort_key(s: pd.Series) -> pd.Series:
    return s.map(_DOMAIN_ORDER).fillna(len(DOMAINS)) if s.name == "domain" else s


def _vintage_info(vintage: str) -> tuple[str, int]:
    if vintage not in VINTAGES:
        raise VintageError(
            f"unknown vintage {vintage!r}",
            argument="vintage",
            fix=f"use one of {sorted(VINTAGES)}",
        )
    return VINTAGES[vintage]


def _empty_denominators() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in _DENOM_COLUMNS}).astype(
        {"lsoa_code": object}
    )


def _validate_long(lt: pd.DataFrame, n: int, *, argument: str) -> None:
    dup = lt.duplicated(["lsoa_code", "domain"])
    if dup.any():
        raise InputError(
            "has more than one row for the same LSOA and domain",
            argument=argument,
            ids=lt.loc[dup, "lsoa_code"].unique(),
            fix="keep one row per LSOA code",
        )
    rank = lt["rank"]
    bad = rank.notna() & ((rank < 1) | (rank > n) | (rank != np.round(rank)))
    if bad.any():
        raise InputError(
            f"has ranks that are not whole numbers between 1 and N = {n}",
            argument=argument,
            ids=lt.loc[bad, "lsoa_code"].unique(),
            fix="check the vintage (IoD2019 ranks 32,844 LSOAs, IoD2025 33,755) and the file",
        )
    dec = lt["decile"]
    bad = dec.notna() & ~dec.isin(np.arange(1, 11))
    if bad.any():
        raise InputError(
            "has deciles outside 1..10",
            argument=argument,
            ids=lt.loc[bad, "lsoa_code"].unique(),
            fix="deciles must be whole numbers 1 (most deprived) to 10",
        )


# --------------------------------------------------------------------------- reading


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8-sig")


def _numeric(col: pd.Series) -> pd.Series:
    """Parse numbers written with thousands separators ("29,199") or blanks."""
    text = col.astype("string").str.strip().str.replace(",", "", regex=False)
    text = text.replace({"": pd.NA})
    out = pd.to_numeric(text, errors="coerce").astype(float)
    bad = out.isna() & text.notna()
    if bad.any():
        raise InputError(
            f"column {col.name!r} has values that are not numbers",
            argument=str(col.name),
            ids=text[bad].unique(),
            fix="numbers may use ',' as a thousands separator; nothing else is allowed",
        )
    return out


@dataclass
class _Part:
    vintage: str | None
    long: pd.DataFrame | None = None
    denominators: pd.DataFrame | None = None
    districts: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _parse_mhclg(frame: pd.DataFrame, path: Path, code_col: str) -> _Part:
    year = re.search(r"\((20\d\d)\)", code_col)
    vintage = {"2011": "IoD2019", "2021": "IoD2025"}.get(year.group(1) if year else "", None)
    codes = frame[code_col].astype(str).str.strip()
    pieces = []
    for col in frame.columns:
        m = _MHCLG_RE.match(col.strip())
        if not m:
            continue
        domain = _MHCLG_LABELS.get(m.group("label").strip().lower())
        if domain is None:
            continue
        pieces.append((domain, m.group("kind").lower(), col))
    long = None
    if pieces:
        parts = []
        for domain in dict.fromkeys(d for d, _, _ in pieces):
            cols = {k: c for d, k, c in pieces if d == domain}
            part = pd.DataFrame({"lsoa_code": codes, "domain": domain})
            for kind in ("score", "rank", "decile"):
                part[kind] = _numeric(frame[cols[kind]]) if kind in cols else np.nan
            parts.append(part)
        long = pd.concat(parts, ignore_index=True)
    denominators = None
    pop_col = next(
        (c for c in frame.columns if c.strip().lower().startswith("total population")), None
    )
    wa_col = next(
        (c for c in frame.columns if c.strip().lower().startswith("working age population")),
        None,
    )
    if pop_col is not None:
        denominators = pd.DataFrame(
            {
                "lsoa_code": codes,
                "population": _numeric(frame[pop_col]),
                "working_age_population": (
                    _numeric(frame[wa_col]) if wa_col is not None else np.nan
                ),
            }
        )
    districts = None
    lad_col = next(
        (c for c in frame.columns if c.strip().lower().startswith("local authority district code")),
        None,
    )
    if lad_col is not None:
        name_col = next(
            (
                c
                for c in frame.columns
                if c.strip().lower().startswith("local authority district name")
            ),
            None,
        )
        districts = pd.DataFrame(
            {
                "lsoa_code": codes,
                "lad_code": frame[lad_col].astype(str).str.strip(),
                "lad_name": frame[name_col].astype(str) if name_col else pd.NA,
            }
        )
    return _Part(vintage, long, denominators, districts)


def _parse_tidy2025(frame: pd.DataFrame) -> _Part:
    codes = frame["lsoa21_code"].astype(str).str.strip()
    found: dict[str, dict[str, str]] = {}
    for col in frame.columns:
        m = _TIDY_RE.match(col.strip())
        if m and m.group("prefix") in _TIDY_PREFIXES:
            found.setdefault(_TIDY_PREFIXES[m.group("prefix")], {})[m.group("kind")] = col
    parts = []
    for domain, cols in found.items():
        part = pd.DataFrame({"lsoa_code": codes, "domain": domain})
        for kind in ("score", "rank", "decile"):
            part[kind] = _numeric(frame[cols[kind]]) if kind in cols else np.nan
        parts.append(part)
    return _Part("IoD2025", pd.concat(parts, ignore_index=True))


def _parse_census(frame: pd.DataFrame) -> _Part:
    codes = frame["lsoa21_code"].astype(str).str.strip()
    if all(c in frame.columns for c in _CENSUS_WORKING_AGE):
        wa = sum(_numeric(frame[c]) for c in _CENSUS_WORKING_AGE)
    else:
        wa = np.nan
    den = pd.DataFrame(
        {
            "lsoa_code": codes,
            "population": _numeric(frame["usual_residents_total"]),
            "working_age_population": wa,
        }
    )
    note = (
        "population denominators are Census 2021 usual residents (working age = 16-64), "
        "an approximation: IoD2025 itself used mid-2022 estimates excluding prisoners "
        "(working age 18-66), so population-weighted summaries differ slightly from MHCLG's"
    )
    return _Part("IoD2025", denominators=den, notes=[note])


def _parse_file(path: Path) -> _Part | None:
    text = _read_text(path)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    lower = {c.lower(): c for c in frame.columns}
    code_col = next((c for c in frame.columns if c.lower().startswith("lsoa code")), None)
    if code_col is not None:
        return _parse_mhclg(frame, path, code_col)
    if "lsoa21_code" in lower:
        frame = frame.rename(columns={lower["lsoa21_code"]: "lsoa21_code"})
        if "usual_residents_total" in frame.columns:
            return _parse_census(frame)
        if any(_TIDY_RE.match(c) for c in frame.columns):
            return _parse_tidy2025(frame)
    return None


def _files(path_or_dir: str | PathLike[str] | Sequence[str | PathLike[str]]) -> list[Path]:
    if isinstance(path_or_dir, (str, PathLike)):
        path = Path(path_or_dir)
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.name.endswith((".csv", ".csv.gz")) and p.is_file()
            )
            if not files:
                raise InputError(
                    f"no .csv or .csv.gz files in {path}",
                    argument="path_or_dir",
                    fix="point at the folder holding the IoD files",
                )
            return files
        paths = [path]
    else:
        paths = [Path(p) for p in path_or_dir]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InputError(
            "file(s) not found",
            argument="path_or_dir",
            ids=missing,
            fix="check the path(s)",
        )
    return paths


def _merge_long(parts: list[pd.DataFrame]) -> pd.DataFrame:
    long = pd.concat(parts, ignore_index=True)
    keys = ["lsoa_code", "domain"]
    if long.duplicated(keys).any():
        g = long.groupby(keys, sort=False)
        for col in ("score", "rank", "decile"):
            spread = g[col].max() - g[col].min()
            bad = spread > 1e-9
            if bad.any():
                ids = [k[0] for k in spread.index[bad.to_numpy()]]
                raise InputError(
                    f"files disagree on the {col} of the same LSOA and domain",
                    argument="path_or_dir",
                    ids=ids,
                    fix="read files of one release only",
                )
        long = g.first().reset_index()
    return long[_LONG_COLUMNS]


def _first_rows(frames: list[pd.DataFrame], argument: str) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates("lsoa_code", keep="first")


def _parsed_parts(files: list[Path]) -> list[tuple[Path, _Part]]:
    """Parse every file, skipping those without LSOA codes; fail if none has IoD columns."""
    parts: list[tuple[Path, _Part]] = []
    for path in files:
        part = _parse_file(path)
        if part is not None:
            parts.append((path, part))
    if not parts:
        raise InputError(
            "no Indices of Deprivation columns found",
            argument="path_or_dir",
            ids=[p.name for p in files],
            fix="pass MHCLG IoD files (headers 'LSOA code (2011)' ...) or the IoD2025 tidy file",
        )
    return parts


def _settle_vintage(parts: list[tuple[Path, _Part]], vintage: Vintage | None) -> Vintage:
    """Return the one vintage the headers show, checked against ``vintage`` when given."""
    found = {p.vintage for _, p in parts if p.vintage is not None}
    if len(found) > 1:
        raise VintageError(
            f"files of more than one vintage: {sorted(found)}",
            argument="path_or_dir",
            ids=[f"{path.name}: {p.vintage}" for path, p in parts],
            fix="read one vintage at a time",
        )
    detected = found.pop() if found else None
    if vintage is None:
        if detected is None:
            raise VintageError(
                "cannot tell the vintage from the headers",
                argument="path_or_dir",
                fix="pass vintage='IoD2019' or vintage='IoD2025'",
            )
        vintage = detected  # type: ignore[assignment]
    elif detected is not None and detected != vintage:
        raise VintageError(
            f"the files are {detected}, not {vintage}",
            argument="vintage",
            fix=f"pass vintage={detected!r} (or None), or read the {vintage} files",
        )
    return vintage  # type: ignore[return-value]


def _index_values(parts: list[tuple[Path, _Part]], n: int) -> tuple[pd.DataFrame, pd.Index]:
    """Merge the files' ranks, deciles and scores into one long table; return its codes too."""
    longs = [p.long for _, p in parts if p.long is not None]
    if not longs:
        raise InputError(
            "no ranks, deciles or scores found (only denominators)",
            argument="path_or_dir",
            fix="include File 1/2 (IoD2019) or the IoD2025 index file",
        )
    long = _merge_long(longs)
    _validate_long(long, n, argument="path_or_dir")
    uniq = pd.Index(long["lsoa_code"].astype(object).unique())
    bad = sorted(uniq[~uniq.str.match(_CODE_RE.pattern)])
    if bad:
        raise InputError(
            "has values that are not LSOA codes",
            argument="path_or_dir",
            ids=bad,
            fix="LSOA codes look like E01000001",
        )
    return long, uniq


def _index_denominators(parts: list[tuple[Path, _Part]], uniq: pd.Index,
                        notes: list[str]) -> pd.DataFrame:
    """Keep the populations of the index's LSOAs only (the Census file also covers Wales)."""
    dens = [p.denominators for _, p in parts if p.denominators is not None]
    den = _first_rows(dens, "denominators") if dens else _empty_denominators()
    den = den[den["lsoa_code"].isin(uniq)].reset_index(drop=True)
    if den.empty:
        notes.append(
            "no population denominators (IoD2019 File 6 or Census 2021): pass populations "
            "in the weights table"
        )
    return den


def _no_score_note(long: pd.DataFrame) -> list[str]:
    """Say which domains have ranks but no scores, so their averages are NaN."""
    present = set(long["domain"].unique())
    no_score = [d for d in DOMAINS if d in present]
    no_score = [d for d in no_score if long.loc[long["domain"] == d, "score"].isna().all()]
    if not no_score:
        return []
    return [
        f"no scores for {no_score}: the files read carry ranks and deciles only "
        "(IoD2019 Files 1 and 2 have no scores; they are in File 5), so the average "
        "score and the income/employment scale of these domains are NaN"
    ]


def read_imd(
    path_or_dir: str | PathLike[str] | Sequence[str | PathLike[str]],
    *,
    vintage: Vintage | None = None,
) -> IMDTable:
    """Read IoD2019 or IoD2025 files into an :class:`IMDTable`.

    Parameters
    ----------
    path_or_dir
        A folder (every ``.csv``/``.csv.gz`` in it that carries LSOA codes is read;
        others, such as published district summaries, are skipped), one file or a
        list of files. Recognised layouts: MHCLG IoD files with ``LSOA code (2011)`` or
        ``LSOA code (2021)`` headers (Files 1, 2, 5, 6 or a user CSV with the same
        headers, e.g. ``Index of Multiple Deprivation (IMD) Score``, ``Income Score
        (rate)``); the IoD2025 tidy file (``lsoa21_code``, ``IMD_rank`` ...); Census 2021
        usual residents (``lsoa21_code``, ``usual_residents_total``) as IoD2025
        population weights.
    vintage
        ``"IoD2019"`` or ``"IoD2025"``; ``None`` detects it from the headers. A
        mismatch between the files and ``vintage`` raises :class:`VintageError`.

    Returns
    -------
    IMDTable
        With ``notes`` listing what could not be read (e.g. no scores in IoD2019
        Files 1 and 2: average score and income/employment scale need File 5).

    Raises
    ------
    InputError
        Missing files, unreadable numbers, ranks outside 1..N, files that disagree.
    VintageError
        Files of two vintages, or files that do not match ``vintage``.

    Notes
    -----
    Numbers may carry thousands separators (``"29,199"``). Where two files give the
    same LSOA and domain (File 1 and File 2 both hold the IMD rank) they must agree.
    Denominators are kept for LSOAs of the index only (the Census file also covers
    Wales). Source: MHCLG, *English Indices of Deprivation 2019: File descriptions*
    and *Technical report* (2019); IoD2025 via humaniverse/IMD.

    Examples
    --------
    >>> t = read_imd("../shared/data/imd2019")  # doctest: +SKIP
    >>> t.vintage, t.geography, t.n, t.has_scores("imd")  # doctest: +SKIP
    ('IoD2019', 'LSOA11', 32844, False)
    """
    files = _files(path_or_dir)
    parts = _parsed_parts(files)
    vintage = _settle_vintage(parts, vintage)
    geography, n = _vintage_info(vintage)
    long, uniq = _index_values(parts, n)

    notes: list[str] = []
    for _, p in parts:
        notes.extend(p.notes)
    den = _index_denominators(parts, uniq, notes)
    dists = [p.districts for _, p in parts if p.districts is not None]
    dis = _first_rows(dists, "districts") if dists else None
    notes += _no_score_note(long)
    table = IMDTable.from_frames(
        long, vintage=vintage, denominators=den, districts=dis, notes=notes
    )
    return IMDTable(
        vintage=table.vintage,
        geography=table.geography,
        n=table.n,
        long=table.long,
        denominators=table.denominators,
        districts=table.districts,
        sources=tuple(str(p) for p, _ in parts),
        notes=table.notes,
    )




