"""One-off conversion of the shared reference into tuyacloud's catalog data files (kept for provenance).

Reads ``instruction-sets.json`` (the standard instruction sets of 40 Tuya categories, collected from Tuya's
published standard-set pages and from real device dumps) and writes

* ``src/tuyacloud/catalog/categories/<code>.json`` - one category per file, in our own format, every DP with a
  ``dp_id``;
* ``src/tuyacloud/catalog/products/<code>.json`` - the default virtual product of each category (authored
  here: which subset of the category it exposes, its raw DPs, initial status and simulated behaviours).

After this script has run once, the JSON files are the source of truth: edit them, not this script, unless you
mean to regenerate everything. Re-running is deterministic (same input, same output).

Where a DP number comes from, recorded per category under ``dp_id_provenance``:

* ``reference`` - the dp_id given in instruction-sets.json (from a Tuya document);
* ``well_known`` - Tuya's usual standard DP number for that code in that kind of product (e.g. the v2 light
  layout 20..34, the metering socket 17..20, curtain control 1/2/3). These are common, not guaranteed: real
  products of a category may number differently;
* ``assigned`` - no standard number known: a stable number from 101 up (the range Tuya leaves to vendors),
  unique within the category.

Usage: ``python scripts/convert_catalog.py [path/to/instruction-sets.json]``
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path(os.environ.get("TUYACLOUD_INSTRUCTION_SETS", "instruction-sets.json"))
CATEGORY_DIR = ROOT / "src/tuyacloud/catalog/categories"
PRODUCT_DIR = ROOT / "src/tuyacloud/catalog/products"

_LIGHT_V2 = {
    "switch_led": 20,
    "work_mode": 21,
    "bright_value": 22,
    "temp_value": 23,
    "colour_data": 24,
    "scene_data": 25,
    "countdown": 26,
    "music_data": 27,
    "control_data": 28,
    "rhythm_mode": 30,
    "sleep_mode": 31,
    "wakeup_mode": 32,
    "power_memory": 33,
    "do_not_disturb": 34,
}
_SOCKET_CHANNELS = {f"switch_{i}": i for i in range(1, 7)} | {f"countdown_{i}": 8 + i for i in range(1, 7)}
_GANG_SWITCH = {f"switch_{i}": i for i in range(1, 7)} | {f"countdown_{i}": 6 + i for i in range(1, 7)}
_METERING = {"add_ele": 17, "cur_current": 18, "cur_power": 19, "cur_voltage": 20, "fault": 26}

WELL_KNOWN: dict[str, dict[str, int]] = {
    "dj": {
        "switch_led": 20,
        "work_mode": 21,
        "bright_value_v2": 22,
        "temp_value_v2": 23,
        "colour_data_v2": 24,
        "scene_data_v2": 25,
        "countdown_1": 26,
        "music_data": 27,
        "control_data": 28,
        "do_not_disturb": 34,
        # v1 bulbs number these 1..10; switch_led/work_mode keep the v2 numbers (one code, one number).
        "bright_value": 3,
        "temp_value": 4,
        "colour_data": 5,
        "scene_data": 6,
        "flash_scene_1": 7,
        "flash_scene_2": 8,
        "flash_scene_3": 9,
        "flash_scene_4": 10,
    },
    "dd": _LIGHT_V2,
    "xdd": _LIGHT_V2,
    "fwd": _LIGHT_V2,
    "tgkg": {
        "switch_led_1": 1,
        "bright_value_1": 2,
        "brightness_min_1": 3,
        "brightness_max_1": 5,
        "countdown_1": 6,
        "switch_led_2": 7,
        "bright_value_2": 8,
        "brightness_min_2": 9,
        "brightness_max_2": 11,
        "countdown_2": 12,
        "relay_status": 14,
        "switch_led_3": 15,
        "bright_value_3": 16,
        "brightness_min_3": 17,
        "brightness_max_3": 19,
        "countdown_3": 20,
    },
    "kg": _GANG_SWITCH,
    "cz": _SOCKET_CHANNELS | _METERING | {"random_time": 42},
    "pc": _SOCKET_CHANNELS,
    "tdq": {k: v for k, v in _GANG_SWITCH.items() if k[-1] in "1234"}
    | {"relay_status": 14, "cycle_time": 17, "random_time": 18, "switch_inching": 19},
    "dlq": {"switch": 1, "countdown_1": 9}
    | _METERING
    | {"relay_status": 38, "light_mode": 40, "child_lock": 41, "cycle_time": 42},
    "clkg": {"control": 1, "percent_control": 2},
    "ckmkzq": {"switch_1": 1, "countdown_1": 2, "doorcontact_state": 3},
    "cl": {
        "control": 1,
        "percent_control": 2,
        "percent_state": 3,
        "mode": 4,
        "control_back_mode": 5,
        "work_state": 7,
        "time_total": 10,
        "situation_set": 11,
    },
    "mc": {"control": 1, "percent_control": 2, "percent_state": 3},
    "kt": {"switch": 1, "temp_set": 2, "temp_current": 3, "mode": 4, "fan_speed_enum": 5},
    "ktkzq": {"switch": 1, "temp_set": 2, "temp_current": 3, "mode": 4, "fan_speed_enum": 5},
    "wk": {"switch": 1, "temp_set": 2, "temp_current": 3, "mode": 4},
    "wkf": {},
    "qn": {"switch": 1, "temp_set": 2, "temp_current": 3, "mode": 4},
    "kj": {
        "switch": 1,
        "pm25": 2,
        "mode": 3,
        "fan_speed_enum": 4,
        "filter": 5,
        "anion": 6,
        "lock": 7,
        "light": 8,
        "uv": 9,
        "wet": 10,
        "filter_reset": 11,
        "temp": 12,
        "humidity": 13,
        "tvoc": 14,
        "eco2": 15,
        "filter_days": 16,
        "total_time": 17,
        "countdown_set": 18,
    },
    "jsq": {"switch": 1},
    "cs": {"switch": 1},
    "fs": {"switch": 1, "mode": 2, "fan_speed_percent": 3},
    "sd": {
        "power": 1,
        "power_go": 2,
        "mode": 3,
        "direction_control": 4,
        "status": 5,
        "electricity_left": 6,
        "edge_brush": 7,
        "roll_brush": 8,
        "filter": 9,
        "reset_edge_brush": 10,
        "reset_roll_brush": 11,
        "reset_filter": 12,
        "seek": 13,
        "suction": 14,
        "clean_area": 16,
        "clean_time": 17,
        "fault": 18,
    },
    "ms": {
        "unlock_fingerprint": 1,
        "unlock_card": 5,
        "unlock_key": 7,
        "alarm_lock": 8,
        "battery_state": 11,
        "residual_electricity": 12,
        "reverse_lock": 13,
        "child_lock": 14,
        "hijack": 16,
        "doorbell": 19,
    },
    "jtmspro": {"unlock_method_create": 1, "unlock_method_delete": 2, "unlock_method_modify": 3},
    "mcs": {"doorcontact_state": 1, "battery_percentage": 2, "battery_state": 3, "temper_alarm": 4},
    "pir": {"pir": 1, "battery_percentage": 4},
    "wsdcg": {
        "va_temperature": 1,
        "va_humidity": 2,
        "battery_percentage": 4,
        "temp_unit_convert": 9,
        "maxtemp_set": 10,
        "minitemp_set": 11,
        "maxhum_set": 12,
        "minihum_set": 13,
        "temp_alarm": 14,
        "hum_alarm": 15,
        "temp_periodic_report": 17,
        "hum_periodic_report": 18,
        "hum_sensitivity": 20,
    },
    "ywbj": {
        "smoke_sensor_status": 1,
        "smoke_sensor_value": 2,
        "self_checking": 8,
        "checking_result": 9,
        "battery_state": 14,
        "battery_percentage": 15,
        "muffling": 16,
    },
    "rqbj": {"gas_sensor_status": 1, "gas_sensor_value": 2},
    "sj": {"watersensor_state": 1, "battery_percentage": 4},
    "cobj": {"co_status": 1, "co_value": 2},
    "co2bj": {"co2_state": 1, "co2_value": 2},
    "sgbj": {"alarm_volume": 5, "alarm_time": 7, "alarm_switch": 13},
    "ldcg": {},
    "wxkg": {"switch_mode1": 1, "switch_mode2": 2, "battery_percentage": 10},
    "sp": {
        "basic_indicator": 101,
        "basic_flip": 103,
        "basic_osd": 104,
        "basic_private": 105,
        "motion_sensitivity": 106,
        "basic_wdr": 107,
        "basic_nightvision": 108,
        "sd_umount": 112,
        "movement_detect_pic": 115,
        "ptz_stop": 116,
        "ptz_control": 119,
        "motion_switch": 134,
        "decibel_switch": 139,
        "decibel_sensitivity": 140,
        "siren_switch": 159,
        "motion_tracking": 161,
        "device_restart": 162,
    },
    "wg2": {},
    "bh": {"start": 1},
}

# Corrections found while checking 'partial' categories against their sources.
FIXES: dict[str, dict[str, dict[str, Any]]] = {
    # HA fixture tdq_cq1p0nt0a4rixnex declares maxlen 255 for these strings; the reference dropped it.
    "tdq": {
        code: {"values": {"maxlen": 255}, "evidence": "HA fixture tdq_cq1p0nt0a4rixnex (maxlen 255)"}
        for code in ("random_time", "cycle_time", "switch_inching")
    },
}

DP_KEYS = ("code", "name", "desc", "type", "values", "dp_id", "legacy", "note", "evidence")


def short_name(name: str) -> str:
    """'Light (bulb / light source)' -> 'Light': the category list shows short names, as Tuya's does."""
    return re.sub(r"\s*\(.*?\)\s*", " ", name).strip()


