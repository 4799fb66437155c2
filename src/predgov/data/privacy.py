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

Personal data also turns up where it does not belong: a phone number typed into the district
column, a name after the category. Every text field kept in the records is therefore
*scrubbed* (:func:`map_label`, :func:`scrub_id`): phone numbers, ID numbers and e-mail
addresses are removed, a cell that does not map onto the district table / taxonomy as it is is
tried again after scrubbing and token by token (so ``"市南区 13912345678"`` maps to 市南), and
name-like tokens are removed from what is left. As a k-anonymity backstop
(:func:`generalise_rare`), a label no table knows that fewer than ``min_label_rows`` accepted
rows hold is replaced by :data:`OTHER_LABEL`. Only counts of what was scrubbed are reported.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Iterable

import numpy as np
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


# --------------------------------------------------------------------------- scrubbing text

#: Label given to a district / category / grid / department / channel value that no table
#: knows and that fewer than ``min_label_rows`` accepted rows hold (k-anonymity backstop), or
#: that held nothing but a name.
OTHER_LABEL = "其他/other (unmapped)"

_D = r"\d"  # any Unicode decimal digit (full-width ones too)
#: Personal patterns removed from every kept text field, by kind (checked in this order).
PERSONAL_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[\w.+-]+\s*[@＠]\s*[\w-]+(?:[.．][\w-]+)+"),
    "id_number": re.compile(
        rf"(?<![\w]){_D}{{6}}(?:18|19|20){_D}{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]{_D}|3[01])"
        rf"{_D}{{3}}[{_D}Xx](?![\w])|(?<![\w]){_D}{{15}}(?![\w])"
    ),
    "phone": re.compile(
        "|".join([
            # CN mobile, optional +86 / 0086, optional separators: 139 1234 5678
            rf"(?<![\w+])(?:(?:\+|00)\s?86[\s-]?)?1[3-9]{_D}(?:[\s-]?{_D}){{8}}(?![\w])",
            # CN landline with area code: 0532-8888 8888, (0532)88888888
            rf"(?<![\w])[(（]?0{_D}{{2,3}}[)）]?[\s-]?{_D}{{3,4}}[\s-]?{_D}{{4}}(?![\w])",
            # US / NANP: (212) 555-0123, 212-555-0123, +1 212 555 0123, 2125550123
            rf"(?<![\w+])(?:\+?1[\s.-]?)?(?:\([2-9]{_D}{{2}}\)|[2-9]{_D}{{2}})[\s.-]?"
            rf"[2-9]{_D}{{2}}[\s.-]?{_D}{{4}}(?![\w])",
        ])
    ),
}

_SPLIT = re.compile(r"[\s()\[\]{}<>（）【】〔〕《》「」『』,，、;；:：|/\\]+")
_CJK = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")
_CJK_START = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]")
# Common Chinese surnames; characters that usually begin ordinary words (高, 马, 黄, 林, 方,
# 石, 金, 白, 文, 安, 明, 路, 万, 于, 余, 程, 任, 付, 范, 夏, 杜, 田, 江, 龙, 史, 毛, ...) are
# left out of the bare-name rule and kept only for the honorific rule (张先生, 李女士).
_SURNAMES_BARE = set(
    "王李张刘陈杨赵周吴徐孙朱胡郭何罗郑梁谢宋唐许韩冯邓曹彭曾肖董袁潘蒋蔡叶苏魏吕丁沈姚卢"
    "姜崔谭陆汪廖贾韦邹孟熊秦邱尹薛闫阎段侯陶贺郝龚邵覃戴莫孔汤倪严葛"
)
_SURNAMES_ALL = _SURNAMES_BARE | set(
    "高马黄林方石金白文安明路万于余程任付范夏杜田江龙史毛顾钱武施牛樊邢齐易乔伍庞颜庄聂章"
    "鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝"
    "游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫"
    "费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池"
    "查麻苑迟邝温康常"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容",
                      "令狐", "夏侯", "长孙", "宇文", "司徒", "端木")
_HONORIFICS = ("先生", "女士", "小姐", "师傅", "阿姨", "大爷", "大妈", "老师", "同志", "某某",
               "某", "老人", "奶奶", "爷爷", "大姐", "大哥")
