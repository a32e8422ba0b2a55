"""Device knowledge lives in the catalog (docs/architecture.md, the layer rules): a data point's bounds are read
through its typed accessors (``DpSpec.minimum``/``maximum``/``step``/``scale``, ``bounds``, ``clamp``,
``rescale``, ``options``, ``maxlen``, ``field_names``, ``field_bounds``), never unpacked from its raw ``values``
outside ``catalog/``.

Checked on the source of every module under src/tuyacloud outside the catalog:

- no ``x.values[...]``, ``x.values.get(...)``, nor ``name = x.values`` (the raw mapping taken aside to be read
  later); ``{**spec.values}`` copies it whole onto the wire (the thing model) and is not reading a bound;
- no subscript or ``.get`` with a key of the data-point vocabulary (``"min"``, ``"max"``, ``"step"``,
  ``"scale"``, ``"range"``, ``"maxlen"``, ``"label"``, ``"fields"``), however the mapping reached the module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tuyacloud"
DP_KEYS = frozenset({"min", "max", "step", "scale", "range", "maxlen", "label", "fields"})


def _is_values(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "values"


def _key(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _reads_by_hand(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript):
        return _is_values(node.value) or _key(node.slice) in DP_KEYS
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return _is_values(node.func.value) or bool(node.args and _key(node.args[0]) in DP_KEYS)
    return isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and _is_values(node.value)


def unpacked(source: str) -> list[str]:
    """Where ``source`` reads a data point's raw ``values`` by hand: ``line: expression``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if _reads_by_hand(node):
            found.append((getattr(node, "lineno", 0), ast.unparse(node)))
    return [f"{line}: {text}" for line, text in sorted(found)]


def test_the_check_sees_each_way_of_unpacking() -> None:
    samples = [
        'lo = spec.values["min"]', 'options = f.values.get("range", ())', "values = spec.values",
        'step = doc["step"]', 'size = rule.get("maxlen")', 'hsv = fields["h"]["max"]',
    ]
    for sample in samples:
        assert unpacked(sample), sample
    for sample in ("lo, hi = spec.bounds", "options = spec.options", 'body = {**spec.values, "type": "value"}',
                   "total = sum(series.values)", 'name = row["name"]'):
        assert not unpacked(sample), sample


def test_data_point_bounds_are_read_through_the_catalog() -> None:
    offenders = {
        path.relative_to(PACKAGE).as_posix(): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "catalog" and (found := unpacked(path.read_text()))
    }
    assert not offenders, ("read a data point's bounds through DpSpec (options, maxlen, field_bounds, bounds...), "
                           f"not from its values: {offenders}")