def convert_category(code: str, ref: dict[str, Any]) -> dict[str, Any]:
    """Turn a reference category into our format: every code gets one dp_id, shared by function and status."""
    by_code: dict[str, dict[str, Any]] = {}
    for dp in ref["status"] + ref["functions"]:
        by_code.setdefault(dp["code"], dp)
    ids: dict[str, int] = {}
    provenance: dict[str, list[str]] = {"reference": [], "well_known": [], "assigned": []}
    for dp_code, dp in by_code.items():
        if "dp_id" in dp:
            ids[dp_code] = dp["dp_id"]
            provenance["reference"].append(dp_code)
    for dp_code, number in WELL_KNOWN.get(code, {}).items():
        if dp_code in by_code and dp_code not in ids:
            if number in ids.values():
                raise SystemExit(f"{code}: well-known dp {number} of {dp_code} already used")
            ids[dp_code] = number
            provenance["well_known"].append(dp_code)
    next_id = 101
    for dp_code in by_code:
        if dp_code in ids:
            continue
        while next_id in ids.values():
            next_id += 1
        ids[dp_code] = next_id
        provenance["assigned"].append(dp_code)
    fixes = FIXES.get(code, {})

    def convert(dp: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": dp["code"],
            "name": dp["name"],
            "desc": dp.get("desc", ""),
            "type": dp["type"],
            "values": dict(dp["values"]),
            "dp_id": ids[dp["code"]],
        }
        for key in ("legacy", "note", "evidence"):
            if key in dp:
                out[key] = dp[key]
        fix = fixes.get(dp["code"])
        if fix:
            out["values"].update(fix["values"])
            out["evidence"] = fix["evidence"]
        return {k: out[k] for k in DP_KEYS if k in out}

    doc: dict[str, Any] = {
        "code": code,
        "name": short_name(ref["name"]),
        "confidence": ref["confidence"],
        "sources": list(ref["sources"]),
    }
    if ref.get("notes"):
        doc["notes"] = ref["notes"]
    doc["dp_id_provenance"] = {k: v for k, v in provenance.items() if v}
    doc["functions"] = [convert(dp) for dp in ref["functions"]]
    doc["status"] = [convert(dp) for dp in ref["status"]]
    return doc


