"""tuyacloud's testing kit: a real Tuya-compatible cloud for your tests, as moto is for AWS.

``LocalCloud`` / ``local_cloud()`` start one in the test process on a free port with a fresh data directory and
a fresh project; ``ControlClient`` moves its clock, makes devices report or drop offline and reads the messages
it sent. With tuyacloud installed, pytest also gets the fixtures ``tuya_cloud`` (a fresh cloud per test),
``tuya_cloud_server`` (one per session) and ``tuya_project`` (a fresh project on it); see docs/testing-kit.md.

Names are imported on first use, so that pytest loading the plugin costs nothing to test runs that do not use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuyacloud.testing.cloud import (
        DEVICE_EVENT,
        STATUS_REPORT,
        CloudProject,
        LocalCloud,
        Message,
        VirtualDevice,
        local_cloud,
    )
    from tuyacloud.testing.control import ControlClient, ControlError

_WHERE = {
    "LocalCloud": "cloud", "local_cloud": "cloud", "CloudProject": "cloud", "VirtualDevice": "cloud",
    "Message": "cloud", "STATUS_REPORT": "cloud", "DEVICE_EVENT": "cloud",
    "ControlClient": "control", "ControlError": "control",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"tuyacloud.testing.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'tuyacloud.testing' has no attribute {name!r}")


__all__ = ["DEVICE_EVENT", "STATUS_REPORT", "CloudProject", "ControlClient", "ControlError", "LocalCloud", "Message",
           "VirtualDevice", "local_cloud"]
