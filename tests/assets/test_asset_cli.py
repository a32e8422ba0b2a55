"""``tuyacloud asset tree`` and ``tuyacloud device add-virtual --asset`` on the same store as a running server."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from support.custom import add_asset, ok
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.cli.main import app


def test_asset_tree_and_add_virtual_at_an_asset(tmp_path: Path) -> None:
    server = CloudServer(tmp_path).start()
    try:
        project = server.create_project(name="Campus project")
        c = SignedClient(server.url, project["access_id"], project["access_secret"])
        ok(c.connect())
        building = add_asset(c, "Building A")
        room = add_asset(c, "Room 201", building)
        url = server.settings.effective_database_url
        runner = CliRunner()
        added = runner.invoke(app, ["device", "add-virtual", "--project", project["access_id"], "--category", "dj",
                                    "--count", "2", "--asset", room, "--database-url", url, "--json"])
        assert added.exit_code == 0, added.output
        at_room = ok(c.get(f"/v1.0/iot-02/assets/{room}/devices", {"page_size": 10}))
        assert at_room["total_size"] == 2
        bad = runner.invoke(app, ["device", "add-virtual", "--project", project["access_id"], "--category", "dj",
                                  "--asset", "nope", "--database-url", url])
        assert bad.exit_code != 0
        tree = runner.invoke(app, ["asset", "tree", "--project", project["access_id"], "--database-url", url],
                             terminal_width=200)
        assert tree.exit_code == 0, tree.output
        lines = tree.output.splitlines()
        assert "Campus project" in lines[0]
        assert any("Building A" in line and "(0 devices)" in line for line in lines)
        assert any("Room 201" in line and "(2 devices)" in line for line in lines)
        room_line = next(i for i, line in enumerate(lines) if "Room 201" in line)
        building_line = next(i for i, line in enumerate(lines) if "Building A" in line)
        assert room_line > building_line and lines[room_line].index("Room") > lines[building_line].index("Building")
        as_json = runner.invoke(app, ["asset", "tree", "--project", project["access_id"], "--database-url", url,
                                      "--json"])
        assert as_json.exit_code == 0, as_json.output
    finally:
        server.stop()
