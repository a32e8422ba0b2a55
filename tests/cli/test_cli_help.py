"""Help is readable in an 80-column terminal: wrapped, never cut (no "…", no command summary ending in "...")."""

from __future__ import annotations

from typing import Any

import typer.main
from clitools import tuyacloud
from typer.testing import CliRunner

from tuyacloud.cli.main import app


def every_command_path() -> list[list[str]]:
    paths: list[list[str]] = [[]]

    def walk(command: Any, prefix: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def assert_readable(text: str, where: str) -> None:
    assert "Usage:" in text, where
    for line in text.splitlines():
        assert len(line) <= 80, f"{where}: {len(line)} columns: {line!r}"
        assert "…" not in line, f"{where}: cut: {line!r}"
    _, _, commands = text.partition("\nCommands:\n")
    for line in commands.splitlines():
        assert not line.rstrip().endswith("..."), f"{where}: a command summary is cut: {line!r}"


def test_every_help_page_fits_80_columns() -> None:
    runner = CliRunner()
    paths = every_command_path()
    assert ["serve"] in paths and ["device", "list"] in paths and len(paths) > 25
    for path in paths:
        # A real 80-column terminal gives click 78 columns (it keeps a margin of 2); the runner forces its width.
        done = runner.invoke(app, [*path, "--help"], terminal_width=78)
        assert done.exit_code == 0, done.output
        assert_readable(done.stdout, " ".join(["tuyacloud", *path]))


def test_serve_help_in_a_real_80_column_terminal() -> None:
    done = tuyacloud("serve", "--help", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert_readable(done.stdout, "tuyacloud serve")
    assert "TUYACLOUD_PORT" in done.stdout and "1<=x<=65535" in done.stdout
