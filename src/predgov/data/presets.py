"""Ingest presets: how a known hotline export spells its columns.

A :class:`Preset` tells :func:`predgov.data.read_records` which source column holds each
canonical field (several accepted spellings per field, matched after :func:`normalise_column`),
which timezone naive times are in, which taxonomy and district table names are mapped onto,
which columns hold personal data, constant fields and the time formats to try first.

Built-in presets (see :data:`PRESETS`):

``"qd12345"``
    A Chinese 12345 hotline export (Qingdao spelling: 工单编号, 受理时间, 区(市), 街道/网格,
    诉求分类 一级/二级, 承办单位, 办结时间, 满意度, ...), timezone Asia/Shanghai, taxonomy and
    district table ``qingdao``.
``"nyc311"``
    An NYC Open Data "311 Service Requests" export (Unique Key, Created Date, Complaint Type,
    Borough, ...), timezone America/New_York, taxonomy ``nyc311``, no district table.
``"nyc311_brooklyn_noise"``
    The shared Brooklyn residential-noise file (created_hour, temperature_c, complaint_id).
``"chicago311_sanitation"``
    Chicago 311 "Sanitation Code Violation" requests (the shared file
    ``chicago_sanitation_311/requests.csv.gz``, or a Chicago Data Portal export spelled
    Service Request Number, Creation Date, Ward, ...): ward as district, the nature of the
    violation as category, community area as grid, timezone America/Chicago, taxonomy
    ``chicago311_sanitation``, district table ``chicago_wards`` (wards 1–50).
``"boston311_heat"``
    Boston 311 heat cases (the shared file ``boston_heat_311/requests.csv.gz``, or an Analyze
    Boston export spelled CASE_ENQUIRY_ID, open_dt, TYPE, ...): city council district as
    district, case type as category, neighbourhood as grid, timezone America/New_York,
    taxonomy ``boston311_heat``, district table ``boston_council`` (districts 1–9).

Choices for the two US request-level sets (documented here, tested in
``tests/data/test_real_sets.py``):

* *Duplicates.* Chicago's 311 marks a request as a duplicate report of an earlier open one
  (status ``Completed - Dup`` / ``Open - Dup``, column ``is_duplicate``). Counting problems,
  not calls, as 311 analysts do, such rows are rejected under their own counted reason
  ``duplicate_report`` (``Preset.duplicates``; keep them with the mapping entry
  ``duplicates: {}``). Boston's extract flags duplicates only in the free-text closure
  reason, which is personal text and never read: every Boston case is counted.
* *Ward / district 0.* Both sources code a request not placed in a ward / council district
  as ``0``; it is a missing value of these presets, so such rows are rejected as
  ``missing_district`` (as blank ones are), not published as a district "0".
* *Known labels.* The wards / council districts and categories are declared in the district
  tables (``conf/city/districts_<name>.csv``; households unknown, ``-1``) and taxonomies
  (``conf/taxonomy/<name>.csv``, codes spelled as in the source), so the rare-label backstop
  (``min_label_rows``) never turns a real ward or a rare real category into
  ``其他/other (unmapped)``, however short the period read.
* *Personal columns.* Coordinates and ZIP codes (and street addresses and free-text
  closure reasons, where an export has them) are declared personal and dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: Canonical record fields a preset or mapping can fill from a source column, in output order.
#: ``category_l1`` is the parent-class (level 1) hint of a 12345 export; it becomes ``parent``.
FIELDS: tuple[str, ...] = (
    "record_id",
    "received_at",
    "closed_at",
    "district",
    "grid",
    "category",
    "category_l1",
    "subcategory",
    "channel",
    "department",
    "satisfied",
    "repeat_of",
)

#: Fields every ingest needs (from a column or a constant).
REQUIRED_FIELDS: tuple[str, ...] = ("received_at", "district", "category")

#: Kinds of personal column. ``name``, ``phone``, ``address`` and ``id_number`` can be
#: pseudonymised; ``text`` (free text) and ``location`` (coordinates, zip, street, ...) are
#: always dropped.
PERSONAL_KINDS: tuple[str, ...] = ("name", "phone", "id_number", "address", "text", "location")

_STRIP = re.compile(r"[\s_\-/\\()\[\]{}【】<>《》:：·.,，、]+")


def normalise_column(name: object) -> str:
    """Key used to match a source column name against accepted spellings.

    Unicode NFKC (full-width → half-width), whitespace, brackets and separators removed,
    case-folded.

    Examples
    --------
    >>> normalise_column(" 区（市） ") == normalise_column("区市")
    True
    >>> normalise_column("Created Date")
    'createddate'
    """
    text = unicodedata.normalize("NFKC", str(name))
    return _STRIP.sub("", text).casefold()


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Preset:
    """How one kind of hotline export spells its columns.

    Parameters
    ----------
    name
        Short name (``"qd12345"``).
    columns
        Canonical field (one of :data:`FIELDS`) → accepted source spellings, best first.
    timezone
        IANA timezone of naive times in the export (None: the caller must say).
    taxonomy
        Name of the category taxonomy under ``conf/taxonomy`` (None: categories kept as spelled).
    districts
        Name of the district table under ``conf/city`` (None: districts kept as spelled).
    personal
        Personal-data kind (one of :data:`PERSONAL_KINDS`) → source spellings.
    constants
        Canonical field → constant value for every row (e.g. the borough of a one-borough file).
    time_formats
        ``strftime`` formats tried first when parsing times (others fall back to a slower
        general parser).
    extras
        Extra non-personal numeric columns kept in the records: output name → spellings.
    missing_values
        Cell values (case-insensitive) that mean "not given" (e.g. NYC's ``"Unspecified"``).
    duplicates
        Source column spelling → cell values (case-insensitive) by which the source marks a
        row as a duplicate report of an earlier request; the first spelling the export has is
        used, and rows holding one of its values are rejected as ``duplicate_report``.
    description
        One line for humans.

    Examples
    --------
    >>> p = get_preset("qd12345")
    >>> p.timezone, p.taxonomy, p.districts
    ('Asia/Shanghai', 'qingdao', 'qingdao')
    >>> "来电时间" in p.columns["received_at"]
    True
    """

    name: str
    columns: Mapping[str, tuple[str, ...]]
    timezone: str | None = None
    taxonomy: str | None = None
    districts: str | None = None
    personal: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    time_formats: tuple[str, ...] = ()
    extras: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    missing_values: tuple[str, ...] = ()
    duplicates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        bad = [f for f in [*self.columns, *self.constants] if f not in FIELDS]
        if bad:
            raise ValueError(f"preset {self.name!r}: unknown fields {bad}; fields are {FIELDS}")
        kinds = [k for k in self.personal if k not in PERSONAL_KINDS]
        if kinds:
            raise ValueError(f"preset {self.name!r}: unknown personal kinds {kinds}")
        object.__setattr__(self, "columns", _frozen({k: tuple(v) for k, v in self.columns.items()}))
        object.__setattr__(
            self, "personal", _frozen({k: tuple(v) for k, v in self.personal.items()})
        )
        object.__setattr__(self, "extras", _frozen({k: tuple(v) for k, v in self.extras.items()}))
        object.__setattr__(self, "constants", _frozen(self.constants))
        object.__setattr__(
            self, "duplicates", _frozen({k: tuple(v) for k, v in self.duplicates.items()})
        )


_QD_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
)

_QD12345 = Preset(
    name="qd12345",
    description="Chinese 12345 hotline export (Qingdao column spelling)",
    columns={
        "record_id": ("工单编号", "工单号", "工单编码", "受理编号", "工单ID", "编号"),
        "received_at": ("受理时间", "来电时间", "创建时间", "登记时间", "工单创建时间", "接听时间"),
        "closed_at": ("办结时间", "结案时间", "办理完成时间", "完成时间", "归档时间"),
        "district": (
            "区(市)", "区市", "所属区市", "区县", "所属区县", "所属区(市)", "行政区",
            "所属区域", "区域", "区",
        ),
        "grid": ("街道/网格", "网格", "街道", "所属街道", "所属网格", "街镇", "镇街", "社区"),
        "category": (
            "诉求分类 二级", "诉求分类二级", "二级分类", "诉求类型二级", "二级诉求分类",
            "问题分类二级", "诉求二级分类", "诉求分类", "诉求类型", "问题分类",
        ),
        "category_l1": (
            "诉求分类 一级", "诉求分类一级", "一级分类", "诉求类型一级", "一级诉求分类",
            "问题分类一级", "诉求一级分类",
        ),
        "subcategory": ("诉求分类 三级", "诉求分类三级", "三级分类", "诉求类型三级"),
        "channel": ("来源渠道", "受理渠道", "渠道", "工单来源", "来源"),
        "department": ("承办单位", "承办部门", "办理单位", "责任单位", "主办单位"),
        "satisfied": ("满意度", "满意度评价", "回访满意度", "评价结果", "满意情况"),
        "repeat_of": ("重复工单编号", "关联工单编号", "原工单编号", "关联工单", "重复工单"),
    },
    timezone="Asia/Shanghai",
    taxonomy="qingdao",
    districts="qingdao",
    personal={
        "name": ("来电人", "来电人姓名", "姓名", "诉求人", "诉求人姓名", "反映人", "联系人"),
        "phone": ("联系电话", "来电号码", "电话", "手机", "手机号", "手机号码", "联系方式",
                  "主叫号码", "电话号码"),
        "id_number": ("身份证号", "身份证号码", "证件号码", "身份证", "证件号"),
        "address": ("地址", "详细地址", "事发地址", "诉求地址", "联系地址", "住址", "发生地址"),
        "text": ("诉求内容", "工单内容", "诉求描述", "问题描述", "来电内容", "内容", "诉求标题",
                 "标题", "办理结果", "答复内容", "回复内容", "处理意见", "办理意见", "备注",
                 "回访内容", "回访意见"),
    },
    time_formats=_QD_TIME_FORMATS,
    missing_values=("无", "未知", "暂无", "空"),
)

_NYC_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)

_NYC_PERSONAL = {
    "address": ("Incident Address",),
    "location": (
        "Street Name", "Cross Street 1", "Cross Street 2", "Intersection Street 1",
        "Intersection Street 2", "Landmark", "Incident Zip", "BBL", "X Coordinate (State Plane)",
        "Y Coordinate (State Plane)", "Latitude", "Longitude", "Location",
    ),
    "text": ("Resolution Description",),
}

_NYC311 = Preset(
    name="nyc311",
    description="NYC Open Data '311 Service Requests' export",
    columns={
        "record_id": ("Unique Key", "unique_key"),
        "received_at": ("Created Date", "created_date"),
        "closed_at": ("Closed Date", "closed_date"),
        "district": ("Borough", "Park Borough", "borough"),
        "grid": ("Community Board", "community_board"),
        "category": ("Complaint Type", "complaint_type"),
        "subcategory": ("Descriptor", "descriptor"),
        "channel": ("Open Data Channel Type", "open_data_channel_type"),
        "department": ("Agency", "agency"),
    },
    timezone="America/New_York",
    taxonomy="nyc311",
    districts=None,
    personal=_NYC_PERSONAL,
    time_formats=_NYC_TIME_FORMATS,
    missing_values=("Unspecified",),
)

_NYC311_BROOKLYN_NOISE = Preset(
    name="nyc311_brooklyn_noise",
    description="Shared file: Brooklyn residential-noise 311 requests 2023 with hourly weather",
    columns={
        "record_id": ("complaint_id", "Unique Key"),
        "received_at": ("created_hour", "Created Date"),
    },
    constants={"district": "BROOKLYN", "category": "Noise - Residential"},
    extras={"temperature_c": ("temperature_c",)},
    timezone="America/New_York",
    taxonomy="nyc311",
    districts=None,
    personal=_NYC_PERSONAL,
    time_formats=("%Y-%m-%d %H:%M:%S", *_NYC_TIME_FORMATS),
)

_CHICAGO311_SANITATION = Preset(
    name="chicago311_sanitation",
    description="Chicago 311 'Sanitation Code Violation' requests (shared file or portal export)",
    columns={
        "record_id": ("request_id", "Service Request Number", "SR_NUMBER"),
        "received_at": ("created_date", "Creation Date", "CREATED_DATE"),
        "closed_at": ("closed_date", "Completion Date", "CLOSED_DATE"),
        "district": ("ward", "Ward"),
        "grid": ("community_area", "Community Area"),
        "category": ("category", "What is the Nature of this Code Violation?"),
    },
    timezone="America/Chicago",
    taxonomy="chicago311_sanitation",
    districts="chicago_wards",
    personal={
        "address": ("Street Address", "street_address"),
        "location": ("latitude", "longitude", "zip_code", "ZIP Code", "X Coordinate",
                     "Y Coordinate", "Location"),
    },
    time_formats=("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S.%f",
                  "%Y-%m-%dT%H:%M:%S"),
    missing_values=("0",),  # ward / community area 0: not placed in one
    duplicates={"is_duplicate": ("true",), "Status": ("completed - dup", "open - dup")},
)

_BOSTON311_HEAT = Preset(
    name="boston311_heat",
    description="Boston 311 heat cases ('Heat - Excessive Insufficient', 'Heat/Fuel Assistance')",
    columns={
        "record_id": ("case_id", "CASE_ENQUIRY_ID"),
        "received_at": ("open_dt",),
        "closed_at": ("closed_dt",),
        "district": ("city_council_district",),
        "grid": ("neighborhood",),
        "category": ("type", "TYPE"),
        "channel": ("source", "Source"),
        "department": ("department", "Department"),
    },
    timezone="America/New_York",
    taxonomy="boston311_heat",
    districts="boston_council",
    personal={
        "address": ("Location", "LOCATION_STREET_NAME"),
        "location": ("latitude", "longitude", "zipcode", "LOCATION_ZIPCODE"),
        "text": ("closure_reason", "CLOSURE_REASON", "CASE_TITLE"),
    },
    time_formats=("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S"),
    missing_values=("0",),  # council district 0: not placed in one
)

#: Built-in presets by name.
PRESETS: dict[str, Preset] = {
    p.name: p for p in (_QD12345, _NYC311, _NYC311_BROOKLYN_NOISE, _CHICAGO311_SANITATION,
                        _BOSTON311_HEAT)
}

#: Personal-column spellings checked in every ingest, whatever the preset (union of presets).
DEFAULT_PERSONAL: dict[str, tuple[str, ...]] = {
    kind: tuple(dict.fromkeys(s for p in PRESETS.values() for s in p.personal.get(kind, ())))
    for kind in PERSONAL_KINDS
}

#: Fragments of column names that mark a column as personal even when no preset lists it.
PERSONAL_KEYWORDS: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证", "证件号"),
    "phone": ("电话", "手机", "phone", "mobile"),
    "name": ("姓名", "来电人", "联系人", "诉求人"),
    "address": ("地址", "住址", "address"),
    "location": ("经度", "纬度", "latitude", "longitude", "coordinate", "zip", "门牌"),
    "text": ("内容", "描述", "意见", "备注", "description"),
}


def get_preset(preset: str | Preset) -> Preset:
    """A preset by name (or the preset itself).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> get_preset("nyc311").columns["category"][0]
    'Complaint Type'
    """
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[str(preset)]
    except KeyError:
        known = sorted(PRESETS)
        raise ValueError(f"unknown ingest preset {preset!r}; known presets: {known}") from None


def register_preset(preset: Preset, *, replace: bool = False) -> Preset:
    """Add a preset to :data:`PRESETS` so it can be named in ``read_records`` and configs.

    Examples
    --------
    >>> p = register_preset(Preset("demo_x", {"received_at": ("t",)}, timezone="UTC"),
    ...                     replace=True)
    >>> get_preset("demo_x").timezone
    'UTC'
    >>> del PRESETS["demo_x"]
    """
    if preset.name in PRESETS and not replace:
        raise ValueError(f"preset {preset.name!r} exists; pass replace=True to overwrite it")
    PRESETS[preset.name] = preset
    return preset
