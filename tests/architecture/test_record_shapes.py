"""A record has one shape per kind of answer, in one place (docs/architecture.md, the layer rules): what the
control API, the CLI and the console show of a record that another face shows too is built by ``views.py``, never
spelt again beside a handler, where the two copies drift (the CLI's QR login once lacked three of the control
API's keys).

Checked on the source: every dict literal ``views.py`` returns is a shape; a dict literal in a face (``control/``,
``cli/``, ``console/``, ``domain/console_views.py``) with the same keys, or with most of them (a copy that lost a
few), fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tuyacloud"
FACES = ("control", "cli", "console", "domain/console_views.py")
MIN_KEYS = 2  # a shape of one key is not a shape
SHARE = 0.6  # a literal holding this share of a shape's keys (and nothing else) is a copy of it


def _keys(node: ast.Dict) -> frozenset[str]:
    return frozenset(k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))


def shapes(source: str) -> dict[str, frozenset[str]]:
    """The key set of every dict literal each function of ``source`` returns."""
    found: dict[str, frozenset[str]] = {}
    for function in ast.parse(source).body:
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
                    keys = _keys(node.value)
                    if len(keys) >= MIN_KEYS:
                        found[function.name] = keys
    return found


def copies(source: str, known: dict[str, frozenset[str]]) -> list[str]:
    """Dict literals of ``source`` that spell one of the ``known`` shapes again: ``line: shape``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Dict):
            continue
        keys = _keys(node)
        for name, shape in known.items():
            if len(keys) >= MIN_KEYS and keys <= shape and len(keys) >= SHARE * len(shape):
                found.append(f"{node.lineno}: {name}")
    return found


def _faces() -> list[Path]:
    return sorted(p for face in FACES for p in ((PACKAGE / face).rglob("*.py") if (PACKAGE / face).is_dir()
                                                 else [PACKAGE / face]))


def test_the_check_finds_a_copy_and_its_shortened_copy() -> None:
    known = shapes("def login_view(q):\n    return {'qrcode': 1, 'state': 2, 'uid': 3, 'user_code': 4, 'schema': 5}\n")
    assert known == {"login_view": frozenset({"qrcode", "state", "uid", "user_code", "schema"})}
    assert copies("x = {'qrcode': 1, 'state': 2, 'uid': 3, 'user_code': 4, 'schema': 5}", known)
    assert copies("x = {'qrcode': 1, 'state': 2, 'uid': 3, 'user_code': 4}", known)
    assert not copies("x = {'qrcode': 1, 'expires': 2}", known)
    assert not copies("x = {'qrcode': 1, 'state': 2, 'uid': 3, 'other': 4}", known)


def test_views_py_holds_the_shapes_the_faces_share() -> None:
    known = shapes((PACKAGE / "views.py").read_text())
    assert {"qr_login_view", "moved_asset_view", "user_code_view", "project_view"} <= set(known), sorted(known)
    spelt_again = {
        path.relative_to(PACKAGE).as_posix(): found
        for path in _faces() if (found := copies(path.read_text(), known))
    }
    assert not spelt_again, f"build these with views.py instead of spelling the shape again: {spelt_again}"
