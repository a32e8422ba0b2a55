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
