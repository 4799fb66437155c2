"""Parse the time columns of hotline exports: one parser, one day/month decision per column.

:func:`parse_times` turns one column of an export (text, numbers, datetimes of any unit, naive
or tz-aware) into tz-aware ``datetime64[ns]`` times in the source's timezone, with per-row masks
of what could not be read and per-row warning flags. :func:`predgov.data.read_records` uses it
for ``received_at`` and ``closed_at``. Every distinct cell is parsed once and mapped back to its
rows, so a large export costs what its distinct values cost.

Accepted forms
--------------
Cells are trimmed first; blank cells and the missing-value tokens are *missing*.

1. The preset's / mapping's ``time_formats`` (strftime patterns, in order), then the built-in
   year-first forms ``%Y-%m-%d %H:%M:%S``, ``%Y-%m-%dT%H:%M:%S``, ``%Y-%m-%d %H:%M`` and
   ``%Y-%m-%d``. A pattern that fixes a day/month order (``%d/%m/%Y``, ``%m/%d/%Y``) or a
   two-digit-year order (``%y``) is used only where it agrees with the column's decision below.
2. Excel serial day numbers between 20000 and 80000 (1954-2119), to the second.
3. Any other text is normalised -- NFKC (full-width ``２０２５－０１－０３ ０８：００`` becomes
   ASCII), Chinese markers (``2025年1月3日 8时30分``, ``8点半``, ``上午`` / ``下午``,
   ``北京时间`` = +08:00) -- and read as ``DATE [TIME [AM|PM] [ZONE]]``:

   * DATE: ``Y-M-D`` (four-digit year first; separator ``-``, ``/`` or ``.``), ``D-M-Y`` or
     ``M-D-Y`` (four-digit year last), ``YY-MM-DD`` or ``DD-MM-YY`` / ``MM-DD-YY`` (two-digit
     years 00-68 are 20xx, 69-99 19xx), or compact ``YYYYMMDD[HHMM[SS]]``;
   * TIME: ``H:MM[:SS[.fraction]]`` after a space or ``T`` (midnight when absent);
   * ZONE: ``Z``, ``+08:00`` / ``+0800`` / ``+08``, ``UTC+8``, ``GMT+8``, ``UTC+08:00``,
     ``GMT+0800``, ``UTC-5`` (everyday sign: ``UTC+8`` is 8 h *ahead* of UTC, not the POSIX
     sign), ``UTC`` / ``GMT``, or an abbreviation the source timezone itself uses (``CST`` is
     +08:00 with Asia/Shanghai and -06:00 with America/Chicago; ``EDT`` is -04:00 with
     America/New_York). An abbreviation the source timezone does not use is never guessed:
     the row is unparseable (flag ``unknown_zone_name``).
4. Last resort, text with month names (``Nov 20, 2024 8:30 AM``) goes through pandas' general
   parser with the column's day/month decision; ``today`` / ``now`` and bare numbers are
   unparseable.

Times with a zone are converted to the source timezone; the others are wall times there. A
DST-ambiguous wall time takes the first (summer) reading (flag ``ambiguous_local_time``), a
nonexistent one is shifted forward (``nonexistent_local_time``). Times outside 1678-2261 (what
``datetime64[ns]`` holds) are *out of bounds* -- also in datetime64 columns of other units
(Parquet, pandas >= 2) and in Python datetimes -- never an exception.

Day/month decision (one per column)
-----------------------------------
``D-M-Y`` / ``M-D-Y`` cells are read in ONE order for the whole column, decided by, in turn:

1. the ``dayfirst`` argument, when given;
2. the formats, when they fix one order only (``nyc311``: month first);
3. the cells: a first field > 12 proves day-first, a second field > 12 proves month-first. When
   both occur, the order proven by more rows wins and the rows proving the other one are
   unparseable (flag ``day_month_conflict``); a tie raises :class:`IngestError` naming the
   column;
4. else the timezone's convention -- month-first in US zones, day-first elsewhere -- and every
   row whose day and month could be swapped (both <= 12 and different) is flagged
   ``ambiguous_day_month``.

Two-digit years are decided the same way (argument ``yearfirst``; a format with ``%y`` first or
last; a first field > 31 or ``00`` proves year-first, a last one year-last; else year-first in
mainland China, Taiwan, Japan and Korea, whose exports write years first, year-last elsewhere,
with flag ``ambiguous_two_digit_year``). A year-last column then takes the day/month decision.
With an explicit or proven decision, the rows that contradict it are unparseable.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import warnings as _warnings
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from predgov.data.report import IngestError

__all__ = ["TIME_FLAGS", "ParsedTimes", "parse_times"]

#: Per-row flags :func:`parse_times` may raise (see the module docstring).
TIME_FLAGS: tuple[str, ...] = (
    "ambiguous_local_time",
    "nonexistent_local_time",
    "ambiguous_day_month",
    "ambiguous_two_digit_year",
    "day_month_conflict",
    "unknown_zone_name",
)

_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_LO = np.datetime64("1678-01-01", "D")  # datetime64[ns] holds 1677-09-21 .. 2262-04-11
_HI = np.datetime64("2262-01-01", "D")
_NS = "datetime64[ns]"
_EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")
_WORDS = {"now", "today", "tomorrow", "yesterday"}  # pandas reads them as the current day
_US_ZONES = (
    "US/", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "America/Anchorage", "America/Adak", "America/Detroit", "America/Boise",
    "America/Juneau", "America/Sitka", "America/Nome", "America/Yakutat", "America/Metlakatla",
    "America/Menominee", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/",
    "America/Indianapolis", "America/Louisville", "America/Fort_Wayne", "America/Knox_IN",
    "America/Puerto_Rico", "Pacific/Honolulu", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT",
)
_YEAR_FIRST_ZONES = (
    "Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi",
    "Asia/Kashgar", "PRC", "Asia/Taipei", "ROC", "Asia/Tokyo", "Japan", "Asia/Seoul", "ROK",
    "Asia/Pyongyang",
)

_TOKEN = re.compile(
    r"""
    (?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})
    (?:
        (?:T|\s+)(?:(?P<ap1>[AP]M)\s*)?
        (?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:[.,](?P<f>\d{1,9}))?)?
        (?:\s*(?P<ap2>[AP])\.?\s?M\.?)?
        (?:\s*(?:
            (?P<z>Z)
          | (?:(?P<zn>UTC|GMT|UT)\s*)?(?P<zs>[+-])(?P<zh>\d{1,2})(?::?(?P<zm>\d{2}))?
          | \(?(?P<za>[A-Z]{2,5})\)?
        ))?
    )?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:[T ]?(\d{2})(\d{2})(\d{2})?)?")
