"""What the admin commands print, as a script or a pager sees it: the real command line with its output in a pipe
(no terminal, no COLUMNS), where rich would otherwise cut every line at 80 columns; and which commands print a
project's Access Secret (those that exist to give it), and which do not (those that change a setting)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.cli import cli_command
from support.serve_process import database_for_test


class Piped:
    """``tuyacloud`` with stdout in a pipe and the environment a script has: no COLUMNS."""

    def __init__(self, data: Path, db: str | None) -> None:
        self.store = ["--data-dir", str(data), *(["--database-url", db] if db else [])]
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("COLUMNS", "LINES", "TUYACLOUD_DATA_DIR", "TUYACLOUD_DATABASE_URL")}

    def text(self, *args: str) -> str:
        done = subprocess.run([*cli_command(), *args, *self.store], capture_output=True, text=True, timeout=120,
                              env=self.env)
        assert done.returncode == 0, done.stderr or done.stdout
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.text(*args, "--json"))


@pytest.fixture(scope="module")
def piped(tmp_path_factory: pytest.TempPathFactory) -> Piped:
    return Piped(tmp_path_factory.mktemp("piped") / "data", database_for_test())


def test_a_table_in_a_pipe_keeps_its_rows_whole(piped: Piped) -> None:
    name = "A project with the longest name there may be, 64 characters long"  # with its other columns: > 80
    assert len(name) == 64
    made = piped.json("project", "create", "--name", name)
    text = piped.text("project", "list", "--all")
    [row] = [line for line in text.splitlines() if made["access_id"] in line]
    assert name in row and "smart_home" not in row and "custom" in row  # one line, nothing cut or wrapped
    assert len(row) > 100
    # a terminal's width, when the user sets one, is still kept
    narrow = subprocess.run([*cli_command(), "project", "list", "--all", *piped.store], capture_output=True,
                            text=True, timeout=120, env={**piped.env, "COLUMNS": "80"})
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80


def test_only_the_commands_that_give_the_secret_print_it(piped: Piped) -> None:
    made = piped.json("project", "create", "--name", "Secrets")
    access_id, secret = made["access_id"], made["access_secret"]
    assert secret and secret in piped.text("project", "show", access_id)
    assert piped.json("project", "show", access_id)["access_secret"] == secret

    changes = [("set-allowlist", access_id, "--address", "10.0.0.0/8"), ("set-allowlist", access_id, "--disable"),
               ("authorize-service", access_id, "iot_core", "--revoke"), ("authorize-service", access_id, "iot_core"),
               ("set-message-encryption", access_id, "aes_gcm"), ("set-legacy-signing", access_id, "--enable")]
    for change in changes:
        changed = piped.json("project", *change)
        assert changed["access_id"] == access_id and "access_secret" not in changed, change
        assert secret not in piped.text("project", *change), change
    assert piped.json("project", "show", access_id)["message_encryption"] == "aes_gcm"

    rotated = piped.json("project", "rotate-secret", access_id)
    assert rotated["access_secret"] and rotated["access_secret"] != secret
    assert secret not in piped.text("project", "list", "--all")
