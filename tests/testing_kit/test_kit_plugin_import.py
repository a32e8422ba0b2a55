"""pytest imports the plugin in every run of everyone who installed tuyacloud: importing it (and the public
package) must not pull in the server, the web framework, the database layer or the HTTP client."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("tuyacloud.app", "tuyacloud.testing.cloud", "tuyacloud.testing.control", "uvicorn", "starlette",
         "sqlalchemy", "alembic", "httpx")


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = ("import sys, tuyacloud.testing, tuyacloud.testing.plugin; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_public_names_load_on_first_use() -> None:
    code = "import tuyacloud.testing as t; print(t.LocalCloud.__module__, t.ControlClient.__module__, t.Message)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["tuyacloud.testing.cloud", "tuyacloud.testing.control"]
    missing = subprocess.run([sys.executable, "-c", "import tuyacloud.testing as t; t.Nope"], capture_output=True,
                             text=True, timeout=60)
    assert "has no attribute 'Nope'" in missing.stderr
