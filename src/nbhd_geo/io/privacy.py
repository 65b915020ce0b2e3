"""Detect and drop columns that look like personal data.

Resident drawings often arrive with the contributor's name, e-mail address, phone number
or free-text comments attached. None of these is needed to reconcile neighbourhoods, and
keeping them makes every output a personal-data file. :func:`personal_columns` flags a
column when its *name* or its *content* looks personal; :func:`drop_personal` removes the
flagged columns.

The name of a *place* is not personal: a column called ``neighbourhood`` is never
flagged by name, and a column called just ``name`` (ambiguous: the Placemark name of a
KML file is usually the neighbourhood) is only flagged when its content looks personal.
Pass the neighbourhood-name column as ``keep`` to be sure it is kept.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"neighbourhood": ["Belle Isle"], "contributor_email": ["a@b.org"],
...                    "notes": ["lovely"], "drawing_id": ["d1"]})
>>> personal_columns(df)
['contributor_email', 'notes']
>>> drop_personal(df).columns.tolist()
['neighbourhood', 'drawing_id']
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["personal_columns", "personal_column_reasons", "drop_personal", "nhs_number_valid",
           "allowlist_columns", "personal_value_kind", "redact_text", "redact_column",
           "pseudonym", "pseudonym_key", "pseudonymise_ids", "NOT_USED", "left_out_reason"]

# Tokens of a column name that mark it as personal. Column names are split on
# non-letters and camelCase, lower-cased, then matched token by token; a few compound
# spellings ("email", "firstname", "freetext") are matched on the squashed name too.
_PERSONAL_TOKENS = {
    "contributor": "contributor", "author": "author", "creator": "creator",
    "submitter": "submitter", "respondent": "respondent", "resident": "resident",
    "person": "person", "owner": "owner", "user": "user", "username": "user name",
    "email": "e-mail", "mail": "e-mail", "phone": "phone", "telephone": "phone",
    "tel": "phone", "mobile": "phone", "cell": "phone", "address": "address",
    "addr": "address", "postcode": "postcode", "zip": "postcode", "zipcode": "postcode",
    "comment": "free text", "comments": "free text", "note": "free text",
    "notes": "free text", "description": "free text", "desc": "free text",
    "remark": "free text", "remarks": "free text", "feedback": "free text",
    "message": "free text", "story": "free text", "freetext": "free text",
    "ip": "IP address", "surname": "person name", "forename": "person name",
    "firstname": "person name", "lastname": "person name", "fullname": "person name",
    "dob": "date of birth", "birthday": "date of birth", "birth": "date of birth",
    "contact": "contact details", "signature": "person name",
    # Identifiers and special-category data (UK GDPR art. 9): never needed to map places.
    "nhs": "NHS number", "chi": "CHI number", "nino": "national insurance number",
    "age": "age", "dateofbirth": "date of birth", "born": "date of birth",
    "sex": "sex/gender", "gender": "sex/gender", "pronoun": "sex/gender",
    "pronouns": "sex/gender", "ethnicity": "ethnicity", "ethnic": "ethnicity",
    "race": "ethnicity", "nationality": "nationality", "disability": "disability",
    "disabled": "disability", "impairment": "disability", "religion": "religion",
    "religious": "religion", "faith": "religion", "belief": "religion",
    "beliefs": "religion", "sexuality": "sexual orientation", "orientation":
    "sexual orientation", "health": "health", "street": "address", "housenumber": "address",
    "house": "address", "flat": "address", "postal": "postcode", "initials": "person name",
    "surnames": "person name",
}
# A "name" column is a person's name when a token says whose ("your name", "full name").
_NAME_QUALIFIERS = {"your", "my", "full", "first", "last", "given", "family", "middle",
                    "maiden", "contact", "respondent", "resident", "person", "people",
                    "participant", "applicant", "member", "volunteer", "householder"}
# "Where do you live?" asks for an address.
_LIVE_TOKENS = {"live", "lives", "living", "reside", "home"}
_ASKER_TOKENS = {"you", "your", "where"}
_SQUASHED = (
    "email", "firstname", "lastname", "fullname", "freetext", "postcode", "phonenumber",
    "ipaddress", "username", "submittedby", "createdby", "drawnby", "dateofbirth",
    "birthdate", "housenumber", "houseno", "nhsnumber", "nhsno", "yourname", "postalcode",
)
_BY_TOKENS = {"by"}  # submitted_by, drawn_by, created_by

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_UK_PHONE = re.compile(r"^\s*(?:\+44\s?\(?0?\)?|\(?0)\d{2,5}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}\s*$")
_UK_POSTCODE = re.compile(r"^\s*[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\s*$", re.IGNORECASE)
_IPV4 = re.compile(r"^\s*\d{1,3}(?:\.\d{1,3}){3}\s*$")
_NHS = re.compile(r"^\s*\d{3}[\s-]?\d{3}[\s-]?\d{4}\s*$")
_DATE = re.compile(r"^\s*(?:(?:19|20)\d{2}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2})"
                   r"(?:[ T].*)?$")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_STREET = re.compile(
    r"^\s*(?:flat\s+\w+,?\s*)?\d+[a-z]?,?\s+(?:[A-Za-z'’-]+\s+){1,4}(?:street|st|road|rd|lane|"
    r"ln|avenue|ave|close|cl|drive|dr|way|court|ct|crescent|cres|place|pl|terrace|grove|"
    r"gardens|gdns|walk|mews|row|hill|square|sq|parade|green|view|rise|park)\b",
    re.IGNORECASE)
_POSTCODE_IN_TEXT = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[ABD-HJLNP-UW-Z]{2}\b")
_SEX_VALUES = {"m", "f", "male", "female", "man", "woman", "non-binary", "nonbinary",
               "other", "prefer not to say", "x", "trans", "transgender", "intersex"}
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir", "dame", "cllr"}
_PLACE_WORDS = {"park", "street", "road", "estate", "village", "green", "hill", "hills",
                "lane", "end", "town", "gate", "court", "square", "place", "way", "bridge",
                "moor", "wood", "field", "fields", "side", "bank", "heights", "common",
                "vale", "row", "terrace", "avenue", "close", "grove", "gardens", "centre",
                "quarter", "north", "south", "east", "west", "central", "ward", "area"}
# Common given names in England and Wales (ONS baby names and census, abridged).
_GIVEN_NAMES = set("""
adam adrian aisha alan albert alex alexander alfie ali alice alison amanda amelia amy
andrew angela ann anna anne anthony archie arthur ava barbara barry ben benjamin beth
betty bill bob brian callum carl carol caroline catherine charles charlie charlotte
chloe chris christine christopher claire colin craig daniel darren david dawn debbie
deborah dennis derek diane donna dorothy edward eileen eleanor elizabeth ella ellie emily
emma eric ethan evelyn fatima frank freddie freya gary gemma geoffrey george georgia
gillian grace graham hannah harry harvey hazel heather helen henry hugh ian isaac
isabella isla jack jacob jake james jamie jane janet jason jean jennifer jessica jill
jo joan joanne john jonathan joseph josh joshua joyce julie karen kate katherine kathleen
kelly keith kevin kim laura lauren leo lee lewis liam lily linda lisa logan louise lucy
luke lynn margaret maria mark martin mary matthew megan mia michael michelle mike mo
mohammed muhammad nancy natalie neil nicholas nicola noah oliver olivia oscar pamela
patricia patrick paul pauline peter philip poppy priya rachel raj rebecca richard rita
robert roger ronald rose ruby ruth ryan sally samantha samuel sandra sarah scott sean
sharon shirley simon sophia sophie stephen steven stuart susan teresa thomas tim timothy
tom tony tracey valerie victoria wendy william yasmin zara zoe
""".split())
_FREE_TEXT_WORDS = 8  # a value with at least this many words is free text
_FREE_TEXT_SHARE = 0.2  # ... when at least this share of the non-empty values are


def _tokens(column: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(column))
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def _name_reason(column: str) -> str | None:
    tokens = _tokens(column)
    squashed = "".join(tokens)
    for token in tokens:
        if token in _PERSONAL_TOKENS:
            return f"column name suggests {_PERSONAL_TOKENS[token]}"
    for word in _SQUASHED:
        if word in squashed:
            return f"column name suggests {word}"
    if "name" in tokens and _NAME_QUALIFIERS & set(tokens):
        return "column name suggests person name"
    if _LIVE_TOKENS & set(tokens) and _ASKER_TOKENS & set(tokens):
        return "column name suggests address"
    if _BY_TOKENS & set(tokens[1:]):
        return "column name suggests a person (…_by)"
    return None


def nhs_number_valid(value: str | int) -> bool:
    """Whether ``value`` is a 10-digit NHS number with a correct Modulus 11 check digit.

    Examples
    --------
    >>> nhs_number_valid("943 476 5919"), nhs_number_valid("9434765918")
    (True, False)
    """
    digits = re.sub(r"[\s-]", "", str(value))
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _nhs_share(texts: list[str]) -> bool:
    """Tell whether 10-digit values are mostly valid NHS numbers (1 in 11 random ones pass)."""
    tens = [t for t in texts if _NHS.match(t)]
    if not tens:
        return False
    valid = sum(nhs_number_valid(t) for t in tens)
    return valid >= 1 and valid / len(tens) >= 0.5


def _looks_like_person(text: str) -> bool:
    words = text.replace(".", " ").split()
    if not 2 <= len(words) <= 4 or not all(w[:1].isupper() and w.isalpha() for w in words):
        return False
    if words[-1].lower() in _PLACE_WORDS:
        return False
    return words[0].lower() in _GIVEN_NAMES or words[0].lower() in _TITLES


def _content_reason(values: pd.Series) -> str | None:
    if pd.api.types.is_integer_dtype(values):
        numbers = [str(v) for v in values.dropna().unique()[:10_000]]
        return "content contains NHS numbers" if _nhs_share(numbers) else None
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return None
    counts = values.dropna().value_counts(sort=False)
    texts = [(v.strip(), c) for v, c in counts.items() if isinstance(v, str) and v.strip()]
    if not texts:
        return None
    if any("@" in t and _EMAIL.search(t) for t, _ in texts):
        return "content contains e-mail addresses"
    # Cheap character tests first: most values are words, not numbers.
    digits = [t for t, _ in texts if any(ch.isdigit() for ch in t[:4])]
    if _nhs_share([t for t in digits]):
        return "content contains NHS numbers"
    for pattern, what in ((_UK_PHONE, "phone numbers"), (_UK_POSTCODE, "postcodes"),
                          (_IPV4, "IP addresses")):
        if any(pattern.match(t) for t in digits):
            return f"content contains {what}"
    # Dates mostly before 2010 are not when a map was drawn: dates of birth.
    years = [int(y) for t in digits if _DATE.match(t) for y in _YEAR.findall(t)[:1]]
    if years and sum(y < 2010 for y in years) / len(years) >= 0.5:
        return "content contains dates of birth"
    if any(_STREET.search(t) for t, _ in texts):
        return "content contains street addresses"
    if any(_POSTCODE_IN_TEXT.search(t) for t, _ in texts):
        return "content contains postcodes"
    lowered = {t.lower() for t, _ in texts}
    if lowered <= _SEX_VALUES and len(lowered) >= 1 and len(texts) >= 2:
        return "content looks like sex/gender"
    people = sum(c for t, c in texts if _looks_like_person(t))
    if people and people / sum(c for _, c in texts) >= 0.5:
        return "content looks like person names"
    total = sum(c for _, c in texts)
    long_ = sum(c for t, c in texts if len(t.split()) >= _FREE_TEXT_WORDS)
    if long_ / total >= _FREE_TEXT_SHARE:
        return "content is long free text"
    return None


def _column_reasons(df: pd.DataFrame, exempt: set[str],
                    max_rows: int | None) -> Iterator[tuple[str, str | None]]:
    """Each column but the exempt ones and the active geometry, with what it looks like.

    The reason comes from the column's name, else from its content; ``None`` when neither
    looks personal. Geometry columns and duplicated names (a frame, not a series) are judged
    by name only, and content is read only up to ``max_rows`` rows when that is set, so that
    dropping a column of a huge table never scans it.
    """
    geometry = getattr(df, "_geometry_column_name", None)
    for column in df.columns:
        if column in exempt or column == geometry:
            continue
        series = df[column]
        reason = _name_reason(str(column))
        if (reason is None and isinstance(series, pd.Series)
                and str(series.dtype) != "geometry"
                and (max_rows is None or len(series) <= max_rows)):
            reason = _content_reason(series)
        yield str(column), reason


def personal_column_reasons(
    df: pd.DataFrame, *, keep: Iterable[str] = ()
) -> dict[str, str]:
    """Columns of ``df`` that look like personal data, with the reason for each.

    Parameters
    ----------
    df
        Any data frame; a GeoDataFrame's active geometry column is never flagged.
    keep
        Columns never to flag (e.g. the id and the neighbourhood-name column).

    Returns
    -------
    dict[str, str]
        ``{column: reason}`` in column order.

    Examples
    --------
    >>> import pandas as pd
    >>> personal_column_reasons(pd.DataFrame({"name": ["jo@x.org"], "nbhd": ["Eastmoor"]}))
    {'name': 'content contains e-mail addresses'}
    """
    return {column: reason for column, reason in _column_reasons(df, set(keep), max_rows=None)
            if reason}


def personal_columns(df: pd.DataFrame, *, keep: Iterable[str] = ()) -> list[str]:
    """Names of the columns of ``df`` that look like personal data.

    A column is flagged by name (contributor, author, e-mail, phone, address, postcode,
    comment, notes, description, IP, …) or by content (e-mail addresses, UK phone
    numbers, postcodes, IP addresses, long free text). A column called just ``name`` is
    flagged only by content, since it is usually the name of a place.

    Parameters
    ----------
    df
        Any data frame.
    keep
        Columns never to flag.

    Returns
    -------
    list[str]
        Flagged column names in column order.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"name": ["Belle Isle"], "contributor_name": ["Jo Bloggs"],
    ...                    "tel": ["01924 123456"]})
    >>> personal_columns(df)
    ['contributor_name', 'tel']
    """
    return list(personal_column_reasons(df, keep=keep))


def drop_personal(df: pd.DataFrame, *, keep: Iterable[str] = ()) -> pd.DataFrame:
    """Return a copy of ``df`` without the columns :func:`personal_columns` flags.

    Parameters
    ----------
    df
        Any data frame (not modified).
    keep
        Columns to keep even if they look personal.

    Returns
    -------
    pandas.DataFrame
        Same type as ``df`` (a GeoDataFrame stays one), flagged columns removed.

    Examples
    --------
    >>> import pandas as pd
    >>> drop_personal(pd.DataFrame({"email": ["a@b.c"], "nbhd": ["x"]})).columns.tolist()
    ['nbhd']
    """
    return df.drop(columns=personal_columns(df, keep=keep))


# ----------------------------------------------------------------------------- allowlist

# Personal patterns found *inside* text, in any case: "near s1 4xy", "ring 07700 900123".
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_POSTCODE_ANYCASE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}"
                               r"(?![A-Za-z0-9])")
_PHONE_IN_TEXT = re.compile(r"(?<![\w+])(?:\+44\s?\(?0?\)?\s?|\(?0)\d{2,5}\)?[\s-]?\d{3,4}"
                            r"[\s-]?\d{3,4}(?!\d)")
_NHS_IN_TEXT = re.compile(r"(?<!\d)\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\d)")

_REDACTIONS = (("e-mail address", _EMAIL_IN_TEXT, "[e-mail]"),
               ("NHS number", _NHS_IN_TEXT, "[NHS number]"),
               ("phone number", _PHONE_IN_TEXT, "[phone]"),
               ("postcode", _POSTCODE_ANYCASE, "[postcode]"))

NOT_USED = "not used by the analysis"


def personal_value_kind(value: object) -> str | None:
    """Tell what personal datum ``value`` holds anywhere in it, or None.

    E-mail addresses, NHS numbers (Modulus 11 checked), UK phone numbers and postcodes
    are found in any case and inside longer text.

    Examples
    --------
    >>> personal_value_kind("near s1 4xy"), personal_value_kind("Belle Isle")
    ('postcode', None)
    >>> personal_value_kind("ring me 07700 900123"), personal_value_kind("JO@X.ORG")
    ('phone number', 'e-mail address')
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    for what, pattern, _ in _REDACTIONS:
        for match in pattern.finditer(text):
            if what != "NHS number" or nhs_number_valid(match.group()):
                return what
    return None


