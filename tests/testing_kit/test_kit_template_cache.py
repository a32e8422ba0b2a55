"""The migrated schema template is kept in the user's cache directory, so only the first test process on a machine
(per tuyacloud version and migrations) pays for Alembic: later processes start their first cloud without
importing it. A damaged cached file is rebuilt, processes starting together all get a whole file, and an empty
``TUYACLOUD_CACHE_DIR`` turns the cache off. Each case runs in new processes, as a test run would: the first case
starts whole clouds (their start is what must not import Alembic), the others only put a fresh database in place
the way a cloud's start does (``_fresh_sqlite``), which is the whole of the cache's work, at a fraction of the CPU."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

START_ONE = ("import sys; from tuyacloud.testing import LocalCloud; c = LocalCloud(simulator=False).start(); "
             "assert c.control.health()['ready'] is True; c.stop(); print('alembic' in sys.modules)")
# What a cloud's start does about its database, alone: a fresh database at the newest schema in a new data directory.
FRESH_ONE = """if True:
    import sys, tempfile
    from pathlib import Path
    from tuyacloud.testing.cloud import DB_FILE, _fresh_sqlite
    with tempfile.TemporaryDirectory() as folder:
        _fresh_sqlite(Path(folder))
        from tuyacloud.store import migrate
        assert migrate.sqlite_revisions(Path(folder) / DB_FILE) == migrate.HEADS
    print('alembic' in sys.modules)
"""


def run_kit(env: dict[str, str], script: str = FRESH_ONE) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script], env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def imported_alembic(env: dict[str, str], script: str = FRESH_ONE) -> bool:
    """Make a fresh database (or, with ``START_ONE``, start and stop a whole cloud) in a new process; whether that
    imported Alembic (migrated the schema)."""
    run = run_kit(env, script)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    return out.strip() == "True"


def templates(folder: Path) -> list[Path]:
    return sorted(folder.glob("template-*"))


def test_the_first_process_migrates_and_later_ones_copy_the_cached_template(tmp_path: Path) -> None:
    env = {"TUYACLOUD_CACHE_DIR": str(tmp_path / "cache")}
    assert imported_alembic(env, START_ONE) is True
    [cached] = templates(tmp_path / "cache")
    assert cached.suffix == ".db"
    assert imported_alembic(env, START_ONE) is False
    assert templates(tmp_path / "cache") == [cached]


def test_a_damaged_cached_template_is_rebuilt(tmp_path: Path) -> None:
    env = {"TUYACLOUD_CACHE_DIR": str(tmp_path)}
    imported_alembic(env)
    [cached] = templates(tmp_path)
    whole = cached.read_bytes()
    cached.write_bytes(whole[: len(whole) // 3])  # e.g. a disk that filled up
    assert imported_alembic(env) is True
    assert cached.read_bytes() != whole[: len(whole) // 3]
    assert imported_alembic(env) is False


def test_processes_starting_together_share_one_whole_template(tmp_path: Path) -> None:
    env = {"TUYACLOUD_CACHE_DIR": str(tmp_path)}
    runs = [run_kit(env) for _ in range(3)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    assert [p.suffix for p in templates(tmp_path)] == [".db"]  # no temporary file left behind
    assert imported_alembic(env) is False


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG cache location is Linux's")
def test_the_cache_is_in_the_xdg_cache_dir_and_an_empty_setting_turns_it_off(tmp_path: Path) -> None:
    assert imported_alembic({"XDG_CACHE_HOME": str(tmp_path / "xdg"), "TUYACLOUD_CACHE_DIR": ""}) is True
    assert not (tmp_path / "xdg").exists()
    env = {k: v for k, v in os.environ.items() if k != "TUYACLOUD_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    done = subprocess.run([sys.executable, "-c", FRESH_ONE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(templates(tmp_path / "xdg" / "tuyacloud")) == 1


def test_templates_of_other_versions_unused_for_a_month_are_removed(tmp_path: Path) -> None:
    stale, recent = tmp_path / "template-0ld.db", tmp_path / "template-r3cent.db"
    for path in (stale, recent):
        path.write_bytes(b"another version's template")
    month_ago = time.time() - 31 * 86_400
    os.utime(stale, (month_ago, month_ago))
    assert imported_alembic({"TUYACLOUD_CACHE_DIR": str(tmp_path)}) is True  # builds this version's, then prunes
    assert not stale.exists() and recent.exists()
    assert len(templates(tmp_path)) == 2
