"""The monthly message quota: the message service delivers a project's messages until the month's quota is used up,
then its service is suspended (the platform stops the trial's service when its resource pack runs out): no new
message reaches the consumer and API calls answer ``28841004``. The held messages wait in the subscription and
arrive once the quota is reset."""

from __future__ import annotations

import queue

from tuya_connector import TuyaOpenAPI

from support.pulsar import PulsarConsumer
from support.server import CloudServer
from tuyacloud.testing.control import ControlClient


def test_messages_stop_at_the_quota_and_resume_after_a_reset(trial: CloudServer,
                                                             trial_control: ControlClient) -> None:
    project = trial_control.create_project("Messages")
    access_id = project["access_id"]
    trial_control.set_quotas(access_id, monthly_messages=3, monthly_calls=1000)
    consumer = PulsarConsumer(trial.port, access_id, project["access_secret"], auto_ack=True).connect()
    try:
        light = trial_control.add_devices(access_id, "dj")[0]["id"]  # a bindUser event: message 1
        for value in (10, 20, 30, 40):  # four status reports: messages 2 to 5
            trial_control.report(light, bright_value_v2=value)
        first = consumer.get_many(3, timeout=10)
        assert [m.protocol for m in first] == [20, 4, 4]
        try:
            extra = consumer.received.get(timeout=1.5)
            raise AssertionError(f"a message past the quota arrived: {extra.data_text}")
        except queue.Empty:
            pass
        view = trial_control.quotas(access_id)
        assert view["messages"] == {"used": 3, "limit": 3, "remaining": 0} and view["suspended"] is True
        api = TuyaOpenAPI(trial.url, access_id, project["access_secret"])
        refused = api.connect()
        assert refused["code"] == 28841004 and "3 messages" in refused["detail"], refused

        trial_control.reset_quotas(access_id)
        rest = consumer.get_many(2, timeout=10)
        assert [m.status_value("bright_value_v2") for m in rest] == [30, 40]
        assert api.connect()["success"]
    finally:
        consumer.close()
