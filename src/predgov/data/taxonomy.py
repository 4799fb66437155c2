"""Category and district reference tables (kept as CSV under ``conf/``).

A *taxonomy* lists parent classes (``level`` 1) and categories (``level`` 2) with the department
that handles each, Chinese and English labels, and alternative spellings (``aliases``, separated
by ``;``) used to map names as a hotline export spells them onto category codes. A *district
table* lists a city's districts with English labels, household counts and aliases.

Lookups compare :func:`normalise_name` keys: NFKC (full-width forms), whitespace, brackets and
quotes removed, edge punctuation removed, case-folded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from predgov.paths import conf_dir

#: Coordinate values given to a category or district that no table knows.
UNMAPPED = "unmapped"

_TAXONOMY_COLUMNS = ["code", "level", "parent", "department", "label_zh", "label_en", "aliases"]
_DISTRICT_COLUMNS = ["district", "label_en", "households", "urban", "aliases"]


def _split_aliases(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [a.strip() for a in value.split(";") if a.strip()]


_BRACKETS_AND_WHITESPACE = re.compile(r"[\s()\[\]{}<>【】〔〕《》「」『』\"'“”‘’]+")
_EDGE_PUNCTUATION = ".,;:!?。，、；：！？·-—_"


def normalise_name(name: object) -> str:
    """Key used for matching district and category names.

    Unicode NFKC (full-width → half-width), whitespace and brackets / quotes removed, leading
    and trailing punctuation removed, case-folded; so ``"（市南区）"`` and ``" 市南区。"``
    match the alias ``市南区``.

    Examples
    --------
    >>> normalise_name("（市南区）") == normalise_name("市南区。") == normalise_name("市南区")
    True
    >>> normalise_name("Noise - Residential")
    'noise-residential'
    """
    text = unicodedata.normalize("NFKC", str(name))
    return _BRACKETS_AND_WHITESPACE.sub("", text).strip(_EDGE_PUNCTUATION).casefold()




@dataclass(frozen=True)
class Taxonomy:
    """Category hierarchy: categories with parent class, department and labels.

    Parameters
    ----------
    table
        One row per parent class (``level`` 1) and category (``level`` 2) with the columns
        ``code, level, parent, department, label_zh, label_en, aliases``.
    name
        Short name of the taxonomy (e.g. ``"qingdao"``).

    Examples
    --------
    >>> tax = load_taxonomy("qingdao")
    >>> tax.lookup("供暖")
    'heating'
    >>> tax.categories.loc["heating", "parent"]
    'utilities'
    """

    table: pd.DataFrame
    name: str = "custom"
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [c for c in _TAXONOMY_COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"taxonomy {self.name!r} lacks columns {missing}")
        table = self.table.copy()
        table["level"] = table["level"].astype(int)
        for col in ("parent", "department", "label_zh", "label_en", "aliases"):
            table[col] = table[col].fillna("").astype(str)
        if table["code"].duplicated().any():
            dups = sorted(table.loc[table["code"].duplicated(), "code"])
            raise ValueError(f"taxonomy {self.name!r} repeats codes {dups}")
        parents = set(table.loc[table["level"] == 1, "code"])
        bad = table.loc[(table["level"] == 2) & ~table["parent"].isin(parents), "code"]
        if len(bad):
            raise ValueError(f"taxonomy {self.name!r}: categories {list(bad)} name no known parent")
        object.__setattr__(self, "table", table.set_index("code", drop=False))
        index: dict[str, str] = {}
        for row in table.itertuples():
            for key in [row.code, row.label_zh, row.label_en, *_split_aliases(row.aliases)]:
                if key:
                    index.setdefault(normalise_name(key), row.code)
        object.__setattr__(self, "_index", index)

    @property
    def categories(self) -> pd.DataFrame:
        """Level-2 rows indexed by code."""
        return self.table[self.table["level"] == 2]

    @property
    def parents(self) -> pd.DataFrame:
        """Level-1 rows (parent classes) indexed by code."""
        return self.table[self.table["level"] == 1]

    def lookup(self, name: object) -> str | None:
        """Code of a category or parent spelled as ``name`` (code, label or alias), else None."""
        if name is None or (isinstance(name, float) and pd.isna(name)):
            return None
        return self._index.get(normalise_name(str(name)))

    def coords(self, codes: list[str]) -> dict[str, tuple[str, list[str]]]:
        """Coordinates ``parent, department, label_zh, label_en`` for the ``category`` dim.

        Codes the taxonomy does not know keep their own spelling as labels and get parent and
        department ``"unmapped"``.
        """
        keys = ("parent", "department", "label_zh", "label_en")
        out: dict[str, list[str]] = {k: [] for k in keys}
        for code in codes:
            if code in self.table.index and self.table.loc[code, "level"] == 2:
                row = self.table.loc[code]
                out["parent"].append(row["parent"])
                out["department"].append(row["department"])
                out["label_zh"].append(row["label_zh"])
                out["label_en"].append(row["label_en"])
            elif code in self.table.index:  # a parent class used as a category (level 1)
                row = self.table.loc[code]
                out["parent"].append(code)
                out["department"].append(row["department"] or UNMAPPED)
                out["label_zh"].append(row["label_zh"])
                out["label_en"].append(row["label_en"])
            else:
                out["parent"].append(UNMAPPED)
                out["department"].append(UNMAPPED)
                out["label_zh"].append(str(code))
                out["label_en"].append(str(code))
        return {k: ("category", v) for k, v in out.items()}

    def parent_label(self, code: str, lang: str = "zh") -> str:
        """Label of a parent class (its code when unknown)."""
        if code in self.table.index:
            return str(self.table.loc[code, f"label_{lang}"])
        return code


@dataclass(frozen=True)
class DistrictTable:
    """A city's districts with English labels, households and alternative spellings.

    Examples
    --------
    >>> d = load_districts("qingdao")
    >>> d.lookup("黄岛区")
    '西海岸新区'
    >>> len(d.names)
    10
    """

    table: pd.DataFrame
    name: str = "custom"
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [c for c in _DISTRICT_COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"district table {self.name!r} lacks columns {missing}")
        table = self.table.copy()
        table["aliases"] = table["aliases"].fillna("").astype(str)
        object.__setattr__(self, "table", table.set_index("district", drop=False))
        index: dict[str, str] = {}
        for row in table.itertuples():
            for key in [row.district, row.label_en, *_split_aliases(row.aliases)]:
                index.setdefault(normalise_name(key), row.district)
        object.__setattr__(self, "_index", index)

    @property
    def names(self) -> list[str]:
        """District names in table order."""
        return list(self.table["district"])

    def lookup(self, name: object) -> str | None:
        """Canonical district name for a spelling (name, English label or alias), else None."""
        if name is None or (isinstance(name, float) and pd.isna(name)):
            return None
        return self._index.get(normalise_name(str(name)))

    def coords(self, names: list[str]) -> dict[str, tuple[str, list]]:
        """Coordinates ``label_en`` and ``households`` for the ``district`` dim."""
        labels = [
            str(self.table.loc[n, "label_en"]) if n in self.table.index else str(n) for n in names
        ]
        households = [
            int(self.table.loc[n, "households"]) if n in self.table.index else -1 for n in names
        ]
        return {"district_label_en": ("district", labels), "households": ("district", households)}


def _read_table(kind: str, name_or_path: str | Path, suffix: str) -> tuple[pd.DataFrame, str]:
    path = Path(name_or_path)
    if path.suffix != ".csv":
        path = conf_dir() / kind / f"{name_or_path}{suffix}"
    if not path.is_file():
        available = sorted(p.name for p in (conf_dir() / kind).glob("*.csv"))
        raise FileNotFoundError(f"no {kind} table {str(name_or_path)!r} ({path}); have {available}")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8"), path.stem


@lru_cache(maxsize=16)
def load_taxonomy(name_or_path: str | Path = "qingdao") -> Taxonomy:
    """Load a taxonomy by name (``conf/taxonomy/<name>.csv``) or from a CSV path.

    Examples
    --------
    >>> len(load_taxonomy("qingdao").categories) >= 15
    True
    """
    table, stem = _read_table("taxonomy", name_or_path, ".csv")
    return Taxonomy(table, name=stem)


@lru_cache(maxsize=16)
def load_districts(name_or_path: str | Path = "qingdao") -> DistrictTable:
    """Load a district table by city name (``conf/city/districts_<name>.csv``) or path.

    Examples
    --------
    >>> load_districts("qingdao").names[0]
    '市南'
    """
    path = Path(name_or_path)
    if path.suffix != ".csv":
        path = conf_dir() / "city" / f"districts_{name_or_path}.csv"
    table, stem = _read_table("city", path, ".csv")
    table["households"] = table["households"].astype(int)
    table["urban"] = table["urban"].astype(int).astype(bool)
    return DistrictTable(table, name=stem.removeprefix("districts_"))
