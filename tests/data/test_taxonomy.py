"""Tests of the category taxonomy and district tables kept in conf/."""

from __future__ import annotations

import pandas as pd
import pytest

from predgov.data.taxonomy import Taxonomy, load_districts, load_taxonomy


def test_qingdao_taxonomy_has_the_seed_categories():
    tax = load_taxonomy("qingdao")
    cats = tax.categories
    assert 15 <= len(cats) <= 25
    for code in ("heating", "noise_social", "consumer_dispute", "neighbour_dispute",
                 "property_mgmt", "water_supply", "road_damage", "public_order"):
        assert code in cats.index
    assert set(cats["parent"]) <= set(tax.parents.index)
    assert (cats["department"] != "").all()


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("供热", "heating"),
        ("供暖", "heating"),
        ("Heating", "heating"),
        (" 消费 纠纷 ", "consumer_dispute"),
        ("邻里矛盾", "neighbour_dispute"),
        ("公用事业", "utilities"),
        ("不存在的类", None),
        (None, None),
    ],
)
def test_lookup_by_label_alias_and_code(spelling, code):
    assert load_taxonomy("qingdao").lookup(spelling) == code


def test_coords_for_unknown_codes_are_marked_unmapped():
    coords = load_taxonomy("qingdao").coords(["heating", "其他"])
    assert coords["parent"] == ("category", ["utilities", "unmapped"])
    assert coords["label_en"] == ("category", ["Heating", "其他"])


def test_bad_tables_are_rejected():
    base = dict(level="2", department="d", label_zh="z", label_en="e", aliases="")
    with pytest.raises(ValueError, match="no known parent"):
        Taxonomy(pd.DataFrame([dict(code="x", parent="nope", **base)]))
    with pytest.raises(ValueError, match="repeats codes"):
        Taxonomy(pd.DataFrame([dict(code="x", parent="", **{**base, "level": "1"})] * 2))
    with pytest.raises(ValueError, match="lacks columns"):
        Taxonomy(pd.DataFrame({"code": ["x"]}))
    with pytest.raises(FileNotFoundError, match="no taxonomy table"):
        load_taxonomy("atlantis")


def test_qingdao_districts():
    d = load_districts("qingdao")
    assert d.names == [
        "市南", "市北", "李沧", "崂山", "西海岸新区", "城阳", "即墨", "胶州", "平度", "莱西",
    ]
    assert d.lookup("即墨市") == "即墨" and d.lookup("Laixi") == "莱西" and d.lookup("东城") is None
    # ~10.4 million residents at ~2.6 per household: 3–5 million households in all.
    assert 3_000_000 < d.table["households"].sum() < 5_000_000