def redact_text(value: object) -> tuple[object, list[str]]:
    """``value`` with e-mail addresses, NHS numbers, phones and postcodes blanked out.

    Returns the redacted value (non-text values unchanged) and what was redacted.

    Examples
    --------
    >>> redact_text("Hollins, near s1 4xy (call 07700 900123)")
    ('Hollins, near [postcode] (call [phone])', ['phone number', 'postcode'])
    """
    if not isinstance(value, str):
        return value, []
    found: list[str] = []
    text = value
    for what, pattern, mark in _REDACTIONS:
        def swap(match: re.Match[str], what: str = what, mark: str = mark) -> str:
            if what == "NHS number" and not nhs_number_valid(match.group()):
                return match.group()
            found.append(what)
            return mark
        text = pattern.sub(swap, text)
    return text, sorted(set(found))


def redact_column(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Redact every text cell of ``values`` (:func:`redact_text`); say what was found.

    Examples
    --------
    >>> import pandas as pd
    >>> out, found = redact_column(pd.Series(["a@b.org", "Eastmoor"]))
    >>> out.tolist(), found
    (['[e-mail]', 'Eastmoor'], ['e-mail address'])
    """
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values, []
    found: set[str] = set()
    out: dict[object, object] = {}
    for v in values.dropna().unique():
        new, what = redact_text(v)
        if what:
            out[v] = new
            found.update(what)
    if not out:
        return values, []
    redacted = [out.get(v, v) if isinstance(v, str) else v for v in values]
    return pd.Series(redacted, index=values.index, name=values.name, dtype=object), sorted(found)


def allowlist_columns(df: pd.DataFrame, allowed: Iterable[str]) -> tuple[pd.DataFrame,
                                                                        dict[str, str]]:
    """Keep only the ``allowed`` columns of ``df``; say why each other one was left out.

    The reason names what the column *looks like* (from its name and content) when it
    looks personal, else :data:`NOT_USED`. Reasons never quote a value.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"nbhd": ["Eastmoor"], "e_mail": ["x"], "Telefonnummer": ["y"]})
    >>> kept, left = allowlist_columns(df, ["nbhd"])
    >>> kept.columns.tolist()
    ['nbhd']
    >>> left
    {'e_mail': 'column name suggests e-mail', 'Telefonnummer': 'not used by the analysis'}
    """
    left = {column: reason or NOT_USED
            for column, reason in _column_reasons(df, set(allowed), max_rows=1_000_000)}
    return df.drop(columns=list(left)), left


def left_out_reason(column: str) -> str:
    """Why a column that was not even read is left out: what its name suggests, if anything.

    Examples
    --------
    >>> left_out_reason("Contributor e-mail"), left_out_reason("Kommentar")
    ('column name suggests contributor', 'not used by the analysis')
    """
    return _name_reason(str(column)) or NOT_USED


# ----------------------------------------------------------------------------- pseudonyms

_KEY_ENV = "NBHD_GEO_PSEUDONYM_KEY"
_KEY_FILE_ENV = "NBHD_GEO_PSEUDONYM_KEY_FILE"


def pseudonym_key() -> bytes:
    """Return the secret key of :func:`pseudonym`, kept outside every output folder.

    Taken from the environment variable ``NBHD_GEO_PSEUDONYM_KEY`` when set; else read
    from the key file ``NBHD_GEO_PSEUDONYM_KEY_FILE`` (default
    ``~/.config/nbhd_geo/pseudonym.key``), which is created, readable by its owner
    only, with 32 random bytes on first use. The same key gives the same pseudonyms
    run after run; whoever holds it can test a guessed id, so keep it private.
    """
    env = os.environ.get(_KEY_ENV)
    if env:
        return env.encode()
    path = Path(os.environ.get(_KEY_FILE_ENV)
                or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
                / "nbhd_geo" / "pseudonym.key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode()


def pseudonym(value: object, key: bytes | None = None) -> str:
    """Return a stable pseudonym for a personal id: ``pid-`` and 12 hex digits of a keyed hash.

    HMAC-SHA256 with :func:`pseudonym_key`: without the key a pseudonym cannot be
    turned back into the id, nor a guessed id checked. The mapping is never written.

    Examples
    --------
    >>> pseudonym("jo@example.org", key=b"k")
    'pid-79839681ef7d'
    >>> pseudonym("jo@example.org", key=b"k") == pseudonym("jo@example.org", key=b"k")
    True
    """
    secret = pseudonym_key() if key is None else key
    digest = hmac.new(secret, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"pid-{digest[:12]}"


def pseudonymise_ids(ids: np.ndarray, key: bytes | None = None) -> tuple[np.ndarray, int]:
    """Replace each id that holds personal data (:func:`personal_value_kind`) by a pseudonym.

    Returns the new ids (a copy) and how many were replaced.

    Examples
    --------
    >>> import numpy as np
    >>> new, n = pseudonymise_ids(np.array(["d1", "jo@x.org"], dtype=object), key=b"k")
    >>> new[0], new[1].startswith("pid-"), n
    ('d1', True, 1)
    """
    out = ids.copy()
    personal = [i for i, v in enumerate(ids) if personal_value_kind(v) is not None]
    if not personal:
        return out, 0
    secret = pseudonym_key() if key is None else key
    for i in personal:
        out[i] = pseudonym(ids[i], secret)
    return out, len(personal)
