"""The request bodies of the access APIs (the MQTT open hub's config call), as the domain takes them.

Decoded and checked by the edge (``bodies.py``); each refusal is the platform's answer for that API.
"""

from __future__ import annotations

from tuyacloud.bodies import Body
from tuyacloud.errors import TypeIncorrect


class HubLink(Body):
    """``{"uid", "link_id", "link_type": "mqtt", "topics": "device", "msg_encrypted_version": "1.0" | "2.0"}``:
    the link an open-hub credential is for. Empty or absent fields are the domain's to answer (1100)."""

    uid: str | None = None
    link_id: str | None = None
    link_type: str | None = None
    topics: str | None = None
    msg_encrypted_version: str | None = None
    required = ("uid", "link_id")
    refusals = {name: (TypeIncorrect, f"{name} must be a string")
                for name in ("uid", "link_id", "link_type", "topics", "msg_encrypted_version")}
