"""The packaged catalog: every category and default product loads, is consistent and matches the reference."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tuyacloud.catalog.behaviours import check_behaviours, initial_status
from tuyacloud.catalog.datapoints import DpSpec, serialise_values, validate_value
from tuyacloud.catalog.loader import Catalog, Product, load_catalog

# The instruction-set source the catalog was converted from (scripts/convert_catalog.py), when a developer has it.
REFERENCE = Path(os.environ.get("TUYACLOUD_INSTRUCTION_SETS", "/nonexistent/instruction-sets.json"))
CATALOG = load_catalog()
CATEGORY_CODES = [c.code for c in CATALOG.categories()]
PRODUCTS = CATALOG.products()
# Categories beyond the instruction-set reference, each with its sources in its data file: qt (IR blasters).
ADDED = {"qt"}


def test_all_forty_categories_are_present_and_sorted() -> None:
    assert len(CATEGORY_CODES) == 40 + len(ADDED)
    assert sorted(CATEGORY_CODES) == CATEGORY_CODES
    for code in ("dj", "cz", "kg", "cl", "kt", "wsdcg", "sp", "wkf"):
        assert CATALOG.category(code) is not None
    assert CATALOG.category("nope") is None


@pytest.mark.skipif(not REFERENCE.exists(), reason="TUYACLOUD_INSTRUCTION_SETS (the converter's source) not given")
def test_categories_cover_the_reference() -> None:
    """Every code of instruction-sets.json is kept with its type and dp_id; where a range differs from the
    reference, or a category gained codes, the change carries ``evidence`` (the verification pass against
    Tuya's standard-set pages, docs/catalog-provenance.md)."""
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))["categories"]
    assert set(reference) == set(CATEGORY_CODES) - ADDED
    for code, ref in reference.items():
        category = CATALOG.category(code)
        assert category is not None
        assert category.confidence in (ref["confidence"], "confirmed")
        for ours, theirs in ((category.functions, ref["functions"]), (category.status, ref["status"])):
            by_code = {s.code: s for s in ours}
            reference_codes = [d["code"] for d in theirs]
            assert [s.code for s in ours if s.code in set(reference_codes)] == reference_codes, code
            for dp in theirs:
                spec = by_code[dp["code"]]
                assert spec.type == dp["type"], (code, dp["code"])
                if spec.values != dp["values"]:
                    why = f"{code}.{dp['code']} differs from the reference without evidence"
                    assert spec.evidence or spec.note, why
                if "dp_id" in dp:
                    assert spec.dp_id == dp["dp_id"]
            for spec in ours:
                if spec.code not in set(reference_codes):
                    assert spec.evidence, f"{code}.{spec.code} was added without evidence"


@pytest.mark.parametrize("code", CATEGORY_CODES)
def test_category_dp_ids_and_ranges_are_consistent(code: str) -> None:
    category = CATALOG.category(code)
    assert category is not None
    numbers: dict[str, int] = {}
    for spec in category.functions + category.status:
        assert numbers.setdefault(spec.code, spec.dp_id) == spec.dp_id, f"{spec.code} has two dp_ids"
        assert spec.dp_id > 0
        if spec.type == "Integer":
            v = spec.values
            assert v["min"] <= v["max"] and v["step"] > 0 and v["scale"] >= 0
        if spec.type == "Enum":
            assert spec.values["range"] and len(set(spec.values["range"])) == len(spec.values["range"])
        json.loads(spec.values_json())
    assert len(set(numbers.values())) == len(numbers), "dp_ids are not unique"
    for spec in category.status:
        assert category.status_spec(spec.code) is spec
    for spec in category.functions:
        assert category.function(spec.code) is spec


def test_data_files_record_dp_id_provenance() -> None:
    """Every code's dp_id is labelled reference / well_known / assigned, and assigned ones are 101+."""
    folder = Path(__file__).resolve().parents[2] / "src/tuyacloud/catalog/categories"
    for path in folder.glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        provenance = doc["dp_id_provenance"]
        codes = {d["code"]: d["dp_id"] for d in doc["functions"] + doc["status"]}
        labelled = [c for group in provenance.values() for c in group]
        assert sorted(labelled) == sorted(codes), path.name
        assert all(codes[c] >= 101 for c in provenance.get("assigned", [])), path.name


def test_values_json_is_tuya_shaped() -> None:
    dj = CATALOG.category("dj")
    assert dj is not None
    bright, switch = dj.function("bright_value_v2"), dj.function("switch_led")
    assert bright is not None and switch is not None
    assert bright.values_json() == '{"unit":"","min":10,"max":1000,"scale":0,"step":1}'
    assert switch.values_json() == "{}"
    mode = dj.function("work_mode")
    assert mode is not None and mode.values_json().startswith('{"range":["white","colour"')
    colour = dj.function("colour_data_v2")
    assert colour is not None
    # each component as Tuya writes it (Home Assistant's light needs scale and step too), in Tuya's key order
    assert colour.values_json() == ('{"h":{"min":0,"scale":0,"unit":"","max":360,"step":1},'
                                    '"s":{"min":0,"scale":0,"unit":"","max":1000,"step":1},'
                                    '"v":{"min":0,"scale":0,"unit":"","max":1000,"step":1}}')
    # Key order is canonical, not the data file's.
    assert serialise_values("Integer", {"step": 5, "scale": 1, "max": 9, "min": 0, "unit": "s"}) == (
        '{"unit":"s","min":0,"max":9,"scale":1,"step":5}'
    )
    wsdcg = CATALOG.category("wsdcg")
    assert wsdcg is not None
    temp = wsdcg.status_spec("va_temperature")
    assert temp is not None and '"unit":"℃"' in temp.values_json()


