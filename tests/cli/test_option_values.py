"""Option values are converted by cli/coercion.py, not by Typer's pydantic adapters (whose import and building
cost about 0.4 s of CPU at every ``serve`` start): the values come out typed as before, out-of-range and malformed
values are refused with one line naming the option, and parsing ``serve``'s or an admin command's options loads no
pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clitools import assert_one_line_failure, tuyacloud
from typer.testing import CliRunner

from support.cli import cli_env
from tuyacloud.cli.main import app

runner = CliRunner()


def refused(args: list[str], env: dict[str, str] | None = None) -> str:
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 2, done.output
    return done.output


def test_values_come_out_typed() -> None:
    script = """if True:
        import typer.main
        from tuyacloud.cli.main import app
        root = typer.main.get_command(app)
        serve = root.get_command(None, "serve")
        ctx = serve.make_context("serve", ["--port", " 8123", "--header-timeout", "2.5", "--log-format", "JSON",
                                           "--region-alias", "a.test=eu", "--region-alias", "b.test=us", "--no-demo",
                                           "--data-dir", "/tmp/x"])
        p = ctx.params
        assert (p["port"], p["header_timeout"], p["log_format"].value, p["region_alias"]) == (
            8123, 2.5, "json", ["a.test=eu", "b.test=us"]), p
        assert (p["demo"], p["tls"], p["message_port"], p["data_dir"], p["workers"]) == (
            False, True, None, __import__("pathlib").Path("/tmp/x"), 1), p
        listing = root.get_command(None, "device").get_command(None, "list")
        ctx = listing.make_context("list", ["--project", "p", "--limit", "5"])
        assert (ctx.params["limit"], ctx.params["offset"], ctx.params["every"]) == (5, 0, False), ctx.params
        import sys
        print("pydantic loaded:", "pydantic" in sys.modules)
    """
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**cli_env(), "TUYACLOUD_TLS": "yes"})
    assert done.returncode == 0, done.stderr
    assert "pydantic loaded: False" in done.stdout, done.stdout


def test_out_of_range_and_malformed_values_are_refused_naming_the_option(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert "'--port'" in (out := refused(["serve", "--port", "99999", *data])) and "1<=x<=65535" in out, out
    assert "'--port'" in (out := refused(["serve", "--port", "eighty", *data])) and "not a valid integer" in out, out
    out = refused(["serve", "--header-timeout", "0.01", *data])
    assert "'--header-timeout'" in out and "x>=0.1" in out, out
    assert "not a valid float" in refused(["serve", "--body-timeout", "soon", *data])
    out = refused(["serve", "--log-format", "xml", *data])
    assert "'--log-format'" in out and "'xml' is not one of 'text', 'json'" in out, out
    assert "TUYACLOUD_DEMO" in (out := refused(["serve", *data], {"TUYACLOUD_DEMO": "perhaps"})), out
    assert "'--limit'" in (out := refused(["device", "list", "--project", "p", "--limit", "0"])) and "x>=1" in out
    assert not (tmp_path / "data").exists(), "a refused start touched the data directory"
    # As a user sees it: one line and a hint, exit status 2.
    assert_one_line_failure(tuyacloud("serve", "--max-connections", "-1", *data), 2, "--max-connections", "x>=0")
