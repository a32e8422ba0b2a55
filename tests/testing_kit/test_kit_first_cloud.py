"""A process's first cloud costs no migration: its template database is made from the schema file (store/schema/),
so neither Alembic nor SQLAlchemy is imported, and nothing is written outside the cloud's own temporary files (no
cache directory to keep, share or clean). Run in a new process, as a test run's first cloud would be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIRST_CLOUDS = ("import sys; from tuyacloud.testing import LocalCloud\n"
                "for _ in range(2):\n"
                "    c = LocalCloud(simulator=False).start(); assert c.control.health()['ready'] is True; c.stop()\n"
                "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'sqlalchemy'}))")


def test_the_first_clouds_of_a_process_need_no_alembic_and_leave_no_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    done = subprocess.run([sys.executable, "-c", FIRST_CLOUDS], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert list(home.iterdir()) == []