def test_every_category_has_a_default_product() -> None:
    assert len(PRODUCTS) == 40 + len(ADDED)
    for code in CATEGORY_CODES:
        product = CATALOG.default_product(code)
        assert product is not None and product.category == code
        assert CATALOG.product(product.product_id) is product
    assert CATALOG.default_product("nope") is None and CATALOG.product("nope") is None


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.category)
def test_default_product_is_consistent(product: Product) -> None:
    category = CATALOG.category(product.category)
    assert category is not None
    assert re.fullmatch(r"[0-9a-z]{16}", product.product_id)
    assert product.icon.startswith("smart/icon/") and product.icon.endswith(".png")
    assert product.name and product.model
    for spec in product.functions:
        assert category.function(spec.code) is spec and not spec.legacy
    for spec in product.status:
        assert category.status_spec(spec.code) is spec and not spec.legacy
    codes = [s.code for s in product.all_dps()]
    assert len(codes) == len(set(codes))
    numbers = [s.dp_id for s in product.all_dps()]
    assert len(numbers) == len(set(numbers))
    assert check_behaviours(product) == []
    status = initial_status(product)
    assert set(status) == set(product.state_codes())
    for code, value in status.items():
        spec = product.spec(code)
        assert spec is not None
        assert validate_value(spec, value) == value, code
    for code, value in product.initial.items():
        assert status[code] == value


def test_light_uses_the_v2_family_only_and_has_raw_dps() -> None:
    light = CATALOG.default_product("dj")
    assert light is not None and light.name == "Virtual Smart Bulb"
    codes = {s.code for s in light.functions}
    assert {"switch_led", "bright_value_v2", "temp_value_v2", "colour_data_v2"} <= codes
    assert not codes & {"bright_value", "temp_value", "colour_data", "scene_data"}
    assert light.raw_dps
    socket = CATALOG.default_product("cz")
    assert socket is not None and socket.raw_dps
    assert {"add_ele", "cur_power", "cur_current", "cur_voltage"} <= {s.code for s in socket.status}


def test_access_modes_and_all_dps() -> None:
    socket = CATALOG.default_product("cz")
    assert socket is not None
    assert socket.access_mode("switch_1") == "rw"
    assert socket.access_mode("cur_power") == "ro"
    assert socket.access_mode("voltage_coe") == "ro"
    assert socket.access_mode("overcharge_switch") == "rw"
    assert socket.access_mode("nope") is None
    light = CATALOG.default_product("dj")
    assert light is not None
    assert light.access_mode("control_data") == "wr"  # commanded, never reported
    dps = light.all_dps()
    assert dps[-len(light.raw_dps):] == light.raw_dps
    assert [s.code for s in dps[: len(light.status)]] == [s.code for s in light.status]


def test_inconsistent_data_is_refused_at_load() -> None:
    good = {"code": "x", "name": "X", "type": "Integer", "dp_id": 1,
            "values": {"unit": "", "min": 0, "max": 10, "scale": 0, "step": 1}}
    assert DpSpec.from_dict(good).values["max"] == 10
    for bad_values in ({"min": 5, "max": 1, "scale": 0, "step": 1},
                       {"min": 0, "max": 1, "scale": 0, "step": 0},
                       {"min": 0, "max": 1, "scale": -1, "step": 1}):
        with pytest.raises(ValueError):
            DpSpec.from_dict(good | {"values": bad_values})
    with pytest.raises(ValueError):
        DpSpec.from_dict({"code": "e", "type": "Enum", "dp_id": 1, "values": {"range": []}})
    with pytest.raises(ValueError):
        DpSpec.from_dict({"code": "e", "type": "Float", "dp_id": 1, "values": {}})
    category = {"code": "zz", "name": "Z", "functions": [good], "status": [good | {"dp_id": 2}]}
    with pytest.raises(ValueError, match="two dp_ids"):
        Catalog.from_data([category], [])
    ok_category = {"code": "zz", "name": "Z", "functions": [good], "status": [good]}
    product = {"product_id": "p" * 16, "name": "P", "category": "zz", "functions": ["x"], "status": ["x"],
               "initial": {"x": 11}}
    with pytest.raises(Exception, match="x must be an integer"):
        Catalog.from_data([ok_category], [product])
    with pytest.raises(ValueError, match="not a function"):
        Catalog.from_data([ok_category], [product | {"functions": ["y"], "initial": {}}])
    with pytest.raises(ValueError, match="unknown category"):
        Catalog.from_data([ok_category], [product | {"category": "qq"}])
    clash = {"code": "x", "name": "X", "type": "Boolean", "values": {}, "dp_id": 9}
    with pytest.raises(ValueError, match="raw DP"):
        Catalog.from_data([ok_category], [product | {"initial": {}, "raw_dps": [clash]}])


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is CATALOG
