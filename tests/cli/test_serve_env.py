"""Every ``serve`` option can be set as a ``TUYACLOUD_*`` environment variable, and docs/cli.md's table says so:
the table is checked against the command itself, and a server configured by the environment alone starts as told.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from clitools import Serve
from typer.core import TyperOption

from support import web
from support.server import database_url_for_test, free_port
from tuyacloud.cli.main import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def serve_options() -> dict[str, str]:
    """Long option name -> environment variable, from the command as built."""
    group = typer.main.get_command(app)
    serve = group.commands["serve"]  # type: ignore[attr-defined]
    return {max(p.opts, key=len): p.envvar for p in serve.params if isinstance(p, TyperOption)}


def test_every_serve_option_has_its_environment_variable_and_a_row_in_the_docs() -> None:
    options = serve_options()
    assert len(options) >= 15
    for option, envvar in options.items():
        assert envvar == "TUYACLOUD_" + option.lstrip("-").replace("-", "_").upper(), (option, envvar)
    rows = re.findall(r"^\| `(--[a-z-]+)`(?: / `--no-[a-z-]+`)? \| `(TUYACLOUD_[A-Z_]+)` \|", DOC.read_text(), re.M)
    documented = dict(rows)
    missing = {o: e for o, e in options.items() if documented.get(o) != e}
    assert not missing, "docs/cli.md lacks rows for: " + ", ".join(f"`{o}` `{e}`" for o, e in missing.items())
    assert set(documented) == set(options), f"documented options serve does not have: {set(documented) - set(options)}"


def test_a_server_configured_by_the_environment_alone(tmp_path: Path) -> None:
    port, message_port = free_port(), free_port()
    env = {"TUYACLOUD_PORT": str(port), "TUYACLOUD_MESSAGE_PORT": str(message_port),
           "TUYACLOUD_DATA_DIR": str(tmp_path / "data"), "TUYACLOUD_REGION": "eu", "TUYACLOUD_DEMO": "false",
           "TUYACLOUD_SIMULATOR": "0", "TUYACLOUD_PUBLIC_URL": "http://from-the-environment.test"}
    url = database_url_for_test()
    if url:
        env["TUYACLOUD_DATABASE_URL"] = url
    # The command line wins over the environment.
    server = Serve("--public-url", f"http://127.0.0.1:{port}", env=env)
    try:
        banner = server.banner(f"http://127.0.0.1:{port}")
        assert f"serving the Tuya OpenAPI at http://127.0.0.1:{port}  (default data center: eu)" in banner, banner
        assert f"message port: ws://127.0.0.1:{message_port}/" in banner, banner
        assert "from-the-environment" not in banner
        assert "Demo project" not in banner  # TUYACLOUD_DEMO=false
        assert str(tmp_path / "data") in banner or url
        health = web.get(f"http://127.0.0.1:{message_port}/_tuyacloud/health", timeout=10)
        assert health.status_code == 200  # the second listener serves the same app
    finally:
        server.stop()
