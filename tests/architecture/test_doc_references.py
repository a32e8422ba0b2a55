"""The documentation only points at what a clone of the repository has.

A new user reads README.md, docs/ and examples/ in a clone: every relative link there, and every repository path
named in backticks (``tests/...``, ``scripts/...``, ``docs/...``...), must be a file or directory of the
repository, and no page may send the reader to notes kept outside it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_DIRS = ("docs", "tests", "src", "scripts", "bench", "examples", "constraints", ".ci")
# Notes that lived beside the repository once (spelt in pieces so that this file does not name them either).
OUTSIDE = ("../" + "shared", "DESIGN" + ".md", "DESIGN" + " section", "protocol" + ".md", "api-catalog" + ".md")


def pages() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").rglob("*.md"))]
    assert len(found) > 10, found
    return found


def test_relative_links_reach_files_of_the_repository() -> None:
    broken = []
    for page in pages():
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z][a-z0-9+.-]*:|#", target):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_repository_paths_named_in_backticks_exist() -> None:
    dirs = "|".join(re.escape(d) for d in TOP_DIRS)
    pattern = re.compile(r"`((?:" + dirs + r")/[\w./-]+?)(?:::\w+)?`")
    missing = []
    for page in pages():
        for name in pattern.findall(page.read_text()):
            path = ROOT / name.rstrip("/")
            # A name may stand for several files (`tests/devices/test_node_*`) or a prefix of one.
            if not path.exists() and not any(path.parent.glob(path.name + "*")):
                missing.append(f"{page.relative_to(ROOT)}: {name}")
    assert not missing, missing


def test_no_page_points_outside_the_repository() -> None:
    named = [f"{page.relative_to(ROOT)}: {word}" for page in pages() for word in OUTSIDE if word in page.read_text()]
    assert not named, named


# docs/architecture.md names modules as the reader finds them from the package (``domain/devices/outbox.py``,
# ``catalog/behaviours.py``), and inside a package's paragraph by their short name (``queries/primitives.py``,
# ``context.py``): each must be one of the package's files or directories.
PACKAGE = ROOT / "src" / "tuyacloud"
_SEARCHED = (ROOT, PACKAGE, PACKAGE / "domain", PACKAGE / "catalog", PACKAGE / "store", PACKAGE / "messaging",
             ROOT / "tests" / "architecture")


def test_the_architecture_page_names_modules_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = []
    for name in sorted(set(re.findall(r"`([\w./-]+(?:\.py|/))`", text))):
        if not any((where / name).exists() for where in _SEARCHED):
            missing.append(name)
    for module, attribute in re.findall(r"`([\w/]+)\.(\w+)`", text):  # ``domain/rules/rule_writes.commit``
        path = PACKAGE / f"{module}.py"
        if attribute in {"py", "md", "json"} or "/" not in module or module.split("/")[0] in TOP_DIRS:
            continue
        if not (path.exists() and re.search(rf"^(async )?def {attribute}\b|^{attribute}\b",
                                                             path.read_text(), re.MULTILINE)):
            missing.append(f"{module}.{attribute}")
    assert not missing, missing
