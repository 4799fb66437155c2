"""A fake Chinese 12345 hotline export, for tests, notebooks and privacy checks.

:func:`synthetic_export` returns a DataFrame spelled like a Qingdao 12345 export (preset
``"qd12345"``): request ids, receive and close times, districts in mixed spellings, street /
grid, level-1 and level-2 categories (taxonomy labels and aliases, plus a few the taxonomy
does not know), handling unit, satisfaction, and *personal* columns filled with realistic-looking
but fake values (names, 11-digit mobile numbers, 18-character ID numbers, addresses, free text
that repeats them). A few rows are deliberately bad: unparseable times, blank districts,
repeated ids and close times before the receive time. Everything is drawn from a
``numpy.random.Generator`` seeded by ``seed``, so the same arguments give the same frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predgov.data.taxonomy import load_districts, load_taxonomy

#: Column names of the fake export (a real Qingdao export's spelling).
EXPORT_COLUMNS: tuple[str, ...] = (
    "工单编号", "受理时间", "来源渠道", "来电人", "联系电话", "身份证号", "区(市)", "街道/网格",
    "地址", "诉求分类 一级", "诉求分类 二级", "诉求内容", "承办单位", "办结时间", "满意度",
)

_SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙朱马胡郭何罗梁宋谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
)
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞刚桂英玉兰萍鹏辉玲燕丹婷雪琳晶欣悦浩宇轩涵睿博思怡佳俊凯"
)
_ROADS = [
    "香港中", "山东", "延安", "辽宁", "台东一", "重庆南", "长江中", "黄河东", "正阳", "烟台前",
    "鹤山", "文化", "嘉陵江", "金水", "九水东", "银川西", "宁夏", "燕儿岛", "海尔", "振华",
]
_GRIDS = {
    "市南": ["八大关街道", "湛山街道", "金门路街道", "珠海路街道"],
    "市北": ["台东街道", "辽宁路街道", "浮山新区街道", "合肥路街道"],
    "李沧": ["振华路街道", "浮山路街道", "九水街道"],
    "崂山": ["中韩街道", "沙子口街道", "王哥庄街道"],
    "西海岸新区": ["黄岛街道", "长江路街道", "薛家岛街道", "灵山卫街道"],
    "城阳": ["城阳街道", "流亭街道", "夏庄街道"],
    "即墨": ["通济街道", "环秀街道", "潮海街道"],
    "胶州": ["阜安街道", "中云街道", "胶东街道"],
    "平度": ["东阁街道", "李园街道", "同和街道"],
    "莱西": ["水集街道", "望城街道", "沽河街道"],
}
_REGION_CODES = {
    "市南": "370202", "市北": "370203", "李沧": "370213", "崂山": "370212",
    "西海岸新区": "370211", "城阳": "370214", "即墨": "370215", "胶州": "370281",
    "平度": "370283", "莱西": "370285",
}
_CHANNELS = ["电话", "电话", "电话", "网站", "微信", "APP", "短信"]
_SATISFACTION = ["满意", "满意", "满意", "基本满意", "不满意", "未评价", ""]
_PROBLEMS = [
    "家里暖气不热", "小区夜间施工噪声扰民", "楼下饭店油烟很大", "路面有坑", "物业不作为",
    "停水两天了", "公交车不准时", "工资被拖欠三个月", "邻居装修太吵", "垃圾没人清运",
]
_UNKNOWN_CATEGORIES = [("其他", "其他"), ("咨询类", "政策咨询"), ("", "表扬感谢")]
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = "10X98765432"


def _id_number(region: str, birth: pd.Timestamp, seq: int) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    digits = np.array([int(c) for c in body])
    return body + _ID_CHECK[int((digits * _ID_WEIGHTS).sum() % 11)]


def _address_district(spellings: list[str]) -> str:
    return next((s for s in spellings[1:] if s.endswith(("区", "市"))), spellings[0])


def _district_spellings() -> dict[str, list[str]]:
    table = load_districts("qingdao").table
    out: dict[str, list[str]] = {}
    for row in table.itertuples():
        aliases = [a.strip() for a in str(row.aliases).split(";") if a.strip()]
        out[row.district] = [row.district, *aliases]
    return out


def _category_spellings() -> list[tuple[str, str, str]]:
    """(level-1 label, level-2 spelling, department) for each taxonomy category."""
    tax = load_taxonomy("qingdao")
    out = []
    for row in tax.categories.itertuples():
        parent = tax.table.loc[row.parent, "label_zh"]
        dept = str(row.department).split(" / ")[0]
        aliases = [a.strip() for a in str(row.aliases).split(";") if a.strip()]
        for spelling in [row.label_zh, *aliases[:2]]:
            out.append((parent, spelling, dept))
    return out


def synthetic_export(
    n: int = 2000, seed: int = 0, start: str = "2024-11-01", days: int = 120
) -> pd.DataFrame:
    """A fake 12345 export in the ``qd12345`` spelling (all strings, like a CSV export).

    Parameters
    ----------
    n
        Number of rows (bad rows included).
    seed
        Seed of the ``numpy.random.Generator``; same arguments, same frame.
    start, days
        Requests are received between ``start`` and ``start + days`` (local time).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EXPORT_COLUMNS`. About 1% of rows have an unparseable time, 1% a blank
        district, 1% repeat an earlier 工单编号, 1% close before they were received; about 3%
        have categories the qingdao taxonomy does not know and 2% a district the table does not
        know (高新区).

    Examples
    --------
    >>> df = synthetic_export(n=50, seed=1)
    >>> df.shape
    (50, 15)
    >>> digits = df["联系电话"].str.replace(r"\\D", "", regex=True)
    >>> bool(digits.str.fullmatch(r"1[3-9]\\d{9}").all())
    True
    >>> df.equals(synthetic_export(n=50, seed=1))
    True
    """
    rng = np.random.default_rng(seed)
    spellings = _district_spellings()
    districts = list(spellings)
    weights = np.array([23, 42, 24, 20, 72, 41, 47, 34, 43, 27], dtype=float)[: len(districts)]
    weights /= weights.sum()
    cats = _category_spellings()
    # categories: heating is the winter favourite, the rest roughly even
    cat_w = np.array([6.0 if c[1] in ("供热", "供暖", "暖气") else 1.0 for c in cats])
    cat_w /= cat_w.sum()

    t0 = pd.Timestamp(start)
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=_hour_profile())
    secs = rng.integers(0, 3600, n)
    offsets = pd.to_timedelta(day * 86400 + hour * 3600 + secs, "s")
    received = pd.DatetimeIndex(t0 + offsets)
    handle_hours = rng.gamma(2.0, 30.0, n)
    closed = received + pd.to_timedelta(np.round(handle_hours * 3600), "s")

    rows = []
    for i in range(n):
        d = districts[rng.choice(len(districts), p=weights)]
        spelled = spellings[d][rng.integers(len(spellings[d]))]
        if rng.random() < 0.1:
            spelled = f" {spelled} "
        grid = _GRIDS.get(d, ["街道"])[rng.integers(len(_GRIDS.get(d, ["街道"])))]
        l1, l2, dept = cats[rng.choice(len(cats), p=cat_w)]
        surname = _SURNAMES[rng.integers(len(_SURNAMES))]
        given = "".join(_GIVEN[j] for j in rng.integers(len(_GIVEN), size=rng.integers(1, 3)))
        name = surname + given
        phone = "1" + str(rng.integers(3, 10)) + "".join(str(x) for x in rng.integers(0, 10, 9))
        style = rng.random()
        if style < 0.1:
            phone = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
        elif style < 0.15:
            phone = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        birth = pd.Timestamp("1950-01-01") + pd.Timedelta(days=int(rng.integers(0, 365 * 55)))
        id_no = _id_number(_REGION_CODES.get(d, "370200"), birth, int(rng.integers(1, 1000)))
        road = _ROADS[rng.integers(len(_ROADS))]
        address = (
            f"青岛市{_address_district(spellings[d])}{road}路{rng.integers(1, 400)}号"
            f"{rng.integers(1, 30)}号楼{rng.integers(1, 6)}单元{rng.integers(101, 2800)}室"
        )
        problem = _PROBLEMS[rng.integers(len(_PROBLEMS))]
        text = f"来电人{name}反映：{address}{problem}，请尽快处理。回电{phone}。"
        fmt = "%Y-%m-%d %H:%M:%S" if rng.random() < 0.8 else "%Y/%m/%d %H:%M"
        rows.append({
            "工单编号": f"QD{received[i]:%Y%m%d}{i:06d}",
            "受理时间": received[i].strftime(fmt),
            "来源渠道": _CHANNELS[rng.integers(len(_CHANNELS))],
            "来电人": name,
            "联系电话": phone,
            "身份证号": id_no,
            "区(市)": spelled,
            "街道/网格": grid,
            "地址": address,
            "诉求分类 一级": l1,
            "诉求分类 二级": l2,
            "诉求内容": text,
            "承办单位": dept,
            "办结时间": closed[i].strftime("%Y-%m-%d %H:%M:%S"),
            "满意度": _SATISFACTION[rng.integers(len(_SATISFACTION))],
        })
    df = pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))

    def pick(share: float) -> np.ndarray:
        k = max(1, round(share * n)) if n >= 20 else 0
        return rng.choice(n, size=min(k, n), replace=False)

    if n >= 20:
        for i in pick(0.01):
            df.loc[i, "受理时间"] = ["待补录", "2024-13-45 25:00:00", "#VALUE!"][rng.integers(3)]
        for i in pick(0.01):
            df.loc[i, "区(市)"] = ""
        for i in pick(0.03):
            l1, l2 = _UNKNOWN_CATEGORIES[rng.integers(len(_UNKNOWN_CATEGORIES))]
            df.loc[i, ["诉求分类 一级", "诉求分类 二级"]] = [l1, l2]
        for i in pick(0.02):
            df.loc[i, "区(市)"] = "高新区"
        for i in pick(0.01):
            ok = pd.to_datetime(df.loc[i, "受理时间"], errors="coerce", format="mixed")
            if pd.notna(ok):
                df.loc[i, "办结时间"] = (ok - pd.Timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")
        dup_targets = pick(0.01)
        for i in dup_targets:
            j = int(rng.integers(n))
            if j != i:
                df.loc[i, "工单编号"] = df.loc[j, "工单编号"]
    return df


def _hour_profile() -> np.ndarray:
    """Share of calls per hour of day: quiet at night, peaks mid-morning and early afternoon."""
    p = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 6, 8, 8.5, 7.5, 5, 6.5, 7.5, 7, 6, 5, 4,
                  3.5, 3, 2.5, 2, 1.5])
    return p / p.sum()
