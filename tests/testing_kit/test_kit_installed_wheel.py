"""The plugin as a user gets it: build tuyacloud's wheel, install it into a fresh virtual environment, and run the
example project there with plain ``pytest`` (no ``-p``, no conftest.py): the fixtures must come from the wheel's
``pytest11`` entry point.

The environment borrows the machine's installed packages (``--system-site-packages``: pytest, the clients,
tuyacloud's dependencies) but gets tuyacloud itself only from the wheel. Engine-independent (the kit's clouds use
SQLite), so it runs in the SQLite half of the suite only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(bool(os.environ.get("TUYACLOUD_TEST_DATABASE_URL")),
                                reason="engine-independent: runs in the SQLite half")


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_registers_the_plugin_for_plain_pytest(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", ROOT, env=env)
    [wheel] = (tmp_path / "dist").glob("tuyacloud-*.whl")
    run(sys.executable, "-m", "venv", "--system-site-packages", tmp_path / "venv", env=env)
    python = tmp_path / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--no-deps", wheel, env=env)
    where = run(python, "-c", "import tuyacloud.testing.plugin as p; print(p.__file__)", env=env)
    assert where.startswith(str(tmp_path / "venv")), where

    project = tmp_path / "user-project"
    shutil.copytree(ROOT / "examples" / "testing-kit", project)
    out = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env)
    assert "7 passed" in out, out