# A final character that marks a place or an organisation, not a person (李村, 王哥庄, 周口).
_PLACE_FINALS = set(
    "村镇乡街路道区市县省局委办厅处科所站队院校园场馆港湾岛庄屯营寨口桥河湖山门楼厂店部组会"
    "室台苑城州府里巷坊池泉堡岭头沟集铺埠司社心园厦墅滩洼峪屿湖营"
)
_GIVEN_NAMES = frozenset(
    """james john robert michael william david richard joseph thomas charles christopher daniel
    matthew anthony donald steven paul andrew joshua kenneth kevin brian george timothy ronald
    edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott
    brandon benjamin samuel gregory alexander patrick dennis tyler aaron jose adam nathan henry
    zachary peter kyle noah ethan jeremy walter christian keith roger terry sean gerald carl
    harold dylan arthur lawrence jesse bryan billy bruce gabriel joe alan juan albert willie
    elijah wayne randy vincent mary patricia jennifer linda elizabeth barbara susan jessica
    sarah karen lisa nancy betty sandra margaret ashley kimberly emily donna michelle carol
    amanda melissa deborah stephanie dorothy rebecca sharon laura cynthia amy kathleen angela
    shirley brenda emma anna pamela nicole samantha katherine christine helen debra rachel
    carolyn janet maria catherine heather diane olivia julie joyce ruth lauren christina joan
    evelyn judith andrea hannah megan cheryl jacqueline martha teresa gloria sara janice
    kathryn abigail sophia frances alice judy isabella julia amber denise danielle marilyn
    beverly natalie theresa diana brittany doris kayla alexis lori marie wei fang min jing
    li na xiu ying""".split()
)
# A second word that makes "<given name> <word>" a place, not a person (Kevin White Park).
_PLACE_WORDS = frozenset(
    """street st avenue ave road rd park square sq place pl plaza boulevard blvd lane ln drive
    dr court ct hill hills heights village island beach point bridge school center centre hall
    hospital library station way terrace parkway pkwy highway hwy expressway houses playground
    field memorial church building tower towers garden gardens""".split()
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*\.?")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr"})
_DANGLING = re.compile(r"[\s\-–—_,，、;；:：.。|/\\]+$|^[\s\-–—_,，、;；:：.。|/\\]+")
_EMPTY_BRACKETS = re.compile(r"[(（\[【]\s*[)）\]】]")


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub("", text)
    text = " ".join(text.split())
    previous = None
    while previous != text:
        previous, text = text, _DANGLING.sub("", text)
    return text


def scrub_patterns(text: str) -> tuple[str, bool]:
    """Remove phone numbers, ID numbers and e-mail addresses from a text cell.

    Patterns (:data:`PERSONAL_PATTERNS`): e-mail addresses; 18-character (date-shaped) and
    15-digit ID numbers; Chinese mobiles (``1[3-9]`` + 9 digits, optional ``+86`` and
    separators), Chinese landlines with area code, North-American numbers. Full-width digits
    count as digits. Shorter codes (district codes, wards, 12-digit community codes) are kept.

    Returns
    -------
    tuple
        The tidied text and whether anything was removed.

    Examples
    --------
    >>> scrub_patterns("市南区 13912345678")
    ('市南区', True)
    >>> scrub_patterns("供暖 张三丰 138-0000-1111")
    ('供暖 张三丰', True)
    >>> scrub_patterns("call (212) 555-0123 or a@b.com")
    ('call or', True)
    >>> scrub_patterns("370202001001 社区")
    ('370202001001 社区', False)
    """
    out = unicodedata.normalize("NFKC", text)  # full-width digits and ＠ as ASCII
    for pattern in PERSONAL_PATTERNS.values():
        out = pattern.sub(" ", out)
    if out == unicodedata.normalize("NFKC", text):
        return text, False
    return _tidy(out), True