def product_id(category: str) -> str:
    """A stable 16-character lowercase alphanumeric id, like Tuya's, derived from the category code."""
    digest = int.from_bytes(
        hashlib.sha256(f"tuyacloud/virtual-product/{category}/1".encode()).digest(), "big"
    )
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(16):
        digest, rem = divmod(digest, 36)
        chars.append(alphabet[rem])
    return "".join(chars)


# --- authored default products --------------------------------------------------------------------------
# Behaviour helpers: they only build the data documented in tuyacloud/catalog/behaviours.py.
DAY = 86400


def on_cmd(code: str, value: Any = None, **changes: Any) -> dict[str, Any]:
    when: dict[str, Any] = {"code": code} if value is None else {"code": code, "value": value}
    return {"kind": "set_on_command", "when": when, "set": changes}


def countdown(code: str, unit_s: int = 1, **on_zero: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "countdown", "code": code, "on_zero": on_zero}
    if unit_s != 1:
        doc["unit_s"] = unit_s
    return doc


def toggles(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    """Tuya countdowns flip their channel when they reach zero."""
    return [countdown(cd, **{sw: "toggle"}) for cd, sw in pairs]


def sensor(code: str, mean: int, amplitude: int, noise: int, every: int, period: int = DAY) -> dict[str, Any]:
    return {
        "kind": "sensor",
        "code": code,
        "mean": mean,
        "amplitude": amplitude,
        "period_s": period,
        "noise": noise,
        "report_every_s": every,
    }


def follow(code: str, cond: dict[str, Any], on: int, jitter: int, every: int, off: int = 0) -> dict[str, Any]:
    return {
        "kind": "follow",
        "code": code,
        "while": cond,
        "on": on,
        "off": off,
        "jitter": jitter,
        "report_every_s": every,
    }


def accumulate(code: str, rate: float, cond: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "accumulate", "code": code, "rate_per_s": rate}
    if cond:
        doc["while"] = cond
    return doc | extra


def battery(code: str = "battery_percentage", days_per_percent: float = 1, floor: int = 10) -> dict[str, Any]:
    """Batteries drain slowly: one percent per `days_per_percent` days, never below `floor`."""
    return accumulate(code, round(-1 / (days_per_percent * DAY), 9), min=floor)


def move(
    code: str,
    target: str | int,
    rate: float,
    cond: dict[str, Any] | None = None,
    direction: dict[str, str] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "move_toward", "code": code, "target": target, "rate_per_s": rate}
    if cond:
        doc["while"] = cond
    if direction:
        doc["direction"] = direction
    return doc


def threshold(code: str, source: str, normal: Any, **limits: Any) -> dict[str, Any]:
    return {"kind": "threshold", "code": code, "source": source, **limits, "normal": normal}


def battery_state(source: str, low: str = "low", mid: str = "middle", high: str = "high") -> dict[str, Any]:
    return threshold("battery_state", source, mid, lower=20, below=low, upper=60, above=high)


def hour_countdown(
    options: list[str], target: str, unit_s: int, cap: int | None = None
) -> list[dict[str, Any]]:
    """countdown_set enums ('1h', '1_5h', 'cancel') start a countdown_left in the target's unit.

    ``cap`` is the target's declared maximum where the reference's countdown_left range is shorter than the
    longest countdown_set option (ktkzq: up to 12 h, but countdown_left 0..360 min): the left time saturates.
    """
    out = []
    for option in options:
        hours = 0.0 if option == "cancel" else float(option[:-1].replace("_", "."))
        left = int(hours * 3600 / unit_s)
        out.append(on_cmd("countdown_set", option, **{target: min(left, cap) if cap is not None else left}))
    return out


LIGHT_MODES_V2 = [
    on_cmd("bright_value_v2", work_mode="white"),
    on_cmd("temp_value_v2", work_mode="white"),
    on_cmd("colour_data_v2", work_mode="colour"),
    on_cmd("scene_data_v2", work_mode="scene"),
    on_cmd("music_data", work_mode="music"),
]
LIGHT_MODES = [
    on_cmd("bright_value", work_mode="white"),
    on_cmd("temp_value", work_mode="white"),
    on_cmd("colour_data", work_mode="colour"),
    on_cmd("scene_data", work_mode="scene"),
    on_cmd("music_data", work_mode="music"),
]
CURTAIN = [
    on_cmd("control", "open", percent_control=100),
    on_cmd("control", "close", percent_control=0),
    on_cmd("control", "stop", percent_control={"from": "percent_state"}),
]
OPENING = {"code": "work_state", "up": "opening", "down": "closing"}
SELF_CHECK = [on_cmd("self_checking", True, checking_result="check_success", self_checking=False)]
HSV_FULL = '{"h":0,"s":1000,"v":1000}'


def socket_metering(switch: str) -> list[dict[str, Any]]:
    """A 1200 W load: power and current follow the switch, energy counts up while on (1.2 kWh per hour)."""
    on = {switch: True}
    return [
        follow("cur_power", on, 12000, 150, 30),
        follow("cur_current", on, 5200, 60, 30),
        accumulate("add_ele", round(1 / 3, 9), on, wrap=True),
        sensor("cur_voltage", 2300, 30, 15, 60),
    ]


PRODUCTS: dict[str, dict[str, Any]] = {
    "dj": {
        "name": "Virtual Smart Bulb",
        "model": "TC-BULB-RGBCW",
        "functions": [
            "switch_led",
            "work_mode",
            "bright_value_v2",
            "temp_value_v2",
            "colour_data_v2",
            "scene_data_v2",
            "countdown_1",
            "music_data",
            "control_data",
            "do_not_disturb",
        ],
        "not_reported": ["music_data", "control_data"],
        "raw_dps": [
            {
                "code": "power_memory",
                "name": "Power-on state",
                "desc": "Vendor DP: state restored after power loss",
                "type": "Raw",
                "values": {"maxlen": 64},
                "dp_id": 33,
                "access": "rw",
            },
            {
                "code": "remote_switch",
                "name": "Remote control",
                "desc": "Vendor DP: accept the IR/RF remote",
                "type": "Boolean",
                "values": {},
                "dp_id": 41,
                "access": "rw",
            },
        ],
        "initial": {
            "switch_led": True,
            "work_mode": "white",
            "bright_value_v2": 1000,
            "temp_value_v2": 500,
            "colour_data_v2": HSV_FULL,
            "countdown_1": 0,
            "do_not_disturb": False,
            "scene_data_v2": '{"scene_num":1,"scene_units":[{"bright":200,"h":0,"s":0,"temperature":0,'
            '"unit_change_mode":"static","unit_gradient_duration":13,'
            '"unit_switch_duration":14,"v":0}]}',
            "power_memory": "AAEAAAPoA+gD6APo",
            "remote_switch": True,
        },
        "behaviours": toggles(("countdown_1", "switch_led")) + LIGHT_MODES_V2,
    },
    "dd": {
        "name": "Virtual LED Strip",
        "model": "TC-STRIP-RGBCW",
        "functions": [
            "switch_led",
            "work_mode",
            "bright_value",
            "temp_value",
            "colour_data",
            "scene_data",
            "countdown",
            "music_data",
            "control_data",
        ],
        "not_reported": ["music_data", "control_data"],
        "initial": {
            "switch_led": True,
            "work_mode": "colour",
            "bright_value": 800,
            "temp_value": 500,
            "colour_data": HSV_FULL,
            "countdown": 0,
        },
        "behaviours": toggles(("countdown", "switch_led")) + LIGHT_MODES,
    },
    "xdd": {
        "name": "Virtual Ceiling Light",
        "model": "TC-CEIL-CCT",
        "functions": [
            "switch_led",
            "work_mode",
            "bright_value",
            "temp_value",
            "scene_data",
            "countdown",
            "switch_night_light",
            "do_not_disturb",
        ],
        "initial": {"switch_led": False, "work_mode": "white", "bright_value": 700, "temp_value": 300},
        "behaviours": toggles(("countdown", "switch_led")) + LIGHT_MODES,
    },
    "fwd": {
        "name": "Virtual Ambient Light",
        "model": "TC-AMBIENT-RGB",
        "functions": ["switch_led", "work_mode", "bright_value", "colour_data", "scene_data", "countdown"],
        "initial": {
            "switch_led": True,
            "work_mode": "colour",
            "bright_value": 500,
            "colour_data": '{"h":240,"s":1000,"v":500}',
        },
        "behaviours": toggles(("countdown", "switch_led")) + LIGHT_MODES,
    },
    "tgkg": {
        "name": "Virtual Dimmer Switch",
        "model": "TC-DIMMER-1G",
        "functions": [
            "switch_led_1",
            "bright_value_1",
            "brightness_min_1",
            "brightness_max_1",
            "countdown_1",
            "relay_status",
            "light_mode",
        ],
        "initial": {
            "switch_led_1": False,
            "bright_value_1": 500,
            "brightness_min_1": 10,
            "brightness_max_1": 1000,
            "relay_status": "memory",
            "light_mode": "relay",
        },
        "behaviours": toggles(("countdown_1", "switch_led_1")),
    },
    "kg": {
        "name": "Virtual Wall Switch (2 gang)",
        "model": "TC-SWITCH-2G",
        "functions": ["switch_1", "switch_2", "countdown_1", "countdown_2"],
        "behaviours": toggles(("countdown_1", "switch_1"), ("countdown_2", "switch_2")),
    },
    "cz": {
        "name": "Virtual Smart Plug",
        "model": "TC-PLUG-EU16",
        "functions": ["switch_1", "countdown_1", "relay_status"],
        "extra_status": ["add_ele", "cur_current", "cur_power", "cur_voltage", "fault"],
        "raw_dps": [
            {
                "code": "overcharge_switch",
                "name": "Overcharge protection",
                "desc": "Vendor DP: cut power when the load is fully charged",
                "type": "Boolean",
                "values": {},
                "dp_id": 39,
                "access": "rw",
            },
            {
                "code": "light_mode",
                "name": "Indicator light",
                "desc": "Vendor DP: indicator LED behaviour",
                "type": "Enum",
                "values": {"range": ["relay", "pos", "none"]},
                "dp_id": 40,
                "access": "rw",
            },
            {
                "code": "voltage_coe",
                "name": "Voltage calibration",
                "desc": "Vendor DP: factory calibration",
                "type": "Integer",
                "values": {"unit": "", "min": 0, "max": 1000000, "scale": 0, "step": 1},
                "dp_id": 22,
                "access": "ro",
            },
        ],
        "initial": {
            "switch_1": False,
            "countdown_1": 0,
            "relay_status": "memory",
            "add_ele": 0,
            "cur_voltage": 2300,
            "fault": 0,
            "overcharge_switch": False,
            "light_mode": "relay",
            "voltage_coe": 640,
        },
        "behaviours": toggles(("countdown_1", "switch_1")) + socket_metering("switch_1"),
    },
    "pc": {
        "name": "Virtual Power Strip",
        "model": "TC-STRIP-3AC1USB",
        "functions": [
            "switch_1",
            "switch_2",
            "switch_3",
            "switch_usb1",
            "countdown_1",
            "countdown_2",
            "countdown_3",
            "countdown_usb1",
        ],
        "behaviours": toggles(
            ("countdown_1", "switch_1"),
            ("countdown_2", "switch_2"),
            ("countdown_3", "switch_3"),
            ("countdown_usb1", "switch_usb1"),
        ),
    },
    "tdq": {
        "name": "Virtual 4-Channel Relay",
        "model": "TC-RELAY-4CH",
        "functions": [
            "switch_1",
            "switch_2",
            "switch_3",
            "switch_4",
            "countdown_1",
            "countdown_2",
            "countdown_3",
            "countdown_4",
            "relay_status",
            "random_time",
            "cycle_time",
            "switch_inching",
            "switch_type",
            "switch_interlock",
        ],
        "extra_status": ["test_bit"],
        "initial": {"relay_status": "2", "switch_type": "button"},
        "behaviours": toggles(*[(f"countdown_{i}", f"switch_{i}") for i in range(1, 5)]),
    },
    "dlq": {
        "name": "Virtual Metering Breaker",
        "model": "TC-BREAKER-63A",
        "functions": ["switch", "countdown_1", "relay_status", "light_mode", "child_lock"],
        "extra_status": ["add_ele", "cur_current", "cur_power", "cur_voltage", "fault", "temp_value"],
        "initial": {
            "switch": True,
            "relay_status": "last",
            "light_mode": "relay",
            "cur_voltage": 2300,
            "temp_value": 30,
        },
        "behaviours": toggles(("countdown_1", "switch"))
        + socket_metering("switch")
        + [sensor("temp_value", 30, 5, 1, 300)],
    },
    "clkg": {
        "name": "Virtual Curtain Switch",
        "model": "TC-CURTAIN-SW",
        "functions": [
            "control",
            "percent_control",
            "cur_calibration",
            "switch_backlight",
            "control_back_mode",
        ],
        "initial": {
            "control": "stop",
            "percent_control": 0,
            "cur_calibration": "end",
            "switch_backlight": True,
            "control_back_mode": "forward",
        },
        "behaviours": [
            on_cmd("control", "open", percent_control=100),
            on_cmd("control", "close", percent_control=0),
        ],
    },
    "ckmkzq": {
        "name": "Virtual Garage Door Opener",
        "model": "TC-GARAGE-1",
        "functions": ["switch_1", "countdown_1"],
        "extra_status": ["doorcontact_state"],
        "behaviours": [
            on_cmd("switch_1", True, doorcontact_state=True),
            on_cmd("switch_1", False, doorcontact_state=False),
        ]
        + toggles(("countdown_1", "switch_1")),
    },
    "cl": {
        "name": "Virtual Curtain Motor",
        "model": "TC-CURTAIN-M1",
        "functions": ["control", "percent_control", "control_back_mode"],
        "extra_status": ["percent_state", "work_state", "time_total"],
        "initial": {
            "control": "stop",
            "percent_control": 0,
            "percent_state": 0,
            "control_back_mode": "forward",
            "work_state": "closing",
            "time_total": 10000,
        },
        "behaviours": CURTAIN + [move("percent_state", "percent_control", 10, direction=OPENING)],
    },
    "mc": {
        "name": "Virtual Window Opener",
        "model": "TC-WINDOW-1",
        "functions": ["control", "percent_control", "auto_power", "close_reminder"],
        "extra_status": ["percent_state", "residual_electricity", "status", "time_total"],
        "initial": {
            "control": "stop",
            "percent_control": 0,
            "percent_state": 0,
            "time_total": 20000,
            "residual_electricity": 100,
            "status": "closed",
        },
        "behaviours": CURTAIN
        + [
            move("percent_state", "percent_control", 5),
            threshold("status", "percent_state", "closed", upper=0, above="opened"),
            battery("residual_electricity", days_per_percent=2),
        ],
    },
    "kt": {
        "name": "Virtual Air Conditioner",
        "model": "TC-AC-12K",
        "functions": [
            "switch",
            "temp_set",
            "mode",
            "fan_speed_enum",
            "switch_horizontal",
            "switch_vertical",
            "light",
            "temp_unit_convert",
        ],
        "extra_status": ["temp_current"],
        "initial": {
            "switch": False,
            "temp_set": 24,
            "temp_current": 28,
            "mode": "cold",
            "fan_speed_enum": "auto",
            "light": True,
            "temp_unit_convert": "c",
        },
        "behaviours": [
            move(
                "temp_current",
                "temp_set",
                0.02,
                {"switch": True, "mode": ["auto", "cold", "hot", "wet", "eco"]},
            )
        ],
    },
    "ktkzq": {
        "name": "Virtual AC Controller",
        "model": "TC-ACCTRL-1",
        "functions": ["switch", "temp_set", "mode", "fan_speed_enum", "child_lock", "countdown_set"],
        "extra_status": ["temp_current", "countdown_left"],
        "initial": {
            "switch": False,
            "temp_set": 24,
            "temp_current": 27,
            "mode": "cold",
            "countdown_set": "cancel",
        },
        "behaviours": hour_countdown(
            ["cancel"] + [f"{h // 2}h" if h % 2 == 0 else f"{h // 2}_5h" for h in range(1, 25)],
            "countdown_left",
            60,
            cap=360,
        )
        + [
            countdown("countdown_left", 60, switch=False, countdown_set="cancel"),
            move("temp_current", "temp_set", 0.02, {"switch": True, "mode": ["hot", "cold"]}),
        ],
    },
    "wk": {
        "name": "Virtual Thermostat",
        "model": "TC-THERMO-1",
        "functions": ["switch", "temp_set", "mode", "eco", "child_lock", "window_check", "temp_correction"],
        "extra_status": ["temp_current", "fault"],
        "initial": {"switch": False, "temp_set": 21, "temp_current": 185, "mode": "manual"},
        "behaviours": [move("temp_current", "temp_set", 0.2, {"switch": True})],
    },
    "wkf": {
        "name": "Virtual Radiator Valve",
        "model": "TC-TRV-1",
        "functions": ["mode", "temp_set", "child_lock", "window_check"],
        "extra_status": ["temp_current", "window_state", "battery_percentage"],
        "initial": {
            "mode": "manual",
            "temp_set": 200,
            "temp_current": 180,
            "window_state": "close",
            "battery_percentage": 100,
        },
        "behaviours": [move("temp_current", "temp_set", 0.2, {"mode": ["auto", "manual"]}), battery()],
    },
    "qn": {
        "name": "Virtual Heater",
        "model": "TC-HEATER-2K",
        "functions": ["switch", "temp_set", "mode", "level", "lock", "countdown_set", "temp_unit_convert"],
        "extra_status": ["temp_current", "countdown_left", "work_state", "work_power"],
        "initial": {
            "switch": False,
            "temp_set": 22,
            "temp_current": 17,
            "mode": "smart",
            "level": "2",
            "countdown_set": "cancel",
            "temp_unit_convert": "c",
        },
        "behaviours": hour_countdown(["cancel", "1h", "2h", "3h", "4h", "5h", "6h"], "countdown_left", 1)
        + [
            countdown("countdown_left", switch=False, countdown_set="cancel"),
            move("temp_current", "temp_set", 0.02, {"switch": True}),
            follow("work_power", {"switch": True}, 4500, 100, 60),
            threshold("work_state", "temp_current", "warming", lower="temp_set", below="heating"),
        ],
    },
    "kj": {
        "name": "Virtual Air Purifier",
        "model": "TC-PURIFIER-1",
        "functions": [
            "switch",
            "mode",
            "fan_speed_enum",
            "anion",
            "lock",
            "light",
            "uv",
            "filter_reset",
            "countdown_set",
        ],
        "extra_status": ["filter", "pm25", "temp", "humidity", "tvoc", "eco2", "filter_days", "total_time"],
        "initial": {
            "switch": False,
            "mode": "auto",
            "fan_speed_enum": "auto",
            "countdown_set": "cancel",
            "filter": 100,
            "pm25": 18,
            "temp": 22,
            "humidity": 50,
            "tvoc": 30,
            "eco2": 600,
            "filter_days": 180,
        },
        "behaviours": [
            on_cmd("filter_reset", True, filter=100, filter_days=180, filter_reset=False),
            sensor("pm25", 18, 10, 4, 120),
            sensor("temp", 22, 2, 1, 300),
            sensor("humidity", 50, 8, 2, 300),
            sensor("tvoc", 30, 10, 5, 300),
            sensor("eco2", 600, 150, 30, 300),
            accumulate("total_time", round(1 / 60, 9), {"switch": True}),
            accumulate("filter", round(-1 / (1.8 * DAY), 9), {"switch": True}),
        ],
    },
    "jsq": {
        "name": "Virtual Humidifier",
        "model": "TC-HUMID-1",
        "functions": [
            "switch",
            "mode",
            "level",
            "countdown_set",
            "switch_led",
            "bright_value",
            "humidity_set",
            "sleep",
            "switch_sound",
        ],
        "initial": {
            "mode": "continuous",
            "level": "level_3",
            "countdown_set": "cancel",
            "humidity_set": 55,
            "bright_value": 128,
        },
    },
    "cs": {
        "name": "Virtual Dehumidifier",
        "model": "TC-DEHUMID-1",
        "functions": [
            "switch",
            "mode",
            "fan_speed_enum",
            "dehumidify_set_value",
            "child_lock",
            "countdown_set",
        ],
        "extra_status": ["countdown_left", "humidity_indoor", "temp_indoor", "fault"],
        "initial": {
            "mode": "dehumidify",
            "fan_speed_enum": "mid",
            "dehumidify_set_value": 50,
            "countdown_set": "cancel",
            "humidity_indoor": 65,
            "temp_indoor": 21,
        },
        "behaviours": hour_countdown(["cancel", "1h", "2h", "3h"], "countdown_left", 60)
        + [
            countdown("countdown_left", 60, switch=False, countdown_set="cancel"),
            move("humidity_indoor", "dehumidify_set_value", 0.02, {"switch": True}),
            sensor("temp_indoor", 21, 2, 1, 300),
        ],
    },
    "fs": {
        "name": "Virtual Fan",
        "model": "TC-FAN-1",
        "functions": [
            "switch",
            "mode",
            "fan_speed_percent",
            "fan_direction",
            "switch_horizontal",
            "countdown_set",
            "child_lock",
            "light",
        ],
        "initial": {
            "mode": "nature",
            "fan_speed_percent": 40,
            "fan_direction": "forward",
            "countdown_set": "cancel",
        },
    },
    "sd": {
        "name": "Virtual Robot Vacuum",
        "model": "TC-ROBOT-1",
        "functions": [
            "power_go",
            "mode",
            "direction_control",
            "suction",
            "seek",
            "switch_charge",
            "volume_set",
            "reset_edge_brush",
            "reset_roll_brush",
            "reset_filter",
        ],
        "extra_status": [
            "status",
            "electricity_left",
            "clean_time",
            "clean_area",
            "edge_brush",
            "roll_brush",
            "filter",
            "total_clean_area",
            "total_clean_count",
            "total_clean_time",
            "fault",
        ],
        "initial": {
            "power_go": False,
            "mode": "smart",
            "direction_control": "stop",
            "suction": "normal",
            "volume_set": 60,
            "status": "charge_done",
            "electricity_left": 100,
            "edge_brush": 9000,
            "roll_brush": 18000,
            "filter": 9000,
        },
        "behaviours": [
            on_cmd("power_go", True, status="cleaning", clean_time=0, clean_area=0, switch_charge=False),
            on_cmd("power_go", False, status="standby"),
            on_cmd("switch_charge", True, power_go=False, status="charging"),
            on_cmd("reset_edge_brush", True, edge_brush=9000, reset_edge_brush=False),
            on_cmd("reset_roll_brush", True, roll_brush=18000, reset_roll_brush=False),
            on_cmd("reset_filter", True, filter=9000, reset_filter=False),
            accumulate("clean_time", round(1 / 60, 9), {"status": "cleaning"}),
            accumulate("clean_area", round(1 / 60, 9), {"status": "cleaning"}),
            accumulate("total_clean_time", round(1 / 60, 9), {"status": "cleaning"}),
            accumulate("total_clean_area", round(1 / 60, 9), {"status": "cleaning"}),
            accumulate("edge_brush", round(-1 / 60, 9), {"status": "cleaning"}),
            accumulate("roll_brush", round(-1 / 60, 9), {"status": "cleaning"}),
            accumulate("filter", round(-1 / 60, 9), {"status": "cleaning"}),
            accumulate("electricity_left", round(-1 / 36, 9), {"status": "cleaning"}, min=5),
            accumulate("electricity_left", round(1 / 30, 9), {"status": "charging"}),
        ],
    },
    "ms": {
        "name": "Virtual Smart Lock",
        "model": "TC-LOCK-WIFI",
        "functions": [
            "automatic_lock",
            "auto_lock_time",
            "doorbell_volume",
            "key_tone",
            "arming_switch",
            "do_not_disturb",
        ],
        "extra_status": [
            "residual_electricity",
            "battery_state",
            "unlock_fingerprint",
            "unlock_card",
            "door_opened",
            "child_lock",
            "reverse_lock",
            "hijack",
            "doorbell",
        ],
        "initial": {
            "automatic_lock": True,
            "auto_lock_time": 10,
            "doorbell_volume": "normal",
            "key_tone": "normal",
            "residual_electricity": 90,
        },
        "behaviours": [
            battery("residual_electricity", days_per_percent=3),
            battery_state("residual_electricity", mid="medium"),
        ],
    },
    "jtmspro": {
        "name": "Virtual BLE Lock",
        "model": "TC-LOCK-BLE",
        "functions": [
            "automatic_lock",
            "auto_lock_time",
            "unlock_switch",
            "rtc_lock",
            "manual_lock",
            "message",
        ],
        "extra_status": [
            "residual_electricity",
            "unlock_fingerprint",
            "unlock_card",
            "unlock_ble",
            "hijack",
            "doorbell",
            "closed_opened",
            "lock_motor_state",
        ],
        "initial": {
            "automatic_lock": True,
            "auto_lock_time": 10,
            "unlock_switch": "single_unlock",
            "residual_electricity": 95,
            "closed_opened": "closed",
        },
        "behaviours": [battery("residual_electricity", days_per_percent=3)],
    },
    "mcs": {
        "name": "Virtual Door Sensor",
        "model": "TC-CONTACT-ZB",
        "functions": [],
        "extra_status": ["doorcontact_state", "battery_percentage", "temper_alarm"],
        "initial": {"battery_percentage": 100},
        "behaviours": [
            {
                "kind": "pick",
                "code": "doorcontact_state",
                "choices": [False, True],
                "weights": [3, 1],
                "report_every_s": 1800,
            },
            battery(),
        ],
    },
    "pir": {
        "name": "Virtual Motion Sensor",
        "model": "TC-PIR-ZB",
        "functions": [],
        "extra_status": ["pir", "battery_percentage", "temper_alarm"],
        "initial": {"pir": "none", "battery_percentage": 100},
        "behaviours": [
            {
                "kind": "pick",
                "code": "pir",
                "choices": ["none", "pir"],
                "weights": [4, 1],
                "report_every_s": 300,
            },
            battery(),
        ],
    },
    "wsdcg": {
        "name": "Virtual Temperature & Humidity Sensor",
        "model": "TC-TH-ZB",
        "functions": ["temp_unit_convert", "maxtemp_set", "minitemp_set", "maxhum_set", "minihum_set"],
        "extra_status": ["va_temperature", "va_humidity", "battery_percentage", "temp_alarm", "hum_alarm"],
        "initial": {
            "temp_unit_convert": "c",
            "maxtemp_set": 390,
            "minitemp_set": 0,
            "maxhum_set": 80,
            "minihum_set": 20,
            "va_temperature": 235,
            "va_humidity": 50,
            "battery_percentage": 100,
        },
        "behaviours": [
            sensor("va_temperature", 235, 30, 5, 60),
            sensor("va_humidity", 50, 10, 2, 60),
            battery(),
            threshold(
                "temp_alarm",
                "va_temperature",
                "cancel",
                upper="maxtemp_set",
                above="upperalarm",
                lower="minitemp_set",
                below="loweralarm",
            ),
            threshold(
                "hum_alarm",
                "va_humidity",
                "cancel",
                upper="maxhum_set",
                above="upperalarm",
                lower="minihum_set",
                below="loweralarm",
            ),
        ],
    },
    "ywbj": {
        "name": "Virtual Smoke Alarm",
        "model": "TC-SMOKE-1",
        "functions": ["muffling", "self_checking", "alarm_volume"],
        "extra_status": ["smoke_sensor_status", "battery_percentage", "battery_state", "checking_result"],
        "initial": {
            "smoke_sensor_status": "normal",
            "battery_percentage": 100,
            "alarm_volume": "high",
            "checking_result": "check_success",
        },
        "behaviours": SELF_CHECK + [battery(days_per_percent=7), battery_state("battery_percentage")],
    },
    "rqbj": {
        "name": "Virtual Gas Alarm",
        "model": "TC-GAS-1",
        "functions": ["muffling", "self_checking", "alarm_time"],
        "extra_status": ["gas_sensor_status", "gas_sensor_value", "checking_result"],
        "initial": {
            "alarm_time": 60,
            "gas_sensor_status": "normal",
            "gas_sensor_value": 8,
            "checking_result": "check_success",
        },
        "behaviours": SELF_CHECK
        + [
            sensor("gas_sensor_value", 8, 4, 3, 300),
            threshold("gas_sensor_status", "gas_sensor_value", "normal", upper=300, above="alarm"),
        ],
    },
    "sj": {
        "name": "Virtual Water Leak Sensor",
        "model": "TC-LEAK-ZB",
        "functions": [],
        "extra_status": ["watersensor_state", "battery_percentage"],
        "initial": {"watersensor_state": "normal", "battery_percentage": 100},
        "behaviours": [battery(days_per_percent=3)],
    },
    "cobj": {
        "name": "Virtual CO Detector",
        "model": "TC-CO-1",
        "functions": [],
        "extra_status": ["co_status", "co_value", "checking_result", "battery_percentage"],
        "initial": {
            "co_status": "normal",
            "co_value": 3,
            "checking_result": "check_success",
            "battery_percentage": 100,
        },
        "behaviours": [
            sensor("co_value", 3, 2, 1, 300),
            threshold("co_status", "co_value", "normal", upper=50, above="alarm"),
            battery(days_per_percent=7),
        ],
    },
    "co2bj": {
        "name": "Virtual Air Quality Monitor",
        "model": "TC-AQ-1",
        "functions": ["alarm_volume", "alarm_time", "alarm_switch", "alarm_bright"],
        "extra_status": [
            "co2_state",
            "co2_value",
            "temp_current",
            "humidity_value",
            "pm25_value",
            "voc_value",
            "ch2o_value",
        ],
        "initial": {
            "alarm_volume": "middle",
            "alarm_time": 10,
            "alarm_switch": True,
            "alarm_bright": 50,
            "co2_value": 650,
            "temp_current": 23,
            "humidity_value": 48,
            "pm25_value": 12,
            "voc_value": 150,
            "ch2o_value": 20,
        },
        "behaviours": [
            sensor("co2_value", 650, 200, 30, 120),
            sensor("temp_current", 23, 2, 1, 300),
            sensor("humidity_value", 48, 8, 2, 300),
            sensor("pm25_value", 12, 6, 3, 300),
            sensor("voc_value", 150, 50, 20, 300),
            sensor("ch2o_value", 20, 10, 4, 300),
            threshold("co2_state", "co2_value", "normal", upper=1500, above="alarm"),
        ],
    },
    "sgbj": {
        "name": "Virtual Siren",
        "model": "TC-SIREN-1",
        "functions": ["alarm_volume", "alarm_time", "alarm_switch"],
        "initial": {"alarm_volume": "high", "alarm_time": 10, "alarm_switch": False},
    },
    "ldcg": {
        "name": "Virtual Light Sensor",
        "model": "TC-LUX-ZB",
        "functions": [],
        "extra_status": ["bright_value", "battery_percentage"],
        "initial": {"bright_value": 400, "battery_percentage": 100},
        "behaviours": [sensor("bright_value", 400, 380, 15, 300), battery()],
    },
    "wxkg": {
        "name": "Virtual Scene Button",
        "model": "TC-BUTTON-ZB",
        "functions": [],
        "extra_status": ["switch_mode1", "battery_percentage"],
        "initial": {"switch_mode1": "click", "battery_percentage": 100},
        "behaviours": [battery(days_per_percent=5)],
    },
    "sp": {
        "name": "Virtual Security Camera",
        "model": "TC-CAM-1080P",
        "functions": [
            "basic_indicator",
            "basic_private",
            "basic_flip",
            "basic_osd",
            "basic_wdr",
            "basic_nightvision",
            "motion_switch",
            "motion_sensitivity",
            "motion_tracking",
            "record_switch",
            "record_mode",
            "sd_format",
            "ptz_control",
            "ptz_stop",
            "siren_switch",
            "device_restart",
            "decibel_switch",
            "decibel_sensitivity",
        ],
        "extra_status": ["sd_storge", "sd_status", "sd_format_state"],
        "initial": {
            "basic_indicator": True,
            "basic_osd": True,
            "basic_nightvision": "0",
            "motion_switch": True,
            "motion_sensitivity": "1",
            "record_switch": True,
            "record_mode": "1",
            "ptz_control": "0",
            "decibel_sensitivity": "0",
            "sd_storge": "31166976|1048576|30118400",
            "sd_status": 1,
        },
        "behaviours": [
            on_cmd("sd_format", True, sd_format_state=100, sd_format=False),
            on_cmd("device_restart", True, device_restart=False),
            on_cmd("ptz_stop", True, ptz_stop=False),
        ],
    },
    "wg2": {
        "name": "Virtual Zigbee Gateway",
        "model": "TC-GW-ZB3",
        "functions": ["master_state", "factory_reset", "master_language"],
        "extra_status": ["master_information"],
        "initial": {
            "master_state": "normal",
            "master_language": "english",
            "master_information": '{"version":"1.4.2","subdevices":0}',
        },
        "behaviours": [on_cmd("factory_reset", True, factory_reset=False)],
    },
    "bh": {
        "name": "Virtual Smart Kettle",
        "model": "TC-KETTLE-1",
        "functions": ["start", "temp_set", "temp_unit_convert", "warm", "warm_time", "work_type"],
        "extra_status": ["temp_current", "status"],
        "initial": {
            "start": False,
            "temp_set": 100,
            "temp_unit_convert": "c",
            "warm_time": 60,
            "work_type": "temp_boiling",
            "temp_current": 22,
            "status": "standby",
        },
        "behaviours": [
            on_cmd("start", True, status="heating"),
            on_cmd("start", False, status="standby"),
            move("temp_current", "temp_set", 0.2, {"start": True}),
            move("temp_current", 22, 0.01, {"start": False}),
            {
                "kind": "threshold",
                "code": "status",
                "source": "temp_current",
                "lower": "temp_set",
                "below": "heating",
                "normal": "warm",
                "while": {"start": True},
            },
        ],
    },
}


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    reference = json.loads(source.read_text(encoding="utf-8"))
    CATEGORY_DIR.mkdir(parents=True, exist_ok=True)
    PRODUCT_DIR.mkdir(parents=True, exist_ok=True)
    categories = {}
    for code, ref in reference["categories"].items():
        doc = convert_category(code, ref)
        categories[code] = doc
        write(CATEGORY_DIR / f"{code}.json", doc)
    missing = set(categories) - set(PRODUCTS)
    if missing:
        raise SystemExit(f"no product authored for {sorted(missing)}")
    for code, spec in PRODUCTS.items():
        write(PRODUCT_DIR / f"{code}.json", build_product(code, spec, categories[code]))
    print(f"wrote {len(categories)} categories and {len(PRODUCTS)} products")


def build_product(category: str, spec: dict[str, Any], cat: dict[str, Any]) -> dict[str, Any]:
    """Expand an authored product spec: status defaults to the functions that are reported, plus extras."""
    status_codes = {dp["code"] for dp in cat["status"]}
    function_codes = {dp["code"] for dp in cat["functions"]}
    functions = list(spec["functions"])
    hidden = set(spec.get("not_reported", []))
    status = [c for c in functions if c in status_codes and c not in hidden] + list(
        spec.get("extra_status", [])
    )
    for code in functions:
        if code not in function_codes:
            raise SystemExit(f"{category}: {code} is not a function of the category")
    for code in status:
        if code not in status_codes:
            raise SystemExit(f"{category}: {code} is not a status code of the category")
    # Shared behaviour lists (LIGHT_MODES...) may mention commands this product lacks: keep the ones it has.
    behaviours = [
        b
        for b in spec.get("behaviours", [])
        if b["kind"] != "set_on_command" or b["when"]["code"] in functions
    ]
    return {
        "product_id": product_id(category),
        "name": spec["name"],
        "category": category,
        "model": spec["model"],
        "icon": f"smart/icon/tuyacloud/{category}.png",
        "functions": functions,
        "status": status,
        "raw_dps": spec.get("raw_dps", []),
        "initial": spec.get("initial", {}),
        "behaviours": behaviours,
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
