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

import re
from collections.abc import Iterable

import pandas as pd

__all__ = ["personal_columns", "personal_column_reasons", "drop_personal"]

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
}
_SQUASHED = (
    "email", "firstname", "lastname", "fullname", "freetext", "postcode", "phonenumber",
    "ipaddress", "username", "submittedby", "createdby", "drawnby",
)
_BY_TOKENS = {"by"}  # submitted_by, drawn_by, created_by

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_UK_PHONE = re.compile(r"^\s*(?:\+44\s?\(?0?\)?|\(?0)\d{2,5}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}\s*$")
_UK_POSTCODE = re.compile(r"^\s*[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\s*$", re.IGNORECASE)
_IPV4 = re.compile(r"^\s*\d{1,3}(?:\.\d{1,3}){3}\s*$")
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
    if _BY_TOKENS & set(tokens[1:]):
        return "column name suggests a person (…_by)"
    return None


def _content_reason(values: pd.Series) -> str | None:
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
    for pattern, what in ((_UK_PHONE, "phone numbers"), (_UK_POSTCODE, "postcodes"),
                          (_IPV4, "IP addresses")):
        if any(pattern.match(t) for t in digits):
            return f"content contains {what}"
    total = sum(c for _, c in texts)
    long_ = sum(c for t, c in texts if len(t.split()) >= _FREE_TEXT_WORDS)
    if long_ / total >= _FREE_TEXT_SHARE:
        return "content is long free text"
    return None


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
    exempt = set(keep)
    geometry = getattr(df, "_geometry_column_name", None)
    if geometry is not None:
        exempt.add(geometry)
    reasons: dict[str, str] = {}
    for column in df.columns:
        if column in exempt:
            continue
        series = df[column]
        if isinstance(series, pd.DataFrame) or str(series.dtype) == "geometry":
            continue
        reason = _name_reason(column) or _content_reason(series)
        if reason:
            reasons[column] = reason
    return reasons


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