def _is_cjk_name(token: str, known: Callable[[str], bool] | None) -> bool:
    if not _CJK.match(token) or (known is not None and known(token)):
        return False
    for honorific in _HONORIFICS:
        stem = token.removesuffix(honorific)
        if stem != token and 1 <= len(stem) <= 2 and (
            stem[0] in _SURNAMES_ALL or stem in _COMPOUND_SURNAMES
        ):
            return True
    if token[-1] in _PLACE_FINALS:
        return False
    if any(token.startswith(c) for c in _COMPOUND_SURNAMES):
        return 3 <= len(token) <= 4
    return 2 <= len(token) <= 3 and token[0] in _SURNAMES_BARE


def looks_like_name(token: str, known: Callable[[str], bool] | None = None) -> bool:
    """Whether one token looks like a person's name (and is not a term ``known`` accepts).

    Chinese: 2–3 CJK characters starting with a common surname (3–4 with a compound surname)
    and not ending in a place / organisation character (村, 路, 局, ...), or a surname with an
    honorific (张先生, 李女士, 王某). Latin: ``"<given name> <Surname>"`` or ``"Mr. Smith"``.

    Examples
    --------
    >>> looks_like_name("张三丰"), looks_like_name("李村"), looks_like_name("王女士")
    (True, False, True)
    >>> looks_like_name("Mary Smith"), looks_like_name("Back Bay"), looks_like_name("供暖")
    (True, False, False)
    """
    if _is_cjk_name(token, known):
        return True
    return _latin_names(token) != []


def _latin_names(text: str) -> list[tuple[int, int]]:
    """Spans of ``"<given name> [X.] <Surname>"`` and ``"Mr./Ms./Dr. <Name>"`` in a text."""
    words = list(_LATIN_WORD.finditer(text))

    def adjacent(a: int, b: int) -> bool:
        gap = text[words[a].end():words[b].start()]
        return gap != "" and gap.strip() == ""

    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(words) - 1:
        first = words[i].group().rstrip(".").casefold()
        j = i + 1
        if (len(words[j].group()) == 2 and words[j].group().endswith(".")
                and j + 1 < len(words) and adjacent(j, j + 1)):
            j += 1  # a middle initial
        last = words[j].group().rstrip(".")
        after = words[j + 1].group().rstrip(".").casefold() if j + 1 < len(words) else ""
        if adjacent(i, i + 1) and (
            first in _TITLES
            or (first in _GIVEN_NAMES and last[0].isupper()
                and last.casefold() not in _PLACE_WORDS and after not in _PLACE_WORDS)
        ):
            spans.append((words[i].start(), words[j].end()))
            i = j + 1
        else:
            i += 1
    return spans


def drop_names(text: str, known: Callable[[str], bool] | None = None) -> tuple[str, bool]:
    """Remove name-like tokens (see :func:`looks_like_name`) from a multi-token cell.

    A cell that is one name-like token and nothing else becomes ``""``.

    Examples
    --------
    >>> drop_names("香港中路街道 李四光")
    ('香港中路街道', True)
    >>> drop_names("Housing Dept Mary Smith")
    ('Housing Dept', True)
    >>> drop_names("李村街道")
    ('李村街道', False)
    """
    out = text
    for start, end in reversed(_latin_names(out)):
        out = out[:start] + " " + out[end:]
    pieces = re.split(f"({_SPLIT.pattern})", out)
    kept = [p for p in pieces if not _is_cjk_name(p, known)]
    out = "".join(kept)
    if out == text:
        return text, False
    return _tidy(out), True


def tokens(text: str) -> list[str]:
    """Tokens of a cell: split at whitespace, brackets and list punctuation.

    Examples
    --------
    >>> tokens("（市南区）张三 / 供暖")
    ['市南区', '张三', '供暖']
    """
    return [t for t in _SPLIT.split(text) if t]