_CN_DATE = re.compile(r"(\d{2,4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_CN_TIME = re.compile(r"(\d{1,2})\s*[时時点點]\s*(?:(半)|(\d{1,2})\s*分?)?\s*(?:(\d{1,2})\s*秒)?")
_CN_HALF = {"上午": "AM", "早上": "AM", "凌晨": "AM", "下午": "PM", "晚上": "PM", "傍晚": "PM"}
_CN_HALF_RE = re.compile("|".join(_CN_HALF))


class ParsedTimes(NamedTuple):
    """What :func:`parse_times` returns; every array has one entry per input row.

    Attributes
    ----------
    values
        tz-aware ``datetime64[ns]`` in the timezone (UTC when None); NaT unless parsed.
    missing
        Blank cells and missing-value tokens.
    unparseable
        Cells that are not a time under the rules (including rows contradicting the decision).
    out_of_bounds
        Parsed, but outside 1678-2261.
    naive
        Parsed from a wall time without zone (so localised in the timezone).
    flags
        Each kind of :data:`TIME_FLAGS` -> the rows it concerns.
    dayfirst, yearfirst
        The column's day/month and two-digit-year decisions (None: no such cell).
    """

    values: pd.Series
    missing: np.ndarray
    unparseable: np.ndarray
    out_of_bounds: np.ndarray
    naive: np.ndarray
    flags: dict[str, np.ndarray]
    dayfirst: bool | None
    yearfirst: bool | None

    def flag_counts(self, rows: np.ndarray | None = None) -> dict[str, int]:
        """Number of flagged rows per kind, over ``rows`` (a boolean mask) or all rows."""
        sel = np.ones(len(self.missing), dtype=bool) if rows is None else np.asarray(rows, bool)
        return {kind: int((mask & sel).sum()) for kind, mask in self.flags.items()}


# --------------------------------------------------------------------------- helpers


def _format_orders(fmt: str) -> tuple[bool | None, bool | None]:
    """(dayfirst, yearfirst) a strftime pattern fixes (None: it fixes none)."""
    d, m = fmt.find("%d"), fmt.find("%m")
    y4, y2 = fmt.find("%Y"), fmt.find("%y")
    if d < 0 or m < 0:
        return None, None
    if y2 >= 0:
        if y2 < min(d, m):
            return None, True
        return d < m, False
    if 0 <= y4 < min(d, m):
        return None, None
    return d < m, None


def _forced(values: Iterable[bool | None]) -> bool | None:
    """The one order the formats agree on (None when they fix none or disagree)."""
    orders = {v for v in values if v is not None}
    return orders.pop() if len(orders) == 1 else None


@lru_cache(maxsize=64)
def _zone_names(tz: str | None) -> dict[str, tuple[int, ...]]:
    """Abbreviation -> UTC offsets (minutes) the zone used 1970-2037, plus UTC/GMT/UT."""
    out: dict[str, set[int]] = {"UTC": {0}, "GMT": {0}, "UT": {0}}
    try:
        zone = ZoneInfo(tz) if tz is not None else None
    except (ValueError, KeyError, OSError):  # a fixed offset such as "+08:00": no names
        zone = None
    if zone is not None:
        for year in range(1970, 2038):
            for month in (1, 4, 7, 10):
                t = dt.datetime(year, month, 15, 12, tzinfo=zone)
                name, off = t.tzname(), t.utcoffset()
                if name and name.isalpha() and off is not None:
                    out.setdefault(name.upper(), set()).add(int(off.total_seconds() // 60))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _normalise(text: str) -> str:
    """NFKC and Chinese date/time markers -> the ASCII forms the tokeniser reads."""
    s = unicodedata.normalize("NFKC", text)
    beijing = "北京时间" in s
    s = s.replace("北京时间", " ")
    s = _CN_DATE.sub(lambda m: f"{m[1]}-{m[2]}-{m[3]} ", s)
    s = _CN_HALF_RE.sub(lambda m: f" {_CN_HALF[m[0]]} ", s)
    s = _CN_TIME.sub(
        lambda m: f" {m[1]}:{'30' if m[2] else (m[3] or '00')}:{m[4] or '00'}", s
    )
    s = " ".join(s.split())
    return f"{s} +08:00" if beijing else s


def _stringify(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clean(uniques: Any) -> tuple[np.ndarray, pd.Series]:
    """Distinct cells as trimmed text (object array) and in lower case (for token checks)."""
    if pd.api.types.infer_dtype(uniques, skipna=True) != "string":
        uniques = [_stringify(u) for u in uniques]
    try:  # vectorised (Arrow) string methods; plain Python for text Arrow cannot hold
        text = pd.Series(uniques, dtype="str").str.strip()
        return text.to_numpy(dtype=object), text.str.lower()
    except (TypeError, ValueError, UnicodeError):
        plain = np.array([u.strip() for u in uniques], dtype=object)
        return plain, pd.Series([u.lower() for u in plain], dtype=object)


def _decide(
    proof_a: np.ndarray,
    proof_b: np.ndarray,
    weight: np.ndarray,
    forced: bool | None,
    default: bool,
    what: str,
    where: str,
) -> tuple[bool, bool]:
    """Order (True = order a) and whether it is the undocumented-by-data default."""
    if forced is not None:
        return forced, False
    wa, wb = int(weight[proof_a].sum()), int(weight[proof_b].sum())
    if wa == 0 and wb == 0:
        return default, True
    if wa == wb:
        raise IngestError(
            f"{where}: {what} cannot be decided: {wa} rows prove one order and {wb} the other; "
            "give the column's time format in mapping time_formats (e.g. '%d/%m/%Y %H:%M')"
        )
    return wa > wb, False


class _Items:
    """Per-item (distinct cell) parse state: UTC or wall times, masks and flags."""

    def __init__(self, n: int) -> None:
        self.when = np.full(n, np.datetime64("NaT"), dtype=_NS)
        self.done = np.zeros(n, dtype=bool)
        self.naive = np.zeros(n, dtype=bool)
        self.oob = np.zeros(n, dtype=bool)
        self.flags = {k: np.zeros(n, dtype=bool) for k in TIME_FLAGS}

    def put(self, where: np.ndarray, values: np.ndarray, naive: bool | np.ndarray) -> None:
        """Store parsed datetime64 values (any unit; NaT = not parsed) at item positions."""
        values = np.asarray(values)
        ok = ~np.isnat(values)
        inside = ok & (values >= _LO) & (values < _HI)
        pos = where[ok]
        self.oob[where[ok & ~inside]] = True
        self.done[pos] = True
        good = where[inside]
        self.when[good] = values[inside].astype(_NS)
        self.naive[good] = naive if np.isscalar(naive) else np.asarray(naive)[inside]


def _datetime_values(values: pd.Series, state: _Items) -> None:
    """A datetime64 column of any unit (naive or tz-aware) into ``state``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        arr = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        naive = False
    else:
        arr = values.to_numpy()
        naive = True
    state.put(np.arange(len(arr)), arr, naive)


def _apply_formats(
    text: np.ndarray, state: _Items, formats: Iterable[str]
) -> None:
    for fmt in formats:
        todo = np.flatnonzero(~state.done)
        if not len(todo):
            return
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            res = pd.to_datetime(
                pd.Series(text[todo], dtype=object), format=fmt, errors="coerce",
                utc="%z" in fmt or "%Z" in fmt,
            )
        if isinstance(res.dtype, pd.DatetimeTZDtype):
            state.put(todo, res.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(), False)
        else:
            state.put(todo, res.to_numpy(), True)


def _apply_serials(text: np.ndarray, state: _Items) -> None:
    todo = np.flatnonzero(~state.done)
    if not len(todo):
        return
    num = pd.to_numeric(pd.Series(text[todo], dtype=object), errors="coerce").to_numpy(dtype=float)
    ok = (num > 20000) & (num < 80000)
    if ok.any():
        secs = np.round(num[ok] * 86400).astype(np.int64)
        state.put(todo[ok], _EXCEL_EPOCH + secs.astype("timedelta64[s]"), True)


class _Tokens(NamedTuple):
    pos: np.ndarray  # item positions
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    la: np.ndarray
    lc: np.ndarray
    hms: np.ndarray  # (k, 4): hour, minute, second, nanosecond
    half: np.ndarray  # 0 none, 1 AM, 2 PM
    offset: np.ndarray  # minutes east of UTC; nan = wall time
    bad_zone: np.ndarray


def _tokenise(text: np.ndarray, todo: np.ndarray, tz: str | None) -> tuple[_Tokens, list[int]]:
    """Tokenise the items still to do; also return the items left for the last resort."""
    names = _zone_names(tz)
    rows: list[tuple[Any, ...]] = []
    rest: list[int] = []
    for i in todo:
        s = text[i]
        if not s.isascii():
            s = _normalise(s)
        m = _TOKEN.fullmatch(s)
        if m is None:
            c = _COMPACT.fullmatch(s)
            if c is None:
                rest.append(int(i))
                continue
            hms = (int(c[4] or 0), int(c[5] or 0), int(c[6] or 0), 0)
            rows.append((i, int(c[1]), int(c[2]), int(c[3]), 4, 2, hms, 0, np.nan, False))
            continue
        frac = m["f"] or ""
        hms = (int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0),
               int(frac.ljust(9, "0")) if frac else 0)
        ap = (m["ap1"] or m["ap2"] or "").upper()[:1]
        half = 1 if ap == "A" else 2 if ap == "P" else 0
        offset, bad = np.nan, False
        if m["z"]:
            offset = 0.0
        elif m["zs"]:
            sign = 1 if m["zs"] == "+" else -1
            hours, mins = int(m["zh"]), int(m["zm"] or 0)
            bad = hours > 14 or mins >= 60
            offset = sign * (hours * 60 + mins)
        elif m["za"]:
            known = names.get(m["za"].upper())
            if known is None:
                bad = True
            elif len(known) == 1:
                offset = float(known[0])
        a, c = m["a"], m["c"]
        rows.append((i, int(a), int(m["b"]), int(c), len(a), len(c), hms, half, offset, bad))
    k = len(rows)
    cols = list(zip(*rows, strict=True)) if k else [()] * 10
    tokens = _Tokens(
        pos=np.array(cols[0], dtype=np.int64),
        a=np.array(cols[1], dtype=np.int64),
        b=np.array(cols[2], dtype=np.int64),
        c=np.array(cols[3], dtype=np.int64),
        la=np.array(cols[4], dtype=np.int64),
        lc=np.array(cols[5], dtype=np.int64),
        hms=np.array(cols[6], dtype=np.int64).reshape(k, 4),
        half=np.array(cols[7], dtype=np.int64),
        offset=np.array(cols[8], dtype=float),
        bad_zone=np.array(cols[9], dtype=bool),
    )
    return tokens, rest


def _assemble(
    y: np.ndarray, mo: np.ndarray, d: np.ndarray, t: _Tokens
) -> tuple[np.ndarray, np.ndarray]:
    """Wall times (datetime64[ns], NaT when invalid) and an out-of-bounds mask."""
    hour, minute, sec, nano = t.hms.T
    hour = np.where((t.half == 2) & (hour < 12), hour + 12, hour)
    hour = np.where((t.half == 1) & (hour == 12), 0, hour)
    valid = (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31) & (hour < 24) & (minute < 60)
    valid &= (sec < 60) & (y >= 1) & (y <= 9999)
    months = np.where(valid, (y - 1970) * 12 + mo - 1, 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + np.where(valid, d - 1, 0)
    valid &= days.astype("datetime64[M]") == months  # 30 February etc.
    oob = valid & ((days < _LO) | (days >= _HI))
    ok = valid & ~oob
    out = np.full(len(y), np.datetime64("NaT"), dtype=_NS)
    clock = hour * 3_600_000_000_000 + minute * 60_000_000_000 + sec * 1_000_000_000 + nano
    out[ok] = days[ok].astype(_NS) + clock[ok].astype("timedelta64[ns]")
    return out, oob


def _apply_tokens(
    text: np.ndarray,
    state: _Items,
    weight: np.ndarray,
    tz: str | None,
    dayfirst: bool | None,
    yearfirst: bool | None,
    where: str,
) -> tuple[list[int], bool | None, bool | None]:
    """Tokenise and decide; return the last-resort items and the decisions made."""
    todo = np.flatnonzero(~state.done)
    t, rest = _tokenise(text, todo, tz)
    if not len(t.pos):
        return rest, None, None
    w = weight[t.pos]
    a, b, c = t.a, t.b, t.c
    ymd = t.la == 4
    short = (t.la <= 2) & (t.lc <= 2)
    yearlast = (t.la <= 2) & (t.lc == 4)
    conflict = np.zeros(len(a), dtype=bool)
    year_decision: bool | None = None
    if short.any():
        yf_proof = short & ((a > 31) | (a == 0)) & (c >= 1) & (c <= 31)
        yl_proof = short & ((c > 31) | (c == 0)) & (a >= 1) & (a <= 31)
        default = (tz or "").startswith(_YEAR_FIRST_ZONES)
        year_decision, by_default = _decide(
            yf_proof, yl_proof, w, yearfirst, default, "the two-digit-year order", where
        )
        conflict |= yl_proof if year_decision else yf_proof
        if by_default:
            state.flags["ambiguous_two_digit_year"][t.pos[short]] = True
        ymd |= short & year_decision
        yearlast |= short & (not year_decision)
    day_decision: bool | None = None
    dm = yearlast & ~conflict
    if dm.any():
        df_proof = dm & (a > 12) & (b >= 1) & (b <= 12)
        mf_proof = dm & (b > 12) & (a >= 1) & (a <= 12)
        default = not (tz or "").startswith(_US_ZONES)
        day_decision, by_default = _decide(
            df_proof, mf_proof, w, dayfirst, default, "the day/month order", where
        )
        conflict |= mf_proof if day_decision else df_proof
        if by_default:
            swappable = dm & (a != b) & (a >= 1) & (a <= 12) & (b >= 1) & (b <= 12)
            state.flags["ambiguous_day_month"][t.pos[swappable]] = True
    century = np.where(c < 70, 2000, 1900)
    y = np.where(ymd, np.where(t.la == 4, a, np.where(a < 70, 2000 + a, 1900 + a)),
                 np.where(t.lc == 4, c, century + c))
    first_is_day = bool(day_decision)
    mo = np.where(ymd, b, b if first_is_day else a)
    d = np.where(ymd, c, a if first_is_day else b)
    valid = (ymd | yearlast) & ~conflict & ~t.bad_zone
    wall, oob = _assemble(np.where(valid, y, 1970), mo, d, t)
    wall[~valid] = np.datetime64("NaT")
    oob &= valid
    state.flags["day_month_conflict"][t.pos[conflict]] = True
    state.flags["unknown_zone_name"][t.pos[t.bad_zone]] = True
    state.oob[t.pos[oob]] = True
    state.done[t.pos[oob]] = True
    aware = ~np.isnan(t.offset)
    shift = np.where(aware, t.offset, 0).astype(np.int64).astype("timedelta64[m]")
    state.put(t.pos, wall - shift, ~aware)
    return rest, day_decision, year_decision


def _apply_last_resort(text: np.ndarray, state: _Items, rest: list[int], dayfirst: bool) -> None:
    for i in rest:
        s = text[i]
        if not re.search(r"[A-Za-z]{3}", s):
            continue
        with _warnings.catch_warnings():
            _warnings.simplefilter("error")
            try:
                ts = pd.to_datetime(s, dayfirst=dayfirst)
            except Exception:  # any failure of the general parser: unparseable
                continue
        if ts is pd.NaT:
            continue
        aware = ts.tzinfo is not None
        if aware:
            ts = ts.tz_convert("UTC").tz_localize(None)
        state.put(np.array([i]), np.array([ts.to_datetime64()]), not aware)


def _localise(
    wall: np.ndarray, tz: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wall times -> UTC; DST-ambiguous ones take the first (summer) reading, nonexistent ones
    shift forward. Returns (utc, ambiguous, nonexistent)."""
    idx = pd.DatetimeIndex(wall)
    strict = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    problem = np.asarray(strict.isna() & ~idx.isna())
    utc = strict.tz_convert("UTC").tz_localize(None).to_numpy().astype(_NS)
    ambiguous = np.zeros(len(wall), dtype=bool)
    nonexistent = np.zeros(len(wall), dtype=bool)
    if problem.any():
        fixed = idx[problem].tz_localize(
            tz, ambiguous=np.ones(int(problem.sum()), dtype=bool), nonexistent="shift_forward"
        )
        shifted = np.asarray(fixed.tz_localize(None) != idx[problem])
        nonexistent[np.flatnonzero(problem)[shifted]] = True
        ambiguous[np.flatnonzero(problem)[~shifted]] = True
        utc[problem] = fixed.tz_convert("UTC").tz_localize(None).to_numpy().astype(_NS)
    return utc, ambiguous, nonexistent


# --------------------------------------------------------------------------- entry point


def parse_times(
    values: pd.Series,
    *,
    timezone: str | None,
    formats: Iterable[str] = (),
    missing: Collection[str] = ("",),
    dayfirst: bool | None = None,
    yearfirst: bool | None = None,
    field: str = "time",
    source: str = "data",
) -> ParsedTimes:
    """Parse one time column of an export (rules in the module docstring).

    Parameters
    ----------
    values
        The column: text, numbers (Excel serials, ``YYYYMMDDHHMMSS``), datetime64 of any unit
        (naive or tz-aware) or Python datetimes.
    timezone
        IANA zone of wall times and of the result; None only when every time has a zone (the
        result is then in UTC).
    formats
        strftime patterns tried first (a preset's / mapping's ``time_formats``).
    missing
        Tokens meaning "no value", compared case-insensitively (lower case) after trimming.
    dayfirst, yearfirst
        Force the column's day/month and two-digit-year orders (None: decide).
    field, source
        Column and file names for error messages.

    Returns
    -------
    ParsedTimes
        Values, per-row masks, per-row flags and the decisions made.

    Raises
    ------
    IngestError
        Wall times without a ``timezone``, an unknown timezone, or a column whose day/month
        (two-digit-year) order is proven both ways by equally many rows.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.Series(["13/11/2024 08:00", "01/11/2024 9:30", "2024-11-20T00:00:00Z",
    ...                    "2025年1月3日 8时", "24/11/2024 10:00 UTC+8", "", "soon"])
    >>> p = parse_times(cells, timezone="Asia/Shanghai", field="受理时间", source="x.csv")
    >>> [str(v) for v in p.values[:5]]  # doctest: +NORMALIZE_WHITESPACE
    ['2024-11-13 08:00:00+08:00', '2024-11-01 09:30:00+08:00', '2024-11-20 08:00:00+08:00',
     '2025-01-03 08:00:00+08:00', '2024-11-24 10:00:00+08:00']
    >>> p.dayfirst, p.missing.tolist()[5], p.unparseable.tolist()[6]
    (True, True, True)
    """
    where = f"{source}: {field}"
    if timezone is not None:
        try:
            pd.DatetimeIndex([]).tz_localize(timezone)
        except Exception as exc:  # pandas / zoneinfo raise several kinds
            raise IngestError(
                f"{where}: unknown timezone {timezone!r}; use an IANA name such as "
                "'Asia/Shanghai' or 'America/New_York'"
            ) from exc
    formats = tuple(formats)
    orders = [_format_orders(f) for f in formats]
    dayfirst = dayfirst if dayfirst is not None else _forced(o[0] for o in orders)
    yearfirst = yearfirst if yearfirst is not None else _forced(o[1] for o in orders)
    n = len(values)

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        codes = np.where(values.isna().to_numpy(), -1, np.arange(n))
        state = _Items(n)
        _datetime_values(values, state)
        decided: tuple[bool | None, bool | None] = (None, None)
    else:
        raw = values
        if pd.api.types.is_float_dtype(raw.dtype):  # whole numbers without ".0"
            given = raw.dropna().to_numpy(dtype=float)
            if len(given) and (np.abs(given) < 2**53).all() and (given % 1 == 0).all():
                raw = raw.astype("Int64")
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        text, lower = _clean(uniques)
        absent = lower.isin({m.lower() for m in missing} | {""}).to_numpy(dtype=bool)
        codes = np.where(absent[codes] & (codes >= 0), -1, codes) if len(text) else codes
        state = _Items(len(text))
        state.done[absent] = True
        state.done[lower.isin(_WORDS).to_numpy(dtype=bool)] = True  # pandas reads "today"
        weight = np.bincount(codes[codes >= 0], minlength=len(text))
        plain = [f for f, o in zip(formats, orders, strict=True) if o == (None, None)]
        _apply_formats(text, state, [*plain, *_ISO_FORMATS])
        fitting = [
            f for f, (d, y) in zip(formats, orders, strict=True)
            if (d, y) != (None, None) and d in (None, dayfirst) and y in (None, yearfirst)
            and (dayfirst is not None or d is None) and (yearfirst is not None or y is None)
        ]
        _apply_formats(text, state, fitting)  # orders forced: the fast path
        _apply_serials(text, state)
        rest, d_made, y_made = _apply_tokens(
            text, state, weight, timezone, dayfirst, yearfirst, where
        )
        decided = (dayfirst if dayfirst is not None else d_made,
                   yearfirst if yearfirst is not None else y_made)
        late = [
            f for f, (d, y) in zip(formats, orders, strict=True)
            if f not in fitting and (d, y) != (None, None)
            and d in (None, decided[0]) and y in (None, decided[1])
        ]
        _apply_formats(text, state, late)
        rest = [i for i in rest if not state.done[i]]
        default_df = not (timezone or "").startswith(_US_ZONES)
        _apply_last_resort(text, state, rest, decided[0] if decided[0] is not None else default_df)

    if state.naive.any() and timezone is None:
        raise IngestError(
            f"{where} holds times without a timezone and none is known; pass "
            "timezone='Asia/Shanghai' (or the source's IANA zone) or use a preset that declares one"
        )
    utc = state.when.copy()
    if state.naive.any():
        local, ambiguous, nonexistent = _localise(state.when[state.naive], str(timezone))
        utc[state.naive] = local
        state.flags["ambiguous_local_time"][state.naive] = ambiguous
        state.flags["nonexistent_local_time"][state.naive] = nonexistent

    present = codes >= 0
    safe = np.where(present, codes, 0)

    def rows(item_mask: np.ndarray) -> np.ndarray:
        if not len(item_mask):
            return np.zeros(n, dtype=bool)
        return item_mask[safe] & present

    parsed = rows(~np.isnat(utc))
    oob = rows(state.oob)
    out = np.full(n, np.datetime64("NaT"), dtype=_NS)
    if len(utc):
        out[parsed] = utc[safe][parsed]
    result = pd.Series(out, index=values.index).dt.tz_localize("UTC")
    result = result.dt.tz_convert(timezone or "UTC")
    return ParsedTimes(
        values=result,
        missing=~present,
        unparseable=present & ~parsed & ~oob,
        out_of_bounds=oob,
        naive=rows(state.naive),
        flags={k: rows(v) for k, v in state.flags.items()},
        dayfirst=decided[0],
        yearfirst=decided[1],
    )
