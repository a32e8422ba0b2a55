"""The API services a cloud project can be authorised for, as the platform's console lists them.

Each OpenAPI route names the service it belongs to; a project calling a route outside its authorised services
gets 28841101 ("This API is not subscribed"), the code clients such as tinytuya and homebridge report.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiService:
    code: str
    name: str
    description: str
    always_on: bool = False


SERVICES: dict[str, ApiService] = {
    s.code: s
    for s in (
        ApiService("authorization", "Authorization Token Management", "Get and refresh access tokens.", True),
        ApiService("iot_core", "IoT Core", "Devices, thing models, shadow properties, instruction sets, logs."),
        ApiService("industry_basic", "Industry Project Client Service", "Assets, project users and authorisation."),
        ApiService("smart_home_basic", "Smart Home Basic Service", "App users, homes, rooms, members."),
        ApiService("smart_home_scene", "Smart Home Scene Linkage", "Scenes, automations and timers."),
        ApiService("device_status_notification", "Device Status Notification", "The message service (Pulsar)."),
    )
}


def default_services() -> list[str]:
    """A new project is authorised for everything unless told otherwise (the demo project too)."""
    return sorted(SERVICES)


def normalise(codes: list[str]) -> list[str]:
    unknown = [c for c in codes if c not in SERVICES]
    if unknown:
        raise ValueError(f"unknown API service(s) {', '.join(unknown)}; known: {', '.join(sorted(SERVICES))}")
    return sorted(set(codes) | {c for c, s in SERVICES.items() if s.always_on})
