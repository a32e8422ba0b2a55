"""Running the real `tuyacloud` command line from tests, as a user would."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cli_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m`` (same code either way)."""
    script = Path(sys.executable).parent / "tuyacloud"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tuyacloud.cli.main"]


def cli_env() -> dict[str, str]:
    """The environment without data-dir/database defaults (tests pass them explicitly) and a wide terminal."""
    env = {k: v for k, v in os.environ.items() if k not in ("TUYACLOUD_DATA_DIR", "TUYACLOUD_DATABASE_URL")}
    env["COLUMNS"] = "200"  # keep rich from wrapping lines
    return env
