"""Checking a batch of commands (or v2.0 shadow properties) against a product, before any of them applies.

Batches are all-or-nothing: every command is checked before the caller applies any, as a device never half-applies
a rejected batch. Each value is checked by its data point (``catalog/datapoints.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuyacloud import limits
from tuyacloud.catalog.datapoints import validate_value
from tuyacloud.catalog.loader import Product
from tuyacloud.errors import CommandNotSupported, ParamEmpty, ParamIllegal


def _allowed_codes(codes: list[str]) -> str:
    return ", ".join(codes) if codes else "none (this device takes no commands)"


def validate_commands(product: Product, commands: Any) -> list[tuple[str, Any]]:
    """Check a parsed ``commands`` list (as stored in timers and scenes) against the product's functions."""
    if commands is None or (isinstance(commands, list) and not commands):
        raise ParamEmpty("commands is empty")
    if not isinstance(commands, list):
        raise CommandNotSupported("commands must be a list of {code, value} objects")
    if len(commands) > limits.MAX_COMMANDS:
        raise ParamIllegal(f"at most {limits.MAX_COMMANDS} commands per request")
    pairs: list[tuple[str, Any]] = []
    for position, command in enumerate(commands, start=1):
        if not isinstance(command, dict) or not isinstance(command.get("code"), str):
            raise CommandNotSupported(f"command {position} must be an object with a string code and a value")
        if "value" not in command:
            raise CommandNotSupported(f"command {position} ({command['code']}) has no value")
        pairs.append((command["code"], command["value"]))
    return check_commands(product, pairs)


def check_commands(product: Product, commands: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Check ``(code, value)`` pairs of a well-formed batch against the product's functions: all of them, before
    any applies. Each value comes back as its data point takes it."""
    if not commands:
        raise ParamEmpty("commands is empty")
    if len(commands) > limits.MAX_COMMANDS:
        raise ParamIllegal(f"at most {limits.MAX_COMMANDS} commands per request")
    checked: list[tuple[str, Any]] = []
    for code, value in commands:
        spec = product.function(code)
        if spec is None:
            allowed = _allowed_codes([s.code for s in product.functions])
            raise CommandNotSupported(f"{code} is not a function of this device (allowed: {allowed})")
        checked.append((code, validate_value(spec, value)))
    return checked


def validate_properties(product: Product, properties: Any) -> list[tuple[str, Any]]:
    """Check a v2.0 shadow ``properties`` object: any writable standard or raw DP, by code."""
    if properties is None or (isinstance(properties, dict) and not properties):
        raise ParamEmpty("properties is empty")
    if not isinstance(properties, dict):
        raise CommandNotSupported("properties must be a JSON object of code: value")
    if len(properties) > limits.MAX_COMMANDS:
        raise ParamIllegal(f"at most {limits.MAX_COMMANDS} properties per request")
    checked: list[tuple[str, Any]] = []
    for code, value in properties.items():
        spec = product.spec(code) if isinstance(code, str) else None
        if spec is None or product.access_mode(code) not in ("rw", "wr"):
            writable = [s.code for s in product.all_dps() if product.access_mode(s.code) in ("rw", "wr")]
            raise CommandNotSupported(f"{code} is not a writable property of this device "
                                      f"(allowed: {_allowed_codes(writable)})")
        checked.append((code, validate_value(spec, value)))
    return checked