def map_label(
    text: str, lookup: Callable[[str], str | None] | None
) -> tuple[str | None, str | None, bool]:
    """Map one cell onto a table and scrub what is published of it.

    The cell is looked up as it is; else personal patterns are removed and the rest is looked
    up, then each token, then (for Chinese tokens) the longest leading part of a token that the
    table knows (``"市南区张三"`` → ``市南``); a cell maps when every token that maps agrees.
    An unmapped cell loses its personal patterns and name-like tokens; one that held only a
    name becomes :data:`OTHER_LABEL`; one that held only phone / ID / e-mail becomes None.

    Returns
    -------
    tuple
        ``(code, text, scrubbed)``: the table's code (None when unmapped), the text to keep
        for an unmapped cell (None when nothing is left), whether personal text was found.

    Examples
    --------
    >>> from predgov.data.taxonomy import load_districts
    >>> look = load_districts("qingdao").lookup
    >>> map_label("市南区 13912345678", look)
    ('市南', None, True)
    >>> map_label("（市南区）", look)
    ('市南', None, False)
    >>> map_label("高新区 张三丰", look)
    (None, '高新区', True)
    >>> map_label("13912345678", None)
    (None, None, True)
    """
    if lookup is not None:
        code = lookup(text)
        if code is not None:
            return code, None, False
    clean, found = scrub_patterns(text)
    known = (lambda t: lookup(t) is not None) if lookup is not None else None
    if lookup is not None and clean:
        code = _lookup_tokens(clean, lookup)
        if code is not None:
            if not found:
                rest = tokens(clean)
                found = any(looks_like_name(t, known) for t in rest) or bool(_latin_names(clean))
            return code, None, found
    if not clean:
        return None, None, found
    named, had_name = drop_names(clean, known)
    if had_name and not named:
        return None, OTHER_LABEL, True
    return None, named or None, found or had_name


def _lookup_tokens(text: str, lookup: Callable[[str], str | None]) -> str | None:
    code = lookup(text)
    if code is not None:
        return code
    parts = tokens(text)
    codes: set[str] = set()
    for part in parts:
        hit = lookup(part)
        if hit is None and _CJK_START.match(part):
            for end in range(len(part) - 1, 1, -1):
                hit = lookup(part[:end])
                if hit is not None:
                    break
        if hit is not None:
            codes.add(hit)
    return codes.pop() if len(codes) == 1 else None


def scrub_id(text: str) -> tuple[str | None, bool]:
    """Scrub an id cell: e-mails always; phone / ID numbers and names only beside other text.

    A ticket id may itself be a long number (an 18-digit 工单编号 looks like an ID number),
    so a cell that is one number is kept; ``"A1 13300001111"`` keeps ``"A1"``.

    Examples
    --------
    >>> scrub_id("370200202411200001"), scrub_id("A1 13300001111"), scrub_id("A2 张三")
    (('370200202411200001', False), ('A1', True), ('A2', True))
    """
    if len(tokens(text)) <= 1 and not PERSONAL_PATTERNS["email"].search(text):
        return text, False
    clean, found = scrub_patterns(text)
    if len(tokens(clean)) > 1:
        clean, named = drop_names(clean)
        found = found or named
    return (clean or None), found


def generalise_rare(
    values: pd.Series, known: pd.Series | np.ndarray, rows: np.ndarray, min_rows: int
) -> tuple[pd.Series, int]:
    """Replace unknown labels held by fewer than ``min_rows`` of the ``rows`` by OTHER_LABEL.

    The k-anonymity backstop: a label the reference tables do not know and that few rows hold
    could name a person or a household; it is never published as its own row or column.

    Returns
    -------
    tuple
        The labels and how many of ``rows`` were generalised.

    Examples
    --------
    >>> s = pd.Series(["a", "a", "b", "c"], dtype="string")
    >>> out, n = generalise_rare(s, np.array([True, True, False, False]),
    ...                          np.ones(4, dtype=bool), 2)
    >>> out.tolist(), n
    (['a', 'a', '其他/other (unmapped)', '其他/other (unmapped)'], 2)
    """
    unknown = ~np.asarray(known, dtype=bool) & values.notna().to_numpy() & rows
    if min_rows <= 1 or not unknown.any():
        return values, 0
    counts = values[unknown].value_counts()
    rare = set(counts[counts < min_rows].index) - {OTHER_LABEL}
    hit = unknown & values.isin(rare).to_numpy()
    if not hit.any():
        return values, 0
    out = values.copy()
    out[hit] = OTHER_LABEL
    return out, int(hit.sum())
