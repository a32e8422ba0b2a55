"""Help is readable in an 80-column terminal: wrapped, never cut (no "…", no command summary ending in "...").
The root command loads its groups only when asked: the root help shows their summaries from cli/main.py's table,
which must say what the groups themselves say, and ``--version`` and ``--help`` load no domain, store or rich."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import typer.main
from clitools import tuyacloud
from typer.testing import CliRunner

from support.cli import cli_env
from tuyacloud.cli.main import GROUPS, app


def every_command_path() -> list[list[str]]:
    paths: list[list[str]] = [[]]

    def walk(command: Any, prefix: list[str]) -> None:
        for name in command.list_commands(None) if hasattr(command, "list_commands") else []:
            paths.append([*prefix, name])
            walk(command.get_command(None, name), [*prefix, name])

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


def test_the_root_help_shows_each_group_as_the_group_itself_says() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["--help"], terminal_width=200).stdout  # the groups not loaded yet
    root = typer.main.get_command(app)
    for name, group in GROUPS.items():
        loaded = root.get_command(None, name)  # type: ignore[attr-defined]
        assert loaded is not None and loaded.name == name
        assert group.summary == loaded.get_short_help_str(200), name
        assert f"  {name.ljust(8)}  {group.summary}\n" in listed, listed
    assert runner.invoke(app, ["--help"], terminal_width=200).stdout == listed  # the same, loaded


def test_version_and_help_load_no_domain_store_or_rich() -> None:
    heavy = ("tuyacloud.domain", "tuyacloud.store", "tuyacloud.catalog", "tuyacloud.server", "rich", "uvicorn",
             "pydantic")
    script = ("import sys\nfrom tuyacloud.cli.main import app\n"
              "for args in (['--version'], ['--help'], []):\n"
              "    try:\n        app(args)\n    except SystemExit:\n        pass\n"
              f"print('LOADED', sorted(m for m in sys.modules if m.startswith({heavy!r})))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=cli_env())
    assert "tuyacloud 0." in done.stdout and "Commands:" in done.stdout, done.stdout + done.stderr
    assert "LOADED []" in done.stdout, done.stdout


def test_python_dash_m_tuyacloud_is_the_command_line() -> None:
    """`python -m tuyacloud` runs the CLI (a checkout used without installing it, PYTHONPATH=src)."""
    done = subprocess.run([sys.executable, "-m", "tuyacloud", "--help"], capture_output=True, text=True, timeout=60,
                          env=cli_env())
    assert done.returncode == 0, done.stderr
    assert "Usage: tuyacloud" in done.stdout and "serve" in done.stdout
