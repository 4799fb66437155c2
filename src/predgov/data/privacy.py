"""Personal data at ingest: classify personal columns, drop them or replace them by keyed hashes.

Names, phone numbers, ID numbers and addresses can be replaced by *pseudonyms*: the first
16 hex digits of HMAC-SHA256(key, kind + NUL + normalised value). The same person (same key,
same normalised value) gets the same pseudonym in every file; without the key a pseudonym
cannot be reversed or recomputed. Values are normalised first (phones keep digits only and lose
a ``+86`` prefix; names, ID numbers and addresses lose whitespace, are NFKC-normalised and
case-folded) so that ``"138 0013 8000"`` and ``"13800138000"`` coincide. Free text and location
columns (coordinates, zip, street) are always dropped, never hashed.

The key comes from the ``key`` argument or the environment variable ``PREDGOV_HMAC_KEY``; it is
never stored anywhere by predgov.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

from predgov.data.presets import DEFAULT_PERSONAL, PERSONAL_KEYWORDS, normalise_column
from predgov.data.report import IngestError

#: Environment variable holding the pseudonymisation key.
KEY_ENV = "PREDGOV_HMAC_KEY"

#: Personal kinds that can be pseudonymised, and the record column each becomes.
PSEUDONYM_COLUMNS: dict[str, str] = {
    "name": "caller_pid",
    "phone": "phone_pid",
    "address": "address_pid",
    "id_number": "id_pid",
}

_PID_HEX = 16
_NON_DIGIT = re.compile(r"\D+")


def resolve_key(key: str | bytes | None = None) -> bytes:
    """The pseudonymisation key as bytes: ``key`` if given, else ``$PREDGOV_HMAC_KEY``.

    Raises
    ------
    IngestError
        When neither gives a non-empty key (the message says how to give one).

    Examples
    --------
    >>> resolve_key("s3cret")
    b's3cret'
    """
    if key is None:
        key = os.environ.get(KEY_ENV)
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise IngestError(
            "pseudonymise=True needs a secret key: pass key='...' to read_records or set the "
            f"environment variable {KEY_ENV} (keep the key out of configs and run directories)"
        )
    return bytes(key)


def normalise_personal(value: object, kind: str) -> str | None:
    """Normalised form of a personal value before hashing (None for a blank value).

    Examples
    --------
    >>> normalise_personal("138 0013-8000", "phone")
    '13800138000'
    >>> normalise_personal("+86 138 0013 8000", "phone")
    '13800138000'
    >>> normalise_personal(" 王 芳 ", "name")
    '王芳'
    >>> normalise_personal("37020219900101123x", "id_number")
    '37020219900101123X'
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if kind == "phone":
        digits = _NON_DIGIT.sub("", text)
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        elif len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        return digits or None
    text = "".join(text.split())
    if kind == "id_number":
        return text.upper() or None
    return text.casefold() or None


def pseudonym(value: object, kind: str, key: str | bytes) -> str | None:
    """Keyed pseudonym of one personal value (None for a blank value).

    Examples
    --------
    >>> a = pseudonym("138 0013 8000", "phone", "k")
    >>> a == pseudonym("13800138000", "phone", "k"), a == pseudonym("13800138000", "phone", "j")
    (True, False)
    >>> len(a)
    16
    """
    norm = normalise_personal(value, kind)
    if norm is None:
        return None
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    msg = f"{kind}\x00{norm}".encode()
    return hmac.new(key_bytes, msg, hashlib.sha256).hexdigest()[:_PID_HEX]


def pseudonymise_series(values: pd.Series, kind: str, key: str | bytes) -> pd.Series:
    """Pseudonyms of a column (hashing each distinct value once), as pandas string dtype.

    Examples
    --------
    >>> s = pseudonymise_series(pd.Series(["王芳", None, "王芳"]), "name", "k")
    >>> s.iloc[0] == s.iloc[2], s.isna().tolist()
    (True, [False, True, False])
    """
    if kind not in PSEUDONYM_COLUMNS:
        raise ValueError(f"kind {kind!r} cannot be pseudonymised; kinds: {list(PSEUDONYM_COLUMNS)}")
    key_bytes = resolve_key(key)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    hashed = [pseudonym(u, kind, key_bytes) for u in uniques]
    out = [hashed[c] if c >= 0 else None for c in codes]
    return pd.Series(out, index=values.index, dtype="string")


def personal_kind(column: object, extra: dict[str, Iterable[str]] | None = None) -> str | None:
    """Kind of personal data a column name suggests (None when it looks non-personal).

    Exact spellings (of any preset, plus ``extra``) are checked first, then name fragments
    (电话, 地址, latitude, ...).

    Examples
    --------
    >>> personal_kind("联系电话"), personal_kind("Incident Zip"), personal_kind("Complaint Type")
    ('phone', 'location', None)
    """
    key = normalise_column(column)
    for source in (extra or {}, DEFAULT_PERSONAL):
        for kind, spellings in source.items():
            if key in {normalise_column(s) for s in spellings}:
                return kind
    for kind, fragments in PERSONAL_KEYWORDS.items():
        if any(normalise_column(f) in key for f in fragments):
            return kind
    return None
