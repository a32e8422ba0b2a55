"""docs/api-coverage.md is generated from the route table and the error table, and must be up to date."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from support.server import CloudServer
from tuyacloud.errors import all_codes
from tuyacloud.gateway.routes import build_table

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_api_coverage.py"
DOC = ROOT / "docs" / "api-coverage.md"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api_coverage", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_doc_is_up_to_date() -> None:
    expected = load_generator().render()
    assert DOC.exists(), "docs/api-coverage.md is missing: run python scripts/gen_api_coverage.py"
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/api-coverage.md is out of date: run python scripts/gen_api_coverage.py")


def test_check_mode_agrees(tmp_path: Path) -> None:
    generator = load_generator()
    assert generator.main(["--check"]) == 0
    stale = tmp_path / "stale.md"
    stale.write_text("old\n", encoding="utf-8")
    assert generator.main(["--check", "--output", str(stale)]) == 1
    assert generator.main(["--output", str(stale)]) == 0
    assert generator.main(["--check", "--output", str(stale)]) == 0


def test_doc_lists_every_route_of_the_live_server_and_every_code(cloud: CloudServer) -> None:
    text = DOC.read_text(encoding="utf-8")
    live = cloud.app.state.table.routes
    assert [r.key for r in live] == [r.key for r in build_table().routes]
    for route in live:
        assert f"| {route.method} | `{route.path}` | `{route.service}` |" in text, route.key
        for param in route.query:
            assert f"`{param.name}`" in text
    for code in all_codes():
        assert f"\n| {code} | " in text, code
