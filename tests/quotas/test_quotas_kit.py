"""The testing kit's quota helpers, as a user's test of back-off code would use them: a ``LocalCloud`` with the
trial's quotas (any server setting by name), a project limited to a few calls, and the reset and month move."""

from __future__ import annotations

from tuya_connector import TuyaOpenAPI

from tuyacloud.testing import LocalCloud


def test_a_user_test_reaches_the_quota_and_recovers() -> None:
    cloud = LocalCloud(simulator=False, quotas="trial", quota_calls=1000).start()
    try:
        project = cloud.project
        assert project.quotas()["calls"]["limit"] == 1000  # the server's --quotas
        assert project.limit(monthly_calls=3)["calls"]["limit"] == 3
        api = TuyaOpenAPI(cloud.url, cloud.access_id, cloud.access_secret)
        assert api.connect()["success"]
        codes = [api.get("/v1.0/iot-03/devices").get("code") for _ in range(3)]
        assert codes == [None, None, 28841004]
        assert project.reset_quotas()["calls"]["used"] == 0
        codes = [api.get("/v1.0/iot-03/devices").get("code") for _ in range(4)]
        assert codes == [None, None, None, 28841004]  # a fresh month of three calls
        assert project.next_quota_month()["month_offset"] == 1
        assert api.get("/v1.0/iot-03/devices")["success"]
        assert project.limit("off")["enabled"] is False
    finally:
        cloud.stop()
