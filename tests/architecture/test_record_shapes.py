"""A record has one shape per kind of answer, in one place (docs/architecture.md, the layer rules): what the
control API, the CLI and the console show of a record that another face shows too is built by ``views.py``, never
spelt again beside a handler, where the two copies drift (the CLI's QR login once lacked three of the control
API's keys).

Checked on the source: every dict literal ``views.py`` returns is a shape; a dict literal in a face (``control/``,
``cli/``, ``console/``, ``domain/console_views.py``) with the same keys, or with most of them (a copy that lost a
few), fails. And a face builds no shape of its own: a dict literal there that reads :data:`RECORD_FIELDS` or more
attributes of one record (``{"timer_id": t.id, "group_id": t.group_id, ...}``) belongs in ``views.py`` too, even
when only one face shows it today (the next one then finds it).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tuyacloud"
FACES = ("control", "cli", "console", "domain/console_views.py")
MIN_KEYS = 2  # a shape of one key is not a shape
SHARE = 0.6  # a literal holding this share of a shape's keys (and nothing else) is a copy of it
RECORD_FIELDS = 3  # attributes of one record read into one dict literal: a record's shape


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


def record_shapes(source: str) -> list[str]:
    """Dict literals of ``source`` built from :data:`RECORD_FIELDS` or more attributes of one name (``self`` aside:
    an object showing itself, such as a listing's page): ``line: name``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            read: dict[str, int] = {}
            for value in node.values:
                if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id != "self":
                    read[value.value.id] = read.get(value.value.id, 0) + 1
            found += [f"{node.lineno}: {name}" for name, count in read.items() if count >= RECORD_FIELDS]
    return found


def test_the_check_finds_a_shape_built_beside_a_handler() -> None:
    assert record_shapes("x = [{'id': t.id, 'group': t.group_id, 'time': t.time} for t in found]") == ["1: t"]
    assert not record_shapes("x = {'id': t.id, 'name': d.name, 'n': 3}")
    assert not record_shapes("x = {'list': self.rows, 'total': self.total, 'limit': self.limit}")


def test_faces_build_no_record_shape_of_their_own() -> None:
    built = {path.relative_to(PACKAGE).as_posix(): found for path in _faces() if (found := record_shapes(
        path.read_text()))}
    assert not built, f"a record's shape built in a face: move it to views.py: {built}"
