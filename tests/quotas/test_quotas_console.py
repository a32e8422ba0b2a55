"""The console's statistics page shows a project's quotas: its plan and quota month, its use of each limit, and the
refusals, as the control API counts them; a project without quotas says how to turn them on."""

from __future__ import annotations

import re

from tuya_connector import TuyaOpenAPI

from support.console import ADMIN_PASSWORD, ConsoleClient
from support.server import CloudServer
from tuyacloud.testing.control import ControlClient


def _row(page: str, key: str) -> list[str]:
    row = re.search(rf'<tr data-quota="{key}">(.*?)</tr>', page, re.S)
    assert row, key
    return re.findall(r'<td class="num" data-label="\w+">([^<]*)</td>', row.group(1))


def test_the_statistics_page_shows_the_quota_use(trial: CloudServer, trial_control: ControlClient) -> None:
    project = trial_control.create_project("Quota page")
    access_id = project["access_id"]
    trial_control.set_quotas(access_id, monthly_calls=4)
    trial_control.add_devices(access_id, "dj", 3)
    api = TuyaOpenAPI(trial.url, access_id, project["access_secret"])
    assert api.connect()["success"]
    answers = [api.get("/v1.0/iot-03/devices") for _ in range(4)]
    assert [a["success"] for a in answers] == [True, True, True, False]
    console = ConsoleClient(trial.url)
    try:
        assert console.login("admin", ADMIN_PASSWORD).status_code == 303
        page = console.get(f"/console/projects/{access_id}/statistics").text
        assert "trial plan (the server&#39;s --quotas)" in page or "trial plan (the server's --quotas)" in page
        assert _row(page, "calls") == ["4", "4", "0"]
        assert _row(page, "devices") == ["3", "50", "47"]
        assert 'data-testid="quota-suspended"' in page
        assert re.search(r"1 over the monthly quota \(28841004\)", page)
        trial_control.set_quotas(access_id, plan="off")
        off = console.get(f"/console/projects/{access_id}/statistics").text
        assert "No quotas or limits for this project" in off and 'data-quota="calls"' not in off
    finally:
        console.close()
