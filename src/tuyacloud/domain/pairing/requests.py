"""The request bodies of pairing, registration and device lifecycle, as the domain takes them.

Decoded and checked by the edge (``bodies.py``); each refusal is the platform's answer for that API. Values the
APIs take in more than one form (a state as ``1`` or ``"1"``) keep that union here and are read by the domain.
"""

from __future__ import annotations

from typing import Any

from tuyacloud.bodies import Body
from tuyacloud.errors import ParamEmpty, ParamIllegal

MAX_DISCOVERY_S = 3600
PAIRING_TYPES = ("EZ", "AP", "Bluetooth")  # registration (industry)
PARING_TYPES = ("EZ", "AP", "BLE")  # pairing (smart home, "paring" sic)
TIME_ZONE_REFUSED = "time_zone_id must be a time zone name such as Asia/Shanghai"


class FreezeState(Body):
    """``{"state": 1}`` freezes a device, ``0`` unfreezes it (``"1"``/``"0"`` too)."""

    state: int | float | str | None = None
    required = ("state",)
    refusals = {"state": (ParamIllegal, "state must be 0 (normal) or 1 (frozen)")}


class Discover(Body):
    """``{"duration": seconds}`` a gateway searches for sub-devices (the Node connector sends it in the body)."""

    duration: int | str | None = None
    refusals = {"duration": (ParamIllegal, f"duration must be an integer from 0 to {MAX_DISCOVERY_S} seconds")}


class RegistrationToken(Body):
    """A registration token's request: devices paired with it land at ``asset_id`` (default the root asset)."""

    pairing_type: str | None = None
    time_zone_id: str | None = None
    asset_id: str | None = None
    lon: str | int | float | None = None
    lat: str | int | float | None = None
    lang: str | None = None
    extension: dict[str, Any] | None = None
    required = ("pairing_type", "time_zone_id")
    refusals = {
        "pairing_type": (ParamIllegal, f"pairing_type must be one of {', '.join(PAIRING_TYPES)}"),
        "time_zone_id": (ParamIllegal, TIME_ZONE_REFUSED),
        "asset_id": (ParamIllegal, "asset_id must be a string"),
        "lon": (ParamIllegal, "lon must be a number or a string"),
        "lat": (ParamIllegal, "lat must be a number or a string"),
        "lang": (ParamIllegal, "lang must be a string"),
        "extension": (ParamIllegal, "extension must be an object"),
    }


class PairingToken(Body):
    """A smart-home pairing token's request, for the app user ``uid`` (``paring_type``, sic; ``pairing_type``
    is taken too)."""

    uid: str | None = None
    paring_type: str | None = None
    pairing_type: str | None = None
    time_zone_id: str | None = None
    extension: Any = None
    required = ("uid", "paring_type", "time_zone_id")
    refusals = {
        "uid": (ParamEmpty, "uid is required"),
        "paring_type": (ParamIllegal, f"paring_type must be one of {', '.join(PARING_TYPES)}"),
        "pairing_type": (ParamIllegal, f"paring_type must be one of {', '.join(PARING_TYPES)}"),
        "time_zone_id": (ParamIllegal, TIME_ZONE_REFUSED),
    }
