"""The testing kit used the way a user uses it: a separate pytest process runs examples/testing-kit (a user's
project with no conftest.py, tested with tuya-connector-python), the fixtures coming from the plugin; beside it a
few checks of what a user relies on: options, a fresh cloud per test, isolation of the shared server's projects
and clock, and failures reported plainly.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testing-kit"
PLUGIN = "tuyacloud.testing.plugin"

CHECKS_CONFTEST = '''
import pytest


@pytest.fixture
def tuya_cloud_options():
    return {"region": "eu", "simulator": False, "token_ttl_s": 60}


@pytest.fixture(scope="session")
def tuya_cloud_server_options():
    return {"simulator": False}
'''

CHECKS = '''
import httpx
from tuya_connector import TuyaOpenAPI


def test_options_reach_the_cloud(tuya_cloud):
    assert tuya_cloud.region == "eu"
    assert httpx.get(tuya_cloud.url + "/_tuyacloud/health").json()["success"] is True
    api = TuyaOpenAPI(tuya_cloud.url, tuya_cloud.access_id, tuya_cloud.access_secret)
    assert api.connect()["result"]["expire_time"] in (59, 60)  # token_ttl_s, counted from now


def test_a_fresh_cloud_per_test(tuya_cloud, tuya_project):
    # tuya_cloud is this test's own server; tuya_project lives on the session's server
    assert tuya_cloud.url != tuya_project.url
    assert [p["access_id"] for p in tuya_cloud.control.projects()] == [tuya_cloud.access_id]


def test_one_moves_the_shared_clock(tuya_project):
    tuya_project.control.freeze()
    tuya_project.control.step(seconds=86_400)
    assert tuya_project.control.clock()["frozen"] is True


def test_the_next_sees_the_wall_clock_again(tuya_project):
    clock = tuya_project.control.clock()
    assert clock["frozen"] is False and clock["offset_ms"] == 0


def test_projects_do_not_see_each_other(tuya_project, tuya_cloud_server):
    other = tuya_cloud_server.new_project(name="other")
    plug = other.add_device("cz")
    assert [m.device_id for m in other.messages()] == [plug.id]
    assert tuya_project.messages() == []


def test_a_wrong_expectation_fails_plainly(tuya_project):
    light = tuya_project.add_device("dj")
    tuya_project.control.report(light.id, switch_led=True)
    assert tuya_project.messages(protocol=4)[-1].status == {"switch_led": False}


def test_a_bad_report_is_refused(tuya_project):
    light = tuya_project.add_device("dj")
    tuya_project.control.report(light.id, no_such_code=1)
'''


def plugin_args() -> list[str]:
    """Nothing when the installed package registers the plugin (``pytest11`` entry point), as for a user;
    otherwise (a development install made before the entry point existed) load it by name."""
    registered = any(ep.value == PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))
    return [] if registered else ["-p", PLUGIN]


def test_the_example_project_and_a_users_own_checks(pytester: pytest.Pytester) -> None:
    """One pytest process (its start-up is most of the cost): the example project, unchanged, beside a directory
    of checks with its own conftest.py that configures ``tuya_cloud``."""
    shutil.copytree(EXAMPLE, pytester.path / "example")
    assert not list((pytester.path / "example").glob("conftest.py"))
    checks = pytester.mkdir("checks")
    (checks / "conftest.py").write_text(textwrap.dedent(CHECKS_CONFTEST))
    (checks / "test_checks.py").write_text(textwrap.dedent(CHECKS))

    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", "-v")

    example = [line for line in result.stdout.lines if line.startswith("example/") and "::" in line]
    assert len(example) == 7 and all(" PASSED" in line for line in example), "\n".join(example)
    result.stdout.fnmatch_lines([
        "checks/test_checks.py::test_a_wrong_expectation_fails_plainly FAILED*",
        "checks/test_checks.py::test_a_bad_report_is_refused FAILED*",
        "*assert {'switch_led': True} == {'switch_led': False}*",
        "*ControlError: /devices/*/report: 2008 *no_such_code*",
    ], consecutive=False)
    result.assert_outcomes(passed=7 + 5, failed=2)


def test_the_readme_shows_the_example_test() -> None:
    """The README's ten-line test is the example's first test, which the run above proves passes."""
    source = (EXAMPLE / "test_my_integration.py").read_text()
    first = source[source.index("def test_switch_off"):].split("\n\n\n")[0]
    first = first.replace("  # the README's ten-line example", "")
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    assert "from tuya_connector import TuyaOpenAPI\n\n" + first in readme
    assert len(first.splitlines()) + 1 <= 10
