"""List commands never stop silently: a page (``--limit``/``--offset``) or everything (``--all``), always with
"showing N of M", and under ``--json`` the total, the offset and the limit. Run on SQLite, or on PostgreSQL when
``TUYACLOUD_TEST_DATABASE_URL`` is set; the commands run in process (typer's runner) to keep the many calls quick.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clitools import tuyacloud
from typer.testing import CliRunner

from support.server import database_url_for_test
from tuyacloud.cli.main import app

DEVICES = 250


class Cli:
    def __init__(self, store: list[str]) -> None:
        self.store = store
        self.runner = CliRunner()

    def text(self, *args: str) -> str:
        done = self.runner.invoke(app, [*args, *self.store], env={"COLUMNS": "200"})
        assert done.exit_code == 0, done.output
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.text(*args, "--json"))


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    url = database_url_for_test()
    data = tmp_path_factory.mktemp("lists")
    return Cli(["--data-dir", str(data), *(["--database-url", url] if url else [])])


@pytest.fixture(scope="module")
def project(cli: Cli) -> dict[str, Any]:
    made = cli.json("project", "create", "--name", "Many devices")
    added = cli.json("device", "add-virtual", "--project", made["access_id"], "--category", "cz",
                     "--count", str(DEVICES))
    assert len(added) == DEVICES
    return {**made, "device_ids": sorted(d["id"] for d in added)}


def test_device_list_shows_a_page_and_says_how_many_there_are(cli: Cli, project: dict[str, Any]) -> None:
    pid, ids = project["access_id"], project["device_ids"]
    text = cli.text("device", "list", "--project", pid)
    assert sum(1 for device_id in ids if device_id in text) == 100
    assert text.rstrip().splitlines()[-1] == \
        "showing 100 of 250 devices (1-100); next page: --offset 100, every one: --all"

    first = cli.json("device", "list", "--project", pid)
    assert (first["total"], first["offset"], first["limit"], first["has_more"]) == (DEVICES, 0, 100, True)
    assert [d["id"] for d in first["list"]] == ids[:100]

    # Pages taken one after another cover every device once, in id order.
    seen: list[str] = []
    for offset in range(0, DEVICES, 90):
        page = cli.json("device", "list", "--project", pid, "--limit", "90", "--offset", str(offset))
        assert page["total"] == DEVICES and page["offset"] == offset and page["limit"] == 90
        seen += [d["id"] for d in page["list"]]
        assert page["has_more"] is (offset + 90 < DEVICES)
    assert seen == ids

    last = cli.text("device", "list", "--project", pid, "--limit", "90", "--offset", "180")
    assert last.rstrip().splitlines()[-1] == "showing 70 of 250 devices (181-250)"

    everything = cli.json("device", "list", "--project", pid, "--all")
    assert [d["id"] for d in everything["list"]] == ids
    assert (everything["total"], everything["limit"], everything["has_more"]) == (DEVICES, None, False)
    assert cli.text("device", "list", "--project", pid, "--all").rstrip().splitlines()[-1] == \
        "showing 250 of 250 devices"
    past = cli.text("device", "list", "--project", pid, "--offset", "300")
    assert past.strip() == "showing 0 of 250 devices (--offset 300 is past the end)"


def test_every_list_command_pages_the_same_way(cli: Cli, project: dict[str, Any]) -> None:
    for n in range(3):
        cli.json("project", "create", "--name", f"Extra {n}")
    projects = cli.json("project", "list", "--limit", "2")
    assert projects["total"] >= 4 and len(projects["list"]) == 2 and projects["has_more"] is True
    assert all("access_secret" not in p for p in projects["list"])
    rest = cli.json("project", "list", "--offset", "2", "--all")
    assert len(rest["list"]) == projects["total"] - 2
    assert {p["access_id"] for p in projects["list"]}.isdisjoint(p["access_id"] for p in rest["list"])
    assert f"showing 2 of {projects['total']} projects (1-2)" in cli.text("project", "list", "--limit", "2")

    assert cli.text("admin", "list").rstrip().splitlines()[-1].startswith("showing ")
    accounts = cli.json("admin", "list")
    assert accounts["total"] == len(accounts["list"])

    cli.json("app", "create", "--schema", "listapp1", "--name", "One")
    cli.json("app", "create", "--schema", "listapp2", "--name", "Two")
    apps = cli.json("app", "list", "--limit", "1")
    assert apps["total"] == 2 and len(apps["list"]) == 1 and apps["has_more"] is True
    assert "showing 1 of 2 apps (1-1); next page: --offset 1" in cli.text("app", "list", "--limit", "1")

    tree = cli.json("asset", "tree", "--project", project["access_id"])
    assert tree["total"] == len(tree["list"]) and tree["offset"] == 0
    assert cli.text("asset", "tree", "--project", project["access_id"]).rstrip().splitlines()[-1] \
        == f"showing {tree['total']} of {tree['total']} assets"


def test_a_page_size_of_zero_is_refused(cli: Cli, project: dict[str, Any]) -> None:
    done = tuyacloud("device", "list", "--project", project["access_id"], "--limit", "0", *cli.store)
    assert done.returncode == 2 and "--limit" in done.stderr and "Traceback" not in done.stderr


def test_the_json_shape_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    assert '{"list": [...], "total": 21000, "offset": 0, "limit": 100, "has_more": true}' in doc
